"""``Sequential``: Keras's model API over the layers: building, input checks,
activations, weights, summary and saving here; compile, fit, fit_events, evaluate,
predict and the per-batch steps from :class:`~convlab.nn.trainer.Trainer`.

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
``ToTensor`` does); other dtypes are used as they are. The conversion is
:mod:`convlab.nn.data_adapter`'s.

Determinism
-----------
``Sequential(seed=S)`` fixes the initial weights: layer ``i`` draws from
``numpy.random.default_rng([S, i])``, so the same seed gives bit-identical weights.
``fit(seed=...)`` fixes the shuffling and the dropout masks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np

from .._threads import one_blas_thread
from . import validation
from .base_layer import Layer, keras_shape, shape_text
from .data_adapter import infer_layout, sample_shape, to_model_input
from .events import History
from .trainer import Trainer

__all__ = ["Sequential", "History", "SummaryRow"]


def _class_name(layer: object) -> str:
    """The saved class name: a convlab.nn class's own (a face's subclass, such as
    convlab.keras.layers.Conv2D, saves as the nn class it extends)."""
    for cls in type(layer).__mro__:
        if cls.__module__.startswith("convlab.nn"):
            return "Model" if cls.__name__ == "Model" else cls.__name__
    return type(layer).__name__


def _model_class() -> type:
    from .functional import Model

    return Model


class SummaryRow(NamedTuple):
    """One row of :meth:`Sequential.summary_rows`: output shape has ``None`` for the
    batch."""

    name: str
    output_shape: tuple[int | None, ...]
    params: int


class Sequential(Trainer):
    """A linear stack of layers, Keras's ``Sequential``; the training API (``compile``,
    ``fit``, ``fit_events``, ``evaluate``, ``predict``, the per-batch steps) comes from
    :class:`~convlab.nn.trainer.Trainer`.

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
        self.name = name
        self.seed = validation.seed_value(seed, allow_none=True)
        self.layers: list[Layer] = []
        self.sample_input_shape: tuple[int, ...] | None = None
        #: Keras's shapes in ``input_shape``/``output_shape`` (see keras_shapes)
        self._keras_shapes = False
        self._pending_input: tuple[int, ...] | None = None
        #: True when the model was declared in Keras's layout (convlab.keras's
        #: layers, Input): every rank-4 batch is read as (N, H, W, C) and summary()
        #: prints (None, H, W, C)
        self.channels_last = False
        super().__init__()  # compile state
        # what the model needs to be a layer of another model (see "as a layer")
        self.declared_input_shape: tuple[int, ...] | None = None
        self.need_input_grad = True
        for layer in layers or ():
            self.add(layer)

    # ------------------------------------------------------------------ building
    def add(self, layer: Layer | Sequential) -> None:
        """Append ``layer`` (a layer, a model, or an ``Input(...)`` first); it gets a
        unique Keras-style name if it has none."""
        from .functional import SymbolicTensor

        if isinstance(layer, SymbolicTensor):
            if self.layers:
                raise ValueError(
                    "An Input(...) belongs first in a Sequential model. "
                    f"Received it after {len(self.layers)} layers"
                )
            self._pending_input = layer.sample
            self.channels_last = layer.channels_last
            self._keras_shapes = self._keras_shapes or layer.keras_shapes
            return
        if not self.layers and getattr(layer, "channels_last", False):
            self.channels_last = True
        validation.layer_instance(layer, (Layer, Sequential))
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
        elif len(self.layers) == 1 and isinstance(layer, Sequential) and layer.built:
            assert layer.sample_input_shape is not None
            self.channels_last = layer.channels_last
            self.build(layer.sample_input_shape, internal=True)  # a built model first
        elif len(self.layers) == 1 and self._pending_input is not None:
            self.build(self._pending_input, internal=True)
        elif len(self.layers) == 1 and layer.declared_input_shape is not None:
            self.build(layer.declared_input_shape, internal=True)

    @property
    def built(self) -> bool:
        return self.sample_input_shape is not None

    def build(
        self,
        input_shape: object,
        rng: np.random.Generator | None = None,
        *,
        internal: bool = False,
    ) -> None:
        """Create every layer's weights for per-sample ``input_shape`` (any layout
        :func:`~convlab.nn.layers.sample_shape` accepts; already convlab's ``(C, H,
        W)`` when ``internal`` or when called as a layer of another model, with
        ``rng``, which is unused: a model draws from its own seed)."""
        if not self.layers:
            raise ValueError(
                "The model has no layers yet: add some before building it."
            )
        internal = internal or rng is not None
        shape = (
            tuple(int(v) for v in input_shape)  # type: ignore[attr-defined]
            if internal
            else sample_shape(input_shape)
        )
        if self.built and shape == self.sample_input_shape and rng is not None:
            return  # a built model inside another keeps its weights
        self.sample_input_shape = shape
        try:
            self._build_layers(0)
        except ValueError:
            self.sample_input_shape = None
            raise

    def _build_layers(self, start: int) -> None:
        shape = (
            self.sample_input_shape
            if start == 0
            else self.layers[start - 1].sample_output_shape
        )
        assert shape is not None
        keras = self.keras_shapes
        for i in range(start, len(self.layers)):
            layer = self.layers[i]
            layer.channels_last = self.channels_last  # Flatten's order, the shapes
            if keras:
                layer.keras_shapes = True
            layer.build(shape, np.random.default_rng([self.seed, i]))
            assert layer.sample_output_shape is not None
            shape = layer.sample_output_shape

    # ------------------------------------------------------------------ shapes
    @property
    def keras_shapes(self) -> bool:
        """True for a model of the Keras face (built from convlab.keras's layers or
        ``Input``, or loaded from one): ``input_shape``/``output_shape`` are then
        Keras's, with the batch axis, in the model's layout, and ``predict`` returns
        image outputs channels-last when the model is."""
        return self._keras_shapes or any(
            getattr(layer, "keras_shapes", False) for layer in self.layers
        )

    @keras_shapes.setter
    def keras_shapes(self, value: bool) -> None:
        self._keras_shapes = bool(value)
        for layer in self.layers:
            if value:
                layer.keras_shapes = True

    def _shown(self, sample: tuple[int, ...] | None) -> tuple[int | None, ...] | None:
        if sample is None or not self.keras_shapes:
            return sample
        return keras_shape(sample, self.channels_last)

    @property
    def sample_output_shape(self) -> tuple[int, ...] | None:
        """The last layer's output per sample, internal layout (``(C, H, W)``)."""
        return (
            self.layers[-1].sample_output_shape if self.built and self.layers else None
        )

    @property
    def input_shape(self) -> tuple[int | None, ...] | None:
        """convlab.nn: per sample, internal ``(C, H, W)`` or ``(features,)``. Keras
        face (:attr:`keras_shapes`): Keras's ``(None, H, W, C)`` (channels-last) or
        ``(None, C, H, W)``. ``sample_input_shape`` is always the internal one."""
        return self._shown(self.sample_input_shape)

    @input_shape.setter
    def input_shape(self, value: tuple[int, ...] | None) -> None:
        self.sample_input_shape = None if value is None else tuple(value)

    @property
    def output_shape(self) -> tuple[int | None, ...] | None:
        """The last layer's output shape, shown as :attr:`input_shape` is."""
        return self._shown(self.sample_output_shape)

    @property
    def input(self) -> Any:
        """Keras's ``model.input``: the symbolic tensor the model starts from (the
        same object each time), for ``Model(inputs=base.input, outputs=...)``."""
        from .functional import SymbolicTensor

        validation.require_built(self.built, "input")
        tensor = getattr(self, "_input_tensor", None)
        if tensor is None or tensor.sample != self.sample_input_shape:
            assert self.sample_input_shape is not None
            tensor = SymbolicTensor(
                self.sample_input_shape,
                channels_last=self.channels_last,
                keras_shapes=self.keras_shapes,
            )
            self._input_tensor = tensor
        return tensor

    @property
    def output(self) -> Any:
        """Keras's ``model.output``: the tensor after the model's layers, computed
        from :attr:`input`; a model built on it lists these layers, as Keras's
        does (an input layer is not repeated)."""
        from .core_layers import InputLayer
        from .functional import SymbolicTensor

        start = self.input
        assert self.sample_output_shape is not None
        layers = tuple(lay for lay in self.layers if not isinstance(lay, InputLayer))
        return SymbolicTensor(
            self.sample_output_shape,
            layers,
            start,
            channels_last=self.channels_last,
            keras_shapes=self.keras_shapes,
        )

    # ------------------------------------------------------------------ inputs
    def input_layout(self, x: np.ndarray, what: str = "x") -> str:
        """How to read ``x`` (:func:`~convlab.nn.data_adapter.infer_layout`): builds
        the model from the data when it has no input shape yet, checks the per-sample
        shape against the model's otherwise."""
        layout, per_sample = infer_layout(
            x, self.sample_input_shape, what, self.channels_last
        )
        if not self.built:
            self.build(per_sample)
        elif per_sample != self.sample_input_shape:
            first = self.layers[0]
            sample = self.sample_input_shape
            assert sample is not None
            expected: tuple[int | None, ...] = (None, *sample)
            found_shape = (x.shape[0] if layout != "hw" else 1, *per_sample)
            axes = "(N, C, H, W)"
            if self.channels_last and len(expected) == 4:
                expected = (None, *sample[1:], sample[0])
                found_shape = tuple(x.shape)
                axes = "(N, H, W, C)"
            raise ValueError(
                f'Input of layer "{first.name}" ({type(first).__name__}) '
                "is incompatible with "
                f'model "{self.name}": '
                f"expected shape={shape_text(expected)} "
                f"{axes}, found shape={shape_text(found_shape)} "
                f"from {what}.shape={x.shape}"
            )
        return layout

    def prepare(self, x: np.ndarray) -> np.ndarray:
        """``x`` (any layout the module docstring lists) checked against the model and
        converted to its float32 input, in one batch."""
        return to_model_input(x, self.input_layout(x))

    def __call__(self, x: np.ndarray, training: bool = False) -> Any:
        from .functional import SymbolicTensor, call_symbolic

        if isinstance(x, SymbolicTensor | list | tuple):
            return call_symbolic(self, x)
        if training:
            return self._forward(self.prepare(x), training=True)
        return self.predict(x)

    def activations(self, x: np.ndarray) -> list[tuple[str, np.ndarray]]:
        """Every layer's output for ``x`` in inference mode:
        ``[(layer name, array), ...]``.

        ``x`` may be one image ``(H, W)`` or a batch; arrays keep the batch axis and are
        NCHW for image layers, ``(N, features)`` after ``Flatten``/``Dense``.
        """
        h = self.prepare(x)
        result = []
        with one_blas_thread():
            for layer in self.layers:
                h = layer.forward(h, training=False)
                result.append((layer.name or "", h))
        return result

    # ------------------------------------------------------------------ as a layer
    # A model inside another model (Keras: a Sequential in a Sequential, a VGG16
    # base called on an Input) is driven through the Layer protocol below; its
    # weights appear to the outer model as one layer's, keyed "<layer>/<weight>".
    base_name = "sequential"

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {
            f"{layer.name}/{key}": value
            for layer in self.layers
            if layer.trainable
            for key, value in layer.params.items()
        }

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return {
            f"{layer.name}/{key}": value
            for layer in self.layers
            if layer.trainable
            for key, value in layer.grads.items()
        }

    @property
    def state(self) -> dict[str, np.ndarray]:
        return {
            f"{layer.name}/{key}": value
            for layer in self.layers
            for key, value in (
                layer.state.items()
                if layer.trainable
                else {**layer.params, **layer.state}.items()
            )
        }

    @property
    def weights(self) -> dict[str, np.ndarray]:
        """Every array as ``{"<layer>/<key>": array}``, in get_weights order."""
        return {
            f"{layer.name}/{key}": value
            for layer in self.layers
            for key, value in layer.weights.items()
        }

    @property
    def trainable_count(self) -> int:
        return sum(layer.trainable_count for layer in self.layers)

    @property
    def activation(self) -> str:
        return self.layers[-1].activation if self.layers else "linear"

    @property
    def softmax_logits(self) -> np.ndarray | None:
        return self.layers[-1].softmax_logits if self.layers else None

    @property
    def logits(self) -> np.ndarray | None:
        return self.layers[-1].logits if self.layers else None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def _backward_from(self, grad: np.ndarray, linear_last: bool) -> np.ndarray | None:
        first = 0 if self.need_input_grad else self.first_trainable
        for i, layer in enumerate(self.layers):
            layer.need_input_grad = self.need_input_grad or i > first
        out: np.ndarray | None = grad
        last = len(self.layers) - 1
        for i in range(last, first - 1, -1):
            assert out is not None
            layer = self.layers[i]
            out = (
                layer.backward_linear(out)
                if linear_last and i == last
                else layer.backward(out)
            )
        return out if self.need_input_grad else None

    def backward(self, grad: np.ndarray) -> np.ndarray | None:
        return self._backward_from(grad, False)

    def backward_linear(self, grad_z: np.ndarray) -> np.ndarray | None:
        return self._backward_from(grad_z, True)

    def reseed(self, rng: np.random.Generator) -> None:
        for i, layer in enumerate(self.layers):
            layer.reseed(np.random.default_rng([int(rng.integers(2**32)), i]))

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """A model from :meth:`get_config` (layers rebuilt, weights fresh)."""
        from .layers import LAYER_CLASSES

        model = cls(name=config["name"], seed=config["seed"])
        model.channels_last = bool(config.get("channels_last", False))
        model._keras_shapes = bool(config.get("keras_shapes", False))
        layers = []
        for entry in config["layers"]:
            name = entry["class_name"]
            if name == "Flatten" and "order" not in entry["config"]:
                # written before Flatten followed the layout: it flattened C, H, W
                entry = {**entry, "config": {**entry["config"], "order": "chw"}}
            if name in ("Sequential", "Model"):
                layer_cls: Any = Sequential if name == "Sequential" else _model_class()
            else:
                layer_cls = LAYER_CLASSES.get(name)
            if layer_cls is None:
                raise ValueError(f"unknown layer class {name!r}")
            layers.append(layer_cls.from_config(dict(entry["config"])))
        model.layers = []
        for layer in layers:
            model.layers.append(layer)  # no add(): input_shape may sit on any layer
        if config.get("input_shape") is not None:
            model.build(tuple(config["input_shape"]), internal=True)
        for layer, entry in zip(model.layers, config["layers"], strict=True):
            if entry["config"].get("trainable") is False:
                layer.trainable = False
        return model

    # ------------------------------------------------------------------ weights
    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    @property
    def trainable(self) -> bool:
        """False when every layer is frozen. Setting it sets every layer's
        ``trainable`` (Keras: ``model.trainable = False`` freezes the whole model)."""
        return any(layer.trainable for layer in self.layers) or not self.layers

    @trainable.setter
    def trainable(self, value: bool) -> None:
        for layer in self.layers:
            layer.trainable = bool(value)

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        return [p for layer in self.layers for p in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        return [s for layer in self.layers for s in layer.non_trainable_weights]

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
    def summary_rows(self) -> list[SummaryRow]:
        """``[(layer name, output shape with None batch, parameter count), ...]``."""
        validation.require_built(self.built, "summary")
        return [
            SummaryRow(
                layer.name or "",
                (None, *(layer.sample_output_shape or ())),
                layer.count_params(),
            )
            for layer in self.layers
        ]

    def summary(
        self, print_fn: Callable[[str], Any] | None = None, line_length: int = 65
    ) -> None:
        """Print Keras's summary table (output shapes in NCHW, the layout convlab
        uses, or in NHWC for a model declared channels-last)."""
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
            shape = r.output_shape
            if self.channels_last and len(shape) == 4:
                shape = (shape[0], shape[2], shape[3], shape[1])
            lines.append(row(labels[i], shape_text(shape), f"{r.params:,}"))
            lines.append("=" * line_length if i == len(rows) - 1 else "")
        lines += [
            f"Total params: {amount(total)}",
            f"Trainable params: {amount(trainable)}",
            f"Non-trainable params: {amount(total - trainable)}",
            "_" * line_length,
            "Output shapes are (batch, height, width, channels), as Keras prints them "
            "(convlab computes in NCHW)."
            if self.channels_last
            else "Output shapes are (batch, channels, height, width): "
            "convlab works in NCHW.",
        ]
        for text in lines:
            print_fn(text)

    # ------------------------------------------------------------------ config, saving
    def get_config(self) -> dict[str, Any]:
        config = {
            "name": self.name,
            "seed": self.seed,
            "input_shape": (
                list(self.sample_input_shape) if self.sample_input_shape else None
            ),
            "layers": [
                {"class_name": _class_name(layer), "config": layer.get_config()}
                for layer in self.layers
            ],
        }
        if self.layers and not self.trainable:
            config["trainable"] = False
        if self.channels_last:
            config["channels_last"] = True
        if self._keras_shapes or self.keras_shapes:
            config["keras_shapes"] = True
        return config

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to one ``.npz`` file; see :mod:`convlab.nn.saving`. A
        ``.h5`` or ``.keras`` name gets the same content (convlab's format, which
        :func:`~convlab.nn.load_model` reads back whole) and a one-line note saying
        so: Keras cannot read it."""
        from .saving import save_model

        name = os.fspath(path)
        suffix = name.lower().rsplit(".", 1)[-1]
        save_model(self, path)
        if suffix in ("h5", "hdf5", "keras"):
            import warnings

            warnings.warn(
                f"model.save('{name}'): wrote convlab's model format (an .npz zip: "
                "architecture, weights, trainable flags, optimizer state), not "
                f"Keras's {'.keras' if suffix == 'keras' else 'HDF5'}, under that "
                "name; load_model reads it back. For Keras's HDF5 weights: "
                "model.save_weights('w.h5').",
                validation.Keras2Warning,
                stacklevel=2,
            )

    def save_weights(self, path: str | os.PathLike[str]) -> None:
        """Write the weights only: a ``.h5``/``.hdf5`` name gets Keras's HDF5 weight
        layout (needs h5py; Keras's ``load_weights`` and :meth:`load_weights` read
        it); any other name convlab's model file (:meth:`save`)."""
        suffix = os.fspath(path).lower().rsplit(".", 1)[-1]
        if suffix in ("h5", "hdf5"):
            from .h5weights import save_keras_weights

            save_keras_weights(self, path)
        else:
            from .saving import save_model

            save_model(self, path)

    def load_weights(self, path: str | os.PathLike[str]) -> None:
        """Copy weights from a saved model with the same architecture: a convlab
        model file, or a Keras HDF5 weight file (``model.save_weights('w.h5')``, the
        published ``keras-applications`` files; needs h5py). On any error nothing is
        changed."""
        from .h5weights import is_hdf5, load_keras_weights
        from .saving import ModelFileError, read_model_file, weight_items

        if is_hdf5(path):
            validation.require_built(self.built, "load_weights")
            load_keras_weights(self, path)
            return
        _, arrays = read_model_file(path)
        validation.require_built(self.built, "load_weights")
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
