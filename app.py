"""Home page and entry point: `streamlit run app.py`. Streamlit's pages/ folder supplies the other pages.

What this lab is for, where to start, and one link per concept page (ui/registry.py lists them;
tests/test_pages.py checks the list against pages/).
"""

import streamlit as st

from ui.frame import page_frame
from ui.registry import PAGES

page_frame(__file__)

st.title("Training deep neural networks: a lab")
st.markdown(
    "Each page takes one idea from the chapter on training deep nets (Géron, *Hands-On Machine "
    "Learning*, 2nd edition, chapter 11) and lets you **run it** instead of taking it on trust. "
    "Every number and curve is computed live by TensorFlow/Keras code that the test suite checks "
    "against real Keras layers, SciPy or the book's own worked numbers."
)

with st.container(border=True):
    st.markdown("**Start here.** The pages follow the chapter, one idea each: open the first and work down the "
                "menu on the left. Each page opens on its main figure; change a control and it redraws. The "
                "address bar keeps every setting, so a link shows someone else exactly your view.")
    st.page_link(PAGES[0].path, label=f"Start with {PAGES[0].title}", icon=":material/play_arrow:")

st.subheader("Pages")
for page in PAGES:
    st.page_link(page.path, label=page.title, icon=page.icon)
    st.caption(page.teaches)

st.subheader("How to read the numbers")
st.markdown(
    "- A single training run is one draw from a distribution: pages that train show several seeds, "
    "with the mean and the spread.\n"
    "- Comparisons are paired by seed and come with confidence intervals, not just a point.\n"
    "- Where the book's code and today's Keras 3 disagree, the page says so.\n"
    "- The sidebar's *Environment* panel shows the library versions and where the data came from."
)
