"""Logic: core/batchnorm/training.py (one setting over seeds: core/batchnorm/seed_runs.py, folding:
core/batchnorm/fold.py) · figures: core/plots/bn_training.py ·
tests: tests/test_bn_training.py, tests/test_page_bn_training.py, tests/test_browser_bn_training.py.

BN in training: test the chapter's claims about Batch Normalization during training, over several seeds.
Every experiment trains on a button press, through core.jobs (ui.jobs.training_ui); its result is kept
per setting and shared by every session that asks for the same one.
"""

from dataclasses import replace

import numpy as np
import streamlit as st

from core import cost
from core.batchnorm import seed_runs
from core.batchnorm import training as bn_training
from core.plots import bn_training as bn_training_plots
from ui.callout import book_vs_keras_ui
from ui.charts import show
from ui.feedback import checked
from ui.frame import page_frame
from ui.jobs import training_ui
from ui.links import linked
from ui.presets import tiny_mode
from ui.sidebar import fashion_mnist_or_stop

page_frame(__file__)

TINY = tiny_mode()
LR_CHOICES = (0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
USABLE = 0.5  # a run "trains" when its final validation accuracy passes this (chance is 0.1)


# Section 4's job: the timing, then folding's refusal message for a model it cannot fold.
def latency_and_refusal(config, progress):
    return bn_training.inference_latency(config, progress), bn_training.folding_error_example()


# Looked up when the job runs, so a test can count trainings by replacing the core function.
def experiment(name: str):
    return {"deep": bn_training.vanishing_gradients, "sweep": bn_training.lr_sweep,
            "book": bn_training.placement_runs, "latency": latency_and_refusal}[name]


# What each experiment costs (core.cost), shown under its button; the classroom lock compares it with the limit.
COSTS = {"deep": cost.vanishing_gradients, "sweep": cost.lr_sweep, "book": cost.placement_runs,
         "latency": cost.inference_latency}


# Builds a config from widget values; core's ValueError becomes an on-page message and None.
def config_or_error_ui(build):
    try:
        return build()
    except ValueError as error:
        st.error(str(error), icon=":material/error:")
        return None


# One experiment's button and its last run: a job in core.jobs, so the run survives reruns and page switches.
def trained_result_ui(name: str, config, label: str):
    training = training_ui(f"bnt_{name}", None if config is None else ("bn_training", name, config),
                           lambda progress: experiment(name)(config, progress), label=label,
                           button="Measure" if name == "latency" else "Train", keep_result=True, primary=True,
                           cost=None if config is None else COSTS[name](config))
    if training.result is None:
        if not training.pending:
            st.info("Press the button to run this experiment with the settings above.", icon=":material/play_arrow:")
        return None
    if training.job_key[-1] != config:
        st.caption("Showing the last run; the settings above changed since. Press the button to run them.")
    return training.result


# The seed count every section offers (in the URL, like every setting on this page), checked under its box.
def seeds_ui(name: str, default: int, container) -> int | None:
    seeds = linked(container.number_input, f"seeds (1 to {seed_runs.MAX_SEEDS})", key=f"bnt_{name}_seeds",
                   value=default, step=1, help="Independent runs (weights and shuffling).")
    return checked(seeds, seed_runs.check_seeds, container=container)


# The SGD learning rate of one section, checked under its box.
def learning_rate_ui(name: str, default: float, container) -> float | None:
    rate = linked(container.number_input, "SGD learning rate", key=f"bnt_{name}_lr", value=default, format="%g",
                  step=0.005)
    return checked(rate, seed_runs.check_learning_rate, container=container)


# 1. Vanishing gradients. Each section is a fragment: its controls and button redraw only that section.
@st.fragment
def vanishing_section() -> None:
    st.header("1. Saturating activations and vanishing gradients")
    defaults = bn_training.VanishingConfig.tiny() if TINY else bn_training.VanishingConfig()
    columns = st.columns(4)
    depth = checked(linked(columns[0].number_input, f"hidden layers (1 to {seed_runs.MAX_DEPTH})", key="bnt_depth",
                           value=defaults.depth, step=1), seed_runs.check_depth, container=columns[0])
    activation = linked(columns[1].radio, "activation", key="bnt_activation",
                        options=bn_training.SATURATING_ACTIVATIONS, horizontal=True,
                        help="sigmoid is Keras's name for the logistic function.")
    learning_rate = learning_rate_ui("deep", defaults.learning_rate, columns[2])
    n_seeds = seeds_ui("deep", defaults.n_seeds, columns[3])
    config = None if None in (depth, learning_rate, n_seeds) else config_or_error_ui(lambda: replace(
        defaults, depth=depth, activation=activation, learning_rate=learning_rate, n_seeds=n_seeds))
    with st.expander("What is trained", icon=":material/info:"):
        st.caption(f"{defaults.units} units per layer, Glorot-uniform weights, SGD, batch {defaults.batch_size}, "
                   f"{defaults.epochs} epochs on the first {defaults.n_train:,} training images, validated on "
                   f"{defaults.n_valid:,}; the BN variant has BN on the inputs and after every hidden layer. The "
                   "gradient norms are those of each seed's first update. All seeds of a variant train together as "
                   "copies in one graph (`core.engine`); each copy matches its own Keras model on the same batches "
                   "to float32 precision in the tests.")
    result = trained_result_ui("deep", config, "Training the deep nets")
    if result is None:
        return
    names = {"none": "no BN", "after": "BN"}
    norms = {names[key]: value for key, value in result.gradient_norms.items()}
    show(bn_training_plots.gradient_norms_figure(norms), key="bnt_fig_gradients")
    ratios = {name: float(np.median(value[:, 0] / value[:, -2])) for name, value in norms.items()}
    st.markdown(
        f"First hidden layer's gradient norm divided by the last hidden layer's (median over seeds): "
        f"**{ratios['no BN']:.2g}** without BN, **{ratios['BN']:.2g}** with BN. A ratio far below 1 is the "
        "vanishing-gradient picture: the layers next to the input barely move."
    )
    curves = {names[key]: (range(1, runs.val_accuracy.shape[1] + 1), runs.val_accuracy)
              for key, runs in result.runs.items()}
    show(bn_training_plots.accuracy_curves_figure(curves, "epoch", "Does the deep net learn?"), key="bnt_fig_deep")
    finals = {name: float(values[:, -1].mean()) for name, (_, values) in curves.items()}
    st.markdown(f"Final validation accuracy (mean over seeds): **{finals['no BN']:.3f}** without BN, "
                f"**{finals['BN']:.3f}** with BN (chance: 0.100).")


# 2. Learning rates and initialisers: which (learning rate, initialiser) cells train at all.
@st.fragment
def sweep_section() -> None:
    st.header("2. Learning-rate tolerance and initialisation")
    defaults = bn_training.SweepConfig.tiny() if TINY else bn_training.SweepConfig()
    columns = st.columns([3, 2, 1, 1])
    learning_rates = linked(columns[0].multiselect, "learning rates", key="bnt_sweep_lrs", options=LR_CHOICES,
                            default=list(defaults.learning_rates))
    initializers = linked(columns[1].multiselect, "initialisers", key="bnt_sweep_inits",
                          options=bn_training.INITIALIZERS, default=list(defaults.initializers),
                          help="random_normal is Keras's RandomNormal(stddev=0.05): too small for a deep net.")
    activation = linked(columns[2].selectbox, "activation", key="bnt_sweep_activation",
                        options=("tanh", "sigmoid", "elu"))
    n_seeds = seeds_ui("sweep", defaults.n_seeds, columns[3])
    config = None if n_seeds is None else config_or_error_ui(lambda: replace(
        defaults, learning_rates=tuple(sorted(learning_rates)), initializers=tuple(initializers),
        activation=activation, n_seeds=n_seeds))
    st.caption(f"{defaults.depth} hidden layers of {defaults.units} units, SGD, batch {defaults.batch_size}, "
               f"{defaults.epochs} epochs on {defaults.n_train:,} images: short runs, so this is about what starts "
               "to train. A run whose loss became nan counts as chance (0.1). Seed s gives every cell the same batch "
               "order, so the initialiser lines differ only in their starting weights; the seeds of a cell train "
               "together in one graph.")
    result = trained_result_ui("sweep", config, "Sweeping learning rates")
    if result is None:
        return
    named = {"no BN": result.final_accuracy["none"], "BN": result.final_accuracy["after"]}
    show(bn_training_plots.lr_sweep_figure(result.learning_rates, result.initializers, named), key="bnt_fig_sweep")
    lines = []
    for name, table in named.items():
        for index, initializer in enumerate(result.initializers):
            usable = [f"{rate:g}" for rate, accuracy in zip(result.learning_rates, table[index].mean(axis=1))
                      if accuracy > USABLE]
            lines.append(f"- {name}, {initializer}: {', '.join(usable) if usable else 'none'}")
    st.markdown(f"Learning rates that reached validation accuracy above {USABLE}:\n" + "\n".join(lines))


# 3. Where to put BN, and what each placement costs in wall-clock time.
@st.fragment
def placement_section() -> None:
    st.header("3. BN after or before the activation, and the wall-clock bill")
    defaults = bn_training.PlacementConfig.tiny() if TINY else bn_training.PlacementConfig()
    columns = st.columns(3)
    learning_rate = learning_rate_ui("book", defaults.learning_rate, columns[0])
    epochs = checked(linked(columns[1].number_input, f"epochs (1 to {bn_training.MAX_EPOCHS})", key="bnt_book_epochs",
                            value=defaults.epochs, step=1), bn_training.check_epochs, container=columns[1])
    n_seeds = seeds_ui("book", defaults.n_seeds, columns[2])
    config = None if None in (learning_rate, epochs, n_seeds) else config_or_error_ui(
        lambda: replace(defaults, learning_rate=learning_rate, epochs=epochs, n_seeds=n_seeds))
    st.code(
        "# after (the book's listing):\n"
        "Dense(300, activation='elu', kernel_initializer='he_normal'), BatchNormalization()\n"
        "# before:\n"
        "Dense(300, kernel_initializer='he_normal', use_bias=False), BatchNormalization(), Activation('elu')\n"
        "# none:\n"
        "Dense(300, activation='elu', kernel_initializer='he_normal')",
        language="python", wrap_lines=True,
    )
    st.caption(f"SGD, batch {defaults.batch_size}, on the first {defaults.n_train:,} training images, "
               f"validated on {defaults.n_valid:,}.")
    result = trained_result_ui("book", config, "Training the book's model three ways")
    if result is None:
        return
    names = {"after": "BN after", "before": "BN before", "none": "no BN"}
    by_epoch = {names[key]: (range(1, runs.val_accuracy.shape[1] + 1), runs.val_accuracy)
                for key, runs in result.items()}
    by_time = {names[key]: (np.cumsum(runs.epoch_seconds, axis=1).mean(axis=0), runs.val_accuracy)
               for key, runs in result.items()}
    left, right = st.columns(2)
    show(bn_training_plots.accuracy_curves_figure(by_epoch, "epoch", "Against epochs"),
         key="bnt_fig_epochs", container=left)
    show(bn_training_plots.accuracy_curves_figure(by_time, "seconds of training (mean over seeds)",
                                                  "Against wall-clock time"),
         key="bnt_fig_seconds", container=right)
    show(bn_training_plots.epoch_seconds_figure({names[key]: runs.epoch_seconds for key, runs in result.items()}),
         key="bnt_fig_epoch_time")
    target = float(result["none"].val_accuracy[:, -1].mean())
    for cell, (key, runs) in zip(st.columns(3), result.items()):
        reach = bn_training.seconds_to_reach(runs, target)
        cell.metric(f"{names[key]}: s per epoch (median)", f"{np.median(runs.epoch_seconds):.2f}")
        cell.metric(f"{names[key]}: s to reach {target:.3f}",
                    f"{np.nanmean(reach):.1f}" if np.isfinite(reach).any() else "not reached",
                    help="The accuracy the BN-free model ends with, averaged over seeds.")
    st.caption("Times are measured on this server while the run happened, after a warm-up that excludes the "
               "one-off graph tracing; other load on the machine makes them noisy. Unlike sections 1 and 2, each "
               "seed here is its own Keras `fit`, timed epoch by epoch: the seconds axis must be what one model's "
               "epoch costs, and a run that stacks the seeds into one graph shares its epochs among them.")


# 4. The prediction-time cost of BN, and folding it into the Dense layers.
@st.fragment
def latency_section() -> None:
    st.header("4. The prediction-time cost, and folding BN away")
    st.markdown(
        "At prediction time a BN layer uses its moving mean and variance, so it is a fixed scale and shift per "
        "feature: `y = x * s + t` with `s = gamma / sqrt(moving_var + epsilon)` and `t = beta - moving_mean * s`. "
        "A fixed affine map next to a Dense layer can be merged into its weights:\n"
        "- **BN before the activation** (`Dense(use_bias=False) -> BN -> Activation`): the BN acts on the Dense "
        "output, so `W' = W * s` column by column and `b' = b * s + t`.\n"
        "- **BN after the activation**, or on the inputs: the BN acts on the *inputs* of the next Dense layer, so "
        "`W' = s[:, None] * W` and `b' = t @ W + b`.\n\n"
        "Both rewrites are exact algebra, so the folded model differs only by float32 rounding. A BN at the very "
        "end folds too if a linear Dense comes right before it (`Dense(10) -> BN -> softmax`: the first rewrite). "
        "Folding is impossible when a nonlinearity separates the BN from every Dense layer it could merge with: "
        "`BN -> tanh -> Dense`, or a last BN right after a nonlinearity (`Dense(activation='elu') -> BN`, nothing "
        "after it). During training nothing can be folded: there BN uses each batch's own statistics."
    )
    defaults = bn_training.LatencyConfig.tiny() if TINY else bn_training.LatencyConfig()
    column = st.columns(3)[0]
    repeats = checked(linked(column.number_input, f"timed calls per batch size (3 to {bn_training.MAX_REPEATS})",
                             key="bnt_repeats", value=defaults.repeats, step=1), bn_training.check_repeats,
                      container=column)
    config = None if repeats is None else config_or_error_ui(lambda: replace(defaults, repeats=repeats))
    result = trained_result_ui("latency", config, "Timing predictions")
    if result is None:
        return
    timing, refusal = result
    for cell, placement in zip(st.columns(2), ("after", "before")):
        cell.metric(f"max |folded - original|, BN {placement}", f"{timing.max_abs_difference[placement]:.1e}",
                    help="Over the 10,000 test images' softmax outputs, with random non-trivial BN statistics.")
    show(bn_training_plots.latency_figure(timing.batch_sizes, timing.milliseconds, "no BN"), key="bnt_fig_latency")
    st.dataframe({"model": list(timing.milliseconds),
                  **{f"ms per call, batch {size}":
                     [float(np.median(values[i])) for values in timing.milliseconds.values()]
                     for i, size in enumerate(timing.batch_sizes)}},
                 hide_index=True, column_config={name: st.column_config.NumberColumn(format="%.2f")
                                                 for name in (f"ms per call, batch {b}" for b in timing.batch_sizes)})
    st.caption("Median of the timed calls of a compiled forward pass (`model(x, training=False)` in a "
               "`tf.function`), the variants interleaved call by call.")
    with st.expander("What folding says when it cannot fold"):
        st.code("Dense(30, activation='elu') -> BatchNormalization() -> Activation('tanh') -> Dense(10)",
                wrap_lines=True)
        st.error(refusal, icon=":material/block:")


st.title("Batch Normalization in training")
st.markdown(
    "The chapter credits BN with trainable deep sigmoid/tanh nets, larger usable learning rates, less fuss over "
    "the initialisation and faster training despite slower epochs, at a cost at prediction time. Each section "
    "tests one claim on a slice of Fashion-MNIST, over several seeds."
)
fashion_mnist_or_stop()
vanishing_section()
sweep_section()
placement_section()
latency_section()
book_vs_keras_ui("bn")
