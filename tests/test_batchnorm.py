"""core.batchnorm against a real keras.layers.BatchNormalization (and closed forms where Keras has none)."""

import numpy as np
import pytest

from core import batchnorm as bn

keras = pytest.importorskip("keras")


def _stream(n_steps, batch_size, n_features, seed=0):
    rng = np.random.default_rng(seed)
    return (1.5 + 2.0 * rng.standard_normal((n_steps, batch_size, n_features))).astype(np.float32)


def _keras_trajectory(batches, momentum, epsilon=1e-3):
    layer = keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon)
    means, variances = [], []
    for batch in batches:
        layer(batch, training=True)
        means.append(layer.moving_mean.numpy().copy())
        variances.append(layer.moving_variance.numpy().copy())
    return np.array(means), np.array(variances)


@pytest.mark.parametrize("momentum, batch_size", [(0.0, 4), (0.5, 1), (0.9, 2), (0.99, 16), (0.999, 64)])
def test_trajectory_matches_keras_after_every_step(momentum, batch_size):
    batches = _stream(25, batch_size, 3, seed=batch_size)
    ours = bn.moving_stats_trajectory(batches, momentum)
    keras_mean, keras_variance = _keras_trajectory(batches, momentum)
    assert ours.moving_mean.shape == ours.moving_variance.shape == (25, 3)
    np.testing.assert_allclose(ours.moving_mean, keras_mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours.moving_variance, keras_variance, rtol=1e-5, atol=1e-5)


def test_keras_uses_the_biased_batch_variance():
    batches = _stream(1, 5, 2)
    _, keras_variance = _keras_trajectory(batches, 0.0)
    np.testing.assert_allclose(keras_variance[0], batches[0].var(axis=0), rtol=1e-5)
    assert not np.allclose(keras_variance[0], batches[0].var(axis=0, ddof=1), rtol=1e-3)


def test_trajectory_on_fashion_pixels_matches_keras(fashion_mnist):
    pool = bn.pixel_pool(fashion_mnist.x_train)
    stream = bn.sample_stream(bn.StreamConfig("fashion", batch_size=8, n_steps=20), pool)
    ours = bn.moving_stats_trajectory(stream.batches, 0.9)
    keras_mean, keras_variance = _keras_trajectory(stream.batches, 0.9)
    np.testing.assert_allclose(ours.moving_mean, keras_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.moving_variance, keras_variance, rtol=1e-5, atol=1e-6)


def test_closed_form_last_step_equals_the_recursion():
    values = np.random.default_rng(1).random((300, 4))
    momenta = (0.0, 0.9, 0.999)
    last = bn.exponential_average_last(values, momenta, 1.0)
    expected = np.stack([bn.exponential_average(values, m, 1.0)[-1] for m in momenta])
    np.testing.assert_allclose(last, expected, rtol=1e-12)


@pytest.mark.parametrize("momentum", [0.9, 0.99, 0.999])
def test_effective_window_rule_of_thumb(momentum):
    """After 1/(1-m) steps of a constant signal, the start value keeps weight m**window ~ 1/e."""
    window = bn.effective_window(momentum)
    steps = int(round(window))
    ones = np.ones((steps, 1, 1), dtype=np.float32)
    reached = bn.moving_stats_trajectory(ones, momentum).moving_mean[-1, 0]
    assert reached == pytest.approx(1 - np.exp(-1), abs=0.02)


def test_streams_have_the_promised_statistics(fashion_mnist):
    pool = bn.pixel_pool(fashion_mnist.x_train)
    assert pool.shape == (55_000, len(bn.STREAM_PIXELS)) and 0 <= pool.min() and pool.max() <= 1
    fashion = bn.sample_stream(bn.StreamConfig("fashion", 256, 200), pool)
    np.testing.assert_allclose(fashion.batches.reshape(-1, pool.shape[1]).mean(0), fashion.true_mean[0], atol=0.01)
    shift = bn.sample_stream(bn.StreamConfig("shift", 512, 100), n_features=2)
    first, second = shift.batches[:50].reshape(-1, 2), shift.batches[50:].reshape(-1, 2)
    assert first.mean() == pytest.approx(bn.SYNTHETIC_MEAN, abs=0.02)
    assert second.mean() == pytest.approx(bn.SYNTHETIC_MEAN + bn.SYNTHETIC_SHIFT, abs=0.02)
    assert first.std() == pytest.approx(bn.SYNTHETIC_STD, abs=0.02)


def test_inference_output_error_matches_a_brute_force_estimate():
    rng = np.random.default_rng(3)
    mu, s2, m, v = 0.4, 0.09, 0.1, 0.5
    x = mu + np.sqrt(s2) * rng.standard_normal(2_000_000)
    gap = (x - m) / np.sqrt(v + 1e-3) - (x - mu) / np.sqrt(s2 + 1e-3)
    assert bn.inference_output_error([m], [v], [mu], [s2])[()] == pytest.approx(np.sqrt(np.mean(gap ** 2)), rel=2e-3)


def test_heatmap_shows_the_chapters_advice():
    """Small batches want more 9s; big batches (few steps per epoch) want fewer."""
    config = bn.HeatmapConfig(source="shift", n_examples=20_000, momenta=(0.9, 0.99), batch_sizes=(16, 1024),
                              n_repeats=2)
    errors = bn.final_error_grid(config)
    assert errors.shape == (2, 2)
    assert errors[1, 0] < errors[0, 0]  # batch 16 (1,250 steps): 0.99 beats 0.9
    assert errors[0, 1] < errors[1, 1]  # batch 1024 (19 steps): 0.9 beats 0.99


# ---- axis ----

INPUT_3D, INPUT_2D = (None, 28, 28), (None, 784)


@pytest.mark.parametrize("input_shape, axis", [(INPUT_3D, -1), (INPUT_3D, -2), (INPUT_3D, 1), (INPUT_3D, 2),
                                               (INPUT_2D, -1), (INPUT_2D, 1)])
def test_parameter_shape_and_count_match_keras(input_shape, axis):
    layer = keras.layers.BatchNormalization(axis=axis)
    layer.build(input_shape)
    assert bn.bn_parameter_shape(input_shape, axis) == tuple(layer.gamma.shape)
    count = bn.bn_parameter_count(input_shape, axis)
    assert count.total == layer.count_params()
    assert count.scale + count.offset == sum(int(np.prod(v.shape)) for v in layer.trainable_weights)
    assert count.moving == sum(int(np.prod(v.shape)) for v in layer.non_trainable_weights)


def test_axis_list_means_one_statistic_per_pixel():
    assert bn.bn_parameter_shape(INPUT_3D, [1, 2]) == (28, 28)
    assert bn.bn_parameter_count(INPUT_3D, "[1, 2]").scale == 784
    groups = bn.group_map((28, 28), [1, 2])
    assert len(np.unique(groups)) == 784
    assert (bn.group_map((28, 28), -1) == np.arange(28)[None, :]).all()  # per column
    assert (bn.group_map((28, 28), 1) == np.arange(28)[:, None]).all()  # per row
    assert len(np.unique(bn.group_map((28, 28), -1, flattened=True))) == 784


@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_batch_normalize_matches_keras_training_and_inference(axis):
    x = _stream(1, 16, 28 * 28, seed=5).reshape(16, 28, 28)
    layer = keras.layers.BatchNormalization(axis=axis, momentum=0.5)
    training = np.asarray(layer(x, training=True))
    np.testing.assert_allclose(bn.batch_normalize(x, axis), training, rtol=1e-4, atol=1e-4)
    mean, variance = bn.batch_statistics(x, axis)
    inference = np.asarray(layer(x, training=False))
    ours = bn.batch_normalize(x, axis, mean=0.5 * mean, variance=0.5 + 0.5 * variance)
    np.testing.assert_allclose(ours, inference, rtol=1e-4, atol=1e-4)


def test_keras3_per_pixel_statistics_by_flattening_first():
    """The book's axis=[1, 2] equals Keras 3's Flatten -> BN -> Reshape."""
    x = _stream(1, 32, 28 * 28, seed=6).reshape(32, 28, 28)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.BatchNormalization(),
                              keras.layers.Reshape((28, 28))])
    np.testing.assert_allclose(bn.batch_normalize(x, [1, 2]), np.asarray(model(x, training=True)),
                               rtol=1e-4, atol=1e-4)
    with pytest.raises(TypeError):
        keras.layers.BatchNormalization(axis=[1, 2])


# ---- parameters ----

@pytest.mark.parametrize("placement, total, trainable", [("after", 271_346, 268_978), ("before", 270_946, 268_578)])
def test_parameter_summary_from_the_live_model(placement, total, trainable):
    summary = bn.parameter_summary(placement)
    assert (summary.total, summary.trainable, summary.non_trainable) == (total, trainable, 2_368)
    assert sum(row.params for row in summary.layers) == total
    bn_rows = [row for row in summary.layers if row.kind == "BatchNormalization"]
    assert [row.params for row in bn_rows] == [3_136, 1_200, 400]
    roles = {(row.variable, row.trainable) for row in summary.bn_variables}
    assert roles == {("gamma", True), ("beta", True), ("moving_mean", False), ("moving_variance", False)}


# ---- training vs inference ----

def test_train_inference_gap_matches_keras():
    batches = _stream(30, 64, 3, seed=7)
    stream = bn.Stream(batches, np.full((30, 3), 1.5), np.full((30, 3), 4.0))
    probe = _stream(1, 64, 3, seed=8)[0]
    gap, floor = bn.train_inference_gap(stream, 0.8, probe)
    layer = keras.layers.BatchNormalization(momentum=0.8)
    training = np.asarray(keras.layers.BatchNormalization()(probe, training=True))
    for step, batch in enumerate(batches):
        layer(batch, training=True)
        inference = np.asarray(layer(probe, training=False))
        assert gap[step] == pytest.approx(np.sqrt(np.mean((training - inference) ** 2)), rel=1e-4, abs=1e-5)
    assert gap[0] > 1 and gap[-1] < 0.2 and floor < 0.2  # differ at first, agree (up to probe noise) once settled


def test_tiny_batches_bias_the_moving_variance():
    report = bn.tiny_batch_report(batch_sizes=(1, 2, 4, 32), momentum=0.99, n_steps=4000)
    np.testing.assert_allclose(report.variance_ratio, report.expected_ratio, atol=0.06)
    assert report.variance_ratio[0] < 1e-6  # batch of one: variance 0, always
    assert report.inference_std[0] > 10 and report.inference_std[-1] == pytest.approx(1, abs=0.05)
    assert np.all(report.training_example[0, :1] == 0)  # a batch of one normalises to beta (0)
    np.testing.assert_allclose(np.abs(report.training_example[1, :2]), 1, atol=0.01)  # two: +-1


def test_batch_of_one_erases_the_input_in_keras_too():
    out = keras.layers.BatchNormalization()(np.array([[5.0, -3.0]], dtype=np.float32), training=True)
    assert np.all(np.asarray(out) == 0)


def test_frozen_layer_runs_in_inference_mode():
    demo = bn.frozen_layer_demo()
    np.testing.assert_allclose(demo.frozen_training_output, demo.inference_output, rtol=1e-6)
    assert np.abs(demo.training_output - demo.inference_output).max() > 0.1
    np.testing.assert_array_equal(demo.moving_mean_before, demo.moving_mean_after)
    np.testing.assert_allclose(demo.training_output, bn.batch_normalize(demo.probe), rtol=1e-4, atol=1e-4)


# ---- bad input ----

@pytest.mark.parametrize("call", [
    lambda: bn.moving_stats_trajectory(np.zeros((2, 2, 1)), 1.0),
    lambda: bn.moving_stats_trajectory(np.zeros((2, 2, 1)), -0.1),
    lambda: bn.moving_stats_trajectory(np.zeros((2, 2, 1)), "fast"),
    lambda: bn.moving_stats_trajectory(np.zeros((2, 0, 1)), 0.9),
    lambda: bn.moving_stats_trajectory(np.zeros((2, 2)), 0.9),
    lambda: bn.sample_stream(bn.StreamConfig("shift", batch_size=0)),
    lambda: bn.sample_stream(bn.StreamConfig("shift", batch_size=2000)),
    lambda: bn.sample_stream(bn.StreamConfig("rain")),
    lambda: bn.check_batch_size("many"),
    lambda: bn.check_batch_size(2.5),
    lambda: bn.check_batch_size(float("inf")),
    lambda: bn.bn_parameter_shape(INPUT_3D, 3),
    lambda: bn.bn_parameter_shape(INPUT_3D, -4),
    lambda: bn.bn_parameter_shape(INPUT_3D, 0),
    lambda: bn.bn_parameter_shape(INPUT_2D, 2),
    lambda: bn.bn_parameter_shape(INPUT_3D, [1, 1]),
    lambda: bn.group_map((28, 28), "two"),
    lambda: bn.group_map((28, 28), 2, flattened=True),
])
def test_bad_input_is_a_value_error_with_a_sentence(call):
    with pytest.raises(ValueError, match=r"\w+ \w+ \w+"):
        call()


def test_momentum_message_explains_the_range():
    with pytest.raises(ValueError, match="below 1"):
        bn.check_momentum(1.5)


@pytest.mark.parametrize("axis, flattened", [(-1, False), (1, False), ([1, 2], False), (-1, True)])
def test_normalize_images_matches_keras_placements(axis, flattened):
    images = _stream(1, 8, 784, seed=9).reshape(8, 28, 28)
    normalised, mean_image = bn.normalize_images(images, axis, flattened=flattened)
    if flattened or isinstance(axis, list):  # Keras 3: Flatten -> BN -> Reshape
        layers = [keras.layers.Flatten(), keras.layers.BatchNormalization(), keras.layers.Reshape((28, 28))]
        expected_mean = images.mean(axis=0)
    else:
        layers = [keras.layers.BatchNormalization(axis=axis)]
        expected_mean = np.broadcast_to(images.mean(axis=(0, 3 - axis % 3), keepdims=True)[0], (28, 28))
    model = keras.Sequential([keras.Input((28, 28)), *layers])
    np.testing.assert_allclose(normalised, np.asarray(model(images, training=True)), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(mean_image, expected_mean, rtol=1e-5)
