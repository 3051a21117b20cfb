"""The transfer page's fair baseline (core.transfer.fair): both arms search the same learning rates, trained on
demand; then the book's arms beside the tuned ones, each pair with its verdict, and the rate each arm picked."""

from __future__ import annotations

import streamlit as st

from core import cost, store, transfer
from core.plots import pretraining as gain_plots
from core.plots import transfer as transfer_plots
from core.runs import runner, tuning
from core.transfer import fair
from ui.charts import show
from ui.jobs import training_ui


# 2, continued: the same seeds and settings as the many-seed comparison, every arm with the same search. The
# page passes its own verdict box and statistics panel, so every verdict on the page looks alike.
@st.fragment
def fair_section(comparison, seeds, results, *, verdict_ui, statistics_ui) -> None:
    config = fair.FairComparison(comparison)
    protocol = comparison.protocol
    st.subheader("A fair baseline: every arm gets the same learning-rate search")
    st.warning("The book's protocol above is a reproduction, not the fair test: its two arms train at different, "
               "untuned learning rates.", icon=":material/balance:")
    st.markdown(
        f"The book trains B from scratch at {protocol.learning_rate:g} and B on A at {protocol.frozen_rate:g} "
        f"(reused layers frozen), then {protocol.unfrozen_learning_rate:g}. Here both arms try every rate of one "
        f"grid, **{tuning.rates_text(config.rates)}**, on the same seeds, and each seed keeps the rate with the best "
        "task-B **validation** accuracy after the last epoch; the test set is read only at that rate. B from scratch "
        f"at r trains every epoch at r; B on A at r trains its frozen phase at r and unfreezes at "
        f"r × {config.unfrozen_ratio:g}: the book's recipe with both its rates scaled together.")
    rows = results.results(config, seeds)
    missing = len(seeds) - len(rows)
    training_ui("tl_fair", transfer.job_key("fair", config, seeds),
                lambda progress: fair.run_fair(config, seeds, results, progress), label="Fair comparison",
                button=f"Search every rate of the grid for the {missing} missing seeds", offer=missing > 0,
                cost=cost.transfer_fair(config, seeds, results))
    if runner.on_cluster():
        st.caption(f"Trains on this machine: {fair.LOCAL_ONLY}.")
    if len(rows) < transfer.MIN_SEEDS:
        st.caption(f"{len(rows)} of {len(seeds)} seeds searched so far; the verdicts need {transfer.MIN_SEEDS}.")
        return
    if missing:
        st.warning(f"Showing the {len(rows)} seeds stored so far.")
    summary = summary_of(config, tuple(row.seed for row in rows), tuple(row.finished_at for row in rows),
                         str(results.path))
    fair_results_ui(summary, verdict_ui, statistics_ui)
    pair = protocol.b_classes
    st.caption(f"The command line fills the same store: `python -m core transfer --protocol {protocol.name} --pair "
               f"{pair[0]},{pair[1]} --seeds {len(seeds)}{'' if comparison.vary_subset else ' --fixed-subset'}"
               f"{' --vary-a' if comparison.vary_a else ''} --tune`.")


# The stored seeds' arms, verdicts and picked rates.
def fair_results_ui(summary, verdict_ui, statistics_ui) -> None:
    st.markdown("| arm | mean test accuracy |\n|---|---|\n" + "\n".join(
        f"| {arm} | {accuracy:.2%} |" for arm, accuracy in summary.arm_means()))
    gains = [comparison.summary.mean_difference for comparison in summary.comparisons]
    show(gain_plots.paired_gains_figure([comparison.short for comparison in summary.comparisons],
                                        [comparison.summary.differences for comparison in summary.comparisons],
                                        [gain.value for gain in gains], [gain.low for gain in gains],
                                        [gain.high for gain in gains], "B on A minus each B from scratch"),
         key="tl_fair_gains_chart")
    for comparison in summary.comparisons:
        st.markdown(f"**{comparison.label}**" + (": the fair test" if comparison.fair else ""))
        verdict_ui(comparison.summary.verdict)
    with st.expander("Every statistic of the fair test (both arms tuned)", icon=":material/analytics:"):
        statistics_ui(summary.fair.summary)
    show(transfer_plots.picked_rates_chart(summary.rates, summary.picked_counts()), key="tl_fair_picked_chart")
    st.caption(f"Rates picked on validation, seeds per rate: {fair.picked_text(summary)}.")
    for note in fair.edge_notes(summary):
        st.warning(note.removeprefix("note: "), icon=":material/straighten:")


# The summary of stored rows, cached per set of rows (reruns redraw, they do not recompute).
@st.cache_data(show_spinner=False, max_entries=16)
def summary_of(config, seeds: tuple, stamps: tuple, path: str):
    return fair.summarize_fair(config, store.Store(path).results(config, seeds))
