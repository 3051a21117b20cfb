"""The classroom lock and the teacher's panel, through a real page (AppTest): locked above the limit, unlocked
with the key, nothing locked without one, a forged click refused, cancel/reorder/clear from the sidebar, and a
real comparison cancelled mid-run leaving a consistent store."""

import threading
import time

import pytest

from core import clipping, jobs, store, transfer
from tests.app_support import open_page, text

PAGE = "pages/3_Gradient_Clipping.py"
KEY = "s3cret-teacher-key"
TRAIN = "clip_rnn_train"


@pytest.fixture
def queue(monkeypatch):
    """A fresh process queue, emptied afterwards (no job of another test in line)."""
    fresh = jobs.JobQueue()
    monkeypatch.setattr(jobs, "_PROCESS_QUEUE", fresh)
    yield fresh
    fresh.clear()
    if fresh.status().running is not None:
        fresh.cancel(fresh.status().running.key)


@pytest.fixture
def gate(monkeypatch):
    """The clipping page's training replaced by one that reports progress until the gate opens."""
    release = threading.Event()

    def fake_training(config, progress=None):
        step = 0
        while not release.wait(0.02):
            progress(step % 10, 10, f"step {step}")
            step += 1
        return None

    monkeypatch.setattr(clipping, "train_with_clipping", fake_training)
    yield release
    release.set()


@pytest.fixture
def locked(monkeypatch):
    monkeypatch.setenv("LAB_TEACHER_KEY", KEY)
    monkeypatch.setenv("LAB_COST_LIMIT", "1")  # every real run costs more than one image-epoch-parameter


def page_job_key():
    """The clipping page's job key at its tiny defaults."""
    config = clipping.TrainingConfig.tiny(threshold=1.0, learning_rate=0.05, seeds=(0, 1),
                                          variants=tuple(clipping.VARIANTS)).validate()
    return ("clipping", config)


def unlock(app, typed: str):
    app.text_input(key="teacher_key_typed").input(typed)
    next(button for button in app.button if button.label == "Unlock").click()
    return app.run()


def test_nothing_is_locked_without_a_teacher_key(monkeypatch, queue):
    monkeypatch.delenv("LAB_TEACHER_KEY", raising=False)
    app = open_page(PAGE)
    assert not app.button(key=TRAIN).disabled
    assert "Estimated cost:" in text(app, "caption") and "image-epoch-parameters" in text(app, "caption")
    assert "Teacher" not in [expander.label for expander in app.sidebar.expander]


def test_locked_above_the_limit_a_wrong_key_is_told_the_right_one_unlocks(locked, queue):
    app = open_page(PAGE)
    assert app.button(key=TRAIN).disabled
    assert "Needs the teacher's key: its estimated cost" in text(app, "caption")
    assert "Teacher" in [expander.label for expander in app.sidebar.expander]
    assert "Gradient clipping" == app.title[0].value and app.get("plotly_chart")  # the rest of the page works

    unlock(app, "guess")
    assert "That is not the teacher's key" in text(app, "error") and app.button(key=TRAIN).disabled
    unlock(app, KEY)
    assert not app.exception and "not the teacher's key" not in text(app, "error")
    assert not app.button(key=TRAIN).disabled
    assert app.session_state["teacher_unlocked"] is True
    assert KEY not in str(app.session_state) and KEY not in str(dict(app.query_params))  # kept nowhere


def test_five_wrong_keys_make_a_session_wait(locked, queue):
    app = open_page(PAGE)
    for attempt in range(5):
        unlock(app, f"guess {attempt}")
    unlock(app, KEY)
    assert "Too many wrong keys" in text(app, "error") and app.button(key=TRAIN).disabled


def test_a_limit_above_the_cost_locks_nothing(monkeypatch, queue):
    monkeypatch.setenv("LAB_TEACHER_KEY", KEY)
    monkeypatch.setenv("LAB_COST_LIMIT", "1e30")
    assert not open_page(PAGE).button(key=TRAIN).disabled


def test_a_forged_click_on_a_locked_button_starts_nothing(locked, queue, gate):
    app = open_page(PAGE)
    button = app.button(key=TRAIN)
    assert button.disabled
    button._value = True  # what a client ignoring `disabled` would send (AppTest itself refuses to click it)
    app.run()
    assert "clip_rnn_job" not in app.session_state and queue.pending() == 0


def test_joining_a_run_already_in_progress_needs_no_key(locked, queue, gate):
    queue.submit(page_job_key(), lambda progress: gate.wait(60), label="Training")
    app = open_page(PAGE)
    assert not app.button(key=TRAIN).disabled
    app.button(key=TRAIN).click().run()
    assert app.session_state["clip_rnn_job"].joined


def test_the_teacher_cancels_the_running_job_from_the_sidebar(locked, queue, gate):
    app = unlock(open_page(PAGE), KEY)
    app.button(key=TRAIN).click().run()
    handle = app.session_state["clip_rnn_job"]
    deadline = time.monotonic() + 30
    while handle.progress() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    app.run()
    assert "Running:" in text(app, "markdown") and "Training" in text(app, "markdown")
    app.button(key="teacher_cancel_running").click().run()
    warnings = text(app, "warning")  # the job may have stopped during this very run
    assert handle.wait(30) and handle.cancelled()
    warnings += text(app.run(), "warning")
    assert "Training was cancelled by the teacher" in warnings and not app.exception
    assert queue.pending() == 0 and not app.button(key=TRAIN).disabled  # the next press is possible


def test_the_teacher_reorders_and_clears_the_queue(locked, queue, gate):
    running = queue.submit("running", lambda progress: gate.wait(60), label="Running one")
    while running.status() != "running":
        time.sleep(0.01)
    for name in ("first", "second", "third"):
        queue.submit(name, lambda progress: None, label=name.title())
    app = unlock(open_page(PAGE), KEY)
    assert "1. " not in text(app, "caption") and "2. First" in text(app, "caption")
    app.button(key="teacher_down_0").click().run()
    assert [info.key for info in queue.status().waiting] == ["second", "first", "third"]
    app.button(key="teacher_remove_2").click().run()
    assert [info.key for info in queue.status().waiting] == ["second", "first"]
    app.button(key="teacher_clear").click().run()
    assert queue.status().waiting == () and queue.status().running.key == "running"


def test_students_see_what_trains_but_not_the_controls(locked, queue, gate):
    queue.submit("running", lambda progress: gate.wait(60), label="Comparison")
    queue.submit("waiting", lambda progress: None, label="Class pairs")
    app = open_page(PAGE)
    assert "Training now: Comparison; 1 waiting." in text(app, "caption")
    keys = {button.key for button in app.button}
    assert "teacher_cancel_running" not in keys and "teacher_clear" not in keys


def test_cancelling_a_real_comparison_mid_run_keeps_a_consistent_store(tmp_path, fashion_mnist):
    """Seeds finished before the cancel stay (once each), model A stays loadable, a rerun trains only the rest."""
    results = store.Store(tmp_path / "results.sqlite")
    config, seeds, queue = transfer.ComparisonConfig.tiny(), list(range(4)), jobs.JobQueue()
    first_row = threading.Event()

    def watch(progress):
        def report(done, total, message):
            if results.finished_seeds(config):
                first_row.set()
            progress(done, total, message)
        return transfer.run_comparison(config, seeds, results, report, chunk_size=1)

    handle = queue.submit("comparison", watch)
    assert first_row.wait(240), "no seed finished"
    queue.cancel("comparison")
    with pytest.raises(jobs.Cancelled):
        handle.result(240)
    kept = results.finished_seeds(config)
    assert 1 <= len(kept) < 4
    rows = transfer.run_comparison(config, seeds, results, chunk_size=1)
    assert [row.seed for row in rows] == seeds
    assert [row.finished_at for row in results.results(config) if row.seed in kept] == \
        [row.finished_at for row in rows if row.seed in kept]  # the kept rows were not rewritten
    weights = transfer.model_a_weights(config.protocol, [transfer.MODEL_A_SEED], results)
    assert weights[0].shape[0] == 1


def test_every_training_button_on_every_page_passes_its_cost():
    """The lock lives in ui.jobs.training_ui; a call without `cost=` would be locked for everyone in a classroom."""
    import ast

    from tests.conftest import ROOT

    calls = []
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "training_ui":
                calls.append((path.name, node.lineno, {keyword.arg for keyword in node.keywords}))
    assert calls, "no training_ui call found"
    assert [(name, line) for name, line, keywords in calls if "cost" not in keywords] == []
