"""core.runs: the learning-rate search every arm of a comparison shares (`tuning`) and the seed machinery
(`seeds`), checked against hand-worked layouts and picks, including a grid where the best rate on the test set
is not the best on validation (the pick must follow validation)."""

import dataclasses
import json

import numpy as np
import pytest

from core.runs import seeds, tuning

# ---- the grid ----


def test_rate_grid_sorts_dedupes_and_keeps_floats():
    assert tuning.rate_grid([0.03, 0.001, 0.01, 0.001, 0.003]) == (0.001, 0.003, 0.01, 0.03)
    assert tuning.rate_grid((1, "0.5")) == (0.5, 1.0)
    assert all(type(rate) is float for rate in tuning.rate_grid([1, 2]))
    assert tuning.rate_grid() == tuning.DEFAULT_RATES == tuple(sorted(tuning.DEFAULT_RATES))


@pytest.mark.parametrize("rates", [
    [float("nan")], [0.01, float("nan")], [0.0], [0.01, 0], [-0.01], [float("inf")], [0.01, float("-inf")],
    [11.0], [], [10.0 ** -k for k in range(1, 10)], ["fast"], [None], None, [[0.01]],
])
def test_rate_grid_rejects_bad_rates_with_a_sentence(rates):
    with pytest.raises(ValueError) as error:
        tuning.rate_grid(rates)
    message = str(error.value)
    assert message[0].isupper() and message.rstrip().endswith(".")


def test_rate_grid_allows_exactly_the_most_candidates():
    most = [10.0 ** -k for k in range(1, tuning.MAX_CANDIDATES + 1)]
    assert len(tuning.rate_grid(most)) == tuning.MAX_CANDIDATES
    with pytest.raises(ValueError, match=str(tuning.MAX_CANDIDATES)):
        tuning.rate_grid(most + [0.5])
    assert len(tuning.rate_grid(most + most[:1])) == tuning.MAX_CANDIDATES  # a repeat is not one more candidate


def test_parse_rates_reads_a_comma_list():
    assert tuning.parse_rates("0.001,0.01") == (0.001, 0.01)
    assert tuning.parse_rates(" 0.01 , 1e-3, ") == (0.001, 0.01)
    assert tuning.rates_text(tuning.parse_rates("3e-3,0.03")) == "0.003, 0.03"


@pytest.mark.parametrize("text", ["", ",", "0.001;0.01", "fast,slow", "0.01,-1", "0,0.1", "nan", "1e400"])
def test_parse_rates_rejects_bad_text_and_shows_how_to_write_it(text):
    with pytest.raises(ValueError, match="separated by commas"):
        tuning.parse_rates(text)


# ---- copies: candidate-major ----


def test_candidate_copies_are_candidate_major():
    copy_seeds, copy_rates = tuning.candidate_copies([3, 7], [0.001, 0.01, 0.1])
    assert copy_seeds == (3, 7, 3, 7, 3, 7)
    assert copy_rates == (0.001, 0.001, 0.01, 0.01, 0.1, 0.1)


def test_by_candidate_folds_each_copy_back_to_its_seed_and_rate():
    run_seeds, rates = (3, 7, 9), (0.001, 0.01, 0.1, 1.0)
    copy_seeds, copy_rates = tuning.candidate_copies(run_seeds, rates)
    # what a training would report per copy: a value that names the copy's own (seed, rate)
    per_copy = [seed + 1000 * rate for seed, rate in zip(copy_seeds, copy_rates)]
    table = tuning.by_candidate(per_copy, len(run_seeds))
    assert table.shape == (len(run_seeds), len(rates))
    for i, seed in enumerate(run_seeds):
        for c, rate in enumerate(rates):
            assert table[i, c] == pytest.approx(seed + 1000 * rate)


@pytest.mark.parametrize("values, n_seeds", [(np.zeros(5), 2), (np.zeros((2, 4)), 2), (np.zeros(4), 0)])
def test_by_candidate_rejects_values_that_are_not_whole_candidates(values, n_seeds):
    with pytest.raises(ValueError):
        tuning.by_candidate(values, n_seeds)


# ---- the pick: on validation, NaN never, ties to the smaller rate ----


def test_pick_is_the_argmax_of_each_seed_on_validation():
    validation = np.array([[0.80, 0.90, 0.85],
                           [0.95, 0.70, 0.60],
                           [0.50, 0.55, 0.99]])
    assert tuning.pick(validation).tolist() == [1, 0, 2]
    rng = np.random.default_rng(0)
    scores = rng.random((50, 4))
    assert tuning.pick(scores).tolist() == [int(np.argmax(row)) for row in scores]


def test_a_diverged_candidate_is_never_picked_while_another_is_finite():
    validation = np.array([[np.nan, 0.60, 0.70],
                           [0.99, np.nan, np.nan],
                           [np.nan, np.nan, 0.01],
                           [np.inf, 0.20, np.nan]])  # an infinite score is a diverged run too
    assert tuning.pick(validation).tolist() == [2, 0, 2, 1]


def test_ties_go_to_the_lower_index_and_an_all_nan_row_to_the_first():
    validation = np.array([[0.9, 0.9, 0.9],
                           [0.5, 0.8, 0.8],
                           [np.nan, np.nan, np.nan]])
    assert tuning.pick(validation).tolist() == [0, 1, 0]


def test_pick_rejects_a_table_that_is_not_seeds_by_candidates():
    with pytest.raises(ValueError, match="n_seeds, n_candidates"):
        tuning.pick([0.1, 0.2])
    with pytest.raises(ValueError):
        tuning.pick(np.zeros((3, 0)))


def test_picked_reads_each_seeds_own_candidate():
    values = np.arange(12).reshape(3, 4)
    assert tuning.picked(values, [3, 0, 2]).tolist() == [3, 4, 10]


# ---- Search ----

RATES = (0.001, 0.01, 0.1)
# Seed 0: validation prefers 0.01, the test set would prefer 0.1. Seed 1: both prefer 0.001. Seed 2: 0.1 diverged
# (NaN on validation) but scores best on test; validation ties 0.001 and 0.01 -> 0.001.
VALIDATION = np.array([[0.90, 0.95, 0.91],
                       [0.97, 0.93, 0.80],
                       [0.88, 0.88, np.nan]])
TEST = np.array([[0.89, 0.92, 0.96],
                 [0.96, 0.94, 0.79],
                 [0.86, 0.90, 0.99]])


def search() -> tuning.Search:
    return tuning.Search(RATES, VALIDATION.copy(), TEST.copy())


def test_search_picks_on_validation_and_reads_test_only_there():
    found = search()
    by_hand = [int(np.nanargmax(row)) for row in VALIDATION]  # [1, 0, 0]: nanargmax also takes the first of ties
    assert found.picks.tolist() == by_hand == [1, 0, 0]
    assert found.picked_rates.tolist() == [0.01, 0.001, 0.001]
    assert found.tuned_test.tolist() == [0.92, 0.96, 0.86]


def test_tuned_test_is_not_the_best_on_test_when_validation_disagrees():
    found = search()
    best_on_test = TEST.max(axis=1)  # what picking on the test set would (wrongly) report
    assert found.tuned_test[0] == 0.92 and best_on_test[0] == 0.96
    assert found.tuned_test[2] == 0.86 and best_on_test[2] == 0.99
    assert np.all(found.tuned_test <= best_on_test)
    assert found.tuned_test.mean() < best_on_test.mean()


def test_at_reads_one_rate_of_the_grid_for_every_seed():
    found = search()
    assert found.at(0.1).tolist() == TEST[:, 2].tolist()
    assert found.at(0.01).tolist() == TEST[:, 1].tolist()
    assert found.at(0.1 + 1e-12).tolist() == TEST[:, 2].tolist()  # the same rate read back from text
    assert found.at(1e-3 * 1).tolist() == TEST[:, 0].tolist()


@pytest.mark.parametrize("rate", [0.003, 0.0, 1.0, 0.011])
def test_at_a_rate_outside_the_grid_is_a_value_error_naming_the_grid(rate):
    with pytest.raises(ValueError, match="0.001, 0.01, 0.1"):
        search().at(rate)


def test_rows_round_trip_through_the_store_format():
    found = search()
    rows = [found.row(i) for i in range(3)]
    assert rows[0] == {"rates": [0.001, 0.01, 0.1], "validation": [0.90, 0.95, 0.91], "test": [0.89, 0.92, 0.96],
                       "picked_rate": 0.01}
    stored = json.loads(json.dumps(rows))  # as a store row keeps them (the diverged candidate's NaN included)
    back = tuning.search_of_rows(stored)
    assert back.rates == RATES
    np.testing.assert_array_equal(back.validation, VALIDATION)
    np.testing.assert_array_equal(back.test, TEST)
    assert back.picked_rates.tolist() == [row["picked_rate"] for row in rows]
    assert back.tuned_test.tolist() == found.tuned_test.tolist()


def test_rows_of_different_grids_are_refused():
    rows = [search().row(0), tuning.Search((0.001, 0.01), VALIDATION[:, :2], TEST[:, :2]).row(1)]
    with pytest.raises(ValueError, match="different grids"):
        tuning.search_of_rows(rows)


def test_search_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        search().rates = (0.5,)


# ---- seeds ----


def test_seed_list_is_zero_to_n_minus_one():
    assert seeds.seed_list(5) == (0, 1, 2, 3, 4)
    assert seeds.seed_list("3") == (0, 1, 2)
    assert seeds.seed_list(200) == tuple(range(200))
    assert seeds.seed_list(1, low=1, high=4) == (0,)
    assert seeds.seed_list(4, low=1, high=4) == (0, 1, 2, 3)


@pytest.mark.parametrize("n", [2, 0, -3, 201, "inf", "1e309", 2.5, "2.5", 10 ** 400, "9" * 400, None, True, "ten",
                               float("nan")])
def test_seed_list_rejects_anything_but_a_whole_number_in_range_with_a_sentence(n):
    with pytest.raises(ValueError) as error:
        seeds.seed_list(n)
    message = str(error.value)
    assert message[0].isupper() and message.endswith(".") and "seeds" in message and "3 to 200" in message


def test_seed_list_bounds_and_reason_are_the_callers():
    with pytest.raises(ValueError, match="Fewer than 3"):
        seeds.seed_list(2)
    with pytest.raises(ValueError, match="1 to 4") as error:
        seeds.seed_list(5, low=1, high=4)
    assert "Fewer than" not in str(error.value)  # the spread reason is only for the default lower bound
    with pytest.raises(ValueError, match="Each seed costs a minute."):
        seeds.seed_list(9, low=1, high=4, why="Each seed costs a minute.")


def test_check_seeds_keeps_order_and_refuses_repeats_negatives_and_non_numbers():
    assert seeds.check_seeds([3, 1, 2]) == (3, 1, 2)
    assert seeds.check_seeds(np.array([5, 0])) == (5, 0)
    assert all(type(seed) is int for seed in seeds.check_seeds(np.array([5, 0])))
    for bad in ([], [1, 1], [-1, 2], ["a"], None, [float("inf")]):
        with pytest.raises(ValueError):
            seeds.check_seeds(bad)


def test_chunks_cut_in_order_with_a_shorter_last():
    assert seeds.chunks(range(7), 3) == [[0, 1, 2], [3, 4, 5], [6]]
    assert seeds.chunks([4, 5], 10) == [[4, 5]]
    assert seeds.chunks([], 3) == []
    assert sum(seeds.chunks(list(range(25)), 10), []) == list(range(25))
    for size in (0, -1):
        with pytest.raises(ValueError, match="at least 1"):
            seeds.chunks([1, 2], size)


def test_seeds_text():
    assert seeds.seeds_text([42]) == "seed 42"
    assert seeds.seeds_text(range(10)) == "seeds 0-9"
    assert seeds.seeds_text(np.arange(3, 6)) == "seeds 3-5"
    assert seeds.seeds_text([3, 7, 8]) == "seeds 3, 7, 8"
    assert seeds.seeds_text([2, 1]) == "seeds 2, 1"


@dataclasses.dataclass(frozen=True)
class Config:
    rate: float  # a stand-in config's one field
    epochs: int = 3  # and another


def test_job_key_is_equal_for_equal_work_and_differs_otherwise():
    key = seeds.job_key("transfer", "comparison", Config(0.01), range(3))
    assert key == seeds.job_key("transfer", "comparison", Config(0.01), [0, 1, 2])
    assert key == seeds.job_key("transfer", "comparison", Config(0.01), np.arange(3))
    assert hash(key) == hash(seeds.job_key("transfer", "comparison", Config(0.01), (0, 1, 2)))
    others = [seeds.job_key("transfer", "comparison", Config(0.01), [0, 1, 3]),
              seeds.job_key("transfer", "comparison", Config(0.01), [1, 0, 2]),
              seeds.job_key("transfer", "comparison", Config(0.03), range(3)),
              seeds.job_key("transfer", "comparison", Config(0.01, epochs=4), range(3)),
              seeds.job_key("transfer", "fair", Config(0.01), range(3)),
              seeds.job_key("reuse", "comparison", Config(0.01), range(3)),
              seeds.job_key("transfer", "comparison", Config(0.01), range(3), "tuned")]
    assert len({key, *others}) == len(others) + 1


def test_edge_note_warns_when_most_seeds_pick_an_end_of_the_grid():
    grid = (0.001, 0.003, 0.01, 0.03)
    top = tuning.edge_note(grid, [0, 0, 6, 14], "B from scratch")
    assert top.startswith("B from scratch: 14 of 20 seeds picked the grid's largest rate (0.03)")
    assert "smallest rate (0.001)" in tuning.edge_note(grid, [10, 5, 5, 0])
    assert tuning.edge_note(grid, [0, 7, 5, 8]) == ""  # 8 of 20 at the top: under half
    assert tuning.edge_note(grid, [0, 0, 0, 0]) == "" and tuning.edge_note((0.01,), [5]) == ""


def test_picked_counts_count_each_rate_of_the_grid_in_order():
    search = tuning.Search((0.001, 0.01, 0.1), np.array([[0.9, 0.8, 0.7], [0.1, 0.5, 0.2], [0.3, 0.4, 0.6]]),
                           np.zeros((3, 3)))
    assert search.picked_counts().tolist() == [1, 1, 1]
    assert tuning.Search((0.001, 0.01), np.array([[0.2, 0.1]] * 4), np.zeros((4, 2))).picked_counts().tolist() == [4, 0]
