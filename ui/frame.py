"""What every page does first: page config, the Environment sidebar panel, the Keras-state guard.

With Streamlit's pages/ folder each page runs on its own (app.py is the home page, not a shell around
the others), and the first request of a fresh server may be any page's address. So every page script,
app.py included, starts with `page_frame(__file__)`; tests/test_pages.py fails for a page that does not.
"""

from __future__ import annotations

import streamlit as st

from ui.keras_state import keep_keras_state_across_reruns
from ui.registry import HOME, page_for
from ui.sidebar import environment_panel

LAB_TITLE = "Training deep nets: a lab"


# The one call at the top of every page script; `script` is its __file__.
def page_frame(script: str) -> None:
    info = page_for(script)
    keep_keras_state_across_reruns()
    st.set_page_config(page_title=LAB_TITLE if info == HOME else f"{info.title} · {LAB_TITLE}",
                       page_icon=info.icon, layout="wide")
    environment_panel()
