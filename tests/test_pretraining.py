"""The pretraining experiment: which images play which role, paired arms at equal updates, the store, the CLI.

The training itself is checked against plain Keras in tests/test_stacked.py; here the tiny presets run
end to end (three seeds of the book's recipe, two of the 2006 greedy autoencoder) once per session.
"""

import subprocess
import sys

import numpy as np
import pytest

from core import pretraining, stacked, store
from core.pretraining import ARMS, FineTuning, Pretraining, Split, autoencoders, fine_tuning, tables
from tests.conftest import ROOT

SEEDS = (0, 1, 2)


class Spy:
    """Records every stacked.train call (objective, streams, trainable, optimizer, the updates its loop counted)."""

    def __init__(self):
        self.calls, self.original = [], stacked.train

    def __call__(self, objective, params, trainable, optimizer, data, streams, *args, **kwargs):
        run = self.original(objective, params, trainable, optimizer, data, streams, *args, **kwargs)
        self.calls.append((objective, np.asarray(streams).copy(), tuple(trainable), optimizer, run.steps))
        return run


@pytest.fixture(scope="session")
def book_run(fashion_mnist, tmp_path_factory):
    """The tiny book experiment for three seeds, in its own store, with every training call and progress recorded."""
    folder = tmp_path_factory.mktemp("pretraining")
    results = store.Store(folder / store.DB_NAME)
    config, spy, messages = FineTuning.tiny(), Spy(), []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stacked, "train", spy)
        comparison = pretraining.fine_tune(config, SEEDS, results,
                                           lambda done, total, message: messages.append((done, total, message)))
    return {"config": config, "store": results, "folder": folder, "comparison": comparison, "calls": spy.calls,
            "messages": messages}


@pytest.fixture(scope="session")
def greedy_run(fashion_mnist, tmp_path_factory):
    """The tiny 2006 autoencoder (three greedy sigmoid layers, cross-entropy, SGD), tied and denoising, two seeds."""
    results = store.Store(tmp_path_factory.mktemp("greedy") / store.DB_NAME)
    config, messages = Pretraining.tiny("2006", tied=True, noise_stddev=0.1), []
    result = pretraining.pretrain(config, (4, 5), results, lambda done, total, message: messages.append(message))
    return {"config": config, "store": results, "result": result, "messages": messages}


def test_pool_and_labelled_reserve_never_overlap_and_come_from_the_training_images(fashion_mnist):
    from core import data

    splits = data.load_book_splits()
    arrays = pretraining.split_arrays(Split())
    assert len(np.intersect1d(arrays.pool_rows, arrays.reserve_rows)) == 0
    assert len(arrays.pool_rows) + len(arrays.reserve_rows) == len(splits.x_train) == 55_000
    assert np.bincount(arrays.y_reserve).tolist() == [1000] * 10
    assert np.array_equal(arrays.x_reserve[7], splits.x_train[arrays.reserve_rows[7]].ravel())
    assert np.array_equal(arrays.x_pool[-1], splits.x_train[arrays.pool_rows[-1]].ravel())
    # validation and test images are the book's own sets, never among the 55,000 training images
    assert np.array_equal(arrays.x_valid, splits.x_valid.reshape(5000, -1))
    assert len(arrays.y_test) == 10_000 and np.array_equal(arrays.x_test, splits.x_test.reshape(10_000, -1))
    tiny = pretraining.split_arrays(Split.tiny())
    assert (len(tiny.x_pool), len(tiny.y_reserve), len(tiny.y_valid), len(tiny.y_test)) == (600, 200, 200, 300)
    assert len(np.intersect1d(tiny.pool_rows, tiny.reserve_rows)) == 0


def test_labelled_subsets_are_balanced_one_per_seed():
    y_reserve = np.repeat(np.arange(10), 30)
    first = pretraining.labelled_subset(y_reserve, 100, seed=3)
    assert len(first) == len(set(first)) == 100
    assert np.bincount(y_reserve[first]).tolist() == [10] * 10
    assert np.array_equal(first, pretraining.labelled_subset(y_reserve, 100, seed=3))
    assert not np.array_equal(first, pretraining.labelled_subset(y_reserve, 100, seed=4))
    with pytest.raises(ValueError, match="multiple of 10"):
        pretraining.labelled_subset(y_reserve, 15, seed=0)
    with pytest.raises(ValueError, match="class"):
        pretraining.labelled_subset(y_reserve, 400, seed=0)


def test_every_arm_of_a_seed_trains_on_that_seeds_subset_with_the_same_batches(book_run):
    config, calls = book_run["config"], book_run["calls"]
    arrays = pretraining.split_arrays(config.pretraining.split)
    classifier_calls = [(objective, streams) for objective, streams, *_ in calls
                        if isinstance(objective, stacked.Classification)]
    assert len(classifier_calls) == 6  # scratch, fine-tune all, frozen (long), standardised, top, raw pixels
    longest = max((streams for _, streams in classifier_calls), key=lambda streams: streams.shape[1])
    for copy, seed in enumerate(SEEDS):
        subset = pretraining.labelled_subset(arrays.y_reserve, config.n_labels, seed)
        assert set(np.unique(longest[copy])) == set(subset)  # every labelled image is used, and no other
    for _, streams in classifier_calls:  # each arm's batches are a stretch of that one stream
        width = streams.shape[1]
        starts = [start for start in (0, int(config.frozen_share * config.updates))
                  if np.array_equal(streams, longest[:, start:start + width])]
        assert starts, "an arm drew batches of its own"


def test_arms_are_compared_at_the_same_number_of_updates(book_run):
    """The stored counts are the updates each copy's compiled loop made (stacked.TrainResult.steps), not the config's
    numbers: the frozen arm counts its long run's first stretch, the top arm its frozen part plus the unfrozen one."""
    config, results, calls = book_run["config"], book_run["store"], book_run["calls"]
    rows = results.results(config)
    assert [row.seed for row in rows] == list(SEEDS)
    for row in rows:
        updates = row.result["updates"]
        assert {updates[arm] for arm in ARMS} == {config.updates}
        assert updates["frozen_long"] == updates["frozen_standardized_long"] == config.pitfall_updates
    # what the loops counted is what their batch streams held: one update per batch, no more, no fewer
    classifier_runs = [(streams, steps) for objective, streams, _, _, steps in calls
                       if isinstance(objective, stacked.Classification)]
    assert all(np.array_equal(steps.sum(axis=1), [streams.shape[1]] * len(SEEDS)) for streams, steps in classifier_runs)


def test_rows_and_files_are_stored_and_asking_again_trains_nothing(book_run, monkeypatch):
    config, results, comparison = book_run["config"], book_run["store"], book_run["comparison"]
    assert results.finished_seeds(config) == set(SEEDS)
    assert results.finished_seeds(config.pretraining) == set(SEEDS)
    row = results.results(config)[0].result
    assert set(row) >= {"test_correct", "n_test", "curves", "pitfall_correct", "pitfall_curves", "updates"}
    assert len(results.results(config.pretraining)[0].result["code_std"]) == config.pretraining.hidden_units[-1]
    assert autoencoders._npz_path(results, config.pretraining, 0, "autoencoder").exists()

    def fail(*args, **kwargs):
        raise AssertionError("nothing should be trained again")

    monkeypatch.setattr(fine_tuning, "_fine_tune_chunk", fail)
    monkeypatch.setattr(autoencoders, "_pretrain_chunk", fail)
    again = pretraining.fine_tune(config, SEEDS, results)
    assert np.array_equal(again.test_accuracy, comparison.test_accuracy)
    assert "test_correct" in results.to_csv(config)


def test_more_seeds_train_only_the_new_ones_and_an_interrupted_run_keeps_its_finished_chunks(book_run, monkeypatch):
    config, results = book_run["config"], book_run["store"]
    trained = []
    original = fine_tuning._fine_tune_chunk

    def record(config, arrays, seeds, store, progress):
        trained.append(tuple(seeds))
        return original(config, arrays, seeds, store, progress)

    def interrupt_on_seed_4(done, total, message):
        if "seed 4" in message:
            raise KeyboardInterrupt

    monkeypatch.setattr(fine_tuning, "_fine_tune_chunk", record)
    with pytest.raises(KeyboardInterrupt):
        pretraining.fine_tune(config, range(5), results, interrupt_on_seed_4, chunk_size=1)
    assert results.finished_seeds(config) == {0, 1, 2, 3}
    comparison = pretraining.fine_tune(config, range(5), results, chunk_size=1)
    assert trained == [(3,), (4,)]
    assert comparison.test_accuracy.shape == (5, len(ARMS))


def test_tiny_experiment_gives_every_output_with_seeds_first(book_run):
    config, comparison = book_run["config"], book_run["comparison"]
    n_seeds = len(SEEDS)
    assert comparison.test_accuracy.shape == (n_seeds, len(ARMS))
    assert np.all((comparison.test_accuracy >= 0) & (comparison.test_accuracy <= 1))
    assert comparison.n_test == 300 and np.allclose(comparison.test_accuracy * 300,
                                                    np.rint(comparison.test_accuracy * 300))
    assert comparison.curves.shape == (n_seeds, len(ARMS), config.curve_points)
    assert comparison.curve_updates.tolist() == [10, 20]
    assert comparison.pitfall_accuracy.shape == (n_seeds, 2)
    assert comparison.pitfall_curves.shape == (n_seeds, 2, config.pitfall_updates // config.segment)
    # the frozen arm is the first stretch of the long frozen run
    assert np.array_equal(comparison.curves[:, ARMS.index("frozen")], comparison.pitfall_curves[:, 0, :2])
    result = pretraining.load_pretraining(config.pretraining, SEEDS, book_run["store"])
    assert result.val_mse.shape == result.train_loss.shape == (n_seeds, 1, config.pretraining.epochs)
    assert result.filters.shape == (n_seeds, 16, 28, 28)
    assert result.reconstructions.shape == (n_seeds, pretraining.N_RECONSTRUCTIONS, 28, 28)
    assert result.originals.shape == (pretraining.N_RECONSTRUCTIONS, 28, 28)
    assert result.pca.shape == (n_seeds, 300, 2) and result.pca_labels.shape == (300,)
    assert np.all(result.pca_variance.sum(axis=1) <= 1.0 + 1e-6)
    assert result.dead_units.shape == (n_seeds, 2) and result.code_std.shape == (n_seeds, 8)
    assert np.all(result.dead_units <= np.array(config.pretraining.hidden_units))


def test_progress_names_the_phase_and_the_seeds_and_only_moves_forward(book_run):
    messages = book_run["messages"]
    texts = [message for _, _, message in messages]
    assert "pretraining the whole autoencoder, seeds 0-2, epoch 1/2" in texts
    assert "50 labels, seeds 0-2: scratch, updates 10/20" in texts
    done = [done for done, _, _ in messages]
    assert done == sorted(done) and done[-1] == messages[-1][1]


def test_greedy_tied_denoising_autoencoder_trains_layer_by_layer(greedy_run):
    config, result, messages = greedy_run["config"], greedy_run["result"], greedy_run["messages"]
    assert result.val_mse.shape == (2, 3, config.epochs)  # one row per greedy layer
    assert np.all(np.isfinite(result.val_mse)) and np.all(result.pixel_val_mse < 0.25)
    assert "pretraining layer 3/3, seeds 4-5, epoch 2/2" in messages
    params, _, _ = pretraining.pretrained_params(config, (4, 5), greedy_run["store"])
    assert not any(key.startswith("decode") and key.endswith("kernel") for key in params)  # tied: no own kernels
    assert params["layer_1/kernel"].shape == (2, 784, 16)


def test_paired_table_names_every_arm_with_an_interval(book_run):
    lines = tables.table_lines(book_run["comparison"])
    text = "\n".join(lines)
    for arm in ARMS:
        assert tables.arm_label(arm) in text
    assert "paired gain over scratch" in text and "95% CI" in text
    assert "B on A" not in text and "B from scratch" not in text  # the verdicts name this page's arms
    summaries = tables.paired_summaries(book_run["comparison"])
    assert set(summaries) == {"frozen", "frozen_then_top", "fine_tune_all", "raw_pixels"}
    assert summaries["frozen"].n_seeds == len(SEEDS)


def test_command_line_prints_the_paired_table_from_the_store(book_run):
    env = {"LAB_DATA_DIR": str(book_run["folder"]), "PATH": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-m", "core", "pretrain", "--tiny", "--labels", "50", "--seeds", "3"],
                            cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "from scratch" in result.stdout and "paired gain over scratch" in result.stdout
    assert "verdict" not in result.stdout.lower() or "points" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--regime", "1990"], "Unknown regime"),
    (["--labels", "15"], "multiple of 10"),
    (["--seeds", "0"], "Choose 1 to 200 seeds"),
    (["--labels", "many"], "comma-separated"),
])
def test_command_line_refuses_bad_arguments(run_cli, args, message):
    code, _, errors = run_cli("pretrain", *args)
    assert code == 2 and message in errors


def test_command_line_interrupt_says_how_to_resume(monkeypatch, capsys, tmp_path, fashion_mnist):
    from core import __main__ as cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(pretraining, "fine_tune", interrupted)
    assert cli.main(["pretrain", "--tiny", "--labels", "50", "--seeds", "2"]) == 130
    assert "run the same command to resume" in capsys.readouterr().err


@pytest.mark.parametrize("make", [
    lambda: FineTuning.tiny(n_labels=15),
    lambda: FineTuning.tiny(n_labels=500),  # the tiny reserve holds 200
    lambda: FineTuning.tiny(updates=25),  # not cut into 2 equal stretches
    lambda: FineTuning.tiny(frozen_share=0.3),
    lambda: FineTuning.tiny(unfreeze_top=3),
    lambda: FineTuning.tiny(learning_rate=float("nan")),
    lambda: FineTuning.tiny(pitfall_updates=10),
    lambda: FineTuning.preset("1990"),
    lambda: Pretraining(loss="binary_crossentropy"),  # a linear pixel output is not in [0, 1]
    lambda: Pretraining(greedy=True, learning_rates=(1e-3, 1e-3, 1e-3)),
    lambda: Pretraining(noise_stddev=float("nan")),
    lambda: Pretraining(code_activation="softmax"),
    lambda: Pretraining(hidden_units=()),
    lambda: Pretraining(optimizer="adam"),
    lambda: Split(labelled_per_class=0),
    lambda: pretraining.seed_list(0),
])
def test_bad_settings_are_readable_value_errors(make):
    with pytest.raises(ValueError):
        make()


def test_presets_hold_the_regimes_recipes():
    book, today, classic = (Pretraining.preset(regime) for regime in ("book", "today", "2006"))
    assert book.hidden_units == (100, 30) and not book.greedy and book.optimizer == "nadam"
    assert today.hidden_units == classic.hidden_units == (256, 256, 256) and today.greedy and classic.greedy
    assert (today.activation, today.initializer, today.optimizer) == ("relu", "he_normal", "nadam")
    assert (classic.activation, classic.optimizer, classic.learning_rates) == ("sigmoid", "sgd", (0.1,))
    assert FineTuning.preset("2006").optimizer == "sgd" and FineTuning.preset("today").updates == 1500
    assert Pretraining.tiny("2006").greedy and Pretraining.tiny("2006").activation == "sigmoid"


def test_experiment_applies_the_autoencoder_options_and_keeps_the_regime_otherwise():
    default = pretraining.experiment("2006", 100)
    assert default == FineTuning.preset("2006", 100)
    changed = pretraining.experiment("today", 50, tiny=True, greedy=False, code_activation="selu", tied=True,
                                     noise_stddev=0.2)
    assert changed == FineTuning.tiny("today", 50, pretraining=Pretraining.tiny(
        "today", greedy=False, code_activation="selu", tied=True, noise_stddev=0.2))
    with pytest.raises(ValueError, match="multiple of 10"):
        pretraining.experiment("book", 55)
