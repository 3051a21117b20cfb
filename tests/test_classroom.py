"""core.classroom: the teacher's key (constant-time check), the cost limit, the classroom server's command."""

import hashlib

import pytest

from core import classroom


def test_nothing_is_locked_without_a_key(monkeypatch):
    monkeypatch.delenv("LAB_TEACHER_KEY", raising=False)
    assert not classroom.locking_enabled() and not classroom.needs_teacher(1e30) and not classroom.needs_teacher(None)
    assert not classroom.is_teacher_key("")
    monkeypatch.setenv("LAB_TEACHER_KEY", "")  # empty counts as unset
    assert not classroom.locking_enabled()


def test_with_a_key_runs_above_the_limit_or_unestimated_are_locked(monkeypatch):
    monkeypatch.setenv("LAB_TEACHER_KEY", "correct horse")
    monkeypatch.delenv("LAB_COST_LIMIT", raising=False)
    assert classroom.cost_limit() == classroom.DEFAULT_COST_LIMIT
    assert classroom.needs_teacher(classroom.DEFAULT_COST_LIMIT * 2) and classroom.needs_teacher(None)
    assert not classroom.needs_teacher(classroom.DEFAULT_COST_LIMIT)
    monkeypatch.setenv("LAB_COST_LIMIT", "1e3")
    assert classroom.needs_teacher(1001) and not classroom.needs_teacher(1000)
    monkeypatch.setenv("LAB_COST_LIMIT", "a lot")
    with pytest.raises(ValueError, match="LAB_COST_LIMIT must be a number"):
        classroom.cost_limit()


def test_the_key_is_compared_as_digests_in_constant_time(monkeypatch):
    monkeypatch.setenv("LAB_TEACHER_KEY", "correct horse")
    compared = []
    real = classroom.hmac.compare_digest
    monkeypatch.setattr(classroom.hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))
    assert classroom.is_teacher_key("correct horse")
    assert not classroom.is_teacher_key("correct hors") and not classroom.is_teacher_key("x" * 10_000)
    assert not classroom.is_teacher_key(None)
    assert len(compared) == 3 and all(len(a) == len(b) == 32 for a, b in compared)  # SHA-256 digests, not the text
    assert compared[0][1] == hashlib.sha256(b"correct horse").digest()


def test_server_command_has_the_shared_server_settings():
    command = classroom.server_command(8502)
    flags = dict(zip(command[5::2], command[6::2]))
    assert command[1:4] == ["-m", "streamlit", "run"] and command[4].endswith("app.py")
    assert flags["--server.address"] == "0.0.0.0" and flags["--server.port"] == "8502"
    assert flags["--server.fileWatcherType"] == "none" and flags["--server.runOnSave"] == "false"
    assert flags["--server.enableXsrfProtection"] == "true" and flags["--server.maxUploadSize"] == "0"
    assert flags["--client.toolbarMode"] == "viewer" and flags["--runner.postScriptGC"] == "false"
    loopback = classroom.server_command(9000, settings={"server.address": "127.0.0.1"})
    assert dict(zip(loopback[5::2], loopback[6::2]))["--server.address"] == "127.0.0.1"
    with pytest.raises(ValueError, match="port"):
        classroom.server_command(0)


def test_lan_address_is_an_ipv4_address():
    parts = classroom.lan_address().split(".")
    assert len(parts) == 4 and all(part.isdigit() and 0 <= int(part) <= 255 for part in parts)
    assert classroom.student_url(8502).endswith(":8502")


def test_dry_run_prints_the_students_address_and_the_command():
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "LAB_TEACHER_KEY": "not printed anywhere"}
    done = subprocess.run([sys.executable, "-m", "core", "classroom", "--port", "8599", "--dry-run"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"Students open: http://{classroom.lan_address()}:8599" in done.stdout
    assert "Teacher's key set" in done.stdout and "not printed anywhere" not in done.stdout + done.stderr
    assert "--server.fileWatcherType none" in done.stdout


def test_the_browser_run_check_finds_file_watcher_rescans(tmp_path):
    from tests.browser_support import log_problems

    log = tmp_path / "streamlit.log"
    log.write_text("URL: http://127.0.0.1:8501\nInotify queue overflowed; reconciling recursive watches below b'/x'\n")
    assert log_problems(log) == ["Inotify queue overflowed; reconciling recursive watches below b'/x'"]
    log.write_text("URL: http://127.0.0.1:8501\n")
    assert log_problems(log) == []


def test_make_run_polls_the_labs_files_and_skips_the_full_collection_after_each_run():
    """`make run` and the browser tests read .streamlit/config.toml: no recursive watch of the project folder
    (.venv included), loopback only, and no gc.collect(2) after every run (a training panel polls every second)."""
    import tomllib

    from tests.conftest import ROOT

    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert settings["server"]["fileWatcherType"] == "poll" and settings["server"]["address"] == "127.0.0.1"
    assert settings["runner"]["postScriptGC"] is False and settings["server"]["runOnSave"] is False
