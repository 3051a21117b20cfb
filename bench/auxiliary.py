"""Time the auxiliary pretraining comparison as plain Keras code (model.fit per seed) and stacked (core.auxiliary).

    python -m bench.auxiliary            # the bench experiment below; Keras for --keras-seeds seeds, stacked for 10
    python -m bench.auxiliary --quick    # smoke run on the tiny preset (numbers meaningless)

The experiment: every source of one seed (the 8-class supervised net, the autoencoder, the same/different
net, the masked-image net: each 784-100-30 relu, Nadam 1e-3, `source_epochs` epochs' worth of updates of
32 on the unlabeled pool: 1 epoch here, the page's 5 would make the plain arm take most of an hour on a
loaded machine), then all 13 reuse arms on 200 labels (600 updates each, the frozen-then-unfrozen arm
recompiled at 1e-4 after 300), test accuracy at the end.
Plain Keras: what a student would write, per seed: a Sequential per net, the Siamese net as a functional
model applying one encoder to two inputs, the masked net with a loss reading the mask beside the truth,
each net fitted on that seed's batches in order (`shuffle=False`, one epoch over the stream's rows), every
arm a fresh model with the source's weights set, `trainable=False` for frozen encoders. `--keras-seeds`
seeds are each timed and scaled to 10 (the plain loop runs seeds one after the other).
Stacked: `core.auxiliary.reuse` for 10 seeds into an empty store (tracing and compiling included).
Times are wall seconds with the machine's load average beside: the machine is shared.
The last line is `auxiliary_speedup_10_seeds: X`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SEEDS_COMPARED = 10
BENCH_LABELS = 200
SOURCE_EPOCHS = 1


def experiment(quick: bool):
    from core import auxiliary, pretraining

    if quick:
        return auxiliary.Reuse.tiny()
    encoder = dataclasses.replace(pretraining.Pretraining(), epochs=SOURCE_EPOCHS)
    return auxiliary.Reuse(auxiliary.Common(encoder=encoder), n_labels=BENCH_LABELS)


def _dense_stack(layers, name: str):
    import keras

    return [keras.layers.Dense(layer.units, activation=layer.activation, name=f"{name}_{layer.name}")
            for layer in layers]


def _fit_stream(model, inputs, targets, stream):
    """Fit one pass over the seed's batches in order: rows stream (updates, 32) gathered up front."""
    rows = stream.reshape(-1)
    model.fit([array[rows] for array in inputs] if isinstance(inputs, list) else inputs[rows], targets[rows],
              batch_size=stream.shape[1], epochs=1, shuffle=False, verbose=0)


def keras_seed(config, seed: int) -> tuple[float, dict]:
    """Every source and every arm of one seed as plain Keras; (wall seconds, test accuracy per arm)."""
    import keras

    from core import auxiliary, stacked

    common = config.common
    arrays = auxiliary.source_data(common)
    encoder = auxiliary.encoder_layers(common)
    updates, batch = common.source_updates, common.batch_size
    started = time.perf_counter()
    encoders = {}

    def encoder_model(name):
        return keras.Sequential([keras.Input((784,)), *_dense_stack(encoder, name)], name=f"{name}_encoder")

    # supervised: the 8 other classes
    keep = np.isin(arrays.y_pool, common.other_classes)
    mapping = np.full(10, -1, np.int32)
    mapping[list(common.other_classes)] = np.arange(8)
    x_sup, y_sup = arrays.x_pool[keep], mapping[arrays.y_pool[keep]]
    base = encoder_model("supervised")
    model = keras.Sequential([base, keras.layers.Dense(8, activation="softmax")])
    model.compile(keras.optimizers.Nadam(common.learning_rate), "sparse_categorical_crossentropy")
    _fit_stream(model, x_sup, y_sup, stacked.batch_stream(seed, "supervised source", len(x_sup), batch, updates))
    encoders["supervised"] = base

    # autoencoder: the unsupervised page's recipe (MSE, linear pixels)
    base = encoder_model("autoencoder")
    decoder = _dense_stack(auxiliary.decoder_layers(common), "autoencoder_decoder")
    model = keras.Sequential([base, *decoder])
    model.compile(keras.optimizers.Nadam(common.encoder.learning_rates[0]), "mse")
    _fit_stream(model, arrays.x_pool, arrays.x_pool,
                stacked.batch_stream(seed, "autoencoder joint", len(arrays.x_pool), batch, updates))
    encoders["autoencoder"] = base

    # siamese: one encoder on both inputs, "same?" from |e1 - e2|
    base = encoder_model("siamese")
    first, second = keras.Input((784,)), keras.Input((784,))
    logit = keras.layers.Dense(1)(keras.ops.abs(base(first) - base(second)))
    model = keras.Model([first, second], logit)
    model.compile(keras.optimizers.Nadam(common.learning_rate), keras.losses.BinaryCrossentropy(from_logits=True))
    siamese = config.source("siamese")
    pairs, same = auxiliary.make_pairs(arrays.y_pool, common.other_classes, siamese.n_pairs, seed)
    rows = stacked.batch_stream(seed, "siamese source", siamese.n_pairs, batch, updates)
    _fit_stream(model, [arrays.x_pool[pairs[:, 0]], arrays.x_pool[pairs[:, 1]]], same, rows)
    encoders["siamese"] = base

    # masked: a random patch per image per batch, the loss reads the mask stored beside the truth
    base = encoder_model("masked")
    model = keras.Sequential([base, *_dense_stack(auxiliary.decoder_layers(common), "masked_decoder")])

    def masked_loss(truth_and_mask, predicted):
        truth, mask = truth_and_mask[:, :784], truth_and_mask[:, 784:]
        return auxiliary.masked_errors(predicted, truth, mask)

    model.compile(keras.optimizers.Nadam(common.learning_rate), masked_loss)
    stream = stacked.batch_stream(seed, "masked source", len(arrays.x_pool), batch, updates)
    masks = auxiliary.patch_masks(seed, 0, stream.size, config.patch).numpy()
    x_seen = arrays.x_pool[stream.reshape(-1)]
    model.fit(x_seen * (1 - masks), np.concatenate([x_seen, masks], axis=1), batch_size=batch, epochs=1,
              shuffle=False, verbose=0)
    encoders["masked"] = base

    # reuse: 13 arms on the seed's labelled images, the same batches for each
    subset = auxiliary.labelled_subset(arrays.y_reserve, config.n_labels, seed)
    stream = stacked.batch_stream(seed, "target", subset, batch, config.updates)
    accuracy = {}

    def target_model(source, trainable: bool):
        base = encoder_model(f"target_{source}")
        if source != "scratch":
            base.set_weights(encoders[source].get_weights())  # copied: the source keeps its own arrays
        base.trainable = trainable
        return keras.Sequential([base, keras.layers.Dense(2, activation="softmax")]), base

    def fit(model, rate, rows):
        model.compile(keras.optimizers.Nadam(rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
        _fit_stream(model, arrays.x_reserve, arrays.y_reserve, rows)

    def score(model):
        return float(model.evaluate(arrays.x_test, arrays.y_test, verbose=0, batch_size=4096)[1])

    model, _ = target_model("scratch", True)
    fit(model, config.learning_rate, stream)
    accuracy["scratch"] = score(model)
    for source in auxiliary.SOURCES:
        model, _ = target_model(source, True)
        fit(model, config.learning_rate, stream)
        accuracy[f"{source}:fine_tune"] = score(model)
        model, _ = target_model(source, False)
        fit(model, config.learning_rate, stream)
        accuracy[f"{source}:frozen"] = score(model)
        model, base = target_model(source, False)
        fit(model, config.learning_rate, stream[:config.frozen_updates])
        base.trainable = True  # unfreeze, then compile again (a fresh optimizer) at the lower rate
        fit(model, config.unfrozen_learning_rate, stream[config.frozen_updates:])
        accuracy[f"{source}:frozen_then_unfrozen"] = score(model)
    keras.backend.clear_session()
    return time.perf_counter() - started, accuracy


def stacked_seconds(config, n_seeds: int) -> tuple[float, np.ndarray]:
    from core import auxiliary, store

    with tempfile.TemporaryDirectory() as folder:
        results = store.Store(os.path.join(folder, store.DB_NAME))
        started = time.perf_counter()
        result = auxiliary.reuse(config, range(n_seeds), results)
        return time.perf_counter() - started, result.accuracy


def load() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def main(argv=None) -> None:
    import platform

    import tensorflow as tf

    from core import auxiliary, data

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the tiny preset (a smoke run; numbers meaningless)")
    parser.add_argument("--keras-seeds", type=int, default=1, help="seeds timed as plain Keras (default 1)")
    args = parser.parse_args(argv)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, TensorFlow {tf.__version__}, load {load()}",
          flush=True)
    config = experiment(args.quick)
    data.load_book_splits()
    auxiliary.source_data(config.common)
    print(f"experiment: {config.describe()}; sources {config.common.source_updates} updates each", flush=True)
    keras_times = []
    for seed in range(args.keras_seeds):
        seconds, accuracy = keras_seed(config, seed)
        keras_times.append(seconds)
        print(f"plain Keras seed {seed}: {seconds:.1f} s (load {load()}); scratch {accuracy['scratch']:.3f}, "
              f"siamese fine-tune {accuracy['siamese:fine_tune']:.3f}", flush=True)
    keras_ten = float(np.mean(keras_times)) * SEEDS_COMPARED
    stacked, accuracy = stacked_seconds(config, SEEDS_COMPARED)
    print(f"stacked, {SEEDS_COMPARED} seeds at once: {stacked:.1f} s (load {load()}); mean scratch "
          f"{accuracy[:, 0].mean():.3f}", flush=True)
    print(f"plain_keras_10_seeds_seconds: {keras_ten:.1f}")
    print(f"stacked_10_seeds_seconds: {stacked:.1f}")
    print(f"auxiliary_speedup_10_seeds: {keras_ten / stacked:.2f}")


if __name__ == "__main__":
    main()
