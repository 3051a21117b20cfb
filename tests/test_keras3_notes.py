"""Each BN-related row of core.keras3_notes (and the general sgd_lr row) checked against the installed Keras."""

import warnings

import numpy as np
import pytest

from core.keras3_notes import DIFFERENCES, differences_for

keras = pytest.importorskip("keras")
ROWS = {row.key: row for row in DIFFERENCES}


def test_bn_page_shows_these_rows():
    assert {row.key for row in differences_for("bn")} >= {
        "bn_updates", "variable_names", "bn_axis_list", "input_shape", "bn_frozen"}


def test_sgd_lr():
    assert "rejected" in ROWS["sgd_lr"].keras3
    with pytest.raises(ValueError, match="lr"):
        keras.optimizers.SGD(lr=0.1)
    assert float(keras.optimizers.SGD(learning_rate=0.1).learning_rate) == pytest.approx(0.1)


def test_bn_updates():
    layer = keras.layers.BatchNormalization(momentum=0.5)
    x = np.full((4, 2), 3.0, dtype=np.float32)
    layer(x, training=False)
    assert not hasattr(layer, "updates")
    np.testing.assert_array_equal(layer.moving_mean.numpy(), 0)  # inference call: no update
    layer(x, training=True)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 1.5)  # the update happened inside call()


def test_variable_names():
    model = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization(name="batch_normalization")],
                             name="sequential")
    gamma = model.layers[0].gamma
    assert gamma.name == "gamma" and ":0" not in gamma.name
    assert gamma.path == "sequential/batch_normalization/gamma"


def test_bn_axis_list():
    assert "TypeError" in ROWS["bn_axis_list"].keras3
    with pytest.raises(TypeError):
        keras.layers.BatchNormalization(axis=[1, 2])
    flat = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.BatchNormalization()])
    assert flat.layers[-1].gamma.shape == (784,)  # flatten first: one statistic per pixel


def test_input_shape():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer = keras.layers.Flatten(input_shape=[28, 28])  # still accepted ...
    assert any("input_shape" in str(w.message) for w in caught)  # ... with a warning
    assert layer is not None
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten()])
    assert model.output_shape == (None, 784)


def test_bn_frozen():
    layer = keras.layers.BatchNormalization(momentum=0.5)
    rng = np.random.default_rng(0)
    layer((5 + rng.standard_normal((8, 2))).astype(np.float32), training=True)
    x = (5 + rng.standard_normal((8, 2))).astype(np.float32)
    inference = np.asarray(layer(x, training=False))
    moving_mean = layer.moving_mean.numpy().copy()
    layer.trainable = False
    frozen = np.asarray(layer(x, training=True))
    np.testing.assert_allclose(frozen, inference, rtol=1e-6)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), moving_mean)
