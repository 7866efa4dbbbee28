"""``train_events``: the training loop as a generator of events, consumed by the CLI
and the GUI's trainer.

It is :meth:`convlab.nn.Sequential.fit_events` (the model's public per-step API, as
Keras 3's ``Trainer``), under the name and signature ``convlab.train`` has always had;
see :mod:`convlab.nn.trainer` for why a generator and when it is safe to stop.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from convlab.nn import Sequential
from convlab.nn.events import Event

__all__ = ["train_events"]


def train_events(
    model: Sequential,
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int = 32,
    epochs: int = 1,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    validation_split: float = 0.0,
    shuffle: bool = True,
    seed: int = 0,
    steps_per_epoch: int | None = None,
) -> Iterator[Event]:
    """Train ``model`` on ``(x, y)``, yielding a :class:`StepEvent` after every batch,
    an :class:`EpochEvent` after every epoch and a :class:`FinishedEvent` at the end.

    The arguments are :meth:`Sequential.fit_events`'s; as in any generator they are
    checked on the first ``next()``. ``model`` must be compiled; it is built from
    ``x`` if it has no input shape yet.
    """
    yield from model.fit_events(
        x,
        y,
        batch_size=batch_size,
        epochs=epochs,
        validation_data=validation_data,
        validation_split=validation_split,
        shuffle=shuffle,
        seed=seed,
        steps_per_epoch=steps_per_epoch,
    )
