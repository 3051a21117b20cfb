"""Time the pretraining experiment as plain Keras code (model.fit per seed) and stacked (core.pretraining), in one run.

    python -m bench.pretraining            # full run: about 20-30 minutes on 2 cores
    python -m bench.pretraining --quick    # smoke run on the tiny preset, in one process (numbers meaningless)

(a) The experiment of the page's default: the book's recipe (784-100-30 autoencoder, 5 epochs of Nadam
on the 45,000 unlabeled images), then every arm on 100 labels per seed (scratch, frozen, frozen then
top, fine-tune all, raw pixels: 600 updates each; the frozen run continued to 3,000 updates and the
same on standardised codes; validation accuracy every 100 updates, test accuracy at the end).
Plain Keras: what a student would write, per seed: an autoencoder fitted on the pool with
validation data, then a fresh compile per arm and phase, each arm fitted on its seed's batches in
order (one fit per 100 updates, then an evaluate), the frozen arms as models with frozen layers.
`--keras-seeds` seeds (2) are each timed alone and scaled to 10: the plain loop's seeds run one
after the other and cost the same. Stacked: `fine_tune` for 10 seeds at once into an empty store
(initialisation, tracing and XLA compiling included).
(b) The page's default experiment as the page runs it: 5 seeds, an empty store.
(c) The full grid: the 2006 and today regimes x 100 / 500 / 1,000 / 5,000 labels x 10 seeds, an empty store.
Every timed arm runs in a fresh process of its own (TensorFlow imported and data loaded off the clock),
so no arm inherits another's compiled functions. Times are wall seconds, CPU seconds (all threads) beside.
The last lines are `name: value` pairs; the very last is `unsupervised_speedup_10_seeds`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from bench import engine_speed  # the machine line and the seed-count check every bench prints and parses

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SEEDS_COMPARED = 10  # seeds of the speed comparison (the "at 10 seeds")
DEFAULT_SEEDS = 5  # seeds of the page's default experiment
DEFAULT_LABELS = 100  # its label count


class Clock:
    """Wall and CPU seconds (all threads) of a block."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def experiment(quick: bool, regime: str = "book", n_labels: int = DEFAULT_LABELS):
    """The timed experiment (quick: the tiny preset)."""
    from core import pretraining

    return pretraining.FineTuning.tiny(regime) if quick else pretraining.FineTuning.preset(regime, n_labels)


def own_process(function, *args):
    """Run function(*args) in a fresh spawned Python process; returns (its result, that process's peak RSS in MB)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_in_process, function, *args).result()


def _in_process(function, *args):
    import resource

    import tensorflow  # noqa: F401  (imported off the clock, as a running server already has it)

    from core import data

    data.load_book_splits()
    result = function(*args)
    return result, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---- plain Keras: the experiment written as a student would, one seed at a time ----

def keras_seconds_per_seed(quick: bool, seeds) -> list[tuple[float, float, float, float, dict]]:
    """(wall, CPU, autoencoder wall, autoencoder CPU, test accuracies) of the plain Keras experiment, per seed."""
    from core import pretraining

    config = experiment(quick)
    pretraining.split_arrays(config.pretraining.split)  # cut the data off the clock
    timings = []
    for seed in seeds:
        with Clock() as clock:
            accuracies, autoencoder = keras_experiment(config, seed)
        timings.append((clock.wall, clock.cpu, autoencoder.wall, autoencoder.cpu, accuracies))
    return timings


def _keras_optimizer(name: str, rate: float):
    import keras

    return keras.optimizers.Nadam(learning_rate=rate) if name == "nadam" else keras.optimizers.SGD(learning_rate=rate)


def _reconstruction_loss(pretrain, features: int):
    import keras

    if not pretrain.summed_loss:
        return pretrain.loss
    base = keras.losses.get(pretrain.loss)
    return lambda y_true, y_pred: base(y_true, y_pred) * features  # summed over the features


def keras_autoencoder(pretrain, arrays, seed: int) -> list:
    """The encoder's Dense layers after pretraining, with model.fit (joint, or one layer at a time)."""
    import keras

    from core import stacked

    keras.utils.set_random_seed(seed)
    last = len(pretrain.hidden_units)
    encoder = [keras.layers.Dense(units, activation=pretrain.code_activation if i == last else pretrain.activation,
                                  kernel_initializer=pretrain.initializer)
               for i, units in enumerate(pretrain.hidden_units, start=1)]
    widths = (784, *pretrain.hidden_units)

    def decoder(index: int):  # rebuilds the input of encoder layer `index`
        activation = pretrain.reconstruction_activation if index == 0 else pretrain.activation
        if pretrain.tied:
            return stacked.dense_transpose_class()(encoder[index], activation=activation)
        return keras.layers.Dense(widths[index], activation=activation, kernel_initializer=pretrain.initializer)

    noise = [keras.layers.GaussianNoise(pretrain.noise_stddev)] if pretrain.noise_stddev else []
    fit = {"epochs": pretrain.epochs, "batch_size": pretrain.batch_size, "verbose": 0}
    if not pretrain.greedy:
        model = keras.Sequential([keras.Input((784,)), *noise, *encoder,
                                  *[decoder(index) for index in reversed(range(last))]])
        model.compile(optimizer=_keras_optimizer(pretrain.optimizer, pretrain.learning_rate(0)),
                      loss=_reconstruction_loss(pretrain, 784))
        model.fit(arrays.x_pool, arrays.x_pool, validation_data=(arrays.x_valid, arrays.x_valid), **fit)
        return encoder
    inputs, valid = arrays.x_pool, arrays.x_valid
    for index, layer in enumerate(encoder):
        model = keras.Sequential([keras.Input((widths[index],)), *noise, layer, decoder(index)])
        model.compile(optimizer=_keras_optimizer(pretrain.optimizer, pretrain.learning_rate(index)),
                      loss=_reconstruction_loss(pretrain, widths[index]))
        model.fit(inputs, inputs, validation_data=(valid, valid), **fit)
        codes = keras.Sequential([keras.Input((widths[index],)), layer])
        inputs, valid = codes.predict(inputs, batch_size=1024, verbose=0), codes.predict(valid, batch_size=1024,
                                                                                             verbose=0)
    return encoder


def keras_experiment(config, seed: int) -> tuple[dict, Clock]:
    """The whole experiment for one seed in plain Keras; the test accuracy of each arm, and the autoencoder's clock."""
    import keras

    from core import pretraining, stacked

    pretrain, arrays = config.pretraining, pretraining.split_arrays(config.pretraining.split)
    with Clock() as autoencoder:
        encoder = keras_autoencoder(pretrain, arrays, seed)
    subset = pretraining.labelled_subset(arrays.y_reserve, config.n_labels, seed)
    stream = stacked.batch_stream(seed, "classifier", subset, config.batch_size, config.pitfall_updates)
    parts = np.split(stream, config.pitfall_updates // config.segment)
    n_curve, n_frozen = config.curve_points, int(config.frozen_share * config.curve_points)
    curve = (arrays.x_valid[:pretraining.CURVE_VALIDATION], arrays.y_valid[:pretraining.CURVE_VALIDATION])

    def compile_model(model, rate):
        model.compile(optimizer=_keras_optimizer(config.optimizer, rate), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])

    def fit_parts(model, x, y, stretch, x_curve=curve[0]):
        for part in stretch:
            model.fit(x[part.ravel()], y[part.ravel()], batch_size=config.batch_size, shuffle=False, verbose=0)
            model.evaluate(x_curve, curve[1], verbose=0)

    def classifier(pretrained: bool):
        layers = []
        for layer in encoder:
            copy = keras.layers.Dense(layer.units, activation=layer.activation,
                                      kernel_initializer=pretrain.initializer)
            layers.append(copy)
        model = keras.Sequential([keras.Input((784,)), *layers, keras.layers.Dense(10, activation="softmax")])
        if pretrained:  # clone, never share: training the arm must not change the autoencoder
            for copy, layer in zip(layers, encoder):
                copy.set_weights(layer.get_weights())
        return model, layers

    x, y, accuracy = arrays.x_reserve, arrays.y_reserve, {}
    test = (arrays.x_test, arrays.y_test)
    for arm, pretrained in (("scratch", False), ("fine_tune_all", True)):
        model, _ = classifier(pretrained)
        compile_model(model, config.learning_rate)
        fit_parts(model, x, y, parts[:n_curve])
        accuracy[arm] = model.evaluate(*test, verbose=0)[1]

    model, layers = classifier(True)
    for layer in layers:
        layer.trainable = False
    compile_model(model, config.learning_rate)
    fit_parts(model, x, y, parts[:n_curve])
    accuracy["frozen"] = model.evaluate(*test, verbose=0)[1]
    fit_parts(model, x, y, parts[n_curve:])
    accuracy["frozen_long"] = model.evaluate(*test, verbose=0)[1]

    codes_model = keras.Sequential([keras.Input((784,)), *layers])
    pool_codes = codes_model.predict(arrays.x_pool[:pretraining.POOL_STATS_IMAGES], batch_size=1024, verbose=0)
    mean, std = pool_codes.mean(axis=0), pool_codes.std(axis=0)

    def standardise(images):
        return (codes_model.predict(images, batch_size=1024, verbose=0) - mean) / np.where(std > 0, std, 1.0)

    head = keras.Sequential([keras.Input((pretrain.hidden_units[-1],)), keras.layers.Dense(10, activation="softmax")])
    compile_model(head, config.learning_rate)
    codes, curve_codes = standardise(x), standardise(curve[0])
    fit_parts(head, codes, y, parts, x_curve=curve_codes)
    accuracy["frozen_standardized_long"] = head.evaluate(standardise(test[0]), test[1], verbose=0)[1]

    model, layers = classifier(True)
    for layer in layers:
        layer.trainable = False
    compile_model(model, config.learning_rate)
    fit_parts(model, x, y, parts[:n_frozen])
    for layer in layers[len(layers) - config.unfreeze_top:]:
        layer.trainable = True
    compile_model(model, config.unfrozen_learning_rate)  # compile again after unfreezing
    fit_parts(model, x, y, parts[n_frozen:n_curve])
    accuracy["frozen_then_top"] = model.evaluate(*test, verbose=0)[1]

    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])
    compile_model(model, config.learning_rate)
    fit_parts(model, x, y, parts[:n_curve])
    accuracy["raw_pixels"] = model.evaluate(*test, verbose=0)[1]
    return accuracy, autoencoder


# ---- stacked ----

def stacked_seconds(quick: bool, n_seeds: int, regime: str = "book", n_labels: int = DEFAULT_LABELS,
                    split_phases: bool = True) -> tuple:
    """(pretraining wall, CPU), (arms wall, CPU), mean test accuracies: one fine_tune of n_seeds into an empty store.

    With split_phases the autoencoders are trained by `pretrain` first (timed apart), else `fine_tune` does both.
    """
    from core import pretraining, store

    config = experiment(quick, regime, n_labels)
    pretraining.split_arrays(config.pretraining.split)
    with tempfile.TemporaryDirectory() as folder:
        results = store.Store(os.path.join(folder, store.DB_NAME))
        with Clock() as first:
            if split_phases:
                pretraining.pretrain(config.pretraining, range(n_seeds), results)
        with Clock() as second:
            comparison = pretraining.fine_tune(config, range(n_seeds), results)
    means = dict(zip(pretraining.ARMS, comparison.test_accuracy.mean(axis=0).round(4).tolist()))
    return (first.wall, first.cpu), (second.wall, second.cpu), means


def grid_seconds(quick: bool, n_seeds: int) -> tuple[float, float, dict]:
    """(wall, CPU) of the full grid into an empty store, and each cell's mean gains over scratch (points)."""
    from core import pretraining, store

    # quick: the tiny book experiment again, whose functions (a) has compiled: a check that the grid runs
    labels, regimes = ((50,), ("book",)) if quick else (pretraining.LABEL_COUNTS, ("2006", "today"))
    with tempfile.TemporaryDirectory() as folder:
        results = store.Store(os.path.join(folder, store.DB_NAME))
        with Clock() as clock:
            grid = pretraining.run_grid(regimes, labels, range(n_seeds), results, tiny=quick)
    gains = {f"{regime} {n}": round(float(100 * (c.arm("fine_tune_all") - c.arm("scratch")).mean()), 2)
             for (regime, n), c in grid.items()}
    return clock.wall, clock.cpu, gains


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the tiny preset in one process: a smoke run")
    parser.add_argument("--keras-seeds", type=engine_speed.positive_int, default=None,
                        help="plain Keras seeds, each timed alone and scaled to 10 (default 2; 1 with --quick)")
    parser.add_argument("--skip-grid", action="store_true", help="leave out the full grid (c)")
    args = parser.parse_args(argv)
    quick, keras_seeds = args.quick, args.keras_seeds or (1 if args.quick else 2)
    run = (lambda function, *rest: (function(*rest), 0.0)) if quick else own_process
    n_compared = 2 if quick else SEEDS_COMPARED
    print(engine_speed.machine_line())
    print(f"(a) {experiment(quick).pretraining.describe()}; {experiment(quick).describe()}", flush=True)

    keras_runs, keras_peak = run(keras_seconds_per_seed, quick, tuple(range(keras_seeds)))
    keras_wall, keras_cpu, ae_wall, ae_cpu = (np.mean([timing[i] for timing in keras_runs]) for i in range(4))
    print(f"(a) plain Keras, per seed (each of {keras_seeds} timed alone): {keras_wall:.1f} s, {keras_cpu:.1f} CPU s, "
          f"of which the autoencoder {ae_wall:.1f} s, {ae_cpu:.1f} CPU s; test accuracy of seed 0: "
          f"{({k: round(v, 4) for k, v in keras_runs[0][4].items()})}; peak RSS {keras_peak:.0f} MB", flush=True)
    (pre, arms, means), stacked_peak = run(stacked_seconds, quick, n_compared)
    total = pre[0] + arms[0]
    print(f"(a) stacked, {n_compared} seeds at once: autoencoders {pre[0]:.1f} s ({pre[1]:.1f} CPU s), "
          f"arms {arms[0]:.1f} s ({arms[1]:.1f} CPU s), total {total:.1f} s; mean test accuracy {means}; "
          f"peak RSS {stacked_peak:.0f} MB", flush=True)

    (_, default, _), _ = run(stacked_seconds, quick, DEFAULT_SEEDS if not quick else 2, "book", DEFAULT_LABELS, False)
    print(f"(b) page default ({'tiny' if quick else f'book, {DEFAULT_LABELS} labels'}, "
          f"{DEFAULT_SEEDS if not quick else 2} seeds, empty store): {default[0]:.1f} s ({default[1]:.1f} CPU s)",
          flush=True)
    grid = None
    if not args.skip_grid:
        grid, _ = run(grid_seconds, quick, n_compared)
        print(f"(c) full grid ({'book' if quick else '2006 and today'} x {'50' if quick else '100/500/1000/5000'} "
              f"labels x {n_compared} seeds, "
              f"empty store): {grid[0]:.1f} s ({grid[1]:.1f} CPU s); fine-tune-all gain over scratch, points: "
              f"{grid[2]}", flush=True)
    if quick:
        print("quick mode: the tiny preset and 2 seeds; the figures below are not measurements")
    print(f"pretraining_speedup_{n_compared}_seeds: {ae_wall * n_compared / pre[0]:.2f}")
    print(f"default_experiment_seconds: {default[0]:.1f}")
    if grid is not None:
        print(f"full_grid_seconds: {grid[0]:.1f}")
    print(f"unsupervised_speedup_10_seeds: {keras_wall * n_compared / total:.2f}")


if __name__ == "__main__":
    main()
