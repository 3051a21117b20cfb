"""The sidebar's classroom panel: the teacher's key (typed once per session) and the training queue.

With `LAB_TEACHER_KEY` set (core.classroom), a "Teacher" expander asks for the key; a right key unlocks
this session only (`st.session_state["teacher_unlocked"]`; the key itself is not kept, the form clears
its box), so expensive runs (ui.jobs) and the queue controls open up for it. A wrong key gets a message;
five wrong keys in a session wait a minute. The key is compared by core.classroom in constant time,
never logged, never bound to the URL. Without the variable nothing is locked and whoever runs the lab
may steer its queue.

The queue panel shows the running job (its progress, a Cancel button) and the waiting ones (move up,
move down, remove, clear all), through core.jobs' queue interface. Everyone else sees one line: what
the server is training and how many runs wait.
"""

from __future__ import annotations

import time

import streamlit as st

from core import classroom, jobs
from core.cost import format_cost

UNLOCKED = "teacher_unlocked"  # session_state: True once this session typed the right key
FAILURES = "teacher_failures"  # session_state: (count, time of the last wrong key)
MAX_FAILURES = 5  # wrong keys in a row before a session must wait
WAIT_SECONDS = 60  # how long it then waits
POLL_SECONDS = 2.0  # how often the steering panel redraws while runs are pending


def unlocked() -> bool:
    """Whether this session typed the teacher's key (always False while locking is off: nothing needs it)."""
    return classroom.locking_enabled() and bool(st.session_state.get(UNLOCKED, False))


# The one call ui.frame makes: the key form or the steering panel, and the one-line queue summary.
def teacher_sidebar() -> None:
    with st.sidebar:
        if classroom.locking_enabled():
            with st.expander("Teacher", icon=":material/school:", expanded=False):
                if unlocked():
                    st.caption("Unlocked in this session: every run, and the queue below.")
                    st.button("Lock again", key="teacher_lock", on_click=_lock, icon=":material/lock:")
                    _queue_panel_or_summary(steer=True)
                else:
                    _key_form()
                    _queue_panel_or_summary(steer=False)
        elif jobs.queue().pending():
            with st.expander("Training queue", icon=":material/queue:", expanded=False):
                _queue_panel_or_summary(steer=True)


def _lock() -> None:
    st.session_state[UNLOCKED] = False


# A form, so nothing is sent while typing and the box is cleared once submitted.
def _key_form() -> None:
    with st.form("teacher_key_form", clear_on_submit=True, border=False):
        typed = st.text_input("Teacher's key", type="password", key="teacher_key_typed",
                              help="Unlocks runs above the classroom's cost limit in this browser tab.")
        submitted = st.form_submit_button("Unlock", icon=":material/lock_open:")
    if submitted:
        message = check_key(typed)
        if message:
            st.error(message, icon=":material/key_off:")
        else:
            st.rerun()  # the whole page: its locked buttons open


def check_key(typed: str) -> str:
    """Unlock this session if `typed` is the key; returns "" on success, else the message to show."""
    count, last = st.session_state.get(FAILURES, (0, 0.0))
    if count >= MAX_FAILURES and time.monotonic() - last < WAIT_SECONDS:
        return "Too many wrong keys: wait a minute, then try again."
    if classroom.is_teacher_key(typed):
        st.session_state[UNLOCKED] = True
        st.session_state.pop(FAILURES, None)
        return ""
    st.session_state[FAILURES] = (count + 1, time.monotonic())
    return ("That is not the teacher's key. Runs above the classroom limit stay locked; everything else, and "
            "every result already computed, works as before.")


# The teacher's panel redraws itself every POLL_SECONDS; without a key (one person, one laptop) it is drawn with
# the page only: a polling fragment in every student's sidebar would add a rerun per session every two seconds,
# and in Streamlit 1.67 a fragment's auto-rerun can cut short another fragment's rerun in the same session
# (the clipping page's vector then would not redraw); bench/classroom_load.py measured both.
def _queue_panel_or_summary(*, steer: bool) -> None:
    if not (steer and jobs.queue().pending()):
        queue_summary()
    elif unlocked():
        _polling_steering_panel()
    else:
        steering_panel()


# Everyone's line: what trains now and how many runs wait (drawn with the page, no polling).
def queue_summary() -> None:
    status = jobs.queue().status()
    if status.running is None:
        st.caption("No training running.")
        return
    st.caption(f"Training now: {_describe(status.running)}"
               + (f"; {len(status.waiting)} waiting." if status.waiting else "."))


# The running job with its Cancel button, the waiting ones with up / down / drop, and Clear.
def steering_panel() -> None:
    status = jobs.queue().status()
    if status.running is None and not status.waiting:
        st.caption("No training running, none waiting.")
        return
    if status.running is not None:
        running = status.running
        st.markdown(f"**Running:** {_describe(running)}")
        done, total, message = running.progress or (0, 1, "starting")
        st.progress(min(max(done / max(total, 1), 0.0), 1.0), text=message)
        st.button("Cancel this run", key="teacher_cancel_running", on_click=jobs.queue().cancel,
                  args=(running.key,), disabled=running.state == "cancelling", icon=":material/cancel:",
                  help="It stops at its next progress report; seeds already finished stay in the results store.")
    if status.waiting:
        st.markdown("**Waiting:**")
        keys = [info.key for info in status.waiting]
        for index, info in enumerate(status.waiting):
            st.caption(f"{info.position}. {_describe(info)}")
            up, down, remove = st.columns(3)
            up.button("Up", key=f"teacher_up_{index}", icon=":material/arrow_upward:", disabled=index == 0,
                      on_click=_move, args=(keys, index, -1))
            down.button("Down", key=f"teacher_down_{index}", icon=":material/arrow_downward:",
                        disabled=index == len(keys) - 1, on_click=_move, args=(keys, index, 1))
            remove.button("Drop", key=f"teacher_remove_{index}", icon=":material/close:", on_click=jobs.queue().cancel,
                          args=(info.key,), help="Remove from the queue")
        st.button("Clear the queue", key="teacher_clear", on_click=jobs.queue().clear, icon=":material/clear_all:",
                  help="Removes every waiting run; the running one goes on.")


def _move(keys: list, index: int, step: int) -> None:
    order = list(keys)
    order[index], order[index + step] = order[index + step], order[index]
    jobs.queue().reorder(order)


def _describe(info: jobs.JobInfo) -> str:
    parts = [info.label]
    if info.cost is not None:
        parts.append(f"cost {format_cost(info.cost)}")
    if info.callers > 1:
        parts.append(f"{info.callers} sessions asked")
    if info.state == "cancelling":
        parts.append("cancelling")
    return " · ".join(parts)


_polling_steering_panel = st.fragment(run_every=POLL_SECONDS)(steering_panel)
