"""The pretraining commands: `auxiliary` (every pretraining source vs scratch with few labels) and `pretrain`
(unsupervised pretraining vs scratch), with their parsers."""

from __future__ import annotations

import argparse
import sys
import time

from core.auxiliary import Reuse
from core.auxiliary import tuned as auxiliary_tuned
from core.cli.common import add_command, add_tune_arguments, chunk_size, parse_list, parse_pair, store_with_data
from core.pretraining import tuned as pretraining_tuned
from core.runs import tuning


def cmd_auxiliary(args: argparse.Namespace) -> int:
    """Every pretraining source (supervised, autoencoder, same/different, masked) vs scratch with few labels; with
    --tune, every arm searches one grid of Nadam rates, each seed's rate picked on validation."""
    from core import auxiliary, data
    from core.auxiliary import table, tuned
    from core.progress import terminal_progress

    try:
        seeds = auxiliary.seed_list(args.seeds)
        if not args.labels:
            raise ValueError("Give at least one label count.")
        common = auxiliary.Common.tiny(args.pair) if args.tiny else auxiliary.Common(args.pair)
        base = (auxiliary.Reuse.tiny(common=common, patch=args.patch) if args.tiny else
                auxiliary.Reuse(common, patch=args.patch))
        if args.tune or args.tune_grid:
            base = tuned.TunedReuse(base, args.tune_grid or tuned.RATES)
        configs = [base.with_labels(n_labels) for n_labels in args.labels]  # checks every count before training
        results = store_with_data()
    except (ValueError, data.DataError) as error:  # StoreError is a ValueError too
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{len(seeds)} seeds; results store: {results.path}")
    started = time.perf_counter()
    counts = [config.n_labels for config in configs]
    try:
        if isinstance(base, tuned.TunedReuse):
            grid = tuned.run_tuned_grid(base, counts, seeds, results, terminal_progress(), chunk_size=args.chunk)
        else:
            grid = auxiliary.run_grid(base, counts, seeds, results, terminal_progress(), chunk_size=args.chunk)
    except KeyboardInterrupt:
        print("\ninterrupted: finished seeds are stored; run the same command to resume.", file=sys.stderr)
        return 130
    print(f"{time.perf_counter() - started:.1f} s")
    searches = None
    if isinstance(base, tuned.TunedReuse):
        searches = {config.n_labels: tuned.load_searches(config, seeds, results) for config in configs}
    print("\n".join(table.table_lines(grid, searches)))
    for n_labels, found in (searches or {}).items():
        print(f"\n{n_labels} labels: " + "\n".join(tuned.picked_lines(found)))
    return 0


def cmd_pretrain(args: argparse.Namespace) -> int:
    """Unsupervised pretraining vs training from scratch, paired by seed, filling the results store the page reads;
    with --tune, every arm searches one rate grid, each seed's rate picked on validation."""
    from core import data, pretraining
    from core.pretraining import tables, tuned
    from core.progress import terminal_progress
    from core.runs import tuning

    try:
        seeds = pretraining.seed_list(args.seeds)
        grid = tuning.parse_rates(args.tune_grid) if args.tune_grid else ()
        if grid and not args.tune:
            raise ValueError("--tune-grid needs --tune.")
        configs = []
        for regime in args.regime:
            for n_labels in args.labels:
                config = (pretraining.FineTuning.tiny(regime, n_labels) if args.tiny else
                          pretraining.FineTuning.preset(regime, n_labels))
                configs.append((regime, n_labels, tuned.TunedFineTuning(config, grid) if args.tune else config))
        if not configs:
            raise ValueError("Give at least one regime and one label count.")
        results = store_with_data()
    except (ValueError, data.DataError) as error:  # StoreError is a ValueError too
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{len(seeds)} seeds; results store: {results.path}")
    found = {}
    for regime, n_labels, config in configs:
        started = time.perf_counter()
        print(f"\n{regime} regime{' (tiny)' if args.tiny else ''}: {config.pretraining.describe()}")
        try:
            if args.tune:
                found[(regime, n_labels)] = tuned.fine_tune(config, seeds, results, terminal_progress(),
                                                            chunk_copies=args.chunk)
            else:
                comparison = pretraining.fine_tune(config, seeds, results, terminal_progress(), chunk_size=args.chunk)
        except KeyboardInterrupt:
            done = len(results.finished_seeds(config) & set(seeds))
            print(f"\ninterrupted: {done} finished seeds of this comparison are stored; run the same command to "
                  f"resume.", file=sys.stderr)
            return 130
        print(f"{time.perf_counter() - started:.1f} s")
        print("\n".join(tables.tuned_table_lines(found[(regime, n_labels)]) if args.tune else
                        tables.table_lines(comparison)))
    if args.tune and len(seeds) >= 2:
        print("\nWhat tuning every arm does to fine-tune all's gain over scratch:")
        for (regime, n_labels), each in found.items():
            print(f"- {regime}, {n_labels} labels: {tables.survival_sentence(each)}")
    return 0


def add_auxiliary_parser(commands) -> None:
    auxiliary = add_command(commands, "auxiliary", cmd_auxiliary,
                            help="pretraining on an auxiliary task (same/different pairs, masked images) vs every "
                                 "other source, few labels, many seeds")
    auxiliary.add_argument("--pair", type=parse_pair, default=(0, 2),
                           help="the target task's classes (default 0,2: T-shirt/top vs pullover)")
    auxiliary.add_argument("--labels", type=parse_list(int), default=(50, 200, 1000),
                           help="labelled target images per seed, half per class (default 50,200,1000)")
    auxiliary.add_argument("--patch", type=int, default=14, help="the masked source's patch side, pixels (default 14)")
    add_seed_arguments(auxiliary, chunk_help="seeds trained together (default 10); with --tune, seeds x candidate "
                                             "rates per arm")
    add_tune_arguments(auxiliary,
                       tune_help="every arm (scratch, each source x mode) searches the same grid of Nadam rates, each "
                                 "seed's rate picked on the target pair's validation images (default: the book's "
                                 f"untuned protocol, every arm at {Reuse().learning_rate:g})",
                       grid_help=f"the rates --tune searches (default {typed(auxiliary_tuned.RATES)}); implies --tune")


def add_pretrain_parser(commands) -> None:
    pretrain = add_command(commands, "pretrain", cmd_pretrain,
                           help="unsupervised pretraining with few labels, many seeds (fills the results store)")
    pretrain.add_argument("--regime", type=parse_list(str), default=("book",),
                          help="book (784-100-30 autoencoder, Nadam), today or 2006 (3 x 256, relu + Nadam vs "
                               "sigmoid + SGD 0.1); a comma-separated list runs each (default: book)")
    pretrain.add_argument("--labels", type=parse_list(int), default=(100,),
                          help="labelled images per seed, balanced, e.g. 100,500,1000,5000 (default 100)")
    add_seed_arguments(pretrain, chunk_help="seeds trained together (default 10); with --tune, seeds x candidate rates")
    add_tune_arguments(pretrain, checked_grid=False,
                       tune_help="every arm searches one learning-rate grid, each seed's rate picked on validation "
                                 f"(Nadam: {typed(pretraining_tuned.default_grid('nadam'))}; plain SGD, 2006: "
                                 f"{typed(pretraining_tuned.default_grid('sgd'))})",
                       grid_help="with --tune: one grid for every regime instead, e.g. "
                                 f"{typed(pretraining_tuned.default_grid('sgd'))} (it must hold each regime's own "
                                 "rate)")


def typed(rates) -> str:
    """A grid as --tune-grid takes it: "0.001,0.003,0.01"."""
    return tuning.rates_text(rates).replace(" ", "")


def add_seed_arguments(parser, *, chunk_help: str) -> None:
    """`--seeds`, `--tiny` and `--chunk`, as the auxiliary and pretrain commands take them."""
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds, 1 to 200 (default 10)")
    parser.add_argument("--tiny", action="store_true", help="the tiny preset used by tests (seconds, not minutes)")
    parser.add_argument("--chunk", type=chunk_size, default=10, help=chunk_help)
