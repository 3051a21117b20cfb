"""Layer 3: the real server in headless Chromium, on a projector's 1280x720 screen with no internet.

Every registered page loads with no exception shown, with every request to anything but the server itself blocked
and none failing (a classroom may be offline), and its first screen shows the idea: the first figure or result is
on screen without scrolling (on a page that trains first, after pressing its first button). Hostile links get a
message, never a traceback.
"""

from urllib.parse import urlsplit

import pytest

from tests.browser_support import EXCEPTION, goto, screenshot, wait_for_idle
from ui.registry import ALL_PAGES, PAGES

pytestmark = pytest.mark.browser
PROJECTOR = {"width": 1280, "height": 720}
FIRST_RESULT = '[data-testid="stPlotlyChart"], [data-testid="stMetric"]'
TRAIN_BUTTON = '[class*="_train"] button'  # ui.jobs.training_ui's buttons: key "{section}_train"


@pytest.fixture
def offline_tab(browser, server_url):
    """A 1280x720 tab that can reach the lab's server only; `tab.problems` lists blocked and failed requests."""
    context = browser.new_context(viewport=PROJECTOR)
    server = urlsplit(server_url).netloc
    problems = []

    def only_the_server(route):
        if urlsplit(route.request.url).netloc == server or route.request.url.startswith("data:"):
            route.continue_()
        else:
            problems.append(f"blocked: {route.request.url}")
            route.abort()

    context.route("**/*", only_the_server)
    tab = context.new_page()
    tab.on("requestfailed", lambda request: problems.append(f"failed: {request.url} ({request.failure})"))
    tab.problems = problems
    yield tab
    context.close()


def visible_from_the_top(tab, locator, min_visible: int = 120) -> bool:
    """The element's top edge is on the first screen with at least `min_visible` px of it showing, unscrolled."""
    box = locator.bounding_box()
    scrolled = tab.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollTop")
    return box is not None and scrolled == 0 and 0 <= box["y"] <= PROJECTOR["height"] - min_visible


@pytest.mark.parametrize("info", ALL_PAGES, ids=[info.path for info in ALL_PAGES])
def test_page_loads_offline_and_its_first_screen_shows_the_idea(offline_tab, server_url, info):
    tab = offline_tab
    goto(tab, f"{server_url}/{info.url_path}")
    assert tab.locator(EXCEPTION).count() == 0, tab.locator(EXCEPTION).first.inner_text()
    assert tab.locator("h1").count() >= 1, "the page has no title"
    assert tab.get_by_text("Environment").count() >= 1, "the page has no frame (ui.frame.page_frame)"
    assert tab.get_by_text("Deploy", exact=True).count() == 0
    screenshot(tab, info.url_path or "home")
    if info.url_path == "":  # the home page says where to start
        assert visible_from_the_top(tab, tab.get_by_role("link", name="Start with"), min_visible=30)
    else:
        if tab.locator(FIRST_RESULT).count() == 0:  # a page that trains first: its first button, then the result
            button = tab.locator(TRAIN_BUTTON).first
            assert visible_from_the_top(tab, button, min_visible=30), "the first Train button is below the first screen"
            button.click()
            tab.locator(FIRST_RESULT).first.wait_for(timeout=240_000)
            wait_for_idle(tab)
        assert visible_from_the_top(tab, tab.locator(FIRST_RESULT).first), \
            f"the first result starts at {tab.locator(FIRST_RESULT).first.bounding_box()} on a 1280x720 screen"
    assert tab.locator(EXCEPTION).count() == 0
    assert not tab.problems, tab.problems


HOSTILE_LINKS = {  # page address -> query string, what the page must say (one page load each)
    "Transfer_Learning": ("tl_seeds=-5&tl_protocol=nonsense", ["Choose 3 to 200 seeds; got -5.",
                                                               "tl_protocol=nonsense was not used"]),
    "Gradient_Clipping": ("clip_x=nan&clip_y=1&clip_y=2&clip_dist=" + "x" * 3000,
                          ["clip_x=nan was not used", "clip_y=2 was not used: it appears 2 times",
                           "(3,000 characters)"]),
}


@pytest.mark.parametrize("address", HOSTILE_LINKS)
def test_hostile_links_get_a_message_not_a_traceback(page, server_url, address):
    query, messages = HOSTILE_LINKS[address]
    goto(page, f"{server_url}/{address}?{query}")
    for message in messages:
        page.get_by_text(message).first.wait_for(timeout=60_000)
    assert page.locator(EXCEPTION).count() == 0


def test_first_request_of_a_fresh_server_is_a_deep_link_with_url_state(browser, tmp_path):
    """A fresh server whose very first request is a page's own address, with URL state: that page, its frame,
    its URL values, the whole menu (Home first); no "Page not found"."""
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
        assert tab.locator(".st-key-clip_x input").input_value() == "3"
        assert "clip_x=3" in tab.url
        menu = tab.locator('[data-testid="stSidebar"] [data-testid="stPageLink"]').all_inner_texts()
        assert [entry.split("\n")[-1].strip() for entry in menu] == ["Home"] + [info.title for info in PAGES]
        screenshot(tab, "fresh-server-deep-link")
    finally:
        context.close()
        stop_server(process)
