"""Queued trainings in a page: start one through core.jobs, then show its status and progress until it ends.

A session keeps its job handle in `st.session_state[state_key]`. While the job is pending, a fragment
redraws the status line ("running", "waiting for the run already in progress", "queued: position 2")
and the progress bar every second; when the job ends it reruns the whole page, which then reads the
results (from the store, or from the value this module returns).
"""

from __future__ import annotations

from typing import Any, Callable, Hashable

import streamlit as st

from core import jobs

POLL_SECONDS = 1.0  # how often a pending job's status is redrawn


# Button handlers call this; the job runs in core.jobs' worker thread, never in the page's script.
def submit_job(state_key: str, job_key: Hashable, fn: Callable) -> None:
    st.session_state[state_key] = jobs.submit(job_key, fn)


# Draws the live status of this section's job; returns (pending, result). The result is None
# until the job has finished; a failure becomes an st.error with the job's own message.
def job_panel_ui(state_key: str, label: str) -> tuple[bool, Any]:
    handle = st.session_state.get(state_key)
    if handle is None:
        return False, None
    if handle.done():
        del st.session_state[state_key]
        try:
            return False, handle.result(timeout=0)
        except Exception as error:  # shown, not raised: a failed run must not break the page
            st.error(f"{label} failed: {error}", icon=":material/error:")
            return False, None
    _live_status(state_key, label)
    return True, None


@st.fragment(run_every=POLL_SECONDS)
def _live_status(state_key: str, label: str) -> None:
    handle = st.session_state.get(state_key)
    if handle is None or handle.done():
        st.rerun()  # the whole page: it now shows the results (or the error)
    status = handle.status()
    st.info(f"{label}: {status}", icon=":material/hourglass_top:")
    done, total, message = handle.progress() or (0, 1, "starting")
    st.progress(min(max(done / max(total, 1), 0.0), 1.0), text=message)
