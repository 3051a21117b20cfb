"""Bench smoke tests' plumbing: run a bench script's main() in --quick mode in this process, read its last lines.

Timings are never asserted: a smoke test checks that the script runs end to end and ends with the `name: value`
lines a script reads its ratios from.
"""

from __future__ import annotations

import importlib


def quick_run(module: str, tmp_path, monkeypatch, capsys) -> list[str]:
    """`python -m bench.<module> --quick` in this process (TensorFlow is already imported here), with results in a
    throw-away folder; its output lines, after checking the first names the machine and TensorFlow."""
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    importlib.import_module(f"bench.{module}").main(["--quick"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("machine: ") and "TensorFlow" in lines[0]
    return lines


def assert_ends_with(lines: list[str], names: list[str]) -> None:
    """The last lines are `name: value` for exactly these names, in this order, each value a positive number."""
    last = lines[-len(names):]
    assert [line.split(": ")[0] for line in last] == names
    assert all(float(line.split(": ")[1]) > 0 for line in last)
