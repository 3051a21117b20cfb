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


def test_first_request_to_a_page_runs_the_app_shell(browser, tmp_path):
    """A fresh server whose first visitor opens a page's own address still runs app.py (sidebar, menu)."""
    from tests.browser_support import start_server, stop_server

    info = ALL_PAGES[-1]
    process, url = start_server(tmp_path / "fresh.log")
    context = browser.new_context()
    try:
        tab = context.new_page()
        goto(tab, f"{url}/{info.url_path}")
        assert tab.get_by_text("Environment").count() >= 1, "app.py did not run (Streamlit's legacy pages/ folder mode?)"
        assert tab.get_by_text("Page not found").count() == 0
        assert tab.locator(EXCEPTION).count() == 0
        menu = tab.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
        assert len(menu) == len(ALL_PAGES) and all(info.title in " ".join(menu) for info in ALL_PAGES)
    finally:
        context.close()
        stop_server(process)
