"""Results store: one SQLite row per finished (experiment config, seed), so work is never redone.

Each run's row is written in its own transaction the moment that run ends: an interrupted
experiment (browser closed, server killed, `kill -9` of the command line) loses only the seeds
that were in flight, and asking again runs only the missing seeds. `INSERT OR IGNORE` on a unique
(config_key, seed) makes saving idempotent, so two sessions racing on the same seed leave one row.

Where files go: the data folder is `LAB_DATA_DIR` if set, else `$XDG_CACHE_HOME/deepnets-lab`
(default `~/.cache/deepnets-lab`). File names come only from that folder and from hashes of
configs; nothing a user types becomes a path.

A config is a frozen dataclass. Its key is the SHA-256 of canonical JSON holding the store's
SCHEMA_VERSION, the class name, the class's own `VERSION` (a ClassVar; bump it when the protocol's
code changes meaning) and every field, so a changed protocol never reuses stale rows.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import operator
import os
import sqlite3
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

from core.progress import ProgressCallback, report

SCHEMA_VERSION = 1  # bump when the meaning of stored rows changes; old rows then no longer match
DB_FORMAT = 1  # PRAGMA user_version of databases this module writes (table layout)
DB_NAME = "results.sqlite"
RAW_COLUMNS = ("config_key", "seed", "kind", "config_json", "result_json", "finished_at")  # the runs table
APP_FOLDER = "deepnets-lab"

# Signature of a batch trainer: (config, seeds, on_seed_done) -> None, calling on_seed_done(seed, result).
RunBatch = Callable[[object, list, Callable[[int, dict], None]], None]


class StoreError(ValueError):
    """The results database cannot be used; the message names the file and what to do.
    `path` is that file, so a page can offer `move_aside(error.path)`."""

    def __init__(self, message: str, path: Path):
        super().__init__(message)
        self.path = path


@dataclasses.dataclass(frozen=True)
class Row:
    seed: int
    result: dict  # what the run returned (JSON round-tripped)
    finished_at: str  # UTC, ISO 8601, when the row was written


# One answer to "where do the lab's files live?", shared by the store and the model cache.
def data_dir() -> Path:
    """`LAB_DATA_DIR` if set, else the per-user cache folder; created if missing."""
    configured = os.environ.get("LAB_DATA_DIR")
    if configured:
        folder = Path(configured).expanduser()
    else:
        cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        folder = Path(cache) / APP_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# Canonical text of a config: same fields give the same bytes, on any machine, in any order.
def config_json(config) -> str:
    if not (dataclasses.is_dataclass(config) and not isinstance(config, type)):
        raise ValueError(f"A config must be a dataclass instance, not {type(config).__name__}.")
    payload = {
        "schema": SCHEMA_VERSION,
        "kind": type(config).__name__,
        "version": getattr(type(config), "VERSION", 0),
        "fields": dataclasses.asdict(config),
    }
    try:
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"Config {type(config).__name__} holds a value JSON cannot store: {error}") from None


# The short, stable identity of a config, used as the database key and in file names.
def config_key(config) -> str:
    return hashlib.sha256(config_json(config).encode()).hexdigest()


# Results come back from Keras as numpy scalars and arrays; JSON wants plain Python.
def _to_plain(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} cannot be stored in a result")


# Never delete a user's results: a damaged file is renamed, and the page can start a new one.
def move_aside(path) -> Path:
    """Rename `path` (and its -wal / -shm companions) to `<name>.damaged-<UTC timestamp>`; return it."""
    path = Path(path)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    counter = 1
    while target.exists():
        counter += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{counter}")
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.replace(companion, target.with_name(target.name + suffix))
    return target


# Write-then-rename, so a killed process never leaves a half-written model file under the real name.
@contextmanager
def atomic_path(path) -> Iterator[Path]:
    """Yield a temporary path next to `path` (same suffix, e.g. `.keras`); on success rename it to
    `path` in one step; on error remove it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


class Store:
    """The results database. Cheap to create; safe to share between threads and processes
    (each call opens its own short-lived connection; SQLite's WAL mode lets readers and one writer
    work at the same time)."""

    # Opens (creating if needed) and checks the database, so damage shows up here, not mid-experiment.
    def __init__(self, path=None):
        self.path = Path(path) if path is not None else data_dir() / DB_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            self._check_and_create(connection)

    # Every query goes through here: autocommit (each statement its own transaction), and any
    # SQLite failure, at opening or later, becomes a StoreError naming the file.
    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                yield connection
            finally:
                connection.close()
        except sqlite3.DatabaseError as error:
            raise StoreError(
                f"The results database {self.path} cannot be used ({error}). If it is damaged or not a "
                "results database, move it aside to start a new one (nothing is deleted).",
                self.path,
            ) from None

    # Checks and creation happen in one write transaction, so two processes opening a new file
    # at the same moment never see each other's half-made table.
    def _check_and_create(self, connection: sqlite3.Connection) -> None:
        _switch_to_wal(connection)
        if connection.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise sqlite3.DatabaseError("integrity check failed")
        if connection.execute("PRAGMA user_version").fetchone()[0] == DB_FORMAT:
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            user_version = connection.execute("PRAGMA user_version").fetchone()[0]
            tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if user_version not in (0, DB_FORMAT):
                raise sqlite3.DatabaseError(f"written by another version (format {user_version}, expected {DB_FORMAT})")
            if user_version == 0 and tables:
                raise sqlite3.DatabaseError(f"an SQLite file with other tables ({', '.join(sorted(tables))})")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS runs ("
                " config_key TEXT NOT NULL, seed INTEGER NOT NULL, kind TEXT NOT NULL,"
                " config_json TEXT NOT NULL, result_json TEXT NOT NULL, finished_at TEXT NOT NULL,"
                " UNIQUE (config_key, seed))"
            )
            connection.execute(f"PRAGMA user_version = {DB_FORMAT}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    # Which seeds need no more work for this config.
    def finished_seeds(self, config) -> set[int]:
        with self._connect() as connection:
            rows = connection.execute("SELECT seed FROM runs WHERE config_key = ?", (config_key(config),))
            return {seed for (seed,) in rows}

    # Called the moment one run ends: its own transaction, so a kill right after keeps it.
    def save(self, config, seed: int, result: dict) -> bool:
        """Store one finished run; returns False (and changes nothing) if that seed was already stored."""
        if not isinstance(result, dict):
            raise ValueError(f"A run's result must be a dict of values, not {type(result).__name__}.")
        seed = check_seed(seed)
        try:
            result_text = json.dumps(result, sort_keys=True, default=_to_plain, allow_nan=True)
        except TypeError as error:
            raise ValueError(f"The result for seed {seed} cannot be stored: {error}.") from None
        finished_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self._connect() as connection:
            cursor = connection.execute(
                "INSERT OR IGNORE INTO runs (config_key, seed, kind, config_json, result_json, finished_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (config_key(config), seed, type(config).__name__, config_json(config), result_text, finished_at),
            )
            return cursor.rowcount == 1

    # Everything stored for one config, in seed order, for the statistics.
    def results(self, config, seeds: Optional[Iterable[int]] = None) -> list[Row]:
        """Rows of `config`, sorted by seed; only `seeds` if given."""
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT seed, result_json, finished_at FROM runs WHERE config_key = ? ORDER BY seed",
                (config_key(config),),
            ).fetchall()
        wanted = None if seeds is None else set(seeds)
        return [Row(seed, json.loads(text), at) for seed, text, at in rows if wanted is None or seed in wanted]

    # The download button and the command line's export: config fields and results, one row per run.
    def to_csv(self, config=None) -> str:
        """CSV of one config's rows, or of every row in the store when `config` is None. Columns:
        config_key, kind, seed, finished_at, then `config.<field>` and `result.<field>` (non-scalar
        values as JSON text)."""
        query = "SELECT config_key, kind, seed, finished_at, config_json, result_json FROM runs"
        parameters: tuple = ()
        if config is not None:
            query, parameters = query + " WHERE config_key = ?", (config_key(config),)
        with self._connect() as connection:
            rows = connection.execute(query + " ORDER BY kind, config_key, seed", parameters).fetchall()
        records = []
        for key, kind, seed, finished_at, config_text, result_text in rows:
            record = {"config_key": key, "kind": kind, "seed": seed, "finished_at": finished_at}
            record.update(_flatten("config", json.loads(config_text)["fields"]))
            record.update(_flatten("result", json.loads(result_text)))
            records.append(record)
        fixed = ["config_key", "kind", "seed", "finished_at"]
        extra = sorted({name for record in records for name in record} - set(fixed))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fixed + extra, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        return buffer.getvalue()

    # Where a trained model for (config, seed) lives; `role` names which model (e.g. "model_a").
    def model_path(self, config, seed: int, role: str) -> Path:
        """`<store folder>/models/<config key>-seed<seed>-<role>.keras`; write it with `atomic_path`."""
        if not (role.replace("_", "").isalnum() and role.isascii()):
            raise ValueError(f"A model role must be letters, digits and underscores, not {role!r}.")
        return self.models_folder / f"{config_key(config)}-seed{check_seed(seed)}-{role}.keras"

    @property
    def models_folder(self) -> Path:
        """The folder of the store's `.keras` files (model_path's names), next to the database."""
        return self.path.parent / "models"

    # For core.store_archive's export: every row exactly as stored, in a stable order.
    def raw_rows(self) -> list[dict]:
        """Every row as a dict of the table's columns (config_key, seed, kind, config_json, result_json,
        finished_at), read in one query (one consistent snapshot while another process writes)."""
        with self._connect() as connection:
            rows = connection.execute(f"SELECT {', '.join(RAW_COLUMNS)} FROM runs ORDER BY kind, config_key, seed")
            return [dict(zip(RAW_COLUMNS, row)) for row in rows.fetchall()]

    # For core.store_archive's import: rows written verbatim, all or none.
    def insert_raw_rows(self, rows: Iterable[dict]) -> int:
        """Insert rows (as `raw_rows` gives them) in one transaction, skipping (config_key, seed) pairs already
        stored; returns how many were new. Checking them is the caller's job (core.store_archive)."""
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                added = 0
                for row in rows:
                    cursor = connection.execute(
                        f"INSERT OR IGNORE INTO runs ({', '.join(RAW_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)",
                        tuple(row[column] for column in RAW_COLUMNS))
                    added += cursor.rowcount
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            return added


# WAL lets readers work while a run is being saved. The switch is stored in the file, but while
# another connection makes the same switch SQLite answers "locked" at once instead of waiting.
def _switch_to_wal(connection: sqlite3.Connection, attempts: int = 100) -> None:
    for attempt in range(attempts):
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


# Seeds come from widgets and the command line; reject what would silently become another seed.
def check_seed(seed) -> int:
    try:
        if isinstance(seed, bool):
            raise TypeError
        seed = operator.index(seed)  # Python and numpy integers; not floats, strings or booleans
    except TypeError:
        raise ValueError(f"A seed must be a whole number, not {seed!r}.") from None
    if seed < 0:
        raise ValueError(f"A seed must be 0 or more, not {seed}.")
    return seed


# Flat columns for CSV: one level of `prefix.name`, anything nested kept as JSON text.
def _flatten(prefix: str, values: dict) -> dict:
    flat = {}
    for name, value in values.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value, sort_keys=True)
        flat[f"{prefix}.{name}"] = value
    return flat


# The resume logic every experiment shares: run only the missing seeds, save each as it ends.
def run_missing(
    store: Store,
    config,
    seeds: Iterable[int],
    run_batch: RunBatch,
    progress: Optional[ProgressCallback] = None,
) -> list[Row]:
    """Rows for every seed in `seeds`, running only those not yet stored.

    Calls `run_batch(config, missing_seeds, on_seed_done)` once (not at all if nothing is
    missing); the trainer calls `on_seed_done(seed, result_dict)` as each seed finishes, which
    saves that row at once and reports progress(done, total, message)."""
    wanted = [check_seed(seed) for seed in seeds]
    if len(set(wanted)) != len(wanted):
        raise ValueError("The list of seeds repeats a seed.")
    finished = store.finished_seeds(config) & set(wanted)
    missing = [seed for seed in wanted if seed not in finished]
    done = set(finished)
    report(progress, len(done), len(wanted), f"{len(done)} of {len(wanted)} seeds already stored")

    def on_seed_done(seed: int, result: dict) -> None:
        if seed not in missing:
            raise ValueError(f"The trainer reported seed {seed}, which was not asked for.")
        store.save(config, seed, result)  # False if another session stored it first: same seed, kept once
        done.add(seed)
        report(progress, len(done), len(wanted), f"seed {seed} finished")

    if missing:
        run_batch(config, missing, on_seed_done)
    rows = store.results(config, wanted)
    absent = sorted(set(wanted) - {row.seed for row in rows})
    if absent:
        raise RuntimeError(f"The trainer returned without results for seeds {absent}.")
    return rows
