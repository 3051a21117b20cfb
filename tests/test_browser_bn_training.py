"""The "BN in training" page in headless Chromium, tiny preset: URL state, training on a press, figures drawn."""

import pytest

from tests.browser_support import EXCEPTION, goto, screenshot, wait_for_idle

pytestmark = pytest.mark.browser


def test_url_state_then_train_and_measure(page, server_url, fashion_mnist):
    # A fresh server answers the very first deep link with a "Page not found" dialog (the page list is only known
    # after the first script run), which then covers the buttons; one visit to the home page avoids it.
    goto(page, server_url)
    goto(page, f"{server_url}/bn-training?bnt_depth=3&bnt_activation=tanh")
    assert page.locator(EXCEPTION).count() == 0
    assert page.locator(".st-key-bnt_depth input").input_value() == "3"  # the URL set the widget
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 0  # nothing trained on load

    page.locator(".st-key-bnt_go_deep button").click()
    wait_for_idle(page)
    page.locator(".st-key-bnt_go_latency button").click()
    wait_for_idle(page)
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 3  # gradients, learning curves, latency
    assert "bnt_depth=3" in page.url and "bnt_activation=tanh" in page.url
    screenshot(page, "bn-training")


def test_bad_depth_from_the_url_is_a_message(page, server_url, fashion_mnist):
    goto(page, f"{server_url}/bn-training?bnt_depth=0")
    assert page.locator(EXCEPTION).count() == 0
    assert "between 1 and 30 hidden layers" in page.locator('[data-testid="stAlert"]').all_inner_texts().__str__()
