"""core.jobs with real threads and fake jobs gated by events (no sleeps deciding the outcome)."""

import threading
import time

import pytest

from core import jobs


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


def in_thread(function):
    """Run `function` in a thread; returns (thread, box) where box['value'] or box['error'] is filled."""
    box = {}

    def target():
        try:
            box["value"] = function()
        except BaseException as error:
            box["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    return thread, box


def test_same_key_runs_once_and_both_callers_get_the_result():
    queue, gate, calls = jobs.JobQueue(), threading.Event(), []

    def train(progress):
        calls.append(threading.current_thread().name)
        progress(1, 2, "half way")
        gate.wait(10)
        return {"accuracy": 0.97}

    first = queue.submit("pair 5,6", train)
    wait_until(lambda: first.status() == "running")
    handles = {}
    callers = [in_thread(lambda: handles.setdefault("second", queue.submit("pair 5,6", train)).result(10))]
    callers.append(in_thread(lambda: first.result(10)))
    wait_until(lambda: "second" in handles)
    second = handles["second"]
    assert second.joined and second.status() == "waiting for the run already in progress"
    wait_until(lambda: second.progress() is not None)
    assert second.progress() == (1, 2, "half way")
    gate.set()
    for thread, box in callers:
        thread.join(10)
        assert box["value"] == {"accuracy": 0.97}
    assert calls == ["lab-training-queue"]  # ran once, in the worker, not in a caller's thread
    assert first.status() == second.status() == "finished" and first.position() is None


def test_different_keys_wait_their_turn_and_never_overlap():
    queue = jobs.JobQueue()
    gates = {key: threading.Event() for key in "abc"}
    spans = {}

    def make(key):
        def train(progress):
            start = time.monotonic()
            gates[key].wait(10)
            time.sleep(0.02)
            spans[key] = (start, time.monotonic())
            return key

        return train

    a = queue.submit("a", make("a"))
    wait_until(lambda: a.status() == "running")
    started = [in_thread(lambda key=key: queue.submit(key, make(key))) for key in "bc"]
    for thread, _ in started:
        thread.join(10)
    b, c = sorted((box["value"] for _, box in started), key=lambda handle: handle.key)
    assert a.position() == 1
    assert b.status() == "queued: position 2" and c.status() == "queued: position 3"
    assert queue.pending() == 3
    gates["a"].set()
    wait_until(lambda: b.status() == "running")
    assert c.status() == "queued: position 2" and a.result(1) == "a"
    gates["b"].set()
    gates["c"].set()
    assert (b.result(10), c.result(10)) == ("b", "c")
    ordered = sorted(spans.values())
    assert all(end <= next_start for (_, end), (next_start, _) in zip(ordered, ordered[1:]))
    assert [key for key, _ in sorted(spans.items(), key=lambda item: item[1])] == ["a", "b", "c"]
    wait_until(lambda: queue.pending() == 0)


def test_an_exception_reaches_every_waiter_and_the_queue_carries_on():
    queue, gate = jobs.JobQueue(), threading.Event()

    def broken(progress):
        gate.wait(10)
        raise ValueError("pair (5, 5) has identical classes")

    first = queue.submit("bad", broken)
    second = queue.submit("bad", broken)
    assert second.joined
    waiters = [in_thread(lambda handle=handle: handle.result(10)) for handle in (first, second)]
    gate.set()
    for thread, box in waiters:
        thread.join(10)
        assert isinstance(box["error"], ValueError) and "identical classes" in str(box["error"])
    assert first.status().startswith("failed: pair (5, 5)")
    assert queue.submit("good", lambda progress: 42).result(10) == 42


def test_result_times_out_while_running():
    queue, gate = jobs.JobQueue(), threading.Event()
    handle = queue.submit("slow", lambda progress: gate.wait(10))
    with pytest.raises(TimeoutError, match="still"):
        handle.result(timeout=0.01)
    assert not handle.done()
    gate.set()
    assert handle.result(10) is True and handle.wait(0)


def test_process_queue_is_shared():
    handle = jobs.submit(("test", 1), lambda progress: "shared")
    assert handle.result(10) == "shared"


def test_a_kept_result_is_reused_and_a_plain_one_is_not():
    queue, calls = jobs.JobQueue(), []

    def train(progress):
        calls.append(1)
        return len(calls)

    first = queue.submit("bn run", train, keep_result=True)
    assert first.result(10) == 1
    again = queue.submit("bn run", train, keep_result=True)
    assert again.joined and again.done() and again.status() == "finished" and again.result(0) == 1
    assert queue.submit("store run", train).result(10) == 2
    assert queue.submit("store run", train).result(10) == 3  # results in the store: asked again, run again
    assert calls == [1, 1, 1]


def test_failed_results_are_not_kept_and_old_ones_are_dropped(monkeypatch):
    monkeypatch.setattr(jobs, "KEPT_RESULTS", 2)
    queue = jobs.JobQueue()

    def broken(progress):
        raise ValueError("no")

    assert isinstance(queue.submit("bad", broken, keep_result=True).wait(10), bool)
    assert not queue.submit("bad", lambda progress: "fixed", keep_result=True).joined
    for key in "abc":
        queue.submit(key, lambda progress, key=key: key, keep_result=True).wait(10)
    assert not queue.submit("a", lambda progress: "again", keep_result=True).joined  # the oldest was dropped
    assert queue.submit("c", lambda progress: "again", keep_result=True).result(10) == "c"
