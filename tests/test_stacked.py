"""core.stacked's central claim: K stacked copies train exactly like K separate plain Keras models.

Each reference is an ordinary keras.Sequential with the copy's initial weights, trained with Keras's
own optimizer and loss (a fresh optimizer after every change of `trainable`, as compile() gives),
fed the copy's batches in order. The reference loop is Keras's train step written out (forward with
training=True, the compiled loss, tape gradient of the trainable weights, optimizer.apply), which
test_reference_loop_is_what_model_fit_does checks against model.fit itself; it is used because a
fit per segment costs a second of tracing per model. Weights and losses must agree to float32
tolerance (see assert_params_close).
"""

import dataclasses

import numpy as np
import pytest

from core import stacked
from core.stacked import Dense

SEEDS = (3, 4)
BATCH = 16
FEATURES = 784
RTOL, ATOL = 2e-4, 2e-5  # float32 rounding: the graph and XLA order some sums differently from Keras
# Nadam divides by the root of a running mean of squared gradients, so a weight whose gradient is ~0 but
# rounds to another sign moves by ~learning rate the other way: a few such weights may differ by more.
LOOSE_ATOL, LOOSE_SHARE = 1e-3, 0.01  # every weight within 1e-3 (a learning rate), at most 1% beyond the tight bound


@pytest.fixture(params=["graph", "xla"])
def path(request, monkeypatch):
    """Run a test with the copy loops as plain graphs (small runs) and XLA-compiled (big runs)."""
    monkeypatch.setattr(stacked.loop, "XLA_MIN_FLOP", 0 if request.param == "xla" else float("inf"))
    monkeypatch.setattr(stacked.loop, "XLA_MIN_COPY_STEPS", 0 if request.param == "xla" else float("inf"))
    return request.param


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.random((80, FEATURES), dtype=np.float32), rng.integers(0, 4, 80).astype(np.int32)


def streams_for(n_rows, updates, tag="test"):
    return np.stack([stacked.batch_stream(seed, tag, n_rows, BATCH, updates) for seed in SEEDS])


def keras_fit(model, x, y, stream, segments, loss="mse", optimizer=None):
    """Keras's train step over the stream's batches in order (optimizer: a fresh Keras one, as compile() makes);
    returns the mean training loss of each segment (measured before each update, as fit reports it)."""
    import keras
    import tensorflow as tf

    loss_function = keras.losses.get(loss)
    losses = []
    for step, rows in enumerate(stream):
        with tf.GradientTape() as tape:
            value = tf.reduce_mean(loss_function(y[rows], model(x[rows], training=True)))
        grads = tape.gradient(value, model.trainable_weights)
        optimizer.apply(grads, model.trainable_weights)
        losses.append(float(value))
    return np.array(losses).reshape(segments, -1).mean(axis=1)


def assert_params_close(ours: dict, reference: list[dict]):
    for key, value in ours.items():
        theirs = np.stack([copy[key] for copy in reference])
        np.testing.assert_allclose(value, theirs, rtol=0, atol=LOOSE_ATOL, err_msg=key)
        beyond = ~np.isclose(value, theirs, rtol=RTOL, atol=ATOL)
        assert beyond.mean() <= LOOSE_SHARE, f"{key}: {beyond.sum()} of {beyond.size} weights beyond the tight bound"


def keras_arrays(model, layers) -> dict:
    arrays = {}
    for layer in layers:
        keras_layer = model.get_layer(layer.name)
        if layer.tied_to is None:
            arrays[f"{layer.name}/kernel"] = keras_layer.kernel.numpy()
        arrays[f"{layer.name}/bias"] = keras_layer.bias.numpy()
    return arrays


def reference_autoencoder(layers, params, x, streams, optimizer, segments, noisy=None):
    """Plain Keras: one autoencoder per copy trained with loss="mse"; `noisy(copy)` gives its noisy inputs."""
    references, losses = [], []
    for copy in range(len(SEEDS)):
        model = stacked.keras_model(layers, params, x.shape[1], copy)
        fresh = stacked.keras_optimizer(optimizer)
        if noisy is None:
            losses.append(keras_fit(model, x, x, streams[copy], segments, optimizer=fresh))
        else:  # inputs: this copy's noisy batches, in order; targets: the clean images
            rows = streams[copy].ravel()
            inputs, targets = noisy(copy), x[rows]
            order = np.arange(len(rows)).reshape(streams[copy].shape)
            losses.append(keras_fit(model, inputs, targets, order, segments, optimizer=fresh))
        references.append(keras_arrays(model, layers))
    return references, np.array(losses)


BOOK_LIKE = (Dense("hidden", 12, "relu"), Dense("code", 6, "relu"), Dense("decode", 12, "relu"),
             Dense("pixels", FEATURES))


def test_joint_autoencoder_with_nadam_matches_keras(images):
    x, _ = images
    params = stacked.initial_params(BOOK_LIKE, FEATURES, SEEDS, "autoencoder")
    streams, optimizer = streams_for(len(x), 8), stacked.Nadam(1e-3)
    run = stacked.train(stacked.Reconstruction(BOOK_LIKE), params, tuple(params), optimizer, (x,), streams,
                        segments=2)
    reference, losses = reference_autoencoder(BOOK_LIKE, params, x, streams, optimizer, 2)
    assert_params_close(run.params, reference)
    np.testing.assert_allclose(run.loss, losses, rtol=RTOL, atol=1e-6)
    np.testing.assert_allclose(run.metric, run.loss)
    assert not np.allclose(run.params["code/kernel"][0], run.params["code/kernel"][1])


def test_sigmoid_autoencoder_with_cross_entropy_and_sgd_matches_keras(images):
    """The 2006 recipe: sigmoid units, binary cross-entropy reconstruction, plain SGD 0.1."""
    x, _ = images
    layers = (Dense("code", 10, "sigmoid"), Dense("pixels", FEATURES, "sigmoid"))
    params = stacked.initial_params(layers, FEATURES, SEEDS, "sigmoid")
    streams, optimizer = streams_for(len(x), 8), stacked.SGD(0.1)
    objective = stacked.Reconstruction(layers, loss="binary_crossentropy")
    run = stacked.train(objective, params, tuple(params), optimizer, (x,), streams, segments=2)
    references = []
    for copy in range(len(SEEDS)):
        model = stacked.keras_model(layers, params, FEATURES, copy)
        losses = keras_fit(model, x, x, streams[copy], 2, "binary_crossentropy", stacked.keras_optimizer(optimizer))
        np.testing.assert_allclose(run.loss[copy], losses, rtol=RTOL, atol=1e-6)
        references.append(keras_arrays(model, layers))
    assert_params_close(run.params, references)
    mse = stacked.evaluate(objective, run.params, (x,))[1]
    model = stacked.keras_model(layers, run.params, FEATURES, copy=1)
    assert mse[1] == pytest.approx(float(np.mean((model.predict(x, verbose=0) - x) ** 2)), rel=1e-5)


def test_greedy_layer_wise_pretraining_matches_keras(images):
    """Layer 1 rebuilds the pixels; layer 2 rebuilds layer 1's codes, computed once by the frozen layer 1."""
    x, _ = images
    first = (Dense("hidden", 12, "relu", "he_normal"), Dense("pixels", FEATURES))
    second = (Dense("code", 6, "relu", "he_normal"), Dense("decode", 12, "relu"))
    optimizer = stacked.Nadam(5e-3)
    params_1 = stacked.initial_params(first, FEATURES, SEEDS, "layer 1")
    streams_1 = streams_for(len(x), 8, "layer 1")
    run_1 = stacked.train(stacked.Reconstruction(first), params_1, tuple(params_1), optimizer, (x,), streams_1,
                          segments=2)
    codes = stacked.outputs(first[:1], run_1.params, x)  # (K, n, 12)
    params_2 = stacked.initial_params(second, 12, SEEDS, "layer 2")
    streams_2 = streams_for(len(x), 8, "layer 2")
    run_2 = stacked.train(stacked.Reconstruction(second), params_2, tuple(params_2), optimizer, (codes,),
                          streams_2, segments=2, per_copy=True)
    reference_1, losses_1 = reference_autoencoder(first, params_1, x, streams_1, optimizer, 2)
    assert_params_close(run_1.params, reference_1)
    np.testing.assert_allclose(run_1.loss, losses_1, rtol=RTOL, atol=1e-6)
    for copy in range(len(SEEDS)):  # Keras's layer 1 gives the same codes (up to the weights' rounding)...
        encoder = stacked.keras_model(first[:1], {k: v[None] for k, v in reference_1[copy].items()}, FEATURES)
        np.testing.assert_allclose(codes[copy], encoder.predict(x, verbose=0), rtol=2e-3, atol=ATOL)
        model = stacked.keras_model(second, params_2, 12, copy)  # ...and layer 2 trains alike on those codes
        losses = keras_fit(model, codes[copy], codes[copy], streams_2[copy], 2,
                           optimizer=stacked.keras_optimizer(optimizer))
        np.testing.assert_allclose(run_2.loss[copy], losses, rtol=RTOL, atol=1e-6)
        assert_params_close({key: value[copy:copy + 1] for key, value in run_2.params.items()},
                            [keras_arrays(model, second)])


def test_tied_weights_are_one_kernel_trained_by_both_uses(images):
    x, _ = images
    tied = (Dense("hidden", 12, "selu"), Dense("code", 6, "selu"), Dense("decode", 12, "selu", tied_to="code"),
            Dense("pixels", FEATURES, tied_to="hidden"))
    params = stacked.initial_params(tied, FEATURES, SEEDS, "tied")
    assert sorted(params) == ["code/bias", "code/kernel", "decode/bias", "hidden/bias", "hidden/kernel",
                              "pixels/bias"]
    streams, optimizer = streams_for(len(x), 8), stacked.Nadam(1e-3)
    run = stacked.train(stacked.Reconstruction(tied), params, tuple(params), optimizer, (x,), streams, segments=2)
    reference, losses = reference_autoencoder(tied, params, x, streams, optimizer, 2)
    assert_params_close(run.params, reference)
    np.testing.assert_allclose(run.loss, losses, rtol=RTOL, atol=1e-6)
    model = stacked.keras_model(tied, params, FEATURES)
    kernel_ids = {id(w) for w in model.weights if w.name == "kernel"}
    assert len(kernel_ids) == 2  # the decoder reuses the encoder's two kernel variables
    assert model.get_layer("pixels").dense is model.get_layer("hidden")


def test_denoising_noise_is_fed_to_keras_identically(images, path):
    x, _ = images
    import tensorflow as tf

    layers = (Dense("code", 10, "selu"), Dense("pixels", FEATURES, "sigmoid"))
    params = stacked.initial_params(layers, FEATURES, SEEDS, "denoising")
    streams, optimizer, stddev = streams_for(len(x), 8), stacked.Nadam(1e-3), 0.3
    noise_seeds = (11, 12)
    run = stacked.train(stacked.Reconstruction(layers, stddev), params, tuple(params), optimizer, (x,), streams,
                        noise_seeds=noise_seeds, segments=2)
    draw = tf.function(lambda seed, step: stacked.noise(seed, step, (BATCH, FEATURES), stddev),
                       jit_compile=path == "xla")  # XLA draws other numbers than TensorFlow's kernels

    def noisy(copy):
        return np.concatenate([x[streams[copy][step]] + draw(tf.constant(noise_seeds[copy]), tf.constant(step)).numpy()
                               for step in range(streams.shape[1])])  # tensors, so `draw` is traced once

    reference, losses = reference_autoencoder(layers, params, x, streams, optimizer, 2, noisy)
    assert_params_close(run.params, reference)
    np.testing.assert_allclose(run.loss, losses, rtol=RTOL, atol=1e-6)
    plain = stacked.train(stacked.Reconstruction(layers), params, tuple(params), optimizer, (x,), streams,
                          segments=2)
    assert not np.allclose(plain.params["code/kernel"], run.params["code/kernel"])


CLASSIFIER = (Dense("hidden_1", 10, "relu", "he_normal"), Dense("hidden_2", 8, "relu", "he_normal"),
              Dense("output", 4))


def reference_classifier(layers, params, x, y, streams, phases):
    """phases: [(optimizer, frozen layer names, updates, segments)]; a fresh compile for every phase."""
    references, histories = [], []
    for copy in range(len(SEEDS)):
        model = stacked.keras_model(layers, params, x.shape[1], copy, softmax_output=True)
        losses, start = [], 0
        for optimizer, frozen, updates, segments in phases:
            for layer in layers:
                model.get_layer(layer.name).trainable = layer.name not in frozen
            losses += list(keras_fit(model, x, y, streams[copy][start:start + updates], segments,
                                     "sparse_categorical_crossentropy", stacked.keras_optimizer(optimizer)))
            start += updates
        references.append(keras_arrays(model, layers))
        histories.append(losses)
    return references, np.array(histories)


def run_phases(layers, params, x, y, streams, phases):
    losses, start = [], 0
    for optimizer, frozen, updates, segments in phases:
        trainable = tuple(key for key in params if key.split("/")[0] not in frozen)
        run = stacked.train(stacked.Classification(layers), params, trainable, optimizer, (x, y),
                            streams[:, start:start + updates], segments=segments)
        params, start = run.params, start + updates
        losses.append(run.loss)
    return params, np.concatenate(losses, axis=1)


PHASES = {
    "frozen pretrained layers, new output": [(stacked.Nadam(1e-3), {"hidden_1", "hidden_2"}, 6, 2)],
    "frozen, then the top layer unfrozen at a lower rate":
        [(stacked.Nadam(1e-3), {"hidden_1", "hidden_2"}, 4, 2), (stacked.Nadam(1e-4), {"hidden_1"}, 4, 2)],
    "fine-tune everything": [(stacked.Nadam(1e-3), set(), 6, 2)],
    "2006: sigmoid, plain SGD 0.1": [(stacked.SGD(0.1), set(), 6, 2)],
    "SGD with momentum, frozen then unfrozen": [(stacked.SGD(0.05, 0.9), {"hidden_1"}, 4, 2),
                                                (stacked.SGD(0.01, 0.9), set(), 4, 2)],
}


@pytest.mark.parametrize("name", PHASES)
def test_classifier_phases_match_keras_recompiled_after_every_freeze(images, name):
    assert_classifier_phases_match_keras(images, name)


def test_classifier_phases_match_keras_on_the_xla_path(images, monkeypatch):
    """Big runs take this path (the denoising test covers Nadam and reconstruction on it)."""
    monkeypatch.setattr(stacked.loop, "XLA_MIN_FLOP", 0)
    assert_classifier_phases_match_keras(images, "2006: sigmoid, plain SGD 0.1")


def assert_classifier_phases_match_keras(images, name):
    x, y = images
    phases = PHASES[name]
    layers = CLASSIFIER
    if name.startswith("2006"):
        layers = tuple(Dense(layer.name, layer.units, "sigmoid" if layer.name != "output" else "linear")
                       for layer in CLASSIFIER)
    params = stacked.initial_params(layers, FEATURES, SEEDS, "classifier")
    streams = streams_for(len(x), sum(phase[2] for phase in phases))
    final, losses = run_phases(layers, params, x, y, streams, phases)
    reference, keras_losses = reference_classifier(layers, params, x, y, streams, phases)
    assert_params_close(final, reference)
    np.testing.assert_allclose(losses, keras_losses, rtol=RTOL, atol=1e-6)
    frozen_throughout = set.intersection(*[phase[1] for phase in phases])
    for layer_name in frozen_throughout:  # frozen weights do not move at all, in either implementation
        for kind in ("kernel", "bias"):
            key = f"{layer_name}/{kind}"
            assert np.array_equal(final[key], params[key])
            assert np.array_equal(np.stack([copy[key] for copy in reference]), params[key])


def test_reference_loop_is_what_model_fit_does(images):
    x, y = images
    params = stacked.initial_params(CLASSIFIER, FEATURES, SEEDS, "classifier")
    stream = streams_for(len(x), 6)[0]
    looped = stacked.keras_model(CLASSIFIER, params, FEATURES, softmax_output=True)
    losses = keras_fit(looped, x, y, stream, 2, "sparse_categorical_crossentropy", stacked.keras_optimizer(
        stacked.Nadam(1e-3)))
    fitted = stacked.keras_model(CLASSIFIER, params, FEATURES, softmax_output=True)
    fitted.compile(optimizer=stacked.keras_optimizer(stacked.Nadam(1e-3)), loss="sparse_categorical_crossentropy")
    fit_losses = [fitted.fit(x[part.ravel()], y[part.ravel()], batch_size=BATCH, shuffle=False, verbose=0
                             ).history["loss"][0] for part in np.split(stream, 2)]
    np.testing.assert_allclose(losses, fit_losses, rtol=1e-5)
    for ours, theirs in zip(looped.get_weights(), fitted.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)


def test_frozen_weights_move_in_keras_when_trainable_changes_without_a_new_compile(images):
    """The pitfall the optimizer-per-phase design avoids: Keras keeps the compiled trainable set."""
    x, y = images
    params = stacked.initial_params(CLASSIFIER, FEATURES, SEEDS[:1], "classifier")
    model = stacked.keras_model(CLASSIFIER, params, FEATURES, softmax_output=True)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x[:16], y[:16], batch_size=16, verbose=0)
    before = model.get_layer("hidden_1").kernel.numpy().copy()
    model.get_layer("hidden_1").trainable = False  # no compile after this change
    model.fit(x[:16], y[:16], batch_size=16, verbose=0)
    assert not np.array_equal(before, model.get_layer("hidden_1").kernel.numpy())


def test_copies_do_not_influence_each_other(images):
    x, y = images
    seeds = (3, 4, 5)
    params = stacked.initial_params(CLASSIFIER, FEATURES, seeds, "classifier")
    streams = np.stack([stacked.batch_stream(seed, "test", len(x), BATCH, 6) for seed in seeds])
    per_copy_x, per_copy_y = np.stack([x] * 3), np.stack([y] * 3)
    objective, optimizer = stacked.Classification(CLASSIFIER), stacked.Nadam(1e-3)
    first = stacked.train(objective, params, tuple(params), optimizer, (per_copy_x, per_copy_y), streams,
                          per_copy=True)
    per_copy_x[0], per_copy_y[0] = 1.0 - x, (y + 1) % 4
    changed_streams = streams.copy()
    changed_streams[0] = streams[0, ::-1]
    second = stacked.train(objective, params, tuple(params), optimizer, (per_copy_x, per_copy_y), changed_streams,
                           per_copy=True)
    assert not np.array_equal(first.params["hidden_1/kernel"][0], second.params["hidden_1/kernel"][0])
    for key in params:
        assert np.array_equal(first.params[key][1:], second.params[key][1:])
    assert np.array_equal(first.loss[1:], second.loss[1:])


def test_train_counts_the_updates_each_copy_made(images):
    """TrainResult.steps: each copy's compiled loop counts its optimizer updates, per segment (callers report these,
    not the numbers their config asked for)."""
    x, y = images
    params = stacked.initial_params(CLASSIFIER, FEATURES, SEEDS, "classifier")
    run = stacked.train(stacked.Classification(CLASSIFIER), params, tuple(params), stacked.SGD(0.1), (x, y),
                        streams_for(len(x), 6), segments=3, learning_rates=(0.1, 0.3))
    assert run.steps.shape == (len(SEEDS), 3) and run.steps.tolist() == [[2, 2, 2]] * len(SEEDS)


@dataclasses.dataclass(frozen=True)
class SamePair:
    """A Siamese objective written outside core.stacked: one encoder for both images, "same class?" from |e1 - e2|.

    Data: (images (n, f), pairs (m, 2) row ids, same (m,) 1.0 or 0.0); the stream indexes pairs.
    """

    encoder: tuple
    head: tuple

    def gather(self, data, rows):
        import tensorflow as tf

        images, pairs, same = data
        chosen = tf.gather(pairs, rows)
        return tf.gather(images, chosen[:, 0]), tf.gather(images, chosen[:, 1]), tf.gather(same, rows)

    def _losses_and_hits(self, params, first, second, same):
        import tensorflow as tf

        distance = tf.abs(stacked.forward(self.encoder, params, first) - stacked.forward(self.encoder, params, second))
        logits = stacked.forward(self.head, params, distance, logits=True)[:, 0]
        losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=same, logits=logits)
        return losses, tf.cast(tf.equal(tf.cast(logits > 0, tf.float32), same), tf.float32)

    def loss_and_metric(self, params, batch, noise_seed, step):
        import tensorflow as tf

        losses, hits = self._losses_and_hits(params, *batch)
        return tf.reduce_mean(losses), tf.reduce_mean(hits)

    def evaluate(self, params, data):
        import tensorflow as tf

        losses, hits = self._losses_and_hits(params, *self.gather(data, tf.range(tf.shape(data[1])[0])))
        return tf.reduce_sum(losses), tf.reduce_sum(hits)


def test_a_siamese_objective_plugs_in_and_both_branches_are_one_set_of_weights(images):
    """Issue 15's pair loss on this machinery: checked against a Keras model applying the same layers twice."""
    import keras
    import tensorflow as tf

    x, y = images
    rng = np.random.default_rng(2)
    pairs = rng.integers(0, len(x), (60, 2)).astype(np.int32)
    same = (y[pairs[:, 0]] == y[pairs[:, 1]]).astype(np.float32)
    encoder, head = (Dense("shared", 8, "relu"),), (Dense("same", 1, "sigmoid"),)
    objective = SamePair(encoder, head)
    params = stacked.initial_params(encoder + head, FEATURES, SEEDS, "siamese")
    streams = streams_for(len(pairs), 6)
    run = stacked.train(objective, params, tuple(params), stacked.Nadam(1e-3), (x, pairs, same), streams, segments=2)
    references = []
    for copy in range(len(SEEDS)):
        shared = keras.layers.Dense(8, activation="relu", name="shared")
        out = keras.layers.Dense(1, activation="sigmoid", name="same")
        first, second = keras.Input((FEATURES,)), keras.Input((FEATURES,))
        model = keras.Model([first, second], out(keras.ops.abs(shared(first) - shared(second))))
        for layer in (shared, out):
            layer.kernel.assign(params[f"{layer.name}/kernel"][copy])
        assert len(model.trainable_weights) == 4  # the two branches hold one kernel and one bias
        optimizer, losses = stacked.keras_optimizer(stacked.Nadam(1e-3)), []
        for rows in streams[copy]:
            chosen = pairs[rows]
            with tf.GradientTape() as tape:
                value = tf.reduce_mean(keras.losses.binary_crossentropy(
                    same[rows][:, None], model([x[chosen[:, 0]], x[chosen[:, 1]]], training=True)))
            optimizer.apply(tape.gradient(value, model.trainable_weights), model.trainable_weights)
            losses.append(float(value))
        np.testing.assert_allclose(run.loss[copy], np.reshape(losses, (2, -1)).mean(axis=1), rtol=RTOL, atol=1e-6)
        references.append({f"{layer.name}/{kind}": getattr(layer, kind).numpy() for layer in (shared, out)
                           for kind in ("kernel", "bias")})
    assert_params_close(run.params, references)


def test_initial_params_are_what_a_keras_dense_with_that_seed_draws():
    import keras

    params = stacked.initial_params(CLASSIFIER, FEATURES, (7, 8), "salt")
    for copy, seed in enumerate((7, 8)):
        layer = keras.layers.Dense(10, kernel_initializer=stacked.keras_initializer(
            "he_normal", stacked.layer_seed(seed, "salt", "hidden_1")))
        layer.build((None, FEATURES))
        assert np.array_equal(params["hidden_1/kernel"][copy], layer.kernel.numpy())
        assert np.array_equal(params["hidden_1/bias"][copy], layer.bias.numpy())
    assert not np.array_equal(params["hidden_1/kernel"][0], params["hidden_1/kernel"][1])
    other = stacked.initial_params(CLASSIFIER, FEATURES, (7,), "other salt")
    assert not np.array_equal(other["hidden_1/kernel"][0], params["hidden_1/kernel"][0])


def test_evaluate_and_outputs_match_keras(images):
    x, y = images
    params = stacked.initial_params(CLASSIFIER, FEATURES, SEEDS, "classifier")
    loss, accuracy = stacked.evaluate(stacked.Classification(CLASSIFIER), params, (x, y))
    hidden = stacked.outputs(CLASSIFIER[:2], params, x)
    for copy in range(len(SEEDS)):
        model = stacked.keras_model(CLASSIFIER, params, FEATURES, copy, softmax_output=True)
        model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        keras_loss, keras_accuracy = model.evaluate(x, y, verbose=0)
        assert loss[copy] == pytest.approx(keras_loss, rel=1e-5)
        assert accuracy[copy] == pytest.approx(keras_accuracy)
        truncated = stacked.keras_model(CLASSIFIER[:2], params, FEATURES, copy)
        np.testing.assert_allclose(hidden[copy], truncated.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_batch_stream_shuffles_each_epoch_and_fills_every_batch():
    stream = stacked.batch_stream(1, "tag", np.arange(100, 110), 4, 6)  # 24 rows: 2 epochs of 10, then 4 more
    assert stream.shape == (6, 4)
    flat = stream.ravel()
    assert sorted(flat[:10]) == list(range(100, 110)) and sorted(flat[10:20]) == list(range(100, 110))
    assert not np.array_equal(flat[:10], flat[10:20])
    assert np.array_equal(stream, stacked.batch_stream(1, "tag", np.arange(100, 110), 4, 6))
    assert not np.array_equal(stream, stacked.batch_stream(1, "other", np.arange(100, 110), 4, 6))


@pytest.mark.parametrize("bad", [
    lambda: Dense("x", 0),
    lambda: Dense("x", 3, "softmax"),
    lambda: stacked.Nadam(0.0),
    lambda: stacked.SGD(float("nan")),
    lambda: stacked.SGD(0.1, momentum=1.0),
    lambda: stacked.Classification((Dense("out", 3, "relu"),)),
    lambda: stacked.param_shapes((Dense("a", 3), Dense("b", 5, tied_to="a")), 4),
    lambda: stacked.batch_stream(0, "t", 0, 4, 2),
])
def test_bad_input_is_a_readable_value_error(bad):
    with pytest.raises(ValueError):
        bad()


def test_train_rejects_streams_that_do_not_fit(images):
    x, y = images
    params = stacked.initial_params(CLASSIFIER, FEATURES, SEEDS, "classifier")
    objective, optimizer = stacked.Classification(CLASSIFIER), stacked.SGD(0.1)
    with pytest.raises(ValueError, match="segments"):
        stacked.train(objective, params, tuple(params), optimizer, (x, y), streams_for(len(x), 5), segments=2)
    with pytest.raises(ValueError, match="outside"):
        stacked.train(objective, params, tuple(params), optimizer, (x[:10], y[:10]), streams_for(len(x), 4))
    with pytest.raises(ValueError, match="trainable"):
        stacked.train(objective, params, ("nope/kernel",), optimizer, (x, y), streams_for(len(x), 4))


# ---- one learning rate per copy (a learning-rate search's candidates as extra copies) ----

@pytest.mark.parametrize("optimizer, rates", [(stacked.SGD(0.05), (0.01, 0.1)), (stacked.SGD(0.05, 0.9), (0.1, 0.01)),
                                              (stacked.Nadam(1e-3), (1e-3, 1e-2))])
def test_per_copy_learning_rates_equal_separate_runs_at_each_rate(images, optimizer, rates):
    x, y = images
    params = stacked.initial_params(CLASSIFIER, FEATURES, SEEDS, "classifier")
    streams, objective = streams_for(len(x), 6), stacked.Classification(CLASSIFIER)
    both = stacked.train(objective, params, tuple(params), optimizer, (x, y), streams, segments=2,
                         learning_rates=rates)
    alone = [stacked.train(objective, params, tuple(params), dataclasses.replace(optimizer, learning_rate=rate),
                           (x, y), streams, segments=2) for rate in rates]
    for copy, run in enumerate(alone):  # copy k of the shared run is copy k of the run at rates[k]
        for key in params:
            np.testing.assert_allclose(both.params[key][copy], run.params[key][copy], rtol=RTOL, atol=ATOL,
                                       err_msg=key)
        np.testing.assert_allclose(both.loss[copy], run.loss[copy], rtol=RTOL, atol=1e-6)
        np.testing.assert_allclose(both.metric[copy], run.metric[copy], rtol=RTOL, atol=1e-6)
    # the rates really differ: each copy is far from what the other rate would have made of it
    assert not np.allclose(both.params["hidden_1/kernel"][0], alone[1].params["hidden_1/kernel"][0], atol=1e-4)
    assert not np.allclose(both.params["hidden_1/kernel"][1], alone[0].params["hidden_1/kernel"][1], atol=1e-4)
    same = stacked.train(objective, params, tuple(params), optimizer, (x, y), streams, segments=2,
                         learning_rates=(optimizer.learning_rate,) * 2)
    default = stacked.train(objective, params, tuple(params), optimizer, (x, y), streams, segments=2)
    for key in params:  # no learning_rates: every copy at the optimizer's own rate
        np.testing.assert_array_equal(same.params[key], default.params[key])


def test_a_per_copy_nadam_rate_is_keras_nadam_at_that_rate(images, path):
    """On both paths (graph and XLA), each copy is keras.optimizers.Nadam at its own rate."""
    import keras

    x, y = images
    params = stacked.initial_params(CLASSIFIER, FEATURES, SEEDS, "classifier")
    streams, rates = streams_for(len(x), 6), (1e-3, 1e-2)
    run = stacked.train(stacked.Classification(CLASSIFIER), params, tuple(params), stacked.Nadam(1e-3), (x, y),
                        streams, segments=2, learning_rates=rates)
    references = []
    for copy, rate in enumerate(rates):
        model = stacked.keras_model(CLASSIFIER, params, FEATURES, copy, softmax_output=True)
        losses = keras_fit(model, x, y, streams[copy], 2, "sparse_categorical_crossentropy",
                           keras.optimizers.Nadam(learning_rate=rate))
        np.testing.assert_allclose(run.loss[copy], losses, rtol=RTOL, atol=1e-6)
        references.append(keras_arrays(model, CLASSIFIER))
    assert_params_close(run.params, references)


@pytest.mark.parametrize("rates, fragment", [((0.01,), "one learning rate per copy"),
                                             ((0.01, 0.02, 0.03), "one learning rate per copy"),
                                             (((0.01, 0.02),), "one learning rate per copy"),
                                             ((0.01, 0.0), "greater than 0"), ((float("nan"), 0.01), "greater than 0")])
def test_learning_rates_must_be_one_positive_rate_per_copy(images, rates, fragment):
    x, y = images
    params = stacked.initial_params(CLASSIFIER, FEATURES, SEEDS, "classifier")
    with pytest.raises(ValueError, match=fragment):
        stacked.train(stacked.Classification(CLASSIFIER), params, tuple(params), stacked.SGD(0.1), (x, y),
                      streams_for(len(x), 4), learning_rates=rates)
