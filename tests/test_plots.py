"""core.plots: every builder, on small default-like inputs, draws the expected traces and axis titles in the lab
template, with its legend in the reserved bottom band, never over a title or a subplot title."""

import dataclasses
import functools
import inspect

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from core.plots import auxiliary, batchnorm, bn_training, clipping, pretraining, reuse, style, transfer

CONCEPT_MODULES = (batchnorm, bn_training, clipping, reuse, transfer, pretraining, auxiliary)
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
LINE_HEIGHT = 1.3  # a line of text is about 1.3 font sizes tall


@dataclasses.dataclass(frozen=True, eq=False)  # eq=False: hashed by identity, for the cache
class Case:
    builder: object  # the figure builder under test
    args: tuple  # its positional arguments
    kwargs: dict  # its keyword arguments
    traces: int  # number of traces drawn
    legend: tuple  # names of the traces listed in the legend, in order
    axes: dict  # axis name -> title text, for every titled axis
    title: str = ""  # the figure title

    def figure(self) -> go.Figure:
        return _built(self)


def _cases() -> list:
    random = np.random.default_rng(0)
    original = np.array([0.9, 100.0])
    curves = random.uniform(0.1, 2.0, (3, 4, 20))  # (n_variants, n_seeds, n_points)
    curves[1, 0, 12:] = np.inf  # one clipvalue seed diverges
    per_seed = random.uniform(0.1, 1.0, (3, 4))
    per_seed[0, 1] = np.inf
    clip_variants = ["none", "clipvalue", "clipnorm"]
    clip_legend = ("no clipping (mean of 4)", "clipvalue, 1 diverged (mean of 4)", "clipnorm (mean of 4)")
    scratch = random.uniform(0.95, 0.98, 10)
    transfer_accuracy = scratch + np.r_[0.01, -0.01, 0.0, random.normal(0.005, 0.01, 7)]
    ratio_axes = {"xaxis": "scratch errors / B-on-A errors", "yaxis": "seeds"}
    ratio_title = "Error-rate ratio"
    levels = (0.05, 0.25, 0.5, 0.75, 0.95)
    quantiles = np.sort(random.normal(0.5, 0.5, (10, 5)), axis=1)  # (n_k, n_levels)
    grid_gain = random.normal(0.5, 1.0, (2, 2, 3))  # (n_sizes, n_hidden, n_hidden + 1), NaN where u > r
    grid_gain[:, 0, 2] = np.nan
    two_panel_names = ("box [-t, t]² (clipvalue)", "circle of radius t (clipnorm)", "original gradient",
                       "clipped by value", "clipped by norm")
    return [
        # clipping
        Case(clipping.clipping_2d_figure,
             (original, np.clip(original, -1, 1), original / np.linalg.norm(original), 1.0), {},
             10, two_panel_names, {}),
        Case(clipping.angle_by_dimension_figure, ([2, 10, 100], [0.5, 1.0], random.uniform(0, 40, (3, 2, 50)),
                                                  random.uniform(0, 1e-5, (3, 2, 50))), {},
             6, ("clip by value, t = 0.5", "clip by value, t = 1", "clip by norm (every t)"),
             {"xaxis": "dimension n of the gradient", "yaxis": "turn of the gradient (°)"},
             "Turn against dimension"),
        Case(clipping.angle_histogram_figure, (random.uniform(0, 40, 50), np.zeros(50), 100, 1.0), {},
             2, ("clip by value", "clip by norm"), {"xaxis": "turn of the gradient (°)", "yaxis": "random gradients"},
             "Turn at n = 100, t = 1"),
        Case(clipping.keras_clip_norms_figure, (["kernel", "bias", "all"],
                                                {"original": [3.0, 1.0, 3.2], "clipvalue": [1.0, 0.5, 1.1],
                                                 "clipnorm": [1.0, 0.3, 1.05], "global_clipnorm": [0.9, 0.3, 1.0]}),
             {}, 4, ("original", "clipvalue", "clipnorm", "global_clipnorm"), {"yaxis": "L2 norm (log scale)"},
             "Norms after one Keras step"),
        Case(clipping.clip_curves_figure, (np.arange(1, 21) * 10, curves, clip_variants, "Validation loss",
                                           "validation MSE"), {"baseline": 0.5},
             7, clip_legend + ("predict the mean: 0.500",), {"xaxis": "optimizer step", "yaxis": "validation MSE"},
             "Validation loss"),
        Case(clipping.clip_curves_figure, (np.arange(1, 21), curves, clip_variants, "Gradient norm",
                                           "global gradient norm"), {"smooth": 5, "threshold": 1.0},
             7, clip_legend + ("threshold 1",), {"xaxis": "optimizer step", "yaxis": "global gradient norm"},
             "Gradient norm"),
        Case(clipping.clip_per_seed_figure, (per_seed, clip_variants, "Share of steps", "fraction of steps"), {},
             7, (), {"yaxis": "fraction of steps"}, "Share of steps"),
        Case(clipping.clip_per_seed_figure, (per_seed, clip_variants, "Final score", "validation MSE"),
             {"log": True, "baseline": 0.5}, 8, ("predict the mean: 0.500",), {"yaxis": "validation MSE"},
             "Final score"),
        # batch normalization
        Case(batchnorm.bn_moving_stats_figure,
             ({f"momentum {m:g}": (random.normal(0, 0.1, 40), random.uniform(0.5, 1.5, 40)) for m in (0.9, 0.99)},
              np.zeros(40), np.ones(40)), {"highlight": "momentum 0.9"},
             6, ("momentum 0.9", "momentum 0.99", "population"),
             {"xaxis": "training step (batches seen)", "yaxis": "moving mean", "yaxis2": "moving variance"}),
        Case(batchnorm.bn_error_heatmap, (random.uniform(0.01, 5, (3, 2)), (0.9, 0.99, 0.999), (32, 128),
                                          (0.99, 32)), {},
             3, ("best momentum for the batch size", "your setting"), {"xaxis": "batch size", "yaxis": "momentum"}),
        Case(batchnorm.bn_group_map_figure, (np.repeat(np.arange(28)[:, None], 28, axis=1), "shared statistics"),
             {}, 1, (), {}, "shared statistics"),
        Case(batchnorm.bn_image_row, ([random.uniform(0, 1, (28, 28)) for _ in range(3)], ["a", "b", "c"]), {},
             1, (), {}),
        Case(batchnorm.bn_image_row, ([random.normal(0, 1, (28, 28)) for _ in range(2)], ["a", "b"]),
             {"zmid": 0.0}, 1, (), {}),
        Case(batchnorm.bn_gap_figure, (np.geomspace(1, 0.01, 50), 0.02, 10.0), {},
             3, ("training vs inference output", "floor: same gap with exact population statistics",
                 "1 / (1 - momentum) steps"), {"xaxis": "training step", "yaxis": "RMS difference"}),
        Case(batchnorm.bn_tiny_batch_figure, ([2, 8, 32], [0.5, 0.87, 0.97], [0.5, 0.875, 0.969], [1.4, 1.05, 1.0]),
             {}, 3, ("moving variance / true variance", "(n - 1) / n", "std of inference outputs (ideal 1)"),
             {"xaxis": "batch size", "xaxis2": "batch size", "yaxis": "variance ratio", "yaxis2": "output std"}),
        # batch normalization in training
        Case(bn_training.gradient_norms_figure, ({"no BN": random.uniform(1e-6, 1, (3, 5)),
                                                 "BN": random.uniform(0.1, 1, (3, 5))},), {},
             4, ("no BN (mean of 3)", "BN (mean of 3)"),
             {"xaxis": "Dense layer (1 = input side)",
              "yaxis": "‖∂loss/∂kernel‖ (log scale)"}, "Gradient norm per layer"),
        Case(bn_training.accuracy_curves_figure, ({"no BN": ([1, 2, 3], random.uniform(0.7, 0.8, (3, 3))),
                                                  "BN": ([1, 2, 3], random.uniform(0.75, 0.85, (3, 3)))},
                                                 "epoch", "Against epochs"), {},
             4, ("no BN (mean of 3)", "BN (mean of 3)"), {"xaxis": "epoch", "yaxis": "validation accuracy"},
             "Against epochs"),
        Case(bn_training.lr_sweep_figure, ([0.01, 0.1, 1.0], ["glorot_uniform", "he_normal"],
                                           {"no BN": random.uniform(0.1, 0.9, (2, 3, 2)),
                                            "BN": random.uniform(0.1, 0.9, (2, 3, 2))}), {},
             9, ("no BN, glorot_uniform (mean of 2)", "no BN, he_normal (mean of 2)",
                 "BN, glorot_uniform (mean of 2)", "BN, he_normal (mean of 2)", "chance (10 classes)"),
             {"xaxis": "SGD learning rate (log scale)", "yaxis": "final validation accuracy"},
             "Which learning rates still train?"),
        Case(bn_training.epoch_seconds_figure, ({"no BN": random.uniform(1, 2, (2, 3)),
                                                "BN": random.uniform(1.5, 2.5, (2, 3))},), {},
             2, ("no BN", "BN"), {"yaxis": "seconds per epoch"}, "Time per epoch (measured)"),
        Case(bn_training.latency_figure, ([1, 32], {"no BN": random.uniform(1, 2, (2, 5)),
                                                    "BN": random.uniform(1.2, 2.2, (2, 5)),
                                                    "BN folded": random.uniform(1, 2, (2, 5))}, "no BN"), {},
             4, ("no BN", "BN", "BN folded", "as fast as no BN"), {"yaxis": "time / time of no BN"},
             "Prediction time vs no BN"),
        # transfer learning
        Case(transfer.transfer_learning_curves, ([0.7, 0.8, 0.85], [0.9, 0.95, 0.96], [0.93, 0.97, 0.98], 1), {},
             4, ("model A (task A)", "B from scratch", "B on A", "B on A: reused layers unfrozen"),
             {"xaxis": "epoch", "yaxis": "validation accuracy"},
             "Learning curves of the single run"),
        Case(transfer.transfer_learning_curves, (None, [0.9, 0.95, 0.96], [0.93, 0.97, 0.98], 0), {},
             2, ("B from scratch", "B on A"), {"xaxis": "epoch", "yaxis": "validation accuracy"},
             "Learning curves of the single run"),
        Case(transfer.paired_seeds, (list(range(10)), scratch, transfer_accuracy), {},
             5, ("B on A better", "tie", "B on A worse", "mean"), {"yaxis": "test accuracy (%)"},
             "Paired by seed (10 seeds)"),
        Case(transfer.paired_difference_histogram, (random.normal(1.0, 1.0, 10), 1.0, 0.4, 1.6, 2.05), {},
             5, ("95% CI of the mean", "mean: +1.00", "no difference", "the book: +2.05"),
             {"xaxis": "B on A − B from scratch (points)", "yaxis": "seeds"},
             "Paired differences"),
        Case(transfer.error_ratio_histogram, (random.uniform(0.5, 3, 10), 1.4, 1.1, 1.8), {},
             5, ("95% CI", "pooled ratio: x1.40", "no difference", "the book: x3.73"), ratio_axes, ratio_title),
        Case(transfer.error_ratio_histogram, (random.uniform(0.5, 3, 10), 1.4, 0.0, np.inf), {},
             4, ("pooled ratio: x1.40", "no difference", "the book: x3.73"), ratio_axes, ratio_title),
        Case(transfer.best_of_k_band, (np.arange(1, 11), quantiles, levels, 2.05, 6), {},
             5, ("5%-95% of shoppers", "25%-75% of shoppers", "median best gain", "the book: +2.05",
                 "k = 6: half the shoppers get there"),
             {"xaxis": "configurations tried, best one kept (k)", "yaxis": "best gain reported (points)"},
             "Seed shopping: the best of k runs"),
        Case(transfer.pair_heatmap, ([(0, 6), (2, 4)], [1.2, np.nan], [0.5, np.nan], [1.9, np.nan], [5, 0],
                                     CLASS_NAMES), {},
             1, (), {}, "Gain of B on A per pair"),
        Case(transfer.picked_rates_chart, ((0.001, 0.003, 0.01, 0.03), {"B from scratch": [0, 2, 5, 3],
                                                                        "B on A": [4, 4, 2, 0]}), {},
             2, ("B from scratch", "B on A"),
             {"xaxis": "rate picked on validation", "yaxis": "seeds"},
             "The rate each arm picked"),
        # unsupervised pretraining
        Case(pretraining.reconstructions_figure,
             (random.uniform(0, 1, (4, 28, 28)), random.normal(0.5, 0.3, (4, 28, 28))), {},
             1, (), {}, "Test images and reconstructions"),
        Case(pretraining.filters_figure, (random.normal(0, 0.05, (12, 28, 28)),), {}, 1, (), {},
             "First-layer filters (12 units)"),
        Case(pretraining.pretraining_curves_figure, (random.uniform(0.01, 0.05, (3, 2, 4)), ["layer 1", "layer 2"]), {},
             4, ("layer 1 (mean of 3)", "layer 2 (mean of 3)"),
             {"xaxis": "epoch (of that phase)", "yaxis": "validation MSE of its reconstruction"},
             "Reconstruction error per phase"),
        Case(pretraining.codes_figure, (random.normal(0, 1, (50, 2)), np.arange(50) % 10, CLASS_NAMES, [0.4, 0.2]), {},
             10, CLASS_NAMES,
             {"xaxis": "component 1 (40% of the variance)", "yaxis": "component 2 (20% of the variance)"},
             "Codes of test images (PCA)"),
        Case(pretraining.arm_curves_figure, ([100, 200, 300], random.uniform(0.5, 0.8, (4, 2, 3)),
                                             ["from scratch", "fine-tune all"]), {"unfreeze_at": 200},
             4, ("from scratch (mean of 4)", "fine-tune all (mean of 4)"),
             {"xaxis": "updates (batches of 32)", "yaxis": "validation accuracy"},
             "Every arm, equal updates"),
        Case(pretraining.accuracy_by_labels_figure, ([100, 500, 1000], {
            "from scratch": random.uniform(0.6, 0.8, (4, 3)),
            "fine-tune all": np.c_[random.uniform(0.6, 0.8, (4, 2)), np.full(4, np.nan)],
            "never run": np.full((4, 3), np.nan)}), {},
             4, ("from scratch (mean of 4)", "fine-tune all (mean of 4)"),
             {"xaxis": "labelled images per seed (log scale)", "yaxis": "test accuracy (%)"},
             "Accuracy vs labels"),
        Case(pretraining.paired_gains_figure,
             (["frozen", "fine-tune all"], [random.normal(0, 1, 5), random.normal(1, 1, 5)], [0.1, 1.0], [-0.8, 0.2],
              [1.0, 1.8], "Gain over from scratch"), {},
             3, ("seeds", "mean and 95% CI"), {"xaxis": "gain over scratch (points)"},
             "Gain over from scratch"),
        Case(pretraining.picked_rates_figure,
             ([0.03, 0.1, 0.3, 1.0], [[0, 3, 1, 0], [1, 2, 1, 0]], ["from scratch", "fine-tune all"], "Rates picked"),
             {}, 2, ("from scratch", "fine-tune all"),
             {"xaxis": "learning rate picked on validation", "yaxis": "seeds"}, "Rates picked"),
        # reuse explorer (transfer page)
        Case(reuse.gain_heatmaps, ([50, 200], grid_gain, grid_gain - 1, grid_gain + 1, 10, [(2, 1), (1, 0)],
                                   "10x lower rate"), {},
             4, ("best on validation",), {"xaxis": "unfrozen u", "xaxis2": "unfrozen u", "yaxis": "reused r"},
             "Gain vs tuned scratch, 10x lower"),
        Case(reuse.gain_heatmaps, ([50, 200], grid_gain, grid_gain - 1, grid_gain + 1, 10, [None, (1, 0)],
                                   "same rate"), {},  # the best cell at 50 images is at another rate: no star there
             3, ("best on validation",), {"xaxis": "unfrozen u", "xaxis2": "unfrozen u", "yaxis": "reused r"},
             "Gain vs tuned scratch, same rate"),
        Case(reuse.scratch_rates_chart, ([50, 200], [0.001, 0.01], [[93.0, 96.0], [97.0, 98.0]],
                                         [[92.0, 95.5], [96.5, 97.8]], [[94.0, 96.5], [97.5, 98.2]], [96.1, 98.1],
                                         [95.6, 97.9], [96.6, 98.3], {0.001: "the protocol's", 0.01: "the cells'"}), {},
             3, ("at 0.001 (the protocol's)", "at 0.01 (the cells')", "tuned per seed on validation"),
             {"xaxis": "task-B training images (n)", "yaxis": "B from scratch, test accuracy (%)"},
             "B from scratch at each rate"),
        Case(reuse.best_cell_chart, ([50, 200, 1000], [2, 2, 1], [0, 1, 1], [1.0, 0.5, 0.2], [0.5, 0.1, -0.2],
                                     [1.5, 0.9, 0.6], [0.3, 0.2, 0.1], [-0.5, -0.3, -0.1], [1.1, 0.7, 0.3],
                                     "reuse and unfreeze all 2 (lower rate)"), {},
             4, ("best cell (chosen on validation)", "reuse and unfreeze all 2 (lower rate)",
                 "reused layers r (best cell)", "unfrozen layers u (best cell)"),
             {"yaxis": "gain (points)", "xaxis2": "task-B training images (n)", "yaxis2": "layers"},
             "Best reuse per amount of data"),
        # auxiliary pretraining
        Case(auxiliary.distance_histogram_figure, (random.uniform(0, 3, (2, 20)), np.arange(20) % 2), {},
             2, ("same class", "different classes"),
             {"xaxis": "distance between embeddings", "yaxis": "density"},
             "Held-out pairs' distances"),
        Case(auxiliary.embedding_figure, (random.normal(0, 1, (30, 2)), np.arange(30) % 2 * 2,
                                          {0: "T-shirt/top", 2: "Pullover"}), {},
             2, ("T-shirt/top", "Pullover"), {"xaxis": "component 1", "yaxis": "component 2"},
             "Unseen classes' codes (PCA)"),
        Case(auxiliary.masked_examples_figure, (random.uniform(0, 1, (3, 28, 28)), random.normal(0.5, 0.4, (3, 28, 28)),
                                                random.uniform(0, 1, (3, 28, 28))), {},
             1, (), {}, "Masked, predicted, truth"),
        Case(auxiliary.accuracy_by_labels_figure, ([50, 200, 1000], {
            "from scratch": random.uniform(0.6, 0.8, (3, 3)), "siamese": random.uniform(0.6, 0.8, (3, 3))}), {},
             4, ("from scratch (mean of 3)", "siamese (mean of 3)"),
             {"xaxis": "labelled images per seed (log scale)", "yaxis": "test accuracy (%)"},
             "Accuracy vs labels, per source"),
        Case(auxiliary.paired_gains_figure, (["masked, fine tune"], [random.normal(0, 1, 4)], [0.1], [-0.8], [1.0],
                                             "Gain with 200 labels"), {},
             2, ("seeds", "mean and 95% CI"), {"xaxis": "gain over scratch (points)"},
             "Gain with 200 labels"),
        Case(auxiliary.picked_rates_figure, (["from scratch", "masked, fine tune"], (3e-4, 1e-3, 3e-3, 1e-2),
                                             [[0, 3, 7, 0], [1, 1, 0, 8]]), {},
             1, (), {"xaxis": "Nadam rate picked"}, "Rates picked (seeds)"),
    ]


@functools.cache
def _built(case: Case) -> go.Figure:
    """Each case's figure, built once for the three tests that read it (none of them changes it)."""
    return case.builder(*case.args, **case.kwargs)


CASES = _cases()
IDS = [f"{case.builder.__name__}-{index}" for index, case in enumerate(CASES)]


def _setting(figure: go.Figure, *path: str):
    """A layout setting as plotly will draw it: the figure's own value, else the template's."""
    for layout in (figure.layout, figure.layout.template.layout):
        value = layout
        for key in path:
            value = value[key]
        if value is not None:
            return value
    return None


def test_every_builder_has_a_case():
    builders = {name for module in CONCEPT_MODULES for name, function in inspect.getmembers(module, inspect.isfunction)
                if function.__module__ == module.__name__ and not name.startswith("_")}
    assert builders == {case.builder.__name__ for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_builder_draws_expected_traces_and_titles(case):
    figure = case.figure()
    assert isinstance(figure, go.Figure)
    assert len(figure.data) == case.traces
    listed = tuple(trace.name for trace in figure.data if trace.name and trace.showlegend is not False
                   and trace.type != "heatmap")  # plotly leaves heatmaps out of the legend
    assert listed == case.legend
    titled = {key: figure.layout[key].title.text for key in figure.layout
              if key.startswith(("xaxis", "yaxis")) and figure.layout[key].title.text}
    assert titled == case.axes
    assert (figure.layout.title.text or "") == case.title


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_builder_uses_the_lab_template_and_only_it(case):
    """One source of style: the registered template; no builder sets its own fonts, legend or side margins."""
    figure = case.figure()
    assert figure.layout.template == pio.templates[style.TEMPLATE_NAME]
    assert figure.layout.font.to_plotly_json() == {}
    assert figure.layout.legend.to_plotly_json() == {}
    assert set(figure.layout.margin.to_plotly_json()) <= {"t"}  # the top margin follows the title (styled)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_no_legend_over_a_title_or_subplot_title(case):
    """Legend at the bottom edge in a band plotly reserves (container y = 0, so axis labels and the plot move
    up, whatever the legend's height); title pinned to the top edge; subplot titles standing on the plot's top
    edge under the title band; nothing else placed below the plot. Checked on the layout, so it holds at any
    width (headless Chromium at 560 and 1200 px agreed when this was written)."""
    figure = case.figure()
    legend = {key: _setting(figure, "legend", key) for key in ("orientation", "yref", "y", "yanchor")}
    assert legend == {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom"}
    title = {key: _setting(figure, "title", key) for key in ("yref", "y", "yanchor")}
    assert title == {"yref": "container", "y": 1, "yanchor": "top"}
    subplot_titles = [annotation for annotation in figure.layout.annotations if style.stands_on_plot_top(annotation)]
    for annotation in subplot_titles:
        assert (annotation.y, annotation.yanchor) == (1, "bottom"), annotation.text  # grows up, into the top band
    for annotation in figure.layout.annotations:
        if annotation.yref == "paper" or (annotation.yref or "y").endswith(" domain"):  # data refs: in the data
            assert annotation.y >= 0, f"{annotation.text!r} would sit below the plot, in the legend's band"
    title_height = style.TITLE_PAD + LINE_HEIGHT * style.TITLE_FONT_SIZE if case.title else 0
    subplot_title_height = LINE_HEIGHT * style.FONT_SIZE if subplot_titles else 0
    assert title_height + subplot_title_height <= _setting(figure, "margin", "t")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_labels_never_sit_on_the_data(case):
    """An annotation is a panel title standing on a plot's top edge; reference lines and intervals are named in
    the legend (style.reference_line), not by a label drawn over the curves (tests/test_browser_plots.py checks
    the drawn result)."""
    for annotation in case.figure().layout.annotations:
        assert style.stands_on_plot_top(annotation), annotation.text


def test_axes_fit_the_data():
    """Accuracies are not squashed onto 0..1, epochs tick at whole numbers, log axes carry full-size labels."""
    curves = bn_training.accuracy_curves_figure({"BN": ([1, 2, 3], np.array([[0.72, 0.8, 0.82]]))})
    assert 0.6 < curves.layout.yaxis.range[0] < 0.72 and 0.82 < curves.layout.yaxis.range[1] < 0.9
    assert curves.layout.xaxis.dtick == 1
    flat = bn_training.accuracy_curves_figure({"BN": ([1, 2], np.array([[0.1, 0.1]]))})
    assert flat.layout.yaxis.range[0] >= 0  # a flat line at chance does not open the axis below 0
    every_ten = clipping.clip_curves_figure(np.array([10, 20]), np.ones((1, 1, 2)), ["none"], "loss", "MSE")
    assert every_ten.layout.xaxis.dtick == 10
    assert style.log_ticks(0.003, 0.8) == [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]
    assert style.log_ticks(1e-7, 1.0) == [1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0]
    assert style.log_ticks(1.0, 1.4) == []  # within one decade plotly's own labels are full-size
    assert [style.power_text(v) for v in (0.02, 500, 2e-6, 1e-7)] == ["0.02", "500", "2×10⁻⁶", "10⁻⁷"]


def test_histograms_draw_the_interval_only_when_it_is_bounded():
    bounded = transfer.error_ratio_histogram([1.0, 2.0, 4.0], 2.0, 1.5, 3.0)
    unbounded = transfer.error_ratio_histogram([1.0, 2.0, 4.0], 2.0, 0.0, np.inf)
    assert [shape.type for shape in bounded.layout.shapes] == ["rect", "line", "line", "line"]
    assert [shape.type for shape in unbounded.layout.shapes] == ["line", "line", "line"]
    np.testing.assert_allclose(bounded.layout.shapes[0].x0, np.log2(1.5))
    differences = transfer.paired_difference_histogram([0.5, 1.0, 2.0], 1.0, 0.4, 1.6, 2.05)
    assert [shape.x0 for shape in differences.layout.shapes] == [0.4, 1.0, 0, 2.05]  # interval, mean, 0, the book


def test_top_margin_makes_room_for_title_and_subplot_titles():
    untitled = style.styled(go.Figure())
    titled = style.styled(go.Figure(), "title")
    both = go.Figure().add_annotation(text="left panel", x=0.25, y=1, xref="paper", yref="paper", yanchor="bottom")
    both = style.styled(both, "title")
    assert (untitled.layout.margin.t, titled.layout.margin.t) == (style.TOP_EDGE, style.TITLE_BAND)
    assert both.layout.margin.t == style.TITLE_BAND + style.SUBPLOT_TITLE_BAND


def test_pretraining_mosaics_put_each_image_in_its_tile():
    originals, rebuilt = np.zeros((3, 28, 28)), np.full((3, 28, 28), 2.0)  # reconstructions clip to [0, 1]
    tiles = np.asarray(pretraining.reconstructions_figure(originals, rebuilt).data[0].z, float)
    gap = style.MOSAIC_GAP
    assert tiles.shape == (2 * 28 + gap, 3 * 28 + 2 * gap)
    assert np.all(tiles[:28, :28] == 0) and np.all(tiles[28 + gap:, 28 + gap:2 * 28 + gap] == 1)
    assert np.isnan(tiles[28:28 + gap]).all()
    filters = np.zeros((2, 28, 28))
    filters[0, 3, 4], filters[1, 5, 6] = 0.02, -4.0  # each filter scaled to its own largest weight
    scaled = np.asarray(pretraining.filters_figure(filters).data[0].z, float)
    assert scaled[3, 4] == 1.0 and scaled[5, 28 + gap + 6] == -1.0


def test_accuracy_by_labels_draws_only_the_stored_counts():
    figure = pretraining.accuracy_by_labels_figure([100, 500, 1000], {"arm": np.array([[0.6, np.nan, 0.8]] * 2)})
    assert list(figure.data[1].x) == [100, 1000] and list(figure.data[1].y) == [60.0, 80.0]
