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

from kernels import _checks, pad_index_map
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
    out: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`kernels.conv2d` for ``x (N, C, H, W)``: ``(N, F, OH, OW)`` float32,
    into ``out`` when given (checked as the kernel checks it).

    One pass per kernel tap: ``out += w[:, :, ky, kx] . x_padded[window shifted]``,
    so memory stays at a few output-sized arrays whatever the kernel size.
    """
    x4 = _as_nchw(x)
    w = _weight4(weight)
    geo = _Geometry(x4.shape, w.shape, stride, padding, dilation, padding_mode)
    b = _bias(bias, w.shape[0])
    shape = (x4.shape[0], w.shape[0], *geo.out_hw)
    if out is None:
        out = np.zeros(shape, np.float32)
    else:
        _checks.out_buffer(out, shape, {"x": x4, "weight": w, "bias": b})
        out.fill(0.0)
    top, bottom, left, right = geo.pads
    in_h, in_w = x4.shape[2:]
    mode = geo.mode
    rows = pad_index_map(in_h, top, bottom, mode)
    cols = pad_index_map(in_w, left, right, mode)
    xp = _gather(x4, rows, cols, 0.0)
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    oh, ow = geo.out_hw
    _, _, kh, kw = w.shape
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


def relu(x: object, out: np.ndarray | None = None) -> np.ndarray:
    """:func:`kernels.relu`: ``x < 0`` -> 0, everything else (NaN, -0.0) passes;
    into ``out`` when given (``x`` itself included)."""
    xs = np.asarray(x, dtype=np.float32)
    result = np.where(xs < 0, np.float32(0.0), xs)
    if out is None:
        return result
    _checks.out_buffer(out, xs.shape, {"x": xs}, in_place=True)
    np.copyto(out, result)
    return out


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
    *,
    return_indices: bool = True,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
    """:func:`kernels.max_pool2d` for ``x (N, C, H, W)``: ``(out, indices)``, or
    ``out`` alone with ``return_indices=False``; the values into ``out`` when given.

    Padded cells never win; ties go to the first maximum in scan order; a NaN in a
    window wins, the last one in scan order (PyTorch).
    """
    x4 = _as_nchw(x)
    g = _pool_geometry(x4.shape[2:], kernel_size, stride, padding, ceil_mode)
    if not isinstance(return_indices, bool | np.bool_):
        raise TypeError(
            "`return_indices` must be True or False. "
            f"Received: return_indices={return_indices!r}"
        )
    if out is not None:
        shape = (*x4.shape[:2], g.oh, g.ow)
        _checks.out_buffer(out, shape, {"x": x4})
    vals, real, flat = _padded_windows(x4, g, -np.inf)
    n_taps = vals.shape[-1]
    masked = np.where(real, vals, -np.inf)
    is_nan = np.isnan(masked)
    best = np.where(is_nan, -np.inf, masked).max(axis=-1, keepdims=True)
    first_max = np.argmax(real & (masked == best), axis=-1)
    last_nan = n_taps - 1 - np.argmax(is_nan[..., ::-1], axis=-1)
    at = np.where(is_nan.any(axis=-1), last_nan, first_max)
    best_of = np.take_along_axis(vals, at[..., None], axis=-1)[..., 0]
    if out is None:
        out = np.ascontiguousarray(best_of, np.float32)
    else:
        np.copyto(out, best_of)
    if not return_indices:
        return out
    flat_b = np.broadcast_to(flat, (*vals.shape[:2], *flat.shape))
    idx = np.take_along_axis(flat_b, at[..., None], axis=-1)[..., 0]
    return out, np.ascontiguousarray(idx, np.int64)


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


# ------------------------------------------------------------- the training passes
# The trainer's first steps on a first launch run through these while its kernels
# compile (convlab/gui/trainer/warming.py): the layers' backward passes, each the
# formula's adjoint written tap by tap, as the forward twins are.


def _fold(gxp: np.ndarray, rows: np.ndarray, cols: np.ndarray, shape) -> np.ndarray:
    """The gradient of :func:`_gather`: each padded cell's gradient added to the input
    cell it read (``-1``: a constant, no gradient)."""
    n_batch, channels, in_h, in_w = shape
    keep_r, keep_c = rows >= 0, cols >= 0
    by_rows = np.zeros((n_batch, channels, in_h, gxp.shape[3]), np.float32)
    np.add.at(by_rows, (slice(None), slice(None), rows[keep_r]), gxp[:, :, keep_r])
    out = np.zeros(shape, np.float32)
    np.add.at(
        out.transpose(3, 0, 1, 2),
        cols[keep_c],
        by_rows[:, :, :, keep_c].transpose(3, 0, 1, 2),
    )
    return out


def conv2d_backward(
    grad_out: object,
    x: object,
    weight: object,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, int] = 1,
    padding_mode: str = "zeros",
    need_input_grad: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """:func:`kernels.conv2d_backward`: ``(grad_x or None, grad_weight, grad_bias)``.

    Per tap ``(ky, kx)``: ``grad_w[:, :, ky, kx] = g . x_padded[window]`` and
    ``grad_x_padded[window] += w[:, :, ky, kx]^T . g``; the padded gradient is then
    folded back through the padding's index maps.
    """
    x4 = _as_nchw(x)
    w = _weight4(weight)
    geo = _Geometry(x4.shape, w.shape, stride, padding, dilation, padding_mode)
    g = np.ascontiguousarray(grad_out, dtype=np.float32)
    expected = (x4.shape[0], w.shape[0], *geo.out_hw)
    if g.shape != expected:
        raise ValueError(
            f"`grad_out` must have the convolution's output shape (N, F, OH, OW) = "
            f"{expected}. Received: grad_out.shape={g.shape}"
        )
    top, bottom, left, right = geo.pads
    in_h, in_w = x4.shape[2:]
    rows = pad_index_map(in_h, top, bottom, geo.mode)
    cols = pad_index_map(in_w, left, right, geo.mode)
    xp = _gather(x4, rows, cols, 0.0)
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    oh, ow = geo.out_hw
    n_filters, channels, kh, kw = w.shape
    grad_w = np.empty(w.shape, np.float32)
    gxp = np.zeros(xp.shape, np.float32) if need_input_grad else None
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = ky * dh, kx * dw
            window = (
                slice(None),
                slice(None),
                slice(y0, y0 + (oh - 1) * sh + 1, sh),
                slice(x0, x0 + (ow - 1) * sw + 1, sw),
            )
            grad_w[:, :, ky, kx] = np.einsum("nfhw,nchw->fc", g, xp[window])
            if gxp is not None:
                gxp[window] += np.einsum("fc,nfhw->nchw", w[:, :, ky, kx], g)
    grad_b = g.sum(axis=(0, 2, 3), dtype=np.float64).astype(np.float32)
    grad_x = None if gxp is None else _fold(gxp, rows, cols, x4.shape)
    return grad_x, grad_w, grad_b


def relu_backward(grad_out: object, x: object) -> np.ndarray:
    """:func:`kernels.relu_backward`: ``grad_out`` where ``x > 0`` or NaN, else 0."""
    xs = np.asarray(x, dtype=np.float32)
    g = np.asarray(grad_out, dtype=np.float32)
    if g.shape != xs.shape:
        raise ValueError(
            f"`grad_out` must have the shape of `x` {xs.shape}. "
            f"Received: grad_out.shape={g.shape}"
        )
    return np.where((xs > 0) | np.isnan(xs), g, np.float32(0.0)).astype(np.float32)


def max_pool2d_backward(grad_out: object, indices: object, x_shape) -> np.ndarray:
    """:func:`kernels.max_pool2d_backward` for (N, C, H, W): each output's gradient
    added to its winner (``indices``: ``h * W + w`` in each plane)."""
    n_batch, channels, in_h, in_w = (int(v) for v in x_shape)
    g = np.asarray(grad_out, dtype=np.float32).reshape(n_batch * channels, -1)
    idx = np.asarray(indices, dtype=np.int64).reshape(n_batch * channels, -1)
    if idx.size and (idx.min() < 0 or idx.max() >= in_h * in_w):
        raise ValueError(
            f"`indices` must lie in [0, H * W) = [0, {in_h * in_w}) for "
            f"x_shape={tuple(x_shape)!r}."
        )
    grad_x = np.zeros((n_batch * channels, in_h * in_w), np.float32)
    np.add.at(grad_x, (np.arange(len(g))[:, None], idx), g)
    return grad_x.reshape(n_batch, channels, in_h, in_w)


def avg_pool2d_backward(
    grad_out: object,
    x_shape,
    kernel_size: object,
    stride: object = None,
    padding: object = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """:func:`kernels.avg_pool2d_backward` for (N, C, H, W): each output's gradient,
    over the divisor :func:`avg_pool2d` used, spread over its window's real pixels."""
    n_batch, channels, in_h, in_w = (int(v) for v in x_shape)
    g = _pool_geometry((in_h, in_w), kernel_size, stride, padding, ceil_mode)
    ones = np.ones((1, 1, in_h, in_w), np.float32)
    # the divisor of every output: the forward of an all-ones plane is real / divisor
    # with "real" the window's real pixels, so divisor = real / that
    _, real, _ = _padded_windows(ones, g, 0.0)
    n_real = real.sum(axis=-1).astype(np.float32)
    mean_of_ones = avg_pool2d(
        ones, kernel_size, stride, padding, ceil_mode, count_include_pad
    )[0, 0]
    scale = np.where(n_real > 0, mean_of_ones / np.maximum(n_real, 1), 0.0)
    share = np.asarray(grad_out, np.float32) * scale.astype(np.float32)
    need_h = (g.oh - 1) * g.sh + g.kh
    need_w = (g.ow - 1) * g.sw + g.kw
    gxp = np.zeros((n_batch, channels, need_h, need_w), np.float32)
    for ky in range(g.kh):
        for kx in range(g.kw):
            gxp[
                :,
                :,
                ky : ky + (g.oh - 1) * g.sh + 1 : g.sh,
                kx : kx + (g.ow - 1) * g.sw + 1 : g.sw,
            ] += share
    rows = np.arange(-g.top, need_h - g.top)
    cols = np.arange(-g.left, need_w - g.left)
    rows = np.where((rows >= 0) & (rows < in_h), rows, -1)
    cols = np.where((cols >= 0) & (cols < in_w), cols, -1)
    return _fold(gxp, rows, cols, (n_batch, channels, in_h, in_w))


def global_avg_pool2d(x: object) -> np.ndarray:
    """:func:`kernels.global_avg_pool2d` for (N, C, H, W): plane means (float64 sum)."""
    x4 = _as_nchw(x)
    return x4.mean(axis=(2, 3), dtype=np.float64).astype(np.float32)


def global_avg_pool2d_backward(grad_out: object, x_shape) -> np.ndarray:
    """:func:`kernels.global_avg_pool2d_backward` for (N, C, H, W)."""
    n_batch, channels, in_h, in_w = (int(v) for v in x_shape)
    g = np.asarray(grad_out, np.float32) / np.float32(in_h * in_w)
    return np.ascontiguousarray(
        np.broadcast_to(g[:, :, None, None], (n_batch, channels, in_h, in_w))
    )


TRAINING_TWINS = {
    "conv2d": conv2d,
    "conv2d_backward": conv2d_backward,
    "relu": relu,
    "relu_backward": relu_backward,
    "max_pool2d": max_pool2d,
    "max_pool2d_backward": max_pool2d_backward,
    "avg_pool2d": avg_pool2d,
    "avg_pool2d_backward": avg_pool2d_backward,
    "global_avg_pool2d": global_avg_pool2d,
    "global_avg_pool2d_backward": global_avg_pool2d_backward,
}
"""The kernels a training step calls, by name, and their NumPy twins (a stand-in
table for :func:`kernels._warmup.stand_ins`)."""
