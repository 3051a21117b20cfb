"""core.transfer: the protocols, the task data, the reference Keras run and the layer-sharing pitfall."""

import dataclasses

import numpy as np
import pytest

from core import data, transfer

TINY = transfer.PROTOCOLS["tiny"]


@pytest.fixture(scope="module")
def splits(fashion_mnist):
    return data.book_splits(fashion_mnist)


@pytest.fixture(scope="module")
def tiny_tasks(splits):
    return transfer.task_data(TINY, splits)


@pytest.fixture(scope="module")
def tiny_model_a(tiny_tasks):
    model, history = transfer.train_model_a(TINY, tiny_tasks, seed=1)
    assert len(history["val_accuracy"]) == TINY.a_epochs
    return model


def test_book_task_sizes(splits):
    tasks = transfer.task_data(transfer.PROTOCOLS["book"], splits)
    assert len(tasks.x_train_a) == 43_986 and len(tasks.x_train_b) == 200
    assert len(tasks.x_valid_a) + len(tasks.x_valid_b) == 5_000
    assert len(tasks.x_test_b) == 2_000  # 1,000 sandals and 1,000 shirts in the test set
    in_b = (splits.y_train == 5) | (splits.y_train == 6)
    np.testing.assert_array_equal(tasks.y_train_b, (splits.y_train[in_b][:200] == 6).astype(np.float32))


def test_random_b_subset_depends_on_its_seed_only(splits):
    first = transfer.task_data(TINY, splits, subset_seed=3).x_train_b
    again = transfer.task_data(TINY, splits, subset_seed=3).x_train_b
    other = transfer.task_data(TINY, splits, subset_seed=4).x_train_b
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_protocols_say_what_the_book_and_notebooks_say():
    book, comment, notebook, ml3 = (transfer.PROTOCOLS[name] for name in ("book", "book_comment", "notebook", "ml3"))
    assert (book.frozen_epochs, book.unfrozen_epochs, book.unfrozen_learning_rate) == (4, 16, 1e-4)
    assert book.frozen_learning_rate is None  # the text compiles with optimizer="sgd"
    assert (comment.frozen_rate, comment.unfrozen_learning_rate) == (1e-3, 1e-4)  # its comment's reading
    assert notebook.frozen_rate == notebook.unfrozen_learning_rate == notebook.learning_rate == 1e-3
    assert ml3.frozen_rate == ml3.unfrozen_learning_rate == 1e-3
    assert ml3.b_classes == (0, 2) and ml3.hidden_units == (100, 100, 100) and ml3.initializer == "he_normal"
    assert transfer.get_protocol("book", (1, 3)).b_classes == (1, 3)


def test_the_book_text_optimizer_sgd_means_the_library_default_of_0_01():
    """The book's optimizer="sgd" is SGD() with Keras's default rate, read from the installed library."""
    import keras

    assert float(keras.optimizers.get("sgd").learning_rate) == pytest.approx(transfer.SGD_DEFAULT_LEARNING_RATE)
    assert float(keras.optimizers.SGD().learning_rate) == pytest.approx(0.01)
    assert transfer.PROTOCOLS["book"].frozen_rate == transfer.SGD_DEFAULT_LEARNING_RATE


def test_reference_run_compiles_the_frozen_phase_exactly_as_the_protocol_says(tiny_tasks, tiny_model_a, monkeypatch):
    """The plain-Keras run's optimizers carry the rates the engine trains with, phase by phase."""
    import keras

    seen = []
    original = keras.Model.compile

    def spy(model, *args, **kwargs):
        original(model, *args, **kwargs)
        seen.append((kwargs.get("optimizer"), float(model.optimizer.learning_rate)))

    monkeypatch.setattr(keras.Model, "compile", spy)
    for frozen_learning_rate in (None, 1e-3):  # the book's text; its comment's reading
        protocol = dataclasses.replace(TINY, frozen_learning_rate=frozen_learning_rate)
        seen.clear()
        transfer.train_b_on_a(protocol, tiny_tasks, tiny_model_a, seed=0)
        (frozen_optimizer, frozen_rate), (_, unfrozen_rate) = seen
        assert (frozen_optimizer == "sgd") == (frozen_learning_rate is None)  # the book's own argument, as written
        assert (frozen_rate, unfrozen_rate) == pytest.approx((protocol.frozen_rate, protocol.unfrozen_learning_rate))
    assert TINY.frozen_rate == 0.01


@pytest.mark.parametrize("change", [dict(b_classes=(4, 4)), dict(b_classes=(0, 10)), dict(learning_rate=0.0),
                                    dict(frozen_learning_rate=0.0), dict(frozen_learning_rate=float("nan")),
                                    dict(batch_size=0), dict(n_b_train=0), dict(frozen_epochs=-1)])
def test_bad_protocols_are_value_errors(change):
    with pytest.raises(ValueError):
        dataclasses.replace(TINY, **change)


def test_unknown_protocol():
    with pytest.raises(ValueError, match="Unknown protocol"):
        transfer.get_protocol("magic")


def test_reuse_without_clone_shares_layers_and_clone_does_not(tiny_model_a):
    shared = transfer.reuse_for_b(tiny_model_a, clone=False)
    cloned = transfer.reuse_for_b(tiny_model_a, clone=True)
    assert shared.layers[1] is tiny_model_a.layers[1]
    assert cloned.layers[1] is not tiny_model_a.layers[1]
    np.testing.assert_array_equal(cloned.layers[1].get_weights()[0], tiny_model_a.layers[1].get_weights()[0])


def test_sharing_pitfall_changes_a_only_without_clone(tiny_tasks, tiny_model_a):
    before = [w.copy() for w in tiny_model_a.get_weights()]
    result = transfer.sharing_pitfall(TINY, tiny_tasks, tiny_model_a, seed=2)
    assert result.weight_change_shared > 0.0  # small with the tiny preset, but never exactly zero
    assert result.weight_change_cloned == 0.0
    assert result.a_accuracy_after_cloned == result.a_accuracy_before
    for w, b in zip(tiny_model_a.get_weights(), before):  # the demo itself leaves the given A untouched
        np.testing.assert_array_equal(w, b)


def test_b_on_a_runs_both_phases(tiny_tasks, tiny_model_a):
    calls = []
    model, history = transfer.train_b_on_a(TINY, tiny_tasks, tiny_model_a, seed=0,
                                           progress=lambda done, total, message: calls.append((done, total)))
    assert len(history["val_accuracy"]) == TINY.total_b_epochs
    assert calls[-1] == (TINY.total_b_epochs, TINY.total_b_epochs)
    assert all(layer.trainable for layer in model.layers)
    assert 0.0 <= transfer.accuracy(model, tiny_tasks.x_test_b, tiny_tasks.y_test_b) <= 1.0


def test_b_on_a_without_reseeding_continues_the_callers_random_state(tiny_tasks, tiny_model_a):
    """reseed=False (one seeding per seed in a loop, as the bench's book arm does) is the same run when the
    caller seeded Keras with that seed just before."""
    import keras

    seeded, _ = transfer.train_b_on_a(TINY, tiny_tasks, tiny_model_a, seed=3)
    keras.utils.set_random_seed(3)
    continued, _ = transfer.train_b_on_a(TINY, tiny_tasks, tiny_model_a, seed=3, reseed=False)
    for ours, theirs in zip(continued.get_weights(), seeded.get_weights()):
        np.testing.assert_array_equal(ours, theirs)


def test_shown_keras_code_runs_as_is(tiny_tasks):
    """The code on the page is not decoration: it runs on the tiny task arrays."""
    namespace = dict(
        X_train_A=tiny_tasks.x_train_a, y_train_A=tiny_tasks.y_train_a,
        X_valid_A=tiny_tasks.x_valid_a, y_valid_A=tiny_tasks.y_valid_a,
        X_train_B=tiny_tasks.x_train_b, y_train_B=tiny_tasks.y_train_b,
        X_valid_B=tiny_tasks.x_valid_b, y_valid_B=tiny_tasks.y_valid_b,
        X_test_B=tiny_tasks.x_test_b, y_test_B=tiny_tasks.y_test_b,
    )
    code = transfer.keras_code(TINY)  # verbose progress output is captured by pytest
    exec(compile(code, "keras_code", "exec"), namespace)
    assert namespace["model_B_on_A"].output_shape == (None, 1)


def test_keras3_saves_native_keras_files_and_calls_hdf5_legacy(tiny_model_a, tmp_path, caplog):
    """The `save_format` row of core.keras3_notes, checked against the installed Keras."""
    import keras

    tiny_model_a.save(tmp_path / "model_A.keras")
    reloaded = keras.models.load_model(tmp_path / "model_A.keras")
    sample = np.random.default_rng(0).random((4, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(reloaded.predict(sample, verbose=0), tiny_model_a.predict(sample, verbose=0))
    with caplog.at_level("WARNING"):
        tiny_model_a.save(tmp_path / "model_A.h5")
    assert "legacy" in caplog.text
    with pytest.raises(ValueError, match=r"\.keras"):
        tiny_model_a.save(tmp_path / "model_A")


def test_b_from_scratch_reference_run(tiny_tasks):
    calls = []
    model, history = transfer.train_b_from_scratch(TINY, tiny_tasks, seed=0,
                                                   progress=lambda done, total, message: calls.append(done))
    assert len(history["val_accuracy"]) == TINY.b_epochs and calls == list(range(1, TINY.b_epochs + 1))
    assert model.output_shape == (None, 1)
    again, _ = transfer.train_b_from_scratch(TINY, tiny_tasks, seed=0)  # same seed, same run
    np.testing.assert_allclose(again.get_weights()[0], model.get_weights()[0], rtol=1e-5, atol=1e-6)
