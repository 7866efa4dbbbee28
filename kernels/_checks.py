"""Argument checking shared by the public wrappers.

Public functions check and convert here; the jitted loops behind them trust their input.
Every message names the argument, what is allowed, and what was received, Keras-style.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")

#: Every int argument (stride, kernel size, dilation, padding, a shape entry) must be
#: below this: larger ones only ever meant a typo, and numpy's allocators turned them
#: into a MemoryError or OverflowError that did not name the argument.
MAX_INT_ARG = 2**31 - 1
#: The most elements an output or gradient may have (2**31 float32 = 8 GiB): a larger
#: one is refused, naming the argument that asked for it, before any allocation.
MAX_ELEMENTS = 2**31

_BYTES_LIKE = (bytes, bytearray, memoryview)
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def brief(value: object, limit: int = 120) -> str:
    """``repr(value)`` for an error message, cut short: an array passed where a shape
    was meant printed all its values (a 32x32x3x3 weight filled the screen)."""
    if isinstance(value, np.ndarray) and value.size > 8:
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > limit:
        return text[: limit - 3] + "..."
    return text


def _is_int(value: object) -> bool:
    # exact ``int`` first: the ABC check below costs ~1 us, and every wrapper call
    # checks several ints
    return type(value) is int or (
        isinstance(value, numbers.Integral) and not isinstance(value, bool)
    )


def pair(value: object, name: str, *, minimum: int = 1) -> tuple[int, int]:
    """``3`` or ``(3, 2)`` -> ``(3, 3)`` / ``(3, 2)``; each an int >= ``minimum``."""
    kind = (
        "positive"
        if minimum == 1
        else "non-negative"
        if minimum == 0
        else f">= {minimum}"
    )
    message = (
        f"`{name}` must be a {kind} int or a pair of {kind} ints. "
        f"Received: {name}={brief(value)}"
    )
    if isinstance(value, _BYTES_LIKE):  # a Sequence of ints, but never meant as one
        raise TypeError(message)
    if _is_int(value):
        items: tuple = (value, value)
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        items = tuple(value)
    else:
        raise (
            TypeError(message)
            if not isinstance(value, Sequence | numbers.Number)
            else ValueError(message)
        )
    if not all(_is_int(v) for v in items):
        raise TypeError(message)
    if any(v < minimum for v in items):
        raise ValueError(message)
    _check_bound(items, name, value)
    return int(items[0]), int(items[1])


def _check_bound(items: Sequence, name: str, value: object) -> None:
    if any(v > MAX_INT_ARG for v in items):
        raise ValueError(
            f"`{name}` must be at most {MAX_INT_ARG:,} (2**31 - 1). "
            f"Received: {name}={brief(value)}"
        )


def padding_spec(
    value: object, name: str = "padding"
) -> str | tuple[int, int, int, int]:
    """Normalise a padding argument.

    Returns ``"same"``, ``"valid"`` or ``(top, bottom, left, right)`` for an int, a pair
    ``(ph, pw)`` or a 4-tuple ``(top, bottom, left, right)``.
    """
    message = (
        f"`{name}` must be 'valid', 'same', a non-negative int, a pair (pad_h, pad_w) "
        f"or a 4-tuple (top, bottom, left, right) of non-negative ints. "
        f"Received: {name}={brief(value)}"
    )
    if isinstance(value, _BYTES_LIKE):  # b"same" is not 4 pads (115, 97, 109, 101)
        raise TypeError(message)
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in ("same", "valid"):
            return lowered
        raise ValueError(message)
    if _is_int(value):
        if value < 0:
            raise ValueError(message)
        _check_bound((value,), name, value)
        return (int(value),) * 4  # type: ignore[return-value]
    if isinstance(value, Sequence) and len(value) in (2, 4):
        if not all(_is_int(v) for v in value):
            raise TypeError(message)
        if any(v < 0 for v in value):
            raise ValueError(message)
        _check_bound(value, name, value)
        if len(value) == 2:
            ph, pw = (int(v) for v in value)
            return (ph, ph, pw, pw)
        top, bottom, left, right = (int(v) for v in value)
        return (top, bottom, left, right)
    raise TypeError(message) if not isinstance(value, Sequence) else ValueError(message)


def padding_mode(value: object, name: str = "padding_mode") -> str:
    if not isinstance(value, str) or value not in PADDING_MODES:
        raise ValueError(
            f"`{name}` must be one of {', '.join(repr(m) for m in PADDING_MODES)}. "
            f"Received: {name}={brief(value)}"
        )
    return value


def as_float32(array: object, name: str) -> np.ndarray:
    """C-contiguous float32 copy-if-needed of ``array``.

    Real numbers only (bool, int, float arrays): complex values would lose their
    imaginary part with only a warning, and strings, bytes, objects and dates are no
    image.
    """
    message = (
        f"`{name}` must be an array of numbers (bool, int or float). "
        f"Received: {name} of type {type(array).__name__}"
    )
    if isinstance(array, (str, *_BYTES_LIKE)) or array is None:
        raise TypeError(message)
    try:
        arr = np.asarray(array)
    except (TypeError, ValueError) as exc:  # ragged lists
        raise TypeError(message) from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{message} with dtype {arr.dtype}")
    try:
        result = np.ascontiguousarray(arr, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise TypeError(message) from exc
    return result


def check_elements(shape: Sequence[int], name: str, value: object) -> None:
    """Refuse an output of more than :data:`MAX_ELEMENTS`, naming the argument that
    asked for it (``shape`` is the output's)."""
    count = 1
    for v in shape:
        count *= int(v)
    if count > MAX_ELEMENTS:
        dims = " x ".join(str(int(v)) for v in shape)
        raise ValueError(
            f"`{name}` would make an output of {dims} = {count:,} values, more than "
            f"the {MAX_ELEMENTS:,} a kernel allocates. Received: {name}={brief(value)}"
        )


def as_nchw(
    x: object, name: str = "x", *, allow_lower_rank: bool = True
) -> tuple[np.ndarray, int]:
    """Return ``(x4, ndim)``: ``x`` as float32 (N, C, H, W) plus its original rank.

    With ``allow_lower_rank`` an image (H, W) is read as (1, 1, H, W) and (C, H, W) as
    (1, C, H, W); callers reshape results back with :func:`restore_rank`.
    """
    arr = as_float32(x, name)
    ndim = arr.ndim
    if ndim == 4:
        return arr, 4
    if allow_lower_rank and ndim == 3:
        return arr[None], 3
    if allow_lower_rank and ndim == 2:
        return arr[None, None], 2
    allowed = (
        "(N, C, H, W), (C, H, W) or (H, W)" if allow_lower_rank else "(N, C, H, W)"
    )
    raise ValueError(
        f"`{name}` must have shape {allowed}. Received: {name}.shape={arr.shape}"
    )


def restore_rank(out: np.ndarray, ndim: int) -> np.ndarray:
    """Undo :func:`as_nchw`'s promotion: drop the leading axes that were added."""
    if ndim == 4:
        return out
    if ndim == 3:
        return out[0]
    if out.shape[1] == 1:
        return out[0, 0]
    return out[0]


def shape4(shape: object, name: str) -> tuple[int, int, int, int]:
    if (
        not isinstance(shape, Sequence)
        or isinstance(shape, (str, *_BYTES_LIKE))
        or len(shape) != 4
        or not all(_is_int(v) and 0 <= v <= MAX_INT_ARG for v in shape)
    ):
        raise ValueError(
            f"`{name}` must be a 4-tuple of ints from 0 to {MAX_INT_ARG:,} "
            f"(N, C, H, W). Received: {name}={brief(shape)}"
        )
    check_elements(shape, name, shape)
    return tuple(int(v) for v in shape)  # type: ignore[return-value]


def fill_value(value: object, name: str = "value") -> np.float32:
    """A real number (not NaN) for constant padding, as float32."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"`{name}` must be a real number. Received: {name}={brief(value)}"
        )
    if value != value:  # NaN
        raise ValueError(f"`{name}` must not be NaN. Received: {name}={brief(value)}")
    if abs(value) > _FLOAT32_MAX:  # np.float32() would warn about the overflow
        return np.float32(np.inf if value > 0 else -np.inf)
    return np.float32(value)


def out_buffer(
    out: object,
    shape: tuple[int, ...],
    reads: dict[str, np.ndarray],
    *,
    in_place: bool = False,
    name: str = "out",
) -> np.ndarray:
    """``out`` checked as a result buffer: a writeable C-contiguous float32 ndarray of
    ``shape`` that overlaps none of ``reads`` (the arrays the kernel reads while it
    writes); with ``in_place`` (an element-wise kernel) it may *be* one of them."""
    if not isinstance(out, np.ndarray):
        raise TypeError(
            f"`{name}` must be a float32 ndarray of shape {shape} or None. "
            f"Received: {name} of type {type(out).__name__}"
        )
    if out.shape != tuple(shape) or out.dtype != np.float32:
        raise ValueError(
            f"`{name}` must have the result's shape {tuple(shape)} and dtype float32. "
            f"Received: {name}.shape={out.shape}, {name}.dtype={out.dtype}"
        )
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError(
            f"`{name}` must be a writeable C-contiguous array. Received: {name} with "
            f"C_CONTIGUOUS={out.flags.c_contiguous}, WRITEABLE={out.flags.writeable}"
        )
    for other, array in reads.items():
        same = in_place and (
            out.__array_interface__["data"][0] == array.__array_interface__["data"][0]
            and out.strides == array.strides
            and out.shape == array.shape
        )
        if not same and np.may_share_memory(out, array):
            raise ValueError(
                f"`{name}` must not overlap `{other}`, which is read while `{name}` is "
                f"written. Received: {name} sharing memory with {other}"
            )
    return out
