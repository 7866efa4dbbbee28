"""Padding and its adjoint.

``pad2d`` builds, per axis, a map from each padded position to the input position it
copies (``-1`` for a constant cell), then gathers. ``pad2d_backward`` scatter-adds
through the same maps, so the gradient of reflect, replicate and circular padding folds
back onto the input cells that were copied.
"""

from __future__ import annotations

import numpy as np

from . import _checks
from ._jit import njit

__all__ = ["check_padding_geometry", "pad2d", "pad2d_backward", "pad_index_map"]


def pad_index_map(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """For one axis: the input index each padded position reads, ``-1`` for a constant.

    >>> pad_index_map(3, 2, 2, "reflect").tolist()
    [2, 1, 0, 1, 2, 1, 0]
    >>> pad_index_map(3, 2, 2, "circular").tolist()
    [1, 2, 0, 1, 2, 0, 1]
    >>> pad_index_map(3, 1, 2, "replicate").tolist()
    [0, 0, 1, 2, 2, 2]
    >>> pad_index_map(3, 1, 1, "zeros").tolist()
    [-1, 0, 1, 2, -1]
    """
    i = np.arange(-before, size + after, dtype=np.int64)
    if mode == "zeros":  # a negative before/after crops (conv2d's grad input uses that)
        return np.where((i >= 0) & (i < size), i, -1)
    if mode == "replicate":
        return np.clip(i, 0, size - 1)
    if mode == "circular":
        return np.mod(i, size)
    # reflect (no edge repeat), valid while before, after <= size - 1
    period = 2 * (size - 1)
    if period == 0:
        return np.zeros_like(i)
    j = np.mod(i, period)
    return np.where(j < size, j, period - j)


def check_padding_geometry(
    in_h: int, in_w: int, pads: tuple[int, int, int, int], mode: str, name: str
) -> None:
    """Raise ``ValueError`` unless ``mode`` can pad an ``in_h x in_w`` input so.

    ``pads`` is ``(top, bottom, left, right)``; ``name`` is the argument the message
    names. Reflect padding must be smaller than the input along each axis, circular
    padding can wrap at most once; zeros and replicate take any amount. The one
    statement of that rule: the kernels and the explorer's plan both call it.

    >>> check_padding_geometry(3, 3, (2, 2, 2, 2), "reflect", "padding")
    >>> check_padding_geometry(3, 3, (3, 0, 0, 0), "reflect", "padding")
    Traceback (most recent call last):
    ...
    ValueError: Reflect padding must be smaller than the input along each axis: ...
    """
    top, bottom, left, right = pads
    if mode == "zeros" or not any(pads):
        return
    if in_h == 0 or in_w == 0:
        raise ValueError(
            f"{mode!r} padding needs a non-empty input. Received: input {in_h}x{in_w}"
        )
    where = f"{name}=(top {top}, bottom {bottom}, left {left}, right {right})"
    if mode == "reflect" and (max(top, bottom) >= in_h or max(left, right) >= in_w):
        raise ValueError(
            f"Reflect padding must be smaller than the input along each axis: "
            f"{where} on input {in_h}x{in_w} allows at most {in_h - 1} rows and "
            f"{in_w - 1} columns. Use 'replicate' or 'circular', or less padding."
        )
    if mode == "circular" and (max(top, bottom) > in_h or max(left, right) > in_w):
        raise ValueError(
            f"Circular padding can wrap at most once: {where} on input {in_h}x{in_w} "
            f"allows at most {in_h} rows and {in_w} columns."
        )


@njit
def _pad_gather(x, rows, cols, value, out):
    n_batch, channels = x.shape[0], x.shape[1]
    for n in range(n_batch):
        for c in range(channels):
            for oy in range(rows.shape[0]):
                sy = rows[oy]
                for ox in range(cols.shape[0]):
                    sx = cols[ox]
                    if sy < 0 or sx < 0:
                        out[n, c, oy, ox] = value
                    else:
                        out[n, c, oy, ox] = x[n, c, sy, sx]


@njit
def _pad_scatter(grad_out, rows, cols, grad_x):
    n_batch, channels = grad_out.shape[0], grad_out.shape[1]
    for n in range(n_batch):
        for c in range(channels):
            for oy in range(rows.shape[0]):
                sy = rows[oy]
                if sy < 0:
                    continue
                for ox in range(cols.shape[0]):
                    sx = cols[ox]
                    if sx >= 0:
                        grad_x[n, c, sy, sx] += grad_out[n, c, oy, ox]


def _maps(in_h, in_w, pads, mode):
    top, bottom, left, right = pads
    return pad_index_map(in_h, top, bottom, mode), pad_index_map(
        in_w, left, right, mode
    )


def pad2d(
    x: object, padding: object, mode: str = "zeros", value: float = 0.0
) -> np.ndarray:
    """Pad the last two axes of ``x``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W), (C, H, W) or (H, W)
        Converted to float32; the result has the same rank.
    padding : int, (pad_h, pad_w) or (top, bottom, left, right)
    mode : {"zeros", "reflect", "replicate", "circular"}
        PyTorch's names (NumPy: constant, reflect, edge, wrap). Reflect padding must be
        smaller than the input; circular padding at most the input size.
    value : float
        The fill value for ``"zeros"`` mode: a real number, not NaN (beyond the float32
        range it becomes +-inf).

    Returns
    -------
    ndarray, shape (N, C, H + top + bottom, W + left + right), float32

    >>> pad2d(np.arange(3.0).reshape(1, 3), (0, 0, 2, 1), "reflect")
    array([[2., 1., 0., 1., 2., 1.]], dtype=float32)
    """
    x4, ndim = _checks.as_nchw(x, "x")
    spec = _checks.padding_spec(padding)
    if isinstance(spec, str):
        raise ValueError(
            "`padding` for pad2d must be an int, a pair or a 4-tuple; 'same' and "
            "'valid' depend on a kernel (use kernels.resolve_padding first). "
            f"Received: padding={padding!r}"
        )
    mode = _checks.padding_mode(mode, "mode")
    fill = _checks.fill_value(value, "value")
    n_batch, channels, in_h, in_w = x4.shape
    check_padding_geometry(in_h, in_w, spec, mode, "padding")
    top, bottom, left, right = spec
    out_shape = (n_batch, channels, in_h + top + bottom, in_w + left + right)
    # before the index maps, which alone would be 8 bytes per padded row and column
    _checks.check_elements(out_shape[2:], "padding", padding)
    _checks.check_elements(out_shape, "padding", padding)
    rows, cols = _maps(in_h, in_w, spec, mode)
    out = np.empty(out_shape, np.float32)
    _pad_gather(x4, rows, cols, fill, out)
    return _checks.restore_rank(out, ndim)


def pad2d_backward(
    grad_out: object, padding: object, mode: str = "zeros"
) -> np.ndarray:
    """Adjoint of :func:`pad2d`: sum each padded cell's gradient back onto its source.

    Parameters
    ----------
    grad_out : ndarray, shape (N, C, H + top + bottom, W + left + right)
    padding, mode : as given to :func:`pad2d`

    Returns
    -------
    grad_x : ndarray, shape (N, C, H, W), float32

    >>> pad2d_backward(np.ones((1, 1, 1, 5)), (0, 0, 2, 0), "replicate")
    array([[[[3., 1., 1.]]]], dtype=float32)
    """
    g4, ndim = _checks.as_nchw(grad_out, "grad_out")
    spec = _checks.padding_spec(padding)
    if isinstance(spec, str):
        raise ValueError(
            "`padding` must be numeric for pad2d_backward. "
            f"Received: padding={padding!r}"
        )
    mode = _checks.padding_mode(mode, "mode")
    top, bottom, left, right = spec
    in_h, in_w = g4.shape[2] - top - bottom, g4.shape[3] - left - right
    if in_h < 0 or in_w < 0:
        raise ValueError(
            f"`grad_out` of shape {g4.shape} is smaller than the padding {spec} allows."
        )
    check_padding_geometry(in_h, in_w, spec, mode, "padding")
    rows, cols = _maps(in_h, in_w, spec, mode)
    grad_x = np.zeros(g4.shape[:2] + (in_h, in_w), np.float32)
    _pad_scatter(g4, rows, cols, grad_x)
    return _checks.restore_rank(grad_x, ndim)
