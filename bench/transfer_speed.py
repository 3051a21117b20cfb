"""Time the transfer page's expensive work before and after issue 13 and in the book's Keras code, in one run.

    python -m bench.transfer_speed            # full run: about an hour on 2 shared cores
    python -m bench.transfer_speed --quick    # smoke run on the tiny protocol (numbers meaningless)

"Before" is the code this branch started from (`git merge-base HEAD main`, override with --base), unpacked
with `git archive` into a temporary folder and run through its own command line; "after" is this checkout's
command line. Every arm is a fresh process with a cold results store of its own (nothing trained before),
timed from outside (wall clock, and CPU and peak RSS of that process from os.wait4).

(a) The 45 class pairs x 20 seeds, book protocol. After: `python -m core transfer --all-pairs --seeds 20`, all
    45 pairs for real (the 45 model As stacked as per-copy subsets, then each pair's B runs). Before: the
    same command trains the pairs one after the other, so its time is `--pairs-timed` single pairs (3, spread
    over the run: one before the new arm, the others after it) timed alone and scaled by 45 / 3: each pair's
    work is the same (one model A of about 44,000 images, 20 seeds of B), up to task A's size (43,986 to
    44,013 images).
(b) 20 seeds where each seed trains its own model A (`--vary-a --seeds 20`, the book's pair), both arms in
    full: before, chunks of 10 seeds (10 As, then their B runs); after, the 20 As in one stacked call.
(c) The reuse grid (after only: there was none): the command line's default grid (sizes 50, 200, 1,000,
    5,000 x 10 seeds) and the page's default (50, 200, 1,000 x 10 seeds), each in a fresh store holding
    only model A (copied from arm (a): the page has it after its single run).
(d) The book's plain Keras code (`core.transfer`'s model.fit reference run, the code the tests check the
    engine against), in a fresh process: one model A (seed 42, all its epochs) and the B phase (B from
    scratch, B on A) of `--keras-seeds` seeds (2), each seed on its own clock; (a) and (b) in that code
    would cost 45 x (A + 20 B phases) and 20 x (A + one B phase), estimated from the median seed.
(e) The floor: the machine's float32 matrix-product rate (bench.flop, one large product, measured here) and the
    arithmetic of each arm's model As (their training steps and per-epoch validation, counted from the layer
    sizes and each pair's task-A images), which no implementation of the book's SGD can skip. The ceilings are
    the before/after ratios an implementation would reach if it trained the model As at that rate and
    everything else (the B runs, saving, start-up) took no time. The after arm's own split into its model-A
    stage and its B stage is read from its store (each row's engine seconds).

Load: other tenants share the 2 cores, so wall times move by tens of percent from one minute to the next;
the `uptime` load average is printed before and after every arm, and the before/after ratios compare arms
run back to back. The last lines are `name: value` pairs, ending with `pairs45_speedup` and `vary_a_speedup`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import engine_speed, flop  # the book's Keras arm and the machine line; the arithmetic floor

ROOT = Path(__file__).resolve().parent.parent
PAIRS_TIMED = ((0, 1), (5, 6), (2, 9))  # the pairs the old code is timed on: the book's pair and two others


@dataclass(frozen=True)
class Measured:
    """One arm: wall and CPU seconds and peak resident memory of its process."""

    wall: float
    cpu: float
    peak_rss_mb: float
    load_before: float  # 1-minute load average when it started
    load_after: float

    def describe(self) -> str:
        return (f"{self.wall:.0f} s wall ({self.wall / 60:.1f} min), {self.cpu:.0f} CPU s, peak RSS "
                f"{self.peak_rss_mb:.0f} MB, load {self.load_before:.1f} -> {self.load_after:.1f}")


def run_cli(code: Path, data_dir: Path, args: list[str], log: Path) -> Measured:
    """Run `python -m core ARGS` of the checkout at `code` with LAB_DATA_DIR=data_dir; fail loudly if it fails."""
    env = {**os.environ, "LAB_DATA_DIR": str(data_dir), "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(code)}
    env.pop("LAB_PRESET", None)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    with open(log, "w") as output:
        process = subprocess.Popen([sys.executable, "-m", "core", *args], cwd=code, env=env, stdout=output,
                                   stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"python -m core {' '.join(args)} failed ({process.returncode}); see {log}:\n"
                           + log.read_text()[-3000:])
    return Measured(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, load_before, os.getloadavg()[0])


def unpack_base(base: str, folder: Path) -> str:
    """The base commit's files in `folder` (git archive: no worktree left behind); returns its short hash."""
    commit = subprocess.run(["git", "rev-parse", "--short", base], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    archive = folder / "base.tar"
    subprocess.run(["git", "archive", "--format=tar", "-o", str(archive), commit], cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder / "code", filter="data")
    return commit


def copy_model_a(source: Path, target: Path) -> None:
    """A fresh store holding what `source` holds (model A files and rows): the grid then trains only its own cells."""
    target.mkdir(parents=True)
    shutil.copytree(source / "models", target / "models")
    shutil.copy(source / "results.sqlite", target / "results.sqlite")


def model_a_flop(protocol_name: str, pairs) -> float:
    """FLOP of training the model A of each task-B pair in `pairs` (one A each): every epoch's training steps on
    that pair's task-A images and its validation pass (bench.flop's counts)."""
    from core import data, transfer

    protocol = transfer.PROTOCOLS[protocol_name]
    a_config, _ = transfer.engine_configs(protocol)
    splits = data.load_book_splits()
    train_step = flop.training_flop(a_config.hidden_units, a_config.n_outputs)
    forward = flop.forward_flop(a_config.hidden_units, a_config.n_outputs)
    total = 0.0
    for pair in pairs:
        n_train = len(transfer.task_a_rows(pair, splits.y_train, protocol.n_a_train)[0])
        n_valid = len(transfer.task_a_rows(pair, splits.y_valid, protocol.n_eval)[0])
        total += protocol.a_epochs * (n_train * train_step + n_valid * forward)
    return total


def stage_seconds(store_folder: Path) -> tuple[float, float]:
    """(model-A stage, B stage) engine seconds of a transfer run, from its store: each row's seconds_per_seed is
    its engine call's seconds divided by the call's copies, so the rows of a kind add up to that stage's time."""
    import json

    from core import store

    stages = {"ModelAConfig": 0.0, "ComparisonConfig": 0.0}
    for row in store.Store(store_folder / "results.sqlite").raw_rows():
        if row["kind"] in stages:
            stages[row["kind"]] += float(json.loads(row["result_json"])["seconds_per_seed"])
    return stages["ModelAConfig"], stages["ComparisonConfig"]


def keras_arm(tasks, protocol, b_seeds: int) -> tuple[float, float]:
    """The book's plain Keras code for the book's pair: wall seconds of model A (model.fit, seed 42) and the median
    wall seconds of one seed's B phase over `b_seeds` seeds (bench.engine_speed's book arm, each on its own clock)."""
    from core import transfer

    with engine_speed.Clock() as clock:
        model_a, _ = transfer.train_model_a(protocol, tasks, seed=42)
    seconds = engine_speed.time_repeats(
        lambda seed: engine_speed.book_b_phase_one_seed(tasks, protocol, model_a, seed), b_seeds)
    return clock.wall, float(seconds.median[0])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny protocol, 3 seeds: a smoke run, not a measurement")
    parser.add_argument("--base", default=None, help="the 'before' commit (default: git merge-base HEAD main)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, stores)")
    parser.add_argument("--keras-seeds", type=int, default=2, help="seeds of the book's Keras B phase timed (2)")
    args = parser.parse_args(argv)
    protocol, seeds = ("tiny", "3") if args.quick else ("book", "20")
    grid_seeds = "3" if args.quick else "10"
    grid_sizes, page_sizes = ("20,60", "20") if args.quick else ("50,200,1000,5000", "50,200,1000")
    pairs_timed = PAIRS_TIMED[:1] if args.quick else PAIRS_TIMED
    base = args.base or subprocess.run(["git", "merge-base", "HEAD", "main"], cwd=ROOT, capture_output=True,
                                       text=True, check=True).stdout.strip()
    folder = Path(tempfile.mkdtemp(prefix="transfer-speed-"))
    try:
        commit = unpack_base(base, folder)
        old_code = folder / "code"
        print(engine_speed.machine_line())
        print(f"before: commit {commit} (git archive, its own command line); after: {ROOT}; protocol {protocol}, "
              f"{seeds} seeds; every arm a fresh process with a cold store", flush=True)

        def arm(name: str, code: Path, cli: list[str]) -> Measured:
            measured = run_cli(code, folder / name, cli, folder / f"{name}.log")
            print(f"  {name}: {measured.describe()}", flush=True)
            return measured

        all_pairs = ["--pairs", *(f"{i},{j}" for i, j in PAIRS_TIMED)] if args.quick else ["--all-pairs"]
        n_pairs = len(PAIRS_TIMED) if args.quick else 45
        print(f"(a) {'3 class pairs (quick)' if args.quick else 'all 45 class pairs'}")
        old_pairs = [arm(f"before-pair-{i}-{j}", old_code, ["transfer", "--protocol", protocol, "--pair", f"{i},{j}",
                                                             "--seeds", seeds]) for i, j in pairs_timed[:1]]
        new_pairs = arm("after-45-pairs", ROOT, ["transfer", "--protocol", protocol, *all_pairs, "--seeds", seeds])
        old_pairs += [arm(f"before-pair-{i}-{j}", old_code, ["transfer", "--protocol", protocol, "--pair",
                                                             f"{i},{j}", "--seeds", seeds]) for i, j in pairs_timed[1:]]
        old_wall = n_pairs * sum(m.wall for m in old_pairs) / len(old_pairs)
        old_cpu = n_pairs * sum(m.cpu for m in old_pairs) / len(old_pairs)
        print(f"  before, scaled from {len(old_pairs)} pair(s) to {n_pairs}: {old_wall:.0f} s wall "
              f"({old_wall / 60:.1f} min), {old_cpu:.0f} CPU s; per pair "
              f"{', '.join(f'{m.wall:.0f}' for m in old_pairs)} s")

        print("(b) each seed trains its own model A")
        vary = ["transfer", "--protocol", protocol, "--vary-a", "--seeds", seeds]
        old_vary = arm("before-vary-a", old_code, vary)
        new_vary = arm("after-vary-a", ROOT, vary)

        print("(c) the reuse grid (model A already stored)")
        for name in ("after-grid-default", "after-grid-page"):
            copy_model_a(folder / "after-45-pairs", folder / name)
        grid = arm("after-grid-default", ROOT, ["reuse", "--protocol", protocol, "--seeds", grid_seeds, "--sizes",
                                                 grid_sizes])
        page = arm("after-grid-page", ROOT, ["reuse", "--protocol", protocol, "--seeds", grid_seeds, "--sizes",
                                              page_sizes])
        print("(d) the book's plain Keras code: model A, then B phases")
        from core import transfer

        load_before = os.getloadavg()[0]
        book_code = transfer.PROTOCOLS[protocol]  # in_own_process builds the task data from it; the arm trains it
        (a_seconds, b_seconds), keras_rss = engine_speed.in_own_process(keras_arm, book_code, book_code,
                                                                        1 if args.quick else args.keras_seeds)
        n_seeds = int(seeds)
        keras_pairs, keras_vary = n_pairs * (a_seconds + n_seeds * b_seconds), n_seeds * (a_seconds + b_seconds)
        print(f"  keras: model A {a_seconds:.0f} s, B phase {b_seconds:.1f} s per seed, peak RSS {keras_rss:.0f} MB, "
              f"load {load_before:.1f} -> {os.getloadavg()[0]:.1f}; estimated {keras_pairs / 60:.1f} min for (a), "
              f"{keras_vary / 60:.1f} min for (b)", flush=True)
        print("(e) the floor: this machine's matrix-product rate and the model As' arithmetic")
        peak = flop.matmul_gflops()
        pairs45 = PAIRS_TIMED if args.quick else transfer.ALL_PAIRS
        pairs_flop = model_a_flop(protocol, pairs45)
        vary_flop = int(seeds) * model_a_flop(protocol, [transfer.PROTOCOLS[protocol].b_classes])
        a_stage, b_stage = stage_seconds(folder / "after-45-pairs")
        print(f"  float32 matrix product (2048 x 2048, best of 10): {peak:.1f} GFLOP/s; model As: "
              f"{pairs_flop / 1e12:.1f} TFLOP for (a), {vary_flop / 1e12:.1f} TFLOP for (b), at least "
              f"{pairs_flop / peak / 1e9:.0f} s and {vary_flop / peak / 1e9:.0f} s at that rate")
        print(f"  after arm (a), from its store: model-A stage {a_stage:.0f} s ({pairs_flop / a_stage / 1e9:.1f} "
              f"GFLOP/s), B stage {b_stage:.0f} s; the rest of its {new_pairs.wall:.0f} s is start-up and saving",
              flush=True)
        if args.quick:
            print("quick mode: the tiny protocol; the ratios below are not measurements")
        peaks = [new_pairs, new_vary, grid, page]
        print(f"pairs45_before_minutes: {old_wall / 60:.1f}")
        print(f"pairs45_after_minutes: {new_pairs.wall / 60:.1f}")
        print(f"pairs45_cpu_speedup: {old_cpu / new_pairs.cpu:.2f}")
        print(f"vary_a_before_minutes: {old_vary.wall / 60:.1f}")
        print(f"vary_a_after_minutes: {new_vary.wall / 60:.1f}")
        print(f"vary_a_cpu_speedup: {old_vary.cpu / new_vary.cpu:.2f}")
        print(f"reuse_grid_default_minutes: {grid.wall / 60:.1f}")
        print(f"reuse_grid_page_default_minutes: {page.wall / 60:.1f}")
        print(f"peak_rss_mb_max: {max(m.peak_rss_mb for m in peaks):.0f}")
        print(f"pairs45_keras_minutes: {keras_pairs / 60:.1f}")
        print(f"pairs45_vs_keras_speedup: {keras_pairs / new_pairs.wall:.2f}")
        print(f"vary_a_vs_keras_speedup: {keras_vary / new_vary.wall:.2f}")
        print(f"machine_matmul_gflops: {peak:.1f}")
        print(f"pairs45_model_a_gflops: {pairs_flop / a_stage / 1e9:.1f}")
        print(f"pairs45_a_stage_minutes: {a_stage / 60:.1f}")
        print(f"pairs45_b_stage_minutes: {b_stage / 60:.1f}")
        print(f"pairs45_ceiling_at_engine_a_rate: {old_wall / a_stage:.2f}")
        print(f"pairs45_ceiling: {old_wall / (pairs_flop / peak / 1e9):.2f}")
        print(f"vary_a_ceiling: {old_vary.wall / (vary_flop / peak / 1e9):.2f}")
        print(f"pairs45_speedup: {old_wall / new_pairs.wall:.2f}")
        print(f"vary_a_speedup: {old_vary.wall / new_vary.wall:.2f}")
    finally:
        if args.keep:
            print(f"kept: {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
