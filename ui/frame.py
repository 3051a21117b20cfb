"""What every page does first: page config, the menu, the Environment sidebar panel, the Keras-state guard.

With Streamlit's pages/ folder each page runs on its own (app.py is the home page, not a shell around
the others), and the first request of a fresh server may be any page's address. So every page script,
app.py included, starts with `page_frame(__file__)`; tests/test_pages.py fails for a page that does not.
The menu is drawn here from ui/registry.py (config.toml turns Streamlit's own off: it would list the
home page as "app"). With `LAB_RAY_ADDRESS` set, the first page served installs the Ray cluster's job queue.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitAPIException

from core import cluster
from core.runs import runner
from ui.keras_state import keep_keras_state_across_reruns
from ui.links import remember_link
from ui.registry import ALL_PAGES, HOME, PageInfo, page_for
from ui.sidebar import environment_panel
from ui.teacher import teacher_sidebar

LAB_TITLE = "Training deep nets: a lab"
ROOT = Path(__file__).resolve().parent.parent


# The one call at the top of every page script; `script` is its __file__.
def page_frame(script: str) -> None:
    info = page_for(script)
    keep_keras_state_across_reruns()
    st.set_page_config(page_title=LAB_TITLE if info == HOME else f"{info.title} · {LAB_TITLE}",
                       page_icon=info.tab_icon, layout="wide")
    remember_link()
    job_backend()
    menu_ui()
    environment_panel()
    teacher_sidebar()


# The process's job queue: with LAB_RAY_ADDRESS set, the Ray cluster's (made once, at the first page served), so
# every page's trainings and the teacher's panel see the same queue.
def job_backend() -> None:
    if runner.on_cluster():
        cluster.install_queue()


# Home first, then the concept pages, each as a link that keeps the session (the current page is highlighted).
def menu_ui() -> None:
    with st.sidebar:
        for info in ALL_PAGES:
            menu_link(info)
        st.divider()


# Absolute paths, so a link resolves whichever page is the main script. Streamlit only links pages it serves:
# AppTest opening a page file directly serves that file alone, and there the menu falls back to plain links.
def menu_link(info: PageInfo) -> None:
    try:
        st.page_link(str(ROOT / info.path), label=info.title, icon=info.icon)
    except StreamlitAPIException:
        st.markdown(f"[{info.title}](/{info.url_path})")
