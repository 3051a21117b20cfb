"""Layer 3: the real server in headless Chromium. Every registered page loads with no exception shown."""

import pytest

from tests.browser_support import EXCEPTION, goto, screenshot
from ui.registry import ALL_PAGES, PAGES

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("info", ALL_PAGES, ids=[info.path for info in ALL_PAGES])
def test_page_loads_without_exception(page, server_url, info):
    goto(page, f"{server_url}/{info.url_path}")
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
    assert page.locator("h1").count() >= 1, "the page has no title"
    assert page.get_by_text("Environment").count() >= 1, "the page has no frame (ui.frame.page_frame)"
    screenshot(page, info.url_path or "home")


def test_first_request_of_a_fresh_server_is_a_deep_link_with_url_state(browser, tmp_path):
    """A fresh server whose very first request is a page's own address, with URL state: that page, its frame,
    its URL values, the whole menu; no "Page not found"."""
    from tests.browser_support import start_server, stop_server

    process, url = start_server(tmp_path / "fresh.log")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        tab = context.new_page()
        goto(tab, f"{url}/Gradient_Clipping?clip_x=3")
        assert tab.get_by_text("Page not found").count() == 0
        assert tab.locator(EXCEPTION).count() == 0
        assert tab.locator("h1").first.inner_text() == "Gradient clipping"
        assert tab.get_by_text("Environment").count() >= 1, "the page's frame did not run"
        assert tab.locator(".st-key-clip_x input").input_value() == "3.0000"
        assert "clip_x=3" in tab.url
        menu = tab.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
        assert [title.strip() for title in menu[1:]] == [info.title for info in PAGES]
        screenshot(tab, "fresh-server-deep-link")
    finally:
        context.close()
        stop_server(process)
