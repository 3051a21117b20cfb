"""The "BN in training" page in headless Chromium, tiny preset: URL state, training on a press, figures drawn."""

import pytest

from tests.browser_support import EXCEPTION, goto, screenshot, wait_for_idle

pytestmark = pytest.mark.browser
CHARTS = '[data-testid="stPlotlyChart"]'


def train(page, section: str, charts_after: int) -> None:
    """Press a section's button; its job runs in core.jobs and the page reruns when it ends, drawing its charts."""
    page.locator(f".st-key-{section}_train button").click()
    page.locator(CHARTS).nth(charts_after - 1).wait_for(timeout=180_000)
    wait_for_idle(page)


def test_url_state_then_train_and_measure(page, server_url, fashion_mnist):
    goto(page, f"{server_url}/BN_in_Training?bnt_depth=3&bnt_activation=tanh")
    assert page.locator(EXCEPTION).count() == 0
    assert page.locator(".st-key-bnt_depth input").input_value() == "3"  # the URL set the widget
    assert page.locator(CHARTS).count() == 0  # nothing trained on load

    train(page, "bnt_deep", charts_after=2)  # gradients, learning curves
    train(page, "bnt_latency", charts_after=3)  # latency
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
    assert page.locator(CHARTS).count() == 3
    assert "bnt_depth=3" in page.url and "bnt_activation=tanh" in page.url
    screenshot(page, "bn-training")


def test_bad_depth_from_the_url_is_a_message(page, server_url, fashion_mnist):
    goto(page, f"{server_url}/BN_in_Training?bnt_depth=0")
    assert page.locator(EXCEPTION).count() == 0
    assert "Choose 1 to 30 hidden layers; got 0." in str(page.locator('[data-testid="stAlert"]').all_inner_texts())
