"""core/auxiliary.py: pairs from the non-target classes only, one encoder for both branches, the masked loss on
hidden pixels only, reuse that copies the source's weights, and the stored, resumable comparison."""

import subprocess
import sys

import numpy as np
import pytest

from core import auxiliary, pretraining, stacked, stats, store
from core.auxiliary import ARMS, Common, Reuse, reuse_arms, sources, summary, table
from core.pretraining import autoencoders
from tests.auxiliary_support import arm_histories, spy_on_training
from tests.conftest import ROOT

SEEDS = (0, 1)


@pytest.fixture(scope="session")
def tiny_run(fashion_mnist, tmp_path_factory):
    """The tiny comparison (every source, every arm) for two seeds in its own store, progress and every
    stacked.train call recorded."""
    folder = tmp_path_factory.mktemp("auxiliary")
    results = store.Store(folder / store.DB_NAME)
    config, messages = Reuse.tiny(), []
    with spy_on_training() as calls:
        result = auxiliary.reuse(config, SEEDS, results, lambda done, total, message: messages.append((done, total,
                                                                                                       message)))
    return {"config": config, "store": results, "folder": folder, "result": result, "messages": messages,
            "calls": calls}


# ---- pairs ----

def test_pairs_are_half_same_half_different_and_never_use_the_target_classes(fashion_mnist):
    common = Common.tiny((0, 2))
    arrays = auxiliary.source_data(common)
    pairs, same = auxiliary.make_pairs(arrays.y_pool, common.other_classes, 400, seed=3)
    assert pairs.shape == (400, 2) and same.shape == (400,)
    assert same.sum() == 200  # exactly balanced
    first, second = arrays.y_pool[pairs[:, 0]], arrays.y_pool[pairs[:, 1]]
    np.testing.assert_array_equal(same, (first == second).astype(np.float32))  # the flag says what the labels say
    assert not np.isin(np.concatenate([first, second]), common.target_pair).any()
    assert (pairs[:, 0] != pairs[:, 1]).all()  # a same pair is two distinct images
    assert set(np.unique(first)) == set(common.other_classes)
    again, _ = auxiliary.make_pairs(arrays.y_pool, common.other_classes, 400, seed=3)
    other, _ = auxiliary.make_pairs(arrays.y_pool, common.other_classes, 400, seed=4)
    assert np.array_equal(pairs, again) and not np.array_equal(pairs, other)


def test_pair_images_are_unlabeled_pool_images_never_test_or_reserve_images(fashion_mnist):
    """Pairs index x_pool, which holds training images outside the labelled reserve; held-out pairs index validation."""
    common = Common()
    arrays = auxiliary.source_data(common)
    split = pretraining.split_arrays(common.encoder.split)
    assert np.array_equal(arrays.pool_rows, split.pool_rows)
    assert arrays.pool_rows.max() < 55_000  # rows of the book's training images: no test image can be among them
    assert not np.intersect1d(arrays.pool_rows, split.reserve_rows).size
    assert arrays.x_pool is split.x_pool or np.array_equal(arrays.x_pool, split.x_pool)
    pairs, _ = auxiliary.make_pairs(arrays.y_pool, common.other_classes, 1000, seed=0)
    assert pairs.min() >= 0 and pairs.max() < len(arrays.x_pool)
    held, _ = auxiliary.held_out_pairs(auxiliary.Siamese(common), arrays)
    assert held.max() < len(arrays.x_valid)
    assert not np.isin(arrays.y_valid[held], common.target_pair).any()


def test_target_task_uses_the_pairs_test_and_reserve_images_with_balanced_subsets(fashion_mnist):
    common = Common.tiny((0, 2))
    arrays = auxiliary.source_data(common)
    assert set(np.unique(arrays.y_test)) == {0, 1} and set(np.unique(arrays.y_reserve)) == {0, 1}
    subset = auxiliary.labelled_subset(arrays.y_reserve, 20, seed=5)
    assert len(subset) == 20 and np.bincount(arrays.y_reserve[subset]).tolist() == [10, 10]
    assert not np.array_equal(subset, auxiliary.labelled_subset(arrays.y_reserve, 20, seed=6))


def test_make_pairs_refuses_a_class_list_it_cannot_pair():
    with pytest.raises(ValueError, match="at least 2 classes"):
        auxiliary.make_pairs(np.array([1, 1, 1]), [1], 4, seed=0)


# ---- the Siamese encoder ----

def test_siamese_branches_are_one_set_of_weights_and_train_as_a_shared_layer_keras_model():
    """One update at a time, stacked training equals a Keras model applying the same Dense layers to both images."""
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.random((40, 12)).astype(np.float32)
    pairs = rng.integers(0, 40, (30, 2)).astype(np.int32)
    same = rng.integers(0, 2, 30).astype(np.float32)
    encoder = (stacked.Dense("layer_1", 6, "relu"), stacked.Dense("layer_2", 3, "relu"))
    head = auxiliary.siamese_head()
    objective = auxiliary.SamePair(encoder, head)
    params = stacked.initial_params(encoder + head, 12, (0,), "siamese")
    assert set(params) == {"layer_1/kernel", "layer_1/bias", "layer_2/kernel", "layer_2/bias", "same/kernel",
                           "same/bias"}  # no second branch's arrays
    streams = stacked.batch_stream(0, "test", 30, 8, 6)[None]
    run = stacked.train(objective, params, tuple(params), stacked.SGD(0.1), (x, pairs, same), streams, segments=2)

    shared = keras.Sequential([keras.Input((12,)), keras.layers.Dense(6, "relu"), keras.layers.Dense(3, "relu")])
    out = keras.layers.Dense(1)
    first, second = keras.Input((12,)), keras.Input((12,))
    model = keras.Model([first, second], out(keras.ops.abs(shared(first) - shared(second))))
    for layer, name in zip(shared.layers, ("layer_1", "layer_2")):
        layer.kernel.assign(params[f"{name}/kernel"][0])
    out.kernel.assign(params["same/kernel"][0])
    assert len(model.trainable_weights) == 6  # the two branches hold one set of weights
    optimizer, losses = keras.optimizers.SGD(0.1), []
    for rows in streams[0]:
        chosen = pairs[rows]
        with tf.GradientTape() as tape:
            logits = model([x[chosen[:, 0]], x[chosen[:, 1]]])
            value = tf.reduce_mean(keras.losses.binary_crossentropy(same[rows][:, None], logits, from_logits=True))
        optimizer.apply(tape.gradient(value, model.trainable_weights), model.trainable_weights)
        losses.append(float(value))
    np.testing.assert_allclose(run.loss[0], np.reshape(losses, (2, -1)).mean(axis=1), rtol=1e-4)
    for layer, name in zip(shared.layers, ("layer_1", "layer_2")):
        np.testing.assert_allclose(run.params[f"{name}/kernel"][0], layer.kernel.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(run.params["same/kernel"][0], out.kernel.numpy(), rtol=1e-4, atol=1e-6)


# ---- masked images ----

def test_masked_loss_counts_only_hidden_pixels_as_worked_by_hand():
    truth = np.array([[1.0, 0.0, 0.0, 1.0], [0.5, 0.5, 0.5, 0.5]], np.float32)
    predicted = np.array([[0.0, 0.0, 9.0, 9.0], [7.0, -3.0, 0.5, 0.0]], np.float32)
    mask = np.array([[1, 1, 0, 0], [0, 0, 1, 1]], np.float32)
    # image 1: hidden pixels 1 and 2: errors 1^2 and 0^2 -> 0.5; the visible 9s count for nothing.
    # image 2: hidden pixels 3 and 4: errors 0^2 and 0.5^2 -> 0.125; the visible 7 and -3 count for nothing.
    np.testing.assert_allclose(auxiliary.masked_errors(predicted, truth, mask).numpy(), [0.5, 0.125])


def test_patch_masks_are_one_square_per_image_inside_the_frame_and_repeatable():
    masks = auxiliary.patch_masks(3, 7, 50, 7).numpy().reshape(50, 28, 28)
    assert set(np.unique(masks)) == {0.0, 1.0} and (masks.sum(axis=(1, 2)) == 49).all()
    for mask in masks:
        rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        assert len(rows) == len(columns) == 7 and np.ptp(rows) == np.ptp(columns) == 6  # one 7x7 block
    assert np.array_equal(masks.ravel(), auxiliary.patch_masks(3, 7, 50, 7).numpy().ravel())
    assert not np.array_equal(masks.ravel(), auxiliary.patch_masks(3, 8, 50, 7).numpy().ravel())


def test_masked_objective_sees_the_image_with_its_patch_set_to_zero():
    """Changing hidden input pixels changes nothing the net sees; changing them in the truth changes the loss."""
    layers = (stacked.Dense("layer_1", 5, "relu"), stacked.Dense("decode_1", 784))
    params = stacked.copy_params(stacked.initial_params(layers, 784, (0,), "masked"), 0)
    objective = auxiliary.MaskedImage(layers, 7)
    x = np.random.default_rng(1).random((4, 784)).astype(np.float32)
    mask = auxiliary.example_masks(7, 4)
    altered = x + mask * 0.3  # only the hidden pixels differ
    seen = stacked.forward(layers, params, x * (1 - mask)).numpy()
    np.testing.assert_allclose(stacked.forward(layers, params, altered * (1 - mask)).numpy(), seen)
    expected = (np.sum(mask * (seen - x) ** 2, axis=1) / 49).sum()
    np.testing.assert_allclose(float(objective.evaluate(params, (x, mask))[0]), expected, rtol=1e-5)


# ---- the stored comparison ----

def test_every_arm_trains_equal_updates_on_its_seeds_batches_as_the_training_calls_show(tiny_run):
    """Counted from what stacked.train was given, not from the config or the row: each arm of each seed is one
    copy, `updates` updates in all (frozen_then_unfrozen: the frozen copy's first `frozen_updates`, then the rest
    unfrozen at the lower rate), every arm of a seed on the very same batches (paired by seed)."""
    config = tiny_run["config"]
    histories = arm_histories(tiny_run["calls"], config, SEEDS, tiny_run["store"])
    assert set(histories) == {(arm, seed) for arm in ARMS for seed in SEEDS}
    for (arm, seed), copies in histories.items():
        assert len(copies) == 1, (arm, seed)  # untuned: one copy per arm and seed
        (history,) = copies
        assert sum(stretch[0] for stretch in history) == config.updates, (arm, seed, history)
        if arm.endswith("frozen_then_unfrozen"):
            assert [(updates, rate, what) for updates, rate, what, _ in history] == [
                (config.frozen_updates, config.learning_rate, "output"),
                (config.updates - config.frozen_updates, config.unfrozen_learning_rate, "all")]
        else:
            assert [(rate, what) for _, rate, what, _ in history] == [
                (config.learning_rate, "output" if arm.endswith(":frozen") else "all")]
    for seed in SEEDS:
        batches = {arm: np.concatenate([stretch[3] for stretch in histories[(arm, seed)][0]]) for arm in ARMS}
        assert all(np.array_equal(batches["scratch"], rows) for rows in batches.values())
    assert not np.array_equal(*[np.concatenate([s[3] for s in histories[("scratch", seed)][0]]) for seed in SEEDS])


def test_every_arm_is_stored_per_seed_and_asking_again_trains_nothing(tiny_run, monkeypatch):
    config, results, result = tiny_run["config"], tiny_run["store"], tiny_run["result"]
    assert result.accuracy.shape == (len(SEEDS), len(ARMS))
    assert ((result.accuracy >= 0) & (result.accuracy <= 1)).all()
    assert [row.seed for row in results.results(config)] == list(SEEDS)
    arrays = auxiliary.source_data(config.common)
    x_valid, y_valid = auxiliary.target_validation(arrays, config.common.target_pair)
    assert len(y_valid) == np.isin(arrays.y_valid, config.common.target_pair).sum() and set(y_valid) == {0, 1}
    correct = np.round(result.validation * len(y_valid))  # validation scores are counts of those images
    np.testing.assert_allclose(result.validation * len(y_valid), correct, atol=1e-9)
    for source in auxiliary.AUXILIARY_SOURCES:
        assert results.finished_seeds(config.source(source)) == set(SEEDS)
    assert results.finished_seeds(config.common.encoder) == set(SEEDS)  # the unsupervised page's autoencoder rows

    def fail(*args, **kwargs):
        raise AssertionError("nothing should be trained again")

    monkeypatch.setattr(reuse_arms, "_reuse_chunk", fail)
    for name in ("_siamese_chunk", "_masked_chunk", "_supervised_chunk"):
        monkeypatch.setattr(sources, name, fail)
    monkeypatch.setattr(autoencoders, "_pretrain_chunk", fail)
    assert np.array_equal(auxiliary.reuse(config, SEEDS, results).accuracy, result.accuracy)


def test_reuse_copies_the_sources_weights_and_training_leaves_them_unchanged(tiny_run):
    """The sharing pitfall: the arms start from the source's encoder but must train a copy, not the stored source."""
    config, results = tiny_run["config"], tiny_run["store"]
    for source in auxiliary.SOURCES:
        before = auxiliary.encoder_params(config.source(source), SEEDS, results)
        fresh = stacked.initial_params(auxiliary.target_layers(config.common), 784, SEEDS, "target")
        start = auxiliary.reuse_start(fresh, before)
        for key, value in before.items():
            assert np.array_equal(start[key], value) and not np.shares_memory(start[key], value)
        start["layer_1/kernel"] += 1.0
        assert not np.array_equal(start["layer_1/kernel"], before["layer_1/kernel"])
        np.testing.assert_array_equal(auxiliary.encoder_params(config.source(source), SEEDS, results)["layer_1/kernel"],
                                      before["layer_1/kernel"])
    # different sources give different encoders for one seed (each trained its own net)
    kernels = [auxiliary.encoder_params(config.source(source), SEEDS, results)["layer_1/kernel"]
               for source in auxiliary.SOURCES]
    assert all(not np.array_equal(kernels[0], other) for other in kernels[1:])


def test_paired_summaries_give_every_arm_an_interval_and_a_verdict_naming_it(tiny_run):
    summaries = summary.summaries(tiny_run["result"])
    assert set(summaries) == set(ARMS[1:])
    for arm, found in summaries.items():
        assert found.n_seeds == len(SEEDS) and found.verdict.kind in ("reliable", "tentative", "mixed", "none")
        assert "B on A" not in summary.verdict_text(found, arm)
    rows = table.table_rows({20: tiny_run["result"]})
    assert len(rows) == len(ARMS) and all("gain (points)" in row for row in rows[1:])
    np.testing.assert_allclose(rows[1]["gain (points)"], round(100 * np.mean(
        tiny_run["result"].arm(ARMS[1]) - tiny_run["result"].arm("scratch")), 2), atol=0.011)


@pytest.mark.parametrize("kind, direction, word", [
    ("reliable", 1, "reliable gain"), ("reliable", -1, "reliable loss"), ("tentative", 1, "tentative gain"),
    ("tentative", -1, "tentative loss"), ("mixed", 0, "mixed"), ("none", 0, "none"),
])
def test_verdict_word_carries_the_direction_never_reliable_alone(kind, direction, word):
    assert summary.verdict_word(stats.Verdict(kind, direction, "")) == word


def test_verdict_words_of_real_differences():
    """Seeds that all gain about a point: a reliable gain; all losing: a reliable loss; a tie: none."""
    gains = np.array([1.1, 0.9, 1.3, 0.8, 1.0, 1.2, 0.95, 1.05, 1.15, 0.85])
    alternating = gains * np.tile([1, -1], 5)
    for differences, word in ((gains, "reliable gain"), (-gains, "reliable loss"), (alternating, "none")):
        mean, ranks = stats.mean_difference_estimate(differences), stats.wilcoxon_test(differences)
        assert summary.verdict_word(stats.verdict(differences, mean, ranks)) == word


def test_progress_only_moves_forward_and_names_the_stages(tiny_run):
    messages = tiny_run["messages"]
    fractions = [done / total for done, total, _ in messages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    text = " ".join(message for _, _, message in messages)
    for word in ("siamese", "masked", "supervised", "autoencoder", "frozen encoders"):
        assert word in text


def test_source_views_hold_what_the_page_draws(tiny_run):
    config, results = tiny_run["config"], tiny_run["store"]
    siamese = auxiliary.siamese_view(config.source("siamese"), SEEDS, results)
    assert siamese.distances.shape == (len(SEEDS), len(siamese.same)) and (siamese.distances >= 0).all()
    assert set(np.unique(siamese.pca_labels)) == set(config.common.target_pair)  # the classes it never saw
    assert ((siamese.pair_accuracy >= 0) & (siamese.pair_accuracy <= 1)).all()
    masked = auxiliary.masked_view(config.source("masked"), SEEDS, results)
    assert masked.predictions.shape == (len(SEEDS), auxiliary.N_EXAMPLES, 28, 28)
    np.testing.assert_allclose(masked.masked_inputs, masked.originals * (1 - masked.masks))
    assert (masked.masks.sum(axis=(1, 2)) == config.patch ** 2).all()
    assert masked.blank_masked_mse > 0


def test_command_line_prints_the_table_from_the_store(tiny_run):
    env = {"LAB_DATA_DIR": str(tiny_run["folder"]), "PATH": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-m", "core", "auxiliary", "--tiny", "--labels", "20", "--seeds", "2"],
                            cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    for arm in ARMS:
        assert auxiliary.arm_label(arm) in result.stdout
    assert "gain (95% CI)" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--labels", "15"], "even number"),
    (["--seeds", "0"], "Choose 1 to 200 seeds"),
    (["--pair", "3,3"], "two different"),
    (["--patch", "40"], "patch side"),
])
def test_command_line_refuses_bad_arguments(run_cli, args, message):
    code, _, errors = run_cli("auxiliary", *args)
    assert code == 2 and message in errors


@pytest.mark.parametrize("make", [
    lambda: Reuse(n_labels=3), lambda: Reuse(frozen_updates=600), lambda: auxiliary.Masked(patch=0),
    lambda: Common(learning_rate=0.0), lambda: auxiliary.Siamese(n_pairs=1),
])
def test_bad_settings_are_readable_value_errors(make):
    with pytest.raises(ValueError):
        make()
