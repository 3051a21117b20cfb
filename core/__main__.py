"""Command line: `python -m core <command> ...`, the lab's experiments without a browser."""

from __future__ import annotations

import argparse
import sys


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("data", help="check the Fashion-MNIST data").set_defaults(run=cmd_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
