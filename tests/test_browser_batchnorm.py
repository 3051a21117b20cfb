"""The Batch Normalization page in headless Chromium: the momentum control redraws the figure; links carry state."""

import json

import pytest

from tests.browser_support import EXCEPTION, goto, screenshot, wait_for_idle

pytestmark = pytest.mark.browser

# The moving-statistics figure's traces as drawn by plotly.js in the page (names and line widths).
FIGURE_STATE = """() => {
    const plot = document.querySelector('.st-key-bn_moving_figure .js-plotly-plot');
    return plot ? JSON.stringify(plot.data.map(trace => [trace.name, trace.line && trace.line.width])) : null;
}"""


def figure_state(page) -> list:
    page.wait_for_function(f"({FIGURE_STATE})() !== null", timeout=60_000)
    return json.loads(page.evaluate(FIGURE_STATE))


def test_moving_the_momentum_control_changes_the_figure(page, server_url):
    goto(page, f"{server_url}/Batch_Normalization")
    assert page.locator(EXCEPTION).count() == 0
    before = figure_state(page)
    dialog = page.locator('[data-testid="stDialog"]')
    assert dialog.count() == 0, dialog.first.inner_text()
    assert ["momentum 0.99", 4] in before and ["momentum 0.999", 2] in before

    page.locator(".st-key-bn_momentum").get_by_text("0.999", exact=True).click()
    wait_for_idle(page)
    page.wait_for_function(f"({FIGURE_STATE})() !== {json.dumps(json.dumps(before))}", timeout=60_000)
    after = figure_state(page)
    assert ["momentum 0.999", 4] in after and ["momentum 0.99", 2] in after
    assert "bn_momentum=0.999" in page.url
    assert page.locator(EXCEPTION).count() == 0
    screenshot(page, "batch-norm-momentum-0999")


def test_shared_link_opens_with_momentum_0999_and_batch_8(page, server_url):
    goto(page, f"{server_url}/Batch_Normalization?bn_momentum=0.999&bn_batch=8")
    assert ["momentum 0.999", 4] in figure_state(page)
    assert page.locator(".st-key-bn_batch input").input_value() == "8"
    assert page.get_by_text("8,000 examples at batch size 8").count() == 1
    assert page.locator(EXCEPTION).count() == 0


def test_bad_batch_size_shows_a_message_not_a_traceback(page, server_url):
    goto(page, f"{server_url}/Batch_Normalization?bn_batch=0")
    error = page.locator('[data-testid="stAlertContentError"]')
    error.first.wait_for(timeout=60_000)
    assert "Batch size must be between 1 and 1,024" in error.first.inner_text()
    assert page.locator(EXCEPTION).count() == 0
