"""The records the training generator yields; they live in :mod:`convlab.nn.events`
(``Sequential.fit_events`` makes them) and keep their names here."""

from __future__ import annotations

from convlab.nn.events import EpochEvent, FinishedEvent, History, StepEvent

__all__ = ["StepEvent", "EpochEvent", "FinishedEvent", "History"]
