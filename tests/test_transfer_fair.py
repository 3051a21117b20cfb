"""core.transfer.fair: both arms search one grid in one engine call, each seed's rate is picked on validation (never
on test), the per-copy rates reach the engine, the book's untuned arms come out of the same call unchanged."""

import dataclasses

import numpy as np
import pytest

from core import engine, store, transfer
from core.runs import tuning
from core.transfer import fair

TINY = transfer.PROTOCOLS["tiny"]
ONE_IMAGE = 1.5 / TINY.n_eval  # float32 sums in another order may flip an image on the 0.5 threshold, no more


@pytest.fixture
def phases_seen(monkeypatch):
    """Every engine.train call: (output activation, seeds, [(epochs, per-copy rates, per-copy frozen counts)])."""
    calls, original = [], engine.train

    def spying(config, data, phases, seeds, *args, **kwargs):
        n_layers = len(config.hidden_units) + 1
        calls.append((config.output_activation, tuple(seeds),
                      [(phase.epochs, phase.learning_rates(len(seeds)).tolist(),
                        phase.frozen_counts(n_layers, len(seeds)).tolist()) for phase in phases]))
        return original(config, data, phases, seeds, *args, **kwargs)

    monkeypatch.setattr(engine, "train", spying)
    return calls


def test_the_pick_is_the_best_on_validation_not_on_test():
    # seed 0: best on test is the 2nd rate, best on validation the 1st; seed 1: a diverged candidate (NaN) and a tie
    grid = (0.001, 0.01, 0.1)
    scratch = tuning.Search(grid, np.array([[0.90, 0.80, 0.70], [np.nan, 0.85, 0.85]]),
                            np.array([[0.80, 0.95, 0.70], [0.99, 0.60, 0.90]]))
    reused = tuning.Search(grid, np.array([[0.5, 0.6, 0.7], [0.9, 0.9, 0.9]]),
                           np.array([[0.9, 0.8, 0.6], [0.7, 0.8, 0.9]]))
    rows = fair.seed_rows(scratch, reused, book_scratch=[0.5, 0.5], book_transfer=[0.6, 0.6], n_test=100)
    assert [row["scratch_search"]["picked_rate"] for row in rows] == [0.001, 0.01]  # NaN never, tie -> smaller
    assert [row["scratch_test_accuracy"] for row in rows] == [0.80, 0.60]  # not 0.95 and 0.99, the best on test
    assert [row["transfer_search"]["picked_rate"] for row in rows] == [0.1, 0.001]
    assert [row["transfer_test_accuracy"] for row in rows] == [0.6, 0.7]
    assert [row["scratch_test_errors"] for row in rows] == [20, 40]
    assert rows[0]["scratch_search"]["test"] == [0.80, 0.95, 0.70]  # every candidate kept, for the page


def test_both_arms_search_the_grid_in_one_call_and_the_per_copy_rates_reach_the_engine(fashion_mnist, results,
                                                                                        phases_seen):
    config = fair.FairComparison.tiny()
    rows = fair.run_fair(config, range(3), results)
    ratio = TINY.unfrozen_learning_rate / TINY.frozen_rate
    # model A once, then one call: 4 scratch candidates x 3 seeds, then 4 B-on-A candidates x 3 seeds
    assert [(activation, seeds) for activation, seeds, _ in phases_seen] == [
        ("softmax", (42,)), ("sigmoid", (0, 1, 2) * 8)]
    frozen_phase, unfrozen_phase = phases_seen[1][2]
    (frozen_epochs, frozen_rates, frozen_counts), (unfrozen_epochs, unfrozen_rates, unfrozen_counts) = (
        frozen_phase, unfrozen_phase)
    assert (frozen_epochs, unfrozen_epochs) == (TINY.frozen_epochs, TINY.unfrozen_epochs)
    grid_copies = [rate for rate in config.rates for _ in range(3)]
    np.testing.assert_allclose(frozen_rates, grid_copies + grid_copies, rtol=1e-6)
    np.testing.assert_allclose(unfrozen_rates, grid_copies + [rate * ratio for rate in grid_copies], rtol=1e-6)
    hidden = len(TINY.hidden_units)
    assert frozen_counts == [0] * 12 + [hidden] * 12 and unfrozen_counts == [0] * 24
    for row in rows:
        result = row.result
        assert result["scratch_search"]["rates"] == result["transfer_search"]["rates"] == list(config.rates)
        for arm in ("scratch", "transfer"):
            search = result[f"{arm}_search"]
            best = int(np.argmax(search["validation"]))  # by hand, from the stored candidate scores
            assert search["picked_rate"] == config.rates[best]
            assert result[f"{arm}_test_accuracy"] == search["test"][best]
            assert result[f"{arm}_test_accuracy"] == pytest.approx(1 - result[f"{arm}_test_errors"] / TINY.n_eval)
        assert result["transfer_unfrozen_rate"] == pytest.approx(result["transfer_search"]["picked_rate"] * ratio)


def test_a_candidate_equals_its_own_engine_run_at_that_rate(fashion_mnist, results):
    config, seed, rate = fair.FairComparison.tiny(vary_subset=False), 2, 0.03
    (row,) = [row.result for row in fair.run_fair(config, [seed], results)]
    _, b_config = transfer.engine_configs(TINY)
    tasks = transfer.protocol_tasks(TINY)
    b_data = transfer.task_b_data(tasks, tasks.x_train_b, tasks.y_train_b)
    scratch = engine.train(b_config, b_data, [engine.Phase(TINY.b_epochs, rate)], [seed], TINY.batch_size)
    a_config, _ = transfer.engine_configs(TINY)
    start = engine.transfer_weights(transfer.model_a_weights(TINY, [transfer.MODEL_A_SEED], results), a_config,
                                    b_config, [seed])
    reused = engine.train(b_config, b_data, [engine.Phase(TINY.frozen_epochs, rate, frozen_layers=-1),
                                             engine.Phase(TINY.unfrozen_epochs, rate * config.unfrozen_ratio)],
                          [seed], TINY.batch_size, initial=start)
    index = config.rates.index(rate)
    assert row["scratch_search"]["test"][index] == pytest.approx(float(scratch.test_accuracy[0]), abs=ONE_IMAGE)
    assert row["transfer_search"]["test"][index] == pytest.approx(float(reused.test_accuracy[0]), abs=ONE_IMAGE)
    assert row["scratch_search"]["validation"][index] == pytest.approx(float(scratch.val_accuracy[0, -1]),
                                                                       abs=ONE_IMAGE)


@pytest.mark.parametrize("rates, extra_copies", [(tuning.DEFAULT_RATES, (0, 0)), ((0.003, 0.03), (1, 1))])
def test_the_book_arms_equal_the_untuned_comparison(fashion_mnist, results, phases_seen, rates, extra_copies):
    """The book's rates (1e-3 for scratch, 0.01 then 1e-4 for B on A) are candidates of the default grid; with a
    grid that lacks them, they train as one extra copy per arm. Either way: the untuned comparison's numbers."""
    config = fair.FairComparison.tiny(rates=rates)
    assert config.copies_per_seed() == (len(rates) + extra_copies[0], len(rates) + extra_copies[1])
    fair_rows = fair.run_fair(config, range(3), results)
    assert len(phases_seen[-1][1]) == 3 * sum(config.copies_per_seed())
    book_rows = transfer.run_comparison(config.comparison, range(3), results)
    for ours, book in zip(fair_rows, book_rows):
        for arm in ("scratch", "transfer"):
            assert ours.result[f"book_{arm}_test_accuracy"] == pytest.approx(book.result[f"{arm}_test_accuracy"],
                                                                            abs=ONE_IMAGE)


def test_a_second_call_trains_nothing_and_the_rows_summarize_like_the_untuned_ones(fashion_mnist, results,
                                                                                   engine_calls):
    config = fair.FairComparison.tiny(rates=(0.001, 0.01))
    rows = fair.run_fair(config, range(3), results, chunk_size=2)
    assert engine_calls == [("softmax", (42,)), ("sigmoid", (0, 1) * 4), ("sigmoid", (2,) * 4)]
    engine_calls.clear()
    again = fair.run_fair(config, range(3), results)
    assert engine_calls == [] and [row.result for row in again] == [row.result for row in rows]
    assert results.finished_seeds(config.comparison) == set()  # its own store key: the book's rows untouched

    summary = fair.summarize_fair(config, rows)
    tuned = [(row.result["scratch_test_accuracy"], row.result["transfer_test_accuracy"]) for row in rows]
    plain = transfer.summarize_rows(rows, scope=config.verdict_scope())
    assert summary.fair.fair and summary.fair.summary.verdict.text == plain.verdict.text
    np.testing.assert_allclose(summary.fair.summary.differences, [100 * (t - s) for s, t in tuned])
    book = summary.book.summary
    np.testing.assert_allclose(book.scratch_acc, [row.result["book_scratch_test_accuracy"] for row in rows])
    np.testing.assert_allclose(book.transfer_acc, [row.result["book_transfer_test_accuracy"] for row in rows])
    assert [comparison.baseline for comparison in summary.comparisons] == [
        "B from scratch at 0.001 (the book's)", "B from scratch at 0.01 (B on A's frozen rate)",
        "B from scratch, tuned", "B from scratch, tuned"]
    at_frozen_rate = [row.result["scratch_search"]["test"][1] for row in rows]
    np.testing.assert_allclose(summary.comparisons[1].summary.scratch_acc, at_frozen_rate)
    assert "rates searched over 0.001, 0.01" in summary.fair.summary.verdict.text
    counts = summary.picked_counts()
    assert [sum(values) for values in counts.values()] == [3, 3]
    picked = [row.result["scratch_search"]["picked_rate"] for row in rows]
    assert counts["B from scratch"] == [picked.count(0.001), picked.count(0.01)]
    assert fair.picked_text(summary).startswith("B from scratch 0.001: ")
    assert {comparison.summary.verdict.kind for comparison in summary.comparisons} <= {"reliable", "tentative",
                                                                                     "mixed", "none"}


def test_pairs_and_one_model_a_per_seed(fashion_mnist, results, engine_calls):
    config = fair.FairComparison.tiny(rates=(0.01,), vary_a=True)
    fair.run_fair_pairs(config, range(3), results, pairs=[(5, 6), (0, 1)])
    assert engine_calls[0] == ("softmax", (0, 1, 2, 0, 1, 2))  # every pair's and seed's model A in one call
    assert [call[1] for call in engine_calls[1:]] == [(0, 1, 2) * 3] * 2  # the grid, plus the book's 1e-3 scratch
    for pair in ((5, 6), (0, 1)):
        rows = results.results(config.with_pair(pair))
        assert [row.result["a_seed"] for row in rows] == [0, 1, 2]
    cells = {cell.pair: cell for cell in transfer.pair_cells(config, range(3), results)}
    assert cells[(0, 1)].n_seeds == 3 and np.isfinite(cells[(0, 1)].mean_gain) and cells[(2, 3)].n_seeds == 0


def test_configs_check_their_grid_and_keep_the_book_keys():
    with pytest.raises(ValueError, match="at most 10"):
        fair.FairComparison.tiny(rates=(0.01, 50.0))
    config = fair.FairComparison(transfer.ComparisonConfig(transfer.PROTOCOLS["book"]), rates=(0.03, 0.001, 0.01))
    assert config.rates == (0.001, 0.01, 0.03) and config.copies_per_seed() == (3, 3)
    assert store.config_key(config) != store.config_key(config.comparison)
    assert store.config_key(dataclasses.replace(config, rates=(0.001, 0.01))) != store.config_key(config)
    assert config.verdict_scope().startswith(config.comparison.verdict_scope())
    assert transfer.job_key("fair", config, [0, 1])[:2] == ("transfer", "fair")


def test_arms_of_different_lengths_train_in_two_calls_with_the_same_numbers(fashion_mnist, results, phases_seen):
    protocol = dataclasses.replace(TINY, b_epochs=TINY.total_b_epochs - 1)  # model A unchanged: same ModelAConfig
    config = fair.FairComparison(transfer.ComparisonConfig(protocol), rates=(0.001, 0.03))
    fair_rows = fair.run_fair(config, range(3), results)
    assert [(seeds, [epochs for epochs, _, _ in phases]) for _, seeds, phases in phases_seen[1:]] == [
        ((0, 1, 2) * 2, [protocol.b_epochs]), ((0, 1, 2) * 3, [protocol.frozen_epochs, protocol.unfrozen_epochs])]
    book_rows = transfer.run_comparison(config.comparison, range(3), results)
    for ours, book in zip(fair_rows, book_rows):
        for arm in ("scratch", "transfer"):
            assert ours.result[f"book_{arm}_test_accuracy"] == pytest.approx(book.result[f"{arm}_test_accuracy"],
                                                                            abs=ONE_IMAGE)
