"""Time the book's plain Keras code against the stacked-seed engine, in one run, on the same data.

    python -m bench.engine_speed            # full run (a few minutes on 2 cores)
    python -m bench.engine_speed --quick    # smoke run on small slices, one repeat (numbers meaningless)

Both arms run the book protocol, `core.transfer.PROTOCOLS["book"]`; the book's arm is the lab's plain-Keras
reference run of it (`core.transfer.train_model_a`, `train_b_from_scratch`, `train_b_on_a`: the book's
`model.fit` code), so the bench times the same code the tests check the engine against.
(a) model A, seconds per epoch per seed: book `model.fit` versus the engine at K = 1, 4, 10, each arm
timed epoch by epoch over `--repeats` epochs (3) after a first epoch that is printed or dropped but not
counted (the book: one fit of repeats + 1 epochs, whose first epoch traces; the engine: its first full
epoch, which traces and, on its XLA path, compiles for the data's shape);
(b) the whole B phase for 30 seeds (B from scratch 20 epochs; B on A 4 frozen epochs then 16 unfrozen,
at the protocol's learning rates; 200 task-B images; validation every epoch and a final test evaluation):
the book's per-seed loop, timed seed by seed on `--book-seeds` seeds (3) and scaled to 30, Keras seeded
once per seed; versus one engine run of 30 copies, repeated `--repeats` times with the engine's compiled
functions cleared before each, so every repeat pays initialisation and tracing;
(c) the peak resident memory of each arm: every arm runs in a fresh process of its own (spawned, so
nothing one arm allocated or cached inflates another's figure or timing); loading the data and
importing TensorFlow happen there too, off the clock. The last two lines are the two speedup ratios.

Best of N: on a shared 2-core VM the same code can take 1.15 s one minute and 1.68 s the next, because
other tenants steal cycles. Noise only ever adds time, so each arm reports the best (minimum) repeat,
the run least disturbed, and the ratios compare best with best, the same statistic on both sides.
The median of the repeats and the ratio of medians are printed next to them for transparency.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import platform
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np

from bench import flop
from core import transfer

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Model A's training step per image, 1.18 MFLOP (bench.flop: forward, kernel gradients, input gradients but the
# first layer's); this bench said 1.65 until stop 22, counting the first layer's input gradient no one computes.
_MODEL_A = transfer.engine_configs(transfer.PROTOCOLS["book"])[0]  # 784-300-100-50-50-50-8
FLOP_PER_IMAGE_STEP = flop.training_flop(_MODEL_A.hidden_units, _MODEL_A.n_outputs)
FORWARD_FLOP_PER_IMAGE = flop.forward_flop(_MODEL_A.hidden_units, _MODEL_A.n_outputs)
B_SEEDS = 30
WARM_UP_IMAGES = 320


class Clock:
    """Wall and CPU seconds (all threads) of a block: under contention CPU time is the steadier figure."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def per(self, count: float) -> np.ndarray:
        return np.array([self.wall, self.cpu]) / count


@dataclass(frozen=True)
class Timing:
    """(wall, CPU) seconds of one arm over its repeats: the best (least disturbed) and the median repeat.

    Each column is reduced on its own, so the best wall and the best CPU time may come from different repeats.
    """

    best: np.ndarray
    median: np.ndarray
    repeats: int

    @classmethod
    def of(cls, samples) -> "Timing":
        samples = np.asarray(samples)  # (repeats, 2)
        return cls(samples.min(axis=0), np.median(samples, axis=0), len(samples))

    def __truediv__(self, divisor: float) -> "Timing":
        return Timing(self.best / divisor, self.median / divisor, self.repeats)

    def __mul__(self, factor: float) -> "Timing":
        return Timing(self.best * factor, self.median * factor, self.repeats)

    def describe(self, digits: int) -> str:
        best, median = (f"{wall:.{digits}f} s, {cpu:.{digits}f} CPU s" for wall, cpu in (self.best, self.median))
        return f"best of {self.repeats}: {best}; median {median}"


def time_repeats(run: Callable[[int], object], repeats: int, before: Callable[[], object] = lambda: None) -> Timing:
    """Call run(0), run(1), ... each on its own clock (`before()` runs off the clock ahead of each one)."""
    samples = []
    for repeat in range(repeats):
        before()
        with Clock() as clock:
            run(repeat)
        samples.append(clock.per(1))
    return Timing.of(samples)


def ratio_text(book: Timing, engine: Timing, digits: int) -> str:
    best, median = (f"{b[0] / e[0]:.{digits}f} wall, {b[1] / e[1]:.{digits}f} CPU"
                    for b, e in ((book.best, engine.best), (book.median, engine.median)))
    return f"book / engine = {best} (medians: {median})"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_protocol(quick: bool):
    """The book protocol both arms run (`core.transfer.PROTOCOLS["book"]`); --quick: small slices, one epoch each."""
    book = transfer.PROTOCOLS["book"]
    if not quick:
        return book
    return dataclasses.replace(book, b_epochs=1, frozen_epochs=1, unfrozen_epochs=1, n_a_train=640, n_eval=200)


def in_own_process(arm: Callable, protocol, *args):
    """Run arm(the protocol's task data, *args) in a fresh Python process; returns (its result, that process's
    peak RSS in MB). Loading the data and importing TensorFlow happen there, off the arm's clock."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_arm_process, arm, protocol, *args).result()


def _arm_process(arm: Callable, protocol, *args):
    from core import data

    return arm(transfer.task_data(protocol, data.load_book_splits()), *args), peak_rss_mb()


# ---- the book's code: core.transfer's plain-Keras reference run ----

def book_model_a_epoch_seconds(tasks, protocol, repeats: int) -> Timing:
    """Seconds per epoch of the book's model.fit for model A (`core.transfer.train_model_a`, seed 42): one fit
    of repeats + 1 epochs, each epoch timed from the end of the one before; the first, which traces, is not counted."""
    ends = []

    def epoch_end(done: int, total: int, message: str) -> None:
        ends.append((time.perf_counter(), time.process_time()))

    transfer.train_model_a(dataclasses.replace(protocol, a_epochs=repeats + 1), tasks, seed=42, progress=epoch_end)
    return Timing.of(np.diff(np.array(ends), axis=0))  # (repeats, 2): wall and CPU seconds per epoch


def book_b_phase_one_seed(tasks, protocol, model_a, seed: int) -> None:
    """The book's B phase for one seed, `core.transfer`'s reference functions: B from scratch, then B on A
    (clone, freeze, unfreeze), each evaluated on the test set.

    Keras is seeded once per seed, by model B's builder, as a loop over seeds would do; B on A continues from
    there (reseed=False) rather than seeding again, because every `keras.utils.set_random_seed` clears
    TensorFlow's kernel caches and would charge the book's loop a second or more per seed.
    """
    model_b, _ = transfer.train_b_from_scratch(protocol, tasks, seed)
    model_b.evaluate(tasks.x_test_b, tasks.y_test_b, verbose=0)
    model_b_on_a, _ = transfer.train_b_on_a(protocol, tasks, model_a, seed, reseed=False)
    model_b_on_a.evaluate(tasks.x_test_b, tasks.y_test_b, verbose=0)


def book_b_phase_seconds(tasks, protocol, timed_seeds: int) -> Timing:
    """Seconds of the book's B phase for one seed, each of `timed_seeds` seeds on its own clock (model A untrained)."""
    # Built before the clock, like the engine's stand-in A weights: the B phase starts from a finished model A.
    stand_ins = [transfer.build_model_a(protocol, seed) for seed in range(timed_seeds)]
    return time_repeats(lambda seed: book_b_phase_one_seed(tasks, protocol, stand_ins[seed], seed), timed_seeds)


# ---- the engine ----

def engine_model_a_epoch_seconds(tasks, copies: int, repeats: int) -> tuple[Timing, float]:
    """Seconds per epoch for `copies` copies of model A, one engine.train epoch per repeat, each continuing from
    the weights the last one returned; and the seconds of the first epoch, which traces and, on the XLA path,
    compiles for this data shape (XLA compiles per shape, so a warm-up on a slice would not cover it)."""
    from core import engine

    config, seeds = engine.MLPConfig.model_a(), tuple(range(copies))
    weights = engine.initial_weights(config, seeds)
    data = engine.Data(tasks.x_train_a, tasks.y_train_a, tasks.x_valid_a, tasks.y_valid_a)

    def next_epoch(epochs_done: int) -> None:
        nonlocal weights
        weights = engine.train(config, data, [engine.Phase(1)], seeds, initial=weights, first_epoch=epochs_done).weights

    started = time.perf_counter()
    next_epoch(0)
    first = time.perf_counter() - started
    return time_repeats(lambda done: next_epoch(done + 1), repeats), first


def engine_b_phase_seconds(tasks, protocol, copies: int, repeats: int) -> tuple[Timing, tuple[float, float]]:
    """Seconds for the whole B phase of `copies` seeds, tracing and Keras initialisation included in every repeat;
    and the mean test accuracy of B from scratch and of B on A."""
    from core import engine

    a_config, b_config, seeds = engine.MLPConfig.model_a(), engine.MLPConfig.model_b(), tuple(range(copies))
    a_weights = engine.initial_weights(a_config, seeds)  # stands in for trained model A (same cost)
    data = engine.Data(tasks.x_train_b, tasks.y_train_b, tasks.x_valid_b, tasks.y_valid_b, tasks.x_test_b,
                       tasks.y_test_b)
    results = []

    def b_phase(_) -> None:
        from_scratch = engine.train(b_config, data, [engine.Phase(protocol.b_epochs, protocol.learning_rate)], seeds)
        start = engine.transfer_weights(a_weights, a_config, b_config, seeds)
        phases = [engine.Phase(protocol.frozen_epochs, protocol.frozen_rate, frozen_layers=-1),
                  engine.Phase(protocol.unfrozen_epochs, protocol.unfrozen_learning_rate)]
        results[:] = [from_scratch, engine.train(b_config, data, phases, seeds, initial=start)]

    timing = time_repeats(b_phase, repeats, before=engine.clear_compiled_functions)
    return timing, tuple(float(np.mean(result.test_accuracy)) for result in results)


def positive_int(text: str) -> int:
    if int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return int(text)


def machine_line() -> str:
    import keras
    import tensorflow as tf

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (f"machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
            f"load average {load}; TensorFlow {tf.__version__}, Keras {keras.__version__}")


def main(argv=None) -> None:
    from core import data

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny slices and epochs: a smoke run, not a measurement")
    parser.add_argument("--book-seeds", type=positive_int, default=None,
                        help="book B-phase seeds, each timed on its own clock, scaled to 30 "
                             "(default 3; 1 with --quick)")
    parser.add_argument("--repeats", type=positive_int, default=None,
                        help="timed epochs per model A arm and engine B-phase runs; the best counts "
                             "(default 3; 1 with --quick)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    book_seeds = args.book_seeds or (1 if args.quick else 3)
    protocol = bench_protocol(args.quick)
    tasks = transfer.task_data(protocol, data.load_book_splits())
    b_epochs = (protocol.b_epochs, protocol.frozen_epochs, protocol.unfrozen_epochs)
    print(machine_line())
    n_images = len(tasks.y_train_a)
    limit = FLOP_PER_IMAGE_STEP * n_images
    print(f"model A: {n_images} training images, batch 32, SGD 1e-3; FLOP limit {FLOP_PER_IMAGE_STEP / 1e6:.2f} "
          f"MFLOP per image per step = {limit / 1e9:.1f} GFLOP per epoch per seed "
          f"({limit / 200e9:.2f} s at 200 GFLOP/s); each arm timed epoch by epoch, the best of {repeats} counts")

    peaks = {}
    book_a, peaks["book, model A"] = in_own_process(book_model_a_epoch_seconds, protocol, protocol, repeats)
    print(f"(a) book model.fit, s per epoch per seed, {book_a.describe(2)} "
          f"({limit / book_a.best[0] / 1e9:.1f} GFLOP/s at best)", flush=True)
    engine_a = {}
    for copies in (1, 4, 10):
        (timing, first), peaks[f"engine, model A, K={copies}"] = in_own_process(
            engine_model_a_epoch_seconds, protocol, copies, repeats)
        engine_a[copies] = timing / copies
        print(f"(a) engine K={copies:2d}, s per epoch per seed, {engine_a[copies].describe(2)} "
              f"({limit / engine_a[copies].best[0] / 1e9:.1f} GFLOP/s at best); "
              f"{ratio_text(book_a, engine_a[copies], 2)}; first epoch (tracing and compiling for this shape, "
              f"not counted) {first / copies:.2f} s per seed", flush=True)

    n_b, n_valid_b, n_test_b = len(tasks.y_train_b), len(tasks.y_valid_b), len(tasks.y_test_b)
    b_flop = B_SEEDS * (n_b * sum(b_epochs) * FLOP_PER_IMAGE_STEP
                        + (n_valid_b * sum(b_epochs) + 2 * n_test_b) * FORWARD_FLOP_PER_IMAGE)
    print(f"(b) B phase: {n_b} training, {n_valid_b} validation (every epoch), {n_test_b} test images; FLOP limit "
          f"for {B_SEEDS} seeds {b_flop / 1e12:.2f} TFLOP ({b_flop / 200e9:.1f} s at 200 GFLOP/s)")
    book_b, peaks["book, B phase"] = in_own_process(book_b_phase_seconds, protocol, protocol, book_seeds)
    book_b = book_b * B_SEEDS
    print(f"(b) book loop, each of {book_seeds} seed(s) timed alone and scaled to {B_SEEDS} (not run {B_SEEDS} "
          f"times), {book_b.describe(1)}", flush=True)
    (engine_b, (scratch, on_a)), peaks["engine, B phase"] = in_own_process(
        engine_b_phase_seconds, protocol, protocol, B_SEEDS, repeats)
    print(f"(b) engine, {B_SEEDS} copies at once (initialisation and tracing included in every run), "
          f"{engine_b.describe(2)}; {ratio_text(book_b, engine_b, 1)}")
    print(f"    mean test accuracy: B from scratch {scratch:.4f}, B on (untrained) A {on_a:.4f}")
    print("(c) peak RSS of each arm's own process (data and TensorFlow included): "
          + "; ".join(f"{arm} {peak:.0f} MB" for arm, peak in peaks.items()))
    if args.quick:
        print("quick mode: slices of the data and a few epochs; the ratios below are not measurements")
    print(f"model_a_speedup_k10: {book_a.best[0] / engine_a[10].best[0]:.2f}")
    print(f"b_phase_speedup_30_seeds: {book_b.best[0] / engine_b.best[0]:.2f}")


if __name__ == "__main__":
    main()
