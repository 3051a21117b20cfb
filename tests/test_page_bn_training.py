"""AppTest for the "BN in training" page: every control path with the tiny presets (LAB_PRESET=tiny)."""

import pytest

from core import bn_training
from tests.test_pages import open_page

PAGE = "app_pages/bn_training.py"


def _button(app, key):
    return app.button(key=key)


@pytest.fixture
def app(fashion_mnist):
    page = open_page(PAGE)
    assert not page.exception, [exception.message for exception in page.exception]
    return page


def _no_errors(app):
    assert not app.exception, [exception.message for exception in app.exception]
    return [error.value for error in app.error]


def test_nothing_trains_before_a_button_press(app):
    assert app.title[0].value == "Batch Normalization in training"
    assert len(app.info) == 4  # one "press the button" note per experiment
    assert not app.get("plotly_chart")
    assert _no_errors(app) == []


def test_claims_say_what_the_code_and_tests_do(app):
    """Folding: a final BN after a linear Dense folds (tests/test_batchnorm_fold.py); the engine: what is tested."""
    text = " ".join([markdown.value for markdown in app.markdown] + [caption.value for caption in app.caption])
    assert "when BN is the last layer" not in text
    assert "A BN at the very end folds too if a linear Dense comes right before it" in text
    assert "a last BN right after a nonlinearity" in text
    assert "exactly as its own Keras model" not in text and "same computation" not in text
    assert "matches its own Keras model on the same batches to float32 precision in the tests" in text


def test_deep_net_section_trains_and_draws(app):
    app.number_input(key="bnt_depth").set_value(3)
    app.radio(key="bnt_activation").set_value("tanh")
    _button(app, "bnt_go_deep").click()
    app.run()
    assert _no_errors(app) == []
    charts = app.get("plotly_chart")
    assert len(charts) == 2
    assert "without BN" in " ".join(markdown.value for markdown in app.markdown)
    assert app.session_state["bnt_ran_deep"].depth == 3
    assert app.session_state["bnt_ran_deep"].activation == "tanh"
    app.number_input(key="bnt_deep_seeds").set_value(2)  # a change without a press: no retraining, a note
    app.run()
    assert _no_errors(app) == []
    assert any("settings above changed" in caption.value for caption in app.caption)
    assert app.session_state["bnt_ran_deep"].n_seeds == 1


def test_sweep_section_trains_and_draws(app):
    app.multiselect(key="bnt_sweep_lrs").set_value([0.01, 1.0])
    _button(app, "bnt_go_sweep").click()
    app.run()
    assert _no_errors(app) == []
    assert len(app.get("plotly_chart")) == 1
    assert "reached validation accuracy above" in " ".join(markdown.value for markdown in app.markdown)


def test_placement_section_trains_and_draws(app):
    _button(app, "bnt_go_book").click()
    app.run()
    assert _no_errors(app) == []
    assert len(app.get("plotly_chart")) == 3  # against epochs, against seconds, time per epoch
    labels = [metric.label for metric in app.metric]
    assert any(label.startswith("BN before: s per epoch") for label in labels)


def test_latency_section_measures_and_folds(app):
    _button(app, "bnt_go_latency").click()
    app.run()
    errors = _no_errors(app)
    assert len(errors) == 1 and errors[0].startswith("Cannot fold")  # the refusal example, on purpose
    differences = [metric for metric in app.metric if metric.label.startswith("max |folded")]
    assert len(differences) == 2 and all(float(metric.value) < 1e-4 for metric in differences)


@pytest.mark.parametrize("key, value, message", [
    ("bnt_depth", 0, "between 1 and"),
    ("bnt_deep_lr", 0.0, "learning rate must be a positive number"),
    ("bnt_book_lr", -0.1, "learning rate must be a positive number"),
    ("bnt_deep_seeds", bn_training.MAX_SEEDS + 1, f"between 1 and {bn_training.MAX_SEEDS} seeds"),
    ("bnt_sweep_seeds", 0, "seeds"),
])
def test_bad_input_is_a_message_not_a_traceback(app, key, value, message):
    app.number_input(key=key).set_value(value)
    app.run()
    errors = _no_errors(app)
    assert any(message in error for error in errors), errors


def test_empty_learning_rate_list_is_a_message(app):
    app.multiselect(key="bnt_sweep_lrs").set_value([])
    app.run()
    assert any("at least one learning rate" in error for error in _no_errors(app))
