"""AppTest plumbing: open a page script by path (with URL query parameters), wait for its queued job, read its text.

Twin of tests/browser_support.py. Each file in pages/ runs on its own (its ui.frame call does what
app.py used to do for it), so a page is opened directly with AppTest.from_file, as Streamlit serves it.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

TEXT_KINDS = ("markdown", "caption", "error", "warning", "info", "success")


def open_page(path: str, query: dict | None = None, *, timeout: float = 180) -> AppTest:
    """Run a page (e.g. "pages/3_Gradient_Clipping.py") as its address with `?query` would; fail on a traceback.
    A list value is a key repeated in the query string (?a=1&a=2)."""
    app = AppTest.from_file(str(ROOT / path), default_timeout=timeout)
    app.query_params.update({name: [str(item) for item in value] if isinstance(value, list) else str(value)
                             for name, value in (query or {}).items()})
    return no_exception(app.run())


# Every helper checks this first: a page's traceback fails the test with its message.
def no_exception(app: AppTest) -> AppTest:
    assert not app.exception, [exception.message for exception in app.exception]
    return app


def finish(app: AppTest, section: str, timeout: float = 240) -> AppTest:
    """Wait for this session's queued job of `section` (ui.jobs keeps it in `{section}_job`), then rerun the
    page as the job panel's polling fragment would."""
    handle = app.session_state[f"{section}_job"]
    assert handle.wait(timeout), f"{section} did not finish within {timeout} s"
    return no_exception(app.run())


def text(app: AppTest, *kinds: str) -> str:
    """The values of every element of these kinds (default: all the text kinds), joined by spaces."""
    return " ".join(str(element.value) for kind in (kinds or TEXT_KINDS) for element in app.get(kind))


# The page's error boxes (on purpose or not), after checking it raised nothing.
def errors(app: AppTest) -> list[str]:
    return [error.value for error in no_exception(app).error]


# Which charts the page drew, by their keys, in page order.
def chart_keys(app: AppTest) -> list[str]:
    return [chart.key for chart in app.get("plotly_chart")]


# Metric label -> shown value.
def metric_values(app: AppTest) -> dict:
    return {metric.label: metric.value for metric in app.metric}
