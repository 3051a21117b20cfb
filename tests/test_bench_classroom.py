"""The classroom load bench runs end to end in --quick mode: the real server, five websocket sessions, tiny presets.

Timings and memory are reported, never asserted; what must hold is correctness: the shared comparison trained
once (no duplicate training) and no session was sent an exception.
"""

import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.bench  # slow end-to-end runs of bench scripts: `make bench-check`, not `make test`


def test_quick_class_ends_with_the_four_lines(fashion_mnist):
    done = subprocess.run([sys.executable, "-m", "bench.classroom_load", "--quick"], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    values = dict(line.split(": ", 1) for line in lines[-4:])
    assert list(values) == ["light_p95_s", "duplicate_trainings", "exceptions", "peak_rss_mb"], lines[-4:]
    assert int(values["duplicate_trainings"]) == 0 and int(values["exceptions"]) == 0, done.stdout[-3000:]
    assert float(values["light_p95_s"]) > 0 and float(values["peak_rss_mb"]) > 0
    assert "finished  Comparison" in done.stdout and "toolbar mode the sessions were given: viewer" in done.stdout
