"""What runs on the training thread: the engine's events, plus snapshots for the live
views.

No Qt here. :meth:`TrainingSession.events` wraps ``convlab.train.train_events`` and,
between two steps, copies out what the GUI shows (the first layer's filters, every
layer's output for the chosen test digit and the drawn digit) and after each epoch
evaluates the test images (confusion matrix, predictions). All model access happens
under one lock, so a thread-pool task computing a drawn digit's prediction while
training is paused never races the training step. Only copies of arrays leave this
module.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from . import preprocess
from .engine import as_probe_input, ends_with_softmax, first_conv, softmax_rows

__all__ = [
    "BusyEvent",
    "EvaluationEvent",
    "Probe",
    "ProbeInputs",
    "SnapshotEvent",
    "TrainSettings",
    "TrainingSession",
    "compute_probe",
    "evaluate",
    "evaluate_model",
]


@dataclass(frozen=True)
class TrainSettings:
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 64
    epochs: int = 1
    seed: int = 0
    validation_split: float = 0.1
    #: ImageDataGenerator augmentation arguments, applied per training batch
    #: (convlab.train.preprocess); None: no augmentation
    augment: dict | None = None
    #: centring / std normalisation / ZCA arguments, fit on the training part and
    #: remembered by the model (convlab.train.preprocess); None: pixels / 255
    normalise: dict | None = None


@dataclass
class Probe:
    """One image's journey through the model: every layer's output and the
    probabilities."""

    image: np.ndarray  # (H, W) grey or (C, H, W) colour, float32 in [0, 1]
    activations: list[tuple[str, np.ndarray]]
    probabilities: np.ndarray  # (num_classes,)


@dataclass
class SnapshotEvent:
    filters: tuple[str, np.ndarray] | None
    test_probe: Probe | None
    draw_probe: Probe | None
    draw_version: int


@dataclass
class EvaluationEvent:
    epoch: int
    predictions: np.ndarray  # (N,) int
    probabilities: np.ndarray  # (N, num_classes) float32
    labels: np.ndarray  # (N,) int
    seconds: float


@dataclass
class BusyEvent:
    what: str
    done: int
    total: int
    unit: str = "test images"


class ProbeInputs:
    """The images the GUI wants followed, set from the GUI thread, read by the
    worker."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.test_image: np.ndarray | None = None
        self.draw_image: np.ndarray | None = None
        self.draw_version = 0

    def set_test_image(self, image: np.ndarray | None) -> None:
        with self._lock:
            self.test_image = None if image is None else np.array(image, np.float32)

    def set_draw_image(self, image: np.ndarray | None) -> None:
        with self._lock:
            self.draw_image = None if image is None else np.array(image, np.float32)
            self.draw_version += 1

    def get(self) -> tuple[np.ndarray | None, np.ndarray | None, int]:
        with self._lock:
            return self.test_image, self.draw_image, self.draw_version


def _probe(model: Any, image: np.ndarray) -> Probe:
    layers = model.activations(preprocess.model_input(model, as_probe_input(image)))
    acts = [(name, np.array(out[0], np.float32, copy=True)) for name, out in layers]
    probs = np.array(acts[-1][1], np.float32).reshape(-1)
    if not ends_with_softmax(model):  # logits (trained from_logits): softmax them
        probs = softmax_rows(probs)
    shown = np.array(image, np.float32)
    if shown.ndim < 2:
        shown = shown.reshape(28, 28)  # a flat 784 is a 28x28 digit
    if shown.ndim == 3 and shown.shape[0] == 1:
        shown = shown[0]  # grey: (H, W), as before
    return Probe(shown, acts, probs)


def compute_probe(
    model: Any,
    lock: threading.Lock,
    test_image: np.ndarray | None,
    draw_image: np.ndarray | None,
    draw_version: int = 0,
) -> SnapshotEvent:
    """Filters and probes for the live views (call on a worker thread). An image
    the model does not take (the data and the model changed a moment apart) gets no
    probe."""
    with lock:
        return SnapshotEvent(
            first_conv(model),
            _probe(model, test_image) if _fits(model, test_image) else None,
            _probe(model, draw_image) if _fits(model, draw_image) else None,
            draw_version,
        )


def _fits(model: Any, image: np.ndarray | None) -> bool:
    """``image`` ((H, W) or (C, H, W)) is what ``model`` takes."""
    if image is None:
        return False
    shape = getattr(model, "input_shape", None)
    if shape is None:
        return True
    return tuple(as_probe_input(image).shape[1:]) == tuple(shape)


def _num_outputs(model: Any) -> int:
    """The model's output width (its class count)."""
    try:
        return int(model.output_shape[-1])
    except (AttributeError, TypeError, IndexError):
        return 10


def evaluate(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    chunk: int = 500,
    lock: threading.Lock | None = None,
):
    """Generator: predicts ``x`` in chunks (yielding BusyEvent between them, so a stop
    is quick), then yields one EvaluationEvent-like tuple ``(predictions,
    probabilities)``."""
    probs = np.empty((len(x), _num_outputs(model)), np.float32)
    logits = not ends_with_softmax(model)
    for start in range(0, len(x), chunk):
        stop = min(start + chunk, len(x))
        if lock is None:
            probs[start:stop] = model.predict(
                preprocess.model_input(model, x[start:stop])
            )
        else:
            with lock:
                probs[start:stop] = model.predict(
                    preprocess.model_input(model, x[start:stop])
                )
        if logits:  # the captions show probabilities, never raw outputs
            probs[start:stop] = softmax_rows(probs[start:stop])
        yield BusyEvent("evaluating", stop, len(x))
    yield probs.argmax(axis=1), probs


def evaluate_model(
    model: Any,
    lock: threading.Lock,
    x: np.ndarray,
    y: np.ndarray,
    epoch: int = 0,
) -> EvaluationEvent:
    """The whole of :func:`evaluate` as one EvaluationEvent (call on a worker thread):
    the Results of a model that was opened rather than trained here (``epoch`` 0)."""
    t0 = time.perf_counter()
    result = None
    for item in evaluate(model, x, y, lock=lock):
        if not isinstance(item, BusyEvent):
            result = item
    if result is None:  # no test images
        result = (
            np.zeros(0, np.int64),
            np.zeros((0, _num_outputs(model)), np.float32),
        )
    return EvaluationEvent(
        epoch,
        np.asarray(result[0], np.int64),
        result[1],
        np.asarray(y, np.int64),
        time.perf_counter() - t0,
    )


def _without_held(event: Any, held: float, epoch_images: int) -> Any:
    """``event`` (a StepEvent) with its speed over the epoch's time minus ``held``
    seconds spent paused."""
    ips = float(event.images_per_second)
    if held <= 0 or ips <= 0 or epoch_images <= 0:
        return event
    elapsed = epoch_images / ips
    return replace(event, images_per_second=epoch_images / max(elapsed - held, 1e-9))


class TrainingSession:
    """Everything one Start needs; :meth:`events` is the generator the worker runs."""

    def __init__(
        self,
        model: Any,
        lock: threading.Lock,
        x_train: np.ndarray,
        y_train: np.ndarray,
        x_eval: np.ndarray,
        y_eval: np.ndarray,
        settings: TrainSettings,
        probes: ProbeInputs,
        *,
        epoch_offset: int = 0,
        snapshot_interval: float = 0.3,
        validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.model, self.lock = model, lock
        self.x_train, self.y_train = x_train, y_train
        self.x_eval, self.y_eval = x_eval, y_eval
        self.settings, self.probes = settings, probes
        self.epoch_offset = epoch_offset
        self.snapshot_interval = snapshot_interval
        #: a held-out part of the data set (a folder split): used instead of
        #: ``settings.validation_split``
        self.validation_data = validation_data

    def _snapshot(self) -> SnapshotEvent:
        test, draw, version = self.probes.get()
        return compute_probe(self.model, self.lock, test, draw, version)

    def _validation_kwargs(self, prep: preprocess.TrainingInput) -> dict[str, Any]:
        """``train_events``' validation arguments: the held-out part of the data set
        (prepared as the training images are) when there is one, else the split's."""
        if self.validation_data is None:
            return prep.kwargs
        x_val, y_val = self.validation_data
        if prep.active:
            x_val = preprocess.prepare(x_val, prep.normaliser)
        kwargs = {"validation_data": (x_val, y_val)}
        if not prep.active:
            kwargs["shuffle"] = True
        return kwargs

    def events(self):
        from convlab.train import EpochEvent, StepEvent, train_events

        s = self.settings
        # augmentation / normalisation (TrainSettings.augment, .normalise)
        held = self.validation_data
        # a held-out part of the data set replaces the validation split
        split_settings = replace(s, validation_split=0.0) if held else s
        prep = preprocess.TrainingInput(self.x_train, self.y_train, split_settings)
        for done, total, what in prep.fit_events():
            yield BusyEvent(what, done, total, "training images")
        with self.lock:
            preprocess.attach(self.model, prep.normaliser)
        gen = train_events(
            self.model,
            *prep.args,
            batch_size=s.batch_size,
            epochs=s.epochs,
            seed=s.seed,
            **self._validation_kwargs(prep),
        )
        last_snapshot = 0.0
        seen_version = self.probes.get()[2]
        # time this generator spends suspended in a yield (a pause, the consumer's
        # work) since the epoch began: taken out of the epoch's seconds and speed, so
        # a pause does not read as a slow epoch
        held = 0.0
        base = 0  # images seen before this epoch
        last_seen = 0
        try:
            while True:
                with self.lock:
                    try:
                        event = next(gen)
                    except StopIteration:
                        break
                if isinstance(event, StepEvent):
                    if event.step == 1:
                        held, base = 0.0, last_seen
                    last_seen = event.images_seen
                    event = _without_held(event, held, event.images_seen - base)
                elif isinstance(event, EpochEvent):
                    event = replace(event, seconds=max(event.seconds - held, 0.0))
                t_yield = time.perf_counter()
                yield event
                now = time.perf_counter()
                held += now - t_yield
                version = self.probes.get()[2]
                if (
                    now - last_snapshot >= self.snapshot_interval
                    or version != seen_version
                    or isinstance(event, EpochEvent)
                ):
                    snapshot = self._snapshot()
                    t_yield = time.perf_counter()
                    yield snapshot
                    held += time.perf_counter() - t_yield
                    last_snapshot, seen_version = time.perf_counter(), version
                if isinstance(event, EpochEvent) and len(self.x_eval):
                    t0 = time.perf_counter()
                    result = None
                    for item in evaluate(
                        self.model, self.x_eval, self.y_eval, lock=self.lock
                    ):
                        if isinstance(item, BusyEvent):
                            yield item
                        else:
                            result = item
                    if result is not None:
                        yield EvaluationEvent(
                            event.epoch + self.epoch_offset,
                            result[0],
                            result[1],
                            np.asarray(self.y_eval, np.int64),
                            time.perf_counter() - t0,
                        )
        finally:
            with self.lock:
                gen.close()
