"""The unsupervised pretraining page in headless Chromium on the tiny preset: train the default experiment (its
autoencoders, then every arm), see the autoencoder's pictures and the arms' figures."""

import pytest

from tests.browser_support import EXCEPTION, goto, screenshot, wait_for_idle

pytestmark = pytest.mark.browser


def test_tiny_default_experiment_draws_the_autoencoders_and_the_arms(page, server_url):
    goto(page, f"{server_url}/Unsupervised_Pretraining")
    assert page.locator(EXCEPTION).count() == 0
    train = page.get_by_role("button", name="Train the 3 missing seeds")
    if train.count():  # the server's store may already hold them (another test in the same session)
        train.click()
    finished = page.get_by_text("Every arm, equal updates").or_(page.get_by_text("Fine-tuning failed"))
    finished.first.wait_for(timeout=600_000)  # minutes only on a crowded machine
    wait_for_idle(page)
    assert page.get_by_text("Fine-tuning failed").count() == 0, page.get_by_text("Fine-tuning failed").inner_text()
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
    for title in ("Test images and reconstructions", "First-layer filters (16 units)",
                  "Codes of test images (PCA)", "Gain of each arm over from scratch"):
        assert page.get_by_text(title).count() >= 1, title
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 6
    screenshot(page, "pretraining-tiny-default")
