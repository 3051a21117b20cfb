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


def tune_grid(text: str) -> tuple[float, ...]:
    """`--tune-grid 0.001,0.01,0.1`: the learning rates every arm searches (implies --tune)."""
    from core.runs import tuning

    try:
        return tuning.parse_rates(text)
    except ValueError as error:  # argparse would print only "invalid value"
        raise argparse.ArgumentTypeError(str(error)) from None


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


def parse_list(kind):
    """`100,500` -> (100, 500): a comma-separated list of `kind` values."""

    def parse(text: str) -> tuple:
        try:
            return tuple(kind(part.strip()) for part in text.split(",") if part.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list like 100,1000, got {text!r}") from None

    return parse


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
        print("\nHow much of fine-tune all's gain survives a tuned scratch net:")
        for (regime, n_labels), each in found.items():
            print(f"- {regime}, {n_labels} labels: {tables.survival_sentence(each)}")
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
    transfer.add_argument("--chunk", type=chunk_size, default=10, help="seeds trained per engine call (default 10)")
    transfer.add_argument("--ray", metavar="ADDRESS", default=None,
                          help="train on a Ray cluster (auto, ray://head:10001, host:6379); the same as "
                               "LAB_RAY_ADDRESS; the results store stays on this machine")
    transfer.add_argument("--tune", action="store_true",
                          help="a fair baseline: every arm searches the same learning rates, picked per seed on "
                               "validation (B on A: its frozen rate, the unfrozen one scaled with it); prints the "
                               "book's untuned arms from the same runs first; on this machine only")
    transfer.add_argument("--tune-grid", type=tune_grid, default=None, metavar="RATES",
                          help="the rates --tune searches, e.g. 0.001,0.003,0.01,0.03 (the default); implies --tune")
    transfer.set_defaults(run=cmd_transfer)
    auxiliary = commands.add_parser("auxiliary", help="pretraining on an auxiliary task (same/different pairs, "
                                                      "masked images) vs every other source, few labels, many seeds")
    auxiliary.add_argument("--pair", type=parse_pair, default=(0, 2),
                           help="the target task's classes (default 0,2: T-shirt/top vs pullover)")
    auxiliary.add_argument("--labels", type=parse_list(int), default=(50, 200, 1000),
                           help="labelled target images per seed, half per class (default 50,200,1000)")
    auxiliary.add_argument("--patch", type=int, default=14, help="the masked source's patch side, pixels (default 14)")
    auxiliary.add_argument("--seeds", type=int, default=10, help="number of seeds, 1 to 200 (default 10)")
    auxiliary.add_argument("--tiny", action="store_true", help="the tiny preset used by tests (seconds, not minutes)")
    auxiliary.add_argument("--chunk", type=chunk_size, default=10,
                           help="seeds trained together (default 10); with --tune, seeds x candidate rates per arm")
    auxiliary.add_argument("--tune", action="store_true",
                           help="every arm (scratch, each source x mode) searches the same grid of Nadam rates, each "
                                "seed's rate picked on the target pair's validation images (default: the book's "
                                "untuned protocol, every arm at 1e-3)")
    auxiliary.add_argument("--tune-grid", type=tune_grid, default=None, metavar="RATES",
                           help="the rates --tune searches (default 0.0003,0.001,0.003,0.01); implies --tune")
    auxiliary.set_defaults(run=cmd_auxiliary)
    results = commands.add_parser("results", help="move finished runs between results stores (warm start)")
    results.add_argument("action", choices=("export", "import"),
                         help="export: write this store's runs and models to FILE; import: add FILE's to this store")
    results.add_argument("file", help="the export file (a zip archive with a checked manifest)")
    results.set_defaults(run=cmd_results)
    classroom = commands.add_parser("classroom", help="serve the lab to a class on every interface (make classroom)")
    classroom.add_argument("--port", type=int, default=8502,
                           help="port students connect to (default 8502; `make run` uses 8501)")
    classroom.add_argument("--dry-run", action="store_true", help="print the address and the command, start nothing")
    classroom.set_defaults(run=cmd_classroom)
    pretrain = commands.add_parser("pretrain", help="unsupervised pretraining with few labels, many seeds "
                                                    "(fills the results store)")
    pretrain.add_argument("--regime", type=parse_list(str), default=("book",),
                          help="book (784-100-30 autoencoder, Nadam), today or 2006 (3 x 256, relu + Nadam vs "
                               "sigmoid + SGD 0.1); a comma-separated list runs each (default: book)")
    pretrain.add_argument("--labels", type=parse_list(int), default=(100,),
                          help="labelled images per seed, balanced, e.g. 100,500,1000,5000 (default 100)")
    pretrain.add_argument("--seeds", type=int, default=10, help="number of seeds, 1 to 200 (default 10)")
    pretrain.add_argument("--tiny", action="store_true", help="the tiny preset used by tests (seconds, not minutes)")
    pretrain.add_argument("--chunk", type=chunk_size, default=10,
                          help="seeds trained together (default 10); with --tune, seeds x candidate rates")
    pretrain.add_argument("--tune", action="store_true",
                          help="every arm searches one learning-rate grid, each seed's rate picked on validation "
                               "(Nadam: 0.0003,0.001,0.003,0.01; plain SGD, 2006: 0.03,0.1,0.3,1)")
    pretrain.add_argument("--tune-grid", default="",
                          help="with --tune: one grid for every regime instead, e.g. 0.03,0.1,0.3,1 (it must hold "
                               "each regime's own rate)")
    pretrain.set_defaults(run=cmd_pretrain)
    reuse = commands.add_parser("reuse", help="how many layers to reuse and unfreeze, per training size (fills the "
                                              "results store)")
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
    reuse.set_defaults(run=cmd_reuse)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
