"""Output-size and padding arithmetic: pure integers, no arrays.

The GUI calls these to preview and explain a geometry before anything is computed, and
the kernels call them to allocate. One axis at a time where that is clearer; ``*_shape``
functions do both axes and raise on impossible geometry.

Conventions (per axis, input ``n``, kernel ``k``, stride ``s``, dilation ``d``, padding
``p_before + p_after``, effective kernel ``dk = d * (k - 1) + 1``):

* PyTorch / Chainer default: ``floor((n + p_before + p_after - dk) / s) + 1``.
* PyTorch ``ceil_mode=True``: ``ceil(...) + 1``, minus one if the last window would
  start inside the right padding.
* Chainer ``cover_all=True``: ``(n + 2p - dk + s - 1) // s + 1`` (every input pixel
  covered).
* Keras ``"valid"``: no padding, floor.
* Keras/TensorFlow ``"same"``: ``ceil(n / s)`` for any stride and kernel; the total
  padding ``max((out - 1) * s + dk - n, 0)`` is split with the odd extra at the
  bottom/right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

from ._checks import _check_bound, _is_int, padding_spec, pair

__all__ = [
    "conv_output_size",
    "same_padding",
    "resolve_padding",
    "conv2d_output_shape",
    "pool2d_output_shape",
    "output_size_conventions",
    "size_formula",
    "Convention",
]


def _effective(kernel: int, dilation: int) -> int:
    return dilation * (kernel - 1) + 1


def _int_arg(value: object, name: str, minimum: int) -> int:
    """One int argument of the one-axis helpers, ``minimum`` to ``MAX_INT_ARG``."""
    kind = "positive" if minimum == 1 else "non-negative"
    if not _is_int(value):
        raise TypeError(f"`{name}` must be a {kind} int. Received: {name}={value!r}")
    number = int(cast(int, value))
    if number < minimum:
        raise ValueError(f"`{name}` must be a {kind} int. Received: {name}={value!r}")
    _check_bound((number,), name, value)
    return number


def _axis_args(
    size: object, kernel: object, stride: object, dilation: object
) -> tuple[int, int, int, int]:
    return (
        _int_arg(size, "size", 0),
        _int_arg(kernel, "kernel", 1),
        _int_arg(stride, "stride", 1),
        _int_arg(dilation, "dilation", 1),
    )


def _axis_padding(padding: object) -> tuple[int, int]:
    """``p`` or ``(before, after)``, non-negative ints."""
    if _is_int(padding):
        value = _int_arg(padding, "padding", 0)
        return value, value
    message = (
        "`padding` must be a non-negative int or a pair (before, after) of "
        f"non-negative ints. Received: padding={padding!r}"
    )
    if not isinstance(padding, tuple | list) or len(padding) != 2:
        raise TypeError(message)
    if not all(_is_int(v) for v in padding):
        raise TypeError(message)
    if any(v < 0 for v in padding):
        raise ValueError(message)
    _check_bound(padding, "padding", padding)
    return int(padding[0]), int(padding[1])


def _check_flag(value: object, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"`{name}` must be True or False. Received: {name}={value!r}")
    return bool(value)


def conv_output_size(
    size: int,
    kernel: int,
    stride: int = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Output length along one axis (PyTorch semantics); 0 for impossible geometry.

    Raises ``TypeError``/``ValueError`` naming the argument for anything but ints
    (``size >= 0``, ``kernel``, ``stride``, ``dilation >= 1``, ``padding >= 0`` or a
    pair of them), each at most ``2**31 - 1``.

    >>> conv_output_size(5, 3), conv_output_size(5, 3, stride=2, padding=1)
    (3, 3)
    >>> [conv_output_size(n, 2, stride=2, ceil_mode=True) for n in (6, 7)]
    [3, 4]
    >>> [conv_output_size(1, 2, stride=s, ceil_mode=True) for s in (2, 1)]
    [1, 0]
    """
    size, kernel, stride, dilation = _axis_args(size, kernel, stride, dilation)
    pads = _axis_padding(padding)
    return _conv_output_size(
        size, kernel, stride, pads, dilation, _check_flag(ceil_mode, "ceil_mode")
    )


def _conv_output_size(
    size: int,
    kernel: int,
    stride: int,
    padding: tuple[int, int],
    dilation: int,
    ceil_mode: bool,
) -> int:
    """:func:`conv_output_size` for checked arguments."""
    before, after = padding
    span = size + before + after - _effective(kernel, dilation)
    if not ceil_mode:
        return span // stride + 1 if span >= 0 else 0
    # PyTorch keeps a window that overhangs the padded input by less than a stride, even
    # when the input is smaller than the window: 1x1 input, 2x2 pool, ceil_mode -> 1x1
    out = -(-span // stride) + 1
    if (
        out - 1
    ) * stride >= size + before:  # last window would start in the right padding
        out -= 1
    return max(out, 0)


def same_padding(
    size: int, kernel: int, stride: int = 1, dilation: int = 1
) -> tuple[int, int]:
    """Keras/TensorFlow ``"same"`` padding along one axis: ``(before, after)``.

    The output is ``ceil(size / stride)``; an odd total puts the extra row/column after.

    >>> same_padding(5, 3), same_padding(6, 4)
    ((1, 1), (1, 2))
    >>> same_padding(7, 3, stride=2), same_padding(6, 1, 2)
    ((1, 1), (0, 0))
    """
    return _same_padding(*_axis_args(size, kernel, stride, dilation))


def _same_padding(
    size: int, kernel: int, stride: int, dilation: int
) -> tuple[int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + _effective(kernel, dilation) - size, 0)
    return total // 2, total - total // 2


def resolve_padding(
    padding: object,
    input_hw: tuple[int, int],
    kernel_hw: tuple[int, int],
    stride: object = 1,
    dilation: object = 1,
) -> tuple[int, int, int, int]:
    """Any accepted padding argument -> ``(top, bottom, left, right)``.

    >>> resolve_padding("same", (6, 6), (4, 4))
    (1, 2, 1, 2)
    >>> resolve_padding((1, 2), (6, 6), (3, 3))
    (1, 1, 2, 2)
    >>> resolve_padding("valid", (6, 6), (3, 3))
    (0, 0, 0, 0)
    """
    spec = padding_spec(padding)
    in_h, in_w = pair(input_hw, "input_hw", minimum=0)
    kh, kw = pair(kernel_hw, "kernel_hw")
    sh, sw = pair(stride, "stride")
    dh, dw = pair(dilation, "dilation")
    if spec == "valid":
        return (0, 0, 0, 0)
    if spec == "same":
        top, bottom = _same_padding(in_h, kh, sh, dh)
        left, right = _same_padding(in_w, kw, sw, dw)
        return (top, bottom, left, right)
    return spec  # type: ignore[return-value]


def _describe_padding(pads: tuple[int, int, int, int]) -> str:
    top, bottom, left, right = pads
    if top == bottom == left == right:
        return str(top)
    if top == bottom and left == right:
        return f"({top}, {left})"
    return f"(top {top}, bottom {bottom}, left {left}, right {right})"


def conv2d_output_shape(
    input_hw: tuple[int, int],
    kernel_hw: tuple[int, int],
    stride: object = 1,
    padding: object = 0,
    dilation: object = 1,
    *,
    ceil_mode: bool = False,
    what: str = "kernel",
) -> tuple[int, int]:
    """Output (H, W) of a convolution or pooling window; raises ``ValueError`` if empty.

    >>> conv2d_output_shape((28, 28), (5, 5))
    (24, 24)
    >>> conv2d_output_shape((28, 28), (3, 3), 2, "same")
    (14, 14)
    >>> conv2d_output_shape((5, 5), (7, 7))
    Traceback (most recent call last):
    ...
    ValueError: Output would be empty: input 5x5, kernel 7x7, stride 1, padding 0.
    """
    in_hw = pair(input_hw, "input_hw", minimum=0)
    sh, sw = pair(stride, "stride")
    dh, dw = pair(dilation, "dilation")
    kh, kw = pair(kernel_hw, "kernel_hw")
    ceil = _check_flag(ceil_mode, "ceil_mode")
    pads = resolve_padding(padding, in_hw, (kh, kw), (sh, sw), (dh, dw))
    return _output_hw(in_hw, (kh, kw), (sh, sw), pads, (dh, dw), ceil, what)


def _output_hw(
    input_hw: tuple[int, int],
    kernel_hw: tuple[int, int],
    stride: tuple[int, int],
    pads: tuple[int, int, int, int],
    dilation: tuple[int, int] = (1, 1),
    ceil_mode: bool = False,
    what: str = "kernel",
) -> tuple[int, int]:
    """:func:`conv2d_output_shape` for arguments already checked and resolved."""
    (kh, kw), (sh, sw), (dh, dw) = kernel_hw, stride, dilation
    oh = _conv_output_size(input_hw[0], kh, sh, pads[:2], dh, ceil_mode)
    ow = _conv_output_size(input_hw[1], kw, sw, pads[2:], dw, ceil_mode)
    if oh <= 0 or ow <= 0:
        stride_text = str(sh) if sh == sw else f"({sh}, {sw})"
        dil_text = "" if dh == dw == 1 else f", dilation {dh if dh == dw else (dh, dw)}"
        raise ValueError(
            f"Output would be empty: input {input_hw[0]}x{input_hw[1]}, "
            f"{what} {kh}x{kw}, "
            f"stride {stride_text}, padding {_describe_padding(pads)}{dil_text}."
        )
    return oh, ow


def pool2d_output_shape(
    input_hw: tuple[int, int],
    pool_size: object,
    stride: object = None,
    padding: object = 0,
    ceil_mode: bool = False,
) -> tuple[int, int]:
    """Output (H, W) of a pooling layer; ``stride=None`` means ``stride = pool_size``.

    >>> pool2d_output_shape((28, 28), 2), pool2d_output_shape((7, 7), 2, ceil_mode=True)
    ((14, 14), (4, 4))
    """
    size = pair(pool_size, "pool_size")
    pair(input_hw, "input_hw", minimum=0)
    return conv2d_output_shape(
        input_hw,
        size,
        size if stride is None else stride,
        padding,
        ceil_mode=ceil_mode,
        what="pool window",
    )


@dataclass(frozen=True)
class Convention:
    """One framework's answer for an output length along one axis."""

    name: str
    size: int
    formula: str


def size_formula(
    size: int,
    kernel: int,
    stride: int = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> str:
    """The PyTorch formula with the numbers filled in, as the GUI shows it.

    >>> size_formula(28, 5, 1, 2)
    'floor((28 + 2 + 2 - 5) / 1) + 1 = 28'
    >>> size_formula(7, 3, 2, 0, dilation=2)
    'floor((7 + 0 + 0 - 2*(3-1)-1) / 2) + 1 = 2'
    """
    size, kernel, stride, dilation = _axis_args(size, kernel, stride, dilation)
    before, after = _axis_padding(padding)
    ceil_mode = _check_flag(ceil_mode, "ceil_mode")
    kern = str(kernel) if dilation == 1 else f"{dilation}*({kernel}-1)-1"
    rounding = "ceil" if ceil_mode else "floor"
    out = _conv_output_size(size, kernel, stride, (before, after), dilation, ceil_mode)
    return f"{rounding}(({size} + {before} + {after} - {kern}) / {stride}) + 1 = {out}"


def output_size_conventions(
    size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> list[Convention]:
    """Every convention's output length for one axis, so the GUI can show differences.

    >>> [(c.name, c.size) for c in output_size_conventions(7, 2, 2)]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('PyTorch (floor)', 3), ('PyTorch ceil_mode', 4), ('Chainer cover_all', 4),
     ('Keras "valid"', 3), ('Keras "same"', 4)]
    """
    size, kernel, stride, dilation = _axis_args(size, kernel, stride, dilation)
    padding = _int_arg(padding, "padding", 0)
    dk = _effective(kernel, dilation)
    floor = conv_output_size(size, kernel, stride, padding, dilation)
    ceil = conv_output_size(size, kernel, stride, padding, dilation, ceil_mode=True)
    cover = max((size + 2 * padding - dk + stride - 1) // stride + 1, 0)
    valid = conv_output_size(size, kernel, stride, 0, dilation)
    same = -(-size // stride)
    return [
        Convention(
            "PyTorch (floor)",
            floor,
            size_formula(size, kernel, stride, padding, dilation),
        ),
        Convention(
            "PyTorch ceil_mode",
            ceil,
            size_formula(size, kernel, stride, padding, dilation, ceil_mode=True)
            + " (minus 1 if the last window starts in the padding)",
        ),
        Convention(
            "Chainer cover_all",
            cover,
            f"({size} + 2*{padding} - {dk} + {stride} - 1) // {stride} + 1 = {cover}",
        ),
        Convention(
            'Keras "valid"', valid, size_formula(size, kernel, stride, 0, dilation)
        ),
        Convention('Keras "same"', same, f"ceil({size} / {stride}) = {same}"),
    ]
