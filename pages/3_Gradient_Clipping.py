"""Logic: core/clipping.py · figures: core/plots/clipping.py · tests: tests/test_clipping.py,
tests/test_page_clipping.py, tests/test_browser_clipping.py.

Gradient clipping: by value vs by norm in 2-D and in n dimensions, what Keras 3 really does, and in training.
The training runs through core.jobs (ui.jobs.training_ui), its result kept per setting for every session.
"""

import time

import numpy as np
import streamlit as st

from core import clipping, cost
from core.plots import clipping as clipping_plots
from ui.callout import book_vs_keras_ui
from ui.charts import show
from ui.feedback import checked
from ui.frame import page_frame
from ui.jobs import training_ui
from ui.links import linked
from ui.presets import tiny_mode

page_frame(__file__)

PRESETS = {  # name -> (x, y): the book's example, one along the diagonal, one inside every limit
    "Book": (0.9, 100.0),
    "Diagonal": (5.0, 5.0),
    "Tiny": (0.3, -0.2),
}


def _apply_preset(x: float, y: float) -> None:
    st.session_state.clip_x, st.session_state.clip_y = x, y


# The gradient and threshold, in the URL (?clip_x=..&clip_y=..&clip_t=..) as every setting, so a picture can
# be shared. "%g" shows what was typed: a threshold of 1e-30 is not "0.0000".
def vector_ui() -> tuple[float | None, float | None, float | None]:
    for column, (name, (x, y)) in zip(st.columns(len(PRESETS), gap="small"), PRESETS.items()):
        column.button(name, key=f"clip_preset_{x}_{y}", on_click=_apply_preset, args=(x, y), width="stretch",
                      help=f"Set the gradient to [{x:g}, {y:g}]")
    x = linked(st.number_input, "gradient component x", key="clip_x", value=0.9, step=0.1, format="%g")
    y = linked(st.number_input, "gradient component y", key="clip_y", value=100.0, step=1.0, format="%g")
    threshold = linked(st.number_input, "threshold t", key="clip_t", value=1.0, step=0.1, format="%g")
    return x, y, threshold


# Dimension and threshold for the random-gradient study; the threshold is in units of a typical component.
def dimensions_ui() -> tuple[int | None, float, str]:
    left, middle, right = st.columns(3)
    dimension = linked(left.number_input, "dimension n", key="clip_dim", value=1_000, step=100)
    threshold = linked(middle.select_slider, "threshold t (in standard deviations of a component)",
                       key="clip_dim_t", options=clipping.THRESHOLD_CHOICES, value=1.0)
    distribution = linked(right.radio, "components", key="clip_dist", options=clipping.DISTRIBUTIONS,
                          horizontal=True)
    return checked(dimension, clipping.check_dimension, container=left), float(threshold), distribution


# Two variables (a 2-component one and a 1-component one) and a threshold; defaults: the reference example.
def keras_panel_ui() -> tuple[tuple[tuple[float, float], tuple[float]], float]:
    columns = st.columns(4)
    first = linked(columns[0].number_input, "variable 1, component 1", key="clip_k1a", value=0.9, step=0.1, format="%g")
    second = linked(columns[1].number_input, "variable 1, component 2", key="clip_k1b", value=100.0, step=1.0,
                    format="%g")
    third = linked(columns[2].number_input, "variable 2", key="clip_k2", value=3.0, step=0.5, format="%g")
    threshold = linked(columns[3].number_input, "threshold", key="clip_kt", value=1.0, step=0.1, format="%g")
    return ((first, second), (third,)), threshold


# The training experiment's knobs; returns the frozen config its job is keyed by (None if a value is refused).
def training_settings_ui() -> clipping.TrainingConfig | None:
    left, middle, right = st.columns(3)
    threshold = linked(left.select_slider, "clipping threshold", key="clip_train_t",
                       options=[0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0], value=1.0)
    learning_rate = linked(middle.select_slider, "SGD learning rate", key="clip_lr",
                           options=[0.005, 0.01, 0.02, 0.05, 0.1], value=0.05)
    seeds = linked(right.number_input, f"seeds (1 to {clipping.MAX_SEEDS})", key="clip_seeds",
                   value=2 if tiny_mode() else 5, step=1)
    variants = linked(st.multiselect, "variants", key="clip_variants", options=clipping.VARIANTS,
                      default=list(clipping.VARIANTS), format_func=clipping.VARIANT_NAMES.get)
    n_seeds = checked(seeds, clipping.check_seed_count, container=right)
    preset = clipping.TrainingConfig.tiny if tiny_mode() else clipping.TrainingConfig
    config = preset(threshold=float(threshold), learning_rate=float(learning_rate),
                    seeds=tuple(range(n_seeds or 0)), variants=tuple(variants))
    return checked(config, clipping.TrainingConfig.validate) if n_seeds else None


# Angles for the chosen threshold and two reference ones (0.5, 2), over the dimension grid up to n.
@st.cache_data(show_spinner=False, max_entries=64)
def angle_study(dimension: int, threshold: float, distribution: str, n_samples: int) -> clipping.AngleStudy:
    thresholds = sorted({threshold, 0.5, 2.0})
    return clipping.angle_study(clipping.dimension_grid(dimension), thresholds, n_samples=n_samples,
                                distribution=distribution)


# The angle with infinitely many components (a numerical integral: cached).
@st.cache_data(show_spinner=False)
def limiting_angle(threshold: float, distribution: str) -> float:
    return clipping.limiting_angle(threshold, distribution)


# One real Keras SGD step per clipping argument (Keras is slow to build: cached per input).
@st.cache_data(show_spinner=False, max_entries=64)
def keras_step(grads: tuple[tuple[float, ...], ...], threshold: float) -> dict:
    arrays = [np.array(g) for g in grads]
    return {kind: clipping.keras_clipped(arrays, kind, threshold) for kind in clipping.KINDS}


# 1. In two dimensions: the controls beside the figure, so both fit the first screen. A fragment: changing the
# vector reruns only this section (the target is < 200 ms server-side); its own time is kept in session state so
# bench/clipping_page.py can report it.
@st.fragment
def two_d_section() -> None:
    started = time.perf_counter()
    st.header("1. In two dimensions")
    controls, picture = st.columns([1.25, 2.2], gap="small")
    with controls:
        x, y, threshold = vector_ui()
    try:
        if x is None or y is None or threshold is None:
            raise ValueError("Type a number in each of the three boxes.")
        result = clipping.clip_2d([x, y], threshold)
    except ValueError as error:
        controls.error(str(error), icon=":material/error:")
    else:
        show(clipping_plots.clipping_2d_figure(result.original, result.by_value, result.by_norm, result.threshold),
             key="clip_figure_2d", container=picture)
        controls.markdown(f"Clip by value turned the gradient by **{result.angle_by_value:.1f} degrees**; "
                          f"clip by norm by **{result.angle_by_norm:.1f}**.")
        st.markdown(
            f"- original `{np.round(result.original, 8).tolist()}`, norm {result.norm('original'):.6g}\n"
            f"- clipped by value `{np.round(result.by_value, 8).tolist()}`, norm {result.norm('by_value'):.6g}\n"
            f"- clipped by norm `{np.round(result.by_norm, 8).tolist()}`, norm {result.norm('by_norm'):.6g}"
        )
    st.session_state.clip_2d_seconds = time.perf_counter() - started


# 2. In more dimensions: random gradients, the angle clip-by-value turns them by. A fragment, as the others.
@st.fragment
def dimensions_section() -> None:
    st.header("2. In more dimensions")
    st.markdown(
        "Real gradients have thousands or millions of components. Draw random gradients and clip them. "
        "Clip-by-value turns the vector because it flattens the large components and leaves the small ones. "
        "With a few components, more components turn it more; then the angle **levels off**: it depends on "
        "averages over the components, and averages settle once there are enough of them. With normal "
        f"components at t = 1 it settles near {limiting_angle(1.0, 'normal'):.1f}°, however many there are. "
        "A lower threshold turns the vector more; heavy-tailed components turn it more and level off more "
        "slowly. Clip-by-norm (threshold `t·√n`) never turns it."
    )
    dimension, dim_threshold, distribution = dimensions_ui()
    if dimension is None:
        return
    study = angle_study(dimension, dim_threshold, distribution, 50 if tiny_mode() else 300)
    j = study.thresholds.index(dim_threshold)
    left, right = st.columns(2)
    show(clipping_plots.angle_by_dimension_figure(study.dimensions, study.thresholds, study.by_value, study.by_norm),
         key="clip_figure_dims", container=left)
    show(clipping_plots.angle_histogram_figure(study.by_value[-1, j], study.by_norm[-1, j], dimension, dim_threshold),
         key="clip_figure_hist", container=right)
    st.caption(f"Left: median turn of {study.by_value.shape[-1]} random gradients (lines) and their 10% to 90% "
               f"range (shaded). At n = {dimension:,} and t = {dim_threshold:g}, clip-by-value changed "
               f"{study.fraction_cut[-1, j]:.1%} of the components and turned the gradient by "
               f"{study.median_by_value[-1, j]:.1f}° (median); clip-by-norm by "
               f"{np.max(study.by_norm[-1, j]):.1g}° at most.")
    by_dimension = ", ".join(f"{angle:.1f}° (n = {d:,})"
                             for d, angle in zip(study.dimensions, study.median_by_value[:, j]))
    st.caption(f"Median turn by value at t = {dim_threshold:g}: {by_dimension}. With infinitely many "
               f"{distribution} components it would be {limiting_angle(dim_threshold, distribution):.1f}°.")


# 3. What Keras really does: clipnorm per variable, global_clipnorm over all of them, from a real SGD step.
@st.fragment
def keras_section() -> None:
    st.header("3. What Keras really does")
    st.markdown(
        "A model has many variables (each layer's kernel and bias). With `clipnorm`, Keras 3 clips **each "
        "variable's gradient by its own norm**; with `global_clipnorm` it clips **all of them together** by their "
        "joint norm. The book describes `clipnorm` as the joint version. Below, a model with two variables: the "
        "numbers come from one real Keras SGD step (learning rate 1, variables starting at 0, so the new values "
        "are minus the clipped gradients)."
    )
    grads, keras_threshold = keras_panel_ui()
    try:
        if None in grads[0] + grads[1] or keras_threshold is None:
            raise ValueError("Type a number in each box.")
        applied = keras_step(grads, float(keras_threshold))
        books = clipping.clip_by_global_norm([np.array(g) for g in grads], keras_threshold)
    except ValueError as error:
        st.error(str(error), icon=":material/error:")
        return

    # Each variable's norm, then the joint one.
    def norms(arrays):
        return [float(np.linalg.norm(a)) for a in arrays] + [clipping.global_norm(arrays)]

    originals = [np.array(g) for g in grads]
    show(clipping_plots.keras_clip_norms_figure(
        ["variable 1", "variable 2", "all together"],
        {"original": norms(originals), "clipnorm": norms(applied["clipnorm"]),
         "global_clipnorm": norms(applied["global_clipnorm"]), "the book's description": norms(books)},
    ), key="clip_figure_keras")
    st.dataframe({
        "optimizer argument": list(clipping.KINDS) + ["the book's description of clipnorm"],
        "variable 1": [np.round(applied[k][0], 8).tolist() for k in clipping.KINDS] + [np.round(books[0], 8).tolist()],
        "variable 2": [np.round(applied[k][1], 8).tolist() for k in clipping.KINDS] + [np.round(books[1], 8).tolist()],
    }, hide_index=True)
    same = all(np.allclose(a, b, rtol=1e-5) for a, b in zip(applied["global_clipnorm"], books))
    st.caption(f"The book's description {'matches' if same else 'does not match'} Keras's `global_clipnorm` here.")
    st.code("optimizer = keras.optimizers.SGD(learning_rate=1e-3, global_clipnorm=1.0)  # the book's 'clipnorm'",
            language="python", wrap_lines=True)


# 4. Clipping in training: the settings, the Train button (a job in core.jobs), then the last run's figures.
@st.fragment
def training_section() -> None:
    st.header("4. Clipping in training")
    st.markdown(
        "A recurrent net with ReLU units (identity-initialised, as in Le et al.'s IRNN) learns the *adding "
        "problem*: read a sequence of random numbers and output the sum of the two marked ones. Plain SGD at a "
        "high learning rate lets the gradients explode. Train it without clipping and with each kind, over "
        "several seeds, then do what the chapter advises: watch the gradient norm, try several thresholds, and "
        "keep what scores best on validation. The dotted line is the score of always predicting the mean: "
        "a net stuck there learned nothing."
    )
    config = training_settings_ui()
    training = training_ui("clip_rnn", None if config is None else ("clipping", config),
                           lambda progress: clipping.train_with_clipping(config, progress), label="Training",
                           button="Train", keep_result=True, primary=True,
                           cost=None if config is None else cost.clipping_training(config))
    if training.result is None:
        if not training.pending:
            st.info("Press **Train** to run the experiment (results are kept per setting).",
                    icon=":material/play_arrow:")
        return
    if training.result.config != config:
        st.info("The settings changed: press **Train** to run them. Showing the last run.", icon=":material/info:")
    training_results(training.result)


# The four figures the chapter's advice needs: curves, gradient norms, how often clipping acted, the scores.
def training_results(run: clipping.TrainingResult) -> None:
    trained, variants = run.config, run.config.variants
    names = [clipping_plots.CLIP_NAMES[v] for v in variants]
    st.caption(f"{len(trained.seeds)} seeds × {len(names)} variants, threshold {trained.threshold:g}, "
               f"learning rate {trained.learning_rate:g}, {trained.steps} steps, sequences of "
               f"{trained.sequence_length}; trained in {run.seconds:.1f} s. The gradient norm is what TensorBoard "
               "would show.")
    left, right = st.columns(2)
    show(clipping_plots.clip_curves_figure(run.eval_steps, run.valid_loss, variants, "Validation loss",
                                           "validation MSE", baseline=run.baseline_mse),
         key="clip_figure_valid_curve", container=left)
    show(clipping_plots.clip_curves_figure(np.arange(1, trained.steps + 1), run.grad_norm, variants,
                                  "Gradient norm before clipping",
                                  "global gradient norm", smooth=10, threshold=trained.threshold),
         key="clip_figure_norm", container=right)
    left, right = st.columns(2)
    show(clipping_plots.clip_per_seed_figure(run.clipped_fraction(), variants, "Share of steps the clipping changed",
                                    "fraction of steps"), key="clip_figure_fraction", container=left)
    show(clipping_plots.clip_per_seed_figure(run.final_valid, variants, "Final validation score",
                                    "validation MSE (lower is better)", log=True, baseline=run.baseline_mse),
         key="clip_figure_final", container=right)
    scores = run.final_valid.mean(axis=1)
    best = int(np.argmin(scores))
    if np.isfinite(scores[best]):
        st.markdown(f"Best mean validation MSE here: **{names[best]}** ({scores[best]:.4f}; predicting the mean "
                    f"scores {run.baseline_mse:.4f}). Try other thresholds before you trust a winner.")
    else:
        st.warning("Every variant had at least one run that diverged: lower the threshold or the learning rate.")
    st.code(f"optimizer = keras.optimizers.SGD(learning_rate={trained.learning_rate:g}, "
            f"clipvalue={trained.threshold:g})  # or clipnorm=..., global_clipnorm=...", language="python",
            wrap_lines=True)


st.title("Gradient clipping")
# The range is written with a minus sign and a no-break space so it never splits over two lines ("[-" / "t, t]").
st.markdown(
    "Exploding gradients can wreck a model in one step; clipping caps the step. **Clip by value** squeezes every "
    "component into `[\u2212t,\u00a0t]` and can turn the gradient; **clip by norm** shrinks the whole vector to "
    "length `t` at most and keeps its direction."
)
two_d_section()
dimensions_section()
keras_section()
book_vs_keras_ui("clipping")
training_section()
