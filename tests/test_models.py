"""The builders reproduce the book's architectures; parameter counts come from the live Keras models."""

import pytest

from core import models


def _counts(model):
    trainable = sum(int(v.numpy().size) for v in model.trainable_weights)
    frozen = sum(int(v.numpy().size) for v in model.non_trainable_weights)
    return model.count_params(), trainable, frozen


def test_book_bn_model_matches_the_books_summary():
    assert _counts(models.book_bn_model("after")) == (271_346, 268_978, 2_368)


def test_bn_before_activation_drops_the_redundant_biases():
    total, _, frozen = _counts(models.book_bn_model("before"))
    assert total == 271_346 - 300 - 100 and frozen == 2_368


def test_no_bn_variant_is_the_plain_mlp():
    assert _counts(models.book_bn_model("none")) == (235_500 + 30_100 + 1_010, 266_610, 0)


def test_transfer_models_shapes():
    a, b = models.model_a(), models.model_b()
    assert a.output_shape == (None, 8) and b.output_shape == (None, 1)
    assert [layer.units for layer in a.layers if hasattr(layer, "units")] == [300, 100, 50, 50, 50, 8]


def test_same_seed_same_weights():
    first, second = models.model_b(seed=7), models.model_b(seed=7)
    for w1, w2 in zip(first.get_weights(), second.get_weights()):
        assert (w1 == w2).all()


@pytest.mark.parametrize("kwargs", [dict(hidden_units=()), dict(hidden_units=(10, 0)),
                                    dict(hidden_units=(10,), batch_norm="sideways"),
                                    dict(hidden_units=(10,), activation="swishy")])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        models.mlp(**kwargs)
