"""Button-started trainings, the one way every page runs them: `training_ui(...)` in a section.

A press submits the run to core.jobs (one training at a time per server; a session asking for a key
already queued or running joins it). The session keeps its handle in `st.session_state[f"{key}_job"]`,
so reruns, widget changes and page switches do not lose it. While the job is pending, a fragment
redraws its status ("running", "waiting for the run already in progress", "queued: position 2") and
progress bar every second, and reruns the whole page when the job ends. The page then reads the result
from the results store, or from what `training_ui` returns: the job's own value, the same for every
session that asked.

Classroom lock, in this one place for every page: each call passes the run's estimated `cost`
(core.cost), shown under the button before anyone presses it. With `LAB_TEACHER_KEY` set, a run above
the limit (or one with no estimate) needs the teacher's key (ui.teacher, typed once in the sidebar);
joining a run that is already queued or running never does, and what the store holds stays visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Hashable, Optional

import streamlit as st

from core import classroom, jobs
from core.cost import Cost, format_cost
from core.progress import with_time_left
from ui import teacher

POLL_SECONDS = 1.0  # how often a pending job's status is redrawn


@dataclass(frozen=True)
class Training:
    """What a section knows about its last training."""
    pending: bool  # queued or running: its status panel is showing
    result: Any = None  # the finished job's value; None before a press, while pending, or after a failure
    job_key: Hashable = None  # the key the shown run was asked for: compare with the current settings' key


# A section's button (when `offer` and nothing is pending) and its job's live status; job_key None disables it.
def training_ui(key: str, job_key: Hashable, run: jobs.JobFunction, *, label: str, button: str,
                offer: bool = True, keep_result: bool = False, primary: bool = False,
                cost: Optional[Cost] = None) -> Training:
    state_key = f"{key}_job"
    handle = st.session_state.get(state_key)
    if offer and (handle is None or handle.done()):
        locked = job_key is not None and _locked(job_key, cost)
        slot = st.empty()  # emptied once pressed: the job's status replaces the button (and its cost) at once
        with slot.container():
            pressed = st.button(button, key=f"{key}_train", type="primary" if primary else "secondary",
                                disabled=job_key is None or locked)
            _cost_caption(cost, locked)
        if pressed and job_key is not None and not _locked(job_key, cost):  # checked again: a click can be forged
            handle = st.session_state[state_key] = jobs.submit(
                job_key, lambda report: run(with_time_left(report)), keep_result=keep_result, label=label,
                cost=None if cost is None else cost.total)
            slot.empty()
    if handle is None:
        return Training(pending=False)
    if not handle.done():
        _live_status(state_key, label)
        return Training(pending=True, job_key=handle.key)
    try:
        return Training(pending=False, result=handle.result(timeout=0), job_key=handle.key)
    except jobs.Cancelled:
        del st.session_state[state_key]
        st.warning(f"{label} was cancelled by the teacher. Whatever it had finished is kept in the results store.",
                   icon=":material/cancel:")
        return Training(pending=False)
    except Exception as error:  # shown once, not raised: a failed run must not break the page
        del st.session_state[state_key]
        st.error(f"{label} failed: {error}", icon=":material/error:")
        return Training(pending=False)


# Locked: the teacher's key is needed (locking on, cost above the limit or unknown, this session not unlocked),
# unless the same run is already queued or running, which a press only joins.
def _locked(job_key: Hashable, cost: Optional[Cost]) -> bool:
    if not classroom.needs_teacher(None if cost is None else cost.total) or teacher.unlocked():
        return False
    return not jobs.queue().is_pending(job_key)


# What the press will cost, before it is pressed; and when it is locked, why and how to unlock it.
def _cost_caption(cost: Optional[Cost], locked: bool) -> None:
    if locked:
        what = ("its cost is not estimated" if cost is None else
                f"its estimated cost, {format_cost(cost.total)}, is above the classroom limit of "
                f"{format_cost(classroom.cost_limit())}")
        st.caption(f":material/lock: Needs the teacher's key: {what}. Results already computed stay visible.")
    elif cost is not None:
        st.caption(f"Estimated cost: {cost.describe()}.")


@st.fragment(run_every=POLL_SECONDS)
def _live_status(state_key: str, label: str) -> None:
    handle = st.session_state.get(state_key)
    if handle is None or handle.done():
        st.rerun()  # the whole page: it now shows the results (or the error)
    st.info(f"{label}: {handle.status()}", icon=":material/hourglass_top:")
    done, total, message = handle.progress() or (0, 1, "starting")
    st.progress(min(max(done / max(total, 1), 0.0), 1.0), text=message)
