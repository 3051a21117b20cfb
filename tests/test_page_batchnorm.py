"""The Batch Normalization page through AppTest: every tab and control path, bad input, URL state."""

import pytest

from tests.app_support import chart_keys, metric_values, open_page, text

PAGE = "pages/1_Batch_Normalization.py"


def charts(app) -> int:
    return len(chart_keys(app))


@pytest.fixture(scope="module")
def app():
    return open_page(PAGE)


def test_momentum_tab_default(app):
    assert app.title[0].value == "Batch Normalization, measured"
    assert charts(app) == 2  # moving statistics and the heatmap
    assert "100 batches" in text(app)  # 1 / (1 - 0.99)
    assert any("Book (TF 2.0) vs Keras 3" in expander.label for expander in app.expander)
    assert "normalised output; one run)" in text(app, "caption")  # the tiny preset's single run, not "1 runs"
    assert not app.error


def test_link_opens_with_momentum_0999_and_batch_8():
    app = open_page(PAGE, {"bn_momentum": "0.999", "bn_batch": "8"})
    assert app.segmented_control(key="bn_momentum").value == "0.999"
    assert app.number_input(key="bn_batch").value == 8
    assert "1,000 batches" in text(app) and "8,000 examples at batch size 8" in text(app)


def test_momentum_presets_and_source(app):
    app.segmented_control(key="bn_momentum").set_value("0.9").run()
    assert not app.exception and "10 batches" in text(app)
    app.segmented_control(key="bn_source").set_value("Synthetic shift").run()
    assert not app.exception and "one synthetic feature" in text(app) and charts(app) == 2
    app.select_slider(key="bn_examples").set_value("275,000").run()
    assert not app.exception and charts(app) == 2


def test_custom_momentum_and_bad_values():
    app = open_page(PAGE)
    app.segmented_control(key="bn_momentum").set_value("other").run()
    app.number_input(key="bn_momentum_other").set_value(0.95).run()
    assert not app.exception and not app.error and "20 batches" in text(app)
    app.number_input(key="bn_momentum_other").set_value(1.0).run()
    assert not app.exception and "below 1" in app.error[0].value
    assert charts(app) == 0
    app.number_input(key="bn_momentum_other").set_value(0.9).run()
    app.number_input(key="bn_batch").set_value(0).run()
    assert not app.exception and "Batch size must be between 1 and 1,024; got 0" in app.error[0].value


def test_axis_tab_every_choice():
    app = open_page(PAGE, {"bn_section": "Axis"})
    expected = {"-1": "28", "1": "28", "2": "28", "[1, 2]": "784"}
    for axis, groups in expected.items():
        app.segmented_control(key="bn_axis").set_value(axis).run()
        assert not app.exception and not app.error
        values = metric_values(app)
        assert values["groups (means / stds)"] == groups and values["scale (gamma)"] == groups
        assert values["moving mean + variance"] == f"{2 * int(groups):,}"
        assert charts(app) == 4
    assert "TypeError" in app.warning[0].value  # shown for [1, 2]


def test_axis_after_flatten_and_bad_axes():
    app = open_page(PAGE, {"bn_section": "Axis"})
    app.toggle(key="bn_flatten").set_value(True).run()
    assert not app.exception and metric_values(app)["groups (means / stds)"] == "784"
    app.segmented_control(key="bn_axis").set_value("2").run()
    assert not app.exception and "does not exist" in app.error[0].value
    app.toggle(key="bn_flatten").set_value(False).run()
    for typed, message in (("3", "Axis 3 does not exist"), ("0", "batch axis"), ("rows", "whole number")):
        app.segmented_control(key="bn_axis").set_value("other").run()
        app.text_input(key="bn_axis_other").input(typed).run()
        assert not app.exception and message in app.error[0].value


def test_parameters_tab_shows_the_books_totals():
    app = open_page(PAGE, {"bn_section": "Parameters"})
    totals = [metric.value for metric in app.metric]
    assert totals[:3] == ["271,346", "268,978", "2,368"]
    assert totals[3:6] == ["270,946", "268,578", "2,368"]
    variables = app.dataframe[-1].value
    assert set(variables["variable"]) == {"gamma", "beta", "moving_mean", "moving_variance"}
    assert "estimated" in text(app) or "computed from the training batches" in text(app)


def test_training_vs_inference_tab():
    app = open_page(PAGE, {"bn_section": "Training vs inference", "bn_batch": "4"})
    assert charts(app) == 2
    values = metric_values(app)
    assert values["moving mean changed by the frozen call"] == "no"
    assert float(values["frozen, training=True vs training=False"]) < 1e-5
    assert float(values["trainable, training=True vs training=False"]) > 0.1
    assert "Batch of 1: every training output is exactly 0" in text(app)
    app.number_input(key="bn_batch").set_value(0).run()
    assert not app.exception and app.error and charts(app) == 0


def test_heatmap_shows_cores_final_error_grid(fashion_mnist):
    """The page draws core.batchnorm.final_error_grid's numbers, not a copy of its loop."""
    import json

    from core import batchnorm as bn

    (chart,) = [chart for chart in open_page(PAGE).get("plotly_chart") if chart.key == "bn_heatmap"]
    expected = bn.final_error_grid(bn.HeatmapConfig.tiny(), bn.pixel_pool(fashion_mnist.x_train))
    labels = [[f"{value:.2g}" for value in row] for row in expected]
    assert json.loads(chart.proto.spec)["data"][0]["customdata"] == labels
