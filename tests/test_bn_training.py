"""core.batchnorm.training and core.batchnorm.seed_runs: gradient norms against a hand-written forward pass,
training bookkeeping, bad input."""

import numpy as np
import pytest

from core.batchnorm import seed_runs
from core.batchnorm import training as bn_training
from tests.test_progress import PHASES, assert_honest_progress, record


def _manual_norms(model, x, y, batch_norm: str, input_batch_norm: bool):
    """The same network written out with raw TensorFlow ops (BN with the batch's own statistics)."""
    import keras
    import tensorflow as tf

    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    norm = iter([layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)])
    kernels = [tf.Variable(np.asarray(layer.kernel)) for layer in dense]

    def batch_norm_op(h):
        layer = next(norm)
        mean, variance = tf.nn.moments(h, axes=[0])
        return (h - mean) / tf.sqrt(variance + layer.epsilon) * np.asarray(layer.gamma) + np.asarray(layer.beta)

    with tf.GradientTape() as tape:
        h = tf.reshape(tf.constant(x), (len(x), -1))
        if input_batch_norm:
            h = batch_norm_op(h)
        for layer, kernel in zip(dense[:-1], kernels[:-1]):
            h = h @ kernel + (np.asarray(layer.bias) if layer.use_bias else 0.0)
            if batch_norm == "before":
                h = tf.sigmoid(batch_norm_op(h))
            else:
                h = tf.sigmoid(h)
                h = batch_norm_op(h) if batch_norm == "after" else h
        logits = h @ kernels[-1] + np.asarray(dense[-1].bias)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(y, tf.int32), logits))
    return np.array([float(tf.norm(g)) for g in tape.gradient(loss, kernels)])


def _tiny_train_config(**changes):
    base = dict(hidden_units=(16, 16), activation="tanh", batch_norm="after", input_batch_norm=True,
                learning_rate=0.05, epochs=2, batch_size=32, n_train=200, n_valid=100)
    base.update(changes)
    return seed_runs.TrainConfig(**base)


def _book_subset(fashion_mnist, n_train, n_valid):
    """The first n of the book's training (after the 5,000 validation images) and validation images, as floats."""
    train = slice(5000, 5000 + n_train)
    return (fashion_mnist.x_train[train].astype("float32") / 255.0, fashion_mnist.y_train[train],
            fashion_mnist.x_train[:n_valid].astype("float32") / 255.0, fashion_mnist.y_train[:n_valid])


@pytest.mark.parametrize("batch_norm", ["none", "after", "before"])
def test_first_step_gradient_norms_match_a_direct_gradient_tape(batch_norm, fashion_mnist):
    from core import engine

    config = _tiny_train_config(hidden_units=(12, 10, 8), activation="sigmoid", batch_norm=batch_norm,
                                input_batch_norm=batch_norm != "none", epochs=1, batch_size=64, n_train=128,
                                n_valid=64)
    runs = seed_runs.train_seeds(config, (7, 8), gradient_norms=True)
    assert runs.first_step_gradient_norms.shape == (2, 4)
    x, y, _, _ = _book_subset(fashion_mnist, 128, 64)
    for copy, seed in enumerate((7, 8)):
        first_batch = engine.batch_order(seed, 0, 128)[:64]  # the batch of seed's first update
        model = seed_runs.build_model(config, seed)  # the initial weights seed's copy starts from
        reference = _manual_norms(model, x[first_batch], y[first_batch], batch_norm, batch_norm != "none")
        np.testing.assert_allclose(runs.first_step_gradient_norms[copy], reference, rtol=2e-3, atol=1e-9)


def test_deep_sigmoid_gradients_vanish_without_bn_and_not_with_it(fashion_mnist):
    config = bn_training.VanishingConfig(depth=10, units=100, epochs=1, n_train=64, n_valid=64, n_seeds=2)
    events, callback = record()
    result = bn_training.vanishing_gradients(config, callback)
    assert_honest_progress(events, PHASES["BN vanishing gradients"])
    plain, normed = result.gradient_norms["none"], result.gradient_norms["after"]
    assert plain.shape == normed.shape == (2, 11)
    assert np.all(plain[:, 0] / plain[:, -2] < 1e-3)  # first hidden layer vs last hidden layer
    assert np.all(normed[:, 0] / normed[:, -2] > 0.1)


def test_train_seeds_equals_plain_keras_fits_on_the_engines_batch_order(fashion_mnist):
    """The stacked engine against one ordinary Keras model per seed: same initial weights, same batches."""
    import keras

    from core import engine

    config = _tiny_train_config()
    calls = []
    runs = seed_runs.train_seeds(config, (3, 4), lambda done, total, message: calls.append((done, total)))
    assert runs.val_accuracy.shape == runs.train_loss.shape == runs.epoch_seconds.shape == (2, 2)
    assert np.isnan(runs.epoch_seconds).all()  # a stacked epoch is no single model's epoch
    assert calls == [(0, 2), (1, 2), (2, 2)]  # "building the graph", then each epoch
    x, y, x_valid, y_valid = _book_subset(fashion_mnist, 200, 100)
    for copy, seed in enumerate((3, 4)):
        model = seed_runs.build_model(config, seed)
        model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=0.05),
                      metrics=["accuracy"])
        history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
        for epoch in range(2):
            order = engine.batch_order(seed, epoch, 200)
            fit = model.fit(x[order], y[order], batch_size=32, epochs=1, shuffle=False, verbose=0,
                            validation_data=(x_valid, y_valid))
            for key in history:
                history[key] += fit.history[key]
        np.testing.assert_allclose(runs.train_loss[copy], history["loss"], rtol=1e-4)
        np.testing.assert_allclose(runs.val_loss[copy], history["val_loss"], rtol=1e-4)
        np.testing.assert_allclose(runs.train_accuracy[copy], history["accuracy"], atol=1e-6)
        np.testing.assert_allclose(runs.val_accuracy[copy], history["val_accuracy"], atol=1e-6)


def test_keras_seeds_matches_a_plain_keras_fit_and_times_every_epoch(fashion_mnist):
    import keras

    config = _tiny_train_config()
    calls = []
    runs = seed_runs.keras_seeds(config, (3, 4), lambda done, total, message: calls.append((done, total)))
    assert runs.val_accuracy.shape == runs.epoch_seconds.shape == runs.train_loss.shape == (2, 2)
    assert np.all(runs.epoch_seconds > 0)
    assert calls[-1] == (4, 4) and [done for done, _ in calls] == [0, 1, 2, 3, 4]

    # Plain Keras for seed 4: a fresh model and optimizer, fit on the same batches (the book's splits, first
    # 200 training and 100 validation images, shuffled by seed 4). keras_seeds reuses one compiled model across
    # seeds and runs 16 steps per call; neither may change the numbers.
    train, valid = seed_runs.datasets(fashion_mnist.x_train[5000:5200].astype("float32") / 255.0,
                                       fashion_mnist.y_train[5000:5200],
                                       fashion_mnist.x_train[:100].astype("float32") / 255.0,
                                       fashion_mnist.y_train[:100], batch_size=32, seed=4)
    model = seed_runs.build_model(config, 0)
    seed_runs.reinitialize(model, 4)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=0.05),
                  metrics=["accuracy"])
    history = model.fit(train, epochs=2, verbose=0, validation_data=valid, shuffle=False).history
    np.testing.assert_allclose(runs.train_loss[1], history["loss"], rtol=1e-4)
    np.testing.assert_allclose(runs.val_loss[1], history["val_loss"], rtol=1e-4)


def test_sweep_and_placement_shapes(fashion_mnist):
    events, callback = record()
    sweep = bn_training.lr_sweep(bn_training.SweepConfig.tiny(), callback)
    assert_honest_progress(events, PHASES["BN learning-rate sweep"])
    assert set(sweep.final_accuracy) == {"none", "after"}
    for table in sweep.final_accuracy.values():
        assert table.shape == (1, 2, 1) and np.all((0 <= table) & (table <= 1))
    events, callback = record()
    placement = bn_training.placement_runs(bn_training.PlacementConfig.tiny(), callback)
    assert_honest_progress(events, PHASES["BN placement"])
    assert list(placement) == ["after", "before", "none"]
    assert all(runs.val_accuracy.shape == (1, 2) for runs in placement.values())


def test_reinitialize_draws_seeded_weights_from_each_layers_initializer():
    config = _tiny_train_config(initializer="he_normal")
    first, second = seed_runs.build_model(config, 0), seed_runs.build_model(config, 1)
    seed_runs.reinitialize(first, 7)
    seed_runs.reinitialize(second, 7)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)  # same seed, same weights, whatever the build seed was
    seed_runs.reinitialize(second, 8)
    kernel = np.asarray(second.layers[2].kernel)  # Flatten, BN, Dense(16): fan_in 784
    assert not np.array_equal(kernel, np.asarray(first.layers[2].kernel))
    assert abs(kernel.std() - np.sqrt(2 / 784)) < 0.2 * np.sqrt(2 / 784)  # He normal (truncated) scale
    bn = second.layers[1]
    np.testing.assert_array_equal(np.asarray(bn.moving_variance), 1.0)
    np.testing.assert_array_equal(np.asarray(bn.gamma), 1.0)


def test_a_shared_trainer_gives_the_same_runs_as_a_fresh_one(fashion_mnist):
    shared = {}
    seed_runs.keras_seeds(_tiny_train_config(initializer="glorot_uniform", epochs=1), (0,), trainers=shared)
    config = _tiny_train_config(initializer="random_normal", learning_rate=0.2, epochs=1)
    reused = seed_runs.keras_seeds(config, (1,), trainers=shared)
    fresh = seed_runs.keras_seeds(config, (1,))
    np.testing.assert_allclose(reused.train_loss, fresh.train_loss, rtol=1e-5)
    np.testing.assert_allclose(reused.val_loss, fresh.val_loss, rtol=1e-5)


def test_time_to_reach_a_target():
    accuracy = np.array([[0.5, 0.7, 0.9], [0.6, 0.65, 0.68]])
    np.testing.assert_array_equal(bn_training.epochs_to_reach(accuracy, 0.7), [2, np.nan])
    runs = seed_runs.SeedRuns(seeds=(0, 1), train_loss=accuracy, train_accuracy=accuracy, val_loss=accuracy,
                               val_accuracy=accuracy, epoch_seconds=np.array([[1.0, 2.0, 4.0], [1.0, 1.0, 1.0]]))
    np.testing.assert_array_equal(bn_training.seconds_to_reach(runs, 0.7), [3.0, np.nan])


@pytest.mark.parametrize("build, fragment", [
    (lambda: bn_training.VanishingConfig(depth=0), "Choose 1 to 30 hidden layers"),
    (lambda: bn_training.VanishingConfig(learning_rate=0.0), "positive"),
    (lambda: bn_training.PlacementConfig(learning_rate=-0.01), "positive"),
    (lambda: bn_training.VanishingConfig(n_seeds=seed_runs.MAX_SEEDS + 1), "seeds"),
    (lambda: bn_training.SweepConfig(learning_rates=()), "No learning rates selected: pick at least one"),
    (lambda: bn_training.SweepConfig(learning_rates=(0.1, -1.0)), "positive"),
    (lambda: bn_training.SweepConfig(initializers=("zeros",)), "initialisers"),
    (lambda: bn_training.VanishingConfig(activation="relu"), "saturating"),
    (lambda: seed_runs.TrainConfig(epochs=0), "at least one epoch"),
    (lambda: bn_training.LatencyConfig(batch_sizes=(0,)), "Batch sizes"),
])
def test_bad_input_is_a_sentence(build, fragment):
    with pytest.raises(ValueError, match=fragment):
        build()


def test_train_seeds_refuses_too_many_seeds():
    with pytest.raises(ValueError, match="seeds"):
        seed_runs.train_seeds(_tiny_train_config(), range(seed_runs.MAX_SEEDS + 1))


def test_latency_reports_every_variant_and_exact_folding(fashion_mnist):
    events, callback = record()
    result = bn_training.inference_latency(bn_training.LatencyConfig.tiny(), callback)
    assert_honest_progress(events, PHASES["BN latency"])
    assert set(result.milliseconds) == set(bn_training.LATENCY_VARIANTS)
    assert all(times.shape == (2, 3) and np.all(times > 0) for times in result.milliseconds.values())
    assert max(result.max_abs_difference.values()) < 1e-4


def test_folding_error_example_names_the_problem():
    assert "nonlinearity" in bn_training.folding_error_example()
