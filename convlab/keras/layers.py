"""``keras.layers``: every convlab.nn layer, plus ``Input``, with Keras's defaults.

What the face changes, and nothing more:

* kernels start **Glorot uniform** whatever the activation, biases at zero (Keras's
  defaults; convlab.nn's own ``"auto"`` picks He for ReLU layers);
* ``trainable=False`` is accepted in the constructor, as Keras does;
* layouts are Keras's: ``input_shape=(H, W, C)`` is channels-last whatever ``C``
  is (``data_format="channels_first"`` for ``(C, H, W)``), and a model whose first
  layer (or ``Input``) was declared so reads every ``(N, H, W, C)`` batch as such,
  prints NHWC shapes in ``summary()``, answers ``predict`` in NHWC, and flattens
  rows, columns, channels (Keras's order, so Keras's Dense weights fit);
* ``input_shape`` / ``output_shape`` are Keras's, with the batch axis:
  ``(None, 100, 100, 32)`` (``sample_input_shape`` / ``sample_output_shape`` are
  convlab's per-sample NCHW ones);
* ``Convolution2D`` (Keras's old name for Conv2D) and the Chainer habits a reader
  brings (``Convolution2D(3, 96, 11, stride=4, pad=2)``, ``BatchNormalization(96)``)
  get a message that says what to write instead.
"""

from __future__ import annotations

from typing import Any

from convlab import nn as _nn
from convlab.nn.functional import Input as _Input
from convlab.nn.functional import InputLayer

__all__ = [
    "Input",
    "InputLayer",
    "Layer",
    "Conv2D",
    "Convolution2D",
    "MaxPooling2D",
    "MaxPool2D",
    "AveragePooling2D",
    "AvgPool2D",
    "GlobalAveragePooling2D",
    "GlobalAvgPool2D",
    "GlobalMaxPooling2D",
    "GlobalMaxPool2D",
    "Flatten",
    "Dense",
    "Activation",
    "ReLU",
    "Dropout",
    "BatchNormalization",
]

Layer = _nn.Layer
_CHAINER_WORDS = ("stride", "pad", "ksize", "in_channels", "out_channels", "nobias")


def _keras_shape(input_shape: object, data_format: object) -> tuple[int, ...] | None:
    """Keras's ``input_shape`` -> convlab's per-sample ``(C, H, W)`` / ``(D,)``:
    ``(H, W, C)`` is channels-last whatever ``C`` is (``data_format=
    "channels_first"``: already ``(C, H, W)``)."""
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(
            "`data_format` must be 'channels_last', 'channels_first' or None. "
            f"Received: data_format={data_format!r}"
        )
    if input_shape is None:
        return None
    shape = _nn.layers.sample_shape(input_shape)  # checks it
    dims = tuple(int(v) for v in input_shape)  # type: ignore[attr-defined]
    if len(dims) == 3 and data_format != "channels_first":
        return (dims[2], dims[0], dims[1])
    return shape


def _apply_layout(layer: Any, input_shape: object, data_format: object) -> None:
    shape = _keras_shape(input_shape, data_format)
    if shape is not None:
        layer.declared_input_shape = shape
    layer.channels_last = data_format != "channels_first"
    layer.keras_shapes = True


def Input(  # noqa: N802 (Keras's name)
    shape: object = None,
    name: str | None = None,
    batch_shape: object = None,
    data_format: str | None = None,
) -> Any:
    """Keras's ``Input``: ``shape=(H, W, C)`` is channels-last whatever ``C`` is; the
    model built on it reads (N, H, W, C) batches and prints NHWC shapes."""
    tensor = _Input(shape=shape, name=name, batch_shape=batch_shape)
    if shape is None and batch_shape is not None:
        shape = tuple(batch_shape)[1:]  # type: ignore[call-overload]
    tensor.sample = _keras_shape(shape, data_format)
    tensor.channels_last = data_format != "channels_first"
    tensor.keras_shapes = True
    return tensor


def _trainable(layer: Any, trainable: object) -> None:
    if not isinstance(trainable, bool):
        raise ValueError(
            f"`trainable` must be True or False. Received: trainable={trainable!r}"
        )
    layer.trainable = trainable


def _chainer_conv_hint(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Raise when a Conv2D call reads like Chainer's ``L.Convolution2D(in_channels,
    out_channels, ksize, stride, pad)``."""
    chainer_words = [w for w in _CHAINER_WORDS if w in kwargs]
    ints = [a for a in args[:3] if isinstance(a, int) or a is None]
    looks_like = (
        chainer_words
        or (len(args) >= 2 and args[0] is None)
        # (in, out, ksize): a "kernel" of 16 or more is an output channel count
        or (
            len(ints) == 3
            and len(args) >= 3
            and isinstance(args[1], int)
            and args[1] >= 16
        )
    )
    if not looks_like:
        return
    values = list(args) + [None] * 5
    out = kwargs.get("out_channels", values[1])
    ksize = kwargs.get("ksize", values[2])
    stride = kwargs.get("stride", values[3] if len(args) > 3 else 1)
    pad = kwargs.get("pad", values[4] if len(args) > 4 else 0)
    if len(args) < 2 and "out_channels" not in kwargs:
        out, ksize = args[0] if args else "filters", kwargs.get("ksize", "kernel_size")
    suggestion = f"Conv2D({out}, {ksize}"
    if stride not in (None, 1):
        suggestion += f", strides={stride}"
    if pad not in (None, 0):
        suggestion += f", padding={pad}"
    if "nobias" in kwargs:
        suggestion += f", use_bias={not kwargs['nobias']}"
    suggestion += ")"
    raise TypeError(
        "This looks like Chainer's L.Convolution2D(in_channels, out_channels, ksize, "
        "stride, pad). Keras's Conv2D takes (filters, kernel_size, strides, padding) "
        f"and infers the input channels: write {suggestion}. "
        f"Received: args={args!r}"
        + (f", keywords {', '.join(chainer_words)}" if chainer_words else "")
    )


#: Keras 1's Convolution2D keywords -> what Keras 2 (and convlab) call them
_KERAS1_CONV = {
    "border_mode": "padding",
    "subsample": "strides",
    "nb_filter": "filters",
    "init": "kernel_initializer",
    "dim_ordering": "data_format",
    "bias": "use_bias",
}


def _keras1_conv_hint(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Raise for Keras 1's ``Convolution2D(32, 3, 3, border_mode="same")``: the
    message gives the Keras 2 call (``Conv2D(32, (3, 3), padding="same")``)."""
    old = [w for w in _KERAS1_CONV if w in kwargs]
    if not old and not ("nb_row" in kwargs or "nb_col" in kwargs):
        return
    filters = kwargs.get("nb_filter", args[0] if args else "filters")
    kh = kwargs.get("nb_row", args[1] if len(args) > 1 else "kh")
    kw = kwargs.get("nb_col", args[2] if len(args) > 2 else "kw")
    parts = [f"{filters}", f"({kh}, {kw})"]
    parts += [
        f"{_KERAS1_CONV[w]}={kwargs[w]!r}" for w in old if w not in ("nb_filter",)
    ]
    given = sorted(w for w in kwargs if w in _KERAS1_CONV or w in ("nb_row", "nb_col"))
    raise TypeError(
        "This is Keras 1's Convolution2D(nb_filter, nb_row, nb_col, ...). Keras 2's "
        f"spelling, which convlab takes: Conv2D({', '.join(parts)}). Received: "
        f"args={args!r}, keywords {', '.join(given)}"
    )


class Conv2D(_nn.Conv2D):
    __doc__ = _nn.Conv2D.__doc__

    def __init__(
        self,
        *args: Any,
        trainable: bool = True,
        input_shape: object = None,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        _keras1_conv_hint(args, kwargs)
        _chainer_conv_hint(args, kwargs)
        kwargs.setdefault("kernel_initializer", "glorot_uniform")
        super().__init__(*args, **kwargs)
        _apply_layout(self, input_shape, data_format)
        _trainable(self, trainable)


Convolution2D = Conv2D


class Dense(_nn.Dense):
    __doc__ = _nn.Dense.__doc__

    def __init__(
        self,
        *args: Any,
        trainable: bool = True,
        input_shape: object = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("kernel_initializer", "glorot_uniform")
        super().__init__(*args, **kwargs)
        _apply_layout(self, input_shape, None)
        _trainable(self, trainable)


def _with_trainable(cls: type[_nn.Layer]) -> type[_nn.Layer]:
    def __init__(
        self: Any,
        *args: Any,
        trainable: bool = True,
        input_shape: object = None,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        cls.__init__(self, *args, **kwargs)
        _apply_layout(self, input_shape, data_format)
        _trainable(self, trainable)

    return type(cls.__name__, (cls,), {"__init__": __init__, "__doc__": cls.__doc__})


MaxPooling2D = _with_trainable(_nn.MaxPooling2D)
MaxPool2D = MaxPooling2D
AveragePooling2D = _with_trainable(_nn.AveragePooling2D)
AvgPool2D = AveragePooling2D
GlobalAveragePooling2D = _with_trainable(_nn.GlobalAveragePooling2D)
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPooling2D = _with_trainable(_nn.GlobalMaxPooling2D)
GlobalMaxPool2D = GlobalMaxPooling2D
_Flatten = _with_trainable(_nn.Flatten)


class Flatten(_Flatten):  # type: ignore[misc, valid-type]
    """Keras's ``Flatten``: in a channels-last model it flattens rows, then columns,
    then channels (Keras's order, so a Dense after it takes Keras's weights); with
    ``data_format="channels_first"`` it permutes to that same order first, as
    Keras does."""

    def __init__(self, *args: Any, data_format: str | None = None, **kw: Any) -> None:
        super().__init__(*args, data_format=data_format, **kw)
        if data_format == "channels_first":
            self.order = "hwc"


Activation = _with_trainable(_nn.Activation)
ReLU = _with_trainable(_nn.ReLU)
Dropout = _with_trainable(_nn.Dropout)
BatchNormalization = _with_trainable(_nn.BatchNormalization)
