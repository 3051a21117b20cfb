"""The same sweep through the local queue and through a two-node Ray cluster started on this machine, in one run.

    python -m bench.cluster            # 4 pairs x 10 seeds of a shortened book protocol (minutes on 2 cores)
    python -m bench.cluster --quick    # smoke run: the tiny protocol, 2 pairs x 3 seeds (numbers meaningless)
    python -m bench.cluster --plan     # also time one book model A unit and one book 10-seed chunk, for the
                                       # README's plan of the 45-pair x 50-seed x 3-protocol sweep

Arms, each in a fresh process of its own with its own results store:
(a) local: `core.transfer.run_pairs` without LAB_RAY_ADDRESS (one engine call after another, the lab's
    default); its clock starts before TensorFlow is imported, since the cluster's workers import it too;
(b) Ray: two `ray start --block` processes on this machine, a head and a worker node, one CPU each (the
    same two cores the local arm uses); the arm connects to the head, waits until both nodes are alive,
    then times `core.transfer.units.run_chunks` (the sweep's units, sent to Ray by core.runs.runner) over the
    same pairs and seeds: uploading the code, workers importing TensorFlow, scheduling and moving results all
    count. Starting the nodes is reported apart (a real cluster is already running when the lab uses it).
The rows of both stores are compared (everything but wall times must be identical) and the Ray arm counts
the units each node finished. Ends with `ray_overhead_ratio: X` (Ray wall / local wall) and
`ray_nodes_used: N`.

The plan (`--plan`): units of the full sweep (book, book_comment and notebook share model A: 45 model A
units, then 45 x 3 x 5 ten-seed chunks), each unit's time measured here once in a fresh process (tracing
and XLA compilation included), and the sweep's wall time on 1, 8 and 32 nodes from a list schedule of those
units (a node runs one unit at a time, as this machine does; a chunk waits for its pair's model A).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLAN_PAIRS, PLAN_SEEDS, PLAN_PROTOCOLS, PLAN_CHUNK = 45, 50, ("book", "book_comment", "notebook"), 10
PLAN_NODES = (1, 8, 32)


@dataclasses.dataclass(frozen=True)
class Sweep:
    """What both arms train."""
    protocol: str  # "bench" (the book's protocol, model A shortened) or "tiny"
    pairs: int  # the first pairs of core.transfer.ALL_PAIRS
    seeds: int
    chunk: int  # seeds per engine call (one unit)


FULL = Sweep("bench", pairs=4, seeds=10, chunk=5)
QUICK = Sweep("tiny", pairs=2, seeds=3, chunk=2)


def sweep_requests(sweep: Sweep):
    """[(ComparisonConfig, seeds)] of the sweep."""
    from core import transfer

    if sweep.protocol == "bench":  # the book's B phase as is; model A on 8,000 images for 3 epochs
        protocol = dataclasses.replace(transfer.PROTOCOLS["book"], name="bench", a_epochs=3, n_a_train=8000)
    else:
        protocol = transfer.PROTOCOLS[sweep.protocol]
    config = transfer.ComparisonConfig(protocol)
    return [(config.with_pair(pair), list(range(sweep.seeds))) for pair in transfer.ALL_PAIRS[:sweep.pairs]]


def run_arm(arm: str, sweep: Sweep, store_path: str, address: str | None) -> dict:
    """One arm in this process; returns its wall time and, for Ray, the units each node finished."""
    started = time.perf_counter()
    from core import store, transfer

    results = store.Store(store_path)
    requests = sweep_requests(sweep)
    if arm == "local":
        for config, seeds in requests:
            transfer.run_comparison(config, seeds, results, chunk_size=sweep.chunk)
        return {"seconds": time.perf_counter() - started}
    os.environ["LAB_RAY_ADDRESS"] = address
    from core import cluster
    from core.transfer import units

    cluster.connect()
    nodes = cluster.wait_for_nodes(2, timeout=300)
    started = time.perf_counter()  # the nodes are up: from here on it is what a user of the cluster waits for
    per_node = collections.Counter()
    units.run_chunks(transfer.comparison_unit, requests, results, chunk_size=sweep.chunk, units_per_node=per_node)
    return {"seconds": time.perf_counter() - started, "units_per_node": dict(per_node),
            "nodes": [node["node"] for node in nodes]}


def spawn_arm(arm: str, sweep: Sweep, folder: Path, address: str | None = None) -> dict:
    """One arm in a fresh process, with a results store (and models folder) of its own under `folder`."""
    command = [sys.executable, "-m", "bench.cluster", "--arm", arm, "--store", str(arm_store(folder, arm)),
               "--sweep", json.dumps(dataclasses.asdict(sweep))]
    environment = {name: value for name, value in os.environ.items() if name != "LAB_RAY_ADDRESS"}
    if address:
        command += ["--address", address]
        environment.update(auth_environment(folder))
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    finished = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True)
    if finished.returncode != 0:
        raise RuntimeError(f"the {arm} arm failed:\n{finished.stderr[-3000:]}")
    return _result_line(finished.stdout)


def arm_store(folder: Path, arm: str) -> Path:
    """Each arm's own store: models A are files next to it, and one arm must not find the other's."""
    return folder / arm / "results.sqlite"


def _result_line(stdout: str) -> dict:
    """An arm's answer: its one `RESULT {json}` line (Ray may print lines of its own)."""
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise RuntimeError(f"no RESULT line in:\n{stdout[-3000:]}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def auth_environment(folder: Path) -> dict:
    """Ray's token authentication for the bench's cluster: a fresh token in the bench's folder, given to the head,
    the worker node and the driver (the same setting a real cluster needs, README "Beyond one machine")."""
    token_path = folder / "ray_auth_token"
    if not token_path.exists():
        token_path.touch(mode=0o600)
        token_path.write_text(secrets.token_hex(32))
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token_path)}


def start_two_nodes(folder: Path) -> tuple[list[subprocess.Popen], str, float]:
    """A head and a worker node on this machine, one CPU each; returns the processes, the address, the seconds.
    Ray gives a starting node 30 s (fixed in its code) to register; on a loaded machine that can pass, the
    node exits, and it is started again (up to 3 attempts each)."""
    from ray.util import get_node_ip_address

    ray = Path(sys.executable).with_name("ray")
    port, host = free_port(), get_node_ip_address()  # the address Ray itself would advertise for this machine
    address = f"{host}:{port}"
    environment = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", **auth_environment(folder))
    common = ["--num-cpus", "1", "--block", "--disable-usage-stats"]
    started = time.perf_counter()

    def launch(name: str, arguments: list[str]) -> subprocess.Popen:
        for attempt in range(3):
            log = folder / f"{name}-{attempt}.log"
            process = subprocess.Popen([str(ray), "start", *arguments, *common], env=environment,
                                       stdout=open(log, "w"), stderr=subprocess.STDOUT)
            try:
                process.wait(90)  # a node that started stays up (--block) until the bench stops it
            except subprocess.TimeoutExpired:
                return process
            print(f"  {name} node exited while starting (attempt {attempt + 1}): {log.read_text()[-300:]!r}")
        raise RuntimeError(f"the {name} node did not start in 3 attempts; see {folder}")

    head = launch("head", ["--head", "--port", str(port), "--include-dashboard", "false"])
    worker = launch("worker", ["--address", address])
    return [head, worker], address, time.perf_counter() - started


def stop_nodes(processes: list[subprocess.Popen]) -> None:
    """SIGTERM to the `ray start --block` processes this bench started (each stops its own node)."""
    for process in reversed(processes):
        if process.poll() is None:
            process.terminate()
    for process in reversed(processes):
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stored_rows(store_path: Path, sweep: Sweep) -> dict:
    """{(config key, seed): result without wall times} of the sweep's rows."""
    from core import store

    results = store.Store(store_path)
    rows = {}
    for config, seeds in sweep_requests(sweep):
        for row in results.results(config, seeds):
            rows[(store.config_key(config), row.seed)] = {name: value for name, value in row.result.items()
                                                          if name != "seconds_per_seed"}
    return rows


def time_plan_units(store_path: Path) -> dict:
    """One book model A unit (one seed) and one book comparison chunk of PLAN_CHUNK seeds, timed in this process."""
    from core import store, transfer

    protocol = transfer.PROTOCOLS["book"]
    started = time.perf_counter()
    a_result = transfer.train_model_a_unit(protocol, [transfer.MODEL_A_SEED])
    a_seconds = time.perf_counter() - started
    transfer.save_model_a(protocol, store.Store(store_path), a_result)
    seeds = list(range(PLAN_CHUNK))
    a_weights = tuple(weights[[0] * len(seeds)] for weights in a_result["weights"])
    started = time.perf_counter()
    transfer.comparison_unit(transfer.ComparisonConfig(protocol), seeds, a_weights)
    return {"model_a_unit_seconds": a_seconds, "chunk_unit_seconds": time.perf_counter() - started}


def plan_schedule(a_seconds: float, chunk_seconds: float, nodes: int) -> float:
    """Wall time of the full sweep on `nodes` one-unit-at-a-time nodes: model A units are submitted first, each
    pair's chunks become ready when its A is done, and a free node takes the oldest ready unit."""
    chunks_per_pair = len(PLAN_PROTOCOLS) * (PLAN_SEEDS // PLAN_CHUNK)
    free_at = [0.0] * nodes
    a_done = []
    for _ in range(PLAN_PAIRS):
        node = min(range(nodes), key=free_at.__getitem__)
        free_at[node] += a_seconds
        a_done.append(free_at[node])
    for ready in a_done:  # pairs in the order their A finished, each pair's chunks in order
        for _ in range(chunks_per_pair):
            node = min(range(nodes), key=free_at.__getitem__)
            free_at[node] = max(free_at[node], ready) + chunk_seconds
    return max(free_at)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny protocol, 2 pairs x 3 seeds")
    parser.add_argument("--plan", action="store_true", help="also time one book model A unit and one book chunk")
    parser.add_argument("--arm", choices=("local", "ray", "plan"), help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--sweep", help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.arm == "plan":
        print("RESULT " + json.dumps(time_plan_units(Path(args.store))))
        return 0
    if args.arm:
        print("RESULT " + json.dumps(run_arm(args.arm, Sweep(**json.loads(args.sweep)), args.store, args.address)))
        return 0

    sweep = QUICK if args.quick else FULL
    folder = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    units = sweep.pairs * (1 + -(-sweep.seeds // sweep.chunk))
    print(f"sweep: protocol {sweep.protocol}, {sweep.pairs} pairs x {sweep.seeds} seeds, {sweep.chunk} seeds per "
          f"unit: {units} units (model A + chunks); load before: {os.getloadavg()[0]:.1f}")
    local = spawn_arm("local", sweep, folder)
    print(f"local backend (one engine call after another): {local['seconds']:.1f} s")
    processes, address, start_seconds = start_two_nodes(folder)
    try:
        on_ray = spawn_arm("ray", sweep, folder, address)
    finally:
        stop_nodes(processes)
    print(f"Ray, two nodes x 1 CPU on this machine (started in {start_seconds:.1f} s incl. 90 s per node waiting "
          "to see it stay up; not counted): "
          f"{on_ray['seconds']:.1f} s, {sum(on_ray['units_per_node'].values())} of the {units} units")
    for node in on_ray["nodes"]:
        print(f"  node {node}: {on_ray['units_per_node'].get(node, 0)} units")
    local_rows, ray_rows = stored_rows(arm_store(folder, "local"), sweep), stored_rows(arm_store(folder, "ray"), sweep)
    identical = local_rows == ray_rows and len(local_rows) == sweep.pairs * sweep.seeds
    print(f"rows: {len(local_rows)} local, {len(ray_rows)} Ray, identical apart from wall times: {identical}")
    if args.plan:
        times = spawn_plan(arm_store(folder, "plan"))
        a_seconds, chunk_seconds = times["model_a_unit_seconds"], times["chunk_unit_seconds"]
        chunks = PLAN_PAIRS * len(PLAN_PROTOCOLS) * (PLAN_SEEDS // PLAN_CHUNK)
        print(f"plan: {PLAN_PAIRS} model A units ({a_seconds:.1f} s each here) + {chunks} chunks of {PLAN_CHUNK} "
              f"seeds ({chunk_seconds:.1f} s each here)")
        for nodes in PLAN_NODES:
            print(f"plan_hours_{nodes}_nodes: {plan_schedule(a_seconds, chunk_seconds, nodes) / 3600:.2f}")
    print(f"load after: {os.getloadavg()[0]:.1f}")
    print(f"rows_identical: {identical}")
    print(f"ray_overhead_ratio: {on_ray['seconds'] / local['seconds']:.2f}")
    print(f"ray_nodes_used: {sum(1 for count in on_ray['units_per_node'].values() if count > 0)}")
    return 0 if identical else 1


def spawn_plan(store_path: Path) -> dict:
    finished = subprocess.run([sys.executable, "-m", "bench.cluster", "--arm", "plan", "--store", str(store_path)],
                              cwd=ROOT, capture_output=True, text=True,
                              env={name: value for name, value in os.environ.items() if name != "LAB_RAY_ADDRESS"})
    if finished.returncode != 0:
        raise RuntimeError(f"the plan's timing failed:\n{finished.stderr[-3000:]}")
    return _result_line(finished.stdout)


if __name__ == "__main__":
    sys.exit(main())
