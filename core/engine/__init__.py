"""Stacked-seed training: K independent copies of one MLP trained in a single TensorFlow graph.

Every weight carries a leading copy axis (a Dense kernel is (K, fan_in, fan_out)), every layer
runs as one batched matmul over the copies, and the loss is the sum of the copies' own mean
losses, so the gradient that reaches copy k is exactly the gradient its own Keras model would get.
Each copy starts from the weights `core.models.mlp(..., seed=s)` gives for its seed and draws its
own batch order. A whole epoch runs inside one `tf.function` loop: Python does no work per step.
tests/test_engine.py checks the central claim against separate Keras models, to float32 tolerance.

Usage (model A of the transfer experiment for three seeds, then B on A from its hidden layers):

    from core import engine
    a_config = engine.MLPConfig.model_a()
    run_a = engine.train(a_config, engine.Data(x_a, y_a, x_valid_a, y_valid_a),
                         [engine.Phase(epochs=20, learning_rate=1e-3)], seeds=(0, 1, 2))
    run_a.val_accuracy                  # (3, 20): one row per seed
    b_config = engine.MLPConfig.model_b()
    start = engine.transfer_weights(run_a.weights, a_config, b_config, seeds=(0, 1, 2))
    phases = [engine.Phase(4, 1e-3, frozen_layers=-1), engine.Phase(16, 1e-4)]
    run_b = engine.train(b_config, engine.Data(x_b, y_b, x_vb, y_vb, x_tb, y_tb), phases,
                         seeds=(0, 1, 2), initial=start)
    run_b.test_accuracy                 # (3,)
    engine.keras_model(b_config, run_b.weights, copy=0).summary()

The public API (this module; importing it does not import TensorFlow):
- `MLPConfig` (frozen): layer units, activation, initializer, BN placement ("after" / "before" /
  "none"), input BN, outputs (softmax -> sparse categorical CE, sigmoid -> binary CE), BN momentum
  and epsilon; presets `model_a()`, `model_b()`, `book_bn(placement)`, `tiny()`.
- `Phase(epochs, learning_rate, momentum, frozen_layers)`: SGD settings for a stretch of epochs;
  `frozen_layers=n` freezes the first n layers that carry weights (Dense and BatchNormalization, in
  model order, as `[l for l in model.layers if l.weights]`); -1 freezes all but the output layer.
- `Data(x_train, y_train, x_valid, y_valid, x_test, y_test)`: shared by all copies (x: (n, 28, 28),
  y: (n,)) or per copy (x: (K, n, 28, 28), y: (K, n)).
- `train(config, data, phases, seeds, batch_size=32, initial=None, first_epoch=0,
  record_grad_norms=False, progress=None) -> RunResult` with history arrays (n_seeds, n_epochs),
  test metrics (n_seeds,), optional per-step gradient norms, the final weights and the wall time.
- Weights: `initial_weights(config, seeds)`, `transfer_weights(...)`, `weights_from_keras(models)`,
  `keras_model(config, weights, copy)`, `evaluate(config, weights, x, y)`, `batch_order(seed, epoch, n)`,
  `weight_shapes(config)`. Weights travel as a tuple of numpy arrays in Keras `get_weights()` order,
  each with the copy axis first, so copy k's Keras weights are `[w[k] for w in weights]`.
- Paths: `execution_path(config, n_train, total_epochs)`, `uses_sample_space(config, n_train)`;
  the switches that choose them live in `engine.settings`.

Three ways to run an epoch, all the same arithmetic up to float32 rounding (each tested against Keras),
one module each:
- sample_space.py (training sets up to 512 images, first layer a Dense): the first kernel is kept
  as W0 + X^T C and C is trained, a quarter of the work for the 200-image B phase;
- xla_per_copy.py: one XLA-compiled loop per copy, the loops side by side on the cores (long
  weight-space runs);
- batched.py: one batched graph for all copies (short runs, and whenever gradient norms are recorded).
They share graph.py (forward pass, losses, one SGD step) and evaluation.py; run.py holds a run in
progress, checks.py the argument checks, schedule.py the choice of path and the batch orders, configs.py
and weights.py the light parts above.

Semantics follow Keras 3: a frozen BatchNormalization layer runs in inference mode, each phase
starts with a fresh optimizer (the book recompiles after every freeze/unfreeze), the epoch loss is
the mean over the epoch's samples measured before each step's update, the last batch may be short.
"""

from core.engine import settings
from core.engine.api import clear_compiled_functions, evaluate, train
from core.engine.configs import (
    LOSS_FOR_OUTPUT,
    Data,
    Layer,
    MLPConfig,
    Phase,
    RunResult,
    Subsets,
    layer_plan,
    weight_shapes,
)
from core.engine.schedule import EXECUTION_PATHS, batch_order, execution_path, uses_sample_space
from core.engine.weights import initial_weights, keras_model, transfer_weights, weights_from_keras

__all__ = [
    "settings", "MLPConfig", "Phase", "Data", "Subsets", "RunResult", "Layer", "LOSS_FOR_OUTPUT", "layer_plan",
    "weight_shapes",
    "train", "evaluate", "batch_order", "uses_sample_space", "execution_path", "EXECUTION_PATHS",
    "clear_compiled_functions", "initial_weights", "transfer_weights", "weights_from_keras", "keras_model",
]
