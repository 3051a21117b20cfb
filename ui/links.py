"""Settings that live in the address bar, and what the page says when a link's value could not be used.

Every widget a student can change is created through `linked`, which binds it to the URL (its key is the
query parameter: `?clip_x=3`), so a link reproduces the whole view. Streamlit itself drops a URL value it
cannot use (`?tl_protocol=nonsense`, `?clip_x=abc`, `?bn_batch=` ...) or clamps it, silently; `linked` says,
under the widget, which value was not used and why, until the student changes that widget. The frame calls
`remember_link` before any widget, to keep the values the link asked for.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import streamlit as st

ASKED = "_link_asked"  # session key: {widget key: [URL values]} not yet looked at by their widget
NOTES = "_link_notes"  # session key: {widget key: (message, the value the widget then showed)}
SHOWN_CHARACTERS = 24  # a longer URL value is cut in the message


# Called by ui.frame before any widget: what this run's URL asks of widgets not yet on the page.
def remember_link() -> None:
    asked = {key: st.query_params.get_all(key) for key in st.query_params if key not in st.session_state}
    st.session_state[ASKED] = asked


# A widget bound to the URL, e.g. `linked(column.number_input, "seeds", key="tl_seeds", value=20)`; returns its value.
def linked(widget: Callable, label: str, *, key: str, **kwargs) -> Any:
    value = widget(label, key=key, bind="query-params", **kwargs)
    link_note(key, value, container=getattr(widget, "__self__", None), options=kwargs.get("options"),
              label=kwargs.get("format_func", str))
    return value


# Under a URL-bound element (a widget, or st.tabs with bind="query-params"), the note about the link's value
# for `key` while the element still shows `value`; once per run in which the link seeded it, the note is decided.
def link_note(key: str, value: Any, *, container=None, options=None, label: Callable = str) -> None:
    asked = st.session_state.get(ASKED, {}).pop(key, None)
    notes = st.session_state.setdefault(NOTES, {})
    if asked:
        reason = link_problem(asked, st.query_params.get_all(key), value, options, label)
        if reason:
            notes[key] = (f"The link's `{key}={_shown(asked[-1])}` was not used: {reason}", value)
        else:
            notes.pop(key, None)
    if key in notes and notes[key][1] == value:
        (container or st).warning(notes[key][0], icon=":material/link_off:")
    else:
        notes.pop(key, None)


def link_problem(asked: list[str], kept: list[str], value: Any, options=None, label: Callable = str) -> str | None:
    """Why a widget does not show what the URL asked (None if it does): `asked` the URL's values for its key,
    `kept` what Streamlit left in the URL after seeding the widget, `value` what the widget shows, `label` its
    format_func (a choice's label is what the URL holds)."""
    repeated = len(asked) > 1 and not isinstance(value, (list, tuple))
    if _same(asked[-1] if not isinstance(value, (list, tuple)) else asked, value, label):
        return f"it appears {len(asked)} times; the last one is used." if repeated else None
    text = asked[-1]
    if isinstance(value, bool):
        reason = "a switch takes true or false"
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = _number(text)
        if number is None:
            reason = "it is not a number"
        elif not math.isfinite(number):
            reason = "it is not a finite number"
        elif kept and kept != asked:
            reason = "it is outside the range this box accepts"
        else:
            reason = "this box cannot take it"
    elif options is not None:
        choices = ", ".join(str(label(option)) for option in list(options)[:12])
        reason = f"it is not one of the choices ({choices})"
    else:
        reason = "this control cannot take it"
    shown = (", ".join(_as_text(item, label) for item in value) if isinstance(value, (list, tuple))
             else _as_text(value, label))
    return f"{reason}; showing {_shown(shown)} instead."


def _same(asked, value, label: Callable = str) -> bool:
    """Whether the URL's text (or list of texts) says the value the widget shows."""
    if isinstance(value, (list, tuple)):
        parts = [part for item in asked for part in str(item).split(",") if part != ""]
        shown = [_as_text(item, label) for item in value]
        return (sorted(parts) == sorted(shown)
                or sorted(map(_number, parts), key=str) == sorted(map(_number, shown), key=str))
    if isinstance(value, bool):
        return asked.lower() == str(value).lower()
    if isinstance(value, (int, float)):
        number = _number(asked)
        return number is not None and math.isfinite(number) and number == value
    return asked in (_as_text(value, label), str(value))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _as_text(value: Any, label: Callable = str) -> str:
    return f"{value:g}" if isinstance(value, float) and label is str else str(label(value))


def _shown(text: str) -> str:
    """The value as the message quotes it: cut when long, so a 10,000-character link cannot flood the page."""
    text = str(text).replace("`", "'")  # the message quotes it in a code span
    return text if len(text) <= SHOWN_CHARACTERS else f"{text[:SHOWN_CHARACTERS]}… ({len(text):,} characters)"
