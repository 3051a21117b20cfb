"""The transfer commands: `transfer` (B from scratch vs B on A over many seeds, --tune for a fair baseline) and
`reuse` (layers reused x unfrozen per training size), with their parsers."""

from __future__ import annotations

import argparse
import sys
import time

from core.cli.common import (
    add_command,
    add_tune_arguments,
    chunk_size,
    parse_pair,
    say_cluster,
    store_with_data,
    use_ray,
)


def cmd_transfer(args: argparse.Namespace) -> int:
    """B from scratch vs B on A over many seeds, filling the results store the page reads."""
    use_ray(args.ray)
    from core import cluster, data, stats, transfer
    from core.progress import terminal_progress
    from core.runs import tuning
    from core.transfer import fair

    try:
        protocol = transfer.get_protocol(args.protocol, args.pair)
        seeds = transfer.seed_list(args.seeds)
        for pair in args.pairs or ():
            data.check_class_pair(pair)
        results = store_with_data()
    except (ValueError, data.DataError) as error:  # StoreError is a ValueError too
        print(f"error: {error}", file=sys.stderr)
        return 2
    config = transfer.ComparisonConfig(protocol, vary_subset=not args.fixed_subset, vary_a=args.vary_a)
    pairs = list(transfer.ALL_PAIRS) if args.all_pairs else list(args.pairs or [protocol.b_classes])
    rates = args.tune_grid or (tuning.DEFAULT_RATES if args.tune else None)
    if rates is not None and cluster.address():
        print(f"error: --tune: {fair.LOCAL_ONLY}; unset LAB_RAY_ADDRESS (or leave out --ray) to run it here.",
              file=sys.stderr)
        return 2
    tuned = None if rates is None else fair.FairComparison(config, rates)
    print(f"protocol {protocol.name}, {len(seeds)} seeds; {(tuned or config).describe()}")
    print(f"results store: {results.path}")
    if tuned is not None:
        return _transfer_tuned(tuned, pairs, seeds, results, args.chunk)
    if cluster.address():  # every pair's units on the Ray cluster at once
        return _transfer_on_cluster(config, pairs, seeds, results, args.chunk)
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


def _transfer_tuned(config, pairs, seeds, results, chunk: int) -> int:
    """`transfer --tune`: every arm searches the same grid (core.transfer.fair, on this machine); per pair, the
    book's untuned arms from the same runs first, then the rates picked, and last the tuned arms' statistics."""
    from core import data
    from core.progress import terminal_progress
    from core.transfer import fair

    started = time.perf_counter()
    several = len(pairs) > 1
    try:
        if several:  # every pair's model A first, stacked across pairs, then each pair's searches
            fair.run_fair_pairs(config, seeds, results, pairs, terminal_progress(), chunk_size=chunk)
        for pair in pairs:
            pair_config = config.with_pair(pair)
            rows = fair.run_fair(pair_config, seeds, results, None if several else terminal_progress(),
                                 chunk_size=chunk)
            negative, positive = pair
            print(f"\ntask B: {data.CLASS_NAMES[positive]} ({positive}) vs {data.CLASS_NAMES[negative]} ({negative}); "
                  f"{time.perf_counter() - started:.1f} s")
            print("\n".join(fair.summary_lines(fair.summarize_fair(pair_config, rows))))
    except KeyboardInterrupt:
        print("\ninterrupted: the finished seeds are stored; run the same command to resume.", file=sys.stderr)
        return 130
    return 0


def _transfer_on_cluster(config, pairs, seeds, results, chunk: int) -> int:
    """Every pair's units submitted at once to the Ray cluster, one bar over all of them, then each pair's verdict."""
    from core import data, stats, transfer
    from core.progress import terminal_progress
    from core.transfer import units

    if not say_cluster():
        return 2
    configs = [config.with_pair(pair) for pair in pairs]
    started = time.perf_counter()
    try:
        all_rows = units.run_chunks(transfer.comparison_unit, [(pair_config, seeds) for pair_config in configs],
                                    results, terminal_progress(), chunk_size=chunk)
    except KeyboardInterrupt:
        print("\ninterrupted: finished units are stored; run the same command to resume.", file=sys.stderr)
        return 130
    except RuntimeError as error:  # units that failed after their retries; the rest is stored
        print(f"\nerror: {error}", file=sys.stderr)
        return 1
    print(f"{len(configs)} pair(s), {len(seeds)} seeds each: {time.perf_counter() - started:.1f} s")
    for pair_config, rows in zip(configs, all_rows):
        negative, positive = pair_config.protocol.b_classes
        print(f"\ntask B: {data.CLASS_NAMES[positive]} ({positive}) vs {data.CLASS_NAMES[negative]} ({negative})")
        print("\n".join(stats.summary_lines(transfer.summarize_rows(rows, scope=pair_config.verdict_scope()))))
    return 0


def parse_sizes(text: str) -> tuple[int, ...]:
    """`50,200,1000` -> (50, 200, 1000): task-B training sizes."""
    parts = [part.strip().replace("_", "") for part in text.split(",")]
    if not parts or not all(part.isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"expected whole numbers like 50,200,1000, got {text!r}")
    return tuple(int(part) for part in parts)


def cmd_reuse(args: argparse.Namespace) -> int:
    """The reuse explorer's grid (layers reused x unfrozen x rate, per training size) against B from scratch; with
    a Ray cluster, one unit per size and chunk of seeds, all submitted at once (core.reuse.run_grid routes)."""
    use_ray(args.ray)
    from core import cluster, data, reuse, transfer
    from core.progress import terminal_progress

    try:
        protocol = transfer.get_protocol(args.protocol, args.pair)
        seeds = reuse.seed_list(args.seeds)
        sizes = reuse.sizes_for(protocol, args.sizes)
        reductions = reuse.check_reductions(args.rate_reduction)
        results = store_with_data()
    except (ValueError, data.DataError) as error:  # StoreError is a ValueError too
        print(f"error: {error}", file=sys.stderr)
        return 2
    negative, positive = protocol.b_classes
    print(f"protocol {protocol.name}, task B: {data.CLASS_NAMES[positive]} vs {data.CLASS_NAMES[negative]}; sizes "
          f"{', '.join(f'{size:,}' for size in sizes)}; {len(seeds)} seeds; unfrozen rate {protocol.frozen_rate:g} "
          f"or {' or '.join(f'{protocol.frozen_rate / reduction:g}' for reduction in reductions)}; B from scratch at "
          f"{', '.join(f'{rate:g}' for rate in reuse.ReuseGrid(protocol, sizes[0], reductions).scratch_grid)}, "
          "tuned per seed on validation")
    print(f"results store: {results.path}")
    if cluster.address() and not say_cluster():
        return 2
    started = time.perf_counter()
    try:
        reuse.run_grid(protocol, sizes, seeds, results, terminal_progress(), rate_reductions=reductions,
                       chunk_size=args.chunk)
    except KeyboardInterrupt:
        print("\ninterrupted: the finished seeds are stored; run the same command to resume.", file=sys.stderr)
        return 130
    except RuntimeError as error:  # cluster units that failed after their retries; the rest is stored
        print(f"\nerror: {error}", file=sys.stderr)
        return 1
    print(f"\n{time.perf_counter() - started:.1f} s")
    summary = reuse.summarize_grid(protocol, sizes, seeds, results, rate_reductions=reductions)
    print("\n".join(reuse.summary_lines(summary)))
    if args.csv:
        with open(args.csv, "w", encoding="utf-8") as file:
            file.write(reuse.grid_csv(protocol, sizes, results, rate_reductions=reductions))
        print(f"rows written to {args.csv}")
    return 0


def add_reuse_parser(commands) -> None:
    reuse = add_command(commands, "reuse", cmd_reuse,
                        help="how many layers to reuse and unfreeze, per training size (fills the results store)")
    reuse.add_argument("--protocol", default="book", help="book, book_comment, notebook, ml3 or tiny (default: book)")
    reuse.add_argument("--pair", type=parse_pair, default=None,
                       help="task B's classes as negative,positive (default: the protocol's, 5,6 for the book)")
    reuse.add_argument("--sizes", type=parse_sizes, default=(50, 200, 1000, 5000),
                       help="task-B training sizes (default 50,200,1000,5000)")
    reuse.add_argument("--seeds", type=int, default=10, help="number of seeds, 3 to 100 (default 10)")
    reuse.add_argument("--rate-reduction", default="10,100",
                       help="the lower rates after unfreezing: the frozen phase's divided by each, comma-separated "
                            "(default 10,100: 10x lower and the book's 100x); every cell also runs at the same rate")
    reuse.add_argument("--chunk", type=chunk_size, default=10, help="seeds trained per engine call (default 10)")
    reuse.add_argument("--csv", default=None, help="also write every stored row of the grid to this CSV file")
    reuse.add_argument("--ray", metavar="ADDRESS", default=None,
                       help="train on a Ray cluster (auto, ray://head:10001, host:6379), one unit per size and chunk "
                            "of seeds; the same as LAB_RAY_ADDRESS; the results store stays on this machine")


def add_transfer_parser(commands) -> None:
    transfer = add_command(commands, "transfer", cmd_transfer,
                           help="transfer learning over many seeds (fills the results store)")
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
    transfer.add_argument("--chunk", type=chunk_size, default=10, help="seeds trained per engine call (default 10)")
    transfer.add_argument("--ray", metavar="ADDRESS", default=None,
                          help="train on a Ray cluster (auto, ray://head:10001, host:6379); the same as "
                               "LAB_RAY_ADDRESS; the results store stays on this machine")
    add_tune_arguments(transfer,
                       tune_help="a fair baseline: every arm searches the same learning rates, picked per seed on "
                                 "validation (B on A: its frozen rate, the unfrozen one scaled with it); prints the "
                                 "book's untuned arms from the same runs first; on this machine only",
                       grid_help="the rates --tune searches, e.g. 0.001,0.003,0.01,0.03 (the default); implies --tune")

