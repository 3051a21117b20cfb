"""The lab's housekeeping commands: `data` (is Fashion-MNIST there), `results` (export or import the results
store) and `classroom` (serve the lab to a class), with their parsers."""

from __future__ import annotations

import argparse
import sys

from core.cli.common import add_command


def cmd_data(args: argparse.Namespace) -> int:
    """Say where Fashion-MNIST was found and what it holds, or why it could not be loaded."""
    from core import data

    try:
        loaded = data.load_fashion_mnist()
    except data.DataError as error:
        print(error, file=sys.stderr)
        return 1
    splits = data.book_splits(loaded)
    (x_a, _), (x_b, _) = data.split_task_a_b(splits.x_train, splits.y_train)
    print(f"source: {loaded.source}")
    print(f"train {loaded.x_train.shape}, test {loaded.x_test.shape}")
    print(f"book splits: train {len(splits.x_train)}, valid {len(splits.x_valid)}, test {len(splits.x_test)}")
    print(f"task A (8 classes) train: {len(x_a)}; task B (sandal vs shirt) train: {len(x_b)}")
    return 0


def cmd_results(args: argparse.Namespace) -> int:
    """Export the results store to one file, or import such a file (warm start: runs computed elsewhere)."""
    from core import store, store_archive

    try:
        results = store.Store()
        if args.action == "export":
            summary = store_archive.export_store(results, args.file)
            kinds = ", ".join(f"{kind} {count}" for kind, count in summary.kinds.items()) or "none"
            print(f"exported {summary.rows} runs ({kinds}) and {summary.models} model files from {results.path} "
                  f"to {args.file}")
        else:
            summary = store_archive.import_archive(results, args.file)
            print(f"imported {args.file} into {results.path}: {summary.rows_added} new runs, {summary.rows_present} "
                  f"already present (kept as they were); {summary.models_added} model files added, "
                  f"{summary.models_present} already present")
    except store_archive.ArchiveError as error:
        print(f"error: {error} Nothing was changed.", file=sys.stderr)
        return 2
    except ValueError as error:  # StoreError: the local database cannot be used
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def cmd_classroom(args: argparse.Namespace) -> int:
    """Serve the lab to a class: print the address students open, then run the server with shared-server settings."""
    import os

    from core import classroom

    try:
        command = classroom.server_command(args.port)
        classroom.cost_limit()  # a bad LAB_COST_LIMIT is said now, not at the first press
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Students open: {classroom.student_url(args.port)}")
    if classroom.locking_enabled():
        print(f"Teacher's key set: runs above {classroom.cost_limit():.2g} image-epoch-parameters need it "
              "(type it in the sidebar's Teacher panel).")
    else:
        print("No LAB_TEACHER_KEY: every run is open to every student.")
    if args.dry_run:
        print(" ".join(command))
        return 0
    sys.stdout.flush()
    os.chdir(classroom.ROOT)  # the project's .streamlit/config.toml applies
    os.execv(command[0], command)
    return 0  # not reached: the server replaced this process


def add_data_parser(commands) -> None:
    add_command(commands, "data", cmd_data, help="check the Fashion-MNIST data")


def add_results_parser(commands) -> None:
    results = add_command(commands, "results", cmd_results,
                          help="move finished runs between results stores (warm start)")
    results.add_argument("action", choices=("export", "import"),
                         help="export: write this store's runs and models to FILE; import: add FILE's to this store")
    results.add_argument("file", help="the export file (a zip archive with a checked manifest)")


def add_classroom_parser(commands) -> None:
    classroom = add_command(commands, "classroom", cmd_classroom,
                            help="serve the lab to a class on every interface (make classroom)")
    classroom.add_argument("--port", type=int, default=8502,
                           help="port students connect to (default 8502; `make run` uses 8501)")
    classroom.add_argument("--dry-run", action="store_true", help="print the address and the command, start nothing")
