"""Model builders for the chapter's networks, in Keras 3 style (keras.Input first, learning_rate=...).

Every builder takes a `seed` and seeds Keras's global generator right before creating layers,
so the same seed gives the same initial weights in any process.
"""

from __future__ import annotations

BN_PLACEMENTS = ("after", "before", "none")  # BN after the activation (book), before it, or no BN
ACTIVATIONS = ("selu", "elu", "relu", "tanh", "sigmoid", "softmax", "linear")


def check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}.")


def _hidden_block(layers, units: int, activation: str, initializer: str, batch_norm: str) -> list:
    """One hidden layer: Dense(+activation), optionally with BN after it, or Dense(no bias)->BN->activation."""
    if batch_norm == "before":
        return [layers.Dense(units, use_bias=False, kernel_initializer=initializer),
                layers.BatchNormalization(), layers.Activation(activation)]
    block = [layers.Dense(units, activation=activation, kernel_initializer=initializer)]
    return block + [layers.BatchNormalization()] if batch_norm == "after" else block


def mlp(hidden_units, activation: str = "elu", initializer: str = "he_normal", batch_norm: str = "none", *,
        input_batch_norm: bool = False, n_outputs: int = 10, output_activation: str = "softmax",
        seed: int = 42, name: str = "mlp"):
    """Flatten(28x28) -> [BN] -> hidden blocks -> Dense(n_outputs). Returns an uncompiled keras.Sequential."""
    import keras
    from keras import layers

    check_choice("batch_norm", batch_norm, BN_PLACEMENTS)
    check_choice("activation", activation, ACTIVATIONS)
    if len(hidden_units) == 0 or min(hidden_units) < 1:
        raise ValueError(f"An MLP needs at least one hidden layer of at least one unit; got {list(hidden_units)}.")
    keras.utils.set_random_seed(seed)
    stack = [keras.Input((28, 28)), layers.Flatten()]
    if input_batch_norm:
        stack.append(layers.BatchNormalization())
    for units in hidden_units:
        stack += _hidden_block(layers, units, activation, initializer, batch_norm)
    stack.append(layers.Dense(n_outputs, activation=output_activation))
    return keras.Sequential(stack, name=name)


def book_bn_model(batch_norm: str = "after", seed: int = 42):
    """The chapter's BN model: BN on the inputs, Dense 300 and 100 (elu, he_normal), Dense 10 softmax.

    batch_norm="after" is the book's first listing (271,346 parameters), "before" its variant with
    Dense(use_bias=False) -> BN -> Activation, "none" the same net without any BN layer.
    """
    return mlp((300, 100), activation="elu", initializer="he_normal", batch_norm=batch_norm,
               input_batch_norm=batch_norm != "none", seed=seed, name=f"book_bn_{batch_norm}")


# Model A / model B of the transfer experiment (companion notebook): five selu hidden layers.
TRANSFER_HIDDEN = (300, 100, 50, 50, 50)


def model_a(hidden_units=TRANSFER_HIDDEN, activation: str = "selu", initializer: str = "glorot_uniform",
            seed: int = 42):
    """Model A: the hidden stack with an 8-way softmax output (task A)."""
    return mlp(hidden_units, activation, initializer, n_outputs=8, output_activation="softmax",
               seed=seed, name="model_A")


def model_b(hidden_units=TRANSFER_HIDDEN, activation: str = "selu", initializer: str = "glorot_uniform",
            seed: int = 42):
    """Model B from scratch: the same hidden stack with one sigmoid output (task B)."""
    return mlp(hidden_units, activation, initializer, n_outputs=1, output_activation="sigmoid",
               seed=seed, name="model_B")
