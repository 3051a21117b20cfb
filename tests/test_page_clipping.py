"""AppTest of the clipping page: every control path runs with tiny presets and shows what it should."""

import math

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.app_support import finish, open_page, text

PAGE = "pages/3_Gradient_Clipping.py"


@pytest.fixture(scope="module")
def app() -> AppTest:
    """One session for the whole module (the first run pays TensorFlow's import)."""
    return open_page(PAGE)


def _text(app) -> str:
    return text(app, "markdown", "caption")


def _errors(app) -> str:
    return text(app, "error")


def _set_vector(app, x, y, t):
    app.number_input(key="clip_x").set_value(x)
    app.number_input(key="clip_y").set_value(y)
    app.number_input(key="clip_t").set_value(t)
    return app.run()


def test_default_is_the_books_example(app):
    assert not app.exception, [e.message for e in app.exception]
    assert app.title[0].value == "Gradient clipping"
    text = _text(app)
    assert "Clip by value turned the gradient by **41.5 degrees**; clip by norm by **0.0**" in text
    assert "clipped by norm `[0.00899964, 0.9999595]`" in text  # the book's numbers, computed live
    chart_keys = {chart.proto.id for chart in app.get("plotly_chart")}
    assert len(chart_keys) >= 4  # 2-D picture, dimension study (2), Keras norms


@pytest.mark.parametrize("button, expected", [
    ("clip_preset_5.0_5.0", "turned the gradient by **0.0 degrees**"),  # the diagonal stays diagonal
    ("clip_preset_0.3_-0.2", "clipped by value `[0.3, -0.2]`"),  # nothing to clip
    ("clip_preset_0.9_100.0", "turned the gradient by **41.5 degrees**"),
])
def test_presets_set_the_vector(app, button, expected):
    app.button(key=button).click().run()
    assert not app.exception
    assert expected in _text(app)


def test_typed_vector_updates_the_numbers(app):
    _set_vector(app, 3.0, 4.0, 1.0)
    assert not app.exception and not app.error
    text = _text(app)
    assert "clipped by norm `[0.6, 0.8]`" in text
    expected = math.degrees(math.atan2(4, 3) - math.atan2(1, 1))
    assert f"turned the gradient by **{expected:.1f} degrees**" in text


@pytest.mark.parametrize("x, y, t, message", [
    (0.0, 0.0, 1.0, "all zeros"),
    (1.0, 2.0, 0.0, "positive"),
    (1.0, 2.0, -1.0, "positive"),
    (1e300, 1e300, 1.0, "too large"),  # finite components whose norm overflows to infinity
])
def test_bad_vector_or_threshold_is_an_error_message(app, x, y, t, message):
    _set_vector(app, x, y, t)
    assert not app.exception, [e.message for e in app.exception]
    assert message in _errors(app)
    _set_vector(app, 0.9, 100.0, 1.0)
    assert not app.error


def test_dimension_study_controls(app):
    app.number_input(key="clip_dim").set_value(10_000)
    app.select_slider(key="clip_dim_t").set_value(0.25)
    app.radio(key="clip_dist").set_value("heavy-tailed")
    app.run()
    assert not app.exception and not app.error
    assert "At n = 10,000 and t = 0.25" in _text(app)
    app.number_input(key="clip_dim").set_value(0).run()
    assert "Choose 1 to 10,000 components; got 0." in _errors(app)
    app.number_input(key="clip_dim").set_value(1_000).run()
    assert not app.error


def test_dimension_study_says_the_angle_levels_off_and_shows_it(app):
    """The text claims what the data shows: a rise, then a plateau at the computed limit."""
    import re

    from core import clipping

    text = _text(app)
    assert "the more components" not in text.lower() and "levels off" in text
    limit = clipping.limiting_angle(1.0, "normal")
    assert f"settles near {limit:.1f}°" in text and f"{limit:.1f}" == "18.1"
    app.number_input(key="clip_dim").set_value(10_000)
    app.select_slider(key="clip_dim_t").set_value(1.0)
    app.radio(key="clip_dist").set_value("normal")
    app.run()
    assert not app.exception and not app.error
    (line,) = [c.value for c in app.caption if c.value.startswith("Median turn by value at t = 1:")]
    shown = {int(n.replace(",", "")): float(angle) for angle, n in re.findall(r"([\d.]+)° \(n = ([\d,]+)\)", line)}
    assert tuple(shown) == clipping.DIMENSION_GRID
    angles = np.array(list(shown.values()))
    assert angles[-1] - angles[0] > 10  # a clear rise from n = 2 ...
    assert np.all(np.abs(np.diff(angles)[-2:]) <= 0.3)  # ... then flat from 1,000 to 10,000
    assert abs(angles[-1] - limit) <= 0.2 and f"it would be {limit:.1f}°" in line
    app.number_input(key="clip_dim").set_value(1_000).run()


def test_keras_panel_shows_per_variable_and_joint_clipping(app):
    assert not app.exception
    assert [app.number_input(key=k).value for k in ("clip_k1a", "clip_k1b", "clip_k2", "clip_kt")] == \
        [0.9, 100.0, 3.0, 1.0]  # the reference's two-variable example
    table = app.dataframe[0].value
    rows = dict(zip(table["optimizer argument"], zip(table["variable 1"], table["variable 2"])))
    np.testing.assert_allclose(rows["clipnorm"][1], [1.0], rtol=1e-6)
    np.testing.assert_allclose(rows["global_clipnorm"][0], [0.00899559, 0.99950993], rtol=1e-5)
    np.testing.assert_allclose(rows["global_clipnorm"][1], [0.0299853], rtol=1e-5)
    assert "matches Keras's `global_clipnorm`" in _text(app)
    (callout,) = [e for e in app.expander if e.label.startswith("Book (TF 2.0) vs Keras 3")]
    assert callout.label == "Book (TF 2.0) vs Keras 3: what changed and where the book's text is off"
    tables = " ".join(m.value for m in callout.markdown)
    library, text = tables.split("**The book's text vs what Keras does")
    assert "What changed in the library" in library and "`SGD(lr=...)`" in library
    assert "not a library change" in text and "`clipnorm` clips each variable's gradient" in text


def test_keras_panel_follows_its_inputs_and_rejects_a_bad_threshold(app):
    app.number_input(key="clip_k1a").set_value(3.0)
    app.number_input(key="clip_k1b").set_value(4.0)
    app.number_input(key="clip_k2").set_value(0.5)
    app.run()
    rows = dict(zip(app.dataframe[0].value["optimizer argument"], app.dataframe[0].value["variable 2"]))
    np.testing.assert_allclose(rows["clipnorm"], [0.5])  # under the threshold on its own: untouched
    np.testing.assert_allclose(rows["global_clipnorm"], [0.5 / np.sqrt(25.25)], rtol=1e-5)
    app.number_input(key="clip_kt").set_value(0.0).run()
    assert not app.exception and "positive" in _errors(app)
    app.number_input(key="clip_kt").set_value(1.0).run()
    assert not app.error


def test_training_runs_on_button_and_reports_each_variant():
    app = open_page(PAGE)
    assert "Press **Train**" in text(app, "info")
    app.multiselect(key="clip_variants").set_value(["none", "global_clipnorm"])
    app.select_slider(key="clip_lr").set_value(0.1)
    app.number_input(key="clip_seeds").set_value(1)
    app.button(key="clip_rnn_train").click().run()
    assert "Training: " in text(app, "info")  # queued or running in core.jobs, not in the page's thread
    finish(app, "clip_rnn")
    assert "Best mean validation MSE here" in _text(app) or "diverged" in text(app, "warning")
    assert "1 seeds × 2 variants, threshold 1, learning rate 0.1" in _text(app)
    chart_keys = [chart.proto.id for chart in app.get("plotly_chart")]
    assert len(chart_keys) >= 8  # the four training figures were drawn too
    app.select_slider(key="clip_train_t").set_value(0.5).run()  # settings changed, nothing retrains
    assert "settings changed" in text(app, "info")
    assert "1 seeds × 2 variants" in _text(app)  # still showing the last run
    app.multiselect(key="clip_variants").set_value([]).run()
    assert "No variants selected" in _errors(app) and app.button(key="clip_rnn_train").disabled


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "abc"])
def test_non_finite_url_values_are_ignored_not_a_traceback(bad):
    """Number inputs refuse NaN and infinity (typed or from the URL); the page keeps its default."""
    app = open_page(PAGE, {"clip_x": bad})
    assert not app.error
    assert app.number_input(key="clip_x").value == 0.9


def test_vector_and_threshold_come_from_the_url():
    app = open_page(PAGE, {"clip_x": 3, "clip_y": 4, "clip_t": 2})
    assert app.number_input(key="clip_x").value == 3.0 and app.number_input(key="clip_t").value == 2.0
    assert "clipped by norm `[1.2, 1.6]`" in _text(app)


@pytest.mark.parametrize("key, value, message", [
    ("clip_seeds", 0, "Choose 1 to 10 seeds; got 0."),
    ("clip_seeds", 11, "Choose 1 to 10 seeds; got 11."),
])
def test_out_of_range_seeds_are_said_and_train_is_disabled(key, value, message):
    """The box shows what was typed, the page says why it will not run it, and Train cannot run anything else."""
    app = open_page(PAGE)
    app.number_input(key=key).set_value(value).run()
    assert message in _errors(app) and app.button(key="clip_rnn_train").disabled
    assert app.number_input(key=key).value == value


def test_a_huge_dimension_is_said_not_silently_capped(app):
    app.number_input(key="clip_dim").set_value(100_000).run()
    assert "Choose 1 to 10,000 components; got 100,000." in _errors(app)
    assert "clip_figure_dims" not in [chart.key for chart in app.get("plotly_chart")]
    app.number_input(key="clip_dim").set_value(1_000).run()
