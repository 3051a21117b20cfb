"""The engine benchmark runs end to end in --quick mode (a smoke check: timings are never asserted)."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench  # slow end-to-end runs of bench scripts: `make bench-check`, not `make test`

ROOT = Path(__file__).resolve().parent.parent


def test_quick_bench_runs_and_ends_with_the_two_ratios(fashion_mnist):
    done = subprocess.run([sys.executable, "-m", "bench.engine_speed", "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("machine: ") and "TensorFlow" in lines[0]
    names = [line.split(": ")[0] for line in lines[-2:]]
    assert names == ["model_a_speedup_k10", "b_phase_speedup_30_seeds"]
    assert all(float(line.split(": ")[1]) > 0 for line in lines[-2:])
