"""Logic: core/transfer/ (the fair baseline: core/transfer/fair.py, drawn by ui/fair.py; statistics: core/stats.py,
results: core/store.py) · figures: core/plots/transfer.py · tests: tests/test_transfer.py,
tests/test_transfer_comparison.py, tests/test_transfer_fair.py, tests/test_page_transfer.py,
tests/test_browser_transfer.py. The reuse explorer (section 6): core/reuse/, drawn by ui/reuse_explorer.py, tests:
tests/test_reuse.py, tests/test_reuse_rules.py.

Transfer learning: the book's single run, then the same comparison over many seeds, told honestly. Every
training is a button press through core.jobs (ui.jobs.training_ui); finished runs land in the results
store, which every section reads.
"""

import dataclasses

import streamlit as st

from core import cost, transfer
from core.data import CLASS_NAMES
from core.plots import transfer as transfer_plots
from ui.callout import book_vs_keras_ui
from ui.charts import show
from ui.fair import fair_section
from ui.feedback import checked
from ui.frame import page_frame
from ui.jobs import training_ui
from ui.links import linked
from ui.presets import tiny_caption, tiny_mode
from ui.reuse_explorer import reuse_section
from ui.sidebar import fashion_mnist_or_stop, results_store_or_stop, store_downloads

page_frame(__file__)

PROTOCOL_LABELS = {
    "book": "book text: frozen phase optimizer=\"sgd\" (0.01), unfrozen at 1e-4",
    "notebook": "companion notebook: 1e-3 throughout",
    "ml3": "third edition: 3 x Dense(100, relu), 1e-3 throughout",
    "book_comment": "book text as its comment reads it: frozen at 1e-3 (a misread default), unfrozen at 1e-4",
}


# What every section uses: the protocol and the task-B pair, bound to the URL (plain names, so a shared link
# reads well), in one row at the top.
def protocol_ui() -> tuple[str, transfer.TransferProtocol]:
    left, middle, right = st.columns([2, 1.5, 1.5])
    name = linked(left.selectbox, "Protocol", key="tl_protocol", options=list(PROTOCOL_LABELS))
    negative = linked(middle.selectbox, "Task B: label 0", key="tl_negative", options=CLASS_NAMES, index=5)
    positive = linked(right.selectbox, "Task B: label 1", key="tl_positive", options=CLASS_NAMES, index=6)
    st.caption(f"**{name}**: {PROTOCOL_LABELS[name]}.")
    try:
        protocol = transfer.get_protocol(name, (CLASS_NAMES.index(negative), CLASS_NAMES.index(positive)))
    except ValueError as error:
        right.error(str(error), icon=":material/error:")
        st.stop()
    tiny_caption("a small net, few images and epochs")
    if tiny_mode():
        return name, transfer.ComparisonConfig.tiny(protocol.b_classes).protocol
    return name, protocol


# Section 2's settings: how many seeds and what they vary; returns the comparison's config and seeds. A number of
# seeds the lab will not use is said under its box, and the page stops there (nothing below can run with it).
def comparison_settings_ui(protocol):
    left, middle, right = st.columns([1, 1.5, 1.5])
    n_seeds = linked(left.number_input, f"Seeds ({transfer.MIN_SEEDS} to {transfer.MAX_SEEDS})", key="tl_seeds",
                     value=3 if tiny_mode() else 20, step=1)
    vary_subset = linked(middle.toggle, f"Each seed draws its own {protocol.n_b_train} task-B images",
                         key="tl_vary_subset", value=True)
    vary_a = linked(right.toggle, "Each seed trains its own model A", key="tl_vary_a", value=False)
    seeds = checked(n_seeds, transfer.seed_list, container=left)
    if seeds is None:
        st.stop()
    return transfer.ComparisonConfig(protocol, vary_subset=vary_subset, vary_a=vary_a), seeds


# Every paired statistic of the stored seeds, cached per set of accuracies (reruns redraw, they do not recompute).
@st.cache_data(show_spinner=False, max_entries=64)
def summary_of(scratch: tuple, transfer_acc: tuple, n_test: int, scope: str):
    from core import stats

    return stats.summarize(scratch, transfer_acc, n_test=n_test, scope=scope)


# The box's colour follows what the verdict claims: green only for a reliable gain, amber when it is
# tentative or mixed.
def verdict_ui(verdict) -> None:
    if verdict.kind == "reliable":
        box = st.success if verdict.direction > 0 else st.error
    else:
        box = st.warning if verdict.kind in ("tentative", "mixed") else st.info
    box(verdict.text)


# Each paired statistic with its interval, and what those intervals are worth at this many seeds.
def statistics_ui(summary) -> None:
    mean, iqm, share, wilcoxon = (summary.mean_difference, summary.interquartile_mean, summary.win_share,
                                  summary.wilcoxon)
    centre = st.columns(3)
    centre[0].metric("Mean difference (points)", f"{mean.value:+.2f}", help="B on A minus B from scratch, averaged")
    centre[0].caption(f"95% CI {mean.low:+.2f} to {mean.high:+.2f} (t-interval)")
    centre[1].metric("Median difference (points)", f"{summary.median_difference:+.2f}",
                     help="The typical seed: half the seeds gain more, half less")
    centre[2].metric("Interquartile mean (points)", f"{iqm.value:+.2f}", help="Mean of the middle half of the seeds")
    centre[2].caption(f"95% CI {iqm.low:+.2f} to {iqm.high:+.2f} (Yuen)")
    counts = st.columns(2)
    counts[0].metric("Share of seeds where B on A wins", f"{share.value:.0%}",
                     help="Seeds where B on A is strictly better, ties counted as not winning: the observed share "
                          "of these paired seeds, not rliable's probability of improvement")
    counts[0].caption(f"{summary.wins} of {summary.n_seeds} seeds; 95% CI {share.low:.0%} to {share.high:.0%} "
                      "for one more seed (exact, Clopper-Pearson)")
    p_text = "n/a" if wilcoxon.p_value is None else f"{wilcoxon.p_value:.3g}"
    counts[1].metric("Wins / ties / losses", f"{summary.wins} / {summary.ties} / {summary.losses}")
    reason = wilcoxon.reason[:1].upper() + wilcoxon.reason[1:]
    counts[1].caption(f"Wilcoxon signed-rank p = {p_text} (exact). {reason}")
    if summary.coverage_caveat:
        st.caption(summary.coverage_caveat)


# The heatmap's intervals are t-intervals of the mean too; say when they cover less than they claim.
def mean_interval_note(n_seeds: int) -> str:
    from core import stats

    return stats.coverage_caveat(n_seeds, ("mean",))


# 1. One run, as in the book: the single run's button, its numbers beside its curves, the equivalent Keras code.
@st.fragment
def single_run_section(protocol, results) -> None:
    pair = protocol.b_classes
    st.header("1. One run, as in the book")
    st.markdown(f"Task B: **{CLASS_NAMES[pair[1]]} (1) vs {CLASS_NAMES[pair[0]]} (0)**, the first "
                f"{protocol.n_b_train} training images, seed {transfer.BOOK_RUN_SEED}; model A trained once with "
                f"seed {transfer.MODEL_A_SEED} and kept on disk.")
    book = transfer.stored_book_run(protocol, results)
    training_ui("tl_book", transfer.job_key("book", transfer.book_run_config(protocol)),
                lambda progress: transfer.book_run(protocol, results, progress), label="Single run",
                button="Train the single run", offer=book is None, primary=True,
                cost=cost.transfer_comparison(transfer.book_run_config(protocol), [transfer.BOOK_RUN_SEED], results))
    if book is not None:
        numbers, curves = st.columns([1, 2.6], gap="medium")
        numbers.metric("Model A, task-A validation accuracy",
                       "not stored" if book.a_val_accuracy is None else f"{book.a_val_accuracy[-1]:.2%}")
        numbers.metric("B from scratch, test accuracy", f"{book.scratch_test_accuracy:.2%}")
        numbers.metric("B on A, test accuracy", f"{book.transfer_test_accuracy:.2%}",
                       delta=f"{100 * (book.transfer_test_accuracy - book.scratch_test_accuracy):+.2f} points")
        show(transfer_plots.transfer_learning_curves(book.a_val_accuracy, book.scratch_val_accuracy,
                                                     book.transfer_val_accuracy, protocol.frozen_epochs),
             key="tl_curves_chart", container=curves)
        st.caption("Trained by the lab's stacked-seed engine with one copy. It matches the Keras code below to "
                   "float32 precision in the tests, given the same initial weights and batch order; the engine "
                   "draws its own batch order per seed.")
    with st.expander("The Keras 3 code this run is equivalent to", icon=":material/code:"):
        st.code(transfer.keras_code(protocol), language="python", wrap_lines=True)


# 1, continued: the sharing pitfall, trained on demand; its result comes back through the job. The demo's own
# unfreezing rate defaults to 0.01: at the protocols' 1e-4 B barely moves the shared layers and the damage to A is
# too small to see (measured at full size, book protocol, seed 42: A's task-A validation accuracy 91.78% -> 91.70%,
# its hidden weights moved by 0.014; at 1e-3 -> 90.63%, 0.108; at 0.01 -> 89.06%, 0.197).
@st.fragment
def pitfall_section(protocol, results) -> None:
    st.subheader("The sharing pitfall")
    st.markdown("Building B on A from A's own layer objects means that training B trains A too: the model A you "
                "saved is no longer the one you have. `clone_model` copies only the architecture, so the weights "
                "must be copied with `set_weights`. The demo trains B on A both ways, then measures A on task A.")
    rates = sorted({0.01, 0.001, protocol.unfrozen_learning_rate}, reverse=True)
    choice, why = st.columns([1, 2], vertical_alignment="bottom")
    why.caption("The demo unfreezes at 0.01 unless you pick another rate: at the book's 1e-4, B hardly moves the "
                "shared layers (measured at full size: A's task-A accuracy 91.78% → 91.70%, its hidden weights moved "
                "by 0.014), at 0.01 the damage shows (→ 89.06%, moved by 0.197).")
    rate = linked(choice.selectbox, "Learning rate after unfreezing, in this demo", key="tl_pitfall_lr",
                  options=rates,
                  format_func=lambda r: f"{r:g} (the protocol's)" if r == protocol.unfrozen_learning_rate else f"{r:g}",
                  help="The protocol unfreezes at its own rate. At 1e-4 B moves the shared layers so little that "
                       "A's accuracy barely changes; 0.01 makes the damage visible in the same 16 epochs.")
    demo = dataclasses.replace(protocol, unfrozen_learning_rate=rate)
    training = training_ui("tl_pitfall", transfer.job_key("pitfall", demo),
                           lambda progress: transfer.pitfall_run(demo, results, progress), label="Sharing pitfall",
                           button="Train B on A twice: shared layers, then a clone",
                           cost=cost.sharing_pitfall(demo, results))
    if training.result is not None and training.job_key == transfer.job_key("pitfall", demo):
        st.session_state.setdefault("tl_pitfall", {})[demo] = training.result
    pitfall = st.session_state.get("tl_pitfall", {}).get(demo)
    if pitfall is None:
        return
    shared, cloned = st.columns(2)
    shared.metric("Shared layers: model A's task-A accuracy after B trained", f"{pitfall.a_accuracy_after_shared:.2%}",
                  delta=f"{100 * (pitfall.a_accuracy_after_shared - pitfall.a_accuracy_before):+.2f} points")
    shared.caption(f"A's hidden weights moved by {pitfall.weight_change_shared:.4f} (L2 norm of the change).")
    cloned.metric("Clone + set_weights: model A's task-A accuracy after", f"{pitfall.a_accuracy_after_cloned:.2%}",
                  delta=f"{100 * (pitfall.a_accuracy_after_cloned - pitfall.a_accuracy_before):+.2f} points")
    cloned.caption(f"A's hidden weights moved by {pitfall.weight_change_cloned:.4f}. "
                   f"Before either run: {pitfall.a_accuracy_before:.2%} on task-A validation images.")
    st.caption(f"Unfrozen at {rate:g} for {protocol.unfrozen_epochs} epochs: training B moved A's hidden weights "
               f"by {pitfall.weight_change_shared:.3g} through the shared layers and A's accuracy on its own task by "
               f"{100 * (pitfall.a_accuracy_after_shared - pitfall.a_accuracy_before):+.2f} points; the clone left A "
               "untouched. How much A loses depends on how far B moves the shared layers: compare the rates.")


# 2. The same comparison over many seeds: its settings, then the stored seeds' statistics; returns the config,
# the seeds and their summary (None while fewer than MIN_SEEDS are stored).
def comparison_section(protocol, results):
    st.header("2. The same comparison over many seeds")
    config, seeds = comparison_settings_ui(protocol)
    st.caption(f"Paired by seed over {len(seeds)} seeds: {config.describe()}.")
    if config.vary_a and not tiny_mode():
        st.warning("Each seed trains its own model A on 44,000 images: at full size that is minutes per seed "
                   "on a 2-core machine (model A dominates the cost; the B runs of 10 seeds share one graph).",
                   icon=":material/timer:")
    rows = results.results(config, seeds)
    comparison_training_ui(config, seeds, results, missing=len(seeds) - len(rows))
    if len(rows) < transfer.MIN_SEEDS:
        return config, seeds, None
    summary = summary_of(tuple(row.result["scratch_test_accuracy"] for row in rows),
                         tuple(row.result["transfer_test_accuracy"] for row in rows), rows[0].result["n_test"],
                         config.verdict_scope())
    if len(rows) < len(seeds):
        st.warning(f"Showing the {len(rows)} seeds stored so far.")
    mean, ratio = summary.mean_difference, summary.error_ratio
    verdict_ui(summary.verdict)
    statistics_ui(summary)
    paired, histogram = st.columns(2)
    show(transfer_plots.paired_seeds([row.seed for row in rows], summary.scratch_acc, summary.transfer_acc),
         key="tl_paired_chart", container=paired)
    show(transfer_plots.paired_difference_histogram(summary.differences, mean.value, mean.low, mean.high,
                                           transfer.BOOK_GAIN_POINTS), key="tl_difference_chart", container=histogram)
    show(transfer_plots.error_ratio_histogram(summary.error_ratio_per_seed, ratio.value, ratio.low, ratio.high),
         key="tl_ratio_chart")
    ratio_interval = (f"95% CI {ratio.low:.2f} to {ratio.high:.2f}, Fieller" if ratio.bounded else
                      "95% CI unbounded: too few seeds for how much the error counts vary")
    st.caption(f"Error-rate ratio of the mean error counts: {ratio.value:.2f} ({ratio_interval}); above 1, B on A "
               "makes fewer errors. Counts are smoothed by +0.5.")
    return config, seeds, summary


# 2, its button: a fragment, so a press redraws only the button and the job's status.
@st.fragment
def comparison_training_ui(config, seeds, results, missing: int) -> None:
    note = st.empty()
    training = training_ui("tl_comparison", transfer.job_key("comparison", config, seeds),
                           lambda progress: transfer.run_comparison(config, seeds, results, progress),
                           label="Comparison", button=f"Train the {missing} missing seeds", offer=missing > 0,
                           primary=True, cost=cost.transfer_comparison(config, seeds, results))
    if missing > 0 and not training.pending:
        note.info(f"{len(seeds) - missing} of {len(seeds)} seeds are in the results store.", icon=":material/database:")


# 2, continued: the book's comment (early printings) says optimizer="sgd" means 1e-3; it means 0.01. Same seeds,
# both readings.
@st.fragment
def misread_default_section(config, seeds, results) -> None:
    protocol = config.protocol
    if protocol.frozen_learning_rate is not None:  # only the book text compiles with "sgd"
        return
    comment = transfer.as_comment_reads_it(protocol)
    comment_config = dataclasses.replace(config, protocol=comment)
    st.subheader("One misread default")
    st.markdown("The book compiles the frozen phase with `optimizer=\"sgd\"`: SGD's default learning rate, "
                f"**{protocol.frozen_rate:g}**. Its comment, in early printings, says the default is "
                f"{comment.frozen_rate:g} (later printings read 1e-2). At "
                f"{comment.frozen_rate:g} the new output layer barely moves in the {protocol.frozen_epochs} frozen "
                "epochs. The same seeds, both readings:")
    text_label, comment_label = f"the text's code ({protocol.frozen_rate:g})", f"its comment ({comment.frozen_rate:g})"
    both = {text_label: results.results(config, seeds), comment_label: results.results(comment_config, seeds)}
    for column, (label, rows) in zip(st.columns(2), both.items()):
        if len(rows) >= transfer.MIN_SEEDS:
            gains = [100 * (row.result["transfer_test_accuracy"] - row.result["scratch_test_accuracy"]) for row in rows]
            column.metric(f"Mean gain of B on A, {label}", f"{sum(gains) / len(gains):+.2f} points",
                          help=f"{len(rows)} seeds, B on A minus B from scratch")
        else:  # a sentence, not an empty number box
            column.caption(f"Mean gain of B on A, {label}: not trained yet.")
    training_ui("tl_comment", transfer.job_key("comparison", comment_config, seeds),
                lambda progress: transfer.run_comparison(comment_config, seeds, results, progress),
                label="The comment's reading", button=f"Train the comment's reading on the same {len(seeds)} seeds",
                offer=len(both[comment_label]) < len(seeds),
                cost=cost.transfer_comparison(comment_config, seeds, results))


# 3. Seed shopping: how many tries the book's +2.05 points needs, drawn from the measured seeds (a note until
# there are enough, so the sections keep their numbers).
def seed_shopping_section(summary) -> None:
    st.header("3. Seed shopping: how to find +2.05 points by trying enough runs")
    if summary is None:
        st.info(f"This draws \"the best of k runs\" from the measured seeds: train at least {transfer.MIN_SEEDS} "
                "seeds in section 2 first.", icon=":material/hourglass_empty:")
        return
    best = summary.best_of_k
    show(transfer_plots.best_of_k_band(best.ks, best.quantiles, best.quantile_levels, best.target, best.k_for_target),
         key="tl_shopping_chart")
    if best.k_for_target is None:
        st.markdown(f"None of the {summary.n_seeds} seeds reached {best.target:+.2f} points, so among these "
                    "results no amount of shopping reproduces the book's gain.")
    else:
        st.markdown(f"Keeping the best of **k = {best.k_for_target}** runs is enough for a gain of "
                    f"{best.target:+.2f} points or more to show up at least half the time, even though the "
                    f"typical (median) seed gives {summary.median_difference:+.2f}. (Drawn from the "
                    f"{summary.n_seeds} measured seeds.)")


# 4. Every pair of classes as task B: the stored cells, and a button for the missing pairs.
@st.fragment
def pairs_section(config, seeds, results) -> None:
    st.header("4. Every pair of classes as task B")
    st.caption(f"Mean gain over the same {len(seeds)} seeds and settings, one cell per pair (A = the other eight "
               "classes, so every pair trains its own model A). Hover a cell for its 95% CI. "
               + mean_interval_note(len(seeds)))
    cells = transfer.pair_cells(config, seeds, results)
    if any(cell.n_seeds >= transfer.MIN_SEEDS for cell in cells):
        show(transfer_plots.pair_heatmap([cell.pair for cell in cells], [cell.mean_gain for cell in cells],
                                         [cell.low for cell in cells], [cell.high for cell in cells],
                                         [cell.n_seeds for cell in cells], CLASS_NAMES), key="tl_pairs_chart")
    else:  # no empty 600-pixel grid with only a title
        st.info("No pair has results yet: the map fills in as pairs are computed.", icon=":material/grid_off:")
    missing_pairs = [cell.pair for cell in cells if cell.n_seeds < len(seeds)]
    note = st.empty()
    training = training_ui("tl_pairs", transfer.job_key("pairs", config, seeds),
                           lambda progress: transfer.run_pairs(config, seeds, results, missing_pairs, progress),
                           label="Class pairs", button=f"Compute the {len(missing_pairs)} missing pairs",
                           offer=bool(missing_pairs), cost=cost.transfer_pairs(config, seeds, results, missing_pairs))
    if missing_pairs and not training.pending:
        note.caption(f"{len(missing_pairs)} of {len(cells)} pairs still need runs (each pair trains its own model A; "
                     "the missing pairs' As train together, stacked in a few engine calls, then each pair's B runs; "
                     "finished pairs are kept, so it can be stopped and resumed).")


# 5. The numbers behind the plots: CSV downloads and the command line that fills the same store.
def downloads_section(config, seeds, results, name: str) -> None:
    st.header("5. The numbers behind the plots")
    pair = config.protocol.b_classes
    store_downloads(results, config, f"transfer-{config.protocol.name}-{pair[0]}-{pair[1]}.csv", "tl")
    st.caption(f"Results store: `{results.path}`. The command line fills the same store: "
               f"`python -m core transfer --protocol {name} --pair {pair[0]},{pair[1]} --seeds {len(seeds)}"
               f"{'' if config.vary_subset else ' --fixed-subset'}{' --vary-a' if config.vary_a else ''}`.")


st.title("Transfer learning")
st.markdown(
    "One lucky run, then many seeds. The chapter reuses a net trained on eight Fashion-MNIST classes (task A) for "
    "the other two with only 200 images (task B): 97.2% → 99.25% test accuracy, \"a factor of 4\" fewer errors, "
    "from the best of many configurations. Rerun it, then repeat it over many seeds, paired by seed."
)
fashion_mnist_or_stop()
name, protocol = protocol_ui()
results = results_store_or_stop("tl")
single_run_section(protocol, results)
pitfall_section(protocol, results)
config, seeds, summary = comparison_section(protocol, results)
misread_default_section(config, seeds, results)
fair_section(config, seeds, results, verdict_ui=verdict_ui, statistics_ui=statistics_ui)
seed_shopping_section(summary)
pairs_section(config, seeds, results)
downloads_section(config, seeds, results, name)
reuse_section(config.protocol, results, interval_note=mean_interval_note)
book_vs_keras_ui("transfer")
