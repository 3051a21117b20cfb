"""core.stats against hand-worked numbers, brute force, other implementations and simulated coverage."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from bench import stats_coverage
from core import stats

# The example: 26 seeds of small wins and 4 large losses (points).
SMALL_WINS_LARGE_LOSSES = np.r_[np.linspace(0.3, 0.7, 26), [-12.0, -14.0, -16.0, -18.0]]
# The other example: 10 seeds tie exactly, 5 win.
TEN_TIES_FIVE_WINS = np.r_[np.zeros(10), [0.05, 0.1, 0.15, 0.2, 0.25]]


def as_accuracies(differences, base=0.9):
    """Paired accuracies whose differences are `differences` points."""
    return np.full(len(differences), base), base + np.asarray(differences) / 100


# ---- the mean: t-interval ----

def test_mean_interval_by_hand_and_against_scipys_t_test():
    # d = 1, 2, 3: mean 2, sd 1, t(2, 0.975) = 4.302653, half-width 4.302653 / sqrt(3) = 2.484138.
    estimate = stats.mean_difference_estimate([1.0, 2.0, 3.0])
    assert (estimate.value, estimate.low, estimate.high) == pytest.approx((2.0, -0.484138, 4.484138), abs=1e-6)
    d = np.random.default_rng(0).normal(0.5, 1.0, 30)
    low, high = scipy_stats.ttest_1samp(d, 0.0).confidence_interval(0.95)
    assert (stats.mean_difference_estimate(d).low, stats.mean_difference_estimate(d).high) == pytest.approx((low, high))


def test_point_statistics_are_vectorised_over_the_last_axis():
    values = np.array([[1.0, 2.0, 3.0, 10.0], [0.0, -1.0, 0.0, 5.0]])
    assert stats.mean_difference(values) == pytest.approx([4.0, 1.0])
    assert stats.median_difference(values) == pytest.approx([2.5, 0.0])
    assert stats.win_share(values) == pytest.approx([1.0, 0.25])
    assert stats.interquartile_mean(values) == pytest.approx([2.5, 0.0])  # middle two of four
    low, high = stats.t_interval(values)
    assert low.shape == high.shape == (2,)


def test_constant_differences_give_a_point_interval_not_nan():
    estimate = stats.mean_difference_estimate([0.5, 0.5, 0.5])
    assert (estimate.value, estimate.low, estimate.high) == (0.5, 0.5, 0.5)


# ---- the interquartile mean: Yuen's interval ----

def test_interquartile_mean_and_yuen_interval_by_hand():
    values = np.array([1.0, 2, 3, 4, 5, 6, 7, 100])
    assert stats.interquartile_mean(values) == pytest.approx(scipy_stats.trim_mean(values, 0.25))
    assert stats.interquartile_mean(values) == pytest.approx(4.5)  # mean of 3, 4, 5, 6
    # Winsorized: 3 3 3 4 5 6 6 6, variance 14 / 7 = 2; h = 4; se = sqrt(7 * 2 / (4 * 3)); t(3) = 3.182446.
    estimate = stats.interquartile_mean_estimate(values)
    half = 3.182446 * math.sqrt(14 / 12)
    assert (estimate.value, estimate.low, estimate.high) == pytest.approx((4.5, 4.5 - half, 4.5 + half), abs=1e-5)


def test_yuen_interval_below_four_seeds_is_the_t_interval():
    d = [0.3, -0.2, 1.1]
    low, high = scipy_stats.ttest_1samp(d, 0.0).confidence_interval(0.95)
    estimate = stats.interquartile_mean_estimate(d)
    assert (estimate.low, estimate.high) == pytest.approx((low, high))


# ---- the share of winning seeds: Clopper-Pearson ----

def test_win_share_counts_ties_as_not_winning():
    assert stats.win_share([1.0, -1.0, 0.0, 2.0]) == pytest.approx(0.5)


def test_three_wins_of_three_do_not_give_a_point_interval():
    estimate = stats.win_share_estimate([0.5, 0.2, 1.0])
    assert estimate.value == 1.0 and estimate.high == 1.0
    assert estimate.low == pytest.approx(0.025 ** (1 / 3))  # 0.292: P(3 of 3) = p^3 = 0.025 at the bound
    none_of_five = stats.win_share_estimate([-1.0, 0.0, -0.5, -0.1, 0.0])
    assert (none_of_five.low, none_of_five.high) == pytest.approx((0.0, 1 - 0.025 ** (1 / 5)))


def test_clopper_pearson_matches_scipys_binomtest():
    for wins, trials in [(1, 3), (7, 10), (13, 20), (0, 4)]:
        expected = scipy_stats.binomtest(wins, trials).proportion_ci(0.95, method="exact")
        assert stats.clopper_pearson_interval(wins, trials) == pytest.approx((expected.low, expected.high))


# ---- the error ratio: the book's counts, Fieller's interval ----

def test_error_ratio_on_the_books_counts():
    # The book: 97.2% and 99.25% of 2,000 test images are 56 and 15 errors: 56 / 15 = 3.73, smoothed 3.65.
    assert stats.error_counts([0.972, 0.9925], 2000).tolist() == [56, 15]
    assert stats.error_ratio([56], [15]) == pytest.approx(56.5 / 15.5)
    assert stats.error_ratio([56 - 0.5], [15 - 0.5]) == pytest.approx(56 / 15) == pytest.approx(3.733, abs=1e-3)
    # Two seeds, transfer perfect on one: mean errors 10 and 1, smoothed 10.5 / 1.5 = 7.
    assert stats.error_ratio([12, 8], [0, 2]) == pytest.approx(7.0)
    assert stats.error_ratio_per_seed([12, 8], [0, 2]) == pytest.approx([12.5 / 0.5, 8.5 / 2.5])


def test_fieller_bounds_are_where_the_t_test_of_the_ratio_rejects():
    rng = np.random.default_rng(4)
    scratch, transfer = rng.poisson(56, 8).astype(float), rng.poisson(15, 8).astype(float)
    estimate = stats.error_ratio_estimate(scratch, transfer)
    assert estimate.low < estimate.value < estimate.high and estimate.bounded

    def p_value(ratio):  # t-test of mean(scratch' - ratio * transfer') = 0, by scipy
        return scipy_stats.ttest_1samp((scratch + 0.5) - ratio * (transfer + 0.5), 0.0).pvalue

    assert p_value(estimate.low) == pytest.approx(0.05, abs=1e-6)
    assert p_value(estimate.high) == pytest.approx(0.05, abs=1e-6)
    assert p_value(estimate.low * 0.99) < 0.05 < p_value(estimate.low * 1.01)
    assert p_value(estimate.high * 1.01) < 0.05 < p_value(estimate.high * 0.99)


def test_fieller_interval_is_unbounded_when_transfer_errors_vary_wildly():
    estimate = stats.error_ratio_estimate([50, 60, 55], [0, 1, 40])
    assert not estimate.bounded and estimate.low == 0.0 and estimate.high == math.inf
    assert "unbounded" in stats.interval_text(estimate, ".2f")


# ---- the signed-rank test: exact with zeros and ties ----

def brute_force_p(differences) -> float:
    """Two-sided signed-rank p by enumerating every sign pattern of the non-zero pairs (midranks for ties)."""
    d = np.asarray(differences, dtype=float)
    nonzero = d[d != 0]
    ranks = scipy_stats.rankdata(np.abs(nonzero))
    center, observed = ranks.sum() / 2, ranks[nonzero > 0].sum()
    patterns = np.array(list(itertools.product([0.0, 1.0], repeat=len(nonzero))))
    return float(np.mean(np.abs(patterns @ ranks - center) >= abs(observed - center) - 1e-9))


@pytest.mark.parametrize("differences", [
    [0.05, 0.05, -0.1, 0.1, 0.15, 0.0, 0.0, -0.05, 0.2, 0.2],
    [1.0, 1.0, 1.0, -1.0, 2.0, 2.0, 3.0],
    [0.5, -0.5, 0.5, -0.5, 0.0],
    list(np.round(np.random.default_rng(7).normal(0.2, 0.3, 12), 1)),  # rounding makes ties and zeros
])
def test_wilcoxon_with_zeros_and_ties_matches_brute_force(differences):
    assert stats.wilcoxon_test(differences).p_value == pytest.approx(brute_force_p(differences), abs=1e-12)


def test_wilcoxon_without_ties_matches_scipys_exact_method():
    rng = np.random.default_rng(3)
    for n in (6, 10, 18, 25):
        d = rng.normal(0.3, 1.0, n)
        expected = scipy_stats.wilcoxon(d, method="exact").pvalue
        assert stats.wilcoxon_test(d).p_value == pytest.approx(expected, rel=1e-9)


def test_ten_ties_and_five_wins_never_print_p_below_its_own_minimum():
    result = stats.wilcoxon_test(TEN_TIES_FIVE_WINS)
    assert result.n_nonzero == 5 and result.p_value == pytest.approx(2 / 2**5)  # exact: 0.0625, not 0.043
    assert result.p_value >= 0.0625 and "p >= 0.0625" in result.reason
    assert not result.significant


def test_wilcoxon_small_cases_by_hand():
    zero = stats.wilcoxon_test([0.0, 0.0, 0.0])
    assert zero.p_value is None and "same accuracy" in zero.reason
    tiny = stats.wilcoxon_test([1.0, 2.0, 3.0])
    assert tiny.p_value == pytest.approx(0.25)  # exact: 2 of the 8 sign patterns are as extreme
    assert "too few seeds" in tiny.reason and "0.25" in tiny.reason
    # Ranks 1, 2, 3: R+ = 1 + 3 = 4, R- = 2; ranks favour B on A.
    mixed = stats.wilcoxon_test([1.0, -2.0, 3.0])
    assert (mixed.r_plus, mixed.r_minus, mixed.direction) == (4.0, 2.0, 1)


def test_signed_rank_null_is_a_symmetric_distribution():
    null = stats.signed_rank_null([2, 5, 5, 8])  # doubled midranks 1, 2.5, 2.5, 4 (|d| = 1, 2, 2, 3)
    assert null.sum() == pytest.approx(1.0) and null == pytest.approx(null[::-1])
    # 2 R+ = 0: no positive pair; 5: either tied pair alone; 10: both tied pairs, or the other two.
    assert (null[0], null[5], null[10]) == pytest.approx((1 / 16, 2 / 16, 2 / 16))


def test_wins_ties_losses():
    assert stats.wins_ties_losses([0.5, 0.0, -0.5, 1.0, 0.0]) == (2, 2, 1)


# ---- best of k ----

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


# ---- the verdict ----

def test_small_wins_and_large_losses_are_not_a_reliable_loss():
    summary = stats.summarize(*as_accuracies(SMALL_WINS_LARGE_LOSSES))
    # By hand: mean (26 * 0.5 - 60) / 30 = -1.567; median +0.468; R+ = 1 + ... + 26 = 351, R- = 114.
    assert summary.mean_difference.value == pytest.approx(-47 / 30)
    assert summary.median_difference == pytest.approx(0.468)
    assert (summary.wilcoxon.r_plus, summary.wilcoxon.r_minus) == (351.0, 114.0)
    assert summary.verdict.kind == "mixed" and summary.verdict.direction == 0
    assert "Reliable" not in summary.verdict.text
    assert "pulled down by 4 losing seeds" in summary.verdict.text
    assert "most seeds win (26 of 30" in summary.verdict.text
    assert "median difference (points): +0.47" in stats.summary_lines(summary)


def test_an_interval_below_zero_against_a_test_for_a_gain_is_mixed():
    # What the old bootstrap interval said for the example: below 0, while the ranks say gain.
    below_zero = stats.Estimate(-1.57, -4.26, -0.07)
    ranks_for_gain = stats.WilcoxonResult(0.0137, 30, "", r_plus=351.0, r_minus=114.0)
    result = stats.verdict(SMALL_WINS_LARGE_LOSSES, below_zero, ranks_for_gain)
    assert result.kind == "mixed" and result.text.startswith("Mixed evidence")
    assert "signed ranks favour B on A" in result.text


def test_verdict_kinds():
    d = np.linspace(0.2, 0.8, 20)
    gain = stats.WilcoxonResult(0.001, 20, "", r_plus=210.0, r_minus=0.0)
    loss = stats.WilcoxonResult(0.001, 20, "", r_plus=0.0, r_minus=210.0)
    weak = stats.WilcoxonResult(0.25, 3, "only 3 seeds differ", r_plus=6.0, r_minus=0.0)
    reliable = stats.verdict(d, stats.Estimate(0.5, 0.2, 0.8), gain)
    assert (reliable.kind, reliable.direction) == ("reliable", 1)
    assert reliable.text.startswith("Reliable gain of 0.50 points for B on A (95% CI +0.20 to +0.80 points, 20 seeds)")
    assert stats.verdict(-d, stats.Estimate(-0.5, -0.8, -0.2), loss).text.startswith("Reliable loss of 0.50 points")
    tentative = stats.verdict(d, stats.Estimate(1.8, 1.5, 2.0), weak)
    assert (tentative.kind, tentative.direction) == ("tentative", 1) and tentative.text.startswith("Tentative gain")
    test_only = stats.verdict(d, stats.Estimate(0.3, -0.1, 0.7), gain)
    assert (test_only.kind, test_only.direction) == ("tentative", 1) and "includes 0" in test_only.text
    nothing = stats.verdict(d, stats.Estimate(0.3, -0.1, 0.7), weak)
    assert nothing.kind == "none" and nothing.text.startswith("No reliable difference: over 20 seeds")
    leaning_the_other_way = stats.WilcoxonResult(0.2, 30, "", r_plus=280.0, r_minus=185.0)
    mixed = stats.verdict(SMALL_WINS_LARGE_LOSSES, stats.Estimate(-1.57, -3.0, -0.2), leaning_the_other_way)
    assert mixed.kind == "mixed" and "signed ranks lean towards B on A (signed-rank p = 0.2)" in mixed.text


def test_verdict_says_what_it_speaks_for():
    scope = "for this model A (seed 42) and this test set"
    summary = stats.summarize(*as_accuracies([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), scope=scope)
    assert summary.verdict.text.startswith(f"Reliable gain of 3.50 points for B on A, {scope} (95% CI")


def test_summarize_on_numbers_worked_by_hand():
    # d = 1..6 points: mean 3.5, sd sqrt(3.5), t(5) = 2.570582 -> half-width 1.963314; all six win.
    summary = stats.summarize(*as_accuracies([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
    assert summary.differences.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    mean = summary.mean_difference
    assert (mean.value, mean.low, mean.high) == pytest.approx((3.5, 1.536686, 5.463314), abs=1e-6)
    assert summary.median_difference == 3.5 and summary.interquartile_mean.value == pytest.approx(3.5)
    assert summary.wilcoxon.p_value == pytest.approx(2 / 64)  # all 6 positive: 2 of 64 patterns
    assert (summary.wins, summary.ties, summary.losses) == (6, 0, 0)
    assert summary.win_share.low == pytest.approx(0.025 ** (1 / 6))
    # Errors of 2,000: scratch 200 every seed, transfer 180, 160, ..., 80 (mean 130): 200.5 / 130.5.
    assert summary.error_ratio.value == pytest.approx(200.5 / 130.5)
    assert summary.verdict.kind == "reliable" and summary.best_of_k.quantiles.shape == (6, len(stats.QUANTILES))
    lines = stats.summary_lines(summary)
    assert lines[0] == "seeds: 6" and lines[-1].startswith("verdict: Reliable gain of 3.50 points")
    assert ("share of seeds where B on A wins (ties count as not winning): 6 of 6 = 1.00 "
            "(95% CI 0.54 to 1.00, exact Clopper-Pearson)") in lines
    assert summary.coverage_caveat.startswith("With 6 seeds") and lines[-2] == f"note: {summary.coverage_caveat}"


def test_book_single_gain_is_exactly_205_points():
    summary = stats.summarize([0.972, 0.972], [0.9925, 0.9925])
    assert summary.differences.tolist() == [2.05, 2.05]
    assert summary.best_of_k.k_for_target == 1


# ---- coverage: do the "95%" intervals hold 95%? (the full table: python -m bench.stats_coverage) ----

SIMULATED = 10_000  # data sets per case: binomial standard error of a coverage near 0.9 is 0.003
SIZES = (3, 5, 10, 20)


def test_intervals_cover_95_percent_for_normal_differences():
    rng = np.random.default_rng(11)
    for n in SIZES:
        assert 0.93 <= stats_coverage.mean_coverage("normal", n, SIMULATED, rng) <= 0.97, n
        assert 0.93 <= stats_coverage.interquartile_mean_coverage("normal", n, SIMULATED, rng) <= 0.97, n


def test_coverage_for_skewed_differences_is_what_the_page_says():
    rng = np.random.default_rng(12)
    for n in SIZES:
        mean = stats_coverage.mean_coverage("exponential", n, SIMULATED, rng)
        assert mean == pytest.approx(stats.skewed_coverage("mean", n), abs=0.015), n
        iqm = stats_coverage.interquartile_mean_coverage("exponential", n, SIMULATED, rng)
        assert iqm == pytest.approx(stats.skewed_coverage("interquartile mean", n), abs=0.015), n
        rare = stats_coverage.mean_coverage("rare large losses", n, SIMULATED, rng)
        assert rare == pytest.approx(stats.RARE_LOSSES_COVERAGE[n], abs=0.015), n
    # Lognormal(0, 1), as the SKEWED_COVERAGE comment states: 0.84 at 3 seeds, 0.87 at 20.
    assert stats_coverage.mean_coverage("lognormal", 3, SIMULATED, rng) == pytest.approx(0.84, abs=0.015)
    assert stats_coverage.mean_coverage("lognormal", 20, SIMULATED, rng) == pytest.approx(0.87, abs=0.015)
    # The page says so exactly where the mean's interval falls short, and stays quiet where it holds.
    assert "about 88%" in stats.coverage_caveat(3) and "about 92%" in stats.coverage_caveat(20)
    assert stats.coverage_caveat(50) == "" and stats.coverage_caveat(200) == ""
    assert stats.coverage_caveat(10, ("interquartile mean",)) == ""  # Yuen's 0.929 reads as 93%
    assert stats.coverage_caveat(5, ("interquartile mean",)).endswith("it covers about 92% (measured by simulation).")


def test_error_ratio_interval_covers_95_percent():
    rng = np.random.default_rng(13)
    for n in SIZES:
        assert 0.93 <= stats_coverage.error_ratio_coverage("poisson", n, SIMULATED, rng) <= 0.97, n
        # Overdispersed counts: few seeds often leave the interval unbounded, so it covers more, never less.
        assert 0.93 <= stats_coverage.error_ratio_coverage("overdispersed", n, SIMULATED, rng) <= 0.99, n


def test_win_share_interval_covers_at_least_95_percent_for_every_true_share():
    for n in SIZES:  # exact: every win count weighed by its binomial probability, p = 0.01 ... 0.99
        coverage = stats_coverage.win_share_coverage(n)
        assert coverage.min() >= 0.95, n


# ---- bad inputs ----

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
    with pytest.raises(ValueError) as error:
        stats.summarize(scratch, transfer)
    assert fragment in str(error.value)


@pytest.mark.parametrize("call, fragment", [
    (lambda: stats.t_interval([1.0]), "at least 2 seeds"),
    (lambda: stats.t_interval([1.0, 2.0], confidence=95), "between 0 and 1"),
    (lambda: stats.clopper_pearson_interval(4, 3), "between 0 and the number of trials"),
    (lambda: stats.fieller_interval([1.0, 2.0], [1.0, 2.0, 3.0]), "pair up"),
    (lambda: stats.signed_rank_null([1.5, 2]), "positive whole numbers"),
    (lambda: stats.skewed_coverage("median", 5), "No coverage measured"),
])
def test_bad_arguments_are_sentences(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()


def test_the_books_figures_are_its_two_accuracies_worked_out_by_hand():
    """97.2% and 99.25% of 2,000 test images: 56 and 15 errors, +2.05 points, a ratio of 3.73 ("a factor of 4")."""
    from core import book

    assert (book.SCRATCH_ERRORS, book.TRANSFER_ERRORS) == (56, 15)
    assert book.GAIN_POINTS == 2.05 and stats.BOOK_GAIN_POINTS == 2.05
    assert round(book.ERROR_RATIO, 2) == 3.73


# ---- picking among many arms: Holm's adjustment ----

def test_holm_adjusted_by_hand():
    # Sorted: 0.005 x 4 = 0.02; 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04, raised to 0.06 (monotone).
    adjusted = stats.holm_adjusted([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02], abs=1e-12)
    assert stats.holm_adjusted([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # 0.5 x 2 = 1.0: capped, never above 1
    assert stats.holm_adjusted([0.3, 0.9, 0.8]) == pytest.approx([0.9, 1.0, 1.0])
    assert stats.holm_adjusted([0.02]) == pytest.approx([0.02])  # one comparison: nothing to correct
    assert stats.holm_adjusted([0.01, 0.01]) == pytest.approx([0.02, 0.02])


def test_holm_adjusted_leaves_nan_out_of_the_count():
    adjusted = stats.holm_adjusted([0.01, np.nan, 0.04])
    assert np.isnan(adjusted[1])
    assert adjusted[[0, 2]] == pytest.approx([0.02, 0.04])  # m = 2, not 3
    assert np.isnan(stats.holm_adjusted([np.nan, np.nan])).all()
    assert stats.holm_adjusted([]).shape == (0,)


def test_holm_adjusted_is_holms_step_down_procedure_at_every_level():
    """The adjusted p-value is the smallest level at which Holm's procedure rejects: reject the smallest p while
    p_(i) <= alpha / (m - i + 1), stop at the first that is not. Checked at many levels on random p-values."""
    rng = np.random.default_rng(4)
    for _ in range(200):
        m = int(rng.integers(1, 9))
        p = rng.random(m) ** 3  # many small ones, so several get rejected
        adjusted = stats.holm_adjusted(p)
        order = np.argsort(p)
        assert np.all(adjusted >= p) and np.all(adjusted <= 1)
        assert np.all(np.diff(adjusted[order]) >= 0)  # monotone in p
        for alpha in rng.random(5) * 0.2:
            rejected = set()
            for rank, index in enumerate(order):
                if p[index] > alpha / (m - rank):
                    break
                rejected.add(int(index))
            assert rejected == set(np.flatnonzero(adjusted <= alpha).tolist())


# ---- the lab's one meaning of "reliable" ----

def test_reliable_direction_for_a_clear_gain_and_a_clear_loss():
    gain = np.array([1.0, 1.2, 0.9, 1.1, 1.3, 1.05, 0.95])  # 7 wins of 7: signed-rank p = 2 / 128
    assert stats.reliable_direction(gain) == 1
    assert stats.reliable_direction(-gain) == -1


def test_three_seeds_can_exclude_zero_but_are_never_reliable():
    d = [1.0, 1.1, 1.2]
    mean = stats.mean_difference_estimate(d)
    assert mean.low > 0  # by hand: 1.1 +- 4.303 x 0.1 / sqrt(3) = 0.85 to 1.35
    assert stats.wilcoxon_test(d).p_value == pytest.approx(0.25)  # the exact test's floor at 3 seeds: 2 / 2^3
    assert stats.reliable_direction(d) == 0
    assert stats.reliable_direction([-x for x in d]) == 0
    assert stats.summarize(*as_accuracies(d)).verdict.kind == "tentative"


def test_reliable_direction_is_zero_for_noise_and_for_mixed_evidence():
    assert stats.reliable_direction([1.0, -1.0, 0.5, -0.5, 0.2, -0.3]) == 0
    assert stats.reliable_direction(SMALL_WINS_LARGE_LOSSES) == 0  # the ranks say gain, the mean says loss
    assert stats.reliable_direction(TEN_TIES_FIVE_WINS) == 0  # 5 differing seeds: p >= 1/16


def test_reliable_direction_agrees_with_the_verdict_and_with_scipy():
    """+1 / -1 exactly when the verdict says "reliable" (in that direction), and exactly when scipy's t-interval
    excludes 0 on that side and scipy's exact signed-rank test gives p < 0.05 with the ranks on that side."""
    rng = np.random.default_rng(5)
    seen = {-1: 0, 0: 0, 1: 0}
    for _ in range(300):
        n = int(rng.integers(3, 16))
        d = rng.normal(rng.choice([-1.0, -0.4, 0.0, 0.4, 1.0]), 1.0, n)
        direction = stats.reliable_direction(d)
        seen[direction] += 1
        summary = stats.summarize(*as_accuracies(d, base=0.5))
        assert direction == (summary.verdict.direction if summary.verdict.kind == "reliable" else 0)
        low, high = scipy_stats.ttest_1samp(d, 0.0).confidence_interval(0.95)
        interval_side = 1 if low > 0 else -1 if high < 0 else 0
        test = scipy_stats.wilcoxon(d, method="exact")
        ranks = scipy_stats.rankdata(np.abs(d))
        rank_side = int(np.sign(ranks[d > 0].sum() - ranks[d < 0].sum()))
        expected = interval_side if interval_side and test.pvalue < 0.05 and rank_side == interval_side else 0
        assert direction == expected
    assert min(seen.values()) >= 20  # every outcome happened often enough to be tested
