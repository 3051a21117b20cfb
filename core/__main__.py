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
        for pair in args.pairs or ():
            data.check_class_pair(pair)
        results = store.Store()
        data.load_fashion_mnist()
    except (ValueError, data.DataError) as error:  # StoreError is a ValueError too
        print(f"error: {error}", file=sys.stderr)
        return 2
    config = transfer.ComparisonConfig(protocol, vary_subset=not args.fixed_subset, vary_a=args.vary_a)
    pairs = list(transfer.ALL_PAIRS) if args.all_pairs else list(args.pairs or [protocol.b_classes])
    print(f"protocol {protocol.name}, {len(seeds)} seeds; {config.describe()}")
    print(f"results store: {results.path}")
    started = time.perf_counter()
    several = len(pairs) > 1
    try:
        if several:  # every pair's model A first, stacked across pairs, then each pair's B runs
            transfer.run_pairs(config, seeds, results, pairs, terminal_progress(), chunk_size=args.chunk)
        for pair in pairs:
            rows = transfer.run_comparison(config.with_pair(pair), seeds, results,  # several: reads stored rows
                                           None if several else terminal_progress(), chunk_size=args.chunk)
            negative, positive = pair
            print(f"\ntask B: {data.CLASS_NAMES[positive]} ({positive}) vs {data.CLASS_NAMES[negative]} ({negative}); "
                  f"{time.perf_counter() - started:.1f} s")
            print("\n".join(stats.summary_lines(transfer.summarize_rows(
                rows, scope=config.with_pair(pair).verdict_scope()))))
    except KeyboardInterrupt:
        print("\ninterrupted: the finished seeds are stored; run the same command to resume.", file=sys.stderr)
        return 130
    return 0


def parse_sizes(text: str) -> tuple[int, ...]:
    """`50,200,1000` -> (50, 200, 1000): task-B training sizes."""
    parts = [part.strip().replace("_", "") for part in text.split(",")]
    if not parts or not all(part.isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"expected whole numbers like 50,200,1000, got {text!r}")
    return tuple(int(part) for part in parts)


def cmd_reuse(args: argparse.Namespace) -> int:
    """The reuse explorer's grid (layers reused x unfrozen x rate, per training size) against B from scratch."""
    from core import data, reuse, store, transfer
    from core.progress import terminal_progress

    try:
        protocol = transfer.get_protocol(args.protocol, args.pair)
        seeds = reuse.seed_list(args.seeds)
        sizes = reuse.sizes_for(protocol, args.sizes)
        reuse.ReuseGrid(protocol, sizes[0], args.rate_reduction)  # checks the reduction
        if args.chunk < 1:
            raise ValueError(f"--chunk must be at least 1 seed, got {args.chunk}.")
        results = store.Store()
        data.load_fashion_mnist()
    except (ValueError, data.DataError) as error:  # StoreError is a ValueError too
        print(f"error: {error}", file=sys.stderr)
        return 2
    negative, positive = protocol.b_classes
    print(f"protocol {protocol.name}, task B: {data.CLASS_NAMES[positive]} vs {data.CLASS_NAMES[negative]}; sizes "
          f"{', '.join(f'{size:,}' for size in sizes)}; {len(seeds)} seeds; unfrozen rate {protocol.frozen_rate:g} "
          f"or {protocol.frozen_rate / args.rate_reduction:g}")
    print(f"results store: {results.path}")
    started = time.perf_counter()
    try:
        reuse.run_grid(protocol, sizes, seeds, results, terminal_progress(), rate_reduction=args.rate_reduction,
                       chunk_size=args.chunk)
    except KeyboardInterrupt:
        print("\ninterrupted: the finished seeds are stored; run the same command to resume.", file=sys.stderr)
        return 130
    print(f"\n{time.perf_counter() - started:.1f} s")
    summary = reuse.summarize_grid(protocol, sizes, seeds, results, rate_reduction=args.rate_reduction)
    print("\n".join(reuse.summary_lines(summary)))
    if args.csv:
        with open(args.csv, "w", encoding="utf-8") as file:
            file.write(reuse.grid_csv(protocol, sizes, results, rate_reduction=args.rate_reduction))
        print(f"rows written to {args.csv}")
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
    transfer.add_argument("--pairs", type=parse_pair, nargs="+", default=None, metavar="PAIR",
                          help="several task-B pairs, e.g. --pairs 0,1 5,6 (their model As train together)")
    transfer.add_argument("--chunk", type=int, default=10, help="seeds trained per engine call (default 10)")
    transfer.set_defaults(run=cmd_transfer)
    reuse = commands.add_parser("reuse", help="how many layers to reuse and unfreeze, per training size (fills the "
                                              "results store)")
    reuse.add_argument("--protocol", default="book", help="book, book_comment, notebook, ml3 or tiny (default: book)")
    reuse.add_argument("--pair", type=parse_pair, default=None,
                       help="task B's classes as negative,positive (default: the protocol's, 5,6 for the book)")
    reuse.add_argument("--sizes", type=parse_sizes, default=(50, 200, 1000, 5000),
                       help="task-B training sizes (default 50,200,1000,5000)")
    reuse.add_argument("--seeds", type=int, default=10, help="number of seeds, 3 to 100 (default 10)")
    reuse.add_argument("--rate-reduction", type=float, default=10.0,
                       help="the lower rate after unfreezing is the frozen phase's divided by this (default 10)")
    reuse.add_argument("--chunk", type=int, default=10, help="seeds trained per engine call (default 10)")
    reuse.add_argument("--csv", default=None, help="also write every stored row of the grid to this CSV file")
    reuse.set_defaults(run=cmd_reuse)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
