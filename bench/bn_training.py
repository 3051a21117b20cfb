"""Benchmark of the "BN in training" page: how long its default runs take, and prediction latency ratios.

    python -m bench.bn_training                  # the page's default settings (what a user waits for)
    python -m bench.bn_training --quick          # the tiny presets (smoke test)
    python -m bench.bn_training --compare-keras  # also: section 1's stacked seeds against one Keras fit per seed

Part 1 times each experiment's default run from cold (no cache), wall clock and CPU seconds of this process;
CPU time far below wall time x 2 cores means other processes were sharing the machine. It also prints what
each run shows for the chapter's claims. Part 2 reports inference latency per batch size as ratios to the
book's plain Keras model without BN, measured in the same run (interleaved calls, medians).
With --compare-keras, part 3 trains section 1's BN variant both ways (stacked engine, one Keras fit per seed),
each once to warm up and once timed, and reports the ratio.
"""

from __future__ import annotations

import argparse
import functools
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def timed(label: str, function, *arguments):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*arguments)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<28} {wall:7.1f} s wall   {cpu:7.1f} s CPU")
    return result, wall


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny presets instead of the page defaults")
    parser.add_argument("--compare-keras", action="store_true",
                        help="time section 1's seeds stacked (engine) against one Keras fit per seed")
    args = parser.parse_args(argv)

    from core.batchnorm import training as bn_training
    from core.data import load_book_splits

    load_book_splits()
    pick = (lambda cls: cls.tiny()) if args.quick else (lambda cls: cls())
    print(f"== default runs ({'tiny' if args.quick else 'page defaults'}), {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    deep, t1 = timed("1. deep sigmoid net", bn_training.vanishing_gradients, pick(bn_training.VanishingConfig))
    sweep, t2 = timed("2. LR x initialiser sweep", bn_training.lr_sweep, pick(bn_training.SweepConfig))
    book, t3 = timed("3. BN placement", bn_training.placement_runs, pick(bn_training.PlacementConfig))
    latency, t4 = timed("4. latency + folding", bn_training.inference_latency, pick(bn_training.LatencyConfig))
    print(f"{'total':<28} {t1 + t2 + t3 + t4:7.1f} s wall   (load average now {os.getloadavg()[0]:.1f})")

    print("\n== what the default runs show")
    for key, norms in deep.gradient_norms.items():
        ratio = np.median(norms[:, 0] / norms[:, -2])
        final = deep.runs[key].val_accuracy[:, -1]
        print(f"deep net, BN={key:<5}: first/last hidden gradient norm {ratio:.2g}; "
              f"final val accuracy {final.mean():.3f} (seeds: {np.round(final, 3).tolist()})")
    for key, table in sweep.final_accuracy.items():
        for index, initializer in enumerate(sweep.initializers):
            finals = table[index].mean(axis=1)
            cells = ", ".join(f"{rate:g}: {acc:.2f} [{low:.2f}-{high:.2f}]" for rate, acc, low, high in
                              zip(sweep.learning_rates, finals, table[index].min(axis=1), table[index].max(axis=1)))
            usable = [f"{rate:g}" for rate, acc in zip(sweep.learning_rates, finals) if acc > 0.5]
            print(f"sweep, BN={key:<5} {initializer:<15} mean [min-max]: {cells}; above 0.5: {usable}")
    target = float(book["none"].val_accuracy[:, -1].mean())
    plain_epoch = np.median(book["none"].epoch_seconds)
    for key, runs in book.items():
        reach = bn_training.seconds_to_reach(runs, target)
        epochs = bn_training.epochs_to_reach(runs.val_accuracy, target)
        print(f"book model, BN {key:<6}: final val accuracy {runs.val_accuracy[:, -1].mean():.3f}, "
              f"median epoch {np.median(runs.epoch_seconds):.2f} s (x{np.median(runs.epoch_seconds) / plain_epoch:.2f}"
              f" of no BN); to reach {target:.3f}: epochs {epochs.tolist()}, seconds {np.round(reach, 1).tolist()}")

    print("\n== inference latency, median ms per call and ratio to the book's model without BN")
    reference = np.median(latency.milliseconds["no BN"], axis=1)
    for name, times in latency.milliseconds.items():
        median = np.median(times, axis=1)
        cells = "   ".join(f"batch {size}: {ms:.3f} ms (x{ms / ref:.2f})"
                           for size, ms, ref in zip(latency.batch_sizes, median, reference))
        print(f"{name:<18} {cells}")
    print(f"max |folded - original| on the 10,000 test images: {latency.max_abs_difference}")
    if args.compare_keras:
        compare_with_keras(pick(bn_training.VanishingConfig))


def compare_with_keras(config) -> None:
    """Section 1's BN variant over its seeds: stacked in one graph (engine) against one Keras fit per seed."""
    from core.batchnorm import seed_runs

    train_config, seeds = config.train_config("after"), tuple(range(config.n_seeds))
    print(f"\n== section 1, BN variant, {len(seeds)} seeds: stacked engine against one Keras fit per seed "
          f"(second of two calls each; load average {os.getloadavg()[0]:.1f})")
    seconds, trainers = {}, {}  # Keras reuses one traced model across calls, as section 3 does
    for name, function in (("engine, seeds stacked", seed_runs.train_seeds),
                           ("Keras, seed by seed", functools.partial(seed_runs.keras_seeds, trainers=trainers))):
        function(train_config, seeds)  # warm-up: tracing and compilation
        _, seconds[name] = timed(name, function, train_config, seeds)
    print(f"Keras / engine wall time: x{seconds['Keras, seed by seed'] / seconds['engine, seeds stacked']:.2f}")


if __name__ == "__main__":
    main()
