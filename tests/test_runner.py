"""core.runs.runner without a cluster: units run here in order, each taking the results and shared values it names,
every result handed to its on_result, one bar; and the process queue the page frame installs."""

import collections

import pytest

from core import jobs
from core.runs import backend, runner


def add(*numbers):
    return sum(numbers)


def test_units_run_here_in_order_with_their_dependencies_and_shared_values(monkeypatch):
    monkeypatch.delenv(backend.ADDRESS_VARIABLE, raising=False)
    kept, reports, per_node = {}, [], collections.Counter()
    shared = backend.Shared(10)
    first = backend.Unit("first", add, (1, 2), lambda result: kept.setdefault("first", result))
    second = backend.Unit("second", add, (first, shared), lambda result: kept.setdefault("second", result))
    third = backend.Unit("third", add, (first, second, shared))  # nothing kept: on_result is optional
    assert not runner.on_cluster()
    runner.run_units([first, second, third], lambda *call: reports.append(call), units_per_node=per_node)
    assert kept == {"first": 3, "second": 13}
    assert reports[0][:2] == (0, 3) and reports[-1][:2] == (3, 3) and "units 3/3" in reports[-1][2]
    assert sum(per_node.values()) == 3


def test_a_unit_before_the_unit_it_needs_is_refused():
    first = backend.Unit("first", add, (1,))
    with pytest.raises(ValueError, match="does not come before"):
        runner.run_units([backend.Unit("second", add, (first,)), first])


def test_the_variable_sends_units_to_the_cluster(monkeypatch):
    monkeypatch.setenv(backend.ADDRESS_VARIABLE, "ray://nowhere:10001")
    assert runner.on_cluster() and backend.address() == "ray://nowhere:10001"
    monkeypatch.setenv(backend.ADDRESS_VARIABLE, "")
    assert not runner.on_cluster()


def test_the_process_queue_is_the_one_installed(monkeypatch):
    installed = jobs.JobQueue(max_running=2)
    monkeypatch.setattr(jobs, "_PROCESS_QUEUE", jobs.queue())  # restored after the test
    jobs.set_process_queue(installed)
    assert jobs.queue() is installed
    assert jobs.submit(("test", "installed"), lambda progress: "ran").result(10) == "ran"
