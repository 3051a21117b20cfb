"""Warm start: export a results store to one file and import it elsewhere; damaged or foreign files change nothing."""

import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from dataclasses import dataclass

import pytest

from core import store, store_archive
from tests.conftest import ROOT


@dataclass(frozen=True)
class FakeConfig:
    pair: tuple = (5, 6)  # the class pair of task B
    epochs: int = 3  # epochs per run


def filled_store(folder):
    """A store with rows of two configs and one model file, as a night of training would leave it."""
    results = store.Store(folder / "results.sqlite")
    for seed in range(3):
        results.save(FakeConfig(), seed, {"accuracy": 0.9 + seed / 100, "curve": [0.1, 0.2]})
    results.save(FakeConfig(epochs=5), 0, {"accuracy": 0.7})
    path = results.model_path(FakeConfig(), 42, "model_a")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK fake keras bytes" * 100)
    return results


def snapshot(results):
    """Everything an import could change: the rows and the model files."""
    folder = results.models_folder
    files = {file.name: file.read_bytes() for file in folder.iterdir()} if folder.exists() else {}
    return results.raw_rows(), files


def test_round_trip_moves_the_same_rows_and_models(tmp_path):
    source = filled_store(tmp_path / "home")
    summary = store_archive.export_store(source, tmp_path / "night.zip")
    assert (summary.rows, summary.models, summary.kinds) == (4, 1, {"FakeConfig": 4})
    target = store.Store(tmp_path / "class" / "results.sqlite")
    imported = store_archive.import_archive(target, tmp_path / "night.zip")
    assert (imported.rows_added, imported.rows_present, imported.models_added) == (4, 0, 1)
    assert snapshot(target) == snapshot(source)  # same keys, seeds, texts and finish times; same model bytes
    assert [row.result["accuracy"] for row in target.results(FakeConfig())] == [0.9, 0.91, 0.92]
    again = store_archive.import_archive(target, tmp_path / "night.zip")
    assert (again.rows_added, again.rows_present, again.models_added, again.models_present) == (0, 4, 0, 1)


def test_rows_already_present_are_skipped_and_keep_their_own_values(tmp_path):
    store_archive.export_store(filled_store(tmp_path / "home"), tmp_path / "night.zip")
    target = store.Store(tmp_path / "class" / "results.sqlite")
    target.save(FakeConfig(), 1, {"accuracy": 0.5})
    imported = store_archive.import_archive(target, tmp_path / "night.zip")
    assert (imported.rows_added, imported.rows_present) == (3, 1)
    assert [row.result["accuracy"] for row in target.results(FakeConfig())] == [0.9, 0.5, 0.92]


def test_export_refuses_to_overwrite(tmp_path):
    (tmp_path / "night.zip").write_text("yesterday's")
    with pytest.raises(store_archive.ArchiveError, match="already exists"):
        store_archive.export_store(filled_store(tmp_path / "home"), tmp_path / "night.zip")
    assert (tmp_path / "night.zip").read_text() == "yesterday's"


def rewrite(source, target, change):
    """Copy an archive, letting `change(name, data)` return new bytes for a member (or None to drop it)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            data = change(name, old.read(name))
            if data is not None:
                new.writestr(name, data)
    return target


def edited_row(name, data):
    """Change one result in rows.jsonl and fix the manifest's hash: only the per-row key check can tell."""
    return data.replace(b'0.91', b'0.99')


def damage_kinds(tmp_path, good):
    with zipfile.ZipFile(good) as archive:  # another config's text under the old key, every hash recomputed
        other_config = archive.read("rows.jsonl").replace(b'\\"epochs\\":5', b'\\"epochs\\":6')
    assert b'\\"epochs\\":6' in other_config

    def resealed(name, data):
        if name == "rows.jsonl":
            return other_config
        if name == "manifest.json":
            manifest = json.loads(data)
            manifest["rows"]["sha256"] = store_archive._sha256(other_config)
            return json.dumps(manifest).encode()
        return data

    raw = good.read_bytes()
    middle = raw.find(b"rows.jsonl") + 40
    (tmp_path / "flipped.zip").write_bytes(raw[:middle] + bytes([raw[middle] ^ 0xFF]) + raw[middle + 1:])
    (tmp_path / "truncated.zip").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "text.zip").write_text("just some notes")
    with zipfile.ZipFile(tmp_path / "foreign.zip", "w") as foreign:
        foreign.writestr("photo.jpg", b"\xff\xd8 not ours")
    sqlite_file = tmp_path / "results-copy.sqlite"
    sqlite3.connect(sqlite_file).execute("CREATE TABLE runs (x)").connection.close()
    return {
        "a bit flipped": (tmp_path / "flipped.zip", "damaged|not a results export"),
        "cut in half": (tmp_path / "truncated.zip", "not a results export|damaged"),
        "a text file": (tmp_path / "text.zip", "not a results export"),
        "someone else's zip": (tmp_path / "foreign.zip", "no manifest.json"),
        "an SQLite file": (sqlite_file, "not a results export"),
        "a missing file": (tmp_path / "nowhere.zip", "does not exist"),
        "a row edited": (rewrite(good, tmp_path / "edited.zip", edited_row), "does not match the hash"),
        "a row edited, hashes resealed": (rewrite(good, tmp_path / "resealed.zip", resealed),
                                          "config key that is not the hash of its config"),
        "a model file changed": (rewrite(good, tmp_path / "model.zip", lambda name, data: data[:-1] + b"!"
                                         if name.startswith("models/") else data), "does not match its manifest"),
        "an unlisted member": (rewrite(good, tmp_path / "extra.zip", lambda name, data: data),
                               "unlisted: \\['../../evil.py'\\]"),
        "another format": (rewrite(good, tmp_path / "format.zip", lambda name, data: data.replace(
            b"deepnets-lab results", b"someone's results") if name == "manifest.json" else data), "another format"),
        "another schema": (rewrite(good, tmp_path / "schema.zip", lambda name, data: data.replace(
            b'"schema": 1', b'"schema": 7') if name == "manifest.json" else data), "schema 7"),
    }


@pytest.mark.parametrize("kind", ["a bit flipped", "cut in half", "a text file", "someone else's zip",
                                  "an SQLite file", "a missing file", "a row edited", "a row edited, hashes resealed",
                                  "a model file changed", "an unlisted member", "another format", "another schema"])
def test_a_damaged_or_foreign_file_is_refused_and_changes_nothing(tmp_path, kind):
    good = tmp_path / "night.zip"
    store_archive.export_store(filled_store(tmp_path / "home"), good)
    cases = damage_kinds(tmp_path, good)
    if kind == "an unlisted member":
        with zipfile.ZipFile(cases[kind][0], "a") as archive:
            archive.writestr("../../evil.py", b"print('hi')")
    path, message = cases[kind]
    target = store.Store(tmp_path / "class" / "results.sqlite")
    target.save(FakeConfig(), 7, {"accuracy": 0.1})
    before = snapshot(target)
    with pytest.raises(store_archive.ArchiveError, match=message):
        store_archive.import_archive(target, path)
    assert snapshot(target) == before
    assert not (tmp_path / "evil.py").exists()


def test_a_failed_row_transaction_takes_back_the_models_it_added(tmp_path, monkeypatch):
    store_archive.export_store(filled_store(tmp_path / "home"), tmp_path / "night.zip")
    target = store.Store(tmp_path / "class" / "results.sqlite")
    before = snapshot(target)

    def disk_full(rows):
        raise store.StoreError("disk full", target.path)

    monkeypatch.setattr(target, "insert_raw_rows", disk_full)
    with pytest.raises(store.StoreError, match="disk full"):
        store_archive.import_archive(target, tmp_path / "night.zip")
    assert snapshot(target) == before


def run_cli(*args, data_dir):
    env = {**os.environ, "LAB_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "core", "results", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_command_line_export_and_import(tmp_path):
    filled_store(tmp_path / "home")
    exported = run_cli("export", tmp_path / "night.zip", data_dir=tmp_path / "home")
    assert exported.returncode == 0, exported.stderr
    assert "exported 4 runs (FakeConfig 4) and 1 model files" in exported.stdout
    imported = run_cli("import", tmp_path / "night.zip", data_dir=tmp_path / "class")
    assert imported.returncode == 0, imported.stderr
    assert "4 new runs, 0 already present" in imported.stdout and "1 model files added" in imported.stdout
    (tmp_path / "bad.zip").write_bytes(b"garbage")
    refused = run_cli("import", tmp_path / "bad.zip", data_dir=tmp_path / "class")
    assert refused.returncode == 2 and "Nothing was changed." in refused.stderr and "Traceback" not in refused.stderr
