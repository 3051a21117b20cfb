"""Where the book's TF 2.0-era code and text differ from today's Keras 3: one row per difference.

Rows are of two kinds. A *library change* is something TF 2.0 did one way and Keras 3 does
another. A *text correction* is a place where the book's text says something that Keras never did,
in tf.keras 2.x as in Keras 3: it is not a change, and the callout must not call it one.

Each row is checked against the installed Keras by tests/test_keras3_notes.py, so the
callout that shows these rows cannot drift from what the library really does.
"""

from __future__ import annotations

from dataclasses import dataclass

LIBRARY_CHANGE = "library change"  # TF 2.0 did it one way, Keras 3 does it another
TEXT_CORRECTION = "the book's text vs what Keras does"  # the text is off; Keras did the same then and now
KINDS = (LIBRARY_CHANGE, TEXT_CORRECTION)  # the order the callout shows them in

# kind -> (heading above its table, table header): said so a projector-reading class cannot mix them up.
HEADINGS = {
    LIBRARY_CHANGE: ("What changed in the library since the book", "| the book (TF 2.0) | Keras 3 today |"),
    TEXT_CORRECTION: ("The book's text vs what Keras does (not a library change: TF 2.x did the same)",
                      "| the book's text | what Keras does, in TF 2.x and Keras 3 alike |"),
}


@dataclass(frozen=True)
class Difference:
    key: str  # stable id, used by tests and pages
    topics: tuple[str, ...]  # which pages show it: "bn", "clipping", "transfer", "pretraining", "general"
    book: str  # what the book's code does or says
    keras3: str  # what Keras does instead (today; for a text correction, then and now)
    kind: str  # LIBRARY_CHANGE or TEXT_CORRECTION

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Row {self.key!r}: kind must be one of {', '.join(map(repr, KINDS))}; "
                             f"got {self.kind!r}.")


DIFFERENCES: tuple[Difference, ...] = (
    Difference("sgd_lr", ("general", "clipping", "transfer"),
               "`SGD(lr=...)`", "`SGD(learning_rate=...)`; the `lr` keyword is rejected",
               LIBRARY_CHANGE),
    Difference("bn_updates", ("bn",),
               "`layer.updates` lists the moving-average update ops",
               "no `updates` attribute; the moving statistics are updated inside `call(training=True)`",
               LIBRARY_CHANGE),
    Difference("variable_names", ("bn",),
               "variables named like `batch_normalization_v2/gamma:0`",
               "`variable.name == \"gamma\"`; the layer prefix lives in `variable.path`",
               LIBRARY_CHANGE),
    Difference("bn_axis_list", ("bn",),
               "`BatchNormalization(axis=[1, 2])`: one statistic per pixel",
               "`TypeError`: only one integer axis; flatten (or reshape) first for per-pixel statistics",
               LIBRARY_CHANGE),
    Difference("input_shape", ("general", "bn", "transfer"),
               "`Flatten(input_shape=[28, 28])`",
               "start with `keras.Input((28, 28))`; `input_shape=` on a layer only warns",
               LIBRARY_CHANGE),
    Difference("clipnorm", ("clipping",),
               "`clipnorm` described as clipping the whole gradient by its norm",
               "`clipnorm` clips each variable's gradient by its own norm; `global_clipnorm` (since TF 2.4) "
               "clips them jointly",
               TEXT_CORRECTION),
    Difference("bn_frozen", ("bn", "transfer"),
               "freezing is `trainable = False`; the text says nothing of what that does to BN layers",
               "on a BatchNormalization layer `trainable = False` also switches it to inference mode "
               "(since TF 2.0)",
               TEXT_CORRECTION),
    Difference("sgd_default_lr", ("transfer",),
               "`optimizer=\"sgd\"` for the frozen phase, with the comment \"the default lr is 1e-3\" (early "
               "printings; later ones read 1e-2)",
               "SGD's default learning rate is **0.01**, so the early printings' comment is wrong: the text's "
               "frozen phase trains at 0.01, ten times the rate that comment suggests (the lab's \"book\" "
               "protocol does too)",
               TEXT_CORRECTION),
    Difference("save_format", ("transfer",),
               "`model.save(\"my_model_A.h5\")`",
               "native `.keras` files (`model.save(\"my_model_A.keras\")`); HDF5 is legacy",
               LIBRARY_CHANGE),
    Difference("dense_transpose", ("pretraining",),
               "`DenseTranspose` builds its bias from `self.dense.input_shape[-1]`",
               "layers have no `input_shape` attribute (`AttributeError`): take the size from the tied kernel, "
               "`self.dense.kernel.shape[0]`",
               LIBRARY_CHANGE),
)


def differences_for(topic: str) -> tuple[Difference, ...]:
    """The rows a page about `topic` should show, in table order."""
    return tuple(row for row in DIFFERENCES if topic in row.topics)


def grouped_for(topic: str) -> tuple[tuple[str, str, tuple[Difference, ...]], ...]:
    """(heading, table header, rows) per kind present for `topic`, library changes first."""
    rows = differences_for(topic)
    groups = []
    for kind in KINDS:
        of_kind = tuple(row for row in rows if row.kind == kind)
        if of_kind:
            heading, header = HEADINGS[kind]
            groups.append((heading, header, of_kind))
    return tuple(groups)


def callout_title(topic: str) -> str:
    """The expander's title: it says "what changed" only for rows that did change."""
    kinds = {row.kind for row in differences_for(topic)}
    parts = []
    if LIBRARY_CHANGE in kinds:
        parts.append("what changed")
    if TEXT_CORRECTION in kinds:
        parts.append("where the book's text is off")
    return "Book (TF 2.0) vs Keras 3" + (": " + " and ".join(parts) if parts else "")
