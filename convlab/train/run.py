"""The trainer's run model: what the training window shows and drives, without Qt.

A :class:`TrainerRun` owns the state of one trainer (napari style: the widget is a thin
view of it): the data choice and the arrays cut from it, the model spec and its check,
the model, the optimizer, the epoch and step counters of the current run and the last
results. State changes go through explicit transitions (:class:`RunState`); an illegal
one raises :class:`TransitionError`. Views subscribe to its :class:`Callbacks`
(``run.state_changed.connect(fn)``); callbacks run in the thread that changed the run,
which for the GUI is the GUI thread (the worker's events reach it through signals).
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import engine
from .datasets import TrainData, load_train_data
from .events import StepEvent
from .finetune import TransferReport, replace_head, transfer_weights
from .session import EvaluationEvent, ProbeInputs, TrainingSession, TrainSettings
from .specs import StackCheck, check_stack

__all__ = [
    "BUNDLED",
    "FULL",
    "Callbacks",
    "RunState",
    "TrainerRun",
    "TransitionError",
    "TrainData",
    "load_data",
    "source_name",
]

#: the data choices besides a folder path
BUNDLED, FULL = "bundled", "full"


class RunState(str, enum.Enum):
    """Where the trainer is. ``str`` mixin: ``RunState.READY == "ready"``."""

    IDLE = "idle"  # no data yet, or the layer stack does not make a model
    READY = "ready"  # data and a model: Start is possible
    TRAINING = "training"
    PAUSED = "paused"

    @property
    def running(self) -> bool:
        """A run is under way (training or paused)."""
        return self in (RunState.TRAINING, RunState.PAUSED)


#: legal transitions (a state to itself is a no-op and always allowed)
_TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.IDLE: frozenset({RunState.READY}),
    RunState.READY: frozenset({RunState.IDLE, RunState.TRAINING}),
    RunState.TRAINING: frozenset({RunState.PAUSED, RunState.READY, RunState.IDLE}),
    RunState.PAUSED: frozenset({RunState.TRAINING, RunState.READY, RunState.IDLE}),
}


class TransitionError(RuntimeError):
    """An action the current :class:`RunState` does not allow."""


class Callbacks:
    """A list of observers: ``connect(fn)``, ``disconnect(fn)``, ``emit(*args)``."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> None:
        if not callable(callback):
            raise TypeError(
                f"`callback` must be callable. Received: callback={callback!r}"
            )
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., Any]) -> None:
        self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            callback(*args)


def source_name(source: str) -> str:
    """``bundled``, ``full``, or a folder's last part (a full path would not fit)."""
    if source in (BUNDLED, FULL):
        return source
    return Path(source).name or str(source)


def load_data(
    source: str,
    progress: Callable[[int, int, str], None] | None = None,
    folder_options: Any = None,
    cancel: Any = None,
) -> TrainData:
    """:func:`convlab.train.datasets.load_train_data` (MNIST, Fashion-MNIST,
    CIFAR-10, a folder); call it on a worker thread (it may download)."""
    return load_train_data(
        source, progress=progress, folder_options=folder_options, cancel=cancel
    )


@dataclass(frozen=True)
class RunProgress:
    """Read-out of the current run for a progress bar: all counts across runs."""

    fraction: float  # of this run, in [0, 1]
    epoch: int  # 1-based, counted across runs
    last_epoch: int  # the epoch this run ends with
    step: int
    steps_per_epoch: int
    seconds_left: float  # nan until the speed is known


class TrainerRun:
    """The trainer's state; the GUI reads it and drives it, the worker never sees it.

    Callbacks
    ---------
    state_changed(RunState)
    data_changed()
        New data or a new cut of it (``x_train`` ... ``y_test``).
    model_changed()
        A new model (fresh weights, a preset, an edit or a loaded file).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()  # the model is touched only under it
        self.probes = ProbeInputs()
        self.state_changed = Callbacks()
        self.data_changed = Callbacks()
        self.model_changed = Callbacks()
        self._state = RunState.IDLE
        self.data: TrainData | None = None
        self.x_train: np.ndarray | None = None
        self.y_train: np.ndarray | None = None
        self.x_test: np.ndarray | None = None
        self.y_test: np.ndarray | None = None
        #: a validation part the data set holds (a folder split), else None
        self.x_val: np.ndarray | None = None
        self.y_val: np.ndarray | None = None
        #: the most training images used (0 = all); tests and lectures use a few 1000
        self.max_train_images = 0
        #: the most test images evaluated after each epoch (0 = all)
        self.max_eval_images = 0
        self._train_limit = 0
        self.specs: list[dict[str, Any]] = []
        self.check = StackCheck()
        self.model: Any = None
        self.optimizer: Any = None
        self.settings = TrainSettings()
        self.epochs_done = 0  # finished epochs of this model, across runs
        #: where the curves' x axis stands: epochs trained, fractional after a Stop
        #: within an epoch (the next run's curves continue from there)
        self.x_done = 0.0
        #: how the last run ended: "", "finished", "stopped" or "failed"
        self.outcome = ""
        self.failure = ""
        #: what the model is, for the Results' labels: a preset name, "edited
        #: layers" or the file it was opened from
        self.model_label = ""
        #: what the last rebuild kept of the previous weights (None: fresh weights)
        self.transfer: TransferReport | None = None
        #: what :meth:`adapt_model_to_data` did on the last data change (None: the
        #: model already fitted the data)
        self.adapted: TransferReport | None = None
        #: why the last adapt_model_to_data could not fit the model to the data
        self.adapt_problem = ""
        self.seed = 0
        self.run_epochs = 0
        self.run_steps = 0
        self.last_step: StepEvent | None = None
        self.last_eval: EvaluationEvent | None = None
        self._run_x0 = 0.0

    # ------------------------------------------------------------------ state
    @property
    def state(self) -> RunState:
        return self._state

    def _transition(self, new: RunState, action: str) -> None:
        old = self._state
        if new == old:
            return
        if new not in _TRANSITIONS[old]:
            allowed = ", ".join(s.value for s in RunState if old in _TRANSITIONS[s])
            raise TransitionError(
                f"Cannot {action} while the trainer is {old.value} (allowed from: "
                f"{allowed}). Received: state={old.value!r}"
            )
        self._state = new
        self.state_changed.emit(new)

    def _settle(self) -> None:
        """IDLE or READY from what is there (no-op while a run is under way)."""
        if self._state.running:
            return
        ready = self.data is not None and self.model is not None
        self._transition(RunState.READY if ready else RunState.IDLE, "settle")

    def _require(self, state: RunState, action: str) -> None:
        if self._state != state:
            raise TransitionError(
                f"Cannot {action} while the trainer is {self._state.value} (only when "
                f"{state.value}). Received: state={self._state.value!r}"
            )

    def _require_not_running(self, action: str) -> None:
        if self._state.running:
            raise TransitionError(
                f"Cannot {action} while the trainer is {self._state.value}: stop "
                f"training first. Received: state={self._state.value!r}"
            )

    # ------------------------------------------------------------------ data
    @property
    def train_limit(self) -> int:
        return self._train_limit

    def set_train_limit(self, n: int) -> None:
        """Train on the first ``n`` training images (0: all)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"`n` must be an int >= 0. Received: n={n!r}")
        self._require_not_running("change the training images")
        self._train_limit = int(n)
        self._cut()

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the data's images (MNIST's before any data)."""
        if self.data is None:
            return engine.DEFAULT_INPUT_SHAPE
        return self.data.input_shape

    @property
    def num_classes(self) -> int:
        return 10 if self.data is None else self.data.num_classes

    @property
    def class_names(self) -> list[str]:
        if self.data is None:
            return [str(i) for i in range(10)]
        return list(self.data.class_names)

    def set_data(self, data: Any) -> str:
        """Use ``data`` (:class:`TrainData`, or MnistData, converted) for training
        and evaluation (the first images, see limits). The model follows the data's
        input shape and class count (:meth:`adapt_model_to_data`); returns what that
        changed, in words ("" if nothing)."""
        self._require_not_running("change the data")
        if not isinstance(data, TrainData):
            data = TrainData.from_mnist(data)
        self.data = data
        self._cut(notify=False)
        # the model first, so that views told of the new data find a model for it
        self.adapt_problem = ""
        self.adapted = self.adapt_model_to_data()
        note = (
            self.adapt_problem
            if self.adapted is None
            else "The model follows the data (for {1}x{2}x{0} images, {3} classes): "
            "{4}.".format(*self.input_shape, self.num_classes, self.adapted.text())
        )
        self.data_changed.emit()
        self._settle()
        return note

    def model_fits_data(self) -> bool:
        """The current model takes the data's images and gives one output per
        class."""
        model = self.model
        if model is None or self.data is None:
            return True
        shape = getattr(model, "input_shape", None)
        try:
            inp = tuple(int(v) for v in shape) if shape is not None else None
            out = int(model.output_shape[-1])
        except (TypeError, AttributeError, IndexError, ValueError):
            return False
        return inp == self.input_shape and out == self.num_classes

    def _cut(self, notify: bool = True) -> None:
        data = self.data
        if data is None:
            return
        n = self.max_train_images or self._train_limit or len(data.x_train)
        n = min(n, len(data.x_train))
        m = min(self.max_eval_images or len(data.x_test), len(data.x_test))
        self.x_train = engine.to_model_input(data.x_train[:n])
        self.y_train = np.asarray(data.y_train[:n], np.int64)
        self.x_test = engine.to_model_input(data.x_test[:m])
        self.y_test = np.asarray(data.y_test[:m], np.int64)
        if data.x_val is not None and len(data.x_val):
            self.x_val = engine.to_model_input(data.x_val)
            self.y_val = np.asarray(data.y_val, np.int64)
        else:
            self.x_val = self.y_val = None
        if notify:
            self.data_changed.emit()

    # ------------------------------------------------------------------ model
    def set_specs(
        self,
        specs: list[dict[str, Any]],
        seed: int = 0,
        label: str = "",
        keep_weights: bool = False,
    ) -> StackCheck:
        """A model for ``specs`` and the data's input shape and class count, or none
        if they do not make one; returns the row-by-row check. Weights come from
        ``seed``; with ``keep_weights`` every layer the change leaves as it was keeps
        the current model's weights (:func:`~convlab.train.finetune.transfer_weights`,
        report in ``transfer``). Raises ValueError if convlab.nn refuses a stack the
        check passed."""
        self._require_not_running("change the model")
        self.check = self._check(specs)
        old = self.model if keep_weights else None
        self.specs = [dict(s) for s in specs]
        self.seed = int(seed)
        self.transfer = None
        if not self.check.ok:
            self.model = None
            self._settle()
            self.model_changed.emit()
            return self.check
        try:
            model = engine.build_model(specs, seed=seed, input_shape=self.input_shape)
        except ValueError:
            self.model = None
            self._settle()
            self.model_changed.emit()
            raise
        transfer = None
        if old is not None:
            with self.lock:
                transfer = transfer_weights(old, model)
        self.transfer = transfer
        self.set_model(model, specs, label=label)
        return self.check

    def _check(self, specs: list[dict[str, Any]]) -> StackCheck:
        return check_stack(
            specs, input_shape=self.input_shape, num_classes=self.num_classes
        )

    def adapt_model_to_data(self) -> TransferReport | None:
        """The model follows the data (the model-follows-data hook): a last Dense
        sized for the data's class count ("replace the head") and layers built for
        its input shape, keeping the weights of every layer that does not change.
        Returns the report, or None when the model already fits (or there are no
        layers, or a run is under way)."""
        if not self.specs or self._state.running:
            return None
        specs, head = replace_head(self.specs, self.num_classes)
        model = self.model
        fits = model is not None and tuple(model.input_shape) == self.input_shape
        if fits and not head:
            return None
        label = self.model_label or "the model"
        if not label.endswith("(adapted to the data)"):
            label = f"{label} (adapted to the data)"
        c, h, w = self.input_shape
        try:
            check = self.set_specs(
                specs, seed=self.seed, label=label, keep_weights=True
            )
        except ValueError as err:
            self.adapt_problem = (
                f"The layers do not make a model for {c}x{h}x{w} images: {err}"
            )
            return None
        if not check.ok:
            self.adapt_problem = (
                f"The layers do not fit {c}x{h}x{w} images: {check.error}"
            )
            return None
        return self.transfer or TransferReport()

    def set_model(
        self, model: Any, specs: list[dict[str, Any]] | None = None, label: str = ""
    ) -> None:
        """Install a built model (a loaded one, say): counters and results restart
        (``last_eval`` is None until this model is evaluated)."""
        self._require_not_running("change the model")
        specs = engine.specs_from_model(model) if specs is None else specs
        self.specs = [dict(s) for s in specs]
        shape = tuple(getattr(model, "input_shape", None) or self.input_shape)
        classes = getattr(model, "output_shape", None) or (self.num_classes,)
        self.check = check_stack(self.specs, shape, int(classes[-1]))
        self.model = model
        self.optimizer = None
        self.epochs_done = 0
        self.x_done = 0.0
        self.outcome = self.failure = ""
        self.model_label = label
        self.last_step = None
        self.last_eval = None
        self._settle()
        self.model_changed.emit()

    def load(self, path: str | Path) -> Any:
        """Open a saved model and install it; on error nothing changes."""
        self._require_not_running("open a model")
        from convlab.nn import load_model

        model = load_model(path)
        specs = engine.specs_from_model(model)
        self.transfer = None
        self.set_model(model, specs, label=Path(path).name)
        # fine-tuning: on other data, the head (and layers whose input changes)
        # start fresh, the rest keep the file's weights
        self.adapted = self.adapt_model_to_data() if self.data is not None else None
        return self.model

    def save(self, path: str | Path) -> None:
        if self.model is None:
            raise ValueError("There is no model to save. Received: model=None")
        if self._state == RunState.TRAINING:
            raise TransitionError(
                "Cannot save while the trainer is training: pause or stop first. "
                "Received: state='training'"
            )
        with self.lock:
            self.model.save(path)

    def set_learning_rate(self, value: float) -> None:
        """Applies from the next step (the engine reads it at every step)."""
        if self.optimizer is not None:
            self.optimizer.learning_rate = float(value)

    # ------------------------------------------------------------------ a run
    def training_count(self, validation_split: float) -> int:
        """How many images train once ``validation_split`` is held out (Keras's
        rule, as ``convlab.nn`` splits)."""
        n = 0 if self.x_train is None else len(self.x_train)
        return int(n * (1.0 - float(validation_split))) if validation_split > 0 else n

    def start_problem(self, settings: TrainSettings) -> str:
        """Why Start cannot train with ``settings`` ("" if it can): the data must
        leave training and, with a split, validation images."""
        n = 0 if self.x_train is None else len(self.x_train)
        split = 0.0 if self.x_val is not None else float(settings.validation_split)
        kept = self.training_count(split)
        if n == 0:
            return "There are no training images: load data or raise the limit."
        if not self.model_fits_data():
            shape = getattr(self.model, "input_shape", None) or ()
            c, h, w = self.input_shape
            return (
                f"The model takes {'x'.join(str(v) for v in shape)} images with "
                f"{getattr(self.model, 'output_shape', (0,))[-1]} outputs but the "
                f"data has {c}x{h}x{w} images in {self.num_classes} classes: rebuild "
                "the layers for this data."
            )
        if kept == 0:
            return (
                f"Validation split {split:.0%} of {n} training image"
                f"{'' if n == 1 else 's'} leaves none to train on: use more training "
                "images or a smaller split."
            )
        if split > 0 and kept == n:
            return (
                f"Validation split {split:.0%} of {n} training images holds out none: "
                "use a larger split or 0%."
            )
        return ""

    def begin(self, settings: TrainSettings) -> TrainingSession:
        """READY -> TRAINING: compile and return the session a worker runs.

        Raises ValueError (nothing changes) when :meth:`start_problem` names one."""
        self._require(RunState.READY, "start training")
        problem = self.start_problem(settings)
        if problem:
            raise ValueError(
                f"{problem} Received: training images="
                f"{0 if self.x_train is None else len(self.x_train)}, "
                f"validation_split={settings.validation_split}"
            )
        if (
            self.optimizer is None
            or type(self.optimizer).__name__.lower() != settings.optimizer
        ):
            self.optimizer = engine.make_optimizer(
                settings.optimizer, settings.learning_rate
            )
        self.optimizer.learning_rate = settings.learning_rate
        self.model.compile(
            optimizer=self.optimizer,
            # from the logits when the model ends without softmax
            loss=engine.make_loss(self.model),
            metrics=["accuracy"],
        )
        session = TrainingSession(
            self.model,
            self.lock,
            self.x_train,
            self.y_train,
            self.x_test,
            self.y_test,
            settings,
            self.probes,
            epoch_offset=self.epochs_done,
            validation_data=(None if self.x_val is None else (self.x_val, self.y_val)),
        )
        self.settings = settings
        self.run_epochs = settings.epochs
        self.run_steps = 0
        self.last_step = None
        self.outcome = self.failure = ""
        self._run_x0 = self.x_done
        self._transition(RunState.TRAINING, "start training")
        return session

    def pause(self) -> None:
        self._require(RunState.TRAINING, "pause")
        self._transition(RunState.PAUSED, "pause")

    def resume(self) -> None:
        self._require(RunState.PAUSED, "resume")
        self._transition(RunState.TRAINING, "resume")

    def record(self, event: Any) -> None:
        """Count a worker event (GUI thread): steps, the last step, the last
        evaluation."""
        if isinstance(event, StepEvent):
            self.run_steps += 1
            self.last_step = event
        elif isinstance(event, EvaluationEvent):
            self.last_eval = event

    def fail(self, message: str) -> None:
        """The worker reported an error: the run's outcome is "failed" (a later
        :meth:`finish` keeps it)."""
        self.outcome, self.failure = "failed", str(message)

    def finish(self, stopped: bool = False) -> None:
        """The worker ended (finished, stopped or failed): back to READY or IDLE.
        ``outcome`` becomes "stopped" or "finished" unless :meth:`fail` came first."""
        if not self._state.running:
            raise TransitionError(
                "Cannot finish a run while the trainer is "
                f"{self._state.value}. Received: state={self._state.value!r}"
            )
        ev = self.last_step
        if ev is not None:
            self.epochs_done += ev.epoch - (0 if ev.step >= ev.steps_per_epoch else 1)
            self.x_done = (
                self._run_x0 + ev.epoch - 1 + ev.step / max(ev.steps_per_epoch, 1)
            )
            self.last_step = None
        if self.outcome != "failed":
            self.outcome = "stopped" if stopped else "finished"
        ready = self.data is not None and self.model is not None
        self._transition(RunState.READY if ready else RunState.IDLE, "finish")

    # ------------------------------------------------------------------ read-outs
    def epoch_number(self, epoch: int) -> int:
        """Epoch count across runs (the engine's ``epoch`` is 1-based within a run)."""
        return self.epochs_done + epoch

    def epoch_x(self, epoch: int, step: int, steps: int) -> float:
        """Position on the curves' x axis: epochs completed, fractional within an
        epoch."""
        x0 = self._run_x0 if self._state.running else self.x_done
        return x0 + epoch - 1 + step / max(steps, 1)

    def progress(self) -> RunProgress | None:
        """Where the current run is, from its last step (None before the first)."""
        ev = self.last_step
        if ev is None:
            return None
        total = ev.steps_per_epoch * self.run_epochs
        done = (ev.epoch - 1) * ev.steps_per_epoch + ev.step
        ips = float(ev.images_per_second)
        left = (
            (total - done) * self.settings.batch_size / ips if ips > 0 else float("nan")
        )
        return RunProgress(
            done / max(total, 1),
            self.epoch_number(ev.epoch),
            self.epochs_done + self.run_epochs,
            ev.step,
            ev.steps_per_epoch,
            left,
        )

    def label_of_test(self, index: int) -> int | None:
        if self.y_test is None or not 0 <= index < len(self.y_test):
            return None
        return int(self.y_test[index])

    def test_image(self, index: int) -> np.ndarray | None:
        """Test image ``index`` as float in [0, 1]: (H, W) when grey, (C, H, W)
        when colour."""
        if self.x_test is None or not 0 <= index < len(self.x_test):
            return None
        image = self.x_test[index] / np.float32(255.0)
        return image[0] if image.shape[0] == 1 else image
