"""Warm start: finished runs moved between results stores as one checked file.

A teacher computes the 45-pair map or a 100-seed comparison at home (`python -m core transfer ...`),
exports the store (`python -m core results export FILE`), and imports it on the classroom server
(`python -m core results import FILE`). The pages then find those runs as if trained there.

The file is a zip archive:

- `manifest.json`: the format name and version, the store's SCHEMA_VERSION, how many rows of each kind,
  the SHA-256 of `rows.jsonl`, and the name, size and SHA-256 of every model file;
- `rows.jsonl`: one stored row per line, every column exactly as in the database (same config key,
  seed, config and result text, finish time);
- `models/<config key>-seed<seed>-<role>.keras`: the trained models the store keeps beside its rows
  (model A of each transfer protocol, pair and seed), so B-on-A runs of the same config need no new A.

Import checks everything before it changes anything: the archive opens, the manifest is this format and
schema, every member is listed and matches its size and hash, every row's key is the SHA-256 of its
config text (as core.store computes keys), no row repeats. Anything wrong refuses the whole file with
a message and writes nothing. Then the models are written (each atomically, existing files kept),
then the rows in one transaction that skips rows already present; if that transaction fails, the
model files it added are removed again.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from core.store import RAW_COLUMNS, SCHEMA_VERSION, Store, atomic_path

FORMAT = "deepnets-lab results"  # the manifest's "format": what makes a zip one of ours
FORMAT_VERSION = 1  # bump when the archive's layout changes
MODEL_NAME = re.compile(r"^[0-9a-f]{64}-seed\d+-[A-Za-z0-9_]+\.keras$")  # core.store.Store.model_path's names


class ArchiveError(ValueError):
    """The file cannot be imported (or written); the message says why. Nothing was changed."""


@dataclass(frozen=True)
class ExportSummary:
    rows: int  # runs written
    models: int  # model files written
    kinds: dict = field(default_factory=dict)  # config class name -> rows


@dataclass(frozen=True)
class ImportSummary:
    rows_added: int  # runs new to this store
    rows_present: int  # runs this store already had (skipped, its own copy kept)
    models_added: int
    models_present: int  # model files this store already had (its own copy kept)
    kinds: dict = field(default_factory=dict)  # config class name -> rows in the file


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _kinds(rows: list[dict]) -> dict:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["kind"]] = counts.get(row["kind"], 0) + 1
    return dict(sorted(counts.items()))


def export_store(store: Store, path) -> ExportSummary:
    """Write every row and model file of `store` to a new archive at `path` (refused if it exists)."""
    path = Path(path)
    if path.exists():
        raise ArchiveError(f"{path} already exists; choose another file name or remove it first.")
    rows = store.raw_rows()
    rows_text = "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows).encode()
    folder = store.models_folder
    models = sorted(file for file in folder.glob("*.keras") if MODEL_NAME.match(file.name)) if folder.is_dir() else []
    model_bytes = {file.name: file.read_bytes() for file in models}
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "schema": SCHEMA_VERSION,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rows": {"count": len(rows), "sha256": _sha256(rows_text), "kinds": _kinds(rows)},
        "models": [{"name": name, "bytes": len(data), "sha256": _sha256(data)} for name, data in model_bytes.items()],
    }
    with atomic_path(path) as temporary:
        with zipfile.ZipFile(temporary, "w") as archive:
            archive.writestr("manifest.json", json.dumps(manifest, indent=1, sort_keys=True),
                             compress_type=zipfile.ZIP_DEFLATED)
            archive.writestr("rows.jsonl", rows_text, compress_type=zipfile.ZIP_DEFLATED)
            for name, data in model_bytes.items():
                archive.writestr(f"models/{name}", data, compress_type=zipfile.ZIP_STORED)  # .keras is a zip already
    return ExportSummary(len(rows), len(model_bytes), manifest["rows"]["kinds"])


def read_archive(path) -> tuple[list[dict], dict[str, bytes]]:
    """The rows and model files of an archive, every check passed; ArchiveError names the first problem."""
    path = Path(path)
    if not path.is_file():
        raise ArchiveError(f"{path} does not exist or is not a file.")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "manifest.json" not in names:
                raise ArchiveError(f"{path} is a zip file but not a results export of this lab (no manifest.json).")
            manifest = _manifest(archive.read("manifest.json"), path)
            listed = {f"models/{model['name']}": model for model in manifest["models"]}
            unexpected = sorted(names - {"manifest.json", "rows.jsonl"} - set(listed))
            if unexpected or "rows.jsonl" not in names or set(listed) - names:
                missing = sorted(({"rows.jsonl"} | set(listed)) - names)
                raise ArchiveError(f"{path} does not hold what its manifest lists (missing: {missing or 'none'}; "
                                   f"unlisted: {unexpected or 'none'}).")
            rows_text = archive.read("rows.jsonl")
            models = {model["name"]: archive.read(member) for member, model in listed.items()}
    except ArchiveError:
        raise
    except zipfile.BadZipFile as error:  # not a zip at all, or a member whose CRC does not match
        raise ArchiveError(f"{path} is not a results export of this lab, or it is damaged ({error}).") from None
    except (zlib.error, OSError, EOFError, ValueError, NotImplementedError) as error:  # a damaged member
        raise ArchiveError(f"{path} is damaged: {error}.") from None
    if _sha256(rows_text) != manifest["rows"]["sha256"]:
        raise ArchiveError(f"{path} is damaged: rows.jsonl does not match the hash in its manifest.")
    for model in manifest["models"]:
        data = models[model["name"]]
        if len(data) != model["bytes"] or _sha256(data) != model["sha256"]:
            raise ArchiveError(f"{path} is damaged: models/{model['name']} does not match its manifest.")
    rows = _rows(rows_text, path)
    if len(rows) != manifest["rows"]["count"] or _kinds(rows) != manifest["rows"]["kinds"]:
        raise ArchiveError(f"{path} is damaged: its rows do not match the counts in its manifest.")
    return rows, models


def _manifest(text: bytes, path: Path) -> dict:
    try:
        manifest = json.loads(text)
    except ValueError:
        raise ArchiveError(f"{path} has an unreadable manifest.json.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(f"{path} is not a results export of this lab (its manifest names another format).")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArchiveError(f"{path} was written in export format {manifest.get('format_version')!r}; this lab reads "
                           f"format {FORMAT_VERSION}.")
    if manifest.get("schema") != SCHEMA_VERSION:
        raise ArchiveError(f"{path} holds rows of store schema {manifest.get('schema')!r}; this lab uses schema "
                           f"{SCHEMA_VERSION}, so they would never be read.")
    if not _manifest_understood(manifest):
        raise ArchiveError(f"{path} has a manifest.json this lab does not understand.")
    return manifest


def _manifest_understood(manifest: dict) -> bool:
    rows, models = manifest.get("rows"), manifest.get("models")
    if not (isinstance(rows, dict) and isinstance(rows.get("count"), int) and isinstance(rows.get("sha256"), str)
            and isinstance(rows.get("kinds"), dict) and isinstance(models, list)):
        return False
    for model in models:
        if not (isinstance(model, dict) and isinstance(model.get("bytes"), int) and isinstance(model.get("sha256"), str)
                and isinstance(model.get("name"), str) and MODEL_NAME.match(model["name"])):
            return False
    return len({model["name"] for model in models}) == len(models)


# Each row must be exactly what core.store writes: the key is the hash of the config text, schema and kind agree.
def _rows(text: bytes, path: Path) -> list[dict]:
    rows, seen = [], set()
    for number, line in enumerate(text.decode("utf-8", errors="replace").splitlines(), start=1):
        problem = _row_problem(line)
        if isinstance(problem, str):
            raise ArchiveError(f"{path} is damaged or was edited: row {number} {problem}.")
        identity = (problem["config_key"], problem["seed"])
        if identity in seen:
            raise ArchiveError(f"{path} repeats the run of row {number} (config {identity[0][:12]}..., seed "
                               f"{identity[1]}).")
        seen.add(identity)
        rows.append(problem)
    return rows


def _row_problem(line: str):
    """The row as a dict if it is a valid stored row, else a sentence fragment saying what is wrong."""
    try:
        row = json.loads(line)
    except ValueError:
        return "is not JSON"
    if not isinstance(row, dict) or set(row) != set(RAW_COLUMNS):
        return f"does not have exactly the columns {', '.join(RAW_COLUMNS)}"
    if not all(isinstance(row[name], str) for name in RAW_COLUMNS if name != "seed"):
        return "has a column that is not text"
    if isinstance(row["seed"], bool) or not isinstance(row["seed"], int) or row["seed"] < 0:
        return "has a seed that is not a whole number 0 or more"
    if _sha256(row["config_json"].encode()) != row["config_key"]:
        return "has a config key that is not the hash of its config"
    try:
        config, result = json.loads(row["config_json"]), json.loads(row["result_json"])
    except ValueError:
        return "has a config or result that is not JSON"
    if not isinstance(config, dict) or config.get("schema") != SCHEMA_VERSION or config.get("kind") != row["kind"]:
        return "has a config of another schema or kind"
    if not isinstance(result, dict):
        return "has a result that is not a dict"
    return row


def import_archive(store: Store, path) -> ImportSummary:
    """Add the archive's rows and models that `store` lacks; refuse the whole file (ArchiveError) if any check
    fails, changing nothing."""
    rows, models = read_archive(path)
    folder = store.models_folder
    added_models, present_models = [], 0
    try:
        for name, data in models.items():
            target = folder / name
            if target.exists():
                present_models += 1  # same name = same config and seed: this store's own copy is kept
                continue
            with atomic_path(target) as temporary:
                temporary.write_bytes(data)
            added_models.append(target)
        added_rows = store.insert_raw_rows(rows)
    except BaseException:
        for target in added_models:
            target.unlink(missing_ok=True)
        raise
    return ImportSummary(added_rows, len(rows) - added_rows, len(added_models), present_models, _kinds(rows))
