"""Time the book's plain Keras code against the stacked-seed engine, in one run, on the same data.

    python -m bench.engine_speed            # full run (a few minutes on 2 cores)
    python -m bench.engine_speed --quick    # smoke run on small slices (numbers meaningless)

(a) model A, seconds per epoch per seed: book `model.fit` versus the engine at K = 1, 4, 10;
(b) the whole B phase for 30 seeds (B from scratch 20 epochs; B on A 4 frozen epochs at 1e-3 then
16 unfrozen at 1e-4; 200 task-B images; validation every epoch and a final test evaluation):
the book's per-seed loop, timed on a few seeds and scaled to 30, versus one engine run of 30 copies;
(c) the peak resident memory of the process. The last two lines are the two speedup ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FLOP_PER_IMAGE_STEP = 1.65e6  # model A forward + backward, ~3 x 2 x 266k multiply-adds
B_SEEDS = 30


class Clock:
    """Wall and CPU seconds (all threads) of a block: under contention CPU time is the steadier figure."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def per(self, count: float) -> np.ndarray:
        return np.array([self.wall, self.cpu]) / count


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def task_data(quick: bool):
    """Task A train/valid and task B (first 200) train/valid/test, as the companion notebook builds them."""
    from core import data

    splits = data.load_book_splits()
    (xa, ya), (xb, yb) = data.split_task_a_b(splits.x_train, splits.y_train)
    (xva, yva), (xvb, yvb) = data.split_task_a_b(splits.x_valid, splits.y_valid)
    _, (xtb, ytb) = data.split_task_a_b(splits.x_test, splits.y_test)
    if quick:
        xa, ya, xva, yva = xa[:640], ya[:640], xva[:200], yva[:200]
        xvb, yvb, xtb, ytb = xvb[:100], yvb[:100], xtb[:100], ytb[:100]
    return (xa, ya, xva, yva), (xb[:200], yb[:200], xvb, yvb, xtb, ytb)


# ---- the book's code ----

def book_model_a_epoch_seconds(a_data, epochs: int) -> np.ndarray:
    """Seconds per epoch of model.fit for model A (after a warm-up fit that traces the graph)."""
    import keras
    from core import models

    xa, ya, xva, yva = a_data
    model = models.model_a(seed=42)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=1e-3),
                  metrics=["accuracy"])
    model.fit(xa[:320], ya[:320], epochs=1, validation_data=(xva, yva), verbose=0)
    with Clock() as clock:
        model.fit(xa, ya, epochs=epochs, validation_data=(xva, yva), verbose=0)
    return clock.per(epochs)


def book_b_phase_one_seed(model_a, b_data, seed: int, epochs: tuple[int, int, int]) -> None:
    """The book's B phase for one seed: B from scratch, then B on A (clone, freeze, unfreeze), each tested."""
    import keras
    from core import models

    xb, yb, xvb, yvb, xtb, ytb = b_data
    scratch, on_a_frozen, on_a_unfrozen = epochs
    model_b = models.model_b(seed=seed)
    model_b.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=1e-3),
                    metrics=["accuracy"])
    model_b.fit(xb, yb, epochs=scratch, validation_data=(xvb, yvb), verbose=0)
    model_b.evaluate(xtb, ytb, verbose=0)
    clone = keras.models.clone_model(model_a)
    clone.set_weights(model_a.get_weights())
    model_b_on_a = keras.Sequential(clone.layers[:-1] + [keras.layers.Dense(1, activation="sigmoid")])
    for trainable, n_epochs, learning_rate in ((False, on_a_frozen, 1e-3), (True, on_a_unfrozen, 1e-4)):
        for layer in model_b_on_a.layers[:-1]:
            layer.trainable = trainable
        model_b_on_a.compile(loss="binary_crossentropy", metrics=["accuracy"],
                             optimizer=keras.optimizers.SGD(learning_rate=learning_rate))
        model_b_on_a.fit(xb, yb, epochs=n_epochs, validation_data=(xvb, yvb), verbose=0)
    model_b_on_a.evaluate(xtb, ytb, verbose=0)


def book_b_phase_seconds(b_data, timed_seeds: int, epochs) -> np.ndarray:
    """Seconds per seed of the book's B phase, averaged over `timed_seeds` seeds (model A untrained)."""
    from core import models

    stand_ins = [models.model_a(seed=seed) for seed in range(timed_seeds)]  # built before the clock, like the
    with Clock() as clock:  # engine's stand-in A weights: the B phase starts from a finished model A
        for seed, model_a in enumerate(stand_ins):
            book_b_phase_one_seed(model_a, b_data, seed, epochs)
    return clock.per(timed_seeds)


# ---- the engine ----

def engine_model_a_epoch_seconds(a_data, copies: int, epochs: int) -> np.ndarray:
    """Seconds per epoch for `copies` copies of model A (after a warm-up epoch on a slice that traces)."""
    from core import engine

    xa, ya, xva, yva = a_data
    config, seeds = engine.MLPConfig.model_a(), tuple(range(copies))
    start = engine.initial_weights(config, seeds)
    engine.train(config, engine.Data(xa[:320], ya[:320], xva, yva), [engine.Phase(1)], seeds, initial=start)
    with Clock() as clock:
        engine.train(config, engine.Data(xa, ya, xva, yva), [engine.Phase(epochs)], seeds, initial=start)
    return clock.per(epochs)


def engine_b_phase_seconds(b_data, copies: int, epochs) -> tuple[np.ndarray, object]:
    """Seconds for the whole B phase of `copies` seeds, tracing and Keras initialisation included."""
    from core import engine

    a_config, b_config, seeds = engine.MLPConfig.model_a(), engine.MLPConfig.model_b(), tuple(range(copies))
    a_weights = engine.initial_weights(a_config, seeds)  # stands in for trained model A (same cost)
    data = engine.Data(*b_data)
    scratch, on_a_frozen, on_a_unfrozen = epochs
    with Clock() as clock:
        from_scratch = engine.train(b_config, data, [engine.Phase(scratch, 1e-3)], seeds)
        start = engine.transfer_weights(a_weights, a_config, b_config, seeds)
        phases = [engine.Phase(on_a_frozen, 1e-3, frozen_layers=-1), engine.Phase(on_a_unfrozen, 1e-4)]
        on_a = engine.train(b_config, data, phases, seeds, initial=start)
    return clock.per(1), (from_scratch, on_a)


def machine_line() -> str:
    import tensorflow as tf
    import keras

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (f"machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
            f"load average {load}; TensorFlow {tf.__version__}, Keras {keras.__version__}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny slices and epochs: a smoke run, not a measurement")
    parser.add_argument("--book-seeds", type=int, default=3, help="book B-phase seeds timed (scaled to 30)")
    args = parser.parse_args(argv)
    a_data, b_data = task_data(args.quick)
    epochs_a = 1
    b_epochs = (1, 1, 1) if args.quick else (20, 4, 16)
    book_seeds = 1 if args.quick else args.book_seeds
    print(machine_line())
    n_images = len(a_data[1])
    limit = FLOP_PER_IMAGE_STEP * n_images
    print(f"model A: {n_images} training images, batch 32, SGD 1e-3; FLOP limit {FLOP_PER_IMAGE_STEP / 1e6:.2f} "
          f"MFLOP per image per step = {limit / 1e9:.1f} GFLOP per epoch per seed "
          f"({limit / 200e9:.2f} s at 200 GFLOP/s)")

    book_a = book_model_a_epoch_seconds(a_data, epochs=1 if args.quick else 2)
    print(f"(a) book model.fit: {book_a[0]:.2f} s per epoch per seed, {book_a[1]:.2f} CPU s "
          f"({limit / book_a[0] / 1e9:.1f} GFLOP/s)", flush=True)
    engine_a = {}
    for copies in (1, 4, 10):
        engine_a[copies] = engine_model_a_epoch_seconds(a_data, copies, epochs_a) / copies
        wall, cpu = book_a / engine_a[copies]
        print(f"(a) engine K={copies:2d}: {engine_a[copies][0]:.2f} s per epoch per seed, {engine_a[copies][1]:.2f} "
              f"CPU s ({limit / engine_a[copies][0] / 1e9:.1f} GFLOP/s); book / engine = {wall:.2f} wall, "
              f"{cpu:.2f} CPU", flush=True)
    print(f"    peak RSS so far: {peak_rss_mb():.0f} MB")

    n_b, n_valid_b, n_test_b = len(b_data[1]), len(b_data[3]), len(b_data[5])
    b_flop = B_SEEDS * (n_b * sum(b_epochs) * FLOP_PER_IMAGE_STEP
                        + (n_valid_b * sum(b_epochs) + 2 * n_test_b) * FLOP_PER_IMAGE_STEP / 3)
    print(f"(b) B phase: {n_b} training, {n_valid_b} validation (every epoch), {n_test_b} test images; FLOP limit "
          f"for {B_SEEDS} seeds {b_flop / 1e12:.2f} TFLOP ({b_flop / 200e9:.1f} s at 200 GFLOP/s)")
    book_b = book_b_phase_seconds(b_data, book_seeds, b_epochs) * B_SEEDS
    print(f"(b) book loop, timed on {book_seeds} seed(s) and scaled to {B_SEEDS} (not run {B_SEEDS} times): "
          f"{book_b[0]:.1f} s, {book_b[1]:.1f} CPU s", flush=True)
    engine_b, (scratch, on_a) = engine_b_phase_seconds(b_data, B_SEEDS, b_epochs)
    print(f"(b) engine, {B_SEEDS} copies at once (initialisation and tracing included): {engine_b[0]:.2f} s, "
          f"{engine_b[1]:.2f} CPU s; book / engine = {book_b[0] / engine_b[0]:.1f} wall, "
          f"{book_b[1] / engine_b[1]:.1f} CPU")
    print(f"    mean test accuracy: B from scratch {np.mean(scratch.test_accuracy):.4f}, "
          f"B on (untrained) A {np.mean(on_a.test_accuracy):.4f}")
    print(f"(c) peak RSS of this process, which ran both arms (an upper bound for each): {peak_rss_mb():.0f} MB")
    if args.quick:
        print("quick mode: slices of the data and a few epochs; the ratios below are not measurements")
    print(f"model_a_speedup_k10: {book_a[0] / engine_a[10][0]:.2f}")
    print(f"b_phase_speedup_30_seeds: {book_b[0] / engine_b[0]:.2f}")


if __name__ == "__main__":
    main()
