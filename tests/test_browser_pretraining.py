"""The unsupervised pretraining page in headless Chromium on the tiny preset: train the default experiment (its
autoencoders, then every arm), see the autoencoder's pictures and the arms' figures."""

import pytest

from tests.browser_support import screenshot, train_and_wait

pytestmark = pytest.mark.browser


def test_tiny_default_experiment_draws_the_autoencoders_and_the_arms(page, server_url):
    # The wait is long because on a crowded machine the tiny experiment can take minutes.
    train_and_wait(page, f"{server_url}/Unsupervised_Pretraining", "Train the 3 missing seeds",
                   "Every arm, equal updates", "Fine-tuning failed", 600_000, "pretraining-tiny-default")
    for title in ("Test images and reconstructions", "First-layer filters (16 units)",
                  "Codes of test images (PCA)", "Gain of each arm over from scratch"):
        assert page.get_by_text(title).count() >= 1, title
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 6
    screenshot(page, "pretraining-tiny-default")
