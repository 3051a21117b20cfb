"""Where the book's TF 2.0-era code and today's Keras 3 differ: one row per difference.

Each row is checked against the installed Keras by tests/test_keras3_notes.py, so the
callout that shows these rows cannot drift from what the library really does.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Difference:
    key: str  # stable id, used by tests and pages
    topics: tuple[str, ...]  # which pages show it: "bn", "clipping", "transfer", "general"
    book: str  # what the book's code does or says
    keras3: str  # what Keras 3 does instead


DIFFERENCES: tuple[Difference, ...] = (
    Difference("sgd_lr", ("general", "clipping", "transfer"),
               "`SGD(lr=...)`", "`SGD(learning_rate=...)`; the `lr` keyword is rejected"),
    Difference("bn_updates", ("bn",),
               "`layer.updates` lists the moving-average update ops",
               "no `updates` attribute; the moving statistics are updated inside `call(training=True)`"),
    Difference("variable_names", ("bn",),
               "variables named like `batch_normalization_v2/gamma:0`",
               "`variable.name == \"gamma\"`; the layer prefix lives in `variable.path`"),
    Difference("bn_axis_list", ("bn",),
               "`BatchNormalization(axis=[1, 2])`: one statistic per pixel",
               "`TypeError`: only one integer axis; flatten (or reshape) first for per-pixel statistics"),
    Difference("input_shape", ("general", "bn", "transfer"),
               "`Flatten(input_shape=[28, 28])`",
               "start with `keras.Input((28, 28))`; `input_shape=` on a layer only warns"),
    Difference("clipnorm", ("clipping",),
               "`clipnorm` described as clipping the whole gradient by its norm",
               "`clipnorm` clips each variable's gradient by its own norm; `global_clipnorm` clips them jointly"),
    Difference("bn_frozen", ("bn", "transfer"),
               "freezing is `trainable = False`",
               "on a BatchNormalization layer `trainable = False` also switches it to inference mode"),
    Difference("save_format", ("transfer",),
               "`model.save(\"my_model_A.h5\")`",
               "native `.keras` files (`model.save(\"my_model_A.keras\")`); HDF5 is legacy"),
)


def differences_for(topic: str) -> tuple[Difference, ...]:
    """The rows a page about `topic` should show, in table order."""
    return tuple(row for row in DIFFERENCES if topic in row.topics)
