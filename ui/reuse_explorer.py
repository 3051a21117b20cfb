"""The transfer page's reuse explorer (core.reuse): the grid of reused x unfrozen layers x unfreezing rate per
training size, against B from scratch tuned on validation, trained on demand; then the baseline, the heatmaps per
rate, the best cell per size and a verdict per rule of thumb, each with its scope."""

from __future__ import annotations

import math

import streamlit as st

from core import cost, reuse, stats, store
from core.plots import reuse as reuse_plots
from core.runs import tuning
from ui.charts import show
from ui.jobs import training_ui
from ui.presets import tiny_mode

BOXES = {reuse.HOLDS: st.success, reuse.CONTRADICTED: st.warning}  # a rule's box colour by status (others: st.info)


# The grid's settings (sizes, seeds), bound to the URL with the section's prefix.
def reuse_settings_ui() -> tuple[tuple[int, ...], int]:
    choices = reuse.TINY_SIZES if tiny_mode() else reuse.DEFAULT_SIZES
    default = reuse.TINY_SIZES if tiny_mode() else reuse.PAGE_DEFAULT_SIZES
    left, right = st.columns([3, 1])
    sizes = left.multiselect("Task-B training images per seed (n)", choices, default=list(default),
                             format_func=lambda size: f"{size:,}", key="tl_reuse_sizes", bind="query-params")
    n_seeds = right.number_input(f"Seeds ({reuse.MIN_SEEDS} to {reuse.MAX_SEEDS})", min_value=0, max_value=10_000,
                                 value=3 if tiny_mode() else reuse.DEFAULT_SEEDS, step=1, key="tl_reuse_seeds",
                                 bind="query-params")
    return tuple(int(size) for size in sizes), int(n_seeds)


# 6. Which rules of thumb hold: settings, the training button, then what the stored seeds say. The page passes
# its note on what a t-interval is worth at this many seeds.
@st.fragment
def reuse_section(protocol, results, *, interval_note) -> None:
    st.header("6. Which rules of thumb hold? Layers to reuse and to unfreeze")
    grid = reuse.ReuseGrid(protocol, 1)
    lower = " or ".join(f"{reduction:g}x lower ({protocol.frozen_rate / reduction:g})"
                        for reduction in grid.rate_reductions)
    st.markdown(
        "The chapter's advice, tested: reuse model A's first **r** hidden layers (dropping the ones above) under a "
        f"fresh output, train {protocol.frozen_epochs} epochs with all of them frozen at {protocol.frozen_rate:g}, "
        f"then unfreeze the top **u** (u = 0: stay frozen) for {protocol.unfrozen_epochs} more, at the same rate "
        f"or {lower}. Every cell is compared with B from scratch on the same images and seed. B from scratch searches "
        f"the rate: it trains at each of {tuning.rates_text(grid.scratch_grid)} and each seed keeps the rate with the "
        f"best validation accuracy. Each cell trains at the protocol's fixed rates (frozen epochs at "
        f"{protocol.frozen_rate:g}); the reuse arm's search is the grid of cells itself (layers reused, layers "
        "unfrozen, unfreezing rate), its best cell picked on validation.")
    sizes, n_seeds = reuse_settings_ui()
    try:
        seeds = reuse.seed_list(n_seeds)
        sizes = reuse.sizes_for(protocol, sizes)
    except ValueError as error:
        st.error(str(error), icon=":material/error:")
        return
    missing = sum(len(set(seeds) - results.finished_seeds(grid.with_size(size))) for size in sizes)
    note = st.empty()
    training = training_ui("tl_reuse", reuse.job_key(protocol, sizes, seeds),
                           lambda progress: reuse.run_grid(protocol, sizes, seeds, results, progress),
                           label="Reuse grid", button=f"Train the {missing} missing seed-sizes of the grid",
                           offer=missing > 0, primary=True, cost=cost.reuse_grid(protocol, sizes, seeds, results))
    if missing and not training.pending:
        note.info(f"{len(sizes) * len(seeds) - missing} of {len(sizes) * len(seeds)} (size, seed) rows are in the "
                  "results store. " + ("" if tiny_mode() else reuse.time_hint(
                      sizes, len(seeds), copies_per_seed=grid.copies_per_seed)), icon=":material/database:")
    summary = reuse_summary_of(protocol, sizes, seeds, results)
    if summary is None:
        return
    if summary.sizes != sizes or len(summary.seeds) < len(seeds):
        st.warning(f"Showing the {len(summary.seeds)} seeds stored for n = "
                   f"{', '.join(f'{size:,}' for size in summary.sizes)}.")
    reuse_baseline_ui(summary)
    reuse_cells_ui(summary, interval_note)
    reuse_verdicts_ui(summary)
    st.download_button("Download the grid's rows (CSV)", lambda: reuse.grid_csv(protocol, sizes, results),
                       file_name=f"reuse-{protocol.name}-{protocol.b_classes[0]}-{protocol.b_classes[1]}.csv",
                       mime="text/csv", key="tl_reuse_download", icon=":material/download:")
    st.caption(f"The command line fills the same store: `python -m core reuse --protocol {protocol.name} --pair "
               f"{protocol.b_classes[0]},{protocol.b_classes[1]} --sizes {','.join(str(size) for size in sizes)} "
               f"--seeds {len(seeds)}`.")


# The baseline every gain is measured against: B from scratch at each rate of its search, and tuned.
def reuse_baseline_ui(summary) -> None:
    protocol, sizes = summary.protocol, summary.sizes
    rates = summary.scratch[sizes[0]].rates
    st.subheader("The baseline: B from scratch, its rate searched on validation")
    at_rate = [[stats.mean_difference_estimate(100 * summary.scratch_at(size, rate)) for rate in rates]
               for size in sizes]  # the mean accuracy and its t-interval, (n_sizes, n_rates)
    tuned = [stats.mean_difference_estimate(100 * summary.scratch_tuned(size)) for size in sizes]
    show(reuse_plots.scratch_rates_chart(
        sizes, rates, *([[getattr(e, part) for e in row] for row in at_rate] for part in ("value", "low", "high")),
        *([getattr(e, part) for e in tuned] for part in ("value", "low", "high")),
        {protocol.learning_rate: "the protocol's", protocol.frozen_rate: "the cells'"}), key="tl_reuse_scratch")
    cells_rate, own_rate = protocol.frozen_rate, protocol.learning_rate
    st.dataframe([{"n": f"{size:,}", "tuned on validation": f"{estimate.value:.2f}%",
                   "rates picked (seeds)": ", ".join(f"{rate:g} x{count}"
                                                     for rate, count in summary.picked_rates(size).items()),
                   f"tuned minus at the cells' {cells_rate:g}": _points(summary.tuning_gain(size, cells_rate)),
                   f"tuned minus at the protocol's {own_rate:g}": _points(summary.tuning_gain(size, own_rate))}
                  for size, estimate in zip(sizes, tuned)], hide_index=True, key="tl_reuse_baseline")
    st.caption("Each seed's B from scratch trains at every rate of the grid (extra stacked copies of one run) and "
               "keeps the one with the best task-B validation accuracy; the test set is read only at that rate. Every "
               f"cell trains its frozen epochs at {cells_rate:g}: measured against B from scratch at the protocol's "
               f"{own_rate:g}, part of a cell's gain would be the baseline's untuned rate (the last two columns: "
               "points of test accuracy, 95% t-interval). The gains below are over the tuned baseline.")


# The cells: a heatmap per size at one unfreezing rate, then the best cell per size (chosen on validation).
def reuse_cells_ui(summary, interval_note) -> None:
    reductions = {reuse.rate_code(reduction): reduction for reduction in (1.0, *summary.rate_reductions)}
    code = st.segmented_control("Rate after unfreezing", list(reductions), default=reuse.SAME, key="tl_reuse_rate",
                                format_func=lambda choice: "same as frozen" if choice == reuse.SAME
                                else reuse.rate_name(reductions[choice]), required=True)
    reduction = reductions[code]
    maps = [summary.heatmap(size, reduction) for size in summary.sizes]
    best = [summary.best[size] for size in summary.sizes]
    stars = [(cell.reused, cell.unfrozen) if cell.reduction == reduction or cell.unfrozen == 0 else None
             for cell in best]
    label = "same rate" if reduction == 1 else f"{reuse.rate_name(reduction)} rate"
    show(reuse_plots.gain_heatmaps(summary.sizes, [m[0] for m in maps], [m[1] for m in maps], [m[2] for m in maps],
                                   len(summary.seeds), stars, label), key="tl_reuse_heatmaps")
    st.caption("Gain over tuned B from scratch, points of test accuracy; hover a cell for its 95% CI (t-interval "
               "over the paired seeds). The star marks the cell with the best validation accuracy (at any rate: no "
               "star where it is at another rate). " + interval_note(len(summary.seeds)))
    top, protocol = len(summary.protocol.hidden_units), summary.protocol
    recipe = reuse.Cell(top, top, next((r for r in reductions.values() if math.isclose(
        protocol.frozen_rate / r, protocol.unfrozen_learning_rate)), max(reductions.values())))
    gains = [summary.result(size, cell).gain for size, cell in zip(summary.sizes, best)]
    recipes = [summary.result(size, recipe).gain for size in summary.sizes]
    show(reuse_plots.best_cell_chart(summary.sizes, [cell.reused for cell in best], [cell.unfrozen for cell in best],
                                     [g.value for g in gains], [g.low for g in gains], [g.high for g in gains],
                                     [g.value for g in recipes], [g.low for g in recipes], [g.high for g in recipes],
                                     f"reuse and unfreeze all {top} ({recipe.rate} rate)"), key="tl_reuse_best_chart")
    n_cells = len(summary.cells_of(summary.sizes[0]))
    found = {1: "reliable gain", -1: "reliable loss", 0: "no reliable difference"}
    st.dataframe([{"n": f"{size:,}", "best cell on validation": cell.label,
                   "gain over tuned scratch": _points(summary.result(size, cell).gain),
                   f"Holm-adjusted p ({n_cells} cells)": _p(summary.holm_p[size, cell.key]),
                   "after Holm": found[reuse.holm_direction(summary, size, cell)],
                   f"gain over scratch at the cells' {protocol.frozen_rate:g}": _points(
                       summary.result(size, cell).gain_at_cells_rate)}
                  for size, cell in zip(summary.sizes, best)], hide_index=True, key="tl_reuse_best_table")
    holm = {size: reuse.holm_text(summary, size) for size in summary.sizes}
    holm = (holm.popitem()[1] if len(set(holm.values())) == 1
            else "; ".join(f"n = {size:,}: {words}" for size, words in holm.items()))
    st.caption(f"The best cell is picked from {n_cells} cells on validation; verdict Holm-corrected for {n_cells}: "
               "validation and test score the same trained models on the same seeds, so seed luck that lifts the "
               "picked cell on validation lifts it on test too. Its gain is reliable only if its 95% t-interval "
               "excludes 0 and its Holm-adjusted signed-rank p is below 0.05, on the same side. Every cell tested "
               f"against tuned scratch at once, with Holm's correction: {holm}.")


# What each rule of thumb's comparisons say: a table of statuses, then each rule's numbers and scope.
def reuse_verdicts_ui(summary) -> None:
    st.subheader("The rules of thumb on this data")
    st.caption(f"Each verdict is one paired comparison over {len(summary.seeds)} seeds, like with like: unfreezing "
               "one or two and \"more data, more layers\" compare cells at the same rate; the rate rule compares each "
               f"reduced-rate cell with the same cell at the same rate. **{reuse.HOLDS}** / **{reuse.CONTRADICTED}**: "
               "the mean's 95% t-interval excludes 0 and the signed-rank test agrees (the lab's one meaning of "
               f"reliable), for or against the rule; **{reuse.NO_DIFFERENCE}**: not both; with fewer than "
               f"{reuse.RELIABLE_MIN_SEEDS} seeds nothing can be reliable (**{reuse.TOO_FEW_SEEDS}**). "
               f"\"{reuse.LITTLE_DATA}\" holds only if, besides, the best cell at the smallest size gains reliably "
               "after Holm's correction over that size's cells.")
    st.dataframe(reuse.verdict_rows(summary), hide_index=True, key="tl_reuse_verdict_table")
    groups = {}
    for verdict in summary.verdicts:
        groups.setdefault((verdict.rule, verdict.variant), []).append(verdict)
    for (rule, variant), verdicts in groups.items():
        statuses = {verdict.status for verdict in verdicts}
        box = BOXES.get(statuses.pop(), st.info) if len(statuses) == 1 else (
            st.warning if reuse.CONTRADICTED in statuses else st.info)
        name = rule + (f" ({variant})" if variant else "")
        box(f"**{name}**\n\n" + "\n\n".join(f"*{verdict.where}*: **{verdict.status}.** {verdict.text}"
                                               for verdict in verdicts))


def _p(value) -> str:
    return "no test" if math.isnan(value) else f"{value:.2g}"


def _points(estimate) -> str:
    return f"{estimate.value:+.2f} ({estimate.low:+.2f} to {estimate.high:+.2f})"


# The grid's statistics, cached per stored rows (reruns redraw, they do not recompute).
def reuse_summary_of(protocol, sizes, seeds, results):
    stamps = tuple(tuple(row.finished_at for row in results.results(reuse.ReuseGrid(protocol, size), seeds))
                   for size in sizes)
    return _reuse_summary(protocol, sizes, seeds, stamps, str(results.path))


@st.cache_data(show_spinner=False, max_entries=16)
def _reuse_summary(protocol, sizes, seeds, stamps, path: str):
    return reuse.summarize_grid(protocol, sizes, seeds, store.Store(path))
