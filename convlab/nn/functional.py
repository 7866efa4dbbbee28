"""Keras's functional API for chains: :func:`Input`, symbolic tensors, and
:class:`Model` ``(inputs=..., outputs=...)``.

``x = Input(shape=(28, 28, 1))`` is a :class:`SymbolicTensor`: a per-sample shape and
the chain of layers that produced it. Calling a layer (or a model) on one returns a
new symbolic tensor one layer longer; nothing is computed. ``Model(inputs, outputs)``
then takes the chain from ``inputs`` to ``outputs`` and becomes a
:class:`~convlab.nn.Sequential` whose first layer is an :class:`InputLayer` (so
``model.layers`` counts as Keras's does). convlab runs chains only: several inputs or
outputs, or a layer called on a list (a merge), raise an error that says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base_layer import Layer, keras_shape, shape_text
from .core_layers import InputLayer
from .data_adapter import sample_shape
from .model import Sequential

__all__ = ["SymbolicTensor", "Input", "InputLayer", "Model", "call_symbolic"]


class SymbolicTensor:
    """A placeholder: ``shape`` per sample in convlab's layout (``(C, H, W)`` or
    ``(features,)``), and the layers from the :func:`Input` to here.

    ``.shape`` has the batch axis, as Keras prints it: ``(None, 1, 28, 28)``, or
    ``(None, 28, 28, 1)`` for a channels-last tensor of the Keras face.
    """

    def __init__(
        self,
        sample: tuple[int, ...],
        layers: tuple[Any, ...] = (),
        origin: SymbolicTensor | None = None,
        name: str | None = None,
        channels_last: bool = False,
        keras_shapes: bool = False,
    ) -> None:
        self.sample = sample
        #: declared in Keras's layout (see Sequential.channels_last)
        self.channels_last = channels_last
        #: shown as Keras shows it (see Sequential.keras_shapes)
        self.keras_shapes = keras_shapes
        self.layers = layers
        self.origin = origin if origin is not None else self
        self.name = name

    @property
    def shape(self) -> tuple[int | None, ...]:
        if self.keras_shapes:
            return keras_shape(self.sample, self.channels_last)
        return (None, *self.sample)

    def __repr__(self) -> str:
        return f"<SymbolicTensor shape={shape_text(self.shape)}>"


def Input(  # noqa: N802 (Keras's name)
    shape: object = None, name: str | None = None, batch_shape: object = None
) -> SymbolicTensor:
    """A model's input, Keras's ``Input(shape=(28, 28, 1))``; ``shape`` has no batch
    axis (any layout :func:`~convlab.nn.layers.sample_shape` accepts)."""
    if shape is None and batch_shape is not None:
        shape = tuple(batch_shape)[1:]  # type: ignore[call-overload]
    if shape is None:
        raise ValueError(
            "`shape` is required: the per-sample shape without the batch axis, such "
            "as Input(shape=(28, 28, 1)). Received: shape=None"
        )
    return SymbolicTensor(sample_shape(shape, "shape"), name=name)


def call_symbolic(layer: Any, inputs: object) -> SymbolicTensor:
    """``layer(inputs)`` for a symbolic ``inputs``: build the layer for its shape and
    return the tensor one layer longer."""
    if isinstance(inputs, list | tuple):
        raise ValueError(
            f'Layer "{layer.name or type(layer).__name__}" was called on '
            f"{len(inputs)} tensors. convlab models are chains (one input, one output, "
            "each layer feeding the next): merges such as Concatenate or Add are not "
            "supported."
        )
    assert isinstance(inputs, SymbolicTensor)
    layer.channels_last = inputs.channels_last
    if inputs.keras_shapes:
        layer.keras_shapes = True
    if getattr(layer, "built", False):
        if tuple(layer.sample_input_shape) != inputs.sample:
            built_for = SymbolicTensor(
                tuple(layer.sample_input_shape),
                channels_last=inputs.channels_last,
                keras_shapes=inputs.keras_shapes,
            )
            raise ValueError(
                f'Layer "{layer.name}" was built for input '
                f"{shape_text(built_for.shape)} and cannot be called on "
                f"{shape_text(inputs.shape)}."
            )
    elif isinstance(layer, Sequential):
        layer.build(inputs.sample, internal=True)
    else:
        layer.build(inputs.sample)
        layer._fresh = True  # the Model draws its weights again from the model seed
    assert layer.sample_output_shape is not None
    return SymbolicTensor(
        tuple(layer.sample_output_shape),
        (*inputs.layers, layer),
        inputs.origin,
        channels_last=inputs.channels_last,
        keras_shapes=inputs.keras_shapes or layer.keras_shapes,
    )


def _one(value: object, what: str) -> SymbolicTensor:
    if isinstance(value, list | tuple) and len(value) == 1:
        value = value[0]
    if isinstance(value, dict) or (isinstance(value, list | tuple) and len(value) != 1):
        raise ValueError(
            f"convlab models are chains with one input and one output: `{what}` must "
            f"be one tensor. Received: {len(value)} {what}"  # type: ignore[arg-type]
        )
    if not isinstance(value, SymbolicTensor):
        raise TypeError(
            f"`{what}` must be a tensor from Input(...) or a layer called on one. "
            f"Received: {what} of type {type(value).__name__}"
        )
    return value


class Model(Sequential):
    """Keras's functional ``Model(inputs=..., outputs=...)`` for a chain of layers
    (and models), or a plain list of ``layers`` (what :func:`load_model` uses).

    ``model.layers[0]`` is the :class:`InputLayer`, as in Keras.
    """

    def __init__(
        self,
        inputs: object = None,
        outputs: object = None,
        name: str = "model",
        *,
        layers: list[Layer] | None = None,
        seed: int | None = None,
    ) -> None:
        if layers is not None or (inputs is None and outputs is None):
            super().__init__(layers, name=name, seed=seed)
            return
        x = _one(inputs, "inputs")
        y = _one(outputs, "outputs")
        if y.origin is not x.origin or y.layers[: len(x.layers)] != x.layers:
            raise ValueError(
                "`outputs` is not computed from `inputs` by a chain of layers: call "
                "each layer on the previous layer's output, starting from `inputs`."
            )
        chain = y.layers[len(x.layers) :]
        super().__init__(name=name, seed=seed)
        self.channels_last = x.channels_last
        self._keras_shapes = y.keras_shapes
        self.layers = [InputLayer(input_shape=None, name=x.name or "input_layer")]
        self.layers += list(chain)
        self._check_names()
        self.sample_input_shape = x.sample
        for layer in self.layers:
            layer.channels_last = self.channels_last
            if self._keras_shapes:
                layer.keras_shapes = True
        self.layers[0].build(x.sample)
        for i, layer in enumerate(self.layers):
            if getattr(layer, "_fresh", False):
                layer.build(
                    layer.sample_input_shape, np.random.default_rng([self.seed, i])
                )
                layer._fresh = False

    def _check_names(self) -> None:
        seen: set[str] = set()
        for layer in self.layers:
            if layer.name is None:
                base, k = layer.base_name, 0
                layer.name = base
                while layer.name in seen:
                    k += 1
                    layer.name = f"{base}_{k}"
            if layer.name in seen:
                raise ValueError(
                    "All layers in a model must have unique names. "
                    f'Received: name="{layer.name}" twice'
                )
            seen.add(layer.name)
