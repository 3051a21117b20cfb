"""Logic: core/pretraining/ (every arm tuned: tuned.py; tables and verdicts: tables.py; training: core/stacked/,
statistics: core/stats.py, results: core/store.py) · figures: core/plots/pretraining.py · tests:
tests/test_pretraining.py, tests/test_pretraining_tuned.py, tests/test_stacked.py, tests/test_page_pretraining.py,
tests/test_browser_pretraining.py.

Unsupervised pretraining: autoencoders on unlabeled images, then every fine-tuning arm on few labels, paired by
seed; the same over label counts; and "2006 vs today", each arm at the regime's single rate (the book's protocol)
or every arm tuned on one rate grid. Every training is a button press through core.jobs (ui.jobs.training_ui);
finished runs land in the results store, which every section reads.
"""

import dataclasses

import numpy as np
import streamlit as st

from core import cost, pretraining
from core.cost import Cost
from core.data import CLASS_NAMES
from core.plots import pretraining as pretraining_plots
from core.pretraining import tables, tuned
from core.runs import tuning
from core.runs.seeds import job_key
from ui.callout import book_vs_keras_ui
from ui.charts import show
from ui.frame import page_frame
from ui.jobs import training_ui
from ui.links import linked
from ui.presets import tiny_caption, tiny_mode
from ui.sidebar import fashion_mnist_or_stop, results_store_or_stop, store_downloads

page_frame(__file__)

REGIME_LABELS = {
    "book": "the book: 784-100-30 autoencoder (relu), whole stack at once, Nadam",
    "today": "today: 3 x 256 relu, He init, greedy, Nadam",
    "2006": "2006: 3 x 256 sigmoid, greedy, plain SGD 0.1",
}
OWN = "the regime's own"
SCHEDULES = {OWN: None, "whole stack at once": False, "greedy, one layer at a time": True}
CODE_ACTIVATIONS = (OWN, "relu", "selu", "linear")
ARM_NAMES = [tables.arm_label(arm) for arm in pretraining.ARMS]
TUNED_LABEL = "Every arm tuned: the same rate grid, each seed's rate picked on validation images"


def label_counts() -> tuple[int, ...]:
    return pretraining.TINY_LABEL_COUNTS if tiny_mode() else pretraining.LABEL_COUNTS


# Settings above the sections, all bound to the URL; returns plain values.
def settings_ui() -> dict:
    left, middle, right, options = st.columns([3, 2, 2, 2], vertical_alignment="top")
    regime = left.selectbox("Regime", list(REGIME_LABELS), key="up_regime", bind="query-params")
    left.caption(REGIME_LABELS[regime])
    counts = label_counts()
    n_labels = middle.selectbox("Labelled images per seed", counts, index=1 if tiny_mode() else 0,
                                key="up_labels", bind="query-params")
    n_seeds = right.number_input(f"Seeds ({pretraining.MIN_SEEDS} to {pretraining.MAX_SEEDS})", min_value=0,
                                 max_value=100_000, value=3 if tiny_mode() else 5, step=1, key="up_seeds",
                                 bind="query-params")
    with options.expander("Autoencoder options", icon=":material/tune:"):
        schedule = st.selectbox("Schedule", list(SCHEDULES), key="up_schedule", bind="query-params")
        code = st.selectbox("Code activation", CODE_ACTIVATIONS, key="up_code", bind="query-params")
        tied = st.toggle("Tied weights (DenseTranspose)", value=False, key="up_tied", bind="query-params")
        noise = st.number_input("Input noise (denoising), std", min_value=0.0, max_value=1.0, value=0.0,
                                step=0.1, key="up_noise", bind="query-params")
    tune = linked(st.toggle, TUNED_LABEL, key="up_tuned", value=False,
                  help="Off: every arm at the regime's single learning rate, as the book trains them.")
    return {"regime": regime, "n_labels": int(n_labels), "n_seeds": int(n_seeds), "greedy": SCHEDULES[schedule],
            "code_activation": None if code == OWN else code, "tied": tied, "noise_stddev": float(noise),
            "tuned": bool(tune)}


# The settings as the experiment's config and seed list; a bad setting stops the page with its message.
def experiment_or_stop(settings: dict):
    try:
        seeds = pretraining.seed_list(settings["n_seeds"])
        config = pretraining.experiment(settings["regime"], settings["n_labels"], tiny=tiny_mode(),
                                        greedy=settings["greedy"], code_activation=settings["code_activation"],
                                        tied=settings["tied"], noise_stddev=settings["noise_stddev"])
    except ValueError as error:
        st.error(str(error), icon=":material/error:")
        st.stop()
    tiny_caption("a small autoencoder, a few hundred images and 20 updates per arm")
    if settings["tuned"]:
        st.caption(grid_text(tuned.TunedFineTuning(config)))
    return config, seeds


# What the tuned setting searches, and why those rates (the grids are core.pretraining.tuned's).
def grid_text(config) -> str:
    rates = config.rates
    own = min(range(len(rates)), key=lambda index: abs(rates[index] - config.own_rate))
    below, above = own, len(rates) - 1 - own
    grids = "; ".join(f"{name} {tuning.rates_text(tuned.default_grid(optimizer))}"
                      for optimizer, name in (("nadam", "Nadam"), ("sgd", "plain SGD")))
    return (f"Every arm, from scratch included, trains at each of {len(rates)} rates "
            f"({tuning.rates_text(rates)}) as extra copies of one run; each seed keeps, per arm, the rate "
            "with the best accuracy on validation images after the last update (never the test images). The grid "
            f"holds {steps_text(below)} below the regime's own rate ({config.own_rate:g}) and {steps_text(above)} "
            f"above, since the question is whether that one rate under-trains an arm (default grids: {grids}). The "
            "frozen-codes diagnostics stay at the single rate.")


def steps_text(count: int) -> str:
    return {0: "no rate", 1: "one rate", 2: "two rates", 3: "three rates"}.get(count, f"{count} rates")


# A training button with the store's count beside it; a fragment, so a press redraws only this part.
@st.fragment
def missing_runs_ui(key: str, job_key, run, *, label: str, what: str, stored: int, wanted: int, cost) -> None:
    note = st.empty()
    training = training_ui(key, job_key, run, label=label, button=f"Train the {wanted - stored} missing {what}",
                           offer=stored < wanted, primary=True, cost=cost)
    if stored < wanted and not training.pending:
        note.info(f"{stored} of {wanted} {what} are in the results store.", icon=":material/database:")


# One comparison's seeds stored so far, after the button for the missing ones; a warning when only some are stored.
def stored_seeds_ui(key: str, config, seeds, results, run, *, job, label: str, cost):
    stored = pretraining.stored_seeds(config, seeds, results)
    missing_runs_ui(key, job, run, label=label, what="seeds", stored=len(stored), wanted=len(seeds), cost=cost)
    if stored and len(stored) < len(seeds):
        st.warning(f"Showing the {len(stored)} seeds stored so far.")
    return stored

# Standard deviation over seeds, in accuracy points (0 for one seed).
def spread(values) -> float:
    values = np.asarray(values, float)
    return float(100 * values.std(ddof=1)) if len(values) > 1 else 0.0


# The box's colour follows what the verdict claims, as on the transfer page; `title` says which comparison.
def verdict_ui(summary, arm: str, title: str, container=st) -> None:
    kind, direction = summary.verdict.kind, summary.verdict.direction
    if kind == "reliable":
        box = container.success if direction > 0 else container.error
    else:
        box = container.warning if kind in ("tentative", "mixed") else container.info
    box(f"**{title}.** {tables.verdict(summary, arm)}")


# 1. The autoencoders: their reconstructions, filters, curves, dead units and codes, one seed at a time.
def pretraining_section(config, seeds, results) -> None:
    autoencoder = config.pretraining
    st.header("1. Pretrain on unlabeled images")
    stored = pretraining.stored_seeds(autoencoder, seeds, results)
    missing_runs_ui("up_pretrain", job_key("pretraining", "autoencoders", autoencoder, seeds),
                    lambda progress: pretraining.pretrain(autoencoder, seeds, results, progress),
                    label="Pretraining", what="autoencoders", stored=len(stored), wanted=len(seeds),
                    cost=cost.pretraining_runs(autoencoder, seeds, results))
    explanation = (f"Each seed trains its own {autoencoder.describe()} on the unlabeled pool: training images that "
                   "are never among the labelled or the test images. Greedy means the chapter's recipe: each layer "
                   "learns to rebuild the frozen codes of the layers below it.")
    if not stored:
        st.markdown(explanation)
        return
    result = pretraining.load_pretraining(autoencoder, stored, results)
    choice, *metrics = st.columns(4)  # the seed shown beside its numbers; the explanation under them
    shown = choice.selectbox("Seed shown", stored, key="up_shown_seed")
    index = stored.index(shown)
    layers = len(autoencoder.hidden_units)
    metrics[0].metric("Validation MSE, whole stack", f"{result.pixel_val_mse[index]:.4f}",
                      help=f"Mean over seeds {result.pixel_val_mse.mean():.4f}")
    metrics[1].metric("Dead code units", f"{result.dead_units[index, -1]} of {autoencoder.hidden_units[-1]}",
                      help="Code units whose output is the same for every validation image: they carry nothing")
    metrics[2].metric("Dead units, every layer", " / ".join(str(count) for count in result.dead_units[index]),
                      help=f"Layers 1 to {layers}, from the pixels up")
    st.markdown(explanation)
    show(pretraining_plots.reconstructions_figure(result.originals, result.reconstructions[index]),
         key="up_reconstructions_chart")
    left, right = st.columns(2)
    phases = ["whole stack"] if not autoencoder.greedy else [f"layer {i + 1}" for i in range(layers)]
    show(pretraining_plots.pretraining_curves_figure(result.val_mse, phases), key="up_curves_chart", container=left)
    show(pretraining_plots.codes_figure(result.pca[index], result.pca_labels, CLASS_NAMES, result.pca_variance[index]),
         key="up_codes_chart", container=right)
    show(pretraining_plots.filters_figure(result.filters[index]), key="up_filters_chart")
    st.caption("Filters: each first-layer unit's 784 weights drawn as a 28 x 28 image (red positive, blue "
               "negative). Codes: the last encoder layer's output for 2,000 test images, projected on its two "
               "principal components; the autoencoder never saw a label.")


# 2. Every arm with few labels: accuracies, curves at equal updates, and each arm's paired gain over scratch.
def fine_tuning_section(config, seeds, results):
    st.header(f"2. Fine-tune with {config.n_labels} labels")
    st.markdown(f"Every seed draws one balanced subset of {config.n_labels} labelled images, shared by all its arms: "
                "**from scratch**; the pretrained encoder **frozen** under a new softmax output; **frozen, then the "
                f"top {config.unfreeze_top} layer(s) unfrozen** at a lower learning rate; **fine-tune all** from the "
                "pretrained weights; and a **raw-pixel softmax regression** as the floor. "
                f"All arms are compared at the same number of updates ({config.updates} batches of "
                f"{config.batch_size}), not epochs: with 100 labels, one epoch is only a few updates.")
    st.caption(config.describe() + ".")
    stored = stored_seeds_ui("up_fine_tune", config, seeds, results,
                             lambda progress: pretraining.fine_tune(config, seeds, results, progress),
                             job=job_key("pretraining", "fine-tuning", config, seeds), label="Fine-tuning",
                             cost=cost.pretraining_runs(config.pretraining, seeds, results, [config]))
    if not stored:
        return None
    comparison = pretraining.load_comparison(config, stored, results)
    for column, arm, values in zip(st.columns(len(pretraining.ARMS)), pretraining.ARMS, comparison.test_accuracy.T):
        column.metric(tables.arm_label(arm), f"{values.mean():.2%}",
                      help=f"Test accuracy, mean of {len(values)} seeds (sd {spread(values):.2f} points)")
    show(pretraining_plots.arm_curves_figure(comparison.curve_updates, comparison.curves, ARM_NAMES,
                                             int(config.frozen_share * config.updates)), key="up_arms_chart")
    if len(stored) < 2:
        st.info("The paired statistics need at least 2 seeds.")
        return comparison
    summaries = tables.paired_summaries(comparison)
    gains_figure(summaries, [tables.arm_label(arm) for arm in summaries], "Gain of each arm over from scratch",
                 "up_gains_chart")
    for arm, summary in summaries.items():
        verdict_ui(summary, arm, tables.arm_label(arm).capitalize())
    caveat = next(iter(summaries.values())).coverage_caveat
    if caveat:
        st.caption(caveat)
    return comparison


# 2, every arm tuned: the same grid for all arms, each seed's rate picked on validation, the single rate beside it.
def tuned_fine_tuning_section(config, seeds, results) -> None:
    tuned_config = tuned.TunedFineTuning(config)
    rate = tuned_config.own_rate
    st.header(f"2. Fine-tune with {config.n_labels} labels, every arm tuned")
    st.markdown("The same arms, seeds, labelled subsets and batches as the single-rate comparison, but no arm is held "
                "to the regime's rate: each trains at every rate of the grid and keeps, per seed, the one that does "
                f"best on validation images. The regime's own rate, {rate:g}, is one of the candidates, so the same "
                "runs also give every arm at that single rate.")
    st.caption(tuned_config.describe() + ".")
    stored = stored_seeds_ui("up_tuned", tuned_config, seeds, results,
                             lambda progress: tuned.fine_tune(tuned_config, seeds, results, progress),
                             job=job_key("pretraining", "tuned", tuned_config, seeds),
                             label="Fine-tuning, every arm tuned",
                             cost=cost.pretraining_runs(config.pretraining, seeds, results, [tuned_config]))
    if not stored:
        return
    found = tuned.load(tuned_config, stored, results)
    for column, arm, values, single in zip(st.columns(len(pretraining.ARMS)), pretraining.ARMS,
                                           found.tuned.test_accuracy.T, found.single.test_accuracy.T):
        column.metric(tables.arm_label(arm), f"{values.mean():.2%}",
                      delta=f"{100 * (values.mean() - single.mean()):+.2f} points vs {rate:g}",
                      help=f"Test accuracy at each seed's picked rate, mean of {len(values)} seeds; every seed at "
                           f"{rate:g}: {single.mean():.2%}")
    left, right = st.columns(2)
    show(pretraining_plots.arm_curves_figure(found.tuned.curve_updates, found.tuned.curves, ARM_NAMES,
                                             int(config.frozen_share * config.updates)),
         key="up_tuned_arms_chart", container=left)
    show(pretraining_plots.picked_rates_figure(tuned_config.rates, found.picked_counts(), ARM_NAMES,
                                               "Rate each seed picked on validation"),
         key="up_tuned_rates_chart", container=right)
    for note in tables.edge_notes(found):
        st.warning(note, icon=":material/warning:")
    if len(stored) < 2:
        st.info("The paired statistics need at least 2 seeds.")
        return
    st.markdown(tables.survival_sentence(found))
    tuned_summaries, single_summaries = tables.paired_summaries(found.tuned), tables.paired_summaries(found.single)
    rows = {}
    for arm in pretraining.PRETRAINED_ARMS:
        rows[f"{tables.arm_label(arm)}, tuned"] = tuned_summaries[arm]
        rows[f"{tables.arm_label(arm)}, at {rate:g}"] = single_summaries[arm]
    gains_figure(rows, list(rows), "Gain over from scratch: every arm tuned, and every arm at the single rate",
                 "up_tuned_gains_chart")
    for arm in pretraining.PRETRAINED_ARMS:
        verdict_ui(tuned_summaries[arm], arm, f"{tables.arm_label(arm).capitalize()}, every arm tuned")
    st.caption("The frozen-codes diagnostics (section 3) run at the single rate: turn the tuned setting off to see "
               "them.")


# Each summary's per-seed gains and mean interval as one figure, a row per summary.
def gains_figure(summaries, names, title: str, key: str) -> None:
    values = list(summaries.values())
    show(pretraining_plots.paired_gains_figure(names, [s.differences for s in values],
                                               [s.mean_difference.value for s in values],
                                               [s.mean_difference.low for s in values],
                                               [s.mean_difference.high for s in values], title), key=key)


# 3. Why the frozen arm can look terrible: dead units, unscaled codes, too few updates, each measured.
def pitfall_section(config, comparison, results) -> None:
    st.header("3. The frozen-codes pitfall")
    st.markdown("A frozen encoder under a new output layer often looks far worse than training from scratch. Before "
                "concluding that pretraining hurts, check three things this page measures: **dead code units** "
                "(relu units that output 0 for every image carry nothing), **unscaled codes** (the output layer "
                "sees codes of very different sizes), and **too few updates** (one layer learning from fixed "
                "features is slow).")
    stored = pretraining.stored_seeds(config.pretraining, comparison.seeds, results)
    autoencoder = pretraining.load_pretraining(config.pretraining, stored, results)
    code_units = config.pretraining.hidden_units[-1]
    frozen = comparison.arm("frozen")
    long, standardized = comparison.pitfall_accuracy.T
    columns = st.columns(4)
    columns[0].metric("Dead code units (mean over seeds)",
                      f"{autoencoder.dead_units[:, -1].mean():.1f} of {code_units}")
    columns[1].metric(f"Frozen, {config.updates} updates", f"{frozen.mean():.2%}")
    columns[2].metric(f"Frozen, {config.pitfall_updates} updates", f"{long.mean():.2%}",
                      delta=f"{100 * (long.mean() - frozen.mean()):+.2f} points")
    columns[3].metric(f"Standardised codes, {config.pitfall_updates} updates", f"{standardized.mean():.2%}",
                      delta=f"{100 * (standardized.mean() - frozen.mean()):+.2f} points")
    alive = (autoencoder.code_std > 0).sum(axis=1)
    st.caption("Standardised: each code unit minus its mean, divided by its standard deviation over 10,000 pool "
               "images (the pool's statistics, not the labelled images'). Live code units per seed: "
               f"{', '.join(str(count) for count in alive)} of {code_units}.")


# 4. The same experiment at every label count: accuracy bands, and the paired gain at each count.
@st.fragment
def label_counts_section(config, seeds, results, *, tune: bool) -> None:
    st.header("4. Accuracy against the number of labels")
    if tune:
        st.caption(f"Every arm at the regime's single rate ({config.learning_rate:g}) here, as the book trains them.")
    counts = label_counts()
    configs = {n: dataclasses.replace(config, n_labels=n) for n in counts}
    stored = {n: pretraining.stored_seeds(each, seeds, results) for n, each in configs.items()}
    complete = [n for n in counts if len(stored[n]) == len(seeds)]
    missing_runs_ui("up_counts", job_key("pretraining", "label counts", config, seeds),
                    lambda progress: pretraining.run_label_counts(config, counts, seeds, results, progress),
                    label="Every label count", what="label counts", stored=len(complete), wanted=len(counts),
                    cost=cost.pretraining_runs(config.pretraining, seeds, results, configs.values()))
    if not complete:
        return
    comparisons = {n: pretraining.load_comparison(configs[n], seeds, results) for n in complete}
    accuracy = {}
    for arm in pretraining.ARMS:
        values = np.full((len(seeds), len(counts)), np.nan)
        for column, n in enumerate(counts):
            if n in comparisons:
                values[:, column] = comparisons[n].arm(arm)
        accuracy[tables.arm_label(arm)] = values
    show(pretraining_plots.accuracy_by_labels_figure(counts, accuracy), key="up_labels_chart")
    st.caption(f"Bands: lowest to highest of the {len(seeds)} seeds; line: their mean.")
    if len(seeds) < 2:
        return
    arm = "fine_tune_all"
    summaries = {n: tables.paired_summaries(comparisons[n])[arm] for n in complete}
    gains_figure(summaries, [f"{n} labels" for n in summaries], "Fine-tune all minus from scratch, per label count",
                 "up_label_gains_chart")
    for n, summary in summaries.items():
        verdict_ui(summary, arm, f"{n} labels")


# 5. The chapter's history in one comparison: the classic recipe against today's, same seeds and labels.
@st.fragment
def history_section(config, seeds, results, *, tune: bool) -> None:
    st.header("5. 2006 vs today" + (", every arm tuned" if tune else ""))
    st.markdown("Pretraining mattered when deep nets could not be trained well from scratch: sigmoid units, small "
                "random weights and plain SGD make gradients vanish. Once relu, He initialisation and better "
                "optimizers arrived, purely supervised training caught up. Both regimes below use the same 3 x 256 "
                f"net, the same schedule and the same {config.n_labels} labels per seed; only the recipe differs "
                "(each regime's own autoencoder, whatever the options above).")
    configs = {regime: pretraining.experiment(regime, config.n_labels, tiny=tiny_mode())
               for regime in ("2006", "today")}
    if tune:
        tuned_history_ui({regime: tuned.TunedFineTuning(each) for regime, each in configs.items()}, seeds, results)
    else:
        single_rate_history_ui(configs, seeds, results)


# Every regime's button: the seeds still missing of each config, trained by `run` one config after the other, on
# one bar staged by pretraining.run_configs (it never goes back to 0 for the second regime).
def history_button_ui(key: str, configs: dict, run, seeds, results) -> list:
    stored = {regime: pretraining.stored_seeds(each, seeds, results) for regime, each in configs.items()}
    complete = [regime for regime in configs if len(stored[regime]) == len(seeds)]
    triples = [(regime, each.n_labels, each) for regime, each in configs.items()]
    missing_runs_ui(key, job_key("pretraining", key, configs["2006"], seeds),
                    lambda progress: pretraining.run_configs(triples, seeds, results, run, progress),
                    label="2006 vs today", what="regimes", stored=len(complete), wanted=len(configs),
                    cost=sum((cost.pretraining_runs(each.pretraining, seeds, results, [each])
                              for each in configs.values()), Cost()))
    return complete


REGIME_TITLES = {"2006": "2006: sigmoid, plain SGD", "today": "Today: relu, He init, Nadam"}


# The book's protocol: each regime's arms at its one rate.
def single_rate_history_ui(configs, seeds, results) -> None:
    complete = history_button_ui("up_history", configs, pretraining.fine_tune, seeds, results)
    if len(seeds) < 2:
        return
    columns = st.columns(2)
    summaries = {}
    for column, regime in zip(columns, configs):
        column.subheader(REGIME_TITLES[regime])
        if regime not in complete:
            column.caption("Not trained yet.")
            continue
        comparison = pretraining.load_comparison(configs[regime], seeds, results)
        summary = tables.paired_summaries(comparison)["fine_tune_all"]
        summaries[f"{regime}: fine-tune all"] = summary
        scratch, pretrained = comparison.arm("scratch"), comparison.arm("fine_tune_all")
        column.metric("From scratch", f"{scratch.mean():.2%}", help=f"sd over seeds {spread(scratch):.2f} points")
        column.metric("Pretrained, fine-tune all", f"{pretrained.mean():.2%}",
                      delta=f"{summary.mean_difference.value:+.2f} points",
                      help=f"sd over seeds {spread(pretrained):.2f} points")
        column.caption(f"Seed spread (sd): {spread(scratch):.2f} points from scratch, {spread(pretrained):.2f} "
                       "pretrained.")
        floor = comparison.arm("raw_pixels").mean()

        def against_floor(accuracy: float) -> str:
            return f"{abs(accuracy - floor) * 100:.2f} points {'below' if accuracy < floor else 'above'} it"

        column.caption(f"The floor, a softmax regression on raw pixels: {floor:.2%}. From scratch, this deep net ends "
                       f"{against_floor(scratch.mean())}; pretrained, {against_floor(pretrained.mean())}.")
        verdict_ui(summary, "fine_tune_all", "Fine-tune all", column)
    if summaries:
        gains_figure(summaries, list(summaries), "Pretraining's gain: 2006 vs today", "up_history_chart")


# Every arm tuned in both regimes: what tuning every arm, scratch included, does to each regime's gain.
def tuned_history_ui(configs, seeds, results) -> None:
    complete = history_button_ui("up_history_tuned", configs, tuned.fine_tune, seeds, results)
    if len(seeds) < 2:
        return
    summaries = {}
    for column, regime in zip(st.columns(2), configs):
        column.subheader(REGIME_TITLES[regime])
        if regime not in complete:
            column.caption("Not trained yet.")
            continue
        found, rate = tuned.load(configs[regime], seeds, results), configs[regime].own_rate
        scratch, pretrained = found.tuned.arm("scratch"), found.tuned.arm("fine_tune_all")
        column.metric("From scratch, tuned", f"{scratch.mean():.2%}",
                      delta=f"{100 * (scratch.mean() - found.single.arm('scratch').mean()):+.2f} points vs {rate:g}")
        column.metric("Pretrained, fine-tune all, tuned", f"{pretrained.mean():.2%}",
                      delta=f"{tables.gain(found, 'fine_tune_all', tuned=True).value:+.2f} points over scratch")
        column.markdown(tables.survival_sentence(found))
        show(pretraining_plots.picked_rates_figure(configs[regime].rates, found.picked_counts(), ARM_NAMES,
                                                   "Rate each seed picked on validation"),
             key=f"up_history_rates_{regime}_chart", container=column)
        for note in tables.edge_notes(found):
            column.warning(note, icon=":material/warning:")
        tuned_summary = tables.paired_summaries(found.tuned)["fine_tune_all"]
        summaries[f"{regime}: every arm tuned"] = tuned_summary
        summaries[f"{regime}: every arm at {rate:g}"] = tables.paired_summaries(found.single)["fine_tune_all"]
        verdict_ui(tuned_summary, "fine_tune_all", "Fine-tune all, every arm tuned", column)
    if summaries:
        gains_figure(summaries, list(summaries), "Fine-tune all's gain, tuned and at the single rate",
                     "up_history_tuned_chart")


# 6. The numbers behind the plots: CSV downloads and the command line that fills the same store.
def downloads_section(config, seeds, results, regime: str, *, tune: bool) -> None:
    st.header("6. The numbers behind the plots")
    shown = tuned.TunedFineTuning(config) if tune else config
    store_downloads(results, shown, f"pretraining-{regime}-{config.n_labels}{'-tuned' if tune else ''}.csv", "up")
    flags = (" --tune" if tune else "") + (" --tiny" if tiny_mode() else "")
    st.caption(f"Results store: `{results.path}`. The command line fills the same store with the regimes' own "
               f"autoencoders: `python -m core pretrain --regime {regime} --labels "
               f"{','.join(str(n) for n in label_counts())} --seeds {len(seeds)}{flags}`.")


st.title("Unsupervised pretraining")
st.markdown(
    "Many unlabeled images, few labels: train an autoencoder on the unlabeled ones, reuse its encoder under a new "
    "output and fine-tune on the labels. The chapter also says why this faded; the page measures both, paired by seed."
)
fashion_mnist_or_stop()
settings = settings_ui()
config, seeds = experiment_or_stop(settings)
results = results_store_or_stop("up")
pretraining_section(config, seeds, results)
book_vs_keras_ui("pretraining")
if settings["tuned"]:
    tuned_fine_tuning_section(config, seeds, results)
else:
    comparison = fine_tuning_section(config, seeds, results)
    if comparison is not None:
        pitfall_section(config, comparison, results)
label_counts_section(config, seeds, results, tune=settings["tuned"])
history_section(config, seeds, results, tune=settings["tuned"])
downloads_section(config, seeds, results, settings["regime"], tune=settings["tuned"])
