"""The sidebar panel every page shares (library versions, where the data came from or why it is missing) and the
results store's guard and downloads that the training pages share."""

from __future__ import annotations

from importlib import metadata

import streamlit as st

from core import data, store


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


# Versions come from package metadata so the sidebar does not pay TensorFlow's 3 s import.
def environment_panel() -> None:
    try:
        source, problem = data.load_fashion_mnist().source, None
    except data.DataError as error:
        source, problem = None, str(error)
    with st.sidebar.expander("Environment", expanded=problem is not None, icon=":material/info:"):
        st.caption(
            f"TensorFlow {_version('tensorflow')} · Keras {_version('keras')} · "
            f"Streamlit {_version('streamlit')}"
        )
        if problem:
            st.error(f"Fashion-MNIST unavailable. {problem}", icon=":material/error:")
        else:
            st.caption(f"Fashion-MNIST from `{source}`")


# Pages that need the data call this instead of core.data directly: a clear message, never a traceback.
def fashion_mnist_or_stop() -> data.FashionMNIST:
    try:
        return data.load_fashion_mnist()
    except data.DataError as error:
        st.error(f"This page needs Fashion-MNIST. {error}", icon=":material/error:")
        st.stop()


# A damaged results file stops the page with a way out that keeps the old file; `prefix` keeps each page's keys
# its own ("tl" -> "tl_move_aside", "tl_moved_to").
def results_store_or_stop(prefix: str) -> store.Store:
    try:
        results = store.Store()
    except store.StoreError as error:
        st.error(str(error), icon=":material/database:")
        if st.button("Move the damaged file aside and start a new one", key=f"{prefix}_move_aside"):
            st.session_state[f"{prefix}_moved_to"] = str(store.move_aside(error.path))
            st.rerun()
        st.stop()
    if f"{prefix}_moved_to" in st.session_state:
        st.success(f"The damaged file was kept as {st.session_state.pop(f'{prefix}_moved_to')}; a new results file "
                   "was started.")
    return results


# The two CSV buttons under a comparison: its own rows and the whole store. Callables, so each CSV is written only
# when someone clicks (Streamlit's deferred downloads); `prefix` keeps the keys the page's own ("tl_download").
def store_downloads(results: store.Store, config, file_name: str, prefix: str) -> None:
    downloads = st.columns(2)
    downloads[0].download_button("Download this comparison (CSV)", lambda: results.to_csv(config), file_name=file_name,
                                 mime="text/csv", key=f"{prefix}_download", icon=":material/download:")
    downloads[1].download_button("Download the whole results store (CSV)", results.to_csv,
                                 file_name="lab-results.csv", mime="text/csv", key=f"{prefix}_download_all")
