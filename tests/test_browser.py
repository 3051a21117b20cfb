"""Layer 3: the real server in headless Chromium. Every registered page loads with no exception shown."""

import pytest

from tests.browser_support import EXCEPTION, goto, screenshot
from ui.registry import ALL_PAGES

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("info", ALL_PAGES, ids=[info.path for info in ALL_PAGES])
def test_page_loads_without_exception(page, server_url, info):
    goto(page, f"{server_url}/{info.url_path}")
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
    assert page.locator("h1").count() >= 1, "the page has no title"
    screenshot(page, info.url_path or "home")
