"""One training at a time per server process, first come first served, with shared identical runs.

Two cores cannot train two experiments at once without both crawling, and a classroom of browsers
asking for the same config should train it once. So every training goes through `submit(key, fn)`:

- the same key while that job is queued or running: the caller joins it (same result, same error);
- another key: it waits its turn in a FIFO queue, and can show its place in line;
- one worker thread runs the jobs one after the other; it exits when the queue is empty;
- `keep_result=True` is for results that live nowhere else (not in the results store): the last
  finished ones are kept, and a later submit of the same key gets that result instead of a new run.

The job runs in the worker thread, not in the caller's, so a caller that goes away (a browser tab
closed, a Streamlit rerun) does not stop it: its results still reach the results store. Callers
poll `handle.status()` / `handle.progress()` to draw their own status line and bar.
`fn` receives a progress callback `(done, total, message)` (see core.progress) and returns the result.

The queue can be steered (the teacher's panel does): `cancel(key)` removes a queued job at once, and
stops the running one cooperatively: its next progress report raises `Cancelled` inside the job, so
whatever it already saved (results store rows, model files) stays and nothing half-done is written.
`reorder(keys)` changes the order of the waiting jobs, `clear()` cancels all of them, `status()` is a
snapshot for a panel. `JobBackend` names these methods; `queue()` is the process's backend: this
one-at-a-time queue, unless whoever starts the process installs another with `set_process_queue` (the page
frame, with `LAB_RAY_ADDRESS` set, installs core.cluster's, the same class running several jobs at once).

With `LAB_JOB_LOG` set to a file name, the process queue appends one JSON line per job event
(started, finished, failed, cancelled) to it: how a benchmark counts the trainings a server ran.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable, Optional, Protocol

from core.progress import ProgressCallback

JobFunction = Callable[[ProgressCallback], Any]
KEPT_RESULTS = 32  # finished keep_result jobs remembered per queue, the oldest dropped first


class Cancelled(Exception):
    """Raised inside a cancelled job at its next progress report, and by `result()` to its callers."""


@dataclass(frozen=True)
class JobInfo:
    """One queued or running job as a status panel shows it."""
    key: Hashable  # what callers submitted it under (identical keys share the job)
    label: str  # what the first caller called it, e.g. "Comparison"
    state: str  # "queued", "running" or "cancelling" (a cancel was asked for; it stops at its next report)
    position: int  # place in line, 1 being the run in progress
    progress: Optional[tuple]  # latest (done, total, message), None before the first report
    cost: Optional[float]  # estimated cost the caller gave (core.cost), None if unknown
    callers: int  # how many submits share this job (1 + the ones that joined it)
    waited_seconds: float  # since it was submitted


@dataclass(frozen=True)
class QueueStatus:
    """A snapshot of a queue: the running job (None when idle) and the waiting ones in order."""
    running: Optional[JobInfo]
    waiting: tuple[JobInfo, ...]
    also_running: tuple[JobInfo, ...] = ()  # a queue with max_running > 1 (a cluster): the other running jobs


class _Job:
    """Shared state of one queued or running function, whoever asked for it."""

    def __init__(self, key: Hashable, fn: JobFunction, keep_result: bool, label: str, cost: Optional[float]):
        self.key = key
        self.fn = fn
        self.keep_result = keep_result  # remembered once done, for later submits of the same key
        self.label = label or str(key)
        self.cost = cost
        self.state = "queued"  # queued -> running -> done | failed | cancelled; queued -> cancelled
        self.result: Any = None
        self.error: Optional[BaseException] = None
        self.progress: Optional[tuple] = None  # latest (done, total, message) reported by fn
        self.cancel_requested = False
        self.callers = 1
        self.submitted_at = time.monotonic()
        self.finished = threading.Event()

    # The callback the job reports through; it is also where a cancelled job stops.
    def report(self, done: int, total: int, message: str = "") -> None:
        if self.cancel_requested:
            raise Cancelled(f"{self.label} was cancelled while running; what it had finished is kept.")
        self.progress = (done, total, message)


class JobHandle:
    """One caller's view of a job: its status in words, place in line, progress and result."""

    def __init__(self, queue: "JobQueue", job: _Job, joined: bool):
        self._queue = queue
        self._job = job
        self.key = job.key
        self.joined = joined  # True if another caller had already submitted this key

    # Place in line, 1 being the run in progress; None once finished.
    def position(self) -> Optional[int]:
        return self._queue._position(self._job)

    # The sentence a page or terminal shows while waiting.
    def status(self) -> str:
        job = self._job
        if job.state == "done":
            return "finished"
        if job.state == "failed":
            return f"failed: {job.error}"
        if job.state == "cancelled":
            return "cancelled"
        if job.state == "running":
            if job.cancel_requested:
                return "cancelling: it stops at its next progress report"
            return "waiting for the run already in progress" if self.joined else "running"
        return f"queued: position {self.position()}"

    def progress(self) -> Optional[tuple]:
        """Latest (done, total, message) the job reported, or None before its first report."""
        return self._job.progress

    def done(self) -> bool:
        return self._job.finished.is_set()

    def cancelled(self) -> bool:
        return self._job.state == "cancelled"

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until the job ends or `timeout` seconds pass; True if it ended."""
        return self._job.finished.wait(timeout)

    def result(self, timeout: Optional[float] = None) -> Any:
        """The job's return value; re-raises its exception (Cancelled if it was cancelled) in every caller;
        TimeoutError if not done."""
        if not self._job.finished.wait(timeout):
            raise TimeoutError(f"The job {self.key!r} is still {self.status()}.")
        if self._job.error is not None:
            raise self._job.error
        return self._job.result


class JobBackend(Protocol):
    """What pages and panels use of a job queue; the local JobQueue is one, a cluster backend another."""

    def submit(self, key: Hashable, fn: JobFunction, *, keep_result: bool = False, label: str = "",
               cost: Optional[float] = None) -> JobHandle: ...

    def cancel(self, key: Hashable) -> bool: ...

    def reorder(self, keys: Iterable[Hashable]) -> None: ...

    def clear(self) -> int: ...

    def status(self) -> QueueStatus: ...

    def pending(self) -> int: ...

    def is_pending(self, key: Hashable) -> bool: ...


class JobQueue:
    """A FIFO of jobs run one at a time by a single worker thread (`max_running` at a time by as many
    threads, for a cluster backend); identical keys are shared."""

    def __init__(self, journal: Optional[Path] = None, max_running: int = 1):
        if max_running < 1:
            raise ValueError(f"A queue runs at least one job at a time, got max_running={max_running}.")
        self._lock = threading.Lock()
        self._waiting: list[_Job] = []
        self._running: list[_Job] = []  # oldest first
        self._workers = 0  # worker threads alive (at most max_running)
        self._max_running = max_running
        self._kept: OrderedDict[Hashable, _Job] = OrderedDict()  # finished keep_result jobs, oldest first
        self._journal = journal  # a JSON-lines file of job events, or None

    # The only way in: join the job with this key if there is one (or reuse its kept result), else queue a
    # new one. `label` and `cost` are for status panels (the first caller's are kept).
    def submit(self, key: Hashable, fn: JobFunction, *, keep_result: bool = False, label: str = "",
               cost: Optional[float] = None) -> JobHandle:
        with self._lock:
            job = self._find(key)
            if job is not None:
                job.callers += 1
                return JobHandle(self, job, joined=True)
            if keep_result and key in self._kept:
                self._kept.move_to_end(key)
                return JobHandle(self, self._kept[key], joined=True)
            job = _Job(key, fn, keep_result, label, cost)
            self._waiting.append(job)
            if self._workers < self._max_running:
                self._workers += 1
                threading.Thread(target=self._work, name="lab-training-queue", daemon=True).start()
            return JobHandle(self, job, joined=False)

    # Cancel the job with this key: a queued one leaves the queue now, the running one stops at its next
    # progress report. False if no job with this key is queued or running.
    def cancel(self, key: Hashable) -> bool:
        with self._lock:
            for job in self._running:
                if job.key == key:
                    job.cancel_requested = True
                    return True
            for job in self._waiting:
                if job.key == key:
                    self._waiting.remove(job)
                    self._end_unstarted(job)
                    return True
            return False

    # The waiting jobs in this order: the keys given come first, in the order given; waiting jobs not named
    # keep their order after them; keys no longer waiting (started or finished meanwhile) are ignored, so a
    # panel drawn a moment ago can still reorder safely.
    def reorder(self, keys: Iterable[Hashable]) -> None:
        with self._lock:
            named = [job for key in dict.fromkeys(keys) for job in self._waiting if job.key == key]
            self._waiting = named + [job for job in self._waiting if job not in named]

    # Cancel every waiting job (not the running one); returns how many were removed.
    def clear(self) -> int:
        with self._lock:
            removed, self._waiting = self._waiting, []
            for job in removed:
                self._end_unstarted(job)
            return len(removed)

    # A snapshot for a panel: the running job and the waiting ones, in order.
    def status(self) -> QueueStatus:
        with self._lock:
            now = time.monotonic()
            running = [self._info(job, 1, now) for job in self._running]
            offset = 1 if running else 0
            waiting = tuple(self._info(job, offset + index + 1, now) for index, job in enumerate(self._waiting))
            return QueueStatus(running[0] if running else None, waiting, tuple(running[1:]))

    # For a status panel: how many jobs are queued or running right now.
    def pending(self) -> int:
        with self._lock:
            return len(self._waiting) + len(self._running)

    # Whether a submit of this key would join a queued or running job (and so start no new training).
    def is_pending(self, key: Hashable) -> bool:
        with self._lock:
            return self._find(key) is not None

    def _find(self, key: Hashable) -> Optional[_Job]:
        for job in self._running + self._waiting:
            if job.key == key:
                return job
        return None

    def _info(self, job: _Job, position: int, now: float) -> JobInfo:
        state = "cancelling" if job.state == "running" and job.cancel_requested else job.state
        return JobInfo(job.key, job.label, state, position, job.progress, job.cost, job.callers,
                       now - job.submitted_at)

    # A job removed before it started: every caller learns it was cancelled. Called with the lock held.
    def _end_unstarted(self, job: _Job) -> None:
        job.state = "cancelled"
        job.error = Cancelled(f"{job.label} was cancelled before it started.")
        self._write_journal(job, "cancelled")
        job.finished.set()

    # A worker: run queued jobs in order until none is left, recording results and errors.
    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._waiting:
                    self._workers -= 1
                    return
                job = self._waiting.pop(0)
                self._running.append(job)
                job.state = "running"
            self._write_journal(job, "started")
            started = time.monotonic()
            try:
                job.result, state = self._call(job.fn, job.report), "done"
            except Cancelled as error:
                job.error, state = error, "cancelled"
            except BaseException as error:  # every waiter gets it; the worker carries on
                job.error, state = error, "failed"
            with self._lock:
                job.state = state
                self._running.remove(job)
                if job.keep_result and state == "done":
                    self._kept[job.key] = job
                    while len(self._kept) > KEPT_RESULTS:
                        self._kept.popitem(last=False)
            self._write_journal(job, {"done": "finished"}.get(state, state), time.monotonic() - started)
            job.finished.set()

    # How a job's function is run; a cluster backend wraps it (core.cluster.ClusterQueue).
    def _call(self, fn: JobFunction, report: ProgressCallback) -> Any:
        return fn(report)

    # One JSON line per event; a journal that cannot be written must not stop a training.
    def _write_journal(self, job: _Job, event: str, seconds: Optional[float] = None) -> None:
        if self._journal is None:
            return
        record = {"event": event, "key": repr(job.key), "label": job.label, "time": time.time()}
        if seconds is not None:
            record["seconds"] = round(seconds, 3)
        try:
            with open(self._journal, "a") as stream:
                stream.write(json.dumps(record) + "\n")
        except OSError:
            pass

    def _position(self, job: _Job) -> Optional[int]:
        with self._lock:
            ahead = 1 if self._running else 0
            if job in self._running:
                return 1
            if job in self._waiting:
                return ahead + self._waiting.index(job) + 1
            return None


def journal_from_environment() -> Optional[Path]:
    """The journal file `LAB_JOB_LOG` names, or None."""
    configured = os.environ.get("LAB_JOB_LOG")
    return Path(configured) if configured else None


_PROCESS_QUEUE: JobQueue = JobQueue(journal=journal_from_environment())  # one per process: every session's trainings


# The process's backend: the local one-at-a-time queue unless another was installed.
def queue() -> JobQueue:
    return _PROCESS_QUEUE


# Install the process's backend (core.cluster.install_queue does, for a Ray cluster); made before any submit.
def set_process_queue(backend: JobQueue) -> None:
    global _PROCESS_QUEUE
    _PROCESS_QUEUE = backend


# What pages and the command line call: the process-wide queue.
def submit(key: Hashable, fn: JobFunction, *, keep_result: bool = False, label: str = "",
           cost: Optional[float] = None) -> JobHandle:
    return queue().submit(key, fn, keep_result=keep_result, label=label, cost=cost)
