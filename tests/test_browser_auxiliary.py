"""The auxiliary pretraining page in headless Chromium on the tiny default: train the same/different net and see it.

(The reuse comparison's button is driven in tests/test_page_auxiliary.py; here, one real press in a browser.)"""

import re

import pytest

from tests.browser_support import screenshot, train_and_wait

pytestmark = pytest.mark.browser


def test_tiny_default_trains_the_same_different_net_and_draws_it(page, server_url):
    train_and_wait(page, f"{server_url}/Auxiliary_Pretraining", re.compile(r"Train the same.different net"),
                   "Held-out pair accuracy", "the same/different net failed", 900_000, "auxiliary-tiny-default")
    assert page.get_by_text("label 1 = same class").count() >= 1
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 2
    screenshot(page, "auxiliary-tiny-default")
