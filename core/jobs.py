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
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable, Optional

from core.progress import ProgressCallback

JobFunction = Callable[[ProgressCallback], Any]
KEPT_RESULTS = 32  # finished keep_result jobs remembered per queue, the oldest dropped first


class _Job:
    """Shared state of one queued or running function, whoever asked for it."""

    def __init__(self, key: Hashable, fn: JobFunction, keep_result: bool):
        self.key = key
        self.fn = fn
        self.keep_result = keep_result  # remembered once done, for later submits of the same key
        self.state = "queued"  # queued -> running -> done | failed
        self.result: Any = None
        self.error: Optional[BaseException] = None
        self.progress: Optional[tuple] = None  # latest (done, total, message) reported by fn
        self.finished = threading.Event()

    def report(self, done: int, total: int, message: str = "") -> None:
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
        if job.state == "running":
            return "waiting for the run already in progress" if self.joined else "running"
        return f"queued: position {self.position()}"

    def progress(self) -> Optional[tuple]:
        """Latest (done, total, message) the job reported, or None before its first report."""
        return self._job.progress

    def done(self) -> bool:
        return self._job.finished.is_set()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until the job ends or `timeout` seconds pass; True if it ended."""
        return self._job.finished.wait(timeout)

    def result(self, timeout: Optional[float] = None) -> Any:
        """The job's return value; re-raises its exception in every caller; TimeoutError if not done."""
        if not self._job.finished.wait(timeout):
            raise TimeoutError(f"The job {self.key!r} is still {self.status()}.")
        if self._job.error is not None:
            raise self._job.error
        return self._job.result


class JobQueue:
    """A FIFO of jobs run one at a time by a single worker thread; identical keys are shared."""

    def __init__(self):
        self._lock = threading.Lock()
        self._waiting: list[_Job] = []
        self._running: Optional[_Job] = None
        self._worker: Optional[threading.Thread] = None
        self._kept: OrderedDict[Hashable, _Job] = OrderedDict()  # finished keep_result jobs, oldest first

    # The only entry point: join the job with this key if there is one (or reuse its kept result),
    # else queue a new one.
    def submit(self, key: Hashable, fn: JobFunction, *, keep_result: bool = False) -> JobHandle:
        with self._lock:
            for job in ([self._running] if self._running else []) + self._waiting:
                if job.key == key:
                    return JobHandle(self, job, joined=True)
            if keep_result and key in self._kept:
                self._kept.move_to_end(key)
                return JobHandle(self, self._kept[key], joined=True)
            job = _Job(key, fn, keep_result)
            self._waiting.append(job)
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="lab-training-queue", daemon=True)
                self._worker.start()
            return JobHandle(self, job, joined=False)

    # The worker: run queued jobs in order until none is left, recording results and errors.
    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._waiting:
                    self._worker = None
                    return
                job = self._running = self._waiting.pop(0)
                job.state = "running"
            try:
                job.result, state = job.fn(job.report), "done"
            except BaseException as error:  # every waiter gets it; the worker carries on
                job.error, state = error, "failed"
            with self._lock:
                job.state = state
                self._running = None
                if job.keep_result and state == "done":
                    self._kept[job.key] = job
                    while len(self._kept) > KEPT_RESULTS:
                        self._kept.popitem(last=False)
            job.finished.set()

    def _position(self, job: _Job) -> Optional[int]:
        with self._lock:
            ahead = 1 if self._running is not None else 0
            if job is self._running:
                return 1
            if job in self._waiting:
                return ahead + self._waiting.index(job) + 1
            return None

    # For a status panel: how many jobs are queued or running right now.
    def pending(self) -> int:
        with self._lock:
            return len(self._waiting) + (1 if self._running is not None else 0)


_PROCESS_QUEUE = JobQueue()  # one per server process: every session's trainings go through it


# What pages and the command line call: the process-wide queue.
def submit(key: Hashable, fn: JobFunction, *, keep_result: bool = False) -> JobHandle:
    return _PROCESS_QUEUE.submit(key, fn, keep_result=keep_result)
