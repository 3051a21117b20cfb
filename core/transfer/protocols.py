"""The transfer experiment's protocols: the book's text, its comment, its notebook, the third edition, a tiny preset.

Each protocol is a frozen dataclass (one comment per field); `a_cost` and `b_cost` estimate a protocol's work,
only to split one progress bar among the steps of a job.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from core import book, data

MAX_SEEDS = 200  # the most seeds one comparison may ask for
MIN_SEEDS = 3  # fewer seeds say nothing about a spread
BOOK_GAIN_POINTS = book.GAIN_POINTS  # the book's reported gain: 97.2% -> 99.25% test accuracy
# What the book's `optimizer="sgd"` means: keras.optimizers.SGD() with its default learning rate, 0.01 in
# tf.keras 2.0 and in Keras 3 (keras/src/optimizers/sgd.py; tests/test_transfer.py reads it from the library).
SGD_DEFAULT_LEARNING_RATE = 0.01


@dataclass(frozen=True)
class TransferProtocol:
    name: str  # a key of PROTOCOLS: "book", "book_comment", "notebook", "ml3" or "tiny"
    b_classes: tuple[int, int] = (5, 6)  # task B: (negative, positive) classes; the book: sandal vs shirt
    hidden_units: tuple[int, ...] = (300, 100, 50, 50, 50)  # the hidden stack shared by A and B
    activation: str = "selu"  # hidden activation
    initializer: str = "glorot_uniform"  # Keras's default kernel initializer, as in the notebook
    learning_rate: float = 1e-3  # SGD learning rate for model A and for B from scratch (the notebook's 1e-3)
    # B on A with the reused layers frozen. None: compile with optimizer="sgd", as the book text does, which
    # is SGD's default rate (SGD_DEFAULT_LEARNING_RATE); a number: SGD(learning_rate=that number).
    frozen_learning_rate: float | None = None
    unfrozen_learning_rate: float = 1e-4  # after unfreezing the reused layers (book text: 1e-4)
    a_epochs: int = 20  # model A on task A
    b_epochs: int = 20  # model B from scratch
    frozen_epochs: int = 4  # B on A with the reused layers frozen
    unfrozen_epochs: int = 16  # B on A after unfreezing
    batch_size: int = 32  # Keras's default, as in the book
    n_b_train: int = 200  # task B gets only this many training images
    n_a_train: int | None = None  # task A training images (None: all 43,986 of the book split)
    n_eval: int | None = None  # cap on validation and test images (None: all); only the tiny preset caps

    def __post_init__(self):
        data.check_class_pair(self.b_classes)
        for field in ("a_epochs", "b_epochs", "frozen_epochs", "unfrozen_epochs", "batch_size", "n_b_train"):
            if getattr(self, field) < (1 if field in ("batch_size", "n_b_train") else 0):
                raise ValueError(f"{field} must be a positive whole number, got {getattr(self, field)}.")
        rates = (self.learning_rate, self.frozen_rate, self.unfrozen_learning_rate)
        if not all(np.isfinite(rate) and rate > 0 for rate in rates):
            raise ValueError(f"Learning rates must be numbers greater than 0, got {rates}.")

    def with_pair(self, b_classes) -> "TransferProtocol":
        """The same protocol with another pair of classes as task B (A = the other eight)."""
        return dataclasses.replace(self, b_classes=tuple(int(c) for c in b_classes))

    @property
    def total_b_epochs(self) -> int:
        return self.frozen_epochs + self.unfrozen_epochs

    @property
    def frozen_rate(self) -> float:
        """The frozen phase's SGD learning rate as a number (the default rate when compiled with "sgd")."""
        return SGD_DEFAULT_LEARNING_RATE if self.frozen_learning_rate is None else self.frozen_learning_rate


PROTOCOLS = {
    # The book's text: frozen phase compiled with optimizer="sgd" (0.01), then SGD(lr=1e-4) after unfreezing.
    # It shows no compile for A or B from scratch, so those take the companion notebook's 1e-3.
    "book": TransferProtocol("book"),
    # The book's text as its comment reads it ("the default lr is 1e-3"): the frozen phase at 1e-3. The comment
    # is wrong about the default; this protocol shows how much that one misread number changes the conclusion.
    "book_comment": TransferProtocol("book_comment", frozen_learning_rate=1e-3),
    # The companion notebook: 1e-3 everywhere.
    "notebook": TransferProtocol("notebook", frozen_learning_rate=1e-3, unfrozen_learning_rate=1e-3),
    # Third edition: pullover (positive) vs T-shirt/top, 3 x Dense(100, relu, he_normal), 1e-3 throughout.
    # (Its notebook validates on the last 5,000 training images; the lab keeps the book's split for all.)
    "ml3": TransferProtocol("ml3", b_classes=(0, 2), hidden_units=(100, 100, 100), activation="relu",
                            initializer="he_normal", frozen_learning_rate=1e-3, unfrozen_learning_rate=1e-3),
    # For tests and quick looks: the book's protocol shrunk until it runs in seconds.
    "tiny": TransferProtocol("tiny", hidden_units=(32, 16), a_epochs=2, b_epochs=3, frozen_epochs=1,
                             unfrozen_epochs=2, n_b_train=50, n_a_train=2000, n_eval=500),
}


def as_comment_reads_it(protocol: TransferProtocol) -> TransferProtocol:
    """The same protocol with the frozen phase at 1e-3: what the book's comment says optimizer="sgd" means."""
    name = "book_comment" if protocol.name == "book" else protocol.name
    return dataclasses.replace(protocol, name=name, frozen_learning_rate=PROTOCOLS["book_comment"].frozen_rate)


def get_protocol(name: str, b_classes=None) -> TransferProtocol:
    """A named protocol, optionally with another task-B pair."""
    if name not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {name!r}; choose one of {', '.join(PROTOCOLS)}.")
    protocol = PROTOCOLS[name]
    return protocol if b_classes is None else protocol.with_pair(b_classes)


# Estimated costs, in image passes (a training image counts 3: forward and backward; an evaluated one 1),
# only to split one progress bar among the steps of a job. Task A has about 44,000 training and 4,000
# validation images; task B about 1,000 validation images; the tiny preset caps them (n_a_train, n_eval).
def a_cost(protocol: TransferProtocol) -> float:
    return protocol.a_epochs * (3 * (protocol.n_a_train or 44_000) + min(protocol.n_eval or 4_000, 4_000))


def b_cost(protocol: TransferProtocol) -> float:
    """Both arms of one seed: B from scratch and B on A."""
    per_epoch = 3 * protocol.n_b_train + min(protocol.n_eval or 1_000, 1_000)
    return (protocol.b_epochs + protocol.total_b_epochs) * per_epoch
