"""Layers as plain dicts the layer editor can edit, and their shapes worked out row by
row.

No Qt here. A spec is ``{"type": "Conv2D", "filters": 8, "kernel_size": 3, ...}``, using
Keras's argument names. :func:`check_stack` builds each row's ``convlab.nn`` layer and
asks it for its output shape and parameter count (so the summary is the engine's, not a
second implementation); it stops at the first layer that cannot take its input, saying
why and how to fix it, and the editor highlights that row.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convlab.nn import ACTIVATIONS as NN_ACTIVATIONS

from .engine import layer_from_spec

__all__ = [
    "ACTIVATIONS",
    "LAYER_TYPES",
    "Param",
    "Row",
    "StackCheck",
    "check_stack",
    "default_spec",
    "describe_spec",
    "INPUT_SHAPE",
    "copy_specs",
]

#: MNIST images as the models see them: (channels, height, width); the default
#: input of :func:`check_stack` (the trainer passes its data's shape)
INPUT_SHAPE = (1, 28, 28)
#: MNIST's class count, the default of :func:`check_stack` and of a new Dense
NUM_CLASSES = 10

#: convlab.nn's activation names as the editor shows them: "none" for nn's "linear"
#: (the mapping both ways is :func:`convlab.train.engine.nn_activation` / its inverse)
ACTIVATIONS = tuple("none" if a == "linear" else a for a in NN_ACTIVATIONS)
_ACT_TIP = (
    "applied to each output: relu keeps positives; softmax turns the last layer's "
    "outputs (one per class) into probabilities"
)
_PAD_TIP = '"valid": windows stay inside; "same": pads so that only strides shrink'


@dataclass(frozen=True)
class Param:
    """One editable argument: ``kind`` is "int", "float" or "choice"."""

    name: str
    kind: str
    default: Any
    low: float = 0
    high: float = 0
    choices: tuple[str, ...] = ()
    tip: str = ""


LAYER_TYPES: dict[str, tuple[Param, ...]] = {
    "Conv2D": (
        Param(
            "filters", "int", 8, 1, 512, tip="how many filters (output feature maps)"
        ),
        Param(
            "kernel_size",
            "int",
            3,
            1,
            15,
            tip="each filter is kernel_size x kernel_size",
        ),
        Param("strides", "int", 1, 1, 8, tip="step between two windows"),
        Param(
            "dilation_rate",
            "int",
            1,
            1,
            8,
            tip="spacing between the kernel's taps: a 3x3 kernel with dilation 2 "
            "spans 5x5 pixels with the same 9 weights",
        ),
        Param(
            "padding",
            "choice",
            "valid",
            choices=("valid", "same"),
            tip='"same" pads so the output keeps the input size (stride 1)',
        ),
        Param("activation", "choice", "relu", choices=ACTIVATIONS, tip=_ACT_TIP),
    ),
    "MaxPooling2D": (
        Param(
            "pool_size", "int", 2, 1, 8, tip="keeps the largest value of each window"
        ),
        Param("strides", "int", 0, 0, 8, tip="0 means the same as pool_size"),
        Param("padding", "choice", "valid", choices=("valid", "same"), tip=_PAD_TIP),
    ),
    "AveragePooling2D": (
        Param("pool_size", "int", 2, 1, 8, tip="averages each window"),
        Param("strides", "int", 0, 0, 8, tip="0 means the same as pool_size"),
        Param("padding", "choice", "valid", choices=("valid", "same"), tip=_PAD_TIP),
    ),
    "GlobalAveragePooling2D": (),
    "Flatten": (),
    "Dense": (
        Param(
            "units",
            "int",
            64,
            1,
            4096,
            tip="outputs; the last layer needs one per class",
        ),
        Param("activation", "choice", "relu", choices=ACTIVATIONS, tip=_ACT_TIP),
    ),
    "Activation": (
        Param(
            "activation",
            "choice",
            "relu",
            choices=tuple(a for a in ACTIVATIONS if a != "none"),
            tip=_ACT_TIP,
        ),
    ),
    "ReLU": (),
    "Dropout": (
        Param("rate", "float", 0.25, 0.0, 0.95, tip="fraction of units dropped"),
    ),
    "BatchNormalization": (),
}


def default_spec(kind: str, num_classes: int = NUM_CLASSES) -> dict[str, Any]:
    if kind not in LAYER_TYPES:
        raise ValueError(
            f"`kind` must be one of {', '.join(LAYER_TYPES)}. Received: kind={kind!r}"
        )
    spec: dict[str, Any] = {"type": kind}
    for p in LAYER_TYPES[kind]:
        spec[p.name] = p.default
    if kind == "Dense":
        spec.update(units=int(num_classes), activation="softmax")
    return spec


def _dilation(spec: dict[str, Any]) -> int | tuple[int, int]:
    """A Conv2D spec's dilation: the editor's ``dilation_rate`` or a loaded layer's."""
    value = spec.get("dilation_rate", spec.get("_config", {}).get("dilation_rate", 1))
    if isinstance(value, (list, tuple)):
        dh, dw = (int(v) for v in value)
        return dh if dh == dw else (dh, dw)
    return int(value)


def describe_spec(spec: dict[str, Any]) -> str:
    """Short Keras-like text: ``Conv2D(8, 3x3, relu)``."""
    kind = spec["type"]
    if kind == "Conv2D":
        extra = [f"{spec['kernel_size']}x{spec['kernel_size']}"]
        if spec.get("strides", 1) != 1:
            extra.append(f"stride {spec['strides']}")
        if _dilation(spec) != 1:
            extra.append(f"dilation {_dilation(spec)}")
        if spec.get("padding") == "same":
            extra.append("same")
        if spec.get("activation", "none") != "none":
            extra.append(spec["activation"])
        return f"Conv2D({spec['filters']}, {', '.join(extra)})"
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        s = spec.get("strides") or spec["pool_size"]
        extra = "" if s == spec["pool_size"] else f", stride {s}"
        same = ", same" if spec.get("padding") == "same" else ""
        return f"{kind}({spec['pool_size']}{extra}{same})"
    if kind == "Dense":
        act = spec.get("activation", "none")
        return f"Dense({spec['units']}{'' if act == 'none' else ', ' + act})"
    if kind == "Activation":
        return f"Activation({spec['activation']})"
    if kind == "Dropout":
        return f"Dropout({spec['rate']:g})"
    return f"{kind}()"


@dataclass
class Row:
    """One layer of the summary: input and output shapes (C, H, W) or (units,),
    params."""

    index: int
    spec: dict[str, Any]
    output_shape: tuple[int, ...] | None
    params: int
    error: str = ""


@dataclass
class StackCheck:
    rows: list[Row] = field(default_factory=list)
    error_index: int | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.error_index is None

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows)


def _shape_text(shape: tuple[int, ...]) -> str:
    if len(shape) == 3:
        return f"{shape[0]} maps of {shape[1]}x{shape[2]}"
    return f"a vector of {shape[0]}"


_SPATIAL = ("Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D")


def _layer_output(
    spec: dict[str, Any], shape: tuple[int, ...]
) -> tuple[tuple[int, ...], int]:
    """Output shape and parameter count of one row, asked of its convlab.nn layer.

    The editor adds only the plain-words message for a layer put on the wrong side of
    Flatten; sizes, parameter counts and argument errors are the engine's.
    """
    kind = spec["type"]
    if kind in _SPATIAL and len(shape) != 3:
        raise ValueError(
            f"{kind} needs feature maps (channels, height, width) but receives "
            f"{_shape_text(shape)}. Move it before Flatten/Dense."
        )
    if kind == "Dense" and len(shape) != 1:
        raise ValueError(
            f"Dense needs a flat vector but receives {_shape_text(shape)}. "
            "Add Flatten (or GlobalAveragePooling2D) before it."
        )
    layer = layer_from_spec(spec)  # nn checks every argument, Keras-style messages
    out = tuple(int(v) for v in layer.compute_output_shape(shape))
    # build (small: the editor's layers have at most a few million weights) to count
    # the parameters as nn does, non-trainable state (BatchNormalization) included
    layer.build(shape, np.random.default_rng(0))
    return out, int(layer.count_params())


def check_stack(
    specs: list[dict[str, Any]],
    input_shape: tuple[int, ...] = INPUT_SHAPE,
    num_classes: int = NUM_CLASSES,
) -> StackCheck:
    """Shapes and parameter counts row by row; stops at the first layer that breaks.

    Rows are indexed from 0 (``error_index``); messages number layers from 1, as the
    editor's table does.
    """
    result = StackCheck()
    shape: tuple[int, ...] = tuple(input_shape)
    if not specs:
        result.error_index = 0
        result.error = "The model has no layers. Choose a preset or add layers."
        return result
    for i, spec in enumerate(specs):
        try:
            shape, params = _layer_output(spec, shape)
        except (ValueError, TypeError) as exc:
            result.rows.append(Row(i, spec, None, 0, str(exc)))
            result.error_index, result.error = (
                i,
                f"Layer {i + 1} ({describe_spec(spec)}): {exc}",
            )
            return result
        result.rows.append(Row(i, spec, shape, params))
    last = len(specs) - 1
    classes = int(num_classes)
    if shape != (classes,):
        msg = (
            f"The model must end with {classes} outputs, one per class, but gives "
            f"{_shape_text(shape)}. End with Dense({classes}, softmax)."
        )
        result.rows[last].error = msg
        result.error_index, result.error = last, f"Layer {last + 1}: {msg}"
    return result


def copy_specs(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return copy.deepcopy(specs)
