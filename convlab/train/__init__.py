"""Headless training: :func:`train_events`, a generator of step/epoch/finished events.

``convlab train`` and the GUI's trainer consume it. It is
:meth:`convlab.nn.Sequential.fit_events` (which ``Sequential.fit`` runs too) under
its long-standing name; the event records live in :mod:`convlab.nn.events` and keep
their names here.
"""

from __future__ import annotations

from .events import EpochEvent, FinishedEvent, History, StepEvent
from .loop import train_events

__all__ = ["train_events", "StepEvent", "EpochEvent", "FinishedEvent", "History"]
from .run import RunState, TrainerRun, TransitionError  # noqa: E402
from .session import TrainingSession, TrainSettings  # noqa: E402
from .specs import check_stack  # noqa: E402

__all__ += ["RunState", "TrainerRun", "TransitionError", "TrainingSession"]
__all__ += ["TrainSettings", "check_stack"]
