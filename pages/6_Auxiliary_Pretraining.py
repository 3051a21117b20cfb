"""Logic: core/auxiliary/ (statistics: core/auxiliary/summary.py and core/stats.py, the headline arm:
core/auxiliary/selection.py, every arm tuned: core/auxiliary/tuned.py, results: core/store.py) · figures:
core/plots/auxiliary.py · tests: tests/test_auxiliary.py, tests/test_auxiliary_tuned.py, tests/test_page_auxiliary.py,
tests/test_browser_auxiliary.py.

Pretraining on an auxiliary task: a same/different (Siamese) net, a masked-image net, then every source's
encoder reused with few labels against training from scratch, paired by seed. Every training is a button
press through core.jobs (ui.jobs.training_ui); finished runs land in the results store, which the sections read.
"""

import numpy as np
import streamlit as st

from core import auxiliary, cost, store
from core.auxiliary import selection, summary, table, tuned
from core.data import CLASS_NAMES
from core.plots import auxiliary as auxiliary_plots
from core.runs import tuning
from ui.charts import show
from ui.frame import page_frame
from ui.jobs import training_ui
from ui.links import linked
from ui.presets import tiny_caption, tiny_mode
from ui.sidebar import fashion_mnist_or_stop

page_frame(__file__)

MODE_LABELS = {"fine_tune": "fine-tuned throughout", "frozen": "frozen (only the new output trains)",
               "frozen_then_unfrozen": "frozen, then unfrozen at a lower rate"}
BOXES = {"success": st.success, "error": st.error, "warning": st.warning, "info": st.info}


# The settings every section shares, bound to the URL; returns the comparison's base config and its seeds.
def settings_ui() -> tuple[auxiliary.Reuse, tuple[int, ...], tuple[int, ...]]:
    left, middle, right = st.columns([3, 2, 2])
    first, second = left.columns(2)
    negative = linked(first.selectbox, "Target: label 0", key="aux_negative", options=CLASS_NAMES, index=0)
    positive = linked(second.selectbox, "Target: label 1", key="aux_positive", options=CLASS_NAMES, index=2)
    n_seeds = linked(middle.number_input, "Seeds", key="aux_seeds", min_value=0, max_value=200,
                     value=2 if tiny_mode() else 3, step=1)
    patch = linked(right.radio, "Masked patch (pixels)", key="aux_patch", options=auxiliary.PATCH_SIZES, index=1,
                   horizontal=True)
    counts = auxiliary.TINY_LABEL_COUNTS if tiny_mode() else auxiliary.LABEL_COUNTS
    labels = linked(st.multiselect, "Labelled target images per seed", key="aux_labels", options=counts,
                    default=list(counts))
    try:
        pair = (CLASS_NAMES.index(negative), CLASS_NAMES.index(positive))
        common = auxiliary.Common.tiny(pair) if tiny_mode() else auxiliary.Common(pair)
        base = (auxiliary.Reuse.tiny(common=common, patch=int(patch)) if tiny_mode() else
                auxiliary.Reuse(common, patch=int(patch)))
        seeds = auxiliary.seed_list(n_seeds)
        if not labels:
            raise ValueError("Choose at least one number of labels.")
    except ValueError as error:
        st.error(str(error), icon=":material/error:")
        st.stop()
    tiny_caption("a small net, few images and updates")
    return base, seeds, tuple(sorted(int(count) for count in labels))


def store_or_stop() -> store.Store:
    try:
        return store.Store()
    except store.StoreError as error:
        st.error(str(error), icon=":material/database:")
        st.stop()


def stored(results: store.Store, config, seeds) -> bool:
    return set(seeds) <= results.finished_seeds(config)


# A section's Train button (shown while seeds are missing) and its job; True once every seed is stored.
def train_ui(key: str, kind: str, config, seeds, run, results, what: str) -> bool:
    missing = len(set(seeds) - results.finished_seeds(config))
    training = training_ui(key, auxiliary.job_key(kind, config, seeds), run, label=what,
                           button=f"Train {what} ({missing} missing seed{'s' * (missing != 1)})", offer=missing > 0,
                           primary=True, cost=cost.auxiliary_source(config, missing))
    if training.pending:
        return False
    if stored(results, config, seeds):
        return True
    st.info(f"{len(seeds) - missing} of {len(seeds)} seeds are in the results store: press the button to train "
            "the others.", icon=":material/play_arrow:")
    return False


# What the same/different net is, and the trap (shown before training, and under its first number after).
def explain_siamese(base: auxiliary.Reuse) -> None:
    pair = base.common.target_pair
    others = ", ".join(CLASS_NAMES[label] for label in base.common.other_classes)
    st.markdown(
        "A **Siamese net** applies one encoder (one set of weights) to both images of a pair and decides from "
        "|e₁ − e₂| whether they show the same kind of item: binary cross-entropy, **label 1 = same class**. "
        f"Pairs come only from the 8 classes the target task does not use ({others}), half same, half different. "
        f"**The trap:** pairs built from {CLASS_NAMES[pair[0]]} and {CLASS_NAMES[pair[1]]} themselves would need "
        "their labels: that is supervised training on the very labels we are short of."
    )


# 1. Same or different: the Siamese net's pair accuracy, distances, and the unseen classes' embeddings.
@st.fragment
def siamese_section(base: auxiliary.Reuse, seeds, results) -> None:
    st.header("1. Same or different")
    pair = base.common.target_pair
    config = base.source("siamese")
    ready = train_ui("aux_siamese", "siamese", config, seeds,
                     lambda progress: auxiliary.pretrain_source(config, seeds, store.Store(), progress), results,
                     "the same/different net")
    if not ready:
        explain_siamese(base)
        return
    view = auxiliary.siamese_view(config, seeds, results)
    st.metric("Held-out pair accuracy (validation images, 8 classes)", f"{view.pair_accuracy.mean():.1%}",
              help="Mean over seeds; chance is 50% (half the pairs are same-class)")
    explain_siamese(base)
    st.caption(f"Per seed: {', '.join(f'{value:.1%}' for value in view.pair_accuracy)}; each seed trained "
               f"{config.common.source_updates:,} updates of 32 pairs in {view.seconds_per_seed.mean():.1f} s.")
    left, right = st.columns(2)
    show(auxiliary_plots.distance_histogram_figure(view.distances, view.same), key="aux_distance_chart",
         container=left)
    names = {label: CLASS_NAMES[label] for label in pair}
    show(auxiliary_plots.embedding_figure(view.pca[0], view.pca_labels, names), key="aux_embedding_chart",
         container=right)
    st.caption("Right: seed 0's embeddings of validation images of the two target classes, which the net never "
               "saw in a pair. If they separate here, the features may help the target task.")


# 2. Masked images: hide a patch, predict it; the loss counts only the hidden pixels.
@st.fragment
def masked_section(base: auxiliary.Reuse, seeds, results) -> None:
    st.header("2. Masked images (self-supervised)")
    st.markdown(
        f"Hide a {base.patch}×{base.patch} square of each unlabeled image (its pixels set to 0, a new place at "
        "every update) and train an encoder-decoder to fill it in. The loss is the mean squared error **over the "
        "hidden pixels only**: the visible ones are given, so scoring them would reward copying. No label is used."
    )
    config = base.source("masked")
    ready = train_ui("aux_masked", "masked", config, seeds,
                     lambda progress: auxiliary.pretrain_source(config, seeds, store.Store(), progress), results,
                     "the masked-image net")
    if not ready:
        return
    view = auxiliary.masked_view(config, seeds, results)
    left, right = st.columns(2)
    left.metric("MSE on hidden pixels (validation)", f"{view.valid_masked_mse.mean():.4f}",
                help="Mean over seeds, every image with the same fixed patches")
    right.metric("Leaving the patch black", f"{view.blank_masked_mse:.4f}",
                 help="The same error if the net predicted 0 for every hidden pixel: the floor to beat")
    show(auxiliary_plots.masked_examples_figure(view.masked_inputs, view.predictions[0], view.originals),
         key="aux_masked_chart")
    st.caption("Seed 0's net on validation images. Its encoder, not its decoder, is what the target task reuses.")


# 3. Reuse with few labels: every source, every mode, against scratch at equal updates, paired by seed.
@st.fragment
def reuse_section(base: auxiliary.Reuse, seeds, label_counts, results) -> None:
    st.header("3. Reuse with few labels")
    st.markdown(
        "Which pretraining helps most when labels are few? Each source's encoder (the **supervised** net of the "
        "8 other classes, the unsupervised page's **autoencoder**, the **siamese** net, the **masked** net) gets "
        "a new 2-way output and trains on the target pair, "
        f"against the same net **from scratch**: every arm {base.updates} updates on the same batches for a seed, "
        "each seed its own sources and its own labelled images, so arms are compared seed by seed."
    )
    comparison = protocol_ui(base)
    configs = [comparison.with_labels(count) for count in label_counts]
    missing = sum(len(set(seeds) - results.finished_seeds(config)) for config in configs)
    is_tuned = isinstance(comparison, tuned.TunedReuse)
    train = tuned.run_tuned_grid if is_tuned else auxiliary.run_grid
    training = training_ui("aux_reuse", auxiliary.job_key("reuse", comparison, seeds) + (label_counts,),
                           lambda progress: train(comparison, label_counts, seeds, store.Store(), progress),
                           label="The comparison", button=f"Train the comparison ({missing} missing seed runs)",
                           offer=missing > 0, primary=True, cost=cost.auxiliary_reuse(configs, seeds, results))
    if training.pending:
        return
    done = [config for config in configs if stored(results, config, seeds)]
    if len(done) < len(configs):
        st.info(f"{len(done)} of {len(configs)} label counts have every seed stored: press the button to train the "
                "rest (the sources are trained first, once, and kept).", icon=":material/play_arrow:")
        if not done:
            return
    grid = {config.n_labels: auxiliary.load_reuse(config, seeds, results) for config in done}
    searches = ({config.n_labels: tuned.load_searches(config, seeds, results) for config in done} if is_tuned
                else None)
    reuse_results(grid, seeds, searches)


# The protocol beside the comparison's settings: the book's untuned arms, or every arm searched over one grid.
def protocol_ui(base: auxiliary.Reuse):
    if not linked(st.toggle, "Every arm tuned (same grid, picked on validation)", key="aux_tuned", value=False):
        st.caption(f"Untuned: the book's protocol, every arm Nadam {base.learning_rate:g}, frozen then unfrozen at "
                   f"{base.unfrozen_learning_rate:g} after unfreezing. An arm that would do better at another rate "
                   "loses here for a reason that has nothing to do with its pretraining.")
        return base
    comparison = tuned.TunedReuse(base)
    st.caption(f"Every arm, scratch included, trains once per rate of the same grid (Nadam "
               f"{tuning.rates_text(comparison.rates)}; frozen then unfrozen keeps the ratio "
               f"{base.unfrozen_learning_rate / base.learning_rate:g} after unfreezing), and each seed keeps the rate "
               "with the best accuracy on the target pair's validation images, never the test images.")
    return comparison


def reuse_results(grid: dict, seeds, searches) -> None:
    mode = linked(st.radio, "Reuse mode in the chart", key="aux_mode", options=list(MODE_LABELS),
                  format_func=MODE_LABELS.get, horizontal=True)
    counts = sorted(grid)
    lines = {"from scratch": np.stack([grid[count].arm("scratch") for count in counts], axis=1)}
    for source in auxiliary.SOURCES:
        lines[source] = np.stack([grid[count].arm(f"{source}:{mode}") for count in counts], axis=1)
    show(auxiliary_plots.accuracy_by_labels_figure(counts, lines), key="aux_labels_chart")
    if len(seeds) < 2:
        st.info("Paired statistics need at least 2 seeds.", icon=":material/info:")
        return
    st.subheader(f"Paired gains over scratch: all {len(summary.REUSE_ARMS)} arms")
    st.caption(f"Verdicts are corrected for comparing {len(summary.REUSE_ARMS)} arms ({summary.CORRECTION}): "
               "reliable means the mean gain's 95% t-interval excludes 0 and the Holm-adjusted signed-rank p is "
               "below 0.05 on the same side. The uncorrected verdict judges each arm as if it were the only one.")
    st.dataframe(table.table_rows(grid, searches), hide_index=True)
    count = linked(st.selectbox, "Gains at", key="aux_gain_count", options=counts, index=len(counts) - 1,
                   format_func=lambda n: f"{n} labels")
    found = summary.summaries(grid[count])
    arms = list(found)
    show(auxiliary_plots.paired_gains_figure(
        [auxiliary.arm_label(arm) for arm in arms], [found[arm].differences for arm in arms],
        [found[arm].mean_difference.value for arm in arms], [found[arm].mean_difference.low for arm in arms],
        [found[arm].mean_difference.high for arm in arms], f"Gain over scratch with {count} labels"),
        key="aux_gains_chart")
    headline_ui(grid[count])
    if searches is not None:
        picked_ui(searches[count], count)


# The one arm the page names: picked on validation from the 12, its test verdict corrected for the 12.
def headline_ui(result: auxiliary.ReuseResult) -> None:
    best = selection.headline(result)
    if best is None:
        st.info("No arm is named best: these rows were stored before the lab kept validation scores, and the best "
                "arm may only be picked on validation, never on the test set. Every arm's verdict is in the table.",
                icon=":material/info:")
        return
    tone, text = selection.headline_box(best)
    BOXES[tone](text)
    caveat = best.test.summary.coverage_caveat
    if caveat:
        st.caption(caveat)


# Which rate each arm's seeds picked: a rate at the grid's edge says the grid may be too narrow for that arm.
def picked_ui(searches: dict, count: int) -> None:
    names = [auxiliary.arm_label(arm) for arm in auxiliary.ARMS]
    rates = searches[auxiliary.ARMS[0]].rates
    show(auxiliary_plots.picked_rates_figure(names, rates, tuned.picked_counts(searches)), key="aux_picked_chart")
    st.caption(f"With {count} labels: how many seeds picked each rate, arm by arm (on validation).")
    for note in tuned.edge_notes(searches):
        st.warning(note, icon=":material/warning:")


st.title("Pretraining on an auxiliary task")
st.markdown(
    "Labels are scarce, images are not: train a first net on a task whose labels are free (same kind or not?) or "
    "need no label (fill in a hidden patch), reuse its lower layers, and see which pretraining helps most."
)
fashion_mnist_or_stop()
BASE, SEEDS, LABEL_COUNTS = settings_ui()
RESULTS = store_or_stop()
siamese_section(BASE, SEEDS, RESULTS)
masked_section(BASE, SEEDS, RESULTS)
reuse_section(BASE, SEEDS, LABEL_COUNTS, RESULTS)
