"""Pure-NumPy twins of the kernels the explorer calls, for a first launch.

On an empty numba cache the first ``kernels.conv2d`` compiles for tens of seconds; these
functions compute the same maps with NumPy alone (no compile), so the explorer can show
right feature maps while the kernels compile on a worker thread. Geometry and argument
checks are the kernels' own (pure Python: ``kernels.conv._Geometry``,
``kernels.pooling._geometry``, ``kernels.pad_index_map``), so sizes, pads and error
messages are identical; values agree within float32 rounding (a different summation
order), indices of max pooling exactly (``tests/test_cold_start.py``).

Slower than the kernels (a 512x512 image, 11x11 kernel: one NumPy pass per tap), and
used only until :func:`kernels._warmup.is_warm` says the explorer's kernels are ready.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from kernels import pad_index_map
from kernels.conv import _bias, _Geometry, _weight4
from kernels.pooling import _geometry as _pool_geometry

__all__ = ["avg_pool2d", "conv2d", "max_pool2d", "relu"]


def _as_nchw(x: object) -> np.ndarray:
    x4 = np.ascontiguousarray(x, dtype=np.float32)
    if x4.ndim != 4:
        raise ValueError(
            f"`x` must have shape (N, C, H, W). Received: x.shape={x4.shape}"
        )
    return x4


def _gather(x4: np.ndarray, rows: np.ndarray, cols: np.ndarray, fill: float):
    """x4 read at the index maps (``-1``: ``fill``), as kernels.pad2d does."""
    out = x4[:, :, np.clip(rows, 0, None)][:, :, :, np.clip(cols, 0, None)]
    if (rows < 0).any() or (cols < 0).any():
        out = out.copy()
        out[:, :, rows < 0, :] = fill
        out[:, :, :, cols < 0] = fill
    return out


def conv2d(
    x: object,
    weight: object,
    bias: object = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, int] = 1,
    padding_mode: str = "zeros",
) -> np.ndarray:
    """:func:`kernels.conv2d` for ``x (N, C, H, W)``: ``(N, F, OH, OW)`` float32.

    One pass per kernel tap: ``out += w[:, :, ky, kx] . x_padded[window shifted]``,
    so memory stays at a few output-sized arrays whatever the kernel size.
    """
    x4 = _as_nchw(x)
    w = _weight4(weight)
    geo = _Geometry(x4.shape, w.shape, stride, padding, dilation, padding_mode)
    b = _bias(bias, w.shape[0])
    top, bottom, left, right = geo.pads
    in_h, in_w = x4.shape[2:]
    mode = geo.mode
    rows = pad_index_map(in_h, top, bottom, mode)
    cols = pad_index_map(in_w, left, right, mode)
    xp = _gather(x4, rows, cols, 0.0)
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    oh, ow = geo.out_hw
    n_filters, _, kh, kw = w.shape
    out = np.zeros((x4.shape[0], n_filters, oh, ow), np.float32)
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = ky * dh, kx * dw
            patch = xp[
                :, :, y0 : y0 + (oh - 1) * sh + 1 : sh, x0 : x0 + (ow - 1) * sw + 1 : sw
            ]
            # (F, C) . (N, C, OH, OW) -> (N, F, OH, OW)
            out += np.einsum("fc,nchw->nfhw", w[:, :, ky, kx], patch)
    out += b[None, :, None, None]
    return out


def relu(x: object) -> np.ndarray:
    """:func:`kernels.relu`: ``x < 0`` -> 0, everything else (NaN, -0.0) passes."""
    xs = np.asarray(x, dtype=np.float32)
    return np.where(xs < 0, np.float32(0.0), xs)


def _padded_windows(x4, g, fill):
    """``(N, C, OH, OW, KH*KW)`` windows of ``x4`` padded with ``fill`` (enough for a
    ceil_mode window), and the same windows of a "real pixel" mask and of the flat
    index ``h * W + w`` of each cell (``-1`` in padding)."""
    n_batch, channels, in_h, in_w = x4.shape
    need_h = (g.oh - 1) * g.sh + g.kh
    need_w = (g.ow - 1) * g.sw + g.kw
    rows = np.arange(-g.top, need_h - g.top)
    cols = np.arange(-g.left, need_w - g.left)
    rows = np.where((rows >= 0) & (rows < in_h), rows, -1)
    cols = np.where((cols >= 0) & (cols < in_w), cols, -1)
    xp = _gather(x4, rows, cols, fill)
    real = (rows[:, None] >= 0) & (cols[None, :] >= 0)
    flat = np.where(real, rows[:, None] * in_w + cols[None, :], -1)

    def windows(a):
        v = sliding_window_view(a, (g.kh, g.kw), axis=(-2, -1))
        v = v[..., :: g.sh, :: g.sw, :, :][..., : g.oh, : g.ow, :, :]
        return v.reshape(*v.shape[:-2], g.kh * g.kw)

    return windows(xp), windows(real), windows(flat)


def max_pool2d(
    x: object,
    kernel_size: object,
    stride: object = None,
    padding: object = 0,
    ceil_mode: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`kernels.max_pool2d` for ``x (N, C, H, W)``: ``(out, indices)``.

    Padded cells never win; ties go to the first maximum in scan order; a NaN in a
    window wins, the last one in scan order (PyTorch).
    """
    x4 = _as_nchw(x)
    g = _pool_geometry(x4.shape[2:], kernel_size, stride, padding, ceil_mode)
    vals, real, flat = _padded_windows(x4, g, -np.inf)
    n_taps = vals.shape[-1]
    masked = np.where(real, vals, -np.inf)
    is_nan = np.isnan(masked)
    best = np.where(is_nan, -np.inf, masked).max(axis=-1, keepdims=True)
    first_max = np.argmax(real & (masked == best), axis=-1)
    last_nan = n_taps - 1 - np.argmax(is_nan[..., ::-1], axis=-1)
    at = np.where(is_nan.any(axis=-1), last_nan, first_max)
    out = np.take_along_axis(vals, at[..., None], axis=-1)[..., 0]
    flat_b = np.broadcast_to(flat, (*vals.shape[:2], *flat.shape))
    idx = np.take_along_axis(flat_b, at[..., None], axis=-1)[..., 0]
    return np.ascontiguousarray(out, np.float32), np.ascontiguousarray(idx, np.int64)


def avg_pool2d(
    x: object,
    kernel_size: object,
    stride: object = None,
    padding: object = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """:func:`kernels.avg_pool2d` for ``x (N, C, H, W)``.

    The divisor as PyTorch (and the kernel) take it: the window clipped to the padded
    input with ``count_include_pad``, its real pixels otherwise and for ``"same"``.
    """
    x4 = _as_nchw(x)
    in_h, in_w = x4.shape[2:]
    g = _pool_geometry((in_h, in_w), kernel_size, stride, padding, ceil_mode)
    include = bool(count_include_pad) and not g.same
    vals, real, _ = _padded_windows(x4, g, 0.0)
    total = vals.sum(axis=-1, dtype=np.float32)

    def axis(n_out, s, before, k, size, after):
        lo = np.arange(n_out) * s - before
        hi = np.minimum(lo + k, size + after)
        return np.minimum(hi, size) - np.maximum(lo, 0), hi - lo

    real_h, pad_h = axis(g.oh, g.sh, g.top, g.kh, in_h, g.bottom)
    real_w, pad_w = axis(g.ow, g.sw, g.left, g.kw, in_w, g.right)
    if include:
        divisor = pad_h[:, None] * pad_w[None, :]
    else:
        divisor = real_h[:, None] * real_w[None, :]
    empty = (real_h[:, None] <= 0) | (real_w[None, :] <= 0)
    out = total / np.where(empty, 1, divisor).astype(np.float32)
    return np.where(empty, np.float32(0.0), out).astype(np.float32)
