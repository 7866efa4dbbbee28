"""The training half of :class:`~convlab.nn.Sequential`, as Keras 3's ``Trainer``
mixin: ``compile``, the per-batch ``train_step`` / ``test_step`` / ``predict_step``,
and ``fit_events`` (the training loop as a generator of event records) with ``fit``,
``evaluate`` and ``predict`` on top.

The host class provides ``layers``, ``output_shape`` and
``input_layout(x, what)`` (checks ``x`` against the model, building it on first
sight). Input handling is :mod:`convlab.nn.data_adapter`'s; argument checks are
:mod:`convlab.nn.validation`'s.

Why a generator: the caller decides what to do between steps (print a progress line,
emit a throttled Qt signal, stop). Every ``yield`` happens between optimiser steps,
when every weight, moving statistic and optimiser slot has been updated together, so
closing the generator (``gen.close()``, or simply dropping it) at any point leaves a
valid model that can predict, be saved, or train on.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from .._threads import one_blas_thread
from . import validation
from .base_layer import shape_text
from .data_adapter import (
    ArrayDataAdapter,
    GeneratorDataAdapter,
    is_batch_source,
    split_validation,
    to_model_input,
)
from .events import EpochEvent, Event, FinishedEvent, History, StepEvent
from .losses import get_loss
from .optimizers import Optimizer, get_optimizer
from .progress import ProgressLine

if TYPE_CHECKING:
    from .base_layer import Layer

__all__ = ["Trainer", "INFERENCE_BATCH", "CACHE_LIMIT_BYTES"]

#: batch size used by predict/evaluate when none is given (results do not depend on
#: it: inference has no batch statistics)
INFERENCE_BATCH = 256


#: largest cache of frozen-prefix features a fit keeps (float32 bytes): a frozen
#: VGG16 base on 100x100 images gives 4.6 KB per image, 100,000 images per 460 MB
CACHE_LIMIT_BYTES = 512 * 2**20


def _deterministic(layer: Any) -> bool:
    """True when ``layer.forward`` gives the same in training as in inference."""
    sub = getattr(layer, "layers", None)
    if sub is not None:
        return all(_deterministic(inner) for inner in sub)
    name = type(layer).__mro__
    kinds = {cls.__name__ for cls in name}
    if "Dropout" in kinds:
        return float(layer.rate) == 0.0
    if "BatchNormalization" in kinds:
        return not layer.trainable  # frozen: inference mode in training too
    return True


#: Keras 2's fit_generator options for parallel loading; convlab reads the generator
#: on the training thread, so they change nothing and are accepted as such
_LOADER_OPTIONS = ("workers", "use_multiprocessing", "max_queue_size")


def _correct(out: np.ndarray, y: np.ndarray) -> int:
    """How many rows of ``out`` have their largest value at the true class."""
    truth = y if y.ndim == 1 else y.argmax(axis=1)
    return int((out.argmax(axis=1) == truth).sum())


class Trainer:
    """Mixin: compile state, per-batch steps and the training loop (see the module
    docstring for what the host class provides).

    Attributes
    ----------
    optimizer : Optimizer or None
    loss : loss instance or None
    metrics : list of str
        ``["accuracy"]`` or ``[]``.
    compiled : bool
    """

    layers: list[Layer]
    seed: int

    def __init__(self) -> None:
        self.optimizer: Optimizer | None = None
        self.loss: Any = None
        self.metrics: list[str] = []
        self.compiled = False

    # host interface (Sequential defines these)
    @property
    def sample_output_shape(self) -> tuple[int, ...] | None:  # pragma: no cover
        raise NotImplementedError

    channels_last: bool

    def input_layout(self, x: np.ndarray, what: str = "x") -> str:  # pragma: no cover
        raise NotImplementedError

    # ------------------------------------------------------------------ compile
    def compile(
        self,
        optimizer: str | Optimizer = "rmsprop",
        loss: str | Any = None,
        metrics: list[str] | None = None,
    ) -> None:
        """Choose the optimiser, the loss and the metrics (only ``"accuracy"``).

        Parameters
        ----------
        optimizer : "sgd", "adam" or an :class:`~convlab.nn.optimizers.Optimizer`
        loss : "categorical_crossentropy", "sparse_categorical_crossentropy" or a loss
        metrics : list of str, optional
            ``["accuracy"]`` (or ``["acc"]``) or nothing.
        """
        self.optimizer = get_optimizer(optimizer)
        self.loss = get_loss(loss)
        self.metrics = validation.metrics_list(metrics)
        self.compiled = True

    def check_labels(self, y: object, n: int) -> np.ndarray:
        """``y`` checked by the compiled loss for ``n`` samples of this model's output:
        int64 ``(n,)`` class indices or float32 ``(n, classes)`` one-hot rows."""
        out = self.sample_output_shape
        if out is None or len(out) != 1:
            raise ValueError(
                f"The model's output has shape {shape_text((None, *(out or ())))}; "
                "crossentropy needs (None, classes): end the model with Flatten() or "
                "GlobalAveragePooling2D() and Dense(classes, activation='softmax')."
            )
        return self.loss.check_labels(y, n, out[0])

    # ------------------------------------------------------------------ per batch
    @property
    def first_trainable(self) -> int:
        """Index of the first layer that training updates (has parameters and is not
        frozen); backward stops there. ``len(layers)`` when nothing trains."""
        return next(
            (
                i
                for i, layer in enumerate(self.layers)
                if layer.params and layer.trainable
            ),
            len(self.layers),
        )

    def _trainable_layers(self) -> list[Layer]:
        return [layer for layer in self.layers if layer.trainable and layer.params]

    #: during a fit on cached features of a frozen prefix, the first layer that runs
    _start_layer = 0

    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        with one_blas_thread():  # see convlab/_threads.py
            for layer in self.layers[self._start_layer :]:
                x = layer.forward(x, training)
        return x

    def frozen_prefix(self) -> int:
        """How many leading layers a fit may run once and cache: the layers before
        the first trainable one, when each of them computes the same in training as
        in inference (no active Dropout, no BatchNormalization in training mode).
        0 when nothing can be cached."""
        first = self.first_trainable
        if first == 0 or first >= len(self.layers):
            return 0
        for layer in self.layers[:first]:
            if not _deterministic(layer):
                return 0
        return first

    def _cached_features(
        self, x: np.ndarray, layout: str, prefix: int
    ) -> np.ndarray | None:
        """The output of ``layers[:prefix]`` for all of ``x`` (None when it would
        exceed :data:`CACHE_LIMIT_BYTES`)."""
        shape = self.layers[prefix - 1].sample_output_shape
        assert shape is not None
        if len(x) * int(np.prod(shape)) * 4 > CACHE_LIMIT_BYTES:
            return None
        out = np.empty((len(x), *shape), np.float32)
        data = ArrayDataAdapter(x, None, layout, INFERENCE_BATCH)
        with one_blas_thread():
            for step, (xb, _) in enumerate(data.batches()):
                for layer in self.layers[:prefix]:
                    xb = layer.forward(xb, False)
                lo, hi = data.batch_bounds(step)
                out[lo:hi] = xb
        return out

    def loss_and_gradient(
        self, out: np.ndarray, y: np.ndarray
    ) -> tuple[float, np.ndarray, bool]:
        """The batch's mean loss and its gradient after a training-mode forward that
        gave ``out``; ``fused`` is True when the gradient is w.r.t. the last layer's
        pre-softmax logits (softmax and crossentropy differentiated together), which
        then goes to that layer's ``backward_linear``."""
        last = self.layers[-1]
        fused = getattr(self.loss, "fused_activation", "softmax")
        logits = last.logits if last.activation == fused else None
        if not self.loss.from_logits and logits is not None and out.ndim == 2:
            loss, grad = self.loss.from_logits_value_and_grad(logits, y)
            return loss, grad, True
        loss, grad = self.loss.value_and_grad(out, y)
        return loss, grad, False

    def compute_gradients(
        self, xb: np.ndarray, yb: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Forward in training mode and backward: fills every ``layer.grads``.

        ``xb`` is a prepared batch (float32 NCHW), ``yb`` checked labels. Returns the
        batch's mean loss and the model's output. Moving statistics (BatchNormalization)
        update.
        """
        first = self.first_trainable
        for i, layer in enumerate(self.layers):
            layer.need_input_grad = i > first
        with one_blas_thread():  # see convlab/_threads.py
            out = self._forward(xb, training=True)
            loss, grad_out, fused = self.loss_and_gradient(out, yb)
            grad: np.ndarray | None = grad_out
            last = len(self.layers) - 1
            for i in range(last, max(first, self._start_layer) - 1, -1):
                layer = self.layers[i]
                assert grad is not None  # only the first trainable layer gives None
                grad = (
                    layer.backward_linear(grad)
                    if fused and i == last
                    else layer.backward(grad)
                )
        return loss, out

    def train_step(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, float]:
        """One optimiser step on a prepared batch (float32 NCHW, checked labels).

        Returns the batch's mean loss and accuracy (before the update).
        """
        loss, out = self.compute_gradients(xb, yb)  # holds one BLAS thread itself
        assert self.optimizer is not None
        self.optimizer.apply_gradients(  # element-wise: no BLAS
            (layer.grads[key], param)
            for layer in self._trainable_layers()
            for key, param in layer.params.items()
        )
        return loss, self._correct(out, yb) / len(xb)

    def _correct(self, out: np.ndarray, y: np.ndarray) -> float:
        """How many samples of ``out`` are right: argmax for a categorical loss; the
        loss's own rule (``correct``) otherwise (binary: the 0.5 threshold)."""
        rule = getattr(self.loss, "correct", None)
        return rule(out, y) if rule is not None else _correct(out, y)

    def test_step(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, float]:
        """The batch's mean loss and accuracy in inference mode (nothing changes)."""
        out = self._forward(xb, training=False)
        return self.loss.value_and_grad(out, yb)[0], self._correct(out, yb) / len(xb)

    def predict_step(self, xb: np.ndarray) -> np.ndarray:
        """The model's output for a prepared batch, in inference mode."""
        return self._forward(xb, training=False)

    def evaluate_batches(
        self, data: ArrayDataAdapter | GeneratorDataAdapter
    ) -> tuple[float, float]:
        """Mean loss and accuracy over every batch of ``data`` (checked labels), each
        batch weighted by its size."""
        total_loss, correct, seen = 0.0, 0, 0
        for xb, yb in data.batches():
            assert yb is not None
            loss, accuracy = self.test_step(xb, yb)
            total_loss += loss * len(xb)
            correct += round(accuracy * len(xb))  # exact: accuracy is count / size
            seen += len(xb)
        if seen == 0:
            raise ValueError("`x` is empty: there is nothing to evaluate.")
        return total_loss / seen, correct / seen

    # ------------------------------------------------------------------ the loop
    def prepare_batch(self, xb: np.ndarray, what: str = "x") -> np.ndarray:
        """One batch from a generator checked against the model (built from it on
        first sight) and converted to float32 model input."""
        return to_model_input(xb, self.input_layout(xb, what))

    def _source_adapter(
        self,
        source: Any,
        steps: int | None,
        what: str,
        steps_name: str,
        labels: bool = True,
    ) -> GeneratorDataAdapter:
        if steps is not None:
            steps = validation.positive_int(steps, steps_name)
        return GeneratorDataAdapter(
            source,
            steps,
            self.prepare_batch,
            self.check_labels if labels else None,
            what,
            steps_name,
        )

    def fit_events(
        self,
        x: Any,
        y: np.ndarray | None = None,
        *,
        batch_size: int = 32,
        epochs: int = 1,
        validation_data: tuple[np.ndarray, np.ndarray] | None = None,
        validation_split: float = 0.0,
        shuffle: bool = True,
        seed: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        cache_frozen: bool = True,
    ) -> Iterator[Event]:
        """Train on ``(x, y)``, yielding a :class:`StepEvent` after every batch, an
        :class:`EpochEvent` after every epoch and a :class:`FinishedEvent` at the end.

        Parameters
        ----------
        x, y : ndarray
            Images (any layout :mod:`convlab.nn.data_adapter` accepts; uint8 is scaled
            to [0, 1]) and labels. Batches are converted one at a time, so ``x`` may
            stay uint8. The model is built from ``x`` if it has no input shape yet.
            ``x`` may instead be a generator, an iterator (``ImageDataGenerator.
            flow``) or a ``Sequence``-like object yielding ``(x, y)`` batches; ``y``
            is then ``None`` and ``batch_size``, ``shuffle`` and
            ``validation_split`` are the source's business.
        batch_size, epochs : int
        validation_data : (x_val, y_val) or a generator, optional
        validation_split : float in [0, 1)
            Fraction held out from the end of ``x`` (before shuffling), when no
            ``validation_data`` is given.
        shuffle : bool
            Reshuffle the training set every epoch.
        seed : int
            Seeds the shuffling and the dropout masks (with the model's own seed for
            the weights, a run is reproducible bit for bit).
        steps_per_epoch : int, optional
            Stop each epoch after this many batches (a quick look, a smoke test);
            for a generator with no ``len()``, the epoch's length.
        validation_steps : int, optional
            Batches drawn from a ``validation_data`` generator per evaluation
            (default ``len()`` of it).
        cache_frozen : bool
            With arrays, when the model starts with frozen layers that compute the
            same in training as in inference (:meth:`frozen_prefix`: a frozen
            transfer-learning base), run them once over ``x`` (and the
            validation arrays) and train the rest on their cached output, so each
            epoch costs only the trainable head. Same numbers as without the cache.

        Yields
        ------
        StepEvent, EpochEvent, FinishedEvent

        Notes
        -----
        As in any generator, the arguments are checked on the first ``next()``.
        The optimiser's ``learning_rate`` is read at every step, so it can be changed
        while the generator runs.
        """
        validation.require_compiled(self.compiled, "fit")
        batch_size = validation.positive_int(batch_size, "batch_size")
        epochs = validation.positive_int(epochs, "epochs")
        if steps_per_epoch is not None:
            steps_per_epoch = validation.positive_int(
                steps_per_epoch, "steps_per_epoch"
            )
        validation.unit_float(validation_split, "validation_split")
        seed = validation.seed_value(seed)
        val: ArrayDataAdapter | GeneratorDataAdapter | None = None
        data: ArrayDataAdapter | GeneratorDataAdapter
        start_layer = 0
        if is_batch_source(x):
            validation.generator_arguments(y, validation_split)
            data = self._source_adapter(x, steps_per_epoch, "x", "steps_per_epoch")
        else:
            layout = self.input_layout(x)
            if len(x) == 0:
                raise ValueError("`x` is empty: there is nothing to train on.")
            labels = self.check_labels(y, len(x))
            if validation_data is None and validation_split > 0:
                x, labels, x_val, y_val = split_validation(x, labels, validation_split)
                val = ArrayDataAdapter(x_val, y_val, layout, INFERENCE_BATCH)
            data = ArrayDataAdapter(x, labels, layout, batch_size, steps_per_epoch)
            # a validation generator's raw batches would need the prefix: no cache
            val_source = validation_data is not None and is_batch_source(
                validation_data
            )
            prefix = self.frozen_prefix() if cache_frozen and not val_source else 0
            features = self._cached_features(x, layout, prefix) if prefix else None
            if features is not None:
                start_layer = prefix
                data = ArrayDataAdapter(
                    features,
                    labels,
                    "nchw" if features.ndim == 4 else "flat",
                    batch_size,
                    steps_per_epoch,
                )
                if val is not None:
                    val = self._cached_adapter(val, prefix)

        if validation_data is not None and is_batch_source(validation_data):
            val = self._source_adapter(
                validation_data, validation_steps, "validation_data", "validation_steps"
            )
        elif validation_data is not None:
            x_val, y_val = validation.validation_pair(validation_data)
            val_layout = self.input_layout(x_val, "validation_data[0]")
            val_labels = self.check_labels(y_val, len(x_val))
            val = ArrayDataAdapter(x_val, val_labels, val_layout, INFERENCE_BATCH)
            if start_layer:
                val = self._cached_adapter(val, start_layer)

        steps = data.steps
        history = History(
            {
                "batch_size": batch_size
                if isinstance(data, ArrayDataAdapter)
                else None,
                "epochs": epochs,
                "steps": steps,
            }
        )
        shuffle_rng = np.random.default_rng([seed, 0])
        for i, layer in enumerate(self.layers):
            layer.reseed(np.random.default_rng([seed, 1, i]))

        self._fit_start = start_layer
        try:
            yield from self._fit_loop(
                data, val, epochs, shuffle, shuffle_rng, history, steps
            )
        finally:
            self._fit_start = self._start_layer = 0

    #: the first layer of this fit's cached features (0: no cache)
    _fit_start = 0

    @contextlib.contextmanager
    def _from_cached_features(self) -> Iterator[None]:
        """Run from the fit's cached features only inside a step or a validation
        pass, never across a yield: between two steps the caller may predict or
        probe the model on raw images (the trainer's live views and evaluation)."""
        self._start_layer = self._fit_start
        try:
            yield
        finally:
            self._start_layer = 0

    def _cached_adapter(self, val: Any, prefix: int) -> Any:
        if not isinstance(val, ArrayDataAdapter):
            return val
        features = self._cached_features(val.x, val.layout, prefix)
        if features is None:
            raise MemoryError("validation features exceed CACHE_LIMIT_BYTES")
        return ArrayDataAdapter(
            features,
            val.labels,
            "nchw" if features.ndim == 4 else "flat",
            val.batch_size,
        )

    def _fit_loop(
        self,
        data: Any,
        val: Any,
        epochs: int,
        shuffle: bool,
        shuffle_rng: np.random.Generator,
        history: History,
        steps: int,
    ) -> Iterator[Event]:
        images_seen = 0
        # one BLAS thread for the whole run, not switched around every step
        # (convlab/_threads.py)
        with one_blas_thread():
            for epoch in range(1, epochs + 1):
                order = (
                    shuffle_rng.permutation(data.num_samples)
                    if shuffle and isinstance(data, ArrayDataAdapter)
                    else None
                )
                started = time.perf_counter()
                loss_sum = correct_sum = 0.0
                epoch_images = 0
                for step, (xb, yb) in enumerate(data.batches(order), start=1):
                    # overflow is reported as a non-finite loss below, not a warning
                    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                        assert yb is not None
                        with self._from_cached_features():
                            batch_loss, batch_accuracy = self.train_step(xb, yb)
                    size = len(xb)
                    epoch_images += size
                    images_seen += size
                    loss_sum += batch_loss * size
                    correct_sum += batch_accuracy * size
                    elapsed = max(time.perf_counter() - started, 1e-9)
                    if not math.isfinite(batch_loss):
                        yield FinishedEvent(
                            history,
                            stopped=True,
                            reason=f"the loss became {batch_loss} at epoch {epoch}, "
                            f"step {step}: "
                            "try a smaller learning rate",
                        )
                        return
                    yield StepEvent(
                        epoch=epoch,
                        step=step,
                        steps_per_epoch=steps,
                        loss=loss_sum / epoch_images,
                        accuracy=correct_sum / epoch_images,
                        images_seen=images_seen,
                        images_per_second=epoch_images / elapsed,
                        batch_loss=batch_loss,
                        batch_accuracy=batch_accuracy,
                        epochs=epochs,
                    )
                val_loss = val_accuracy = None
                if val is not None:
                    with self._from_cached_features():
                        val_loss, val_accuracy = self.evaluate_batches(val)
                epoch_loss = loss_sum / epoch_images
                epoch_accuracy = correct_sum / epoch_images
                history.append(
                    epoch - 1,
                    {
                        "loss": epoch_loss,
                        "accuracy": epoch_accuracy,
                        "val_loss": val_loss,
                        "val_accuracy": val_accuracy,
                    },
                )
                yield EpochEvent(
                    epoch=epoch,
                    loss=epoch_loss,
                    accuracy=epoch_accuracy,
                    val_loss=val_loss,
                    val_accuracy=val_accuracy,
                    seconds=time.perf_counter() - started,
                )
            yield FinishedEvent(history, stopped=False)

    # ------------------------------------------------------------------ Keras API
    def fit(
        self,
        x: Any,
        y: np.ndarray | None = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: int | str = "auto",
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool = True,
        seed: int | None = None,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
    ) -> History:
        """Train for ``epochs`` passes over ``(x, y)``; Keras's ``fit``.

        Parameters
        ----------
        x : ndarray, generator or iterator
            Images in any layout :mod:`convlab.nn.data_adapter` lists, or a source of
            ``(x, y)`` batches (``ImageDataGenerator.flow(...)``, a Python generator,
            a ``Sequence``-like object).
        y : ndarray, optional
            ``(N,)`` integer labels for ``sparse_categorical_crossentropy``, ``(N, K)``
            one-hot for ``categorical_crossentropy``; ``None`` for a generator.
        batch_size, epochs : int
            ``batch_size`` defaults to 32 (arrays only).
        verbose : 0, 1, 2 or "auto"
            1 / "auto": a progress line per step; 2: one line per epoch; 0: silent.
        validation_split : float in [0, 1)
            Hold out this fraction, taken from the *end* of ``x`` before shuffling
            (Keras).
        validation_data : (x_val, y_val) or a generator, optional
            Takes precedence over ``validation_split``.
        shuffle : bool
        seed : int, optional
            Shuffling and dropout seed; ``None`` uses ``model.seed``.
        steps_per_epoch, validation_steps : int, optional
            Batches per epoch and per validation (needed for generators with no
            ``len()``).

        Returns
        -------
        History
        """
        verbose = validation.verbose_level(verbose)
        events = self.fit_events(
            x,
            y,
            batch_size=32 if batch_size is None else batch_size,
            epochs=epochs,
            validation_data=validation_data,
            validation_split=validation_split,
            shuffle=shuffle,
            seed=self.seed if seed is None else seed,
            steps_per_epoch=steps_per_epoch,
            validation_steps=validation_steps,
        )
        line = ProgressLine(sys.stdout, epochs=epochs) if verbose else None
        history = None
        for event in events:
            if line is None:
                pass
            elif isinstance(event, StepEvent) and verbose == 1:
                line.step(event)
            elif isinstance(event, EpochEvent):
                line.epoch(event)
            if isinstance(event, FinishedEvent):
                history = event.history
        assert history is not None
        return history

    def evaluate(
        self,
        x: Any,
        y: np.ndarray | None = None,
        batch_size: int | None = None,
        verbose: int = 0,
        steps: int | None = None,
    ) -> list[float] | float:
        """``[loss, accuracy]`` (just ``loss`` when compiled without metrics), inference
        mode. ``x`` may be a source of ``(x, y)`` batches, read for ``steps``
        batches (default its ``len()``)."""
        validation.require_compiled(self.compiled, "evaluate")
        data: ArrayDataAdapter | GeneratorDataAdapter
        if is_batch_source(x):
            validation.generator_arguments(y, 0.0)
            data = self._source_adapter(x, steps, "x", "steps")
        else:
            layout = self.input_layout(x)
            labels = self.check_labels(y, len(x))
            data = ArrayDataAdapter(
                x, labels, layout, batch_size or INFERENCE_BATCH, steps
            )
        loss, accuracy = self.evaluate_batches(data)
        if verbose:
            print(f"loss: {loss:.4f} - accuracy: {accuracy:.4f}")
        return [loss, accuracy] if self.metrics else loss

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: int = 0,
        steps: int | None = None,
    ) -> np.ndarray:
        """The model's outputs (class probabilities for a softmax model), float32
        (N, K). ``x`` may be a source of batches (``x`` or ``(x, y)``), read for
        ``steps`` batches (default its ``len()``)."""
        data: ArrayDataAdapter | GeneratorDataAdapter
        if is_batch_source(x):
            data = self._source_adapter(x, steps, "x", "steps", labels=False)
        else:
            data = ArrayDataAdapter(
                x, None, self.input_layout(x), batch_size or INFERENCE_BATCH, steps
            )
        outputs = [self.predict_step(xb) for xb, _ in data.batches()]
        if not outputs:
            out = np.zeros((0, *(self.sample_output_shape or ())), np.float32)
        else:
            out = np.concatenate(outputs) if len(outputs) > 1 else outputs[0]
        if out.ndim == 4 and self.channels_last:  # the caller's layout, as Keras
            out = np.ascontiguousarray(out.transpose(0, 2, 3, 1))
        return out

    # ------------------------------------------------------------------ Keras 2 names
    def fit_generator(self, generator: Any, *args: Any, **kwargs: Any) -> History:
        """Keras 2's name for ``fit`` on a generator (a note says so)."""
        validation.keras2_note("model.fit_generator(gen, ...)", "model.fit(gen, ...)")
        for loader_option in _LOADER_OPTIONS:  # parallel loading: batches come in order
            kwargs.pop(loader_option, None)
        return self.fit(generator, None, *args, **kwargs)

    def evaluate_generator(
        self, generator: Any, steps: int | None = None, **kwargs: Any
    ) -> list[float] | float:
        """Keras 2's name for ``evaluate`` on a generator (a note says so)."""
        validation.keras2_note(
            "model.evaluate_generator(gen, ...)", "model.evaluate(gen, ...)"
        )
        return self.evaluate(generator, steps=steps, **kwargs)

    def predict_generator(
        self, generator: Any, steps: int | None = None, **kwargs: Any
    ) -> np.ndarray:
        """Keras 2's name for ``predict`` on a generator (a note says so)."""
        validation.keras2_note(
            "model.predict_generator(gen, ...)", "model.predict(gen, ...)"
        )
        return self.predict(generator, steps=steps, **kwargs)
