"""The nets every source trains and every arm reuses: the encoder and its heads, the masked-image and
same/different-pair objectives for core.stacked, the optimizer and a run's progress stretches."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from core import pretraining, stacked
from core.auxiliary.configs import SIDE, Common


def encoder_layers(common: Common) -> tuple:
    """layer_1 .. layer_L: the one architecture every source trains and every arm reuses."""
    return pretraining.encoder_layers(common.encoder)


def decoder_layers(common: Common) -> tuple:
    """The masked net's decoder: the autoencoder's (untied), back to the 784 pixels."""
    untied = dataclasses.replace(common.encoder, tied=False)
    return pretraining.autoencoder_layers(untied)[len(common.encoder.hidden_units):]


def patch_masks(noise_seed, step, n, patch: int):
    """One random patch x patch square per image, 1.0 where hidden: (n, 784) float32, a function of (seed, step)."""
    import tensorflow as tf

    seed = tf.stack([tf.cast(noise_seed, tf.int32), tf.cast(step, tf.int32)])
    corners = tf.random.stateless_uniform((n, 2), seed=seed, minval=0, maxval=SIDE - patch + 1, dtype=tf.int32)
    index = tf.range(SIDE)[None, :]
    rows = (index >= corners[:, :1]) & (index < corners[:, :1] + patch)
    columns = (index >= corners[:, 1:]) & (index < corners[:, 1:] + patch)
    return tf.reshape(tf.cast(rows[:, :, None] & columns[:, None, :], tf.float32), (n, SIDE * SIDE))


def masked_errors(predicted, truth, mask):
    """Per image, the mean squared error over its hidden pixels only: (n,). mask: 1.0 hidden, 0.0 seen."""
    import tensorflow as tf

    return tf.reduce_sum(mask * tf.square(predicted - truth), axis=-1) / tf.reduce_sum(mask, axis=-1)


@dataclass(frozen=True)
class MaskedImage:
    """The masked-image objective for core.stacked: input x with its patch set to 0, loss on the patch only.

    Training data: (x,), a fresh patch per image and update from `patch_masks(noise_seed, step)`.
    `evaluate` takes (x, masks) so every copy is scored on the same patches. Metric: the same masked MSE.
    """

    layers: tuple  # encoder then decoder, ending in 784 linear outputs
    patch: int

    def loss_and_metric(self, params, batch, noise_seed, step):
        import tensorflow as tf

        (x,) = batch
        mask = patch_masks(noise_seed, step, tf.shape(x)[0], self.patch)
        errors = masked_errors(stacked.forward(self.layers, params, x * (1.0 - mask)), x, mask)
        return tf.reduce_mean(errors), tf.reduce_mean(errors)

    def evaluate(self, params, data):
        import tensorflow as tf

        x, mask = data
        errors = masked_errors(stacked.forward(self.layers, params, x * (1.0 - mask)), x, mask)
        return tf.reduce_sum(errors), tf.reduce_sum(errors)


@dataclass(frozen=True)
class SamePair(stacked.HitsObjective):
    """The Siamese objective: one encoder (one set of weights) for both images, "same class?" from |e1 - e2|.

    Data: (images (n, 784), pairs (m, 2) row ids, same (m,) 1.0 same class / 0.0 different); streams index
    pairs. Loss: binary cross-entropy of the head's logit (label 1 = same). Metric: pair accuracy.
    """

    encoder: tuple
    head: tuple  # one Dense("same", 1): the logit

    def gather(self, data, rows):
        import tensorflow as tf

        images, pairs, same = data
        chosen = tf.gather(pairs, rows)
        return tf.gather(images, chosen[:, 0]), tf.gather(images, chosen[:, 1]), tf.gather(same, rows)

    def logits(self, params, first, second):
        import tensorflow as tf

        first_code = stacked.forward(self.encoder, params, first)
        second_code = stacked.forward(self.encoder, params, second)
        difference = tf.abs(first_code - second_code)
        return stacked.forward(self.head, params, difference, logits=True)[:, 0]

    def _losses_and_hits(self, params, first, second, same):
        import tensorflow as tf

        logits = self.logits(params, first, second)
        losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=same, logits=logits)
        return losses, tf.cast(tf.equal(tf.cast(logits > 0, tf.float32), same), tf.float32)


def siamese_head():
    from core.stacked import Dense

    return (Dense("same", 1),)


def supervised_layers(common: Common) -> tuple:
    from core.stacked import Dense

    return encoder_layers(common) + (Dense("source_output", len(common.other_classes)),)


def target_layers(common: Common) -> tuple:
    from core.stacked import Dense

    return encoder_layers(common) + (Dense("output", 2),)


def nadam(rate: float):
    """Nadam at `rate`: every source's and every arm's optimizer (the arms may give each copy its own rate)."""
    return stacked.Nadam(rate)


def example_masks(patch: int, n: int) -> np.ndarray:
    """The fixed patches every copy is scored on: (n, 784), drawn from seed (0, 0)."""
    return patch_masks(0, 0, n, patch).numpy()


def progress_segments(updates: int, most: int = 10) -> int:
    """The most equal stretches (at most `most`) `updates` divides into: progress steps."""
    return max(count for count in range(1, most + 1) if updates % count == 0)
