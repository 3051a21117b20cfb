"""The transfer page in headless Chromium on the tiny preset: train the seeds, see the paired plot."""

from pathlib import Path

import pytest

from tests.browser_support import EXCEPTION, goto, train_and_wait, wait_for_idle

pytestmark = pytest.mark.browser


def test_tiny_comparison_draws_the_paired_plot(page, server_url):
    train_and_wait(page, f"{server_url}/Transfer_Learning?tl_seeds=4", "Train the 4 missing seeds",
                   "Paired by seed (4 seeds)", "Comparison failed", 180_000, "transfer-tiny-comparison")
    assert page.get_by_text("Paired differences").count() >= 1
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 4
    assert "tl_seeds=4" in page.url  # a non-default value stays in the shareable URL


def test_tiny_reuse_grid_runs_end_to_end(page, server_url):
    """The reuse section of the tiny preset: train the grid, see the heatmaps, the best cells and the verdicts."""
    train_and_wait(page, f"{server_url}/Transfer_Learning", "Train the 6 missing seed-sizes of the grid",
                   "The rules of thumb on this data", "Reuse grid failed", 240_000, "transfer-tiny-reuse")
    assert page.get_by_text("Reduce the learning rate when you unfreeze").count() >= 1
    assert page.get_by_text("Best reuse per amount of data").count() >= 1
    heatmaps = page.locator(".st-key-tl_reuse_heatmaps")
    assert "Gain vs tuned scratch, same rate" in heatmaps.inner_text()
    page.locator(".st-key-tl_reuse_rate").get_by_text("100x lower", exact=True).click()
    page.get_by_text("Gain vs tuned scratch, 100x lower").first.wait_for(timeout=60_000)
    wait_for_idle(page)
    assert page.locator(EXCEPTION).count() == 0
    with page.expect_download() as download:
        page.locator(".st-key-tl_reuse_download button").click()
    assert download.value.suggested_filename == "reuse-tiny-5-6.csv"
    rows = Path(download.value.path()).read_text().splitlines()
    assert len(rows) == 7 and "result.r2_u1_div100_test_accuracy" in rows[0]  # header, 2 sizes x 3 seeds


def test_reuse_sizes_choose_the_rows_to_train(page, server_url):
    """Removing a size from the reuse grid's multiselect leaves the other size's rows to train (or to show)."""
    goto(page, f"{server_url}/Transfer_Learning")
    sizes = page.locator(".st-key-tl_reuse_sizes")
    sizes.get_by_label("Remove 60", exact=True).click()
    wait_for_idle(page)
    assert page.locator(EXCEPTION).count() == 0
    stored = page.get_by_text("Train the 3 missing seed-sizes of the grid").or_(page.get_by_text(
        "The rules of thumb on this data"))
    stored.first.wait_for(timeout=60_000)
    assert "tl_reuse_sizes" in page.url  # the choice is in the shareable URL
    assert sizes.get_by_label("Remove 20", exact=True).count() == 1 and sizes.get_by_label("Remove 60").count() == 0
