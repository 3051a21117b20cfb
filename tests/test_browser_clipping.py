"""Layer 3 for the clipping page: typing a new gradient in the real browser redraws the 2-D figure."""

import pytest

from tests.browser_support import EXCEPTION, goto, screenshot, wait_for_idle

pytestmark = pytest.mark.browser

ARROWS_JS = """() => {
  const plot = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  if (!plot || !plot.data) return null;
  const arrow = plot.data.find(trace => trace.name === 'original gradient');
  const clipped = plot.data.find(trace => trace.name === 'clipped by value');
  return {original: [arrow.x[1], arrow.y[1]], by_value: [clipped.x[1], clipped.y[1]]};
}"""


def test_changing_the_vector_redraws_the_figure(page, server_url):
    goto(page, f"{server_url}/Gradient_Clipping")
    assert page.get_by_text("Environment").count() >= 1  # the page's own frame
    assert page.locator(EXCEPTION).count() == 0
    page.wait_for_function("() => !!document.querySelector('.js-plotly-plot')")
    before = page.evaluate(ARROWS_JS)
    assert before["original"] == [0.9, 100.0] and before["by_value"] == [0.9, 1.0]
    assert page.get_by_text("turned the gradient by 41.5 degrees").count() == 1

    box = page.get_by_label("gradient component y")
    box.fill("-2")
    box.press("Enter")
    page.wait_for_function(
        "() => { const p = document.querySelector('.js-plotly-plot');"
        " const t = p && p.data && p.data.find(t => t.name === 'original gradient');"
        " return t && t.y[1] === -2; }", timeout=30_000)
    wait_for_idle(page)
    after = page.evaluate(ARROWS_JS)
    assert after["original"] == [0.9, -2.0] and after["by_value"] == [0.9, -1.0]
    assert page.locator(EXCEPTION).count() == 0
    assert "clip_y=-2" in page.url  # the state is in the address, ready to share
    screenshot(page, "clipping-vector-changed")

    goto(page, f"{server_url}/Gradient_Clipping?clip_x=3&clip_y=4&clip_t=1")  # a shared link restores the picture
    assert page.evaluate(ARROWS_JS)["original"] == [3.0, 4.0]
