"""core.reuse's verdicts on stored rows, without training: rows written by hand, so each test knows the answer.

Each builder below states its data; the tests check that a verdict says only what its own interval and signed-rank
test say (holds / contradicted / no reliable difference), that every comparison is like with like (same-rate cells
for "unfreeze one or two"; each reduced rate against the same cell at the same rate), and that B from scratch is
tuned on validation, never on the test set."""

import re

import numpy as np
import pytest

from core import reuse, stats, transfer
from core.reuse import rules
from core.reuse import summary as summary_module
from core.runs import tuning

TINY = transfer.PROTOCOLS["tiny"]  # two hidden layers: cells r = 1, 2; frozen rate 0.01; 3 epochs
RATES = tuning.DEFAULT_RATES


def _store(results, sizes, accuracy, n_seeds: int = 8, scratch=None, protocol=TINY):
    """Save one row per size and seed: each cell's (validation, test) accuracy = accuracy(size, cell, seed) (a
    number: both); B from scratch's candidates scratch(size, seed) -> (validation, test) lists over RATES (default
    every rate at 0.9 on both). Returns the summary of those seeds."""
    for size in sizes:
        grid = reuse.ReuseGrid(protocol, size)
        for seed in range(n_seeds):
            validation, test = scratch(size, seed) if scratch else ([0.9] * len(RATES), [0.9] * len(RATES))
            search = tuning.Search(RATES, np.array([validation]), np.array([test]))
            row = {"n_test": 2000, "n_valid": 1000, "subset_seed": seed, "a_seed": 42,
                   "scratch_search": search.row(0)}
            for cell in grid.cells:
                value = accuracy(size, cell, seed)
                row[f"{cell.key}_val_accuracy"], row[f"{cell.key}_test_accuracy"] = (
                    value if isinstance(value, tuple) else (value, value))
            results.save(grid, seed, row)
    return reuse.summarize_grid(protocol, sizes, range(n_seeds), results)


def _spread(seed: int) -> float:
    """A seed-to-seed spread of up to 0.1 point around 0 (so intervals have a width)."""
    return (seed % 4 - 1.5) / 15


def _jitter(seed: int, cell, size: int) -> float:
    """Up to 0.04 point that differs by seed, cell and size (so differences between cells have a spread too)."""
    return 0.02 * ((seed * 7 + cell.reused * 3 + cell.unfrozen + size // 20) % 5 - 2)


def _alternating(seed: int, cell) -> float:
    """Noise whose differences between any two cells flip sign from seed to seed with equal size: mean exactly 0
    over an even number of seeds, signed-rank p = 1. Points."""
    return (-1) ** seed * (cell.reused + 2 * cell.unfrozen + np.log10(cell.reduction)) / 3


def _verdicts(summary, rule):
    return [verdict for verdict in summary.verdicts if verdict.rule == rule]


def test_more_data_contradicted_when_its_growth_interval_says_so_even_if_the_best_u_rises(results):
    """The best same-rate cell on validation goes from u = 0 (reuse 1, frozen) at n = 20 to u = 1 at n = 60, a
    rising trend; but unfreezing all rather than none gains 3 points at 20 and 1 at 60: reliably less with more
    data. The status follows the interval: contradicted, never "holds" or "partly"."""
    def accuracy(size, cell, seed):
        gains = {20: {(1, 0): 5.0, (2, 2): 3.0}, 60: {(2, 1): 5.0, (2, 2): 1.0}}[size]
        gain = gains.get((cell.reused, cell.unfrozen), 0.0) if cell.reduction == 1 else -2.0
        return 0.9 + (gain + _spread(seed) + _jitter(seed, cell, size)) / 100
    summary = _store(results, (20, 60), accuracy)
    [verdict] = _verdicts(summary, rules.MORE_DATA_MORE_LAYERS)
    assert verdict.status == rules.CONTRADICTED and verdict.size is None
    assert re.search(r"gains -\d\.\d\d points \(95% CI -\d\.\d\d to -\d\.\d\d; signed-rank p = 0\.00", verdict.text)
    assert "more at n = 60 than at n = 20" in verdict.text and "u = 0, 1 at n = 20, 60" in verdict.text


def test_no_evidence_is_no_reliable_difference_not_contradicted(results):
    summary = _store(results, (20, 60), lambda size, cell, seed: 0.9 + _alternating(seed, cell) / 100)
    assert summary.verdicts and {verdict.status for verdict in summary.verdicts} == {rules.NO_DIFFERENCE}
    assert len(summary.verdicts) == 2 + 1 + 2 * 2 + 1 + 1  # rule 1 per size, 2, 3 per reduction and size, 4, 5


def test_unfreezing_one_or_two_compares_same_rate_cells_only(results):
    """Same-rate u = 1, 2 gain 1 point over all frozen; the lower-rate cells lose 5: the rule holds (the lower-rate
    cells are not its comparison). Then the reverse: no same-rate effect, lower rates +5: no reliable difference."""
    def helps_at_same_rate(size, cell, seed):
        gain = {1: 1.0 * (cell.unfrozen > 0)}.get(cell.reduction, -5.0 * (cell.unfrozen > 0))
        return 0.9 + (gain + _spread(seed)) / 100
    summary = _store(results, (20, 60), helps_at_same_rate)
    verdicts = _verdicts(summary, rules.UNFREEZE_ONE_OR_TWO)
    assert [(v.size, v.status) for v in verdicts] == [(20, rules.HOLDS), (60, rules.HOLDS)]
    assert "at the same rate (0.01" in verdicts[0].text and "+1.00 points" in verdicts[0].text


def test_unfreezing_one_or_two_ignores_lower_rate_gains(results):
    def helps_at_lower_rates(size, cell, seed):
        gain = 5.0 * (cell.unfrozen > 0) if cell.reduction > 1 else 0.0
        return 0.9 + (gain + _alternating(seed, cell)) / 100
    summary = _store(results, (20,), helps_at_lower_rates)
    assert [v.status for v in _verdicts(summary, rules.UNFREEZE_ONE_OR_TWO)] == [rules.NO_DIFFERENCE]


def test_each_reduced_rate_against_the_same_cell_at_the_same_rate_separately(results):
    """10x lower: +1 point over the same cell at the same rate (holds); 100x lower: -1 (contradicted)."""
    def accuracy(size, cell, seed):
        gain = {1: 0.0, 10: 1.0, 100: -1.0}[cell.reduction] + 0.3 * cell.reused
        return 0.9 + (gain + _spread(seed)) / 100
    summary = _store(results, (20, 60), accuracy)
    verdicts = _verdicts(summary, rules.REDUCE_THE_RATE)
    assert [(v.variant, v.size, v.status) for v in verdicts] == [
        ("10x lower", 20, rules.HOLDS), ("10x lower", 60, rules.HOLDS),
        ("100x lower", 20, rules.CONTRADICTED), ("100x lower", 60, rules.CONTRADICTED)]
    assert "(0.001 instead of 0.01)" in verdicts[0].text and "(0.0001 instead of 0.01)" in verdicts[2].text
    assert "reliably better in 3, reliably worse in 0" in verdicts[0].text  # the 3 cells that unfreeze (u > 0)
    assert "reliably better in 0, reliably worse in 3" in verdicts[2].text
    assert "also trains less" in verdicts[2].text


def test_every_text_ends_with_its_scope_and_every_status_is_one_word_of_the_list(results):
    summary = _store(results, (20, 60), lambda size, cell, seed: 0.9 + (cell.unfrozen + _spread(seed)) / 100)
    for verdict in summary.verdicts:
        assert verdict.status in rules.STATUSES
        sizes = "20" if verdict.size == 20 else "60" if verdict.size == 60 else "20, 60"
        assert verdict.text.endswith(f"Scope: this pair (Shirt vs Sandal), this model A (seed 42), 3 epochs, "
                                     f"n = {sizes}, 8 seeds."), verdict.text
    table = reuse.verdict_rows(summary)
    assert [row["rule"] for row in table] == [rules.UNFREEZE_ONE_OR_TWO, rules.MORE_DATA_MORE_LAYERS,
                                              rules.REDUCE_THE_RATE + " (10x lower)",
                                              rules.REDUCE_THE_RATE + " (100x lower)", rules.DROP_THE_TOP,
                                              rules.LITTLE_DATA]
    assert table[0]["n = 20"] in rules.STATUSES and table[0]["across sizes"] == ""
    assert table[1]["across sizes"] in rules.STATUSES and table[1]["n = 20"] == ""


def test_fewer_than_six_seeds_or_one_size_say_so(results):
    """With 5 seeds no signed-rank p can reach 0.05: "too few seeds", whatever the interval; one size cannot show
    a trend over sizes: "needs two sizes"."""
    summary = _store(results, (20,), lambda size, cell, seed: 0.9 + (5 * cell.unfrozen + _spread(seed)) / 100,
                     n_seeds=5)
    statuses = {(v.rule, v.status) for v in summary.verdicts}
    assert (rules.UNFREEZE_ONE_OR_TWO, rules.TOO_FEW_SEEDS) in statuses
    assert (rules.MORE_DATA_MORE_LAYERS, rules.NEEDS_TWO_SIZES) in statuses
    assert (rules.LITTLE_DATA, rules.NEEDS_TWO_SIZES) in statuses


def test_scratch_is_tuned_on_validation_not_on_the_test_set(results):
    """B from scratch's candidates: 0.003 best on validation, 0.03 best on test. The tuned baseline is each seed's
    test accuracy at 0.003; the cells' rate (0.01) is read on its own; gains are against the tuned one."""
    def scratch(size, seed):
        return [0.90, 0.95, 0.93, 0.91], [0.90 + seed / 1000, 0.92, 0.93, 0.97]

    summary = _store(results, (20,), lambda size, cell, seed: 0.94 + _spread(seed) / 100, scratch=scratch)
    np.testing.assert_allclose(summary.scratch_tuned(20), 0.92)
    np.testing.assert_allclose(summary.scratch_at(20, 0.01), 0.93)
    assert summary.picked_rates(20) == {0.003: 8}
    result = summary.result(20, reuse.Cell(2, 0))
    np.testing.assert_allclose(result.differences, 2.0 + np.array([_spread(seed) for seed in range(8)]), atol=1e-9)
    assert result.gain.value == pytest.approx(2.0, abs=1e-9)
    assert result.gain_at_cells_rate.value == pytest.approx(1.0, abs=1e-9)
    assert summary.tuning_gain(20, 0.001).value == pytest.approx(100 * (0.92 - 0.9035), abs=1e-9)
    assert "B from scratch tuned on validation 92.00% (picked 0.003 x8), at the cells' 0.01 93.00%" in (
        "\n".join(reuse.summary_lines(summary)))


def test_the_best_cell_is_picked_on_validation(results):
    """Reuse 1, frozen: best on validation, worst on test; reuse 2, unfreeze 2: the reverse."""
    def accuracy(size, cell, seed):
        if (cell.reused, cell.unfrozen) == (1, 0):
            return 0.95, 0.90
        if (cell.reused, cell.unfrozen, cell.reduction) == (2, 2, 1):
            return 0.90, 0.95
        return 0.92, 0.92
    summary = _store(results, (20,), accuracy)
    assert summary.best[20] == reuse.Cell(1, 0)
    text = _verdicts(summary, rules.LITTLE_DATA)[0].text
    assert "picked from 11 cells on validation; verdict Holm-corrected for 11" in text
    assert "honest" not in text and "not inflated" not in text
    assert "verdict Holm-corrected for 11" in "\n".join(reuse.summary_lines(summary))


def _best_cell_gains(small_gain: float, large_gain: float):
    """Reuse 1, frozen gains `small_gain` points over tuned scratch at n = 20 and `large_gain` at n = 60 on every
    seed (with a spread), on validation and test alike, so it is the best cell at both sizes; every other cell's
    gain flips sign from seed to seed (mean 0)."""
    def accuracy(size, cell, seed):
        if (cell.reused, cell.unfrozen) == (1, 0):
            gain = (small_gain if size == 20 else large_gain) + _spread(seed) + _jitter(seed, cell, size)
        else:
            gain = _alternating(seed, cell) / 10
        return 0.9 + gain / 100
    return accuracy


def test_little_data_cannot_hold_when_holm_over_50_cells_cannot_find_the_best_cells_gain(results):
    """50 cells, 10 seeds: the best cell gains 5 points on every seed at n = 20 and 0.5 at n = 60, so the growth is
    reliable; but its signed-rank p, 2/1024, times 50 cells is above 0.05: not reliable after Holm, so the rule
    cannot hold, and the text says how many seeds Holm needs."""
    book = transfer.PROTOCOLS["book"]
    summary = _store(results, (20, 60), _best_cell_gains(5.0, 0.5), n_seeds=10, protocol=book)
    assert len(summary.cells_of(20)) == 50 and summary.best[20] == reuse.Cell(1, 0)
    assert stats.reliable_direction(summary.result(20, reuse.Cell(1, 0)).differences) == 1  # alone: reliable
    assert summary.holm_p[20, "r1_u0_same"] == pytest.approx(50 * 2 / 1024)
    assert reuse.holm_direction(summary, 20, reuse.Cell(1, 0)) == 0
    [verdict] = _verdicts(summary, rules.LITTLE_DATA)
    assert verdict.status == rules.NO_DIFFERENCE
    assert "With 10 seeds Holm over 50 cells cannot find a reliable gain; run 11 or more." in verdict.text
    assert "picked from 50 cells on validation; verdict Holm-corrected for 50" in verdict.text


def test_little_data_holds_with_enough_seeds_and_a_big_consistent_gain(results):
    """12 seeds: 2/4096 x 50 < 0.05, so the same gains make the best cell reliable after Holm and the rule holds."""
    summary = _store(results, (20, 60), _best_cell_gains(5.0, 0.5), n_seeds=12, protocol=transfer.PROTOCOLS["book"])
    assert reuse.holm_direction(summary, 20, reuse.Cell(1, 0)) == 1
    [verdict] = _verdicts(summary, rules.LITTLE_DATA)
    assert verdict.status == rules.HOLDS and "a reliable gain after Holm" in verdict.text
    assert "cannot find a reliable gain" not in verdict.text


def test_little_data_is_contradicted_by_a_reliably_smaller_gain_with_little_data(results):
    """Gains larger at n = 60 than at 20, reliably: contradicted, even with too few seeds for Holm at 20."""
    summary = _store(results, (20, 60), _best_cell_gains(0.5, 5.0), n_seeds=10, protocol=transfer.PROTOCOLS["book"])
    assert _verdicts(summary, rules.LITTLE_DATA)[0].status == rules.CONTRADICTED


def test_holm_keeps_only_the_cells_reliable_after_looking_at_all_of_them(results):
    """10 seeds. Reuse 2, unfreeze 2, same rate: +1 point on every seed (signed-rank p = 2/1024; x 11 cells, still
    below 0.05). Reuse 1, frozen: +1 on 8 seeds, -0.2 on 2: reliable alone (p = 10/1024), not after Holm (x 10)."""
    def accuracy(size, cell, seed):
        if (cell.reused, cell.unfrozen, cell.reduction) == (2, 2, 1):
            gain = 1.0 + _spread(seed)
        elif (cell.reused, cell.unfrozen) == (1, 0):
            gain = -0.2 - seed / 100 if seed < 2 else 1.0 + _spread(seed)
        else:
            gain = _alternating(seed, cell)
        return 0.9 + gain / 100
    summary = _store(results, (20,), accuracy, n_seeds=10)
    alone = summary.result(20, reuse.Cell(1, 0))
    assert stats.reliable_direction(alone.differences) == 1 and alone.p_value < 0.05
    assert summary.reliable_after_holm(20) == [reuse.Cell(2, 2)]
    assert summary.holm_p[20, "r2_u2_same"] == pytest.approx(11 * 2 / 1024)
    assert "1 of 11 cells reliably above tuned scratch after Holm's correction" in "\n".join(
        reuse.summary_lines(summary))
    assert summary_module.holm_seeds(11) == 9 and summary_module.holm_seeds(50) == 11  # 2/2^n x cells < 0.05


def test_heatmaps_per_rate(results):
    summary = _store(results, (20,), lambda size, cell, seed: 0.9 + (cell.unfrozen + np.log10(cell.reduction)
                                                                     + _spread(seed)) / 100)
    for reduction, expected in ((1, 1.0), (10, 2.0), (100, 3.0)):
        mean, low, high = summary.heatmap(20, reduction)
        assert mean.shape == (2, 3) and np.isnan(mean[0, 2]) and low[1, 1] < mean[1, 1] < high[1, 1]
        assert mean[1, 1] == pytest.approx(expected, abs=1e-9) and mean[1, 0] == pytest.approx(0, abs=1e-9)


def test_summary_needs_three_seeds_stored_for_every_size(results):
    _store(results, (20,), lambda size, cell, seed: 0.9, n_seeds=3)
    assert reuse.summarize_grid(TINY, (20,), range(3), results) is not None
    assert reuse.summarize_grid(TINY, (20, 60), range(3), results).sizes == (20,)  # 60 not stored yet
    assert reuse.summarize_grid(TINY, (60,), range(3), results) is None
