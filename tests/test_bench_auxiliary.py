"""The auxiliary-pretraining benchmark runs end to end in --quick mode (a smoke check: timings are never asserted)."""

import pytest

from tests.bench_support import assert_ends_with, quick_run

pytestmark = pytest.mark.bench  # slow end-to-end runs of bench scripts: `make bench-check`, not `make test`


def test_quick_bench_runs_both_arms_and_ends_with_the_speedup_line(fashion_mnist, tmp_path, monkeypatch, capsys):
    lines = quick_run("auxiliary", tmp_path, monkeypatch, capsys)
    assert any(line.startswith("plain Keras seed 0: ") for line in lines)  # the plain arm ran, with its accuracies
    assert_ends_with(lines, ["plain_keras_10_seeds_seconds", "stacked_10_seeds_seconds", "auxiliary_speedup_10_seeds"])
