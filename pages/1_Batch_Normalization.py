"""Logic: core/batchnorm/ · figures: core/plots/batchnorm.py · tests: tests/test_batchnorm.py,
tests/test_page_batchnorm.py, tests/test_browser_batchnorm.py.

Batch Normalization: momentum, axis, parameters, training vs inference, each computed live. Nothing here
trains: every number is a cached numpy simulation or a read of a small Keras model, so no button and no job.
"""

import dataclasses
from typing import NamedTuple

import numpy as np
import streamlit as st

from core import batchnorm as bn
from core.plots import batchnorm as batchnorm_plots
from ui.callout import book_vs_keras_ui
from ui.charts import show
from ui.feedback import checked
from ui.frame import page_frame
from ui.links import link_note, linked
from ui.presets import tiny_mode
from ui.progress import progress_bar
from ui.sidebar import fashion_mnist_or_stop

page_frame(__file__)

TINY = tiny_mode()
MOMENTUM_CHOICES = [f"{m:g}" for m in bn.MOMENTUM_PRESETS] + ["other"]
SOURCE_OPTIONS = {"Fashion-MNIST": "fashion", "Synthetic shift": "shift"}  # label (also the URL value) -> source
EXAMPLES_SEEN = {"5,500": 5_500, "55,000": 55_000, "275,000": 275_000}  # a tenth of an epoch, one, five
AXIS_CHOICES = ["-1", "1", "2", "[1, 2]"]
TABS = ["Momentum", "Axis", "Parameters", "Training vs inference"]  # also the URL values of bn_section


class StreamChoice(NamedTuple):
    """The shared controls, checked: `config` is None (and an error is shown) when a value is out of range."""
    source: str  # "fashion" or "shift"
    momentum: float | None
    batch_size: int | None
    config: bn.StreamConfig | None
    pool: np.ndarray | None  # the pixels a Fashion-MNIST stream samples; None for the synthetic one


# Cached so a rerun reuses the data set's pixels instead of slicing 55,000 images again.
@st.cache_data(show_spinner=False)
def cached_pixel_pool(_x_train: np.ndarray) -> np.ndarray:  # _: one data set per process, not hashed
    return bn.pixel_pool(_x_train)


# The cached functions below take the pool as `_pool` (not hashed): it is fixed per process, and
# config.source already tells the Fashion-MNIST and synthetic streams apart.


# The batches of one run and the moving statistics of each momentum, for the plotted pixel.
@st.cache_data(show_spinner=False, max_entries=32)
def trajectories(config: bn.StreamConfig, momenta: tuple, _pool) -> tuple[dict, np.ndarray, np.ndarray]:
    stream = bn.sample_stream(config, _pool, n_features=1)
    curves = {}
    for momentum in momenta:
        moving = bn.moving_stats_trajectory(stream.batches, momentum)
        curves[f"momentum {momentum:g}"] = (moving.moving_mean[:, 0], moving.moving_variance[:, 0])
    return curves, stream.true_mean[:, 0], stream.true_variance[:, 0]


# The bar is drawn inside the cached call, so a cache hit replays it (drawn, then emptied).
@st.cache_data(show_spinner=False, max_entries=64)
def error_grid(config: bn.HeatmapConfig, _pool) -> np.ndarray:
    update, bar = progress_bar("Simulating every (momentum, batch size)")
    errors = bn.final_error_grid(config, _pool, update)
    bar.empty()
    return errors


# The training-vs-inference gap along one run, probed with a batch the run never saw.
@st.cache_data(show_spinner=False, max_entries=32)
def train_inference_gap(config: bn.StreamConfig, momentum: float, _pool) -> tuple[np.ndarray, float]:
    stream = bn.sample_stream(config, _pool)
    probe = bn.sample_stream(bn.StreamConfig(config.source, config.batch_size, 1, config.seed + 1), _pool)
    return bn.train_inference_gap(stream, momentum, probe.batches[0])


# Batches of 1 to 4 through the moving statistics: what breaks, and by how much.
@st.cache_data(show_spinner=False)
def tiny_batches(source: str, _pool) -> bn.TinyBatchReport:
    return bn.tiny_batch_report(n_steps=600 if TINY else 3000, source=source, pool=_pool)


# Keras work: built once per server, never on a rerun.
@st.cache_data(show_spinner="Building the book's model with Keras...")
def parameter_summary(placement: str) -> bn.ParameterSummary:
    return bn.parameter_summary(placement)


# A real Keras BN layer, frozen and not, on the same batch (built once per server, as the summary above).
@st.cache_data(show_spinner="Running a real Keras BatchNormalization layer...")
def frozen_demo() -> bn.FrozenDemo:
    return bn.frozen_layer_demo()


# Shared controls: data source, momentum, batch size, each checked under its own box (all in the URL, so a
# teacher can share a setup).
def stream_ui() -> StreamChoice:
    source_column, momentum_column, batch_column = st.columns([1.2, 1.4, 1])
    source = linked(source_column.segmented_control, "Data source", key="bn_source", options=list(SOURCE_OPTIONS),
                    default="Fashion-MNIST", required=True,
                    help="Fashion-MNIST: pixel intensities of the book's 55,000 training images. Synthetic: "
                         "Gaussian values whose mean jumps halfway through training.")
    choice = linked(momentum_column.segmented_control, "Momentum", key="bn_momentum", options=MOMENTUM_CHOICES,
                    default="0.99", required=True)
    if choice == "other":
        choice = linked(momentum_column.number_input, "Your momentum (0 <= momentum < 1)", key="bn_momentum_other",
                        value=0.95, step=0.005, format="%g")
    batch_text = linked(batch_column.number_input, f"Batch size (1 to {bn.MAX_BATCH_SIZE:,})", key="bn_batch",
                        value=32, step=1)
    source = SOURCE_OPTIONS[source]
    pool = cached_pixel_pool(fashion_mnist_or_stop().x_train) if source == "fashion" else None
    momentum = checked(choice, bn.check_momentum, container=momentum_column)
    batch_size = checked(batch_text, bn.check_batch_size, container=batch_column)
    if momentum is None or batch_size is None:
        return StreamChoice(source, None, None, None, pool)
    n_steps = (bn.StreamConfig.tiny() if TINY else bn.StreamConfig()).n_steps
    return StreamChoice(source, momentum, batch_size, bn.StreamConfig(source, batch_size, n_steps), pool)


# The Axis tab's controls: which axis keeps its own statistics, and BN before or after Flatten.
def axis_controls_ui() -> tuple[str, bool]:
    axis_column, flatten_column = st.columns(2)
    axis = linked(axis_column.segmented_control, "axis", key="bn_axis", options=AXIS_CHOICES + ["other"],
                  default="-1", required=True)
    if axis == "other":
        axis = linked(axis_column.text_input, "Your axis (an integer, or a list like [1, 2])", key="bn_axis_other",
                      value="3", max_chars=40)
    flattened = linked(flatten_column.toggle, "BN after Flatten (batch shaped [batch, 784])", key="bn_flatten",
                       value=False)
    return axis, flattened


# Tab 1, Momentum: the moving statistics of every preset momentum against the population they chase.
def momentum_section(stream: StreamChoice) -> None:
    if stream.config is None:
        st.info("Fix the controls above to see the moving statistics.", icon=":material/info:")
        return
    window = bn.effective_window(stream.momentum)
    momenta = tuple(sorted({*bn.MOMENTUM_PRESETS, stream.momentum}))
    curves, true_mean, true_variance = trajectories(stream.config, momenta, stream.pool)
    what = "the centre pixel's intensity" if stream.source == "fashion" else "one synthetic feature"
    highlight = f"momentum {stream.momentum:g}"
    show(batchnorm_plots.bn_moving_stats_figure(curves, true_mean, true_variance, highlight=highlight),
         key="bn_moving_figure")
    st.caption(f"Moving statistics of {what} after each of {stream.config.n_steps:,} training steps "
               f"of batch size {stream.batch_size}; dashed: the population value the layer should learn.")
    st.markdown(
        f"**Rule of thumb:** the moving averages mostly remember the last 1 / (1 - momentum) "
        f"= **{window:,.0f} batches** ({window * stream.batch_size:,.0f} examples at batch size "
        f"{stream.batch_size}). Higher momentum averages away more noise but needs more steps to forget its "
        "start (moving mean 0, moving variance 1) or to follow a shift."
    )
    heatmap_section(stream)


# Tab 1, continued: the best momentum per batch size. A fragment: its slider redraws only the heatmap.
@st.fragment
def heatmap_section(stream: StreamChoice) -> None:
    st.subheader("Which momentum for which batch size?")
    seen_label = linked(st.select_slider, "Training examples seen (55,000 = one epoch of the book's training set)",
                        key="bn_examples", options=list(EXAMPLES_SEEN), value="55,000")
    grid_config = bn.HeatmapConfig.tiny() if TINY else bn.HeatmapConfig(n_examples=EXAMPLES_SEEN[seen_label])
    grid_config = dataclasses.replace(grid_config, source=stream.source)
    errors = error_grid(grid_config, stream.pool)
    chosen = (stream.momentum, stream.batch_size)
    highlight = chosen if chosen[0] in grid_config.momenta and chosen[1] in grid_config.batch_sizes else None
    show(batchnorm_plots.bn_error_heatmap(errors, grid_config.momenta, grid_config.batch_sizes, highlight),
         key="bn_heatmap")
    runs = "one run" if grid_config.n_repeats == 1 else f"mean of {grid_config.n_repeats} runs"
    st.caption(
        "Error of the inference outputs after training, caused by imperfect moving statistics "
        "(RMS gap to what exact population statistics would give, in units of the normalised output; "
        f"{runs}). Stars: best momentum per batch size. Small batches "
        "give many noisy steps, so they want more 9s; large batches give few steps, and 0.999 never "
        "gets away from its starting values. More data (more steps) moves the stars up. Batch size 1 "
        "is broken at any momentum: its batch variance is always 0."
    )


# Tab 2, Axis: which cells share one mean and std. A fragment: its controls redraw only this tab.
@st.fragment
def axis_section() -> None:
    st.markdown(
        "Which cells share one mean and one standard deviation? For a batch of images shaped "
        "`[batch, 28, 28]` (BN placed before `Flatten`), `axis` names the axes that **keep** their own "
        "statistics; the statistics are averaged over every other axis, the batch axis included."
    )
    axis_text, flattened = axis_controls_ui()
    images = fashion_mnist_or_stop().x_train[5000:5000 + (64 if TINY else 512)].astype(np.float64) / 255.0
    try:
        shape = (None, 784) if flattened else (None, 28, 28)
        groups = bn.group_map((28, 28), axis_text, flattened=flattened)
        count = bn.bn_parameter_count(shape, axis_text)
        gamma_shape = bn.bn_parameter_shape(shape, axis_text)
        normalised, mean_image = bn.normalize_images(images, axis_text, flattened=flattened)
    except ValueError as error:
        st.error(str(error), icon=":material/error:")
        return
    metrics = st.columns(4)
    metrics[0].metric("groups (means / stds)", f"{len(np.unique(groups)):,}")
    metrics[1].metric("scale (gamma)", f"{count.scale:,}", help=f"shape {gamma_shape}")
    metrics[2].metric("offset (beta)", f"{count.offset:,}")
    metrics[3].metric("moving mean + variance", f"{count.moving:,}")
    left, right = st.columns(2)
    show(batchnorm_plots.bn_group_map_figure(groups, "pixels of one colour share statistics"), key="bn_group_map",
         container=left)
    show(batchnorm_plots.bn_image_row([mean_image], [f"batch mean per group ({len(images)} images)"], height=360),
         key="bn_mean_image", container=right)
    shown = [0, 1, 2, 3]
    show(batchnorm_plots.bn_image_row([images[i] for i in shown], [f"item {i}" for i in shown]), key="bn_items_before")
    show(batchnorm_plots.bn_image_row([normalised[i] for i in shown], [f"item {i}, normalised" for i in shown],
                                      zmid=0.0), key="bn_items_after")
    if not flattened and bn.normalized_axes(shape, axis_text) == (1, 2):
        flat = bn.normalize_images(images, -1, flattened=True)[0]
        st.warning(
            "`BatchNormalization(axis=[1, 2])` is the book's tf.keras way to keep one statistic per "
            "pixel. Keras 3 accepts a single integer axis only and raises `TypeError`. Flatten (or "
            f"reshape) first: the largest difference from the book's meaning here is "
            f"{np.abs(flat - normalised).max():.1e}.", icon=":material/history_edu:")
        st.code("layers.Flatten(),\nlayers.BatchNormalization(),   # 784 features: one mean/std per pixel\n"
                "layers.Reshape((28, 28)),      # only if the next layer wants images", language="python",
                wrap_lines=True)


# Tab 3, Parameters: the book's two models, read from live Keras models.
def parameters_section() -> None:
    st.markdown(
        "The book's model: `Flatten -> BN -> Dense(300, elu) -> BN -> Dense(100, elu) -> BN -> Dense(10)`, "
        "and its variant with BN before each activation (`Dense(use_bias=False) -> BN -> Activation`). "
        "The tables are read from live Keras models."
    )
    for column, placement in zip(st.columns(2), ("after", "before")):
        summary = parameter_summary(placement)
        with column:
            st.markdown(f"**BN {placement} the activation** (`{summary.model_name}`)")
            cells = st.columns(3)
            cells[0].metric("total", f"{summary.total:,}")
            cells[1].metric("trainable", f"{summary.trainable:,}")
            cells[2].metric("non-trainable", f"{summary.non_trainable:,}")
            st.dataframe([row.__dict__ for row in summary.layers], hide_index=True, key=f"bn_layers_{placement}")
    st.markdown("**Inside each BN layer** (book's model):")
    variables = [{**row.__dict__, "learned by": "backpropagation" if row.trainable else "moving average of batches"}
                 for row in parameter_summary("after").bn_variables]
    st.dataframe(variables, hide_index=True, key="bn_variables")
    st.info(
        "\"Non-trainable\" only means that gradient descent never touches the moving mean and variance: "
        "they are still computed from the training batches, as the moving averages on the Momentum tab.",
        icon=":material/lightbulb:")


# Tab 4, Training vs inference: the gap between the two modes, tiny batches, and a frozen layer.
def modes_section(stream: StreamChoice) -> None:
    if stream.config is None:
        st.info("Fix the controls above to compare the two modes.", icon=":material/info:")
        return
    st.markdown(
        "`layer(x, training=True)` normalises `x` with its own batch statistics; "
        "`layer(x, training=False)` uses the moving averages. On the same batch the two outputs "
        "differ until the moving statistics have settled."
    )
    gap, floor = train_inference_gap(stream.config, stream.momentum, stream.pool)
    show(batchnorm_plots.bn_gap_figure(gap, floor, bn.effective_window(stream.momentum)), key="bn_gap_figure")
    st.caption(f"One probe batch of {stream.batch_size} examples, momentum {stream.momentum:g}. The floor is left "
               "by the probe's own sampling noise, so it is high for small batches.")

    st.subheader("Tiny batches (1 to 4)")
    report = tiny_batches(stream.source, stream.pool)
    show(batchnorm_plots.bn_tiny_batch_figure(report.batch_sizes, report.variance_ratio, report.expected_ratio,
                                    report.inference_std), key="bn_tiny_figure")
    st.markdown(
        f"- Batch of 1: every training output is exactly {report.training_example[0, 0]:g} (beta): the "
        "input is erased, and the moving variance decays to 0, so inference outputs explode "
        f"(std {report.inference_std[0]:,.0f} instead of 1).\n"
        "- Batch of 2: training outputs are "
        f"{', '.join(f'{v:+.2f}' for v in report.training_example[1, :2])}, whatever the values.\n"
        "- Keras puts the biased batch variance (divided by n) in the moving average, so the moving "
        "variance settles near (n - 1) / n of the truth and inference outputs come out too wide."
    )

    st.subheader("`trainable = False` switches a Keras 3 BN layer to inference mode")
    demo = frozen_demo()
    st.code("layer.trainable = False\nlayer(x, training=True)   # uses the moving statistics anyway", language="python",
            wrap_lines=True)
    cells = st.columns(3)
    cells[0].metric("frozen, training=True vs training=False",
                    f"{np.abs(demo.frozen_training_output - demo.inference_output).max():.1e}")
    cells[1].metric("trainable, training=True vs training=False",
                    f"{np.abs(demo.training_output - demo.inference_output).max():.2f}")
    cells[2].metric("moving mean changed by the frozen call",
                    "no" if np.array_equal(demo.moving_mean_before, demo.moving_mean_after) else "yes")
    st.caption("Largest absolute differences between outputs of one real Keras layer (trained 5 steps) on "
               "the same batch. Freezing BN while fine-tuning therefore also fixes its statistics.")


st.title("Batch Normalization, measured")
st.markdown(
    "A BN layer standardises each feature with the current batch's statistics while training, and with moving "
    "averages of them at inference. Every curve is what a real `keras.layers.BatchNormalization` does (the test "
    "suite checks the numpy code behind it step by step against the layer)."
)
stream = stream_ui()
momentum_tab, axis_tab, parameters_tab, modes_tab = st.tabs(TABS, key="bn_section", bind="query-params")
link_note("bn_section", st.session_state.get("bn_section"), options=TABS)
if momentum_tab.open:
    with momentum_tab:
        momentum_section(stream)
if axis_tab.open:
    with axis_tab:
        axis_section()
if parameters_tab.open:
    with parameters_tab:
        parameters_section()
if modes_tab.open:
    with modes_tab:
        modes_section(stream)
book_vs_keras_ui("bn")
