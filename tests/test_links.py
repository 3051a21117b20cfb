"""Links that carry the whole view, and links a student mistyped (ui/links.py).

- Every page: change every setting, reopen the address those settings make in a fresh session, and get the same
  view (same widget values, same charts, same messages). Pages are found in ui/registry.py, widgets on the page
  itself, so a new page or a new widget is covered without touching this file; a widget left out of the URL
  fails here unless EXEMPT names it with the reason.
- Hostile query strings: a value the page cannot use is named under its widget with the reason, never a
  traceback (tests/test_browser.py opens a few in the real browser).
"""

import math

import pytest

from tests.app_support import chart_keys, no_exception, open_page, text
from ui.links import link_problem
from ui.registry import ALL_PAGES

EXEMPT: dict[str, str] = {}  # widget key -> why a link does not carry it (none so far)
WIDGET_KINDS = ("number_input", "selectbox", "multiselect", "select_slider", "radio", "toggle", "checkbox",
                "text_input", "button_group")
# Views a default first screen does not show, opened by a link first so their widgets are covered too.
MORE_VIEWS = {
    "pages/1_Batch_Normalization.py": [{"bn_section": "Axis"}, {"bn_section": "Axis", "bn_axis": "other"},
                                       {"bn_momentum": "other"}, {"bn_section": "Training vs inference"}],
}


def widgets(app) -> dict:
    """Every keyed setting on the page: key -> widget (buttons are actions, not settings)."""
    found = {}
    for kind in WIDGET_KINDS:
        for widget in app.get(kind):
            if widget.key and not widget.key.startswith("$$"):
                found[widget.key] = widget
    return found


def changed_value(widget):
    """A different value the widget offers: the next choice, a flipped switch, one step up, one choice fewer."""
    kind = type(widget).__name__
    if kind in ("Toggle", "Checkbox"):
        return not widget.value
    if kind == "NumberInput":
        return widget.value + (widget.step or 1)
    if kind == "TextInput":
        return "2" if widget.value != "2" else "1"
    options = [option for option in widget.proto.options] if kind == "ButtonGroup" else None
    if kind == "Multiselect":
        chosen = list(widget.value)
        return chosen[:-1] if len(chosen) > 1 else [o for o in _values(widget) if o not in chosen][:1] + chosen
    values = _values(widget) if options is None else [option.content for option in options]
    current = widget.value if not isinstance(widget.value, list) else widget.value[0]
    return values[(values.index(current) + 1) % len(values)]


def _values(widget) -> list:
    """The widget's choices as values: AppTest keeps their labels, and a label is its value or, for numeric
    choices shown through a format_func ("0.0001 (the protocol's)"), the number it starts with."""
    values = []
    for label in widget.options:
        try:
            number = float(label.split(" ")[0])
        except ValueError:
            number = None
        values.append(number if number is not None and str(widget.format_func(number)) == label else label)
    return values


def url_text(widget):
    """What the address bar holds for the widget's value (labels for choices, lists as repeated keys)."""
    kind = type(widget).__name__
    value = widget.value
    if kind in ("Toggle", "Checkbox"):
        return "true" if value else "false"
    if kind == "NumberInput":
        return f"{value:g}" if isinstance(value, float) else str(value)
    if kind == "ButtonGroup":
        return value if not isinstance(value, list) else value[0]
    if isinstance(value, list):
        return [str(widget.format_func(item)) for item in value]
    return str(widget.format_func(value)) if kind != "TextInput" else value


def view(app) -> dict:
    """What a student sees, for comparing two sessions: settings, charts, messages (link notes left out)."""
    messages = [element.value for kind in ("error", "warning", "info", "success") for element in app.get(kind)]
    return {"settings": {key: widget.value for key, widget in widgets(app).items()}, "charts": chart_keys(app),
            "messages": [message for message in messages if "was not used" not in message]}


@pytest.mark.parametrize("info", ALL_PAGES, ids=[info.path for info in ALL_PAGES])
def test_a_link_reopens_the_same_view_after_every_setting_changed(info, fashion_mnist, tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))  # an empty results store: the same for both sessions
    for start in [{}] + MORE_VIEWS.get(info.path, []):
        app = open_page(info.path, start)
        touched = set(start)
        for _ in range(4):  # changing a setting can reveal another ("other" opens a box): until none is new
            fresh = {key: widget for key, widget in widgets(app).items() if key not in touched and key not in EXEMPT}
            if not fresh:
                break
            for key, widget in fresh.items():
                widget.set_value(changed_value(widget))
                touched.add(key)
            no_exception(app.run())
        query = {**start, **{key: url_text(widget) for key, widget in widgets(app).items() if key not in EXEMPT}}
        reopened, original = view(open_page(info.path, query)), view(app)
        differing = {key: (original["settings"].get(key), value) for key, value in reopened["settings"].items()
                     if original["settings"].get(key) != value}
        assert not differing, (differing, query)  # (value set in the first session, value after the link)
        assert reopened == original, query


@pytest.mark.parametrize("asked, kept, value, options, expected", [
    (["3"], ["3"], 3.0, None, None),
    (["nan"], [], 0.9, None, "it is not a finite number; showing 0.9 instead."),
    (["abc"], [], 20, None, "it is not a number; showing 20 instead."),
    (["-5"], ["0"], 0, None, "it is outside the range this box accepts; showing 0 instead."),
    (["nonsense"], [], "book", ["book", "notebook"], "it is not one of the choices (book, notebook); showing book "
                                                      "instead."),
    (["1", "2"], ["1", "2"], 2.0, None, "it appears 2 times; the last one is used."),
    (["maybe"], [], False, None, "a switch takes true or false; showing False instead."),
    (["0.01", "0.1"], ["0.01", "0.1"], [0.01, 0.1], [0.01, 0.1, 1.0], None),
])
def test_link_problems_are_said_in_words(asked, kept, value, options, expected):
    assert link_problem(asked, kept, value, options) == expected


@pytest.mark.parametrize("path, query, key, says", [
    ("pages/4_Transfer_Learning.py", {"tl_seeds": "-5"}, "tl_seeds", "Choose 3 to 200 seeds; got -5."),
    ("pages/4_Transfer_Learning.py", {"tl_seeds": "abc"}, "tl_seeds",
     "`tl_seeds=abc` was not used: it is not a number"),
    ("pages/4_Transfer_Learning.py", {"tl_protocol": "nonsense"}, "tl_protocol",
     "`tl_protocol=nonsense` was not used: it is not one of the choices (book, notebook, ml3, book_comment)"),
    ("pages/3_Gradient_Clipping.py", {"clip_x": "nan"}, "clip_x", "`clip_x=nan` was not used: it is not a finite"),
    ("pages/3_Gradient_Clipping.py", {"clip_x": ["1", "2"]}, "clip_x", "`clip_x=2` was not used: it appears 2 times"),
    ("pages/3_Gradient_Clipping.py", {"clip_dist": "x" * 5000}, "clip_dist", "(5,000 characters)"),
    ("pages/3_Gradient_Clipping.py", {"clip_dim": "100000"}, "clip_dim", "Choose 1 to 10,000 components; got 100,000"),
    ("pages/1_Batch_Normalization.py", {"bn_section": "nonsense"}, "bn_section", "`bn_section=nonsense` was not used"),
    ("pages/1_Batch_Normalization.py", {"bn_batch": "100000"}, "bn_batch", "between 1 and 1,024; got 100,000"),
])
def test_a_hostile_link_is_named_under_its_widget_never_a_traceback(path, query, key, says):
    app = open_page(path, query)  # no exception (open_page checks)
    assert says in text(app, "warning", "error")
    if "was not used" in says:  # the note stays until the student changes that widget
        assert says in text(no_exception(app.run()), "warning")


def test_typed_numbers_are_shown_as_typed():
    """A 1e-30 threshold reads 1e-30 in its box and in the messages, not 0.0000."""
    app = open_page("pages/3_Gradient_Clipping.py", {"clip_t": "1e-30"})
    box = app.number_input(key="clip_t")
    assert box.value == 1e-30 and box.proto.format == "%g"
    assert not math.isnan(box.value) and "zoom on the threshold t = 1e-30" in str(app.get("plotly_chart")[0].proto.spec)
