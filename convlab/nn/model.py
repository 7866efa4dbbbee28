"""``Sequential``: Keras's model API (compile, fit, evaluate, predict, summary) over the
layers.

Input images
------------
Every entry point (``fit``, ``evaluate``, ``predict``, ``activations``) accepts image
batches in three layouts and converts them, batch by batch, to float32 NCHW:

* ``(N, H, W)``: grey images (MNIST as loaded), read as ``(N, 1, H, W)``;
* ``(N, H, W, C)`` with ``C`` 1 or 3 and ``H, W > 3``: Keras's channels-last habit;
* ``(N, C, H, W)``: anything else of rank 4 (PyTorch's layout, used internally).

A single image ``(H, W)`` is accepted where the model takes images. ``(N, D)`` is a
batch of feature vectors for models that start with ``Dense``. ``uint8`` arrays are
pixel values and are scaled to ``[0, 1]`` (divided by 255, as ``torchvision``'s
``ToTensor`` does); other dtypes are used as they are.

Determinism
-----------
``Sequential(seed=S)`` fixes the initial weights: layer ``i`` draws from
``numpy.random.default_rng([S, i])``, so the same seed gives bit-identical weights.
``fit(seed=...)`` fixes the shuffling and the dropout masks.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np

from .._threads import one_blas_thread
from .layers import Layer, is_channels_last, sample_shape, shape_text
from .losses import get_loss
from .optimizers import Optimizer, get_optimizer

__all__ = ["Sequential", "History", "SummaryRow"]

#: batch size used by predict/evaluate/activations when none is given (results do not
#: depend on it: inference has no batch statistics)
INFERENCE_BATCH = 256


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


class SummaryRow(NamedTuple):
    """One row of :meth:`Sequential.summary_rows`: output shape has ``None`` for the
    batch."""

    name: str
    output_shape: tuple[int | None, ...]
    params: int


class Sequential:
    """A linear stack of layers, Keras's ``Sequential``.

    Parameters
    ----------
    layers : iterable of Layer, optional
    name : str
    seed : int, optional
        Seeds the initial weights (see the module docstring). ``None`` draws a seed from
        the operating system and keeps it in ``model.seed``, so a run can be repeated.

    Examples
    --------
    >>> from convlab.nn import Sequential, Conv2D, MaxPooling2D, Flatten, Dense
    >>> model = Sequential([
    ...     Conv2D(8, 3, activation="relu", input_shape=(28, 28, 1)),
    ...     MaxPooling2D(2), Flatten(), Dense(10, activation="softmax")], seed=0)
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
    ...               metrics=["accuracy"])
    >>> [row.params for row in model.summary_rows()]
    [80, 0, 0, 13530]
    """

    def __init__(
        self,
        layers: Iterable[Layer] | None = None,
        name: str = "sequential",
        seed: int | None = None,
    ) -> None:
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**32))
        if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
            raise ValueError(
                f"`seed` must be a non-negative int or None. Received: seed={seed!r}"
            )
        self.name = name
        self.seed = int(seed)
        self.layers: list[Layer] = []
        self.input_shape: tuple[int, ...] | None = None
        self.optimizer: Optimizer | None = None
        self.loss: Any = None
        self.metrics: list[str] = []
        self.compiled = False
        self._first_trainable = 0
        for layer in layers or ():
            self.add(layer)

    # ------------------------------------------------------------------ building
    def add(self, layer: Layer) -> None:
        """Append ``layer``; it gets a unique Keras-style name if it has none."""
        if not isinstance(layer, Layer):
            raise TypeError(
                "`layer` must be a convlab.nn layer such as Conv2D(8, 3). "
                f"Received: layer of type {type(layer).__name__}"
            )
        if any(existing is layer for existing in self.layers):
            raise ValueError(f'Layer "{layer.name}" is already in the model.')
        names = {existing.name for existing in self.layers}
        if layer.name is None:
            base, k = layer.base_name, 0
            layer.name = base
            while layer.name in names:
                k += 1
                layer.name = f"{base}_{k}"
        elif layer.name in names:
            raise ValueError(
                "All layers in a model must have unique names. "
                f'Received: name="{layer.name}" twice'
            )
        if layer.declared_input_shape is not None and self.layers:
            raise ValueError(
                "`input_shape` belongs on the first layer only. "
                f'Received it on layer "{layer.name}"'
            )
        self.layers.append(layer)
        if self.built:
            self._build_layers(len(self.layers) - 1)
        elif len(self.layers) == 1 and layer.declared_input_shape is not None:
            self.build(layer.declared_input_shape)

    @property
    def built(self) -> bool:
        return self.input_shape is not None

    def build(self, input_shape: object) -> None:
        """Create every layer's weights for per-sample ``input_shape`` (any layout
        :func:`~convlab.nn.layers.sample_shape` accepts)."""
        if not self.layers:
            raise ValueError(
                "The model has no layers yet: add some before building it."
            )
        self.input_shape = sample_shape(input_shape)
        try:
            self._build_layers(0)
        except ValueError:
            self.input_shape = None
            raise

    def _build_layers(self, start: int) -> None:
        shape = self.input_shape if start == 0 else self.layers[start - 1].output_shape
        assert shape is not None
        for i in range(start, len(self.layers)):
            layer = self.layers[i]
            layer.build(shape, np.random.default_rng([self.seed, i]))
            assert layer.output_shape is not None
            shape = layer.output_shape
        self._first_trainable = next(
            (i for i, layer in enumerate(self.layers) if layer.params), len(self.layers)
        )
        for i, layer in enumerate(self.layers):
            layer.need_input_grad = i > self._first_trainable

    @property
    def output_shape(self) -> tuple[int, ...] | None:
        return self.layers[-1].output_shape if self.built and self.layers else None

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
        metrics = list(metrics or [])
        for metric in metrics:
            if metric not in ("accuracy", "acc"):
                raise ValueError(
                    f"`metrics` may only hold 'accuracy'. Received: metrics={metrics!r}"
                )
        self.metrics = ["accuracy"] if metrics else []
        self.compiled = True

    def _require_compiled(self, what: str) -> None:
        if not self.compiled:
            raise RuntimeError(
                f"You must call `compile()` before `{what}()`, e.g. "
                "model.compile(optimizer='adam', "
                "loss='sparse_categorical_crossentropy', "
                "metrics=['accuracy'])."
            )

    # ------------------------------------------------------------------ inputs
    def _layout(self, x: np.ndarray, what: str = "x") -> str:
        """How to read ``x``: "flat", "hw" (one image), "nhw", "nhwc" or "nchw". Builds
        the model from the data when it has no input shape yet; checks the shape
        otherwise."""
        if not isinstance(x, np.ndarray):
            raise TypeError(
                f"`{what}` must be a NumPy array. "
                f"Received: {what} of type {type(x).__name__}"
            )
        if not (
            np.issubdtype(x.dtype, np.number) or x.dtype == bool
        ) or np.iscomplexobj(x):
            raise TypeError(
                f"`{what}` must hold real numbers. Received: {what}.dtype={x.dtype}"
            )
        images = self.input_shape is None or len(self.input_shape) == 3
        if x.ndim == 2 and images and self.input_shape is not None:
            layout, per_sample = "hw", (1, *x.shape)
        elif x.ndim == 2:
            layout, per_sample = "flat", x.shape[1:]
        elif x.ndim == 3:
            layout, per_sample = "nhw", (1, *x.shape[1:])
        elif x.ndim == 4 and is_channels_last(x.shape[1:]):
            layout, per_sample = "nhwc", (x.shape[3], x.shape[1], x.shape[2])
        elif x.ndim == 4:
            layout, per_sample = "nchw", x.shape[1:]
        else:
            raise ValueError(
                f"`{what}` must be images (N, H, W), (N, H, W, C) or (N, C, H, W), "
                "or vectors "
                f"(N, features). Received: {what}.shape={x.shape}"
            )
        if not self.built:
            self.build(tuple(per_sample))
        elif tuple(per_sample) != self.input_shape:
            first = self.layers[0]
            found = shape_text((x.shape[0] if layout != "hw" else 1, *per_sample))
            raise ValueError(
                f'Input of layer "{first.name}" ({type(first).__name__}) '
                "is incompatible with "
                f'model "{self.name}": '
                f"expected shape={shape_text((None, *self.input_shape))} "
                f"(N, C, H, W), found shape={found} "
                f"from {what}.shape={x.shape}"
            )
        return layout

    @staticmethod
    def _convert(xb: np.ndarray, layout: str) -> np.ndarray:
        """One batch -> float32 C-contiguous model input (uint8 scaled to [0, 1]).

        The layout is fixed with views first, so the one conversion also makes the batch
        contiguous (an NHWC uint8 batch is copied once, not twice).
        """
        if layout == "hw":
            xb = xb[None, None]
        elif layout == "nhw":
            xb = xb[:, None]
        elif layout == "nhwc":
            xb = xb.transpose(0, 3, 1, 2)
        if xb.dtype == np.uint8:  # as x / 255 would
            return np.divide(xb, np.float32(255.0), dtype=np.float32, order="C")
        return xb.astype(np.float32, order="C", copy=False)

    def _labels(self, y: object, n: int) -> np.ndarray:
        out = self.output_shape
        if out is None or len(out) != 1:
            raise ValueError(
                f"The model's output has shape {shape_text((None, *(out or ())))}; "
                "crossentropy needs (None, classes): end the model with Flatten() or "
                "GlobalAveragePooling2D() and Dense(classes, activation='softmax')."
            )
        return self.loss.check_labels(y, n, out[0])

    # ----------------------------------------------------------------- forward/backward
    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        with one_blas_thread():  # see convlab/_threads.py
            for layer in self.layers:
                x = layer.forward(x, training)
        return x

    def _loss_and_grad(
        self, out: np.ndarray, y: np.ndarray
    ) -> tuple[float, np.ndarray, bool]:
        """Loss and its gradient; ``fused`` when the gradient is w.r.t. the last layer's
        pre-softmax logits (softmax and crossentropy differentiated together)."""
        last = self.layers[-1]
        if (
            not self.loss.from_logits
            and last.activation == "softmax"
            and last._z is not None
            and out.ndim == 2
        ):
            loss, grad = self.loss.from_logits_value_and_grad(last._z, y)
            return loss, grad, True
        loss, grad = self.loss.value_and_grad(out, y)
        return loss, grad, False

    def _correct(self, out: np.ndarray, y: np.ndarray) -> int:
        truth = y if y.ndim == 1 else y.argmax(axis=1)
        return int((out.argmax(axis=1) == truth).sum())

    def compute_gradients(
        self, xb: np.ndarray, yb: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Forward in training mode and backward: fills every ``layer.grads``.

        ``xb`` is a prepared batch (float32 NCHW), ``yb`` checked labels. Returns the
        batch's mean loss and the model's output. Moving statistics (BatchNormalization)
        update.
        """
        with one_blas_thread():  # see convlab/_threads.py
            out = self._forward(xb, training=True)
            loss, grad, fused = self._loss_and_grad(out, yb)
            last = len(self.layers) - 1
            for i in range(last, self._first_trainable - 1, -1):
                layer = self.layers[i]
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
            for layer in self.layers
            for key, param in layer.params.items()
        )
        return loss, self._correct(out, yb) / len(xb)

    def _batches(self, x: np.ndarray, batch_size: int | None) -> Iterable[np.ndarray]:
        layout = self._layout(x)
        if layout == "hw":
            yield self._convert(x, layout)
            return
        size = batch_size or INFERENCE_BATCH
        for start in range(0, len(x), size):
            yield self._convert(x[start : start + size], layout)

    def _evaluate_arrays(
        self, x: np.ndarray, y: np.ndarray, batch_size: int | None = None
    ) -> tuple[float, float]:
        """Mean loss and accuracy over ``(x, y)`` in inference mode (labels checked)."""
        total_loss, correct, seen = 0.0, 0, 0
        for xb in self._batches(x, batch_size):
            yb = y[seen : seen + len(xb)]
            out = self._forward(xb, training=False)
            total_loss += self.loss.value_and_grad(out, yb)[0] * len(xb)
            correct += self._correct(out, yb)
            seen += len(xb)
        if seen == 0:
            raise ValueError("`x` is empty: there is nothing to evaluate.")
        return total_loss / seen, correct / seen

    # ------------------------------------------------------------------ Keras API
    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int = 32,
        epochs: int = 1,
        verbose: int | str = "auto",
        validation_split: float = 0.0,
        validation_data: tuple[np.ndarray, np.ndarray] | None = None,
        shuffle: bool = True,
        seed: int | None = None,
    ) -> History:
        """Train for ``epochs`` passes over ``(x, y)``; Keras's ``fit``.

        Parameters
        ----------
        x : ndarray
            Images in any layout the module docstring lists.
        y : ndarray
            ``(N,)`` integer labels for ``sparse_categorical_crossentropy``, ``(N, K)``
            one-hot for ``categorical_crossentropy``.
        batch_size, epochs : int
        verbose : 0, 1, 2 or "auto"
            1 / "auto": a progress line per step; 2: one line per epoch; 0: silent.
        validation_split : float in [0, 1)
            Hold out this fraction, taken from the *end* of ``x`` before shuffling
            (Keras).
        validation_data : (x_val, y_val), optional
            Takes precedence over ``validation_split``.
        shuffle : bool
        seed : int, optional
            Shuffling and dropout seed; ``None`` uses ``model.seed``.

        Returns
        -------
        History
        """
        from convlab.train import EpochEvent, FinishedEvent, StepEvent, train_events
        from convlab.train.progress import ProgressLine

        if verbose == "auto":
            verbose = 1
        if verbose not in (0, 1, 2):
            raise ValueError(
                f"`verbose` must be 0, 1, 2 or 'auto'. Received: verbose={verbose!r}"
            )
        events = train_events(
            self,
            x,
            y,
            batch_size=batch_size,
            epochs=epochs,
            validation_data=validation_data,
            validation_split=validation_split,
            shuffle=shuffle,
            seed=self.seed if seed is None else seed,
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
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int | None = None,
        verbose: int = 0,
    ) -> list[float] | float:
        """``[loss, accuracy]`` (just ``loss`` when compiled without metrics), inference
        mode."""
        self._require_compiled("evaluate")
        self._layout(x)
        labels = self._labels(y, len(x))
        loss, accuracy = self._evaluate_arrays(x, labels, batch_size)
        if verbose:
            print(f"loss: {loss:.4f} - accuracy: {accuracy:.4f}")
        return [loss, accuracy] if self.metrics else loss

    def predict(
        self, x: np.ndarray, batch_size: int | None = None, verbose: int = 0
    ) -> np.ndarray:
        """The model's outputs (class probabilities for a softmax model), float32
        (N, K)."""
        outputs = [
            self._forward(xb, training=False) for xb in self._batches(x, batch_size)
        ]
        if not outputs:
            return np.zeros((0, *(self.output_shape or ())), np.float32)
        return np.concatenate(outputs) if len(outputs) > 1 else outputs[0]

    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if training:
            return self._forward(self._convert(x, self._layout(x)), training=True)
        return self.predict(x)

    def activations(self, x: np.ndarray) -> list[tuple[str, np.ndarray]]:
        """Every layer's output for ``x`` in inference mode:
        ``[(layer name, array), ...]``.

        ``x`` may be one image ``(H, W)`` or a batch; arrays keep the batch axis and are
        NCHW for image layers, ``(N, features)`` after ``Flatten``/``Dense``.
        """
        h = self._convert(x, self._layout(x))
        result = []
        with one_blas_thread():
            for layer in self.layers:
                h = layer.forward(h, training=False)
                result.append((layer.name or "", h))
        return result

    # ------------------------------------------------------------------ weights
    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        return [p for layer in self.layers for p in layer.params.values()]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        return [s for layer in self.layers for s in layer.state.values()]

    def get_weights(self) -> list[np.ndarray]:
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Set every layer's arrays (the order of :meth:`get_weights`); checks all
        shapes before changing anything."""
        expected = [w for layer in self.layers for w in layer.weights.values()]
        if len(weights) != len(expected):
            raise ValueError(
                f"The model expects {len(expected)} weight arrays. "
                f"Received: {len(weights)}"
            )
        for i, (w, e) in enumerate(zip(weights, expected, strict=True)):
            if np.shape(w) != e.shape:
                raise ValueError(
                    f"Weight array {i} must have shape {e.shape}. "
                    f"Received: shape {np.shape(w)}"
                )
        for w, e in zip(weights, expected, strict=True):
            e[...] = w

    # ------------------------------------------------------------------ summary
    def _require_built(self, what: str) -> None:
        if not self.built:
            raise ValueError(
                "This model has not yet been built, "
                f"so `{what}()` cannot know the shapes. "
                "Give the first layer an `input_shape=` (e.g. (28, 28, 1)), call "
                "`model.build((28, 28, 1))`, or fit/predict once."
            )

    def summary_rows(self) -> list[SummaryRow]:
        """``[(layer name, output shape with None batch, parameter count), ...]``."""
        self._require_built("summary")
        return [
            SummaryRow(
                layer.name or "",
                (None, *(layer.output_shape or ())),
                layer.count_params(),
            )
            for layer in self.layers
        ]

    def summary(
        self, print_fn: Callable[[str], Any] | None = None, line_length: int = 65
    ) -> None:
        """Print Keras's summary table (output shapes are NCHW, the layout convlab
        uses)."""
        print_fn = print_fn or print
        rows = self.summary_rows()
        total = self.count_params()
        trainable = sum(layer.trainable_count for layer in self.layers)
        labels = [
            f"{r.name} ({type(layer).__name__})"
            for layer, r in zip(self.layers, rows, strict=True)
        ]
        first = max([29, *(len(label) + 2 for label in labels)])
        widths = (first, 26, max(line_length - first - 26, 10))
        line_length = max(line_length, first + 36)

        def row(*cells: str) -> str:
            return (
                " "
                + "".join(
                    c.ljust(w) for c, w in zip(cells, widths, strict=True)
                ).rstrip()
            )

        def amount(count: int) -> str:
            size = count * 4.0
            unit = "B"
            for candidate in ("KB", "MB", "GB"):
                if size < 1024:
                    break
                size, unit = size / 1024, candidate
            return f"{count:,} ({size:.2f} {unit})"

        lines = [
            f'Model: "{self.name}"',
            "_" * line_length,
            row("Layer (type)", "Output Shape", "Param #"),
            "=" * line_length,
        ]
        for i, (_layer, r) in enumerate(zip(self.layers, rows, strict=True)):
            lines.append(row(labels[i], shape_text(r.output_shape), f"{r.params:,}"))
            lines.append("=" * line_length if i == len(rows) - 1 else "")
        lines += [
            f"Total params: {amount(total)}",
            f"Trainable params: {amount(trainable)}",
            f"Non-trainable params: {amount(total - trainable)}",
            "_" * line_length,
            "Output shapes are (batch, channels, height, width): "
            "convlab works in NCHW.",
        ]
        for text in lines:
            print_fn(text)

    # ------------------------------------------------------------------ config, saving
    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seed": self.seed,
            "input_shape": list(self.input_shape) if self.input_shape else None,
            "layers": [
                {"class_name": type(layer).__name__, "config": layer.get_config()}
                for layer in self.layers
            ],
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to one ``.npz`` file; see :mod:`convlab.nn.saving`."""
        from .saving import save_model

        save_model(self, path)

    def load_weights(self, path: str | os.PathLike[str]) -> None:
        """Copy weights from a saved model with the same architecture; on any error
        nothing is changed."""
        from .saving import ModelFileError, read_model_file, weight_items

        _, arrays = read_model_file(path)
        self._require_built("load_weights")
        keys = [key for key, _ in weight_items(self)]
        if sorted(keys) != sorted(arrays):
            raise ModelFileError(
                f"Cannot load weights from '{os.fspath(path)}': it holds weights for a "
                f"different architecture ({len(arrays)} arrays; "
                f"this model has {len(keys)})."
            )
        weights = [arrays[key] for key in keys]
        self.set_weights(weights)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return (
            f"<Sequential {self.name!r}: {len(self.layers)} layers, seed={self.seed}>"
        )
