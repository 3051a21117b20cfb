"""Optimizers with Keras 3's update rules, as pure functions of (params, grads, state): SGD and Nadam."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class SGD:
    """keras.optimizers.SGD: w -= lr * g; with momentum, v = momentum * v - lr * g and w += v."""

    learning_rate: float = 0.01  # Keras's default
    momentum: float = 0.0  # 0: plain SGD

    def __post_init__(self):
        check_rate(self.learning_rate)
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"SGD momentum must be in [0, 1), got {self.momentum}.")

    def initial_state(self, params: dict) -> dict:
        import tensorflow as tf

        return {key: tf.zeros_like(value) for key, value in params.items()} if self.momentum else {}

    def apply(self, params, grads, state, iteration, learning_rate):
        if not self.momentum:
            return {key: params[key] - grads[key] * learning_rate for key in params}, state
        velocity = {key: state[key] * self.momentum - grads[key] * learning_rate for key in params}
        return {key: params[key] + velocity[key] for key in params}, velocity


@dataclass(frozen=True)
class Nadam:
    """keras.optimizers.Nadam (Dozat 2015 with Keras's momentum schedule u_t = beta_1 (1 - 0.5 * 0.96^t))."""

    learning_rate: float = 1e-3  # Keras's default
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7

    def __post_init__(self):
        check_rate(self.learning_rate)

    def initial_state(self, params: dict) -> dict:
        import tensorflow as tf

        zeros = {key: tf.zeros_like(value) for key, value in params.items()}
        return {"m": zeros, "v": dict(zeros), "u_product": tf.constant(1.0)}

    def apply(self, params, grads, state, iteration, learning_rate):
        import tensorflow as tf

        local_step = tf.cast(iteration + 1, tf.float32)
        u_t = self.beta_1 * (1.0 - 0.5 * tf.pow(0.96, local_step))
        u_t_1 = self.beta_1 * (1.0 - 0.5 * tf.pow(0.96, local_step + 1.0))
        u_product_t = state["u_product"] * self.beta_1 * (1.0 - 0.5 * tf.pow(0.96, local_step))
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = tf.pow(self.beta_2, local_step)
        new_params, m_new, v_new = {}, {}, {}
        for key, g in grads.items():
            m = state["m"][key] + (g - state["m"][key]) * (1 - self.beta_1)
            v = state["v"][key] + (tf.square(g) - state["v"][key]) * (1 - self.beta_2)
            m_hat = u_t_1 * m / (1 - u_product_t_1) + (1 - u_t) * g / (1 - u_product_t)
            v_hat = v / (1 - beta_2_power)
            new_params[key] = params[key] - m_hat * learning_rate / (tf.sqrt(v_hat) + self.epsilon)
            m_new[key], v_new[key] = m, v
        return new_params, {"m": m_new, "v": v_new, "u_product": u_product_t}


def check_rate(rate: float) -> None:
    if not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
        raise ValueError(f"A learning rate must be a number greater than 0, got {rate!r}.")


def keras_optimizer(optimizer):
    """The Keras optimizer an SGD or Nadam stands for (a fresh one: what compile() after a freeze gets)."""
    import keras

    if isinstance(optimizer, SGD):
        return keras.optimizers.SGD(learning_rate=optimizer.learning_rate, momentum=optimizer.momentum)
    return keras.optimizers.Nadam(learning_rate=optimizer.learning_rate, beta_1=optimizer.beta_1,
                                  beta_2=optimizer.beta_2, epsilon=optimizer.epsilon)
