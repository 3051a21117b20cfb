"""core.cost: parameter counts against real Keras models, costs against hand-worked numbers, the store's part."""

import dataclasses

import pytest

from core import clipping, cost, models, stats, store, transfer
from core.batchnorm import training as bn_training


@pytest.mark.parametrize("hidden, outputs, batch_norm, input_batch_norm", [
    ((300, 100, 50, 50, 50), 8, "none", False),  # model A
    ((300, 100, 50, 50, 50), 1, "none", False),  # model B
    ((300, 100), 10, "after", True),  # the book's BN model
    ((300, 100), 10, "before", True),  # its variant, Dense without bias before BN
    ((16, 16, 16), 10, "after", True),
])
def test_mlp_parameters_match_keras(hidden, outputs, batch_norm, input_batch_norm):
    model = models.mlp(hidden, batch_norm=batch_norm, input_batch_norm=input_batch_norm, n_outputs=outputs)
    assert cost.mlp_parameters(hidden, outputs, batch_norm=batch_norm,
                               input_batch_norm=input_batch_norm) == model.count_params()


def test_book_numbers_and_the_rnn():
    assert cost.mlp_parameters((300, 100), 10, batch_norm="after", input_batch_norm=True) == 271_346  # the book's
    config = clipping.TrainingConfig()
    assert cost.rnn_parameters(config.units) == clipping.build_rnn(config, 0).count_params()


def test_model_a_cost_by_hand():
    protocol = transfer.get_protocol("book")
    parameters = cost.mlp_parameters(protocol.hidden_units, 8)
    # 44,000 task-A images (8 tenths of 55,000) x 20 epochs, plus 4,000 validation images a third each, per epoch
    expected = parameters * (44_000 * 20 + 4_000 * 20 / 3)
    assert cost.model_a(protocol).total == pytest.approx(expected)
    assert 2.4e11 < expected < 2.6e11


def test_bigger_runs_cost_more_and_the_defaults_sit_on_the_right_side_of_the_limit():
    from core import classroom

    book = transfer.ComparisonConfig(transfer.get_protocol("book"))
    twenty, two_hundred = cost.transfer_comparison(book, range(20)), cost.transfer_comparison(book, range(200))
    assert twenty.total < two_hundred.total < cost.transfer_pairs(book, range(20)).total
    assert twenty.total < cost.transfer_comparison(transfer.ComparisonConfig(book.protocol, vary_a=True),
                                                   range(20)).total
    limit = classroom.DEFAULT_COST_LIMIT
    for everyday in (twenty, cost.vanishing_gradients(bn_training.VanishingConfig()),
                     cost.lr_sweep(bn_training.SweepConfig()), cost.placement_runs(bn_training.PlacementConfig()),
                     cost.inference_latency(bn_training.LatencyConfig()),
                     cost.clipping_training(clipping.TrainingConfig())):
        assert everyday.total < limit, everyday.describe()
    assert two_hundred.total > limit and cost.transfer_pairs(book, range(3)).total > limit


def test_stored_seeds_and_saved_models_cost_nothing(tmp_path):
    results = store.Store(tmp_path / "results.sqlite")
    config = transfer.ComparisonConfig.tiny()
    everything = cost.transfer_comparison(config, range(4), results)
    assert [part.copies for part in everything.parts] == [1, 4]  # one model A (seed 42), four seeds of B
    for seed in (0, 1):
        results.save(config, seed, {"scratch_test_accuracy": 0.9})
    path = results.model_path(transfer.ModelAConfig.of(config.protocol), transfer.MODEL_A_SEED, "model_a")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"saved")
    rest = cost.transfer_comparison(config, range(4), results)
    assert [(part.what, part.copies) for part in rest.parts] == [("B from scratch and B on A, 2 seeds", 2)]
    assert cost.transfer_comparison(config, [0, 1], results).total == 0
    assert cost.transfer_comparison(config, [0, 1], results).describe() == "nothing left to train"
    assert cost.sharing_pitfall(config.protocol, results).total < cost.sharing_pitfall(config.protocol).total


def test_format_and_describe():
    assert cost.format_cost(2.46e11) == "2.5 × 10¹¹"
    assert cost.format_cost(9.96e11) == "1.0 × 10¹²"
    assert cost.format_cost(512) == "512"
    text = cost.vanishing_gradients(bn_training.VanishingConfig(n_seeds=1)).describe()
    assert text.startswith(cost.format_cost(cost.vanishing_gradients(bn_training.VanishingConfig(n_seeds=1)).total))
    assert "no BN, 1 seed:" in text and "BN, 1 seed:" in text


def test_pretraining_parameter_counts_match_keras_autoencoders():
    """Each pretraining phase's count equals Keras's count_params of that phase's autoencoder."""
    import keras

    from core import pretraining

    def autoencoder(widths, tied):
        inputs = keras.Input((widths[0],))
        encoders = [keras.layers.Dense(units) for units in widths[1:]]
        x = inputs
        for layer in encoders:
            x = layer(x)
        trained = sum(layer.count_params() for layer in encoders)
        for fan_in in reversed(widths[:-1]):
            if tied:  # a DenseTranspose adds its bias only
                trained += fan_in
            else:
                x = keras.layers.Dense(fan_in)(x)
        return trained + (0 if tied else keras.Model(inputs, x).count_params() - trained)

    joint = pretraining.Pretraining(hidden_units=(100, 30))
    assert cost.autoencoder_parameters(joint) == (autoencoder((784, 100, 30), tied=False),)
    tied = pretraining.Pretraining(hidden_units=(100, 30), tied=True)
    assert cost.autoencoder_parameters(tied) == (autoencoder((784, 100, 30), tied=True),)
    greedy = pretraining.Pretraining.preset("2006")
    assert cost.autoencoder_parameters(greedy) == (autoencoder((784, 256), False), autoencoder((256, 256), False),
                                                    autoencoder((256, 256), False))


def test_pretraining_runs_count_only_what_is_missing(tmp_path):
    from core import pretraining

    results = store.Store(tmp_path / "results.sqlite")
    config = pretraining.FineTuning.tiny()
    missing = cost.pretraining_runs(config.pretraining, [0, 1, 2], results, [config])
    assert len(missing.parts) == 4 and missing.total > 0
    images = config.updates * config.batch_size
    arms = [part for part in missing.parts if part.what.startswith("4 arms")]
    assert arms and arms[0].copies == 12 and arms[0].images == images
    config_100 = dataclasses.replace(config, n_labels=100)
    both = cost.pretraining_runs(config.pretraining, [0, 1, 2], results, [config, config_100])
    assert len(both.parts) == 7  # the autoencoders once, then each label count's runs


def test_tuned_pretraining_multiplies_the_arms_by_the_candidates_and_skips_the_diagnostics(tmp_path):
    from core import pretraining
    from core.pretraining import tuned

    results = store.Store(tmp_path / "results.sqlite")
    config = tuned.TunedFineTuning.tiny()
    untuned = cost.fine_tuning(config.fine_tuning, 3)
    found = cost.pretraining_runs(config.pretraining, [0, 1, 2], results, [config])
    assert len(found.parts) == 2 + len(cost.autoencoders(config.pretraining, 3).parts)  # no frozen-codes runs
    arms = cost.tuned_fine_tuning(config, 3)
    assert [part.copies for part in arms.parts] == [4 * 4 * 3, 4 * 3]  # 4 arms x 4 rates x 3 seeds; the floor
    assert arms.total == pytest.approx(len(config.rates) * sum(part.value for part in untuned.parts[:2]))
    assert "x 4 candidate rates" in arms.parts[0].what
    assert cost.tuned_fine_tuning(config, 0).total == 0
    assert pretraining.stored_seeds(config, [0, 1, 2], results) == ()


def test_auxiliary_sources_and_reuse_count_what_is_missing(tmp_path):
    """Siamese: encoder (784-100-30) plus its 31-weight head; every missing seed of every source and arm counts."""
    from core import auxiliary

    results = store.Store(tmp_path / "results.sqlite")
    config = auxiliary.Reuse()
    siamese = cost.auxiliary_source(config.source("siamese"), 2)
    assert siamese.parts[0].parameters == 784 * 100 + 100 + 100 * 30 + 30 + 31
    assert siamese.parts[0].images == 2 * 32 * config.common.source_updates
    masked = cost.auxiliary_source(config.source("masked"), 1)
    assert masked.parts[0].parameters == cost.autoencoder_parameters(config.common.encoder)[0]
    assert cost.auxiliary_source(config.source("supervised"), 0).total == 0
    grid = cost.auxiliary_reuse([config, config.with_labels(50)], [0, 1, 2], results)
    assert len(grid.parts) == 4 + 2  # four sources, then the arms of each label count
    assert grid.parts[-1].copies == len(auxiliary.ARMS) * 3
    assert grid.parts[-1].parameters == 784 * 100 + 100 + 100 * 30 + 30 + 30 * 2 + 2  # encoder and 2-way output
    assert grid.parts[-1].evaluated == 1000 + 2000  # the pair's validation (2 x 500) and test (2 x 1,000) images


def test_tuned_auxiliary_reuse_trains_every_arm_once_per_candidate_rate(tmp_path):
    """Every arm searches the grid: copies = arms x candidates x missing seeds; stored seeds count nothing."""
    from core import auxiliary
    from core.auxiliary import tuned

    results = store.Store(tmp_path / "results.sqlite")
    config = tuned.TunedReuse(auxiliary.Reuse(), (1e-3, 3e-3, 1e-2))
    untuned = cost.auxiliary_reuse([config.reuse], [0, 1], results)
    searched = cost.auxiliary_reuse([config], [0, 1], results)
    assert searched.parts[-1].copies == len(auxiliary.ARMS) * 3 * 2 and "x 3 rates" in searched.parts[-1].what
    assert searched.parts[-1].value == 3 * untuned.parts[-1].value
    assert searched.parts[:-1] == untuned.parts[:-1]  # the same sources
    results.save(config, 0, {"test_correct": {}})
    assert cost.auxiliary_reuse([config], [0, 1], results).parts[-1].copies == len(auxiliary.ARMS) * 3


def test_the_fair_comparison_costs_its_candidates_and_counts_only_what_is_missing(tmp_path):
    from core.transfer import fair

    book = transfer.ComparisonConfig(transfer.get_protocol("book"))
    untuned = cost.transfer_comparison(book, range(20))
    a_part, b_part = untuned.parts
    for rates, copies in (((0.001, 0.003, 0.01, 0.03), 4), ((0.003, 0.03), 3), ((0.001, 0.01), 2)):
        tuned = cost.transfer_fair(fair.FairComparison(book, rates), range(20))
        assert tuned.parts[0] == a_part  # the same model A
        # k copies of each arm's training (the untuned part counts both arms' epochs for one copy per seed) ...
        assert [(part.copies, part.images, part.epochs) for part in tuned.parts[1:]] == [
            (copies * 20, b_part.images, b_part.epochs // 2)] * 2
        # ... and validation once, after the last epoch (the untuned part evaluates it every epoch)
        n_test = stats.BOOK_N_TEST  # the untuned part: validation every one of its epochs, test once per arm
        n_valid = (b_part.evaluated - 2 * n_test) // b_part.epochs
        assert [part.evaluated for part in tuned.parts[1:]] == [n_valid + n_test] * 2
    assert [part.copies for part in cost.transfer_fair(fair.FairComparison(book), range(20)).parts] == [1, 80, 80]
    results = store.Store(tmp_path / "results.sqlite")
    config = fair.FairComparison.tiny()
    results.save(config, 0, {"scratch_test_accuracy": 0.9})
    results.save(config.comparison, 1, {"scratch_test_accuracy": 0.9})  # the untuned row does not count
    assert [part.copies for part in cost.transfer_fair(config, range(3), results).parts] == [1, 8, 8]
    assert cost.transfer_fair(config, [0], results).describe() == "nothing left to train"


def test_reuse_grid_counts_every_cell_and_scratch_candidate(tmp_path):
    """Per missing seed of the tiny reuse grid: 11 cells (r = 1, 2; u = 0..r; u > 0 at the same rate, 10x and 100x
    lower) and B from scratch at 4 rates, each a copy of the full B net; a stored seed costs nothing."""
    from core import reuse

    tiny, results = transfer.PROTOCOLS["tiny"], store.Store(tmp_path / "results.sqlite")
    results.save(reuse.ReuseGrid(tiny, 60), 2, {"n_test": 1})
    estimate = cost.reuse_grid(tiny, (20, 60), range(3), results)
    parts = [part for part in estimate.parts if part.what.startswith("n = ")]
    assert [part.copies for part in parts] == [(11 + 4) * 3, (11 + 4) * 2]  # seed 2 of n = 60 is stored
    assert [part.images for part in parts] == [20, 60]
    assert "11 cells and B from scratch at 4 rates x 3 seeds" in parts[0].what
    assert parts[0].parameters == cost.mlp_parameters((32, 16), 1) and parts[0].epochs == 3
    assert cost.reuse_grid(tiny, (20,), range(3), results, rate_reductions=(10,)).parts[-1].copies == (8 + 4) * 3
