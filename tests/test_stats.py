"""core.stats against scipy, brute-force simulation and small cases worked by hand."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from core import stats

FEW = 2000  # bootstrap resamples in tests: enough for stable intervals, fast


def test_mean_difference_ci_matches_scipy_and_is_reproducible():
    d = np.random.default_rng(0).normal(0.5, 1.0, 30)
    ours = stats.mean_difference(d, rng=7, n_resamples=FEW)
    theirs = scipy_stats.bootstrap((d,), np.mean, n_resamples=FEW, rng=np.random.default_rng(7))
    assert ours.value == pytest.approx(d.mean())
    assert (ours.low, ours.high) == pytest.approx(tuple(theirs.confidence_interval))
    assert stats.mean_difference(d, rng=7, n_resamples=FEW) == ours  # same seed, same interval
    assert stats.mean_difference(d, rng=8, n_resamples=FEW) != ours


def test_mean_ci_covers_the_true_mean_most_of_the_time():
    # 40 synthetic experiments of 25 seeds, true mean 0.3: a 95% interval should miss about 2 times.
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(40):
        estimate = stats.mean_difference(rng.normal(0.3, 1.0, 25), rng=rng, n_resamples=1000)
        covered += estimate.low <= 0.3 <= estimate.high
    assert covered >= 34


def test_constant_differences_give_a_point_interval_not_nan():
    estimate = stats.mean_difference([0.5, 0.5, 0.5], rng=0, n_resamples=FEW)
    assert (estimate.value, estimate.low, estimate.high) == (0.5, 0.5, 0.5)


def test_interquartile_mean_is_scipy_trim_mean_and_ignores_outliers():
    values = np.array([1.0, 2, 3, 4, 5, 6, 7, 100])
    assert stats.interquartile_mean(values) == pytest.approx(scipy_stats.trim_mean(values, 0.25))
    assert stats.interquartile_mean(values) == pytest.approx(4.5)  # mean of 3, 4, 5, 6
    estimate = stats.iqm_difference(values, rng=0, n_resamples=FEW)
    assert estimate.value == pytest.approx(4.5) and estimate.low <= 4.5 <= estimate.high


def test_probability_of_improvement_counts_ties_half():
    assert stats.probability_of_improvement([1.0, -1.0, 0.0, 2.0]) == pytest.approx(2.5 / 4)
    estimate = stats.prob_improvement([1.0, -1.0, 0.0, 2.0, 0.5], rng=0, n_resamples=FEW)
    assert estimate.value == pytest.approx(3.5 / 5)
    assert 0 <= estimate.low <= estimate.value <= estimate.high <= 1


def test_wilcoxon_matches_scipy():
    d = np.array([1.2, -0.4, 0.8, 2.1, 0.3, -0.1, 1.5, 0.9, 0.0, 0.6])
    result = stats.wilcoxon_test(d)
    assert result.p_value == pytest.approx(scipy_stats.wilcoxon(d, zero_method="wilcox").pvalue)
    assert result.n_nonzero == 9 and result.reason == ""


def test_wilcoxon_all_zero_and_tiny_n_say_why():
    zero = stats.wilcoxon_test([0.0, 0.0, 0.0])
    assert zero.p_value is None and "same accuracy" in zero.reason
    tiny = stats.wilcoxon_test([1.0, 2.0, 3.0])
    assert tiny.p_value == pytest.approx(0.25)  # exact: 2 of the 8 sign patterns are as extreme
    assert "too few seeds" in tiny.reason and "0.25" in tiny.reason


def test_wins_ties_losses():
    assert stats.wins_ties_losses([0.5, 0.0, -0.5, 1.0, 0.0]) == (2, 2, 1)


def test_error_ratio_on_hand_counts():
    # The book: 2.8% and 0.7% of 2,000 test images are 56 and 14 errors: (56.5 / 14.5).
    assert stats.error_counts([0.972, 0.993], 2000).tolist() == [56, 14]
    assert stats.error_ratio([56], [14]) == pytest.approx(56.5 / 14.5)
    # Two seeds, transfer perfect on one: mean errors 10 and 1, smoothed 10.5 / 1.5 = 7.
    assert stats.error_ratio([12, 8], [0, 2]) == pytest.approx(7.0)
    estimate, per_seed = stats.error_ratio_estimate([0.994, 0.996], [1.0, 0.999], 2000, rng=0, n_resamples=FEW)
    assert estimate.value == pytest.approx(7.0)
    assert per_seed == pytest.approx([12.5 / 0.5, 8.5 / 2.5])
    assert estimate.low <= 7.0 <= estimate.high


def test_best_of_k_by_hand():
    # d = 0, 1, 2, 3: P(best of 2 <= 1) = (2/4)^2 = 0.25 and P(<= 2) = 0.5625, so the median is 2.
    result = stats.best_of_k([3.0, 0.0, 2.0, 1.0], target=3.0, levels=(0.5,))
    assert result.ks.tolist() == [1, 2, 3, 4]
    assert result.quantiles[1, 0] == 2.0
    # 3 of 4 seeds are below the target: P(reached in k tries) = 1 - 0.75^k; 0.4375 at k=2, 0.578 at k=3.
    assert result.prob_reaching_target == pytest.approx(1 - 0.75 ** np.arange(1, 5))
    assert result.k_for_target == 3
    assert stats.best_of_k([0.0, 1.0], target=5.0).k_for_target is None  # never observed, never reached
    assert stats.best_of_k([6.0, 7.0], target=5.0).k_for_target == 1


def test_best_of_k_formula_matches_brute_force_simulation():
    rng = np.random.default_rng(42)
    d = np.round(rng.normal(0.2, 1.0, 15), 2)
    result = stats.best_of_k(d, target=1.0)
    for k in (1, 3, 8, 15):
        best = rng.choice(d, size=(40_000, k), replace=True).max(axis=1)
        assert np.mean(best >= 1.0) == pytest.approx(result.prob_reaching_target[k - 1], abs=0.01)
        for col, q in enumerate(result.quantile_levels):
            # The q-quantile is the smallest value of d whose CDF F^k reaches q; simulation agrees on F^k.
            quantile = result.quantiles[k - 1, col]
            exact_cdf = np.mean(d <= quantile) ** k
            assert np.mean(best <= quantile) == pytest.approx(exact_cdf, abs=0.01)
            assert exact_cdf >= q and np.mean(d < quantile) ** k < q
    p_below = np.mean(d < 1.0)
    assert result.k_for_target == math.ceil(math.log(0.5) / math.log(p_below))


def test_verdict_never_overstates():
    no_test = stats.WilcoxonResult(0.01, 20, "")
    assert stats.verdict(stats.Estimate(0.3, -0.1, 0.7), no_test, 20).startswith("No reliable gain")
    assert "includes 0" in stats.verdict(stats.Estimate(0.3, -0.1, 0.7), no_test, 20)
    assert stats.verdict(stats.Estimate(0.5, 0.2, 0.8), no_test, 20).startswith("Reliable gain of 0.50 points")
    assert stats.verdict(stats.Estimate(-0.5, -0.8, -0.2), no_test, 20).startswith("Reliable loss of 0.50 points")
    weak = stats.WilcoxonResult(0.25, 3, "only 3 seeds differ")
    assert stats.verdict(stats.Estimate(1.8, 1.5, 2.0), weak, 3).startswith("Tentative gain")


def test_summarize_bundles_everything_consistently():
    rng = np.random.default_rng(3)
    scratch = np.rint(rng.uniform(0.95, 0.99, 20) * 2000) / 2000
    transfer = np.clip(scratch + np.rint(rng.normal(0.0, 10, 20)) / 2000, 0, 1)
    summary = stats.summarize(scratch, transfer, rng=5, n_resamples=FEW)
    d = 100 * (transfer - scratch)
    assert summary.differences == pytest.approx(d)
    assert summary.mean_difference.value == pytest.approx(d.mean())
    assert summary.wins + summary.ties + summary.losses == 20
    assert summary.wilcoxon.p_value == pytest.approx(scipy_stats.wilcoxon(summary.differences).pvalue)
    assert summary.best_of_k.quantiles.shape == (20, len(stats.QUANTILES))
    assert summary.verdict == stats.verdict(summary.mean_difference, summary.wilcoxon, 20)
    assert stats.summarize(scratch, transfer, rng=5, n_resamples=FEW).mean_difference == summary.mean_difference
    lines = stats.summary_lines(summary)
    assert any(line.startswith("verdict: ") for line in lines) and len(lines) == 10


def test_book_single_gain_is_exactly_205_points():
    summary = stats.summarize([0.972, 0.972], [0.9925, 0.9925], rng=0, n_resamples=FEW)
    assert summary.differences.tolist() == [2.05, 2.05]
    assert summary.best_of_k.k_for_target == 1


@pytest.mark.parametrize(
    "scratch, transfer, fragment",
    [
        ([0.9], [0.95], "at least 2 seeds"),
        ([0.9, 0.8, 0.7], [0.9, 0.8], "same seeds"),
        ([97.2, 98.0], [99.2, 99.0], "between 0 and 1"),
        ([[0.9, 0.8]], [[0.9, 0.8]], "shape (n_seeds,)"),
        ([0.9, float("nan")], [0.9, 0.8], "NaN"),
    ],
)
def test_bad_input_is_a_sentence(scratch, transfer, fragment):
    with pytest.raises(ValueError, match=None) as error:
        stats.summarize(scratch, transfer, rng=0, n_resamples=FEW)
    assert fragment in str(error.value)


def test_rng_must_be_a_generator_or_seed():
    with pytest.raises(ValueError, match="Generator or an integer seed"):
        stats.mean_difference([1.0, 2.0], rng="42")
