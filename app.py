"""Entry point: `streamlit run app.py`. Navigation over the registered pages plus the environment panel."""

import streamlit as st

from ui.keras_state import keep_keras_state_across_reruns
from ui.registry import HOME, PAGES
from ui.sidebar import environment_panel

keep_keras_state_across_reruns()
st.set_page_config(page_title="Training deep nets: a lab", page_icon=":material/science:", layout="wide")

navigation = st.navigation(
    [st.Page(HOME.path, title=HOME.title, icon=HOME.icon, default=True)]
    + [st.Page(page.path, title=page.title, icon=page.icon, url_path=page.url_path) for page in PAGES]
)
environment_panel()
navigation.run()
