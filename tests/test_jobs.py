"""core.jobs with real threads and fake jobs gated by events (no sleeps deciding the outcome)."""

import json
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


def test_cancelling_the_running_job_stops_it_at_its_next_report():
    queue, reported, release = jobs.JobQueue(), threading.Event(), threading.Event()
    steps = []

    def train(progress):
        for step in range(100):
            progress(step, 100, f"step {step}")
            steps.append(step)
            if step == 2:
                reported.set()
                release.wait(10)
        return "never"

    running = queue.submit("long run", train, label="Long run")
    joined = queue.submit("long run", train)
    reported.wait(10)
    assert queue.cancel("long run") is True
    assert running.status().startswith("cancelling") and queue.status().running.state == "cancelling"
    release.set()
    with pytest.raises(jobs.Cancelled, match="Long run was cancelled while running"):
        running.result(10)
    with pytest.raises(jobs.Cancelled):
        joined.result(10)
    assert steps == [0, 1, 2] and running.cancelled() and running.status() == "cancelled"
    assert queue.cancel("long run") is False  # nothing left to cancel
    assert queue.submit("next", lambda progress: "fine").result(10) == "fine"  # the worker carries on


def test_cancel_and_clear_remove_queued_jobs_and_reorder_changes_the_order():
    queue, order = jobs.JobQueue(), []
    gates = {key: threading.Event() for key in ("first", "b", "c", "d", "e")}

    def make(key):
        def train(progress):
            order.append(key)
            gates[key].wait(10)
            return key
        return train

    first = queue.submit("first", make("first"), label="First", cost=5.0)
    wait_until(lambda: first.status() == "running")
    handles = {key: queue.submit(key, make(key), label=key.title()) for key in ("b", "c", "d", "e")}
    queue.submit("c", make("c"))  # a second caller joins c
    assert queue.cancel("b") is True and handles["b"].done() and handles["b"].cancelled()
    with pytest.raises(jobs.Cancelled, match="before it started"):
        handles["b"].result(0)
    queue.reorder(["e", "no longer waiting", "c"])
    status = queue.status()
    assert status.running.key == "first" and status.running.cost == 5.0 and status.running.position == 1
    assert [(info.key, info.position, info.callers) for info in status.waiting] == [("e", 2, 1), ("c", 3, 2),
                                                                                    ("d", 4, 1)]
    assert handles["c"].status() == "queued: position 3"
    queue.reorder(["d"])
    assert [info.key for info in queue.status().waiting] == ["d", "e", "c"]
    assert queue.is_pending("d") and not queue.is_pending("b")
    gates["first"].set()
    wait_until(lambda: order == ["first", "d"])
    assert queue.clear() == 2
    gates["d"].set()
    assert handles["d"].result(10) == "d"
    wait_until(lambda: queue.pending() == 0)
    assert order == ["first", "d"] and handles["c"].cancelled() and handles["e"].cancelled()
    assert queue.status() == jobs.QueueStatus(None, ())


def test_the_journal_records_every_job_event(tmp_path):
    journal = tmp_path / "jobs.jsonl"
    queue = jobs.JobQueue(journal=journal)
    assert queue.submit(("transfer", 1), lambda progress: 1, label="Comparison").result(10) == 1

    def broken(progress):
        raise ValueError("no")

    queue.submit("bad", broken).wait(10)
    wait_until(lambda: queue.pending() == 0)
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [(event["event"], event["label"]) for event in events] == [
        ("started", "Comparison"), ("finished", "Comparison"), ("started", "bad"), ("failed", "bad")]
    assert events[0]["key"] == repr(("transfer", 1)) and events[1]["seconds"] >= 0


def test_cancelling_a_store_run_keeps_the_finished_seeds_and_a_rerun_does_only_the_rest(tmp_path):
    """Cooperative cancellation through run_missing: rows already saved stay, once each; nothing else."""
    from dataclasses import dataclass

    from core import store

    @dataclass(frozen=True)
    class FakeConfig:
        epochs: int = 3  # epochs per run

    results = store.Store(tmp_path / "results.sqlite")
    queue, third_seed, release = jobs.JobQueue(), threading.Event(), threading.Event()
    trained = []

    def run_batch(config, seeds, on_seed_done):
        for seed in seeds:
            if seed == 3:
                third_seed.set()
                release.wait(10)
            trained.append(seed)
            on_seed_done(seed, {"accuracy": seed / 10})  # reports progress: where a cancel lands

    handle = queue.submit("fake", lambda progress: store.run_missing(results, FakeConfig(), range(8), run_batch,
                                                                    progress))
    third_seed.wait(10)
    queue.cancel("fake")
    release.set()
    with pytest.raises(jobs.Cancelled):
        handle.result(10)
    assert results.finished_seeds(FakeConfig()) == {0, 1, 2, 3}  # seed 3 was saved, then its report raised
    rows = queue.submit("fake", lambda progress: store.run_missing(results, FakeConfig(), range(8), run_batch,
                                                                  progress)).result(10)
    assert [row.seed for row in rows] == list(range(8)) and trained == [0, 1, 2, 3, 4, 5, 6, 7]
