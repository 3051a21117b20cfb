"""Clipping in numpy agrees with the book's worked numbers and with what a real Keras 3 optimizer applies."""

import math

import numpy as np
import pytest

from core import clipping
from tests.test_progress import PHASES, assert_honest_progress, record

BOOK = np.array([0.9, 100.0])


def test_books_clipvalue_example():
    (clipped,) = clipping.clip_by_value(BOOK, 1.0)
    np.testing.assert_allclose(clipped, [0.9, 1.0])


def test_books_clipnorm_example():
    (clipped,) = clipping.clip_by_norm(BOOK, 1.0)
    np.testing.assert_allclose(clipped, [0.00899964, 0.9999595], rtol=1e-6)


def test_single_array_and_list_of_one_agree():
    for clip in (clipping.clip_by_value, clipping.clip_by_norm, clipping.clip_by_global_norm):
        np.testing.assert_array_equal(clip(BOOK, 1.0)[0], clip([BOOK], 1.0)[0])


# The reference's two-variable example, threshold 1, SGD learning rate 1.
TWO_VARIABLES = [np.array([0.9, 100.0]), np.array([3.0])]
REFERENCE = {
    "clipvalue": ([0.9, 1.0], [1.0]),
    "clipnorm": ([0.00899964, 0.99995947], [1.0]),
    "global_clipnorm": ([0.00899559, 0.99950993], [0.0299853]),
}


@pytest.mark.parametrize("kind", clipping.KINDS)
def test_reference_two_variable_example_numpy_and_keras(kind):
    expected = REFERENCE[kind]
    ours = clipping.clip(TWO_VARIABLES, kind, 1.0)
    theirs = clipping.keras_clipped(TWO_VARIABLES, kind, 1.0)
    for mine, keras_value, want in zip(ours, theirs, expected):
        np.testing.assert_allclose(mine, want, rtol=1e-5)
        np.testing.assert_allclose(keras_value, want, rtol=1e-5)


def _random_gradient_set(rng):
    """2 to 4 variables of random shapes (vectors and matrices), on scales from tiny to huge."""
    shapes = [tuple(rng.integers(1, 6, size=rng.integers(1, 3))) for _ in range(rng.integers(2, 5))]
    return [rng.standard_normal(shape) * 10.0 ** rng.uniform(-2, 2) for shape in shapes]


@pytest.mark.parametrize("kind", clipping.KINDS)
@pytest.mark.parametrize("case", range(6))
def test_numpy_clipping_equals_keras_sgd_update(kind, case):
    rng = np.random.default_rng(1000 + case)
    grads = _random_gradient_set(rng)
    threshold = float(10.0 ** rng.uniform(-1, 1))
    ours = clipping.clip(grads, kind, threshold)
    theirs = clipping.keras_clipped(grads, kind, threshold)
    assert [a.shape for a in ours] == [g.shape for g in grads]
    for mine, keras_value in zip(ours, theirs):
        np.testing.assert_allclose(mine, keras_value, rtol=2e-5, atol=1e-6 * threshold)


def test_clipnorm_is_per_variable_and_global_clipnorm_is_joint():
    grads = [np.array([3.0, 4.0]), np.array([0.5])]  # norms 5 and 0.5, joint norm sqrt(25.25)
    per_variable = clipping.clip_by_norm(grads, 1.0)
    joint = clipping.clip_by_global_norm(grads, 1.0)
    np.testing.assert_allclose(np.linalg.norm(per_variable[0]), 1.0)
    np.testing.assert_allclose(per_variable[1], [0.5])  # under the threshold: untouched
    np.testing.assert_allclose(clipping.global_norm(joint), 1.0)
    np.testing.assert_allclose(joint[1], 0.5 / np.sqrt(25.25))  # shrunk with everything else


def test_norm_clipping_keeps_the_direction_and_value_clipping_turns_it():
    result = clipping.clip_2d(BOOK, 1.0)
    assert result.angle_by_norm < 1e-6
    expected = np.degrees(np.arctan2(1.0, 0.9) - np.arctan2(100.0, 0.9))
    np.testing.assert_allclose(result.angle_by_value, abs(expected), rtol=1e-9)
    assert 41 < result.angle_by_value < 42


def test_angle_between_against_arccos_and_for_nearly_parallel_vectors():
    rng = np.random.default_rng(0)
    for _ in range(20):
        u, v = rng.standard_normal(5), rng.standard_normal(5)
        cosine = u @ v / np.linalg.norm(u) / np.linalg.norm(v)
        np.testing.assert_allclose(clipping.angle_between(u, v), np.degrees(np.arccos(cosine)), atol=1e-9)
    assert clipping.angle_between([1.0, 0.0], [1.0, 1e-9]) == pytest.approx(np.degrees(1e-9), rel=1e-6)
    assert clipping.angle_between([1.0, 2.0], [-1.0, -2.0]) == pytest.approx(180.0)


def test_angle_study_cut_share_and_norm_clipping():
    study = clipping.angle_study([2, 100, 10_000], [0.5, 2.0], n_samples=50)
    assert np.all(study.median_by_value[:, 0] > study.median_by_value[:, 1])  # a lower threshold turns more
    assert np.max(study.by_norm) < 1e-5
    # With N(0, 1) components the share of components cut is P(|z| > t).
    from scipy import stats
    np.testing.assert_allclose(study.fraction_cut[-1], 2 * stats.norm.sf([0.5, 2.0]), atol=0.01)


def _normal_limit_by_hand(t: float) -> float:
    """The limiting angle for N(0, 1) components, from the closed forms of the truncated moments."""
    density = math.exp(-t * t / 2) / math.sqrt(2 * math.pi)
    inside = math.erf(t / math.sqrt(2)) - 2 * t * density  # E[Z^2; |Z| < t]
    cross = inside + t * 2 * density  # E[Z clip(Z)]: E[|Z|; |Z| > t] = 2 * density
    clipped_square = inside + t * t * math.erfc(t / math.sqrt(2))  # E[clip(Z)^2]
    return math.degrees(math.acos(cross / math.sqrt(clipped_square)))


def _student3_limit_by_hand(t: float) -> float:
    """The limiting angle for Student t(3) components (density 6*sqrt(3) / (pi * (3 + z^2)^2)), by hand."""
    root3 = math.sqrt(3.0)
    inside = 2 * 6 * root3 / math.pi * (math.atan(t / root3) / (2 * root3) - t / (2 * (3 + t * t)))
    tail_abs_mean = 2 * 3 * root3 / (math.pi * (3 + t * t))  # E[|Z|; |Z| > t]
    tail_share = 1 - 2 / math.pi * (math.atan(t / root3) + root3 * t / (3 + t * t))  # P(|Z| > t)
    cross = inside + t * tail_abs_mean
    clipped_square = inside + t * t * tail_share
    return math.degrees(math.acos(cross / math.sqrt(3.0 * clipped_square)))  # Var of t(3) is 3


@pytest.mark.parametrize("threshold", clipping.THRESHOLD_CHOICES)
def test_limiting_angle_against_closed_forms(threshold):
    assert clipping.limiting_angle(threshold, "normal") == pytest.approx(_normal_limit_by_hand(threshold), abs=1e-6)
    assert clipping.limiting_angle(threshold, "heavy-tailed") == pytest.approx(_student3_limit_by_hand(threshold),
                                                                              abs=1e-5)


def test_limiting_angle_at_t_1_is_the_measured_plateau():
    assert _normal_limit_by_hand(1.0) == pytest.approx(18.13, abs=0.01)  # 18.1 degrees, as measured
    with pytest.raises(ValueError, match="distribution must be"):
        clipping.limiting_angle(1.0, "uniform")


@pytest.fixture(scope="module")
def page_grid_study():
    """The page's full study: every dimension and threshold it offers, 300 samples as the page draws."""
    return {distribution: clipping.angle_study(clipping.DIMENSION_GRID, clipping.THRESHOLD_CHOICES,
                                               n_samples=300, distribution=distribution)
            for distribution in clipping.DISTRIBUTIONS}


def test_page_grid_is_what_the_study_draws():
    assert clipping.dimension_grid(10_000) == clipping.DIMENSION_GRID
    assert clipping.dimension_grid(1_000) == (2, 5, 10, 30, 100, 300, 1_000)
    assert clipping.dimension_grid(50) == (2, 5, 10, 30, 50)


def _increments_shrink_after_the_largest(medians, tolerance):
    """Whether each step's size, from the largest step on, is at most the one before (plus tolerance)."""
    steps = np.diff(medians)
    after = np.abs(steps[int(np.argmax(steps)):])
    return bool(np.all(np.diff(after) <= tolerance)), steps


@pytest.mark.parametrize("j", range(len(clipping.THRESHOLD_CHOICES)))
def test_normal_angle_rises_then_levels_off_at_its_limit(page_grid_study, j):
    """Over the whole grid: never falls, increments shrink, the last steps are flat, the end is the limit."""
    threshold = clipping.THRESHOLD_CHOICES[j]
    medians = page_grid_study["normal"].median_by_value[:, j]
    shrinking, steps = _increments_shrink_after_the_largest(medians, tolerance=0.05)
    assert np.all(steps > -0.05), steps  # rises (up to sampling noise) ...
    assert shrinking, steps  # ... by less and less ...
    assert np.all(np.abs(steps[-2:]) < 0.25), steps  # ... and 1,000 -> 3,000 -> 10,000 is flat
    assert medians[-1] - medians[0] > 1.0  # it did rise
    assert medians[-1] == pytest.approx(clipping.limiting_angle(threshold, "normal"), abs=0.1)
    if threshold <= 2.0:  # the plateau is reached early: the last two steps are < 5% of the rise
        assert np.sum(np.abs(steps[-2:])) < 0.05 * (medians[-1] - medians[0])


def test_the_measured_medians_at_t_1(page_grid_study):
    """The issue's numbers: 13.8 (n = 10), 17.4 (100), 18.1 (1,000 and 10,000) degrees."""
    medians = dict(zip(clipping.DIMENSION_GRID,
                       page_grid_study["normal"].median_by_value[:, clipping.THRESHOLD_CHOICES.index(1.0)]))
    measured = [medians[n] for n in (10, 100, 1_000, 10_000)]
    np.testing.assert_allclose(measured, [13.8, 17.4, 18.1, 18.1], atol=0.1)


@pytest.mark.parametrize("j", range(len(clipping.THRESHOLD_CHOICES)))
def test_heavy_tailed_angle_rises_by_less_and_less_and_stays_below_its_limit(page_grid_study, j):
    threshold = clipping.THRESHOLD_CHOICES[j]
    heavy = page_grid_study["heavy-tailed"].median_by_value[:, j]
    shrinking, steps = _increments_shrink_after_the_largest(heavy, tolerance=0.3)
    assert np.all(steps > -0.3) and shrinking, steps
    assert steps[-1] < 0.25 * np.max(steps)  # levelling off ...
    limit = clipping.limiting_angle(threshold, "heavy-tailed")
    assert heavy[-1] < limit  # ... but more slowly: still below its limit at 10,000
    assert heavy[-1] > page_grid_study["normal"].median_by_value[-1, j]  # and it turns more than normal ones


@pytest.mark.parametrize("call, message", [
    (lambda: clipping.clip_by_value([1.0, np.nan], 1.0), "NaN or infinite"),
    (lambda: clipping.clip_by_norm([np.inf, 1.0], 1.0), "NaN or infinite"),
    (lambda: clipping.clip_by_global_norm([np.array([1.0]), np.array([-np.inf])], 1.0), "variable 2"),
    (lambda: clipping.clip_by_norm([1e300, 1e300], 1.0), "too large"),
    (lambda: clipping.clip_by_value([1.0, 2.0], 0.0), "positive"),
    (lambda: clipping.clip_by_norm([1.0, 2.0], -1.0), "positive"),
    (lambda: clipping.clip_by_global_norm([1.0], float("nan")), "positive"),
    (lambda: clipping.clip_2d([0.0, 0.0], 1.0), "all zeros"),
    (lambda: clipping.clip_2d([1.0, 2.0, 3.0], 1.0), "exactly 2"),
    (lambda: clipping.angle_between([0.0, 0.0], [1.0, 0.0]), "no direction"),
    (lambda: clipping.clip_by_value([], 1.0), "empty"),
    (lambda: clipping.random_gradients(0, 10), "at least 1"),
    (lambda: clipping.angle_study([0, 10], [1.0]), "at least 1"),
    (lambda: clipping.clip(BOOK, "clipsomething", 1.0), "kind must be"),
])
def test_bad_input_is_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---- the rows of core.keras3_notes this page shows, against the installed Keras ----

def test_keras3_note_sgd_lr_keyword_is_rejected():
    import keras

    with pytest.raises((TypeError, ValueError)):
        keras.optimizers.SGD(lr=0.01)
    assert float(keras.optimizers.SGD(learning_rate=0.01).learning_rate) == pytest.approx(0.01)


def test_keras3_note_clipnorm_is_per_variable_global_clipnorm_is_the_books_description():
    from core.keras3_notes import DIFFERENCES

    assert any(row.key == "clipnorm" and "clipping" in row.topics for row in DIFFERENCES)
    grads = [np.array([3.0, 4.0]), np.array([0.5])]
    # The book's description: the whole gradient (all variables together) rescaled to norm <= 1.
    whole = np.concatenate(grads)
    books_description = whole / max(np.linalg.norm(whole), 1.0)
    keras_clipnorm = np.concatenate(clipping.keras_clipped(grads, "clipnorm", 1.0))
    keras_global = np.concatenate(clipping.keras_clipped(grads, "global_clipnorm", 1.0))
    np.testing.assert_allclose(keras_global, books_description, rtol=1e-6)
    assert not np.allclose(keras_clipnorm, books_description, rtol=1e-3)
    np.testing.assert_allclose(keras_clipnorm, [0.6, 0.8, 0.5], rtol=1e-6)  # each variable on its own


def test_keras_accepts_only_one_clipping_argument():
    import keras

    with pytest.raises(ValueError, match="Only one of"):
        keras.optimizers.SGD(learning_rate=1.0, clipnorm=1.0, global_clipnorm=1.0)


# ---- clipping in training ----

@pytest.mark.parametrize("variant", clipping.VARIANTS)
def test_training_step_applies_exactly_the_clipped_gradient(variant):
    """The training loop's update is minus lr times our numpy clip of the raw gradient (= Keras's clip)."""
    import tensorflow as tf

    config = clipping.TrainingConfig.tiny(threshold=0.05, learning_rate=0.1)
    model = clipping.build_rnn(config, seed=3)
    x, y = clipping.adding_problem(16, config.sequence_length, seed=0)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x, training=True) - y))
    raw = [g.numpy().astype(np.float64) for g in tape.gradient(loss, model.trainable_variables)]
    before = [w.astype(np.float64) for w in model.get_weights()]
    statistics = clipping.make_train_step(model, clipping.make_optimizer(variant, config))(x, y).numpy()
    expected = raw if variant == "none" else clipping.clip(raw, variant, config.threshold)
    for old, new, grad in zip(before, model.get_weights(), expected):
        np.testing.assert_allclose(new, old - config.learning_rate * grad, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(statistics[0], float(loss), rtol=1e-5)
    np.testing.assert_allclose(statistics[1], clipping.global_norm(raw), rtol=1e-4)
    assert clipping.was_clipped(variant, config.threshold, *statistics[1:]) == (variant != "none")


def test_adding_problem_targets_and_markers():
    x, y = clipping.adding_problem(200, 12, seed=1)
    assert x.shape == (200, 12, 2) and y.shape == (200, 1)
    np.testing.assert_array_equal(x[:, :6, 1].sum(axis=1), 1)  # one marker per half
    np.testing.assert_array_equal(x[:, 6:, 1].sum(axis=1), 1)
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * x[:, :, 1]).sum(axis=1), rtol=1e-6)


def test_tiny_training_run_shapes_determinism_and_clipping_bound():
    config = clipping.TrainingConfig.tiny(learning_rate=0.5, threshold=0.5)
    events, callback = record()
    first = clipping.train_with_clipping(config, progress=callback)
    assert_honest_progress(events, PHASES["clipping in training"])
    assert first.train_loss.shape == (4, len(config.seeds), config.steps)
    assert list(first.eval_steps) == [10, 20]
    # A variant trained alone reproduces its row: same seed, same start and batches, no shared state.
    alone = clipping.train_with_clipping(config.__class__(**{**config.__dict__, "variants": ("global_clipnorm",)}))
    np.testing.assert_array_equal(alone.train_loss[0], first.train_loss[3])
    # At this learning rate the unclipped net blows up; every clipped variant stays finite.
    none, clipped = first.config.variants.index("none"), [1, 2, 3]
    assert first.diverged[none].all() or np.nanmax(first.grad_norm[none]) > 10 * config.threshold
    assert not first.diverged[clipped].any()
    fraction = first.clipped_fraction()
    assert np.all(fraction[none] == 0) and np.all((fraction >= 0) & (fraction <= 1))


def test_training_config_rejects_bad_values():
    with pytest.raises(ValueError, match="positive"):
        clipping.TrainingConfig.tiny(threshold=0.0).validate()
    with pytest.raises(ValueError, match="Unknown variant 'clipsomething'"):
        clipping.TrainingConfig.tiny(variants=("clipsomething",)).validate()
    with pytest.raises(ValueError, match="No variants selected"):  # the student's words, not "got []"
        clipping.TrainingConfig.tiny(variants=()).validate()
    with pytest.raises(ValueError, match="seed"):
        clipping.TrainingConfig.tiny(seeds=()).validate()
