"""Every pretraining arm tuned alike (core.pretraining.tuned): the same candidate rates for every arm, each seed's
pick the argmax of its validation scores (never the test set's), the regime's single rate read from the same runs,
update counts from the training loops, the command line.

The tiny book comparison runs once per session, untuned and tuned, in one store (a few seconds each).
"""

import subprocess
import sys

import numpy as np
import pytest

from core import pretraining, stacked, stats, store
from core.pretraining import ARMS, FineTuning, tables, tuned
from core.pretraining.tuned import TunedFineTuning
from core.runs import tuning
from tests.conftest import ROOT

SEEDS = (0, 1, 2)


class RateSpy:
    """Records every classifier stacked.train call: its first layer's name, streams and per-copy learning rates."""

    def __init__(self):
        self.calls, self.original = [], stacked.train

    def __call__(self, objective, params, trainable, optimizer, data, streams, *args, **kwargs):
        if isinstance(objective, stacked.Classification):
            self.calls.append((objective.layers[0].name, len(objective.layers), np.asarray(streams).copy(),
                               tuple(kwargs.get("learning_rates") or ())))
        return self.original(objective, params, trainable, optimizer, data, streams, *args, **kwargs)


@pytest.fixture(scope="session")
def runs(fashion_mnist, tmp_path_factory):
    """The tiny book comparison for three seeds: at the single rate, then tuned (every training call recorded)."""
    folder = tmp_path_factory.mktemp("pretraining-tuned")
    results = store.Store(folder / store.DB_NAME)
    single = pretraining.fine_tune(FineTuning.tiny(), SEEDS, results)
    config, spy = TunedFineTuning.tiny(), RateSpy()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stacked, "train", spy)
        found = tuned.fine_tune(config, SEEDS, results)
    return {"folder": folder, "store": results, "single": single, "config": config, "found": found,
            "calls": spy.calls}


def test_default_grids_have_four_candidates_holding_each_regimes_rate():
    for regime in ("book", "today", "2006"):
        config = TunedFineTuning.preset(regime, 100)
        assert len(config.rates) == 4 and config.own_rate in config.rates
        assert config.rates == tuned.RATE_GRIDS[config.fine_tuning.optimizer]
    assert TunedFineTuning.preset("2006").rates == (0.03, 0.1, 0.3, 1.0)
    assert TunedFineTuning.preset("today").rates == (3e-4, 1e-3, 3e-3, 1e-2)


def test_tuned_config_has_its_own_store_key_and_leaves_the_books_rows_where_they_were():
    base = FineTuning.preset("2006", 100)
    # FineTuning's key, computed from the code before tuning existed: the book's untuned rows stay reachable
    assert store.config_key(base) == "7bc34196f960fec128bea71c9a78b50dd75fce52c5c353cac2afc90ab62a1e87"
    assert store.config_key(TunedFineTuning(base)) != store.config_key(base)
    assert store.config_key(TunedFineTuning(base)) != store.config_key(TunedFineTuning(base, (0.1, 0.3)))


@pytest.mark.parametrize("make, message", [
    (lambda: TunedFineTuning(FineTuning.preset("2006"), (0.01, 0.03)), "own rate 0.1"),
    (lambda: TunedFineTuning(FineTuning.preset("book"), tuple(10.0 ** -k for k in range(1, 11))), "at most 8"),
    (lambda: TunedFineTuning(FineTuning.preset("book"), (0.001, -1.0)), "above 0"),
    (lambda: tuned.default_grid("adam"), "No rate grid"),
])
def test_bad_grids_are_readable_value_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_every_arm_is_offered_the_same_candidate_rates(runs):
    """One stacked call per arm and chunk of seeds (10 copies at most: 2 seeds x 4 candidates, then 1), each copy at
    its candidate (candidate-major), the top arm at the config's 10x lower ratio; every candidate of a seed draws
    that seed's batches."""
    config, calls = runs["config"], runs["calls"]
    ratio = config.fine_tuning.unfrozen_learning_rate / config.fine_tuning.learning_rate
    arms = ("scratch", "fine_tune_all", "frozen", "frozen_then_top", "raw_pixels")
    assert len(calls) == 2 * len(arms)
    for chunk, chunk_calls in zip(((0, 1), (2,)), (calls[:len(arms)], calls[len(arms):])):
        _, rates = tuning.candidate_copies(chunk, config.rates)
        # scratch, fine-tune all: layer_1 up (3 layers); frozen: the output only; top: layer_2 up; raw pixels
        assert [(first, depth) for first, depth, _, _ in chunk_calls] == [
            ("layer_1", 3), ("layer_1", 3), ("output", 1), ("layer_2", 2), ("output", 1)]
        for (_, _, streams, offered), arm in zip(chunk_calls, arms):
            expected = tuple(rate * ratio for rate in rates) if arm == "frozen_then_top" else rates
            np.testing.assert_allclose(offered, expected, rtol=1e-12, err_msg=arm)
            assert len(streams) == len(chunk) * len(config.rates)
            for candidate in range(1, len(config.rates)):
                assert np.array_equal(streams[candidate * len(chunk):(candidate + 1) * len(chunk)],
                                      streams[:len(chunk)])
    for row in runs["store"].results(config):
        assert {tuple(row.result["search"][arm]["rates"]) for arm in ARMS} == {config.rates}


def test_each_seeds_pick_is_the_argmax_of_its_validation_scores(runs):
    """Hand-computed from the stored candidate scores: validation is each candidate's last curve point (validation
    images), the pick its argmax (first on ties), and the tuned test accuracy the test score at that pick."""
    config, found = runs["config"], runs["found"]
    rows = runs["store"].results(config)
    for seed_index, row in enumerate(rows):
        n_test = row.result["n_test"]
        for arm in ARMS:
            search = row.result["search"][arm]
            validation = [curve[-1] for curve in search["curves"]]
            np.testing.assert_allclose(search["validation"], validation)
            best = max(range(len(validation)), key=lambda c: (validation[c], -c))
            assert search["picked_rate"] == config.rates[best]
            assert row.result["test_correct"][arm] == round(search["test"][best] * n_test)
            assert found.tuned.arm(arm)[seed_index] == pytest.approx(search["test"][best], abs=0.5 / n_test)
            assert found.searches[arm].picked_rates[seed_index] == config.rates[best]
    assert found.picked_counts().sum(axis=1).tolist() == [len(SEEDS)] * len(ARMS)


def synthetic_runs(config, n_seeds):
    """ArmRuns whose validation and test scores disagree: seed 0 is best on validation at candidate 2 but on test
    at 3; seed 1 best on validation at 0, on test at 1, and its candidate 3 diverged (its high score is ignored)."""
    n_rates = len(config.rates)
    validation = np.array([[0.50, 0.60, 0.70, 0.65], [0.80, 0.60, 0.60, 0.99]])  # (n_seeds, n_candidates)
    test = np.array([[0.40, 0.50, 0.60, 0.90], [0.40, 0.95, 0.50, 0.30]])
    per_copy = lambda values: values.T.reshape(-1)  # noqa: E731  (n_seeds, n_candidates) -> candidate-major copies
    curves = np.zeros((n_rates * n_seeds, len(ARMS), 2), np.float32)
    curves[:, :, -1] = per_copy(validation)[:, None]
    diverged = np.zeros(n_rates * n_seeds, bool)
    diverged[3 * n_seeds + 1] = True  # seed 1 at candidate 3
    made = np.full(n_rates * n_seeds, 20)
    made[2 * n_seeds] = 17  # seed 0 at candidate 2 stopped short: the row must say so, whatever the config asked
    return pretraining.ArmRuns(np.repeat(per_copy(test)[:, None], len(ARMS), axis=1).astype(np.float32), curves,
                               np.zeros((n_rates * n_seeds, 0)), np.zeros((n_rates * n_seeds, 0, 0)),
                               {arm: made for arm in ARMS}, {arm: diverged for arm in ARMS}, 100, 1.0)


def test_the_pick_follows_validation_even_where_the_test_set_would_pick_otherwise(monkeypatch, tmp_path):
    config, seeds = TunedFineTuning.tiny(), (7, 8)
    monkeypatch.setattr(tuned, "train_arms", lambda *args, **kwargs: synthetic_runs(config, len(seeds)))
    rows = tuned._tuned_chunk(config, None, seeds, None, None)
    results = store.Store(tmp_path / store.DB_NAME)
    for seed, row in rows.items():
        results.save(config, seed, row)
    found = tuned.load(config, seeds, results)
    for arm in ARMS:
        assert found.searches[arm].picks.tolist() == [2, 0]  # best on validation; the diverged 0.99 is never picked
        np.testing.assert_allclose(found.tuned.arm(arm), [0.60, 0.40])  # not the test set's best, 0.90 and 0.95
        np.testing.assert_allclose(found.single.arm(arm), [0.50, 0.95])  # every seed at the regime's 1e-3
        assert [rows[seed]["search"][arm]["picked_rate"] for seed in seeds] == [config.rates[2], config.rates[0]]
        assert rows[7]["updates"][arm] == [20, 20, 17, 20]
    assert rows[8]["diverged"] == [f"{arm} at {config.rates[3]:g}" for arm in ARMS]


def test_single_rate_arms_are_the_untuned_protocol_from_the_same_runs(runs):
    """The regime's rate is one candidate: every arm at it equals the untuned comparison (same seeds, batches)."""
    single, found = runs["single"], runs["found"]
    np.testing.assert_allclose(found.single.test_accuracy, single.test_accuracy, atol=1 / single.n_test + 1e-9)
    np.testing.assert_allclose(found.single.curves, single.curves, atol=1e-6)
    assert found.tuned.pitfall_accuracy.shape == (len(SEEDS), 0)  # the diagnostics are not run tuned


def test_update_counts_are_what_the_training_loops_made(runs, monkeypatch):
    """Rows count updates from TrainResult.steps: every candidate of every arm made `updates`; a top arm fed fewer
    batches than its config asks for is stored with that many fewer."""
    config = runs["config"]
    assert runs["found"].updates.tolist() == [[[config.fine_tuning.updates] * len(config.rates)] * len(ARMS)] * 3
    cut, original = 5, stacked.train

    def short_top(objective, params, trainable, optimizer, data, streams, *args, **kwargs):
        if isinstance(objective, stacked.Classification) and objective.layers[0].name == "layer_2":
            streams = streams[:, :-cut]  # the tiny top arm runs 10 updates in one segment: 5 are left
        return original(objective, params, trainable, optimizer, data, streams, *args, **kwargs)

    monkeypatch.setattr(stacked, "train", short_top)
    other = TunedFineTuning.tiny(n_labels=20)  # not stored yet; its autoencoders are
    found = tuned.fine_tune(other, (0,), runs["store"])
    counted = dict(zip(ARMS, found.updates[0].tolist()))
    assert counted.pop("frozen_then_top") == [other.fine_tuning.updates - cut] * len(other.rates)
    assert set(map(tuple, counted.values())) == {(other.fine_tuning.updates,) * len(other.rates)}


def test_tuned_table_and_survival_sentence_come_from_the_runs(runs):
    found = runs["found"]
    text = "\n".join(tables.tuned_table_lines(found))
    assert "rate picked on validation, seeds per rate (0.0003, 0.001, 0.003, 0.01)" in text
    assert "every arm at the regime's rate 0.001 (the same runs)" in text
    tuned_gain = tables.gain(found, "fine_tune_all", tuned=True)
    expected = 100 * (found.tuned.arm("fine_tune_all") - found.tuned.arm("scratch")).mean()
    assert tuned_gain.value == pytest.approx(expected)
    sentence = tables.survival_sentence(found)
    assert f"at 50 labels: {tuned_gain.value:+.2f}" in sentence and "single rate 0.001:" in sentence
    assert any(finding in sentence for finding in tables.FINDINGS.values())


class FakeArms:
    """A Comparison's `arm` over constructed (n_seeds,) accuracies."""

    def __init__(self, scratch, fine_tune_all):
        self.values = {"scratch": np.asarray(scratch, float), "fine_tune_all": np.asarray(fine_tune_all, float)}

    def arm(self, name):
        return self.values[name]


def constructed(single_gain, tuned_gain, counts=None):
    """A TunedComparison-like object whose single-rate and tuned fine-tune-all gains over scratch are the given
    (n_seeds,) points, scratch at 80% (single) and 83% (tuned)."""
    single_gain, tuned_gain = np.asarray(single_gain, float), np.asarray(tuned_gain, float)
    config = TunedFineTuning.tiny()
    picked = np.array(counts if counts is not None else [[1, len(single_gain) - 2, 1, 0]] * len(ARMS))
    return type("Found", (), {
        "config": config, "seeds": tuple(range(len(single_gain))), "picked_counts": lambda self: picked,
        "single": FakeArms(np.full(len(single_gain), 0.80), 0.80 + single_gain / 100),
        "tuned": FakeArms(np.full(len(tuned_gain), 0.83), 0.83 + tuned_gain / 100)})()


def test_survival_sentence_says_a_reliable_shrink_and_the_share_left_of_a_reliable_gain():
    single = np.array([5.0, 4.5, 5.5, 6.0, 4.0, 5.2, 4.8, 5.1])
    tuned_gain = np.array([1.0, 1.8, 1.2, 2.0, 0.9, 1.5, 1.1, 1.6])
    sentence = tables.survival_sentence(constructed(single, tuned_gain))
    change = tuned_gain - single  # per seed, in points: every seed loses 3 to 4 points of gain
    low, high = stats.t_interval(change)
    assert (f"tuning every arm reliably shrinks the gain by {-change.mean():.2f} ({-high:.2f} to {-low:.2f}) points"
            in sentence)
    assert f"the tuned gain is {tuned_gain.mean() / single.mean():.0%} of the single-rate gain" in sentence
    assert f"single rate 0.001: {single.mean():+.2f}" in sentence and "a reliable gain" in sentence
    assert "8 seeds" in sentence


def test_survival_sentence_prints_no_share_when_the_single_rate_gain_is_not_reliable():
    single = np.array([3.0, -2.0, 1.0, -1.5, 2.0, -3.0, 1.5, 0.5])  # mean +0.19, signs mixed: not reliable
    tuned_gain = np.array([2.0, -4.0, 3.0, -2.5, 1.0, -2.0, 2.5, -1.0])  # mean -0.13, its interval reaches well above 0
    sentence = tables.survival_sentence(constructed(single, tuned_gain))
    change = tuned_gain - single
    low, high = stats.t_interval(change)
    assert f"no reliable change in the gain, {change.mean():+.2f} ({low:+.2f} to {high:+.2f}) points" in sentence
    assert "of the single-rate gain" not in sentence and "survives" not in sentence and "none of" not in sentence
    assert sentence.count("no reliable difference") == 2  # neither the tuned nor the single-rate gain is reliable


def test_survival_sentence_says_a_reliable_growth():
    single = np.array([0.5, -0.5, 0.2, 0.0, -0.3, 0.4, 0.1, -0.2])
    tuned_gain = single + np.array([2.0, 2.5, 1.8, 2.2, 3.0, 2.1, 2.4, 1.9])
    sentence = tables.survival_sentence(constructed(single, tuned_gain))
    change = tuned_gain - single
    low, high = stats.t_interval(change)
    assert f"reliably grows the gain by {change.mean():.2f} ({low:.2f} to {high:.2f}) points" in sentence
    assert "of the single-rate gain" not in sentence  # the single-rate gain is not reliably above 0: no share of it


def test_picked_lines_warn_when_most_seeds_picked_an_end_of_the_grid():
    counts = [[0, 0, 1, 7]] + [[1, 6, 1, 0]] * (len(ARMS) - 1)  # scratch: 7 of 8 seeds at the top rate
    found = constructed(np.ones(8), np.ones(8), counts)
    notes = [line.strip() for line in tables.picked_lines(found) if "note:" in line]
    assert notes == [f"note: from scratch: 7 of 8 seeds picked the grid's largest rate ({found.config.rates[-1]:g}); "
                     "the best rate may lie outside the grid, so widen it to be sure this arm is not under-tuned."]
    assert tables.edge_notes(found) == [notes[0].removeprefix("note: ")]


def test_command_line_prints_the_tuned_table_and_each_gain_tuned_and_at_the_single_rate(runs):
    env = {"LAB_DATA_DIR": str(runs["folder"]), "PATH": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-m", "core", "pretrain", "--tiny", "--labels", "50", "--seeds", "3",
                             "--tune"], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "every arm at its validation-picked rate" in result.stdout
    assert "every arm tuned | every arm at the regime's rate 0.001" in result.stdout
    assert "What tuning every arm does to fine-tune all's gain over scratch:" in result.stdout
    assert "- book, 50 labels: Every arm tuned" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--tune-grid", "0.1,0.3"], "--tune-grid needs --tune"),
    (["--tune", "--tune-grid", "0.01,0.03"], "own rate 0.001"),
    (["--tune", "--tune-grid", "fast"], "separated by commas"),
])
def test_command_line_refuses_bad_grids(run_cli, args, message):
    code, _, errors = run_cli("pretrain", *args)
    assert code == 2 and message in errors
