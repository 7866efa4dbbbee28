"""The records ``Sequential.fit_events`` yields: plain frozen dataclasses of numbers,
and the :class:`History` that ``fit`` returns.

They hold floats and ints only (plus the History at the end), so a GUI worker can pass
them between threads as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["StepEvent", "EpochEvent", "FinishedEvent", "History", "Event"]


class History:
    """What ``fit`` returns, as Keras's: ``history.history["loss"]`` etc., one entry per
    epoch.

    Attributes
    ----------
    history : dict of str to list of float
        ``loss``, ``accuracy`` and, with validation data, ``val_loss``,
        ``val_accuracy``.
    epoch : list of int
        Epoch indices, from 0 as in Keras.
    params : dict
        ``batch_size``, ``epochs``, ``steps``.
    """

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.params: dict[str, Any] = dict(params or {})

    def append(self, epoch: int, logs: dict[str, float | None]) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            if value is not None:
                self.history.setdefault(key, []).append(float(value))

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


@dataclass(frozen=True)
class StepEvent:
    """After every optimiser step.

    Attributes
    ----------
    epoch : int
        1-based (``Epoch 1/3`` as Keras prints it).
    step, steps_per_epoch : int
        ``step`` is 1-based: ``step == steps_per_epoch`` on an epoch's last batch.
    loss, accuracy : float
        Running means over the epoch so far (what Keras's progress bar shows).
    images_seen : int
        Training images processed since training started, all epochs together.
    images_per_second : float
        Throughput over the epoch so far.
    batch_loss, batch_accuracy : float
        This batch's own values (noisier).
    epochs : int
        Total number of epochs asked for.
    """

    epoch: int
    step: int
    steps_per_epoch: int
    loss: float
    accuracy: float
    images_seen: int
    images_per_second: float
    batch_loss: float = float("nan")
    batch_accuracy: float = float("nan")
    epochs: int = 0


@dataclass(frozen=True)
class EpochEvent:
    """After every epoch: training means over the epoch and, with validation data, the
    validation metrics (``None`` without). ``seconds`` is the epoch's wall time
    including validation. ``epoch`` is 1-based."""

    epoch: int
    loss: float
    accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    seconds: float


@dataclass(frozen=True)
class FinishedEvent:
    """The last event. ``stopped`` is True when training ended early (the loss became
    NaN or infinite); ``reason`` then says why."""

    history: History
    stopped: bool = False
    reason: str = ""


Event = StepEvent | EpochEvent | FinishedEvent
