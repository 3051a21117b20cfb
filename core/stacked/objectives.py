"""Objectives: one copy's loss and metric on one batch (training) and their sums over a data set (evaluation).

A new objective is a frozen dataclass with `loss_and_metric(params, batch, noise_seed, step)` and
`evaluate(params, data)`, plus `gather(data, rows)` if its batches are not plain rows of every array.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.stacked.layers import Dense, forward


def gather(objective, data: tuple, rows):
    """One batch of one copy: the objective's own `gather(data, rows)` if it has one, else rows of every array.

    A pair objective (a Siamese net) keeps images and pairs apart: its stream indexes pairs, and its
    gather looks up both images of each chosen pair.
    """
    import tensorflow as tf

    if hasattr(objective, "gather"):
        return objective.gather(data, rows)
    return tuple(tf.gather(array, rows) for array in data)


def noise(noise_seed, step, shape, stddev: float):
    """Gaussian noise for one copy and one update, a pure function of (noise_seed, step): N(0, stddev^2)."""
    import tensorflow as tf

    seed = tf.stack([tf.cast(noise_seed, tf.int32), tf.cast(step, tf.int32)])
    return stddev * tf.random.stateless_normal(shape, seed=seed)


@dataclass(frozen=True)
class Reconstruction:
    """A net rebuilding its clean input: Keras loss="mse", or "binary_crossentropy" for a sigmoid output.

    With `noise_stddev` > 0 the net sees its input plus Gaussian noise drawn by `noise(noise_seed, step, ...)`
    and must rebuild the clean input: a denoising autoencoder. Data: (x,), x (n, features).
    Metric: the mean squared error, whatever the loss (so runs with either loss compare).
    """

    layers: tuple[Dense, ...]  # encoder then decoder; the last layer's units must equal the input features
    noise_stddev: float = 0.0  # standard deviation of the input noise (0: a plain autoencoder)
    loss: str = "mse"  # "mse", or "binary_crossentropy" (inputs in [0, 1], last layer sigmoid)
    summed: bool = False  # sum the loss over the features instead of Keras's mean (the classic papers' loss:
    # Keras's mean divides every gradient, hence plain SGD's step, by the number of features)

    def __post_init__(self):
        if self.loss not in ("mse", "binary_crossentropy"):
            raise ValueError(f"The reconstruction loss must be \"mse\" or \"binary_crossentropy\", got {self.loss!r}.")
        if self.loss == "binary_crossentropy" and self.layers[-1].activation != "sigmoid":
            raise ValueError("Binary cross-entropy rebuilds values in [0, 1]: the last layer must be a sigmoid.")

    def _losses_and_errors(self, params, seen, x):
        import tensorflow as tf

        scale = float(self.layers[-1].units) if self.summed else 1.0
        if self.loss == "mse":
            errors = tf.reduce_mean(tf.square(forward(self.layers, params, seen) - x), axis=-1)
            return errors * scale, errors
        logits = forward(self.layers, params, seen, logits=True)
        losses = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits), axis=-1)
        return losses * scale, tf.reduce_mean(tf.square(tf.sigmoid(logits) - x), axis=-1)

    def loss_and_metric(self, params, batch, noise_seed, step):
        import tensorflow as tf

        (x,) = batch
        seen = x + noise(noise_seed, step, tf.shape(x), self.noise_stddev) if self.noise_stddev > 0 else x
        losses, errors = self._losses_and_errors(params, seen, x)
        return tf.reduce_mean(losses), tf.reduce_mean(errors)

    def evaluate(self, params, data):
        """(summed loss, summed squared error), each a mean over features, summed over the rows; no noise."""
        import tensorflow as tf

        (x,) = data
        losses, errors = self._losses_and_errors(params, x, x)
        return tf.reduce_sum(losses), tf.reduce_sum(errors)


class HitsObjective:
    """An objective scored by hits: a subclass's `_losses_and_hits(params, *data)` gives each row's loss and
    whether it was right (1.0 or 0.0); training takes their means, evaluation their sums. Metric: accuracy."""

    def loss_and_metric(self, params, batch, noise_seed, step):
        import tensorflow as tf

        losses, hits = self._losses_and_hits(params, *batch)
        return tf.reduce_mean(losses), tf.reduce_mean(hits)

    def evaluate(self, params, data):
        import tensorflow as tf

        losses, hits = self._losses_and_hits(params, *data)
        return tf.reduce_sum(losses), tf.reduce_sum(hits)


@dataclass(frozen=True)
class Classification(HitsObjective):
    """Sparse categorical cross-entropy of a softmax output; the last layer's (linear) output are the logits.

    Keras computes the same loss from a Dense(softmax) output through the logits it keeps beside it.
    Data: (x, y), x (n, features) float32, y (n,) int32 class ids. Metric: accuracy.
    """

    layers: tuple[Dense, ...]  # hidden layers then the output layer (activation "linear": the logits)

    def __post_init__(self):
        if self.layers[-1].activation != "linear":
            raise ValueError("The output layer of a Classification must be linear: its outputs are the logits "
                             "the softmax cross-entropy takes.")

    def _losses_and_hits(self, params, x, y):
        import tensorflow as tf

        logits = forward(self.layers, params, x)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        hits = tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), y), tf.float32)
        return losses, hits
