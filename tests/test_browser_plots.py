"""Every figure builder's default output (the cases of tests/test_plots.py) as plotly.js really draws it, in
headless Chromium at the width of a half page and of a whole page: text a back row can read, and nothing on
top of anything else.

Checked on the drawn SVG, not on the layout, because sizes and positions are plotly's decisions (a log axis
draws its minor labels at 3/4 size; a long legend wraps): every text at least style.MIN_TEXT_PX, titles and axis
titles at least style.MIN_TITLE_PX, none cut off at the figure's edges; the legend and every annotation outside
the plotting areas; no two texts
(ticks, titles, legend, annotations, colour bars, bar and cell labels) overlapping; no marker over a cell or bar
label. plotly.js comes from the plotly package (offline), set up once for all cases.
"""

import json
from pathlib import Path

import plotly
import pytest

from core.plots import style
from tests.test_plots import CASES, IDS

pytestmark = pytest.mark.browser
WIDTHS = (400, 1100)  # a chart in one of two columns at 1280 px (sidebar open), and a full-width chart

MEASURE = """(div) => {
  const page = div.getBoundingClientRect();
  const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const overlap = (a, b, pad = 1) => a[0] + pad < b[2] && b[0] + pad < a[2] && a[1] + pad < b[3] && b[1] + pad < a[3];
  const kinds = {tick: '.xtick text, .ytick text, .x2tick text, .y2tick text', title: '.gtitle',
                 'axis title': '.xtitle, .ytitle, .x2title, .y2title', annotation: '.annotation-text',
                 legend: '.legendtext', 'colour bar': '.cbaxis text, .cbtitle text',
                 label: '.bartext, .textpoint text, .heatmap-label text'};
  const texts = [];
  for (const [kind, selector] of Object.entries(kinds)) {
    for (const el of div.querySelectorAll(selector)) {
      const b = box(el);
      if (el.textContent.trim() && b[2] > b[0]) {
        const size = parseFloat(el.style.fontSize || getComputedStyle(el).fontSize);
        texts.push({kind, text: el.textContent, box: b, size});
      }
    }
  }
  const plots = Object.values(div._fullLayout._plots).map(({xaxis, yaxis}) =>
    [page.left + xaxis._offset, page.top + yaxis._offset, page.left + xaxis._offset + xaxis._length,
     page.top + yaxis._offset + yaxis._length]);
  const legend = div.querySelector('.legend');
  const markers = [...div.querySelectorAll('.scatterlayer .point')].map(box).filter(b => b[2] > b[0]);
  const problems = [];
  const small = {title: MIN_TITLE, 'axis title': MIN_TITLE};
  for (const t of texts) {
    if (t.size < (small[t.kind] || MIN_TEXT)) problems.push(`${t.kind} "${t.text}" is ${t.size} px`);
    if (t.box[0] < page.left - 2 || t.box[2] > page.right + 2
        || t.box[1] < page.top - 2 || t.box[3] > page.bottom + 2) {
      problems.push(`${t.kind} "${t.text}" is cut off`);
    }
  }
  for (const plot of plots) {
    if (legend && overlap(box(legend), plot)) problems.push('the legend is over a plotting area');
    for (const t of texts.filter(t => t.kind === 'annotation')) {
      if (overlap(t.box, plot)) problems.push(`annotation "${t.text}" is over a plotting area`);
    }
  }
  texts.forEach((a, i) => texts.slice(i + 1).forEach(b => {
    if (overlap(a.box, b.box)) problems.push(`${a.kind} "${a.text}" overlaps ${b.kind} "${b.text}"`);
  }));
  for (const t of texts.filter(t => t.kind === 'label')) {
    if (markers.some(m => overlap(m, t.box))) problems.push(`a marker covers the label "${t.text}"`);
  }
  return problems;
}"""


@pytest.fixture(scope="module")
def plot_page(browser):
    """One tab with plotly.js loaded from the installed plotly package (no network)."""
    plotly_js = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_text()
    tab = browser.new_page(viewport={"width": max(WIDTHS) + 40, "height": 900})
    tab.set_content(f"<html><body style='margin:0'><script>{plotly_js}</script><div id=plot></div></body></html>")
    yield tab
    tab.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_every_figure_is_readable_and_nothing_overlaps(plot_page, width):
    measure = MEASURE.replace("MIN_TITLE", str(style.MIN_TITLE_PX)).replace("MIN_TEXT", str(style.MIN_TEXT_PX))
    problems = {}
    for case, name in zip(CASES, IDS):
        spec = json.loads(case.figure().to_json())
        plot_page.evaluate("([spec, width]) => { const div = document.getElementById('plot'); Plotly.purge(div);"
                           " div.style.width = width + 'px'; return Plotly.newPlot(div, spec.data, spec.layout,"
                           " {staticPlot: true}); }", [spec, width])
        found = plot_page.evaluate(measure, plot_page.query_selector("#plot"))
        if found:
            problems[name] = found
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)
