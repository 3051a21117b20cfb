"""Button-started trainings, the one way every page runs them: `training_ui(...)` in a section.

A press submits the run to core.jobs (one training at a time per server; a session asking for a key
already queued or running joins it). The session keeps its handle in `st.session_state[f"{key}_job"]`,
so reruns, widget changes and page switches do not lose it. While the job is pending, a fragment
redraws its status ("running", "waiting for the run already in progress", "queued: position 2") and
progress bar every second, and reruns the whole page when the job ends. The page then reads the result
from the results store, or from what `training_ui` returns: the job's own value, the same for every
session that asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Hashable

import streamlit as st

from core import jobs

POLL_SECONDS = 1.0  # how often a pending job's status is redrawn


@dataclass(frozen=True)
class Training:
    """What a section knows about its last training."""
    pending: bool  # queued or running: its status panel is showing
    result: Any = None  # the finished job's value; None before a press, while pending, or after a failure
    job_key: Hashable = None  # the key the shown run was asked for: compare with the current settings' key


# A section's button (when `offer` and nothing is pending) and its job's live status; job_key None disables it.
def training_ui(key: str, job_key: Hashable, run: jobs.JobFunction, *, label: str, button: str,
                offer: bool = True, keep_result: bool = False, primary: bool = False) -> Training:
    state_key = f"{key}_job"
    handle = st.session_state.get(state_key)
    if offer and (handle is None or handle.done()):
        if st.button(button, key=f"{key}_train", type="primary" if primary else "secondary",
                     disabled=job_key is None):
            handle = st.session_state[state_key] = jobs.submit(job_key, run, keep_result=keep_result)
    if handle is None:
        return Training(pending=False)
    if not handle.done():
        _live_status(state_key, label)
        return Training(pending=True, job_key=handle.key)
    try:
        return Training(pending=False, result=handle.result(timeout=0), job_key=handle.key)
    except Exception as error:  # shown once, not raised: a failed run must not break the page
        del st.session_state[state_key]
        st.error(f"{label} failed: {error}", icon=":material/error:")
        return Training(pending=False)


@st.fragment(run_every=POLL_SECONDS)
def _live_status(state_key: str, label: str) -> None:
    handle = st.session_state.get(state_key)
    if handle is None or handle.done():
        st.rerun()  # the whole page: it now shows the results (or the error)
    st.info(f"{label}: {handle.status()}", icon=":material/hourglass_top:")
    done, total, message = handle.progress() or (0, 1, "starting")
    st.progress(min(max(done / max(total, 1), 0.0), 1.0), text=message)
