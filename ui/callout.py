"""The "book vs Keras 3" callout: the rows of core.keras3_notes that concern one page."""

from __future__ import annotations

import streamlit as st

from core.keras3_notes import callout_title, grouped_for


# Shared so every page words version differences the same way, from one tested table. Library changes
# and corrections of the book's text get separate headings: the latter are not changes.
def book_vs_keras_ui(topic: str, *, expanded: bool = False) -> None:
    groups = grouped_for(topic)
    if not groups:
        return
    with st.expander(callout_title(topic), expanded=expanded, icon=":material/history_edu:"):
        for heading, header, rows in groups:
            st.markdown(f"**{heading}**\n\n{header}\n|---|---|\n"
                        + "\n".join(f"| {row.book} | {row.keras3} |" for row in rows))
        st.caption("Each row is checked against the installed Keras by the test suite.")
