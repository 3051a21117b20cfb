"""core/auxiliary/tuned.py, selection.py and summary.py's Holm verdicts (tiny preset): every arm offered the same
candidate rates (counted from the training calls), each seed's pick the argmax of its validation scores, the
headline arm picked on validation when validation and test disagree, Holm's adjustment against numbers worked
by hand, the headline box's words for a loss, the command line and the page."""

import numpy as np
import pytest

from core import auxiliary, stats, store
from core.auxiliary import ARMS, ReuseResult, selection, summary, table, tuned
from core.runs import tuning
from tests.app_support import chart_keys, finish, open_page, text
from tests.auxiliary_support import arm_histories, spy_on_training

SEEDS = (0, 1)
PAGE = "pages/6_Auxiliary_Pretraining.py"


@pytest.fixture(scope="module")
def tuned_run(fashion_mnist, tmp_path_factory):
    """The tiny tuned comparison (20 labels, the default grid) for two seeds in its own store, every stacked.train
    call recorded."""
    folder = tmp_path_factory.mktemp("auxiliary-tuned")
    results = store.Store(folder / store.DB_NAME)
    config = tuned.TunedReuse.tiny()
    with spy_on_training() as calls:
        result = tuned.reuse_tuned(config, SEEDS, results)
    return {"config": config, "store": results, "folder": folder, "result": result, "calls": calls,
            "rows": [row.result for row in results.results(config, SEEDS)]}


# ---- the search every arm gets ----

def test_every_arm_is_offered_the_same_candidate_rates_at_equal_updates(tuned_run):
    """From the training calls: each (arm, seed) trains one copy per grid rate, `updates` updates each, on that
    seed's batches; frozen_then_unfrozen's unfrozen stretch runs at its rate times the book's ratio."""
    config = tuned_run["config"]
    reuse = config.reuse
    histories = arm_histories(tuned_run["calls"], reuse, SEEDS, tuned_run["store"])
    assert set(histories) == {(arm, seed) for arm in ARMS for seed in SEEDS}
    ratio = reuse.unfrozen_learning_rate / reuse.learning_rate
    for (arm, seed), copies in histories.items():
        assert len(copies) == len(config.rates), (arm, seed)
        np.testing.assert_allclose(sorted(history[0][1] for history in copies), config.rates, rtol=1e-12)
        for history in copies:
            assert sum(stretch[0] for stretch in history) == reuse.updates
            if arm.endswith("frozen_then_unfrozen"):
                assert [stretch[2] for stretch in history] == ["output", "all"]
                assert history[0][0] == reuse.frozen_updates
                np.testing.assert_allclose(history[1][1], history[0][1] * ratio, rtol=1e-12)
    for seed in SEEDS:
        batches = [np.concatenate([stretch[3] for stretch in history]) for arm in ARMS
                   for history in histories[(arm, seed)]]
        assert all(np.array_equal(batches[0], rows) for rows in batches)  # every arm and rate: the same batches
    for row in tuned_run["rows"]:
        assert set(row["search"]) == set(ARMS)
        assert all(tuple(row["search"][arm]["rates"]) == config.rates for arm in ARMS)


def test_each_seeds_rate_is_the_argmax_of_its_validation_scores(tuned_run):
    """Worked by hand from every candidate's stored scores: the best validation accuracy (the smaller rate on a
    tie) is the picked rate, and the row's test count is that candidate's, whatever the other candidates scored
    on test."""
    for row in tuned_run["rows"]:
        for arm in ARMS:
            search = row["search"][arm]
            scores = search["validation"]
            best = 0
            for index, score in enumerate(scores):
                if score > scores[best]:
                    best = index
            assert search["picked_rate"] == search["rates"][best]
            assert row["test_correct"][arm] == round(search["test"][best] * row["n_test"])
            assert row["valid_correct"][arm] == round(scores[best] * row["n_valid"])
    result = tuned_run["result"]
    assert result.validation is not None and result.accuracy.shape == (len(SEEDS), len(ARMS))


def test_a_constructed_search_picks_on_validation_never_on_test():
    search = tuning.Search((1e-3, 3e-3, 1e-2), np.array([[0.80, 0.90, 0.85], [np.nan, 0.70, 0.70]]),
                           np.array([[0.99, 0.60, 0.70], [0.99, 0.50, 0.98]]))
    np.testing.assert_array_equal(search.picked_rates, [3e-3, 3e-3])  # seed 1: a tie goes to the smaller rate
    np.testing.assert_array_equal(search.tuned_test, [0.60, 0.50])  # not the 0.99s the test set would pick


def test_validation_is_the_target_pairs_validation_split_disjoint_from_test(tuned_run):
    config = tuned_run["config"]
    arrays = auxiliary.source_data(config.common)
    x_valid, y_valid = auxiliary.target_validation(arrays, config.common.target_pair)
    keep = np.isin(arrays.y_valid, config.common.target_pair)
    np.testing.assert_array_equal(x_valid, arrays.x_valid[keep])
    assert {row["n_valid"] for row in tuned_run["rows"]} == {len(y_valid)}
    assert {row["n_test"] for row in tuned_run["rows"]} == {len(arrays.y_test)}
    test_images = {image.tobytes() for image in arrays.x_test}
    assert not any(image.tobytes() in test_images for image in x_valid)


def test_the_tuned_config_has_its_own_key_and_refuses_a_bad_grid():
    base = auxiliary.Reuse()
    assert store.config_key(tuned.TunedReuse(base)) != store.config_key(base)
    assert tuned.TunedReuse(base, (1e-2, 1e-3)).rates == (1e-3, 1e-2)  # one order, one key
    assert 1e-3 in tuned.TunedReuse().rates  # the untuned arms' rate is a candidate
    with pytest.raises(ValueError, match="above 0"):
        tuned.TunedReuse(base, (0.0, 1e-3))


# ---- Holm, selection and the headline's words ----

def _result(differences: dict, *, validation_gain: dict | None = None, n_seeds: int = 10) -> ReuseResult:
    """A comparison with scratch at 80% and each arm at 80% + its differences (points); arms not named tie with
    scratch on test; validation: scratch at 80%, each arm at 80% + validation_gain[arm] points."""
    accuracy = np.full((n_seeds, len(ARMS)), 0.8)
    validation = np.full((n_seeds, len(ARMS)), 0.8)
    for arm, values in differences.items():
        accuracy[:, ARMS.index(arm)] += np.asarray(values) / 100
    for arm, gain in (validation_gain or {}).items():
        validation[:, ARMS.index(arm)] += gain / 100
    return ReuseResult(auxiliary.Reuse(), tuple(range(n_seeds)), accuracy, 2000, np.zeros(n_seeds), validation)


GAINS = np.array([1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9])  # ten distinct positive gains


def _one_negative(count: int) -> np.ndarray:
    """The `count` smallest gains turned into small losses (ranks 1..count of |d|)."""
    values = GAINS.copy()
    values[:count] = -0.01 * np.arange(1, count + 1)
    return values


def test_holm_adjusts_the_twelve_signed_rank_p_values_as_worked_by_hand():
    """Exact signed-rank p with 10 seeds: all one sign 2/2^10; one loss of rank 1: 2 x 2/2^10 (R- = 0 or 1);
    two losses of ranks 1 and 2: 2 x 5/2^10 (R- <= 3: {}, {1}, {2}, {3}, {1,2}). Holm over 12 sorted p's:
    12 p1, max(that, 11 p2), max(.., 10 p3), then 9 p4 for the rest (9 p_j with j >= 4 never exceeds it)."""
    arms = ARMS[1:]
    differences = {arms[0]: GAINS, arms[1]: _one_negative(1), arms[11]: -GAINS}
    differences.update({arm: _one_negative(2) for arm in arms[2:11]})
    verdicts = summary.arm_verdicts(_result(differences))
    p_all, p_one, p_two = 2 / 1024, 4 / 1024, 10 / 1024
    raw = [p_all, p_one] + [p_two] * 9 + [p_all]
    np.testing.assert_allclose([verdicts[arm].p_value for arm in arms], raw, rtol=1e-12)
    holm = [12 * p_all, 10 * p_one] + [9 * p_two] * 9 + [12 * p_all]  # 0.0234, 0.0391, 0.0879 x 9, 0.0234
    np.testing.assert_allclose([verdicts[arm].holm_p for arm in arms], holm, rtol=1e-12)
    np.testing.assert_allclose(stats.holm_adjusted(raw), holm, rtol=1e-12)
    words = {arm: summary.verdict_word(verdicts[arm].verdict) for arm in arms}
    assert words[arms[0]] == words[arms[1]] == "reliable gain" and words[arms[11]] == "reliable loss"
    # two small losses: reliable alone (p = 0.0098), only tentative once 12 arms are counted (p = 0.088)
    assert summary.verdict_word(verdicts[arms[2]].summary.verdict) == "reliable gain"
    assert words[arms[2]] == "tentative gain"
    assert "Holm-adjusted for 12 arms" in verdicts[arms[2]].text and "unadjusted p = 0.00977" in verdicts[arms[2]].text
    rows = table.table_rows({200: _result(differences)})
    assert rows[3][table.HOLM_COLUMN] == 0.0879 and rows[3]["p (signed-rank)"] == 0.00977
    assert rows[3]["verdict"] == "tentative gain" and rows[3]["uncorrected verdict"] == "reliable gain"


def test_the_headline_arm_is_the_best_on_validation_not_the_best_on_test():
    """siamese fine-tuning gains most on test, masked fine-tuning most on validation: the headline is masked's."""
    on_test, on_validation = "siamese:fine_tune", "masked:fine_tune"
    result = _result({on_test: GAINS + 3, on_validation: GAINS},
                     validation_gain={on_test: 0.5, on_validation: 1.5, "supervised:frozen": 1.0})
    test_gains = {arm: result.arm(arm).mean() for arm in ARMS[1:]}
    assert max(test_gains, key=test_gains.get) == on_test
    best = selection.headline(result)
    assert best.arm == on_validation and best.n_arms == 12
    np.testing.assert_allclose(best.validation_gain, 1.5)
    tone, words = selection.headline_box(best)
    assert tone == "success" and "picked from 12 arms" in words and "masked, fine tune" in words
    assert "Best on validation with 200 labels" in words and "Largest mean gain" not in words


def test_no_headline_without_validation_scores():
    result = _result({"masked:fine_tune": GAINS})
    assert selection.headline(ReuseResult(result.config, result.seeds, result.accuracy, 2000, result.seconds_per_seed,
                                          None)) is None
    assert "no arm named best" in table.headline_lines({200: ReuseResult(
        result.config, result.seeds, result.accuracy, 2000, result.seconds_per_seed, None)})[0]


def test_a_reliable_loss_is_shown_as_a_loss_in_an_error_box():
    """Every arm reliably loses; the one closest to scratch on validation is still a loss, and says so."""
    result = _result({arm: -GAINS * (1 + index) for index, arm in enumerate(ARMS[1:])},
                     validation_gain={arm: -1.0 - index for index, arm in enumerate(ARMS[1:])})
    best = selection.headline(result)
    assert best.arm == ARMS[1] and best.test.verdict.kind == "reliable" and best.test.verdict.direction == -1
    tone, words = selection.headline_box(best)
    assert tone == "error"
    assert words.startswith("No arm's mean validation gain over scratch is above 0 with 200 labels; the closest, "
                            "picked from 12 arms: **supervised, frozen** (-1.00 points).")
    assert "On test it loses 1.45 points to scratch on average." in words and "Reliable loss" in words
    assert "Largest mean gain" not in words and "gain of" not in words


def test_a_negative_gain_without_reliable_evidence_is_no_good_news():
    """Best on validation, but on test it loses a little with no reliable difference: an info box that says loses."""
    wobble = np.array([0.5, -0.9, 0.3, -0.6, 0.2, -0.7, 0.4, -0.5, 0.1, -0.8])  # mean -0.2, no reliable difference
    best = selection.headline(_result({"autoencoder:fine_tune": wobble},
                                      validation_gain={"autoencoder:fine_tune": 0.8}))
    tone, words = selection.headline_box(best)
    assert best.arm == "autoencoder:fine_tune" and best.test.verdict.kind == "none"
    assert tone == "info"
    assert "On test it loses 0.20 points to scratch on average." in words and "No reliable difference" in words


# ---- the command line and the page ----

def test_a_chunk_counts_seeds_times_candidates_as_pretraining_does(monkeypatch):
    """--chunk is copies per arm: with the 4-rate grid, 10 copies are 2 seeds per chunk, never fewer than 1 seed."""
    seen = []
    monkeypatch.setattr(tuned, "reuse", lambda *args, trainer: seen.append(args[-1]))
    monkeypatch.setattr(tuned, "run_grid", lambda *args, trainer: seen.append(args[-1]))
    config = tuned.TunedReuse.tiny()
    assert len(config.rates) == 4
    tuned.reuse_tuned(config, SEEDS, None, chunk_size=10)
    tuned.run_tuned_grid(config, (20,), SEEDS, None, chunk_size=3)
    tuned.run_tuned_grid(config, (20,), SEEDS, None, chunk_size=8)
    assert seen == [2, 1, 2]
    with pytest.raises(ValueError, match="at least 1 copy"):
        tuned.reuse_tuned(config, SEEDS, None, chunk_size=0)


def test_picked_lines_warn_when_most_seeds_picked_an_end_of_the_grid():
    rates = tuned.RATES
    validation = {arm: np.tile([0.1, 0.2, 0.3, 0.4], (4, 1)) for arm in ARMS}  # every seed best at the top rate
    validation[ARMS[1]] = np.tile([0.1, 0.5, 0.3, 0.2], (4, 1))
    searches = {arm: tuning.Search(rates, values, values) for arm, values in validation.items()}
    notes = [line for line in tuned.picked_lines(searches) if line.startswith("note: ")]
    assert [note.split(": ")[1] for note in notes] == [auxiliary.arm_label(arm) for arm in ARMS if arm != ARMS[1]]
    assert notes[0] == (f"note: {auxiliary.arm_label(ARMS[0])}: 4 of 4 seeds picked the grid's largest rate "
                        f"({rates[-1]:g}); the best rate may lie outside the grid, so widen it to be sure this arm is "
                        "not under-tuned.")
    assert tuned.edge_notes(searches) == [note.removeprefix("note: ") for note in notes]


def test_command_line_refuses_a_bad_grid(run_cli):
    code, _, errors = run_cli("auxiliary", "--tiny", "--tune-grid", "0.001,zero")
    assert code == 2 and "Learning rates must be numbers" in errors


def test_page_shows_the_tuned_comparison_from_the_store_and_trains_a_missing_count(tuned_run, monkeypatch):
    monkeypatch.setenv("LAB_DATA_DIR", str(tuned_run["folder"]))
    app = open_page(PAGE, {"aux_tuned": "true", "aux_labels": [20]})
    assert "aux_reuse_train" not in {button.key for button in app.button}  # every seed stored
    assert app.toggle(key="aux_tuned").value and "never the test images" in text(app, "caption")
    assert {"aux_labels_chart", "aux_gains_chart", "aux_picked_chart"} <= set(chart_keys(app))
    assert "picked from 12 arms" in text(app, "success", "error", "warning", "info")
    columns = set(app.dataframe[0].value.columns)
    assert {"picked rates", table.HOLM_COLUMN, "p (signed-rank)", "verdict", "uncorrected verdict"} <= columns
    assert len(app.dataframe[0].value) == len(ARMS)

    app.multiselect(key="aux_labels").set_value([10, 20]).run()
    app.button(key="aux_reuse_train").click().run()
    finish(app, "aux_reuse", timeout=600)
    assert store.Store().finished_seeds(tuned.TunedReuse.tiny(10)) == set(SEEDS)
    assert len(app.dataframe[0].value) == 2 * len(ARMS)
