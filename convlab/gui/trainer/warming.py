"""Compile the kernels a model's training step needs, pass by pass, with progress.

No Qt here: a generator the training worker runs before the session's own events, so
the first Start on an empty kernel cache says "compiling the training kernels (3 of 12:
conv2d_1 backward)" instead of sitting silently at 0%. Each pass runs one layer of a
*copy* of the model, forward in training mode then backward, on two images of the
training data: the same shapes and finiteness as a real batch, so ``kernels.conv._plan``
picks the same paths and numba compiles exactly the signatures the first step will use.
The model itself (weights, optimiser state, dropout's random stream) is untouched. While
it runs, the application's background warm-up holds between two of its steps
(``kernels._warmup.prioritize``) instead of competing for numba's compiler lock.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from kernels import _warmup

__all__ = ["CompileEvent", "session_events", "training_warmup_events"]


@dataclass(frozen=True)
class CompileEvent:
    """``done`` of ``total`` passes compiled; ``what`` is the pass about to run."""

    done: int
    total: int
    what: str

    def text(self) -> str:
        if self.done >= self.total:
            return "training kernels ready"
        return (
            f"compiling the training kernels ({self.done + 1} of {self.total}: "
            f"{self.what})…"
        )


def session_events(session: Any) -> Iterator[Any]:
    """The compile passes, then ``session.events()``: what the training worker runs."""
    yield from training_warmup_events(session.model, session.x_train, session.lock)
    yield from session.events()


def training_warmup_events(
    model: Any, x_train: np.ndarray, lock: Any = None
) -> Iterator[CompileEvent]:
    """Yield a :class:`CompileEvent` before each pass and one at the end
    (``done == total``). ``model`` is built or buildable from ``x_train``; ``lock``
    (optional) is held while the model is copied."""
    sample = np.asarray(x_train[: min(2, len(x_train))])
    if len(sample) == 0:
        return
    with _warmup.prioritize():
        with lock if lock is not None else contextlib.nullcontext():
            twin = copy.deepcopy(model)
        x = twin.prepare(sample)
        layers = list(twin.layers)
        first = twin.first_trainable
        backward = list(range(len(layers) - 1, first - 1, -1))
        total = len(layers) + len(backward)
        done = 0
        outputs = []
        for layer in layers:
            yield CompileEvent(done, total, f"{layer.name} forward")
            x = layer.forward(x, True)
            outputs.append(x)
            done += 1
        grad: np.ndarray | None = np.ones_like(outputs[-1]) / outputs[-1].size
        for i in backward:
            yield CompileEvent(done, total, f"{layers[i].name} backward")
            if grad is None:  # the first trainable layer gives none: nothing below
                break
            grad = layers[i].backward(np.ascontiguousarray(grad, np.float32))
            done += 1
        yield CompileEvent(total, total, "")
