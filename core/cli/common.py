"""What every command of the command line shares: argument types, the --tune options, the results store opened
after the data, and the Ray cluster switch."""

from __future__ import annotations

import argparse
import sys


def store_with_data():
    """The results store, opened after the data has loaded: a damaged store (StoreError, a ValueError) or missing
    data (DataError) stops a command before anything trains."""
    from core import data, store

    data.load_fashion_mnist()
    return store.Store()


def chunk_size(text: str) -> int:
    """`--chunk`: seeds trained together per engine call, at least 1."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"--chunk must be a whole number of seeds, at least 1; got {text!r}")
    return int(text)


def parse_pair(text: str) -> tuple[int, int]:
    """`5,6` -> (5, 6): task B's (negative, positive) classes."""
    parts = text.split(",")
    if len(parts) != 2 or not all(part.strip().lstrip("-").isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"expected two class numbers like 5,6, got {text!r}")
    return int(parts[0]), int(parts[1])


def parse_list(kind):
    """`100,500` -> (100, 500): a comma-separated list of `kind` values."""

    def parse(text: str) -> tuple:
        try:
            return tuple(kind(part.strip()) for part in text.split(",") if part.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list like 100,1000, got {text!r}") from None

    return parse


def tune_grid(text: str) -> tuple[float, ...]:
    """`--tune-grid 0.001,0.01,0.1`: the learning rates every arm searches (implies --tune)."""
    from core.runs import tuning

    try:
        return tuning.parse_rates(text)
    except ValueError as error:  # argparse would print only "invalid value"
        raise argparse.ArgumentTypeError(str(error)) from None


def add_command(commands, name: str, run, *, help: str) -> argparse.ArgumentParser:
    """A command's parser under `commands` (argparse's subparsers), set to call `run(args)`."""
    parser = commands.add_parser(name, help=help)
    parser.set_defaults(run=run)
    return parser


def add_tune_arguments(parser: argparse.ArgumentParser, *, tune_help: str, grid_help: str,
                       checked_grid: bool = True) -> None:
    """`--tune` and `--tune-grid RATES` on a command's parser; with `checked_grid` False, the grid stays text (the
    command parses it and checks it against --tune)."""
    parser.add_argument("--tune", action="store_true", help=tune_help)
    if checked_grid:
        parser.add_argument("--tune-grid", type=tune_grid, default=None, metavar="RATES", help=grid_help)
    else:
        parser.add_argument("--tune-grid", default="", help=grid_help)


def use_ray(address) -> None:
    """`--ray ADDRESS`: the same as LAB_RAY_ADDRESS, set before anything reads it (core.runs.backend takes the
    address from the environment, so the runner sends the units to the cluster)."""
    import os

    if address:
        os.environ["LAB_RAY_ADDRESS"] = address


def say_cluster() -> bool:
    """Print the Ray cluster's nodes and CPUs; False (the reason said on stderr) when it cannot be reached."""
    from core import cluster

    try:
        nodes = cluster.nodes_with_cpus()
    except (ConnectionError, RuntimeError, ValueError) as error:
        print(f"error: cannot use the Ray cluster at {cluster.address()}: {error}", file=sys.stderr)
        return False
    print(f"Ray cluster at {cluster.address()}: {len(nodes)} nodes, "
          f"{sum(node['cpus'] for node in nodes):g} CPUs, {cluster.cpus_per_unit():g} per unit")
    return True
