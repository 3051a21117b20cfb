"""What a page says about a value a student typed: the sentence of a core check, under the box it came from."""

from __future__ import annotations

from typing import Any, Callable

import streamlit as st


# `check` is a core validator (returns the value, cleaned, or raises ValueError with a sentence); on a bad
# value the sentence goes under the widget and None comes back, so nothing runs with another value.
def checked(value: Any, check: Callable[[Any], Any], *, container=None) -> Any:
    try:
        return check(value)
    except ValueError as error:
        (container or st).error(str(error), icon=":material/error:")
        return None
