"""AppTest for the "BN in training" page: every control path with the tiny presets (LAB_PRESET=tiny); trainings
go through core.jobs, so they are shared between sessions and survive widget changes."""

import threading

import pytest
from streamlit.testing.v1 import AppTest

from core import jobs
from core.batchnorm import seed_runs
from core.batchnorm import training as bn_training
from tests.app_support import chart_keys, errors, finish, no_exception, open_page, text
from tests.conftest import ROOT

PAGE = "pages/2_BN_in_Training.py"


@pytest.fixture
def app(fashion_mnist):
    return open_page(PAGE)


def train(app, section: str):
    """Press a section's button and wait for its job, as the page's polling fragment would."""
    app.button(key=f"{section}_train").click().run()
    return finish(app, section)


def test_nothing_trains_before_a_button_press(app):
    assert app.title[0].value == "Batch Normalization in training"
    assert len(app.info) == 4  # one "press the button" note per experiment
    assert not chart_keys(app)
    assert errors(app) == []


def test_claims_say_what_the_code_and_tests_do(app):
    """Folding: a final BN after a linear Dense folds (tests/test_batchnorm_fold.py); the engine: what is tested."""
    shown = text(app, "markdown", "caption")
    assert "when BN is the last layer" not in shown
    assert "A BN at the very end folds too if a linear Dense comes right before it" in shown
    assert "a last BN right after a nonlinearity" in shown
    assert "exactly as its own Keras model" not in shown and "same computation" not in shown
    assert "matches its own Keras model on the same batches to float32 precision in the tests" in shown


def test_deep_net_section_trains_and_draws(app):
    app.number_input(key="bnt_depth").set_value(3)
    app.radio(key="bnt_activation").set_value("tanh")
    train(app, "bnt_deep")
    assert errors(app) == []
    assert chart_keys(app) == ["bnt_fig_gradients", "bnt_fig_deep"]
    assert "without BN" in text(app, "markdown")
    ran = app.session_state["bnt_deep_job"].key[-1]  # the job's key holds the config it trained
    assert ran.depth == 3 and ran.activation == "tanh"
    app.number_input(key="bnt_deep_seeds").set_value(2)  # a change without a press: no retraining, a note
    app.run()
    assert errors(app) == []
    assert "settings above changed" in text(app, "caption")
    assert app.session_state["bnt_deep_job"].key[-1].n_seeds == 1


def test_two_sessions_asking_for_the_same_run_train_it_once(monkeypatch, fashion_mnist):
    """Both sessions see the one run's progress and result; a widget change or a page switch during the run
    does not lose it."""
    monkeypatch.setattr(jobs, "_PROCESS_QUEUE", jobs.JobQueue())  # no result kept by another test
    gate, trainings = threading.Event(), []
    real = bn_training.vanishing_gradients

    def counted(config, progress=None):
        trainings.append(config)
        gate.wait(120)
        return real(config, progress)

    monkeypatch.setattr(bn_training, "vanishing_gradients", counted)
    first = open_page(PAGE)
    second = no_exception(AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run())  # from the home page
    no_exception(second.switch_page(PAGE).run())
    try:
        first.button(key="bnt_deep_train").click().run()
        second.button(key="bnt_deep_train").click().run()
        assert "Training the deep nets: waiting for the run already in progress" in text(second, "info")
        first.number_input(key="bnt_deep_seeds").set_value(2).run()  # touched mid-run
        first.radio(key="bnt_activation").set_value("tanh").run()
        assert "Training the deep nets: running" in text(first, "info")
        no_exception(second.switch_page("pages/1_Batch_Normalization.py").run())  # away mid-run, and back
        no_exception(second.switch_page(PAGE).run())
        assert "Training the deep nets: waiting for the run already in progress" in text(second, "info")
    finally:
        gate.set()
    for app in (first, second):
        assert chart_keys(finish(app, "bnt_deep")) == ["bnt_fig_gradients", "bnt_fig_deep"]
    assert "settings above changed" in text(first, "caption")  # the run it asked for, under its new settings
    assert first.get("plotly_chart")[0].proto.spec == second.get("plotly_chart")[0].proto.spec  # the same result
    later = open_page(PAGE)
    later.button(key="bnt_deep_train").click().run()  # after the run: its kept result, no new training
    assert "bnt_fig_deep" in chart_keys(later)
    assert len(trainings) == 1


def test_sweep_section_trains_and_draws(app):
    app.multiselect(key="bnt_sweep_lrs").set_value([0.01, 1.0])
    train(app, "bnt_sweep")
    assert errors(app) == []
    assert chart_keys(app) == ["bnt_fig_sweep"]
    assert "reached validation accuracy above" in text(app, "markdown")


def test_placement_section_trains_and_draws(app):
    train(app, "bnt_book")
    assert errors(app) == []
    assert len(chart_keys(app)) == 3  # against epochs, against seconds, time per epoch
    labels = [metric.label for metric in app.metric]
    assert any(label.startswith("BN before: s per epoch") for label in labels)


def test_latency_section_measures_and_folds(app):
    train(app, "bnt_latency")
    shown = errors(app)
    assert len(shown) == 1 and shown[0].startswith("Cannot fold")  # the refusal example, on purpose
    differences = [metric for metric in app.metric if metric.label.startswith("max |folded")]
    assert len(differences) == 2 and all(float(metric.value) < 1e-4 for metric in differences)


@pytest.mark.parametrize("key, value, message, button", [
    ("bnt_depth", 0, "Choose 1 to 30 hidden layers; got 0.", "bnt_deep_train"),
    ("bnt_deep_lr", 0.0, "learning rate must be a positive number", "bnt_deep_train"),
    ("bnt_book_lr", -0.1, "learning rate must be a positive number", "bnt_book_train"),
    ("bnt_deep_seeds", seed_runs.MAX_SEEDS + 1, f"Choose 1 to {seed_runs.MAX_SEEDS} seeds; got 9.",
     "bnt_deep_train"),
    ("bnt_sweep_seeds", 0, "seeds", "bnt_sweep_train"),
    ("bnt_book_epochs", 500, "Choose 1 to 30 epochs; got 500.", "bnt_book_train"),  # typed, not silently 4
    ("bnt_repeats", 2, "Choose 3 to 500 timed calls; got 2.", "bnt_latency_train"),
    ("bnt_repeats", 100_000, "Choose 3 to 500 timed calls; got 100,000.", "bnt_latency_train"),
])
def test_a_value_the_lab_will_not_use_is_said_and_nothing_runs(app, key, value, message, button):
    """Out-of-range typed numbers reach the page (the boxes have no limits of their own), are refused with a
    sentence, and the section's button is disabled: Train never runs something other than what the boxes show."""
    app.number_input(key=key).set_value(value)
    app.run()
    shown = errors(app)
    assert any(message in error for error in shown), shown
    assert app.button(key=button).disabled
    app.number_input(key=key).set_value(app.number_input(key=key).proto.default).run()
    assert not app.button(key=button).disabled


def test_empty_learning_rate_list_is_a_message(app):
    app.multiselect(key="bnt_sweep_lrs").set_value([])
    app.run()
    assert any("No learning rates selected" in error for error in errors(app))
