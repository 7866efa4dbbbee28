"""Layers as plain dicts the layer editor can edit, and their shapes worked out row by
row.

No Qt here. A spec is ``{"type": "Conv2D", "filters": 8, "kernel_size": 3, ...}``, using
Keras's argument names; a per-axis argument is an int when both axes agree and
``[h, w]`` otherwise (``kernel_size: [1, 7]``), a Conv2D's ``padding`` "valid", "same"
or a number of pixels (int or ``[ph, pw]``), and ``"trainable": False`` freezes the
layer. :func:`check_stack` makes each row's (unbuilt) ``convlab.nn`` layer and asks it
for its output shape and its parameters' shapes (``Layer.param_shapes``), so the
summary is the engine's, not a second implementation, and no weight is allocated:
VGG16's table costs kilobytes, not its 138M weights. It stops at the first layer that
cannot take its input, saying why and how to fix it, and the editor highlights that
row.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

from convlab.nn import ACTIVATIONS as NN_ACTIVATIONS

from .engine import layer_from_spec

__all__ = [
    "ACTIVATIONS",
    "LAYER_TYPES",
    "MACS_PER_SECOND",
    "Param",
    "Row",
    "StackCheck",
    "check_stack",
    "default_spec",
    "describe_spec",
    "duration_words",
    "epoch_estimate",
    "estimate_text",
    "INPUT_SHAPE",
    "copy_specs",
    "shape_words",
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
_CONV_PAD_TIP = (
    '"valid": no padding, windows stay inside; "same": pads so the output keeps the '
    'input size (stride 1); "pixels": that many zero rows/columns on each side'
)


@dataclass(frozen=True)
class Param:
    """One editable argument.

    ``kind``: "int", "float", "choice", "pair" (an int, or ``[h, w]`` per axis) or
    "padding" ("valid", "same", or pixels: an int or ``[ph, pw]``). ``decimals`` and
    ``step`` are for "float"."""

    name: str
    kind: str
    default: Any
    low: float = 0
    high: float = 0
    choices: tuple[str, ...] = ()
    tip: str = ""
    decimals: int = 2
    step: float = 0.05


_POOL_STRIDES_TIP = "step between two windows; 0 means the same as pool_size"

LAYER_TYPES: dict[str, tuple[Param, ...]] = {
    "Conv2D": (
        Param(
            "filters", "int", 8, 1, 1024, tip="how many filters (output feature maps)"
        ),
        Param(
            "kernel_size",
            "pair",
            3,
            1,
            15,
            tip="each filter is kh x kw (height x width)",
        ),
        Param("strides", "pair", 1, 1, 8, tip="step between two windows (sh, sw)"),
        Param(
            "dilation_rate",
            "pair",
            1,
            1,
            8,
            tip="spacing between the kernel's taps: a 3x3 kernel with dilation 2 "
            "spans 5x5 pixels with the same 9 weights",
        ),
        Param(
            "padding",
            "padding",
            "valid",
            0,
            32,
            choices=("valid", "same"),
            tip=_CONV_PAD_TIP,
        ),
        Param("activation", "choice", "relu", choices=ACTIVATIONS, tip=_ACT_TIP),
    ),
    "MaxPooling2D": (
        Param(
            "pool_size", "pair", 2, 1, 8, tip="keeps the largest value of each window"
        ),
        Param("strides", "pair", 0, 0, 8, tip=_POOL_STRIDES_TIP),
        Param("padding", "choice", "valid", choices=("valid", "same"), tip=_PAD_TIP),
    ),
    "AveragePooling2D": (
        Param("pool_size", "pair", 2, 1, 8, tip="averages each window"),
        Param("strides", "pair", 0, 0, 8, tip=_POOL_STRIDES_TIP),
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
            8192,
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
    "BatchNormalization": (
        Param(
            "momentum",
            "float",
            0.99,
            0.0,
            0.999,
            tip="moving statistics: moving = momentum * moving + (1 - momentum) * "
            "batch (Keras 0.99; Chainer's decay 0.9)",
            decimals=3,
            step=0.01,
        ),
        Param(
            "epsilon",
            "float",
            1e-3,
            1e-6,
            1.0,
            tip="added to the variance before the square root (Keras 1e-3; Chainer "
            "2e-5)",
            decimals=6,
            step=1e-4,
        ),
    ),
}


def default_spec(kind: str, num_classes: int = NUM_CLASSES) -> dict[str, Any]:
    """A new layer's spec; a Dense is a classifier head of ``num_classes``."""
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


def pair_value(value: Any) -> tuple[int, int]:
    """An int or ``[h, w]`` spec value as ``(h, w)``."""
    if isinstance(value, (list, tuple)):
        h, w = (int(v) for v in value)
        return h, w
    return int(value), int(value)


def compact_pair(h: int, w: int) -> int | list[int]:
    """``(h, w)`` as a spec stores it: one int when both axes agree."""
    return int(h) if int(h) == int(w) else [int(h), int(w)]


def _pair_text(value: Any, sep: str = "x") -> str:
    h, w = pair_value(value)
    return f"{h}{sep}{w}"


def _dilation(spec: dict[str, Any]) -> int | tuple[int, int]:
    """A Conv2D spec's dilation: the editor's ``dilation_rate`` or a loaded layer's."""
    value = spec.get("dilation_rate", spec.get("_config", {}).get("dilation_rate", 1))
    dh, dw = pair_value(value)
    return dh if dh == dw else (dh, dw)


def describe_spec(spec: dict[str, Any]) -> str:
    """Short Keras-like text: ``Conv2D(8, 3x3, relu)``."""
    kind = spec["type"]
    if kind == "Conv2D":
        extra = [_pair_text(spec["kernel_size"])]
        if pair_value(spec.get("strides", 1)) != (1, 1):
            extra.append(f"stride {_pair_text(spec['strides'], ',')}")
        if _dilation(spec) != 1:
            extra.append(f"dilation {_dilation(spec)}")
        pad = spec.get("padding", "valid")
        if pad == "same":
            extra.append("same")
        elif not isinstance(pad, str) and pair_value(pad) != (0, 0):
            extra.append(f"pad {_pair_text(pad, ',')}")
        if spec.get("activation", "none") != "none":
            extra.append(spec["activation"])
        return f"Conv2D({spec['filters']}, {', '.join(extra)})"
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        size = pair_value(spec["pool_size"])
        s = pair_value(spec.get("strides") or spec["pool_size"])
        if s == (0, 0):
            s = size
        text = str(size[0]) if size[0] == size[1] else f"{size[0]}x{size[1]}"
        extra = "" if s == size else f", stride {compact_pair(*s)}"
        same = ", same" if spec.get("padding") == "same" else ""
        return f"{kind}({text}{extra}{same})"
    if kind == "Dense":
        act = spec.get("activation", "none")
        return f"Dense({spec['units']}{'' if act == 'none' else ', ' + act})"
    if kind == "Activation":
        return f"Activation({spec['activation']})"
    if kind == "Dropout":
        return f"Dropout({spec['rate']:g})"
    if kind == "BatchNormalization":
        m, e = spec.get("momentum", 0.99), spec.get("epsilon", 1e-3)
        return (
            "BatchNormalization()"
            if (m, e) == (0.99, 1e-3)
            else (f"BatchNormalization(momentum {m:g}, epsilon {e:g})")
        )
    return f"{kind}()"


@dataclass
class Row:
    """One layer of the summary: output shape (C, H, W) or (units,), parameters,
    multiply-adds per image (forward), and whether training updates it."""

    index: int
    spec: dict[str, Any]
    output_shape: tuple[int, ...] | None
    params: int
    error: str = ""
    macs: int = 0
    trainable: bool = True
    input_shape: tuple[int, ...] | None = None


@dataclass
class StackCheck:
    rows: list[Row] = field(default_factory=list)
    error_index: int | None = None
    error: str = ""
    input_shape: tuple[int, ...] = INPUT_SHAPE
    num_classes: int = NUM_CLASSES

    @property
    def ok(self) -> bool:
        return self.error_index is None

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def trainable_params(self) -> int:
        """Parameters training updates: frozen layers and BatchNormalization's moving
        statistics (half its count) excluded, as Keras counts them."""
        total = 0
        for r in self.rows:
            if not r.trainable:
                continue
            bn = r.spec.get("type") == "BatchNormalization"
            total += r.params // 2 if bn else r.params
        return total

    @property
    def total_macs(self) -> int:
        """Multiply-adds of one image's forward pass."""
        return sum(r.macs for r in self.rows)


def shape_words(shape: tuple[int, ...]) -> str:
    """``(3, 224, 224)`` as "224x224x3" (H x W x C, as the tutorials write it)."""
    if len(shape) == 3:
        return f"{shape[1]}x{shape[2]}x{shape[0]}"
    return "x".join(str(v) for v in shape)


def _shape_text(shape: tuple[int, ...]) -> str:
    if len(shape) == 3:
        return f"{shape[0]} maps of {shape[1]}x{shape[2]}"
    return f"a vector of {shape[0]}"


_SPATIAL = ("Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D")


def _macs(
    kind: str, shape_in: tuple[int, ...], out: tuple[int, ...], params: dict
) -> int:
    """Multiply-adds of one image's forward pass through the layer: the weight
    layers' products; one per output value for the rest (pooling, activations),
    which are cheap beside them."""
    if kind == "Conv2D":
        f, c, kh, kw = params["kernel"]
        return int(out[1] * out[2] * f * c * kh * kw)
    if kind == "Dense":
        n_in, units = params["kernel"]
        return int(n_in * units)
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        return int(math.prod(shape_in))
    return int(math.prod(out))


def _layer_output(
    spec: dict[str, Any], shape: tuple[int, ...]
) -> tuple[tuple[int, ...], int, int]:
    """Output shape, parameter count and multiply-adds of one row, asked of its
    (unbuilt) convlab.nn layer: nothing is allocated.

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
    # the shapes build() would allocate (non-trainable state such as
    # BatchNormalization's moving statistics included, as Keras counts)
    shapes = layer.param_shapes(shape)
    params = sum(math.prod(s) for s in shapes.values())
    return out, int(params), _macs(kind, shape, out, shapes)


def check_stack(
    specs: list[dict[str, Any]],
    input_shape: tuple[int, ...] = INPUT_SHAPE,
    num_classes: int = NUM_CLASSES,
) -> StackCheck:
    """Shapes and parameter counts row by row for images of ``input_shape`` (C, H, W)
    and ``num_classes`` classes; stops at the first layer that breaks. Allocates no
    weights.

    Rows are indexed from 0 (``error_index``); messages number layers from 1, as the
    editor's table does.
    """
    shape: tuple[int, ...] = tuple(int(v) for v in input_shape)
    result = StackCheck(input_shape=shape, num_classes=int(num_classes))
    if not specs:
        result.error_index = 0
        result.error = "The model has no layers. Choose a preset or add layers."
        return result
    for i, spec in enumerate(specs):
        trainable = spec.get("trainable", True) is not False
        try:
            out, params, macs = _layer_output(spec, shape)
        except (ValueError, TypeError) as exc:
            result.rows.append(Row(i, spec, None, 0, str(exc), 0, trainable, shape))
            result.error_index, result.error = (
                i,
                f"Layer {i + 1} ({describe_spec(spec)}): {exc}",
            )
            return result
        result.rows.append(Row(i, spec, out, params, "", macs, trainable, shape))
        shape = out
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


#: Multiply-adds per second a training step sustains on this machine, counting the
#: forward and backward passes as 3 forward passes (see :func:`epoch_estimate`).
#: Measured here (2 cores shared with other work, load average about 7) with
#: ``Sequential.train_step`` on random images: AlexNet-BN 227x227x3 batch 16, 0.445 s
#: per image = 7.6e9; the animal CNN 100x100x3 batch 32, 3.0e9; Keras's tutorial CNN
#: 28x28x1 batch 64, 2.0e9; tiny 28x28x1, 0.12e9. Small models spend their time in
#: per-layer overhead rather than arithmetic, so the estimate, meant to tell the big
#: models' hours from minutes, is optimistic for them. benchmarks/bench_presets.py
#: repeats the measurement beside torch; at load average 11 it read 2.8e9 for
#: AlexNet-BN (torch 5.6e9): on a busier machine the estimate is 2-3x short.
MACS_PER_SECOND = 7.6e9


def epoch_estimate(check: StackCheck, images: int) -> float:
    """Seconds one epoch of ``images`` training images would take here: three
    forward passes' multiply-adds per image (forward, then the backward's gradients
    for the input and for the weights) at :data:`MACS_PER_SECOND`. An estimate to
    tell minutes from hours, not a benchmark."""
    return 3.0 * check.total_macs * int(images) / MACS_PER_SECOND


#: an epoch longer than this is "too big to train here in minutes"
MINUTES_LIMIT = 10 * 60.0


def duration_words(seconds: float) -> str:
    """``42 s``, ``7 min``, ``3.1 h``, ``2.5 days``: an estimate's precision."""
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def estimate_text(check: StackCheck, images: int) -> str:
    """The editor's read-out: "about 3.1 h per epoch of 50,000 images here (15.5 G
    multiply-adds per image): too big to train here in minutes"."""
    seconds = epoch_estimate(check, images)
    macs = check.total_macs
    per = f"{macs / 1e9:.1f} G" if macs >= 1e9 else f"{macs / 1e6:.1f} M"
    text = (
        f"about {duration_words(seconds)} per epoch of {int(images):,} images here "
        f"({per} multiply-adds per image)"
    )
    if seconds > MINUTES_LIMIT:
        text += ": too big to train here in minutes"
    return text


def copy_specs(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return copy.deepcopy(specs)
