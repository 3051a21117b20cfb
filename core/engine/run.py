"""One train() call in progress: the execution path of each phase, the history filled epoch by epoch, progress."""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from core.engine.batched import BatchedGraph, cached_prefix
from core.engine.configs import Data, MLPConfig, Phase, RunResult, layer_plan
from core.engine.datasets import data_set
from core.engine.evaluation import Evaluator
from core.engine.sample_space import SampleSpace
from core.engine.schedule import batch_order, execution_path
from core.engine.xla_per_copy import XlaPerCopy
from core.progress import ProgressCallback, report

PATHS = {"sample space": SampleSpace, "one XLA loop per copy": XlaPerCopy, "one batched graph": BatchedGraph}


class Run:
    """The state of one train() call; each phase is run by the path `schedule.execution_path` chose, except that a
    phase whose first layers are frozen in every copy runs on the batched graph from a cache of their output
    (batched.py)."""

    def __init__(self, config: MLPConfig, data: Data, seeds: tuple[int, ...], batch_size: int,
                 record_grad_norms: bool, progress: Optional[ProgressCallback], total_epochs: int):
        self.config, self.seeds, self.batch_size = config, seeds, batch_size
        self.record_grad_norms, self.progress = record_grad_norms, progress
        self.total, self.done = total_epochs, 0
        self.training = data_set(data.x_train, data.y_train, len(seeds), "training")
        self.validation = (Evaluator(config, data.x_valid, data.y_valid, len(seeds), "validation")
                           if data.x_valid is not None else None)
        self.history = {key: np.full((len(seeds), total_epochs), np.nan, np.float32)
                        for key in ("loss", "accuracy", "val_loss", "val_accuracy")}
        self.norms = []  # per epoch: () or (global norms (n_steps, K), kernel norms (n_steps, K, n_dense))
        self.path_name = execution_path(config, self.training.n_max, total_epochs,
                                        record_grad_norms=record_grad_norms, ragged=self.training.ragged)
        self.paths = {}  # path name -> its object, made when a phase first needs it

    def phase(self, number: int, phase: Phase, weights, first_epoch: int):
        """Run one phase with a fresh optimizer; returns the weights after it (numpy)."""
        name = self.path_name
        if self._caches_prefix(phase, weights):
            name = "one batched graph"
        if name not in self.paths:
            self.paths[name] = PATHS[name](self, self.training)
        return self.paths[name].phase(number, phase, weights, first_epoch)

    def _caches_prefix(self, phase: Phase, weights) -> bool:
        frozen = phase.frozen_counts(len(layer_plan(self.config)), len(self.seeds))
        return cached_prefix(self, self.training, phase, frozen, weights)[0] > 0

    def batch_orders(self, first_epoch: int) -> np.ndarray:
        """(K, n_max): every copy's sample order for the next epoch (positions in its own set), padded with 0."""
        orders = np.zeros((len(self.seeds), self.training.n_max), np.int32)
        for copy, (seed, count) in enumerate(zip(self.seeds, self.training.counts)):
            orders[copy, :count] = batch_order(seed, first_epoch + self.done, int(count))
        return orders

    def end_epoch(self, number: int, loss: np.ndarray, accuracy: np.ndarray, norms,
                  validate: Callable[[], tuple[np.ndarray, np.ndarray]]) -> None:
        """Store the epoch's (K,) loss and accuracy, validate (when there is validation data), report progress."""
        column = self.done
        self.history["loss"][:, column], self.history["accuracy"][:, column] = loss, accuracy
        if self.validation is not None:
            self.history["val_loss"][:, column], self.history["val_accuracy"][:, column] = validate()
        self.norms.append(tuple(norm.numpy() for norm in norms))
        self.done += 1
        report(self.progress, self.done, self.total, _progress_message(number, self.history, column))

    def result(self, weights, test, seconds: float) -> RunResult:
        grad_norm, layer_grad_norm = _stack_norms(self.norms) if self.record_grad_norms and self.norms else (None, None)
        return RunResult(self.seeds, **self.history, test_loss=test[0], test_accuracy=test[1], weights=tuple(weights),
                         grad_norm=grad_norm, layer_grad_norm=layer_grad_norm, seconds=seconds)


def _progress_message(phase_number: int, history: dict, epoch: int) -> str:
    message = f"phase {phase_number}, epoch {epoch + 1}: mean loss {np.nanmean(history['loss'][:, epoch]):.4f}"
    if not np.isnan(history["val_accuracy"][:, epoch]).all():
        message += f", mean val accuracy {np.nanmean(history['val_accuracy'][:, epoch]):.4f}"
    return message


def _stack_norms(norms) -> tuple[np.ndarray, np.ndarray]:
    """Per-epoch (n_steps, K) and (n_steps, K, n_dense) pieces -> (K, total_steps), (K, total_steps, n_dense)."""
    global_norm = np.concatenate([piece[0] for piece in norms], axis=0).T
    layer_norm = np.concatenate([piece[1] for piece in norms], axis=0).transpose(1, 0, 2)
    return global_norm, layer_norm
