"""One bar per job that tells the truth: core.progress's parts and time estimate, and every kind of job the
pages start (tiny presets) reporting non-decreasing progress from its start to 100%, each message naming its
phase (model A, B from scratch, the variant, the grid cell, the seed). `assert_honest_progress` is the check;
the transfer jobs run here, the others in the tests that already run them (see PHASES)."""

import re

import pytest

from core import progress


def record():
    """A progress callback that keeps every (done, total, message)."""
    events = []
    return events, lambda done, total, message="": events.append((done, total, message))


@pytest.fixture(scope="module")
def shared_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("progress")


def test_parts_fill_one_bar_in_order_with_labels():
    events, callback = record()
    first, second = progress.parts(callback, [1, 3], ["model A", "B"])
    first(1, 2, "epoch 1/2")
    first(2, 2, "epoch 2/2")
    second(1, 3, "epoch 1/3")
    second(3, 3, "epoch 3/3")
    assert [done / total for done, total, _ in events] == [0.125, 0.25, 0.5, 1.0]
    assert [message for _, _, message in events] == ["model A · epoch 1/2", "model A · epoch 2/2", "B · epoch 1/3",
                                                     "B · epoch 3/3"]
    nested = progress.part(progress.part(callback, 0.5, 1.0, "pair 2/2"), 0.0, 0.5, "seeds 0-9")
    nested(1, 1, "B on A")
    assert events[-1] == (7500, progress.SCALE, "pair 2/2 · seeds 0-9 · B on A")
    assert progress.parts(None, [1], ["x"]) == [None]  # no caller, no bar


def test_time_left_appears_once_the_bar_has_a_rate():
    events, callback = record()
    now = [0.0]
    timed = progress.with_time_left(callback, clock=lambda: now[0])
    timed(0, 100, "building")
    now[0] = 10.0
    timed(25, 100, "epoch 1/4")  # a quarter in 10 s: 30 s to go
    now[0] = 200.0
    timed(40, 100, "epoch 2/4")  # 40% in 200 s: 300 s to go
    timed(100, 100, "done")
    assert [message for _, _, message in events] == ["building", "epoch 1/4 · about 30 s left",
                                                     "epoch 2/4 · about 5 min left", "done"]
    assert progress.time_left_text(3 * 3600) == "about 3 h left"


def _transfer_jobs(folder):
    from core import store, transfer

    tiny = transfer.PROTOCOLS["tiny"]
    config = transfer.ComparisonConfig(tiny, vary_a=True)
    results = store.Store(folder / "results.sqlite")  # shared by the module: model A (seed 42) trains once
    phases = (r"(model A, seeds? [\d, -]+|seeds? [\d, -]+ · B (from scratch|on A)|B shares A's layers|clone of A)"
              r" · |loading model A|loading TensorFlow|results store|seeds stored|done")
    return {
        # vary_a with chunks of 2: a model A per seed, trained in each chunk, then both arms
        "transfer comparison": (lambda report: transfer.run_comparison(config, range(3), results, report, 2), phases),
        "transfer single run": (lambda report: transfer.book_run(tiny, results, report), phases),
        "sharing pitfall": (lambda report: transfer.pitfall_run(tiny, results, report), phases),
        "class pairs": (lambda report: transfer.run_pairs(transfer.ComparisonConfig(tiny), range(3), results,
                                                          [(0, 1), (2, 3)], report),
                        rf"^pair \d/2 \([\w/-]+ vs [\w/-]+\) · .*({phases})"),
    }


JOB_KINDS = ["transfer comparison", "transfer single run", "sharing pitfall", "class pairs"]
# The BN-in-training and clipping jobs are checked where their tests already run them: tests/test_bn_training.py
# and tests/test_clipping.py call `assert_honest_progress` on the events of the same runs.
PHASES = {
    "BN vanishing gradients": r"^with(out)? BN · seeds? [\d-]+(, epoch \d/\d|: building)",
    "BN learning-rate sweep": r"^cell \d/\d+: (no )?BN, \w+, learning rate [\d.e-]+ · seeds? [\d-]+",
    "BN placement": r"^run \d/\d+: (no BN|BN (after|before) the activation) · seed \d",
    "BN latency": r"^(building|timing batches of \d+|done)",
    "clipping in training": r"^(no clipping|clipvalue|clipnorm|global_clipnorm)(: building|$)"
                            r"|^run \d+/\d+: (no clipping|clipvalue|clipnorm|global_clipnorm), seed \d",
}


def assert_honest_progress(events, phase: str) -> None:
    """Events (done, total, message) of one job: at least three, from near 0 to exactly 100%, never backwards,
    and every message matching `phase` (a regex naming the job's step: phase, variant or cell, seed)."""
    fractions = [done / total for done, total, _ in events]
    assert len(events) >= 3, events
    backwards = [(before, after) for before, after in zip(events, events[1:])
                 if after[0] / after[1] < before[0] / before[1]]
    assert not backwards, backwards
    assert fractions[0] <= 0.05 and fractions[-1] == 1.0, events
    unnamed = [message for _, _, message in events if not re.search(phase, message)]
    assert not unnamed, unnamed


@pytest.mark.parametrize("kind", JOB_KINDS)
def test_every_transfer_job_moves_forward_to_full_and_names_its_phase(kind, fashion_mnist, shared_folder):
    run, phase = _transfer_jobs(shared_folder)[kind]
    events, callback = record()
    run(callback)
    assert_honest_progress(events, phase)
