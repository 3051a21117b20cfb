"""What a training costs before it runs: image-epochs x parameters, estimated from its config alone.

A shared 2-core server needs a number to decide which runs a student may start (core.classroom compares
it with the teacher's limit) and to show everyone what a button will cost before it is pressed. The
unit is one parameter seeing one image in one training step (forward and backward pass), so model A of
the book (276,158 parameters, 43,986 images, 20 epochs) is about 2.4e11. Evaluation images (validation
after every epoch, test sets, timed predictions) count a third: a forward pass costs about a third of
a training step. The sizes of task A and task B come from the class shares of Fashion-MNIST's balanced
splits (each class is a tenth), not from loading the data, so an estimate costs microseconds.

Each estimator returns a `Cost` made of `CostPart`s (what is trained, how many copies, on how many
images, for how many epochs), so the page can say where the number comes from. Estimators that take
the results store count only what is missing: stored seeds and saved model A files cost nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Iterable, Optional

INPUT_PIXELS = 28 * 28  # Fashion-MNIST images, flattened
BOOK_TRAIN, BOOK_VALID, TEST = 55_000, 5_000, 10_000  # the book's splits of Fashion-MNIST
CLASS_SHARE = 0.1  # every class is a tenth of each split
FORWARD_SHARE = 1 / 3  # an evaluated image costs about a third of a trained one (no backward pass)


@dataclass(frozen=True)
class CostPart:
    """One homogeneous piece of a job: `copies` models of `parameters` each, trained alike."""
    what: str  # e.g. "model A (seed 42)", "B from scratch and B on A, 20 seeds"
    parameters: int  # weights of one copy (Keras's count_params: trainable and not)
    copies: int  # seeds (and variants) trained with the same sizes
    images: int  # training examples one copy sees per epoch
    epochs: int  # passes over them
    evaluated: int = 0  # images one copy only evaluates (forward passes), over the whole run

    @property
    def value(self) -> float:
        return float(self.copies) * self.parameters * (self.images * self.epochs + FORWARD_SHARE * self.evaluated)


@dataclass(frozen=True)
class Cost:
    """A job's estimated cost: the sum of its parts (an empty tuple: nothing left to train)."""
    parts: tuple[CostPart, ...] = ()

    @property
    def total(self) -> float:
        return sum(part.value for part in self.parts)

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(self.parts + other.parts)

    def describe(self) -> str:
        """One line for a caption: the total, then each part's share."""
        if not self.parts:
            return "nothing left to train"
        pieces = "; ".join(f"{part.what}: {format_cost(part.value)}" for part in self.parts if part.value > 0)
        return f"{format_cost(self.total)} image-epoch-parameters ({pieces})"


def format_cost(value: float) -> str:
    """2.4e11 -> "2.4 × 10¹¹" (what a caption shows); small values as plain numbers."""
    if value < 1e4:
        return f"{value:,.0f}"
    exponent = int(math.floor(math.log10(value)))
    mantissa = value / 10 ** exponent
    if round(mantissa, 1) >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    superscript = str(exponent).translate(str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"))
    return f"{mantissa:.1f} × 10{superscript}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


# ---- parameter counts, checked against real Keras models in tests/test_cost.py ----

def mlp_parameters(hidden_units: Iterable[int], n_outputs: int, *, batch_norm: str = "none",
                   input_batch_norm: bool = False, inputs: int = INPUT_PIXELS) -> int:
    """Parameters of core.models.mlp: Dense layers (no bias before a BN placed "before"), BN layers count 4
    per feature (gamma, beta, moving mean and variance), as Keras's count_params does."""
    total, fan_in = (4 * inputs if input_batch_norm else 0), inputs
    for units in hidden_units:
        total += fan_in * units + (0 if batch_norm == "before" else units)
        total += 4 * units if batch_norm in ("before", "after") else 0
        fan_in = units
    return total + fan_in * n_outputs + n_outputs


def rnn_parameters(units: int, inputs: int = 2) -> int:
    """SimpleRNN(units) on `inputs` features, then Dense(1): core.clipping.build_rnn."""
    return inputs * units + units * units + units + units + 1


# ---- transfer learning (core.transfer) ----

def _task_sizes(protocol) -> tuple[int, int, int, int]:
    """(task-A training, task-A validation, task-B validation, task-B test) images of a protocol."""
    cap = protocol.n_eval if protocol.n_eval is not None else 10 ** 9
    a_train = protocol.n_a_train if protocol.n_a_train is not None else round(8 * CLASS_SHARE * BOOK_TRAIN)
    return (a_train, min(cap, round(8 * CLASS_SHARE * BOOK_VALID)), min(cap, round(2 * CLASS_SHARE * BOOK_VALID)),
            min(cap, round(2 * CLASS_SHARE * TEST)))


def model_a(protocol, n_models: int = 1) -> Cost:
    """Training `n_models` model A (one per seed) on task A, validated every epoch."""
    if n_models == 0:
        return Cost()
    a_train, a_valid, _, _ = _task_sizes(protocol)
    what = "model A" if n_models == 1 else f"{n_models} models A"
    return Cost((CostPart(what, mlp_parameters(protocol.hidden_units, 8), n_models, a_train, protocol.a_epochs,
                          evaluated=a_valid * protocol.a_epochs),))


def b_runs(protocol, n_seeds: int) -> Cost:
    """B from scratch and B on A for `n_seeds` seeds: validated every epoch, tested at the end."""
    if n_seeds == 0:
        return Cost()
    _, _, b_valid, b_test = _task_sizes(protocol)
    epochs = protocol.b_epochs + protocol.total_b_epochs
    return Cost((CostPart(f"B from scratch and B on A, {_count(n_seeds, 'seed')}",
                          mlp_parameters(protocol.hidden_units, 1), n_seeds, protocol.n_b_train, epochs,
                          evaluated=b_valid * epochs + 2 * b_test),))


def _missing_models_a(config, seeds, store) -> int:
    from core import transfer

    a_seeds = {config.a_seed(seed) for seed in seeds}
    if store is None:
        return len(a_seeds)
    a_key = transfer.ModelAConfig.of(config.protocol)
    return sum(not store.model_path(a_key, seed, "model_a").exists() for seed in a_seeds)


def transfer_comparison(config, seeds, store=None) -> Cost:
    """A many-seed comparison (core.transfer.run_comparison): the seeds the store lacks, and the models A they
    need that are not saved yet (everything, without a store)."""
    missing = [int(seed) for seed in seeds]
    if store is not None:
        finished = store.finished_seeds(config)  # one query, not one per seed
        missing = [seed for seed in missing if seed not in finished]
    if not missing:
        return Cost()
    return model_a(config.protocol, _missing_models_a(config, missing, store)) + b_runs(config.protocol, len(missing))


def transfer_pairs(config, seeds, store=None, pairs: Optional[Iterable] = None) -> Cost:
    """The comparison for every pair in `pairs` (default: all 45), each pair with its own model A. Task sizes
    do not depend on the pair, so the parts are summed into one line for the models A and one for the seeds."""
    from core import transfer

    n_models, n_seeds = 0, 0
    for pair in transfer.ALL_PAIRS if pairs is None else pairs:
        pair_config = config.with_pair(pair)
        seeds_of_pair = [int(seed) for seed in seeds]
        if store is not None:
            finished = store.finished_seeds(pair_config)
            seeds_of_pair = [seed for seed in seeds_of_pair if seed not in finished]
        if seeds_of_pair:
            n_models += _missing_models_a(pair_config, seeds_of_pair, store)
            n_seeds += len(seeds_of_pair)
    return model_a(config.protocol, n_models) + b_runs(config.protocol, n_seeds)


def transfer_fair(config, seeds, store=None) -> Cost:
    """The fair comparison (core.transfer.fair.run_fair, a FairComparison): for each seed the store lacks, every
    candidate rate of both arms as one more copy (and the book's arm when the grid lacks its rate), so a grid of
    k rates costs k times the untuned comparison's B runs; plus the models A not saved yet."""
    missing = [int(seed) for seed in seeds]
    if store is not None:
        finished = store.finished_seeds(config)
        missing = [seed for seed in missing if seed not in finished]
    if not missing:
        return Cost()
    protocol = config.comparison.protocol
    _, _, b_valid, b_test = _task_sizes(protocol)
    parameters = mlp_parameters(protocol.hidden_units, 1)
    arms = zip(("B from scratch", "B on A"), config.copies_per_seed(), (protocol.b_epochs, protocol.total_b_epochs))
    parts = tuple(CostPart(f"{what}, {_count(copies, 'rate')} x {_count(len(missing), 'seed')}", parameters,
                           copies * len(missing), protocol.n_b_train, epochs, evaluated=b_valid + b_test)
                  for what, copies, epochs in arms)
    return model_a(protocol, _missing_models_a(config.comparison, missing, store)) + Cost(parts)


def reuse_grid(protocol, sizes, seeds, store=None, *, rate_reductions=None) -> Cost:
    """The reuse explorer (core.reuse.run_grid): per training size, for the seeds the store lacks, every (reused,
    unfrozen, rate) cell and every candidate rate of B from scratch's search, each one copy per seed (counted at
    the full B net's size, an upper bound; validation and test images evaluated once, after the last epoch), and
    the model A (seed 42) if it is not saved. `rate_reductions`: the grid's (None: core.reuse's default)."""
    from core import reuse, transfer

    _, _, b_valid, b_test = _task_sizes(protocol)
    reductions = reuse.DEFAULT_REDUCTIONS if rate_reductions is None else rate_reductions
    parts = []
    for grid in reuse.grids(protocol, sizes, reductions):
        missing = len(set(int(seed) for seed in seeds) - (store.finished_seeds(grid) if store is not None else set()))
        if missing:
            cells, candidates = len(grid.cells), len(grid.scratch_grid)
            what = f"n = {grid.n_train:,}: {cells} cells and B from scratch at {_count(candidates, 'rate')}"
            parts.append(CostPart(f"{what} x {_count(missing, 'seed')}", mlp_parameters(protocol.hidden_units, 1),
                                  (cells + candidates) * missing, grid.n_train, protocol.total_b_epochs,
                                  evaluated=b_valid + b_test))
    if not parts:
        return Cost()
    a_key = transfer.ModelAConfig.of(protocol)
    a_missing = store is None or not store.model_path(a_key, transfer.MODEL_A_SEED, "model_a").exists()
    return model_a(protocol, int(a_missing)) + Cost(tuple(parts))


def sharing_pitfall(protocol, store=None) -> Cost:
    """The sharing pitfall (core.transfer.pitfall_run): model A (if not saved) and B on A trained twice."""
    from core import transfer

    a_saved = store is not None and store.model_path(transfer.ModelAConfig.of(protocol), transfer.MODEL_A_SEED,
                                                     "model_a").exists()
    _, a_valid, b_valid, _ = _task_sizes(protocol)
    b_on_a = CostPart("B on A twice (shared layers, then a clone)", mlp_parameters(protocol.hidden_units, 1), 2,
                      protocol.n_b_train, protocol.total_b_epochs,
                      evaluated=b_valid * protocol.total_b_epochs + 2 * a_valid)
    return (Cost() if a_saved else model_a(protocol)) + Cost((b_on_a,))


# ---- BN in training (core.batchnorm.training) ----

def _bn_train_part(what: str, train_config, copies: int) -> CostPart:
    if train_config.book_model:
        parameters = mlp_parameters((300, 100), 10, batch_norm=train_config.batch_norm,
                                    input_batch_norm=train_config.batch_norm != "none")
    else:
        parameters = mlp_parameters(train_config.hidden_units, 10, batch_norm=train_config.batch_norm,
                                    input_batch_norm=train_config.input_batch_norm)
    return CostPart(what, parameters, copies, train_config.n_train, train_config.epochs,
                    evaluated=train_config.n_valid * train_config.epochs)


def vanishing_gradients(config) -> Cost:
    """core.batchnorm.training.vanishing_gradients: the deep net with and without BN, n_seeds each."""
    return Cost(tuple(_bn_train_part(f"{'BN' if variant == 'after' else 'no BN'}, {_count(config.n_seeds, 'seed')}",
                                     config.train_config(variant), config.n_seeds) for variant in ("none", "after")))


def lr_sweep(config) -> Cost:
    """core.batchnorm.training.lr_sweep: every (BN or not, initialiser, learning rate) cell, n_seeds each."""
    cells = len(config.initializers) * len(config.learning_rates)
    return Cost(tuple(_bn_train_part(f"{'BN' if variant == 'after' else 'no BN'}, {cells} cells x "
                                     f"{_count(config.n_seeds, 'seed')}",
                                     config.train_config(variant, config.initializers[0], config.learning_rates[0]),
                                     cells * config.n_seeds) for variant in ("none", "after")))


def placement_runs(config) -> Cost:
    """core.batchnorm.training.placement_runs: the book's model with BN after, before, none; n_seeds each."""
    return Cost(tuple(_bn_train_part(f"BN {placement}, {_count(config.n_seeds, 'seed')}",
                                     config.train_config(placement), config.n_seeds)
                      for placement in ("after", "before", "none")))


def inference_latency(config) -> Cost:
    """core.batchnorm.training.inference_latency: predictions only (timed calls of five models, two test-set checks)."""
    parameters = mlp_parameters((300, 100), 10, batch_norm="after", input_batch_norm=True)
    timed = config.repeats * sum(config.batch_sizes)
    return Cost((CostPart("timed predictions of five models, folding checks", parameters, 5, 0, 0,
                          evaluated=timed + 4 * TEST // 5),))


# ---- gradient clipping (core.clipping) ----

def clipping_training(config) -> Cost:
    """core.clipping.train_with_clipping: every (variant, seed); a sequence counts once per time step."""
    n_evals = -(-config.steps // config.eval_every)
    return Cost((CostPart(f"{_count(len(config.variants), 'variant')} x {_count(len(config.seeds), 'seed')}",
                          rnn_parameters(config.units), len(config.variants) * len(config.seeds),
                          config.batch_size * config.sequence_length, config.steps,
                          evaluated=config.n_valid * config.sequence_length * n_evals),))


# ---- unsupervised pretraining (core.pretraining) ----

def _pool_sizes(split) -> tuple[int, int, int]:
    """(unlabeled pool, validation, test) images of a core.pretraining.Split."""
    pool = split.unlabeled or BOOK_TRAIN - 10 * split.labelled_per_class
    return pool, split.validation or BOOK_VALID, split.test or TEST


def autoencoder_parameters(config) -> tuple[int, ...]:
    """Parameters trained in each pretraining phase of a core.pretraining.Pretraining: one phase (the whole
    autoencoder) when joint, one per layer (that layer and its decoder) when greedy; tied decoders add biases only."""
    widths = (INPUT_PIXELS, *config.hidden_units)

    def pair(fan_in: int, units: int) -> int:
        return fan_in * units + units + (0 if config.tied else units * fan_in) + fan_in

    pairs = [pair(fan_in, units) for fan_in, units in zip(widths, widths[1:])]
    return tuple(pairs) if config.greedy else (sum(pairs),)


def autoencoders(config, n_seeds: int) -> Cost:
    """core.pretraining.pretrain for `n_seeds` seeds not yet stored: every phase over the unlabeled pool."""
    pool, validation, _ = _pool_sizes(config.split)
    return Cost(tuple(CostPart(f"autoencoder{'' if len(phases) == 1 else f' layer {index + 1}'}, "
                               f"{_count(n_seeds, 'seed')}", parameters, n_seeds, pool, config.epochs,
                               evaluated=validation * config.epochs)
                      for phases in [autoencoder_parameters(config)] for index, parameters in enumerate(phases)))


def fine_tuning(config, n_seeds: int) -> Cost:
    """core.pretraining.fine_tune for `n_seeds` seeds not yet stored (their autoencoders already trained): four
    arms on the encoder's architecture and the raw-pixel floor at `updates` batches each, the two frozen-codes runs
    at `pitfall_updates`; validation at every curve point, one test evaluation per run."""
    from core import pretraining

    _, validation, test = _pool_sizes(config.pretraining.split)
    classifier = mlp_parameters(config.pretraining.hidden_units, 10)
    images = config.updates * config.batch_size
    evaluated = validation * config.curve_points + test
    long_evaluated = validation * (config.pitfall_updates // config.segment) + test
    arms = len(pretraining.ARMS) - 1
    return Cost((
        CostPart(f"{arms} arms on the encoder's net, {_count(n_seeds, 'seed')}", classifier, arms * n_seeds,
                 images, 1, evaluated=evaluated),
        CostPart(f"raw-pixel floor, {_count(n_seeds, 'seed')}", mlp_parameters((), 10), n_seeds, images, 1,
                 evaluated=evaluated),
        CostPart(f"frozen-codes runs, {_count(n_seeds, 'seed')}", classifier, len(pretraining.PITFALL_RUNS) * n_seeds,
                 config.pitfall_updates * config.batch_size, 1, evaluated=long_evaluated),
    ))


def tuned_fine_tuning(config, n_seeds: int) -> Cost:
    """core.pretraining.tuned.fine_tune for `n_seeds` seeds not yet stored: every arm of the config's FineTuning
    once per candidate rate (candidates multiply the arms' cost), without the frozen-codes runs."""
    candidates = len(config.rates)
    arms = fine_tuning(config.fine_tuning, n_seeds).parts[:2]  # the four arms on the encoder's net, the floor
    return Cost(tuple(replace(part, what=f"{part.what}, x {candidates} candidate rates",
                              copies=part.copies * candidates) for part in arms))


def pretraining_runs(autoencoder, seeds, store, fine_tunings=()) -> Cost:
    """What a pretraining page button still has to train: the autoencoders of `seeds` not in the store, then
    each config's seeds not in the store (core.pretraining.fine_tune pretrains what is missing first): a
    FineTuning, or a TunedFineTuning (its `rates` grid, every arm tuned)."""
    from core import pretraining

    seeds = tuple(seeds)
    cost = autoencoders(autoencoder, len(seeds) - len(pretraining.stored_seeds(autoencoder, seeds, store)))
    for config in fine_tunings:
        estimate = tuned_fine_tuning if hasattr(config, "rates") else fine_tuning
        cost += estimate(config, len(seeds) - len(pretraining.stored_seeds(config, seeds, store)))
    return cost


# ---- auxiliary-task pretraining (core.auxiliary) ----

def _encoder_parameters(encoder) -> int:
    """The encoder's Dense layers (784 -> hidden_units), weights and biases."""
    return mlp_parameters(encoder.hidden_units[:-1], encoder.hidden_units[-1])


def auxiliary_source(config, n_seeds: int) -> Cost:
    """One auxiliary source (core.auxiliary.Supervised, Siamese or Masked) for `n_seeds` seeds: the encoder and its
    head trained for the autoencoder's number of updates (a Siamese batch is two images per pair)."""
    from core import auxiliary

    common = config.common
    encoder = _encoder_parameters(common.encoder)
    code = common.encoder.hidden_units[-1]
    if isinstance(config, auxiliary.Siamese):
        what, parameters, per_update = "same/different net", encoder + code + 1, 2 * common.batch_size
    elif isinstance(config, auxiliary.Masked):
        decoder = sum(fan_in * units + units for fan_in, units in
                      zip(reversed(common.encoder.hidden_units), (*reversed(common.encoder.hidden_units[:-1]),
                                                                  INPUT_PIXELS)))
        what, parameters, per_update = "masked-image net", encoder + decoder, common.batch_size
    else:
        what, parameters, per_update = "8-class classifier", encoder + code * 8 + 8, common.batch_size
    if n_seeds == 0:
        return Cost()
    return Cost((CostPart(f"{what}, {_count(n_seeds, 'seed')}", parameters, n_seeds,
                          per_update * common.source_updates, 1),))


def auxiliary_reuse(configs, seeds, store) -> Cost:
    """core.auxiliary.run_grid / reuse for the configs (one per label count): each source's missing seeds once,
    then every arm (scratch and source x mode) at `updates` batches for each config's missing seeds, once per
    candidate rate when the config tunes (a core.auxiliary.tuned.TunedReuse: its `rates`), each copy scored on the
    target pair's validation and test images."""
    from core import auxiliary

    configs, seeds = list(configs), [int(seed) for seed in seeds]
    if not configs:
        return Cost()
    cost, first = Cost(), configs[0]
    for name in auxiliary.SOURCES:
        source = first.source(name)
        missing = len(set(seeds) - store.finished_seeds(source))
        if name == "autoencoder":
            cost += autoencoders(source, missing) if missing else Cost()
        else:
            cost += auxiliary_source(source, missing)
    encoder = first.common.encoder
    classifier = _encoder_parameters(encoder) + 2 * encoder.hidden_units[-1] + 2  # the encoder and a 2-way output
    _, validation, test = _pool_sizes(encoder.split)
    evaluated = round(2 * CLASS_SHARE * (validation + test))  # the target pair's validation and test images
    for config in configs:
        missing = len(set(seeds) - store.finished_seeds(config))
        candidates = len(getattr(config, "rates", ())) or 1
        if missing:
            tuned = f" x {candidates} rates" if candidates > 1 else ""
            cost += Cost((CostPart(f"{len(auxiliary.ARMS)} arms{tuned} with {config.n_labels} labels, "
                                   f"{_count(missing, 'seed')}", classifier, len(auxiliary.ARMS) * candidates * missing,
                                   config.updates * config.common.batch_size, 1, evaluated=evaluated),))
    return cost
