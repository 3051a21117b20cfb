"""The transfer benchmark runs end to end in --quick mode against this very commit (a smoke check of both arms'
command lines, the git archive of the 'before' code and the output format; timings are never asserted)."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench  # slow end-to-end runs of bench scripts: `make bench-check`, not `make test`

ROOT = Path(__file__).resolve().parent.parent


def test_quick_bench_runs_and_ends_with_the_two_ratios(fashion_mnist):
    done = subprocess.run([sys.executable, "-m", "bench.transfer_speed", "--quick", "--base", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("machine: ") and "TensorFlow" in lines[0]
    assert [line.split(": ")[0] for line in lines[-2:]] == ["pairs45_speedup", "vary_a_speedup"]
    assert all(float(line.split(": ")[1]) > 0 for line in lines[-2:])
    names = {line.split(": ")[0] for line in lines if ": " in line}
    assert {"reuse_grid_page_default_minutes", "pairs45_vs_keras_speedup", "vary_a_vs_keras_speedup",
            "machine_matmul_gflops", "pairs45_ceiling", "vary_a_ceiling"} <= names
    assert any(line.startswith("  keras: model A ") for line in lines)  # the book's Keras arm ran
