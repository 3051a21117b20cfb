"""The pretraining benchmark runs end to end in --quick mode (a smoke check: timings are never asserted)."""

import pytest

from tests.bench_support import assert_ends_with, quick_run

pytestmark = pytest.mark.bench  # slow end-to-end runs of bench scripts: `make bench-check`, not `make test`


def test_quick_bench_runs_and_ends_with_the_speedup_line(fashion_mnist, tmp_path, monkeypatch, capsys):
    lines = quick_run("pretraining", tmp_path, monkeypatch, capsys)
    assert_ends_with(lines, ["pretraining_speedup_2_seeds", "default_experiment_seconds", "full_grid_seconds",
                             "unsupervised_speedup_10_seeds"])
