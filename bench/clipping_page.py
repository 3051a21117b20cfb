"""Clipping page timings: the 2-D section's server-side re-render, and the training section's default run.

Run `python -m bench.clipping_page` (or `--quick` for a smoke run with the tiny presets).
Reports absolute server-side times (what issue 4 asks for) and, for training, the ratio against the
book's plain Keras code (`model.compile(SGD(clipvalue=...)); model.fit(...)`) measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _median_ms(samples: list[float]) -> str:
    low, high = 1000 * min(samples), 1000 * max(samples)
    return f"median {1000 * statistics.median(samples):.1f} ms (min {low:.1f}, max {high:.1f})"


def bench_2d(repeats: int) -> None:
    """Time one change of the gradient: core + figure + JSON, and the whole page's AppTest rerun."""
    import numpy as np

    from core import clipping
    from core.plots import clipping as clipping_plots

    rng = np.random.default_rng(0)
    core_times = []
    for _ in range(repeats):
        vector = rng.normal(size=2) * 50
        start = time.perf_counter()
        result = clipping.clip_2d(vector, 1.0)
        figure = clipping_plots.clipping_2d_figure(result.original, result.by_value, result.by_norm, result.threshold)
        figure.to_json()
        core_times.append(time.perf_counter() - start)
    print(f"2-D section, core + figure + JSON per change: {_median_ms(core_times)}")
    keras_times = []
    for _ in range(repeats):  # the book's route to the same numbers: an optimizer with clipvalue/clipnorm
        vector = rng.normal(size=2) * 50
        start = time.perf_counter()
        clipping.keras_clipped(vector, "clipvalue", 1.0)
        clipping.keras_clipped(vector, "clipnorm", 1.0)
        keras_times.append(time.perf_counter() - start)
    print(f"same two clipped vectors through real Keras SGD steps (the book's way): {_median_ms(keras_times)}")

    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(ROOT / "pages" / "3_Gradient_Clipping.py"), default_timeout=300)
    app.run()  # first run pays imports and fills the caches of the other sections
    page_times, section_times = [], []
    for i in range(repeats):
        app.number_input(key="clip_y").set_value(float(10 + i))
        start = time.perf_counter()
        app.run()
        page_times.append(time.perf_counter() - start)
        assert not app.exception, [e.message for e in app.exception]
        section_times.append(app.session_state["clip_2d_seconds"])
    print(f"2-D section (a fragment: what reruns when the vector changes), server-side body time: "
          f"{_median_ms(section_times)}")
    print(f"whole page rerun after changing y (AppTest full rerun, other sections cached): {_median_ms(page_times)}")


def book_style_fit(config, variants) -> float:
    """The book's way: compile with the clip argument, then model.fit, one seed per variant (seconds)."""

    from core import clipping

    steps_per_epoch = config.n_train // config.batch_size
    epochs = -(-config.steps // steps_per_epoch)
    n_used = min(config.n_train, config.steps * config.batch_size // epochs)
    x_train, y_train = clipping.adding_problem(config.n_train, config.sequence_length, config.data_seed)
    x_valid, y_valid = clipping.adding_problem(config.n_valid, config.sequence_length, config.data_seed + 1)
    start = time.perf_counter()
    for variant in variants:
        model = clipping.build_rnn(config, config.seeds[0])
        model.compile(optimizer=clipping.make_optimizer(variant, config), loss="mse")
        model.fit(x_train[:n_used], y_train[:n_used], batch_size=config.batch_size, epochs=epochs,
                  validation_data=(x_valid, y_valid), verbose=0)
    return time.perf_counter() - start


def bench_training(quick: bool) -> None:
    from core import clipping
    from core.progress import terminal_progress

    config = clipping.TrainingConfig.tiny() if quick else clipping.TrainingConfig()
    result = clipping.train_with_clipping(config, terminal_progress())
    runs = len(config.variants) * len(config.seeds)
    print(f"training section, {'tiny' if quick else 'default'} run ({runs} runs x {config.steps} steps): "
          f"{result.seconds:.1f} s wall")
    book_one_seed = book_style_fit(config, config.variants)
    book_estimate = book_one_seed * len(config.seeds)
    print(f"book-style compile+fit, one seed per variant: {book_one_seed:.1f} s -> x{len(config.seeds)} seeds "
          f"= {book_estimate:.1f} s estimated; page/book ratio {result.seconds / book_estimate:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny presets, few repeats (smoke test)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.quick:
        os.environ["LAB_PRESET"] = "tiny"
    print(f"cores visible: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f} (shared machine: timings are noisy)")
    bench_2d(repeats=5 if args.quick else 20)
    bench_training(args.quick)


if __name__ == "__main__":
    main()
