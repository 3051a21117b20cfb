"""Fold BatchNormalization layers into neighbouring Dense layers for inference. At inference a BN layer is a fixed
affine map per feature, which merges exactly into the linear Dense right before it or into the Dense after it;
where neither is possible (a nonlinearity in between, another axis, an unknown layer) a ValueError names the
layer. The algebra and the cases: docs/architecture.md, "core/batchnorm"."""

from __future__ import annotations

import numpy as np


def batchnorm_affine(layer) -> tuple[np.ndarray, np.ndarray]:
    """The (scale, shift) per feature that a BN layer applies at inference. Both (n_features,)."""
    variance = np.asarray(layer.moving_variance, dtype=np.float64)
    mean = np.asarray(layer.moving_mean, dtype=np.float64)
    gamma = np.asarray(layer.gamma, dtype=np.float64) if layer.gamma is not None else np.ones_like(mean)
    beta = np.asarray(layer.beta, dtype=np.float64) if layer.beta is not None else np.zeros_like(mean)
    scale = gamma / np.sqrt(variance + layer.epsilon)
    return scale, beta - mean * scale


def _is_linear(activation) -> bool:
    return getattr(activation, "__name__", str(activation)) == "linear"


def fold_batchnorm(model):
    """A new keras.Sequential computing the same inference function as `model` without any BN layer.

    `model` must be a keras.Sequential of Flatten, Dense, Activation, Dropout and BatchNormalization
    (on the last axis) layers, built with keras.Input. The original model is not modified. Raises
    ValueError, naming the layer, where a BN cannot be folded exactly.
    """
    import keras
    from keras import layers

    if not isinstance(model, keras.Sequential):
        raise ValueError("fold_batchnorm works on keras.Sequential models only; "
                         f"got a {type(model).__name__}.")
    plan = []  # ("dense", kernel, bias, activation) | ("flatten",) | ("activation", activation)
    pending = None  # (scale, shift) to apply to the current features before the next Dense
    pending_name = None  # the BN layer that pending came from (the first, when several chain)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            axis = layer.axis if isinstance(layer.axis, int) else None
            if axis not in (-1, len(layer.input.shape) - 1):
                raise ValueError(f"Layer {layer.name!r} normalises axis {layer.axis}; only BN on the last axis "
                                 "can be folded into a Dense layer.")
            scale, shift = batchnorm_affine(layer)
            previous = plan[-1] if plan else None
            if pending is None and previous is not None and previous[0] == "dense" and _is_linear(previous[3]):
                _, kernel, bias, activation = previous  # BN right after a linear Dense: fold backwards
                plan[-1] = ("dense", kernel * scale, bias * scale + shift, activation)
            elif pending is None:
                pending, pending_name = (scale, shift), layer.name
            else:
                pending = (pending[0] * scale, pending[1] * scale + shift)
        elif isinstance(layer, layers.Dense):
            kernel = np.asarray(layer.kernel, dtype=np.float64)
            bias = np.asarray(layer.bias, dtype=np.float64) if layer.use_bias else np.zeros(kernel.shape[1])
            if pending is not None:  # BN before this Dense: fold forwards into its inputs
                scale, shift = pending
                bias = shift @ kernel + bias
                kernel = scale[:, None] * kernel
                pending = None
            plan.append(("dense", kernel, bias, layer.activation))
        elif isinstance(layer, layers.Flatten):
            if pending is not None:  # per-channel affine before Flatten: one copy per position
                repeats = int(np.prod(layer.output.shape[1:])) // len(pending[0])
                pending = (np.tile(pending[0], repeats), np.tile(pending[1], repeats))
            plan.append(("flatten",))
        elif isinstance(layer, layers.Activation):
            if _is_linear(layer.activation):  # the identity: a pending BN map passes through it
                continue
            if pending is not None:
                raise ValueError(f"Cannot fold {pending_name!r}: the BN layer is followed by the nonlinearity "
                                 f"{layer.name!r} before any Dense layer, so its affine map cannot move into a "
                                 "Dense layer's weights.")
            plan.append(("activation", layer.activation))
        elif isinstance(layer, layers.Dropout):
            continue  # the identity at inference
        else:
            raise ValueError(f"fold_batchnorm does not know how to fold across layer {layer.name!r} "
                             f"({type(layer).__name__}); it handles Flatten, Dense, Activation, Dropout and BN.")
    if pending is not None:
        raise ValueError(f"Cannot fold {pending_name!r}: no Dense layer comes after it, and the layer right "
                         "before it is not a Dense with a linear activation, so no Dense layer can absorb its "
                         "scale and shift. A BN at the end of a model folds only right after a linear Dense, "
                         "e.g. Dense(10) -> BatchNormalization() -> Activation('softmax').")
    return _build(model, plan)


def _build(model, plan):
    import keras
    from keras import layers

    stack = [keras.Input(model.input_shape[1:])]
    weights = []
    for step in plan:
        if step[0] == "flatten":
            stack.append(layers.Flatten())
        elif step[0] == "activation":
            stack.append(layers.Activation(step[1]))
        else:
            _, kernel, bias, activation = step
            dense = layers.Dense(kernel.shape[1], activation=activation)
            stack.append(dense)
            weights.append((dense, kernel, bias))
    folded = keras.Sequential(stack, name=f"{model.name}_folded")
    for dense, kernel, bias in weights:
        dense.set_weights([kernel.astype("float32"), bias.astype("float32")])
    return folded
