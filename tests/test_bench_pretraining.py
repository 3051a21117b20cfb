"""The pretraining benchmark runs end to end in --quick mode (a smoke check: timings are never asserted)."""

import os
import subprocess
import sys

from tests.conftest import ROOT


def test_quick_bench_runs_and_ends_with_the_speedup_line(fashion_mnist, tmp_path):
    env = {**os.environ, "LAB_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "bench.pretraining", "--quick"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("machine: ") and "TensorFlow" in lines[0]
    names = [line.split(": ")[0] for line in lines[-4:]]
    assert names == ["pretraining_speedup_2_seeds", "default_experiment_seconds", "full_grid_seconds",
                     "unsupervised_speedup_10_seeds"]
    assert all(float(line.split(": ")[1]) > 0 for line in lines[-4:])
