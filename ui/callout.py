"""The "book vs Keras 3" callout: the rows of core.keras3_notes that concern one page."""

from __future__ import annotations

import streamlit as st

from core.keras3_notes import differences_for


# Shared so every page words version differences the same way, from one tested table.
def book_vs_keras_ui(topic: str, expanded: bool = False) -> None:
    rows = differences_for(topic)
    if not rows:
        return
    with st.expander("Book (TF 2.0) vs Keras 3: what changed", expanded=expanded, icon=":material/history_edu:"):
        table = "| the book | Keras 3 today |\n|---|---|\n" + "\n".join(
            f"| {row.book} | {row.keras3} |" for row in rows
        )
        st.markdown(table)
        st.caption("Each row is checked against the installed Keras by the test suite.")
