"""The layers of a pretraining comparison's nets: the encoder, its mirrored decoder, and the classifier that
reuses the encoder under a new softmax output."""

from __future__ import annotations

from core.pretraining.configs import N_CLASSES, Pretraining
from core.stacked import Dense


def encoder_layers(config: Pretraining) -> tuple:
    """layer_1 .. layer_L (the last is the code): what the classifier reuses."""
    last = len(config.hidden_units)
    return tuple(Dense(f"layer_{i}", units, config.code_activation if i == last else config.activation,
                       config.initializer) for i, units in enumerate(config.hidden_units, start=1))


def decoder_layer(config: Pretraining, layer: int):
    """decode_i rebuilds the input of layer_i (pixels for i = 1, else layer_{i-1}'s output)."""
    units = 784 if layer == 1 else config.hidden_units[layer - 2]
    activation = config.reconstruction_activation if layer == 1 else config.activation
    return Dense(f"decode_{layer}", units, activation, config.initializer,
                 tied_to=f"layer_{layer}" if config.tied else None)


def autoencoder_layers(config: Pretraining) -> tuple:
    """The whole stack: encoder, then decode_L .. decode_1 (a greedy run assembles the same stack)."""
    return encoder_layers(config) + tuple(decoder_layer(config, i) for i in range(len(config.hidden_units), 0, -1))


def classifier_layers(config: Pretraining) -> tuple:
    """The encoder under a new 10-way output (its linear outputs are the softmax's logits)."""
    return encoder_layers(config) + (Dense("output", N_CLASSES),)
