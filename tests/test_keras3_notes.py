"""Each row of core.keras3_notes checked against the installed Keras, and each labelled with its kind.

The clipping rows are checked in tests/test_clipping.py, save_format in tests/test_transfer.py.
"""

import inspect
import warnings

import numpy as np
import pytest

from core import keras3_notes
from core.keras3_notes import DIFFERENCES, LIBRARY_CHANGE, TEXT_CORRECTION, differences_for

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


# ---- kinds: a library change vs the book's text against what Keras does ----

# Not Keras 3 changes: tf.keras 2.x clipped per variable, ran frozen BN in inference mode (since TF 2.0)
# and defaulted SGD to 0.01; only the book's text says otherwise.
TEXT_CORRECTIONS = {"clipnorm", "bn_frozen", "sgd_default_lr"}


def test_every_row_has_the_right_kind():
    assert {row.key for row in DIFFERENCES if row.kind == TEXT_CORRECTION} == TEXT_CORRECTIONS
    assert all(row.kind == LIBRARY_CHANGE for row in DIFFERENCES if row.key not in TEXT_CORRECTIONS)
    with pytest.raises(ValueError, match="kind must be one of"):
        keras3_notes.Difference("x", ("general",), "book", "keras", "changed, probably")


def test_callout_groups_each_kind_under_its_own_heading():
    groups = keras3_notes.grouped_for("clipping")
    assert [heading for heading, _, _ in groups] == [keras3_notes.HEADINGS[kind][0]
                                                      for kind in (LIBRARY_CHANGE, TEXT_CORRECTION)]
    kinds = [{row.kind for row in rows} for _, _, rows in groups]
    assert kinds == [{LIBRARY_CHANGE}, {TEXT_CORRECTION}]
    text_heading, text_header, _ = groups[1]
    assert "not a library change" in text_heading and "changed" not in text_heading + text_header


def test_title_says_what_changed_only_when_something_changed(monkeypatch):
    assert keras3_notes.callout_title("general") == "Book (TF 2.0) vs Keras 3: what changed"
    assert keras3_notes.callout_title("clipping") == (
        "Book (TF 2.0) vs Keras 3: what changed and where the book's text is off")
    only_text = tuple(row for row in DIFFERENCES if row.kind == TEXT_CORRECTION)
    monkeypatch.setattr(keras3_notes, "DIFFERENCES", only_text)
    title = keras3_notes.callout_title("transfer")
    assert "changed" not in title and title.endswith("where the book's text is off")


def test_sgd_default_lr():
    """`optimizer="sgd"` is SGD() with learning rate 0.01: the book's "the default lr is 1e-3" is wrong."""
    row = ROWS["sgd_default_lr"]
    assert "transfer" in row.topics and "1e-3" in row.book and "0.01" in row.keras3
    assert float(keras.optimizers.get("sgd").learning_rate) == pytest.approx(0.01)
    assert float(keras.optimizers.SGD().learning_rate) == pytest.approx(0.01)
    assert inspect.signature(keras.optimizers.SGD.__init__).parameters["learning_rate"].default == 0.01
    assert isinstance(keras.optimizers.get("sgd"), keras.optimizers.SGD)
    from core.transfer import PROTOCOLS, SGD_DEFAULT_LEARNING_RATE

    assert "\"book\" protocol does too" in row.keras3  # and it does:
    assert PROTOCOLS["book"].frozen_rate == SGD_DEFAULT_LEARNING_RATE == pytest.approx(
        float(keras.optimizers.SGD().learning_rate))


def test_dense_transpose():
    dense = keras.layers.Dense(3)
    dense.build((None, 4))
    with pytest.raises(AttributeError, match="input_shape"):
        dense.input_shape[-1]  # what the book's DenseTranspose reads
    from core.stacked import dense_transpose_class

    tied = dense_transpose_class()(dense)
    model = keras.Sequential([keras.Input((4,)), dense, tied])
    assert model.output_shape == (None, 4) and tied.bias.shape == (dense.kernel.shape[0],)
    assert len(model.trainable_weights) == 3  # kernel, bias, the transpose's bias: one kernel, used twice

