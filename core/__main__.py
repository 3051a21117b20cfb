"""Command line: `python -m core <command> ...`, the lab's experiments without a browser."""

from __future__ import annotations

import argparse
import sys
import time


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


def parse_pair(text: str) -> tuple[int, int]:
    """`5,6` -> (5, 6): task B's (negative, positive) classes."""
    parts = text.split(",")
    if len(parts) != 2 or not all(part.strip().lstrip("-").isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"expected two class numbers like 5,6, got {text!r}")
    return int(parts[0]), int(parts[1])


def cmd_transfer(args: argparse.Namespace) -> int:
    """B from scratch vs B on A over many seeds, filling the results store the page reads."""
    from core import data, stats, store, transfer
    from core.progress import terminal_progress

    try:
        protocol = transfer.get_protocol(args.protocol, args.pair)
        seeds = transfer.seed_list(args.seeds)
        if args.chunk < 1:
            raise ValueError(f"--chunk must be at least 1 seed, got {args.chunk}.")
        results = store.Store()
        data.load_fashion_mnist()
    except (ValueError, data.DataError) as error:  # StoreError is a ValueError too
        print(f"error: {error}", file=sys.stderr)
        return 2
    config = transfer.ComparisonConfig(protocol, vary_subset=not args.fixed_subset, vary_a=args.vary_a)
    pairs = transfer.ALL_PAIRS if args.all_pairs else [protocol.b_classes]
    print(f"protocol {protocol.name}, {len(seeds)} seeds; {config.describe()}")
    print(f"results store: {results.path}")
    for pair in pairs:
        pair_config = config.with_pair(pair)
        started = time.perf_counter()
        try:
            rows = transfer.run_comparison(pair_config, seeds, results, terminal_progress(), chunk_size=args.chunk)
        except KeyboardInterrupt:
            done = len(results.finished_seeds(pair_config))
            print(f"\ninterrupted: {done} finished seeds of this pair are stored; run the same command to resume.",
                  file=sys.stderr)
            return 130
        seconds = time.perf_counter() - started
        negative, positive = pair
        print(f"\ntask B: {data.CLASS_NAMES[positive]} ({positive}) vs {data.CLASS_NAMES[negative]} ({negative}); "
              f"{seconds:.1f} s")
        print("\n".join(stats.summary_lines(transfer.summarize_rows(rows, scope=pair_config.verdict_scope()))))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("data", help="check the Fashion-MNIST data").set_defaults(run=cmd_data)
    transfer = commands.add_parser("transfer", help="transfer learning over many seeds (fills the results store)")
    transfer.add_argument("--protocol", default="book",
                          help="book, book_comment, notebook, ml3 or tiny (default: book)")
    transfer.add_argument("--pair", type=parse_pair, default=None,
                          help="task B's classes as negative,positive (default: the protocol's, 5,6 for the book)")
    transfer.add_argument("--seeds", type=int, default=20, help="number of seeds, 3 to 200 (default 20)")
    transfer.add_argument("--vary-a", action="store_true", help="train one model A per seed (default: one A, seed 42)")
    transfer.add_argument("--fixed-subset", action="store_true",
                          help="every seed uses the book's first task-B images (default: a random subset per seed)")
    transfer.add_argument("--all-pairs", action="store_true", help="run all 45 class pairs (ignores --pair)")
    transfer.add_argument("--chunk", type=int, default=10, help="seeds trained per engine call (default 10)")
    transfer.set_defaults(run=cmd_transfer)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
