"""Server-side script time of the Batch Normalization page: first paint (cold and warm) and each control change.

Targets from the issue: first paint < 2 s, a control change < 300 ms, on 2 cores. Times come from
AppTest, which runs the same script the server runs (no browser, no network), with the default
(non-tiny) sizes. Also reported: the numpy moving-statistics code against stepping a real Keras BN
layer over the same batches (why the page keeps Keras out of its reruns).

    python -m bench.batchnorm_page            # full
    python -m bench.batchnorm_page --quick    # tiny sizes, one repeat (a smoke run)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "1_Batch_Normalization.py")

# Runs in a fresh interpreter: streamlit is imported first (a server has it loaded before any
# session), then the page's first run is timed, paying for numpy/plotly/scipy/pandas imports,
# Fashion-MNIST loading and every cache miss.
COLD_SCRIPT = """
import json, sys, time
sys.path.insert(0, {root!r})
from streamlit.testing.v1 import AppTest
app = AppTest.from_file({page!r}, default_timeout=300)
# A cold server's first deep link runs the page with its frame (sidebar: data loading) in one script run.
start, cpu = time.perf_counter(), time.process_time(); app.run()
elapsed = (time.perf_counter() - start, time.process_time() - cpu)
assert not app.exception, [e.message for e in app.exception]
print(json.dumps(elapsed))
"""


def timed_run(app) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process): AppTest runs the script in a thread of this process,
    so CPU time is what the page costs whatever else the machine is doing."""
    start, cpu = time.perf_counter(), time.process_time()
    app.run()
    elapsed = time.perf_counter() - start, time.process_time() - cpu
    if app.exception:
        raise RuntimeError([exception.message for exception in app.exception])
    return elapsed


def cold_first_paint(env: dict) -> tuple[float, float]:
    script = COLD_SCRIPT.format(root=str(ROOT), page=PAGE)
    output = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    return tuple(json.loads(output.strip().splitlines()[-1]))


def new_session(query: dict | None = None):
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(PAGE, default_timeout=300)
    for name, value in (query or {}).items():
        app.query_params[name] = value
    return app


def switch_tab(app, tab: str) -> None:
    """The tabs are bound to the URL, which wins over session state; the default tab has no URL value."""
    if tab == "Momentum":
        app.query_params.pop("bn_section", None)
        app.session_state["bn_section"] = tab
    else:
        app.query_params["bn_section"] = tab


def control_changes(repeats: int) -> dict[str, list[tuple[float, float]]]:
    """Each change is timed twice per repeat: to a new value (cache miss), then back (cache hit)."""
    app = new_session()
    timed_run(app)
    changes = {
        "momentum preset 0.99 -> 0.9": lambda a, back: a.segmented_control(key="bn_momentum").set_value(
            "0.99" if back else "0.9"),
        "batch size 32 -> 64": lambda a, back: a.number_input(key="bn_batch").set_value(32 if back else 64),
        "data source fashion -> synthetic": lambda a, back: a.segmented_control(key="bn_source").set_value(
            "Fashion-MNIST" if back else "Synthetic shift"),
        "examples seen 55k -> 5.5k": lambda a, back: a.select_slider(key="bn_examples").set_value(
            "55,000" if back else "5,500"),
    }
    times: dict[str, list[tuple[float, float]]] = {}
    for name, change in changes.items():
        for repeat in range(repeats):
            for back in (False, True):
                change(app, back)
                label = (f"{name} ({'back, cached' if back else 'new value'})" if repeat == 0
                         else f"{name} ({'back, cached' if back else 'seen before, cached'})")
                times.setdefault(label, []).append(timed_run(app))
    # Custom momentum: every value typed is new.
    app.segmented_control(key="bn_momentum").set_value("other")
    times["momentum -> other (0.95)"] = [timed_run(app)]
    for value in (0.97, 0.98, 0.985)[:max(repeats, 1)]:
        app.number_input(key="bn_momentum_other").set_value(value)
        times.setdefault("custom momentum, new value", []).append(timed_run(app))
    # Axis tab: pure numpy; tab switches.
    app = new_session({"bn_section": "Axis"})
    timed_run(app)
    for axis in ("1", "2", "[1, 2]", "-1"):
        app.segmented_control(key="bn_axis").set_value(axis)
        times.setdefault("axis change", []).append(timed_run(app))
    app.toggle(key="bn_flatten").set_value(True)
    times["BN after Flatten toggle"] = [timed_run(app)]
    visited = set()
    for tab in ("Parameters", "Training vs inference", "Momentum", "Parameters", "Training vs inference"):
        switch_tab(app, tab)
        when = "again, cached" if tab in visited else "first visit in this process"
        visited.add(tab)
        times.setdefault(f"switch to tab {tab} ({when})", []).append(timed_run(app))
    return times


def keras_vs_numpy(n_steps: int, batch_size: int) -> tuple[float, float]:
    import keras
    import numpy as np

    from core import batchnorm as bn

    batches = bn.sample_stream(bn.StreamConfig("shift", batch_size, n_steps), n_features=8).batches
    start = time.perf_counter()
    bn.moving_stats_trajectory(batches, 0.99)
    numpy_time = time.perf_counter() - start
    layer = keras.layers.BatchNormalization(momentum=0.99)
    layer(batches[0], training=True)  # build outside the timing
    start = time.perf_counter()
    means = []
    for batch in batches:
        layer(batch, training=True)
        means.append(np.asarray(layer.moving_mean))
    keras_time = time.perf_counter() - start
    return numpy_time, keras_time


def summary(times: list[tuple[float, float]], milliseconds: bool = False) -> str:
    """Median wall and CPU time of a list of (wall, cpu) measurements."""
    scale, unit = (1000, "ms") if milliseconds else (1, "s")
    wall = statistics.median(t[0] for t in times) * scale
    cpu = statistics.median(t[1] for t in times) * scale
    digits = 0 if milliseconds else 2
    return f"wall {wall:.{digits}f} {unit}, CPU {cpu:.{digits}f} {unit} (median of {len(times)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and one repeat (smoke test)")
    args = parser.parse_args()
    os.environ["LAB_PRESET"] = "tiny" if args.quick else ""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(ROOT))
    repeats = 1 if args.quick else 3
    env = {**os.environ}

    print(f"Batch Normalization page, server-side script time (AppTest), preset "
          f"{'tiny' if args.quick else 'default'}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    cold = [cold_first_paint(env) for _ in range(repeats)]
    print(f"first paint, cold process (imports, data, every cache empty): {summary(cold)}   target < 2 s")

    import streamlit as st

    timed_run(new_session())  # imports and data loaded in this process
    warm = []
    for _ in range(repeats):
        st.cache_data.clear()
        warm.append(timed_run(new_session()))
    print(f"first paint, imports warm, caches cleared: {summary(warm)}   target < 2 s")
    cached = [timed_run(new_session()) for _ in range(repeats)]
    print(f"first paint, new session, caches warm: {summary(cached)}")

    print("control changes (target < 300 ms):")
    for name, times in control_changes(repeats).items():
        print(f"  {name:<56} {summary(times, milliseconds=True)}")

    n_steps, batch_size = (300, 32) if args.quick else (2000, 32)
    numpy_time, keras_time = keras_vs_numpy(n_steps, batch_size)
    print(f"moving statistics over {n_steps} steps of batch {batch_size}: numpy {numpy_time * 1000:.1f} ms, "
          f"stepping a real Keras BN layer {keras_time * 1000:.0f} ms (Keras / numpy = {keras_time / numpy_time:.0f}x)")


if __name__ == "__main__":
    main()
