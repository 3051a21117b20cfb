"""The auxiliary pretraining page in headless Chromium on the tiny default: train the same/different net and see it.

(The reuse comparison's button is driven in tests/test_page_auxiliary.py; here, one real press in a browser.)"""

import re

import pytest

from tests.browser_support import EXCEPTION, goto, screenshot, wait_for_idle

pytestmark = pytest.mark.browser


def test_tiny_default_trains_the_same_different_net_and_draws_it(page, server_url):
    goto(page, f"{server_url}/Auxiliary_Pretraining")
    assert page.locator(EXCEPTION).count() == 0
    assert page.get_by_text("label 1 = same class").count() >= 1
    train = page.get_by_role("button", name=re.compile(r"Train the same.different net"))
    if train.count():  # the server's store may already hold the runs (another test in the same session)
        train.click()
    finished = page.get_by_text("Held-out pair accuracy").or_(page.get_by_text("the same/different net failed"))
    try:
        finished.first.wait_for(timeout=900_000)
    finally:
        screenshot(page, "auxiliary-tiny-default")
    wait_for_idle(page)
    assert page.get_by_text("the same/different net failed").count() == 0
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 2
    screenshot(page, "auxiliary-tiny-default")
