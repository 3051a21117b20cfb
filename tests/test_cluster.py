"""core.cluster on a real local Ray instance: the same rows as the local queue (comparisons and the reuse grid), a
killed worker retried with a consistent store, and no Ray at all without LAB_RAY_ADDRESS."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core import cluster, jobs, reuse, store, transfer
from core.transfer import units
from tests.conftest import ROOT

CONFIG = transfer.ComparisonConfig.tiny(vary_a=True)  # one model A per seed: A units and comparison units
SEEDS = [0, 1, 2, 3]
CHUNK = 2
TIMING_FIELDS = {"seconds_per_seed"}  # wall time: the only field two runs of the same seeds may differ in
GRID_PROTOCOL, GRID_SIZES, GRID_SEEDS = transfer.PROTOCOLS["tiny"], (20,), [0, 1, 2]  # chunks of CHUNK: 0-1, 2


@pytest.fixture(scope="module")
def ray_instance():
    """A local Ray instance with two CPUs for this module's tests, always shut down afterwards (Ray is pinned
    in requirements.txt: missing, it is a failure, not a skip)."""
    import ray

    for attempt in range(3):  # Ray gives a starting node a fixed 30 s to register: a loaded machine can miss it
        try:
            # address="local": a new instance of our own, even when another Ray runs on this machine
            ray.init(address="local", num_cpus=2, include_dashboard=False, runtime_env=cluster.runtime_env(),
                     logging_level="WARNING", log_to_driver=False)
            break
        except Exception as error:
            ray.shutdown()
            if "timed out during startup" not in str(error) or attempt == 2:
                raise
    yield ray
    ray.shutdown()


@pytest.fixture
def on_cluster(ray_instance, monkeypatch):
    monkeypatch.setenv(cluster.ADDRESS_VARIABLE, "auto")  # connect() finds the fixture's instance
    return ray_instance


@pytest.fixture(scope="module")
def local_rows(tmp_path_factory, fashion_mnist):
    """The sweep through the local backend (no LAB_RAY_ADDRESS): what the cluster must reproduce."""
    assert cluster.address() is None
    results = store.Store(tmp_path_factory.mktemp("local") / "results.sqlite")
    rows = transfer.run_comparison(CONFIG, SEEDS, results, chunk_size=CHUNK)
    a_rows = results.results(transfer.ModelAConfig.of(CONFIG.protocol))
    return _without_timing(rows), _without_timing(a_rows)


@pytest.fixture(scope="module")
def local_grid(tmp_path_factory, fashion_mnist):
    """The reuse grid through the local backend: its store's folder (rows and model A's file) and its rows."""
    assert cluster.address() is None
    folder = tmp_path_factory.mktemp("local_grid")
    rows = reuse.run_grid(GRID_PROTOCOL, GRID_SIZES, GRID_SEEDS, store.Store(folder / store.DB_NAME), chunk_size=CHUNK)
    return folder, {size: _without_timing(size_rows) for size, size_rows in rows.items()}


def _without_timing(rows) -> dict:
    return {row.seed: {name: value for name, value in row.result.items() if name not in TIMING_FIELDS}
            for row in rows}


def _rows_per_seed(path, config) -> dict:
    with sqlite3.connect(path) as connection:
        return dict(connection.execute("SELECT seed, COUNT(*) FROM runs WHERE config_key = ? GROUP BY seed",
                                       (store.config_key(config),)).fetchall())


def _unit_processes(title: str) -> list[int]:
    """Ray worker processes whose title says they are running this unit right now (`ray::<task name>`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            except OSError:
                continue
            if command.startswith(f"ray::{title}"):
                found.append(int(entry.name))
    return found


def test_a_sweep_on_ray_gives_exactly_the_local_rows(on_cluster, local_rows, tmp_path):
    results = store.Store(tmp_path / "results.sqlite")
    reports = []
    rows = transfer.run_comparison(CONFIG, SEEDS, results, lambda *call: reports.append(call), chunk_size=CHUNK)
    expected_rows, expected_a = local_rows
    assert _without_timing(rows) == expected_rows
    a_key = transfer.ModelAConfig.of(CONFIG.protocol)
    assert _without_timing(results.results(a_key)) == expected_a  # model A's curves, saved by the server
    assert all(results.model_path(a_key, seed, "model_a").exists() for seed in SEEDS)
    assert _rows_per_seed(results.path, CONFIG) == {seed: 1 for seed in SEEDS}
    # two model A units and two comparison units, one bar over them, ending full with where they ran
    assert reports[-1][:2] == (4, 4) and "units 4/4" in reports[-1][2] and "finished per node" in reports[-1][2]
    # resume: two rows lost, their models A still on disk, so one comparison unit runs, fed the saved As
    with sqlite3.connect(results.path) as connection:
        connection.execute("DELETE FROM runs WHERE config_key = ? AND seed >= 2", (store.config_key(CONFIG),))
    reports.clear()
    assert _without_timing(transfer.run_comparison(CONFIG, SEEDS, results, lambda *call: reports.append(call),
                                                   chunk_size=CHUNK)) == expected_rows
    assert reports[-1][:2] == (1, 1) and "units 1/1" in reports[-1][2]
    # a second call finds everything stored and submits nothing
    reports.clear()
    assert _without_timing(transfer.run_comparison(CONFIG, SEEDS, results, lambda *call: reports.append(call),
                                                   chunk_size=CHUNK)) == expected_rows
    assert reports[-1][2].startswith("units 0/0")


def test_the_same_units_run_here_give_exactly_the_local_rows(local_rows, tmp_path):
    """Without LAB_RAY_ADDRESS the runner runs the units one after the other in this process: same rows."""
    assert cluster.address() is None
    results = store.Store(tmp_path / "results.sqlite")
    rows = units.run_chunks(transfer.comparison_unit, [(CONFIG, SEEDS)], results, chunk_size=CHUNK)[0]
    expected_rows, expected_a = local_rows
    assert _without_timing(rows) == expected_rows
    assert _without_timing(results.results(transfer.ModelAConfig.of(CONFIG.protocol))) == expected_a


def test_a_worker_killed_mid_unit_is_retried_and_the_store_stays_consistent(on_cluster, local_rows, tmp_path):
    results = store.Store(tmp_path / "results.sqlite")
    outcome = {}

    def sweep():
        try:
            outcome["rows"] = transfer.run_comparison(CONFIG, SEEDS, results, chunk_size=CHUNK)
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=sweep)
    thread.start()
    deadline, killed = time.monotonic() + 120, None
    while killed is None and time.monotonic() < deadline and thread.is_alive():
        running = _unit_processes("lab_comparison")
        if running:
            killed = running[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    thread.join(240)
    assert killed is not None, "no comparison unit was seen running"
    assert "error" not in outcome, outcome.get("error")
    expected_rows, _ = local_rows
    assert _without_timing(outcome["rows"]) == expected_rows  # nothing lost, nothing changed by the retry
    assert _rows_per_seed(results.path, CONFIG) == {seed: 1 for seed in SEEDS}  # no duplicate


def test_a_cluster_queue_runs_jobs_side_by_side_and_local_trainings_one_at_a_time(on_cluster):
    queue = cluster.ClusterQueue(max_running=3)
    inside, most_inside, lock = [0], [0], threading.Lock()
    release = threading.Event()

    def local_training(progress):  # trains on the server: holds the local slot
        with lock:
            inside[0] += 1
            most_inside[0] = max(most_inside[0], inside[0])
        release.wait(10)
        with lock:
            inside[0] -= 1
        return "local"

    def cluster_job(progress):  # waits on the cluster: the local slot is free meanwhile
        with cluster._LocalSlotReleased():
            release.wait(10)
        return "cluster"

    handles = [queue.submit("first", local_training), queue.submit("second", local_training),
               queue.submit("third", cluster_job)]
    time.sleep(0.5)
    status = queue.status()
    assert status.running is not None and len(status.also_running) == 2  # three jobs started at once
    release.set()
    assert [handle.result(20) for handle in handles] == ["local", "local", "cluster"]
    assert most_inside[0] == 1  # the two local trainings never overlapped


def test_with_the_variable_the_page_frame_installs_the_cluster_queue_once(on_cluster, monkeypatch):
    from ui import frame

    monkeypatch.setattr(jobs, "_PROCESS_QUEUE", jobs.queue())  # the local queue again after this test
    frame.job_backend()
    installed = jobs.queue()
    assert isinstance(installed, cluster.ClusterQueue)
    frame.job_backend()  # every page calls it: the queue is made once per process
    assert jobs.queue() is installed


def test_without_the_variable_the_app_never_imports_ray():
    """The home page, the transfer page (which submits through core.jobs) and the command line's modules."""
    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        "import core.__main__, core.cluster, core.jobs, core.transfer, ui.jobs, ui.teacher\n"
        "core.jobs.queue()\n"
        "for script in ('app.py', 'pages/4_Transfer_Learning.py'):\n"
        "    app = AppTest.from_file(script, default_timeout=120).run()\n"
        "    assert not app.exception, app.exception\n"
        "print(sorted(name for name in sys.modules if name == 'ray' or name.startswith('ray.')))\n"
    )
    environment = {name: value for name, value in os.environ.items() if name != cluster.ADDRESS_VARIABLE}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_cli_takes_the_ray_switch():
    from core.__main__ import build_parser

    args = build_parser().parse_args(["transfer", "--all-pairs", "--seeds", "50", "--ray", "auto"])
    assert args.ray == "auto" and args.all_pairs and args.seeds == 50
    assert build_parser().parse_args(["transfer"]).ray is None
    assert build_parser().parse_args(["reuse", "--ray", "ray://head:10001"]).ray == "ray://head:10001"
    assert build_parser().parse_args(["reuse"]).ray is None


def test_bad_cluster_settings_are_refused(monkeypatch):
    monkeypatch.setenv(cluster.CPUS_VARIABLE, "0")
    with pytest.raises(ValueError, match="LAB_RAY_CPUS_PER_UNIT"):
        cluster.cpus_per_unit()
    with pytest.raises(ValueError, match="at least one job"):
        jobs.JobQueue(max_running=0)


def test_the_command_line_trains_on_the_cluster_with_one_bar(on_cluster, capfd):
    from core.__main__ import main

    assert main(["transfer", "--protocol", "tiny", "--pair", "1,7", "--seeds", "3", "--chunk", "2",
                 "--ray", "auto"]) == 0
    out, err = capfd.readouterr()
    assert "Ray cluster at auto: 1 nodes, 2 CPUs, 1 per unit" in out and "task B: Sneaker (7) vs Trouser (1)" in out
    assert "units 3/3, 0 queued or running; finished per node:" in err  # model A and two chunks


def test_a_reuse_grid_job_on_ray_gives_exactly_the_local_rows(on_cluster, local_grid, tmp_path):
    """The page's path: a job on the cluster queue calling reuse.run_grid, which sends one unit per size and chunk."""
    results = store.Store(tmp_path / "results.sqlite")
    reports = []

    def job(progress):
        return reuse.run_grid(GRID_PROTOCOL, GRID_SIZES, GRID_SEEDS, results,
                              lambda *call: (reports.append(call), progress(*call)), chunk_size=CHUNK)

    handle = cluster.ClusterQueue(max_running=2).submit(reuse.job_key(GRID_PROTOCOL, GRID_SIZES, GRID_SEEDS), job)
    rows = handle.result(600)
    _, expected = local_grid
    assert {size: _without_timing(size_rows) for size, size_rows in rows.items()} == expected
    a_key = transfer.ModelAConfig.of(GRID_PROTOCOL)
    assert [row.seed for row in results.results(a_key)] == [transfer.MODEL_A_SEED]  # saved by the server
    assert results.model_path(a_key, transfer.MODEL_A_SEED, "model_a").exists()
    grid = reuse.ReuseGrid(GRID_PROTOCOL, GRID_SIZES[0])
    assert _rows_per_seed(results.path, grid) == {seed: 1 for seed in GRID_SEEDS}
    # model A, then the size's two chunks (seeds 0-1 and 2) waiting on it inside Ray
    assert reports[-1][:2] == (3, 3) and "units 3/3" in reports[-1][2]


def test_a_resumed_reuse_grid_on_the_command_line_trains_only_the_missing_seed(on_cluster, local_grid, tmp_path,
                                                                              monkeypatch, capfd):
    from core.__main__ import main

    folder, expected = local_grid
    shutil.copytree(folder, tmp_path, dirs_exist_ok=True)  # the local run's rows and model A's file
    grid = reuse.ReuseGrid(GRID_PROTOCOL, GRID_SIZES[0])
    with sqlite3.connect(tmp_path / store.DB_NAME) as connection:
        connection.execute("DELETE FROM runs WHERE config_key = ? AND seed = 2", (store.config_key(grid),))
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    assert main(["reuse", "--protocol", "tiny", "--sizes", "20", "--seeds", "3", "--chunk", str(CHUNK),
                 "--ray", "auto"]) == 0
    out, err = capfd.readouterr()
    assert "Ray cluster at auto: 1 nodes, 2 CPUs, 1 per unit" in out and "n = 20: B from scratch" in out
    assert "units 1/1, 0 queued or running; finished per node:" in err  # seed 2 alone; model A read from its file
    results = store.Store(tmp_path / store.DB_NAME)
    assert {20: _without_timing(results.results(grid, GRID_SEEDS))} == expected
    assert _rows_per_seed(results.path, grid) == {seed: 1 for seed in GRID_SEEDS}
    assert [row.seed for row in results.results(transfer.ModelAConfig.of(GRID_PROTOCOL))] == [transfer.MODEL_A_SEED]
