"""The transfer page in headless Chromium on the tiny preset: train the seeds, see the paired plot."""

import pytest

from tests.browser_support import EXCEPTION, goto, screenshot, wait_for_idle

pytestmark = pytest.mark.browser


def test_tiny_comparison_draws_the_paired_plot(page, server_url):
    goto(page, f"{server_url}/Transfer_Learning?tl_seeds=4")
    assert page.locator(EXCEPTION).count() == 0
    train = page.get_by_role("button", name="Train the 4 missing seeds")
    if train.count():  # the server's store may already hold them (another test in the same session)
        train.click()
    finished = page.get_by_text("Paired by seed (4 seeds)").or_(page.get_by_text("Comparison failed"))
    finished.first.wait_for(timeout=180_000)
    wait_for_idle(page)
    assert page.get_by_text("Comparison failed").count() == 0, page.get_by_text("Comparison failed").inner_text()
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
    assert page.get_by_text("Paired differences").count() >= 1
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 4
    assert "tl_seeds=4" in page.url  # a non-default value stays in the shareable URL
    screenshot(page, "transfer-tiny-comparison")
