"""What the reuse arms actually trained, read from the calls to core.stacked.train (never from a config or a row):
tests/test_auxiliary.py and tests/test_auxiliary_tuned.py count each arm's updates and rates with it."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import pytest

from core import auxiliary, stacked


@dataclass
class Call:
    """One stacked.train call: each copy's starting arrays, trainable arrays, batches, rate, and the params after
    each segment (with the number of updates done by then)."""

    objective: object
    start: dict  # {name: (K, ...)}
    trainable: tuple
    streams: np.ndarray  # (K, updates, batch)
    rates: np.ndarray  # (K,) the rate each copy trained at
    snapshots: list = field(default_factory=list)  # [(updates done, {name: (K, ...)})]


@contextlib.contextmanager
def spy_on_training():
    """Record every stacked.train call made inside the block (a list of Call, filled as they run)."""
    calls, original = [], stacked.train

    def recording(objective, params, trainable, optimizer, data, streams, *args, **kwargs):
        streams = np.asarray(streams)
        rates = kwargs.get("learning_rates")
        rates = np.full(len(streams), optimizer.learning_rate) if rates is None else np.asarray(rates, float)
        call = Call(objective, {key: np.array(value) for key, value in params.items()}, tuple(trainable), streams,
                    rates)
        calls.append(call)
        segments = kwargs.get("segments", args[1] if len(args) > 1 else 1)
        inner = kwargs.pop("on_segment", None)

        def on_segment(index, stacked_params):
            call.snapshots.append(((index + 1) * streams.shape[1] // segments, stacked_params))
            if inner is not None:
                inner(index, stacked_params)

        return original(objective, params, trainable, optimizer, data, streams, *args, on_segment=on_segment,
                        **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stacked, "train", recording)
        yield calls


def _copy(params: dict, k: int) -> dict:
    return {key: value[k] for key, value in params.items()}


def _same(first: dict, second: dict) -> bool:
    return first.keys() == second.keys() and all(np.array_equal(first[key], second[key]) for key in first)


def arm_histories(calls, config, seeds, store) -> dict:
    """{(arm, seed): [history per copy]} of the target-task copies. A history is a list of stretches (updates,
    rate, what trained: "all" or "output", the batches' row ids (updates, batch)); a frozen_then_unfrozen copy's
    first stretch is the frozen copy it started from, cut where its snapshot was taken. Arms are recognised by
    what a copy started from (scratch's fresh weights or a source's encoder) and what it trained, seeds by their
    own fresh weights and encoders."""
    common = config.common
    layers = auxiliary.target_layers(common)
    objective = stacked.Classification(layers)
    first_kernel = f"{layers[0].name}/kernel"
    fresh = stacked.initial_params(layers, 784, seeds, "target")
    encoders = {source: auxiliary.encoder_params(config.source(source), seeds, store)[first_kernel]
                for source in auxiliary.SOURCES}
    histories, origin = {}, {}  # origin: id of a snapshot copy -> (arm's source, seed, rate)
    for call in (call for call in calls if call.objective == objective):
        updates, what = call.streams.shape[1], "all" if len(call.trainable) > 2 else "output"
        for k in range(len(call.streams)):
            start, rate, stream = _copy(call.start, k), float(call.rates[k]), call.streams[k]
            parent = next(((done, found) for earlier in calls if earlier.objective == objective
                           for done, params in earlier.snapshots for j in range(len(earlier.streams))
                           for found in [origin.get((id(earlier), j))] if found and _same(_copy(params, j), start)),
                          None)
            if parent is not None:
                done, (source, seed, frozen_rate, frozen_stream) = parent
                key, history = (f"{source}:frozen_then_unfrozen", seed), [
                    (done, frozen_rate, "output", frozen_stream[:done]), (updates, rate, what, stream)]
            else:
                kernel = start[first_kernel]
                seed = next(index for index in range(len(seeds)) if np.array_equal(kernel, fresh[first_kernel][index])
                            or any(np.array_equal(kernel, kernels[index]) for kernels in encoders.values()))
                source = next((name for name, kernels in encoders.items()
                               if np.array_equal(start[first_kernel], kernels[seed])), "scratch")
                mode = "fine_tune" if what == "all" else "frozen"
                key, history = ("scratch" if source == "scratch" else f"{source}:{mode}", seed), [
                    (updates, rate, what, stream)]
                if mode == "frozen":
                    origin[(id(call), k)] = (source, seed, rate, stream)
            histories.setdefault((key[0], seeds[key[1]]), []).append(history)
    return histories
