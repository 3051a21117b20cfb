"""fold_batchnorm: the folded model computes what the original computes at inference, without BN layers."""

import numpy as np
import pytest

from core import models
from core.batchnorm.fold import batchnorm_affine, fold_batchnorm
from core.batchnorm.training import randomize_batchnorm


@pytest.fixture(scope="module")
def test_images(fashion_mnist):
    return fashion_mnist.x_test.astype("float32") / 255.0  # all 10,000 test images


def _predict(model, x):
    return model.predict(x, batch_size=2000, verbose=0)


def _bn_layers(model):
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]


@pytest.mark.parametrize("placement", ["after", "before"])
def test_folding_matches_the_book_model_on_test_images(placement, test_images):
    model = models.book_bn_model(placement, seed=3)
    randomize_batchnorm(model, seed=11)
    folded = fold_batchnorm(model)
    assert _bn_layers(folded) == []
    difference = np.abs(_predict(folded, test_images) - _predict(model, test_images)).max()
    assert difference < 1e-4

    # Not vacuous: with BN at its initial state (an identity map up to epsilon) the outputs are far apart.
    identity = models.book_bn_model(placement, seed=3)
    assert np.abs(_predict(identity, test_images) - _predict(model, test_images)).max() > 0.05


def test_folded_after_model_has_the_bn_free_parameter_count():
    folded = fold_batchnorm(models.book_bn_model("after", seed=0))
    assert folded.count_params() == models.book_bn_model("none", seed=0).count_params() == 266_610


@pytest.mark.parametrize("placement", ["after", "before"])
def test_folding_matches_logits_after_real_training(placement, fashion_mnist):
    x = fashion_mnist.x_train[:512].astype("float32") / 255.0
    y = fashion_mnist.y_train[:512]
    model = models.mlp((32, 16), activation="tanh", batch_norm=placement, input_batch_norm=True,
                       output_activation="linear", seed=5)
    import keras

    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer=keras.optimizers.SGD(learning_rate=0.05))
    model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    assert any(np.abs(np.asarray(bn.moving_mean)).max() > 1e-3 for bn in _bn_layers(model)), "stats never moved"
    logits, folded_logits = _predict(model, x), _predict(fold_batchnorm(model), x)
    assert np.abs(folded_logits - logits).max() < 1e-4 * max(1.0, np.abs(logits).max())


def test_batchnorm_affine_matches_the_keras_layer_at_inference():
    import keras

    layer = keras.layers.BatchNormalization(epsilon=0.01)
    layer.build((None, 5))
    rng = np.random.default_rng(0)
    layer.gamma.assign(rng.uniform(0.5, 2, 5).astype("float32"))
    layer.beta.assign(rng.normal(size=5).astype("float32"))
    layer.moving_mean.assign(rng.normal(size=5).astype("float32"))
    layer.moving_variance.assign(rng.uniform(0.1, 3, 5).astype("float32"))
    x = rng.normal(size=(7, 5)).astype("float32")
    scale, shift = batchnorm_affine(layer)
    np.testing.assert_allclose(x * scale + shift, np.asarray(layer(x, training=False)), rtol=1e-5, atol=1e-6)


def test_bn_before_flatten_on_the_last_axis_folds_per_column(test_images):
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((28, 28)), layers.BatchNormalization(), layers.Flatten(),
                              layers.Dense(20, activation="elu"), layers.Dense(10)])
    randomize_batchnorm(model, seed=2)
    folded = fold_batchnorm(model)
    assert np.abs(_predict(folded, test_images[:500]) - _predict(model, test_images[:500])).max() < 1e-4


def _refused(model, fragment):
    with pytest.raises(ValueError, match=fragment):
        fold_batchnorm(model)


def test_bn_between_two_nonlinearities_is_refused():
    import keras
    from keras import layers

    _refused(keras.Sequential([keras.Input((28, 28)), layers.Flatten(), layers.Dense(8, activation="elu"),
                               layers.BatchNormalization(), layers.Activation("tanh"), layers.Dense(3)]),
             "nonlinearity")


@pytest.mark.parametrize("ending", ["bn", "bn_softmax", "dropout_bn"])
def test_a_final_bn_after_a_linear_dense_folds(ending):
    """BN as the last layer folds backwards into the linear Dense before it (W' = W * s, b' = b * s + t)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(7)
    stack = [keras.Input((6,)), layers.Dense(8, activation="elu"), layers.Dense(4)]
    stack += {"bn": [layers.BatchNormalization()],
              "bn_softmax": [layers.BatchNormalization(), layers.Activation("softmax")],
              "dropout_bn": [layers.Dropout(0.5), layers.BatchNormalization()]}[ending]
    model = keras.Sequential(stack)
    randomize_batchnorm(model, seed=1)
    x = np.random.default_rng(2).normal(size=(64, 6)).astype("float32")
    folded = fold_batchnorm(model)
    kept = ["Dense", "Dense"] + (["Activation"] if ending == "bn_softmax" else [])
    assert [type(layer).__name__ for layer in folded.layers] == kept  # the BN went into the last Dense
    original, result = np.asarray(model(x, training=False)), np.asarray(folded(x, training=False))
    np.testing.assert_allclose(result, original, rtol=1e-5, atol=1e-5)  # float32 rounding only
    without_bn = keras.Sequential([keras.Input((6,))] + [layer for layer in model.layers
                                                         if not isinstance(layer, keras.layers.BatchNormalization)])
    assert np.abs(np.asarray(without_bn(x, training=False)) - original).max() > 0.1  # the BN did something


def test_a_final_bn_after_a_nonlinearity_is_refused():
    import keras
    from keras import layers

    message = "Cannot fold 'last_bn': no Dense layer comes after it, and the layer right before it is not a Dense"
    for middle in ([layers.Dense(8, activation="elu")], [layers.Dense(8), layers.Activation("relu")], []):
        _refused(keras.Sequential([keras.Input((28, 28)), layers.Flatten(), *middle,
                                   layers.BatchNormalization(name="last_bn")]), message)


def test_bn_on_another_axis_is_refused():
    import keras
    from keras import layers

    _refused(keras.Sequential([keras.Input((28, 28)), layers.BatchNormalization(axis=1), layers.Flatten(),
                               layers.Dense(3)]), "only BN on the last axis")


def test_functional_models_and_unknown_layers_are_refused():
    import keras
    from keras import layers

    inputs = keras.Input((4,))
    _refused(keras.Model(inputs, layers.Dense(2)(layers.BatchNormalization()(inputs))), "Sequential")
    _refused(keras.Sequential([keras.Input((28, 28)), layers.Reshape((784,)), layers.Dense(3)]),
             "does not know how to fold")


def test_a_linear_activation_between_bn_and_dense_still_folds():
    import keras
    from keras import layers

    from core.batchnorm.fold import fold_batchnorm

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), layers.BatchNormalization(), layers.Activation("linear"),
                              layers.Dense(3)])
    bn = model.layers[0]
    bn.set_weights([np.random.default_rng(0).uniform(0.5, 2.0, 4) for _ in range(4)])
    x = np.random.default_rng(1).normal(size=(16, 4)).astype("float32")
    np.testing.assert_allclose(fold_batchnorm(model).predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
