"""A dependency-free progress line for terminals: ``\\r`` updates, at most ~10 a
second."""

from __future__ import annotations

import time
from typing import TextIO

from .events import EpochEvent, StepEvent

__all__ = ["ProgressLine", "format_seconds"]


def format_seconds(seconds: float) -> str:
    seconds = max(int(round(seconds)), 0)
    minutes, s = divmod(seconds, 60)
    hours, m = divmod(minutes, 60)
    return f"{hours}:{m:02d}:{s:02d}" if hours else f"{m}:{s:02d}"


class ProgressLine:
    """Writes
    ``Epoch 1/3 [=====>    ] 120/469 loss 0.41 acc 0.871 2,345 img/s ETA 0:42``.

    Parameters
    ----------
    stream : text stream
        ``sys.stderr`` for the CLI, ``sys.stdout`` for ``fit`` (as Keras).
    epochs : int
        Total epochs, for the ETA.
    width : int
        Characters in the bar.
    min_interval : float
        Seconds between redraws (the last step of an epoch is always drawn).
    """

    def __init__(
        self, stream: TextIO, epochs: int, width: int = 24, min_interval: float = 0.1
    ) -> None:
        self.stream = stream
        self.epochs = epochs
        self.width = width
        self.min_interval = min_interval
        self._last = 0.0
        self._length = 0

    def step(self, event: StepEvent) -> None:
        now = time.perf_counter()
        if event.step != event.steps_per_epoch and now - self._last < self.min_interval:
            return
        self._last = now
        done = event.step / event.steps_per_epoch
        filled = int(done * self.width)
        bar = (
            "=" * filled
            + (">" if filled < self.width else "")
            + " " * (self.width - filled - 1)
        )
        images_left = (
            (event.steps_per_epoch - event.step)
            + (self.epochs - event.epoch) * event.steps_per_epoch
        ) * (
            event.images_seen
            / max(1, (event.epoch - 1) * event.steps_per_epoch + event.step)
        )
        eta = images_left / max(event.images_per_second, 1e-9)
        text = (
            f"Epoch {event.epoch}/{self.epochs} [{bar[: self.width]}] "
            f"{event.step}/{event.steps_per_epoch} loss {event.loss:.4f} "
            f"acc {event.accuracy:.4f} {event.images_per_second:,.0f} img/s "
            f"ETA {format_seconds(eta)}"
        )
        self._write("\r" + text.ljust(self._length))
        self._length = len(text)

    def epoch(self, event: EpochEvent) -> None:
        text = (
            f"Epoch {event.epoch}/{self.epochs}: loss {event.loss:.4f} "
            f"acc {event.accuracy:.4f}"
        )
        if event.val_loss is not None:
            text += f" val_loss {event.val_loss:.4f} val_acc {event.val_accuracy:.4f}"
        text += f" ({event.seconds:.1f} s)"
        self._write("\r" + text.ljust(self._length) + "\n")
        self._length = 0

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
