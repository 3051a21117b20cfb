"""Model A of the many-seed runs: trained by the stacked-seed engine, many seeds or task-B pairs per call, kept as
`.keras` files under the results store's folder (its learning curve as a store row), then only loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

import numpy as np

from core.progress import ProgressCallback, parts, report
from core.transfer.protocols import TransferProtocol
from core.transfer.tasks import engine_configs, epoch_progress, model_a_data

MODEL_A_SEED = 42  # with vary_a off, the one model A every seed reuses (the seed the book's notebook uses)
A_CHUNK = 20  # model As per engine call (20 seeds' As at once; the 45 pairs' As as 3 calls of 15)
MODEL_A_COST_IN_B_SEEDS = 70  # one model A (20 epochs of 44,000 images) costs about as much as 70 seeds' B runs


@dataclass(frozen=True)
class ModelAConfig:
    """What model A depends on. Book and notebook differ only after the transfer, so they share their A."""

    VERSION: ClassVar[int] = 1  # bump if the way A is trained changes meaning
    b_classes: tuple[int, int]  # task A is the eight other classes
    hidden_units: tuple[int, ...]  # A's hidden stack (reused by B on A)
    activation: str  # hidden activation
    initializer: str  # hidden kernel initializer
    learning_rate: float  # SGD learning rate
    a_epochs: int  # epochs on task A
    batch_size: int  # mini-batch size
    n_a_train: Optional[int]  # task-A training images (None: all)
    n_eval: Optional[int]  # cap on validation images (the stored validation curve depends on it)

    @classmethod
    def of(cls, protocol: TransferProtocol) -> "ModelAConfig":
        return cls(protocol.b_classes, protocol.hidden_units, protocol.activation, protocol.initializer,
                   protocol.learning_rate, protocol.a_epochs, protocol.batch_size, protocol.n_a_train,
                   protocol.n_eval)


def missing_a(protocol: TransferProtocol, a_seeds, store) -> set:
    """The model-A seeds among `a_seeds` that have no `.keras` file yet (they will be trained)."""
    key = ModelAConfig.of(protocol)
    return {int(seed) for seed in a_seeds if not store.model_path(key, int(seed), "model_a").exists()}


def _even_chunks(items, most: int):
    """`items` cut into as few chunks of at most `most` as possible, of nearly equal sizes (45 -> 15, 15, 15)."""
    count = -(-len(items) // most) if items else 0
    return [list(chunk) for chunk in np.array_split(np.arange(len(items)), count)] if count else []


def train_model_as(protocol: TransferProtocol, jobs, store, progress: ProgressCallback | None = None,
                   chunk_size: int = A_CHUNK) -> None:
    """Train model A for every (task-B pair, seed) in `jobs` that has no `.keras` file yet, stacked in the engine
    (at most `chunk_size` per call: seeds of one pair share its images, pairs take per-copy subsets).

    Each A is kept as a `.keras` file under the store's folder and its learning curve as a store row, the
    moment its chunk ends; later calls only load the files. Progress counts the chunks' epochs.
    """
    jobs = list(dict.fromkeys((tuple(int(c) for c in pair), int(seed)) for pair, seed in jobs))
    missing = [(pair, seed) for pair, seed in jobs
               if not store.model_path(ModelAConfig.of(protocol.with_pair(pair)), seed, "model_a").exists()]
    chunks = [[missing[index] for index in indices] for indices in _even_chunks(missing, chunk_size)]
    labels = [_model_a_label([pair for pair, _ in chunk], [seed for _, seed in chunk], number, len(chunks))
              for number, chunk in enumerate(chunks)]
    for chunk, piece in zip(chunks, parts(progress, [len(chunk) for chunk in chunks], labels)):
        pairs, seeds = [pair for pair, _ in chunk], [seed for _, seed in chunk]
        save_model_a(protocol, store, train_model_a_unit(protocol, seeds, piece, pairs))


def train_model_a_unit(protocol: TransferProtocol, seeds, progress: ProgressCallback | None = None,
                       pairs=None) -> dict:
    """One engine call training model A for `seeds`, copy k on task A of `pairs[k]` (default: the protocol's own
    pair for every copy); nothing is saved here: `train_model_as` and a cluster worker (core.cluster) both call it.

    Returns {"seeds": [...], "pairs": [...], "weights": Keras-order arrays with the copy axis first,
    "curves": [each copy's store row of its learning curves]}; `save_model_a` stores it."""
    from core import engine

    seeds = [int(seed) for seed in seeds]
    pairs = [protocol.b_classes] * len(seeds) if pairs is None else [tuple(int(c) for c in pair) for pair in pairs]
    a_config, _ = engine_configs(protocol)
    report(progress, 0, 1, "building the graph")
    run = engine.train(a_config, model_a_data(protocol, pairs),
                       [engine.Phase(protocol.a_epochs, protocol.learning_rate)], seeds, protocol.batch_size,
                       progress=epoch_progress(progress))
    curves = [{"loss": run.loss[copy], "accuracy": run.accuracy[copy], "val_loss": run.val_loss[copy],
               "val_accuracy": run.val_accuracy[copy], "seconds_per_seed": run.seconds / len(seeds)}
              for copy in range(len(seeds))]
    return {"seeds": seeds, "pairs": pairs, "weights": tuple(np.asarray(w, dtype=np.float32) for w in run.weights),
            "curves": curves}


def save_model_a(protocol: TransferProtocol, store, unit_result: dict) -> None:
    """Keep what `train_model_a_unit` returned: each copy's curves as a store row, its model as a `.keras` file
    under its pair's model A key (only the process that owns the store calls this: never a cluster worker)."""
    from core import engine
    from core.store import atomic_path

    a_config, _ = engine_configs(protocol)
    for copy, (pair, seed) in enumerate(zip(unit_result["pairs"], unit_result["seeds"])):
        a_key = ModelAConfig.of(protocol.with_pair(pair))
        store.save(a_key, seed, unit_result["curves"][copy])
        path = store.model_path(a_key, seed, "model_a")
        if not path.exists():  # a cluster's retried unit may arrive after the first one was kept
            with atomic_path(path) as temporary:
                engine.keras_model(a_config, unit_result["weights"], copy).save(temporary)


def _model_a_label(pairs, seeds, number: int, chunks: int) -> str:
    """What a chunk of model As is, for progress messages: "model A (seed 42)", "model A, seeds 0-9",
    "model As of pairs 1-15 of 45"."""
    if len(set(pairs)) > 1:
        return f"model As, part {number + 1} of {chunks} ({len(pairs)} pairs)"
    return f"model A (seed {seeds[0]})" if len(seeds) == 1 else f"model A, seeds {seeds[0]}-{seeds[-1]}"


def model_a_weights(protocol: TransferProtocol, a_seeds, store, progress: ProgressCallback | None = None,
                    chunk_size: int = A_CHUNK) -> tuple[np.ndarray, ...]:
    """Model A's weights for each seed of `a_seeds` (repeats allowed), stacked in that order (copy axis first).

    Missing As are trained first (`train_model_as`, stacked); then every A is loaded from its `.keras` file.
    """
    import keras

    a_key = ModelAConfig.of(protocol)
    unique = list(dict.fromkeys(int(seed) for seed in a_seeds))
    train_model_as(protocol, [(protocol.b_classes, seed) for seed in unique], store, progress, chunk_size)
    loaded = {seed: keras.models.load_model(store.model_path(a_key, seed, "model_a"), compile=False).get_weights()
              for seed in unique}
    return tuple(np.stack(arrays).astype(np.float32) for arrays in zip(*(loaded[int(s)] for s in a_seeds)))


def model_a_keras(protocol: TransferProtocol, store, seed: int = MODEL_A_SEED, progress=None):
    """A fresh Keras model A (trained or loaded from its `.keras` file); the caller may train it freely."""
    from core import engine

    weights = model_a_weights(protocol, [seed], store, progress)
    return engine.keras_model(engine_configs(protocol)[0], weights, copy=0)
