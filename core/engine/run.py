"""One train() call in progress: the chosen execution path, the history filled epoch by epoch, progress."""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from core.engine import api
from core.engine.batched import BatchedGraph
from core.engine.checks import flat_images
from core.engine.configs import Data, MLPConfig, Phase, RunResult
from core.engine.evaluation import Evaluator
from core.engine.sample_space import SampleSpace
from core.engine.xla_per_copy import XlaPerCopy
from core.progress import ProgressCallback, report

PATHS = {"sample space": SampleSpace, "one XLA loop per copy": XlaPerCopy, "one batched graph": BatchedGraph}


class Run:
    """The state of one train() call; each phase is run by the path `api.execution_path` chose."""

    def __init__(self, config: MLPConfig, data: Data, seeds: tuple[int, ...], batch_size: int,
                 record_grad_norms: bool, progress: Optional[ProgressCallback], total_epochs: int):
        self.config, self.seeds, self.batch_size = config, seeds, batch_size
        self.record_grad_norms, self.progress = record_grad_norms, progress
        self.total, self.done = total_epochs, 0
        x, y, self.per_copy = flat_images(data.x_train, data.y_train, len(seeds), "training")
        self.n = y.shape[-1]
        self.validation = (Evaluator(config, data.x_valid, data.y_valid, len(seeds), "validation")
                           if data.y_valid is not None else None)
        self.history = {key: np.full((len(seeds), total_epochs), np.nan, np.float32)
                        for key in ("loss", "accuracy", "val_loss", "val_accuracy")}
        self.norms = []  # per epoch: () or (global norms (n_steps, K), kernel norms (n_steps, K, n_dense))
        path = api.execution_path(config, self.n, total_epochs, record_grad_norms=record_grad_norms)
        self.path = PATHS[path](self, x, y)

    def phase(self, number: int, phase: Phase, weights, first_epoch: int):
        """Run one phase with a fresh optimizer; returns the weights after it (numpy)."""
        return self.path.phase(number, phase, weights, first_epoch)

    def batch_orders(self, first_epoch: int) -> np.ndarray:
        """(K, n): every copy's sample order for the next epoch."""
        return np.stack([api.batch_order(seed, first_epoch + self.done, self.n) for seed in self.seeds])

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
