"""The tuning benchmark runs end to end in --quick mode (a smoke check: timings are never asserted)."""

import pytest

from tests.bench_support import assert_ends_with, quick_run

pytestmark = pytest.mark.bench  # slow end-to-end runs of bench scripts: `make bench-check`, not `make test`

CLOSING = ["tuned_comparison_seconds_10_seeds", "untuned_comparison_seconds_10_seeds", "tuning_overhead_ratio",
           "tuned_with_model_a_seconds_10_seeds", "tuning_overhead_ratio_with_model_a"]


def test_quick_bench_times_model_a_and_both_arms_and_ends_with_the_ratios(fashion_mnist, tmp_path, monkeypatch,
                                                                         capsys):
    lines = quick_run("tuning", tmp_path, monkeypatch, capsys)
    assert_ends_with(lines, CLOSING)
    for start in ("warm-up, not counted", "model A (seed 42", "untuned comparison, 3 seeds",
                  "tuned comparison, 3 seeds", "  tuned mean test accuracy: "):
        assert any(line.startswith(start) for line in lines), start
    values = {line.split(": ")[0]: float(line.split(": ")[1]) for line in lines[-len(CLOSING):]}
    tuned, untuned = values["tuned_comparison_seconds_10_seeds"], values["untuned_comparison_seconds_10_seeds"]
    assert values["tuning_overhead_ratio"] == pytest.approx(tuned / untuned, abs=0.01, rel=0.02)
    model_a = values["tuned_with_model_a_seconds_10_seeds"] - tuned
    assert model_a > 0
    assert values["tuning_overhead_ratio_with_model_a"] == pytest.approx(
        (tuned + model_a) / (untuned + model_a), abs=0.01, rel=0.02)
