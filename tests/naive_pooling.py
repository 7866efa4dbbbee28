"""Slow, obviously-correct NumPy references for pooling, ReLU and padding.

Written from the definitions, sharing no code with ``kernels``: output sizes come from
enumerating window positions, padding from ``np.pad``, windows from plain slicing. Works
in any float dtype (float64 for finite differences).
"""

from __future__ import annotations

import numpy as np
from naive import NP_MODE, same_pads


def window_starts(
    size: int, kernel: int, stride: int, before: int, after: int, ceil_mode: bool
) -> list[int]:
    """Start of every pooling window along one axis, in padded coordinates.

    A window is kept when it fits in the padded axis. With ``ceil_mode`` (PyTorch's
    rule) one more is kept if the window one stride before it does not reach the end
    of the padded axis and it starts before the right padding. (So a 2x2 window on a
    1x1 input with stride 2 is kept, and with stride 1 it is not.)
    """
    padded = before + size + after
    starts = []
    start = 0
    while True:
        fits = start + kernel <= padded
        partial = (
            ceil_mode and start - stride + kernel < padded and start < before + size
        )
        if not (fits or partial):
            return starts
        starts.append(start)
        start += stride


def tf_same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "SAME": output ceil(size / stride), extra padding after."""
    return same_pads(size, kernel, stride, 1)


def _pads(x_hw, kernel, stride, padding):
    (kh, kw), (sh, sw) = kernel, stride
    if padding == "same":
        return (*tf_same_pads(x_hw[0], kh, sh), *tf_same_pads(x_hw[1], kw, sw))
    if padding == "valid":
        return (0, 0, 0, 0)
    return padding


def max_pool2d(x, kernel, stride, padding, ceil_mode=False):
    """Return ``(out, indices)``; padding ``(top, bottom, left, right)`` or a string.

    Winner rule, written the way PyTorch's CPU loop reads: scan the real cells of the
    window row by row; a cell replaces the current best if it is greater or NaN.
    """
    n_batch, channels, h, w = x.shape
    top, bottom, left, right = _pads((h, w), kernel, stride, padding)
    ys = window_starts(h, kernel[0], stride[0], top, bottom, ceil_mode)
    xs = window_starts(w, kernel[1], stride[1], left, right, ceil_mode)
    out = np.zeros((n_batch, channels, len(ys), len(xs)), x.dtype)
    idx = np.zeros(out.shape, np.int64)
    for n in range(n_batch):
        for c in range(channels):
            for i, py in enumerate(ys):
                for j, px in enumerate(xs):
                    best, best_at = -np.inf, None
                    for y in range(py - top, py - top + kernel[0]):
                        for xx in range(px - left, px - left + kernel[1]):
                            if not (0 <= y < h and 0 <= xx < w):
                                continue  # a padded cell: -inf, never wins
                            v = x[n, c, y, xx]
                            if best_at is None:
                                best_at = y * w + xx  # first real cell, even if -inf
                            if v > best or np.isnan(v):
                                best, best_at = v, y * w + xx
                    out[n, c, i, j] = best
                    idx[n, c, i, j] = best_at
    return out, idx


def max_pool2d_backward(grad_out, indices, x_shape):
    grad_x = np.zeros(x_shape, grad_out.dtype)
    n_batch, channels, h, w = x_shape
    for n in range(n_batch):
        for c in range(channels):
            for g, k in zip(grad_out[n, c].ravel(), indices[n, c].ravel(), strict=True):
                grad_x[n, c, k // w, k % w] += g
    return grad_x


def avg_pool2d(x, kernel, stride, padding, ceil_mode=False, count_include_pad=True):
    """Average over each window; the divisor counts padded cells (if asked) but never
    cells past the padded input (PyTorch). ``"same"`` averages real cells only (TF)."""
    n_batch, channels, h, w = x.shape
    top, bottom, left, right = _pads((h, w), kernel, stride, padding)
    if padding == "same":
        count_include_pad = False
    ys = window_starts(h, kernel[0], stride[0], top, bottom, ceil_mode)
    xs = window_starts(w, kernel[1], stride[1], left, right, ceil_mode)
    out = np.zeros((n_batch, channels, len(ys), len(xs)), x.dtype)
    for i, py in enumerate(ys):
        for j, px in enumerate(xs):
            total, count = 0.0, 0
            rows = range(py - top, py - top + kernel[0])
            cols = range(px - left, px - left + kernel[1])
            cells = [(y, xx) for y in rows for xx in cols]
            real = [(y, xx) for y, xx in cells if 0 <= y < h and 0 <= xx < w]
            in_padded = [
                (y, xx)
                for y, xx in cells
                if -top <= y < h + bottom and -left <= xx < w + right
            ]
            count = len(in_padded) if count_include_pad else len(real)
            total = sum(x[:, :, y, xx] for y, xx in real) if real else 0.0
            out[:, :, i, j] = total / count
    return out


def avg_pool2d_as_matrix(
    x_shape, kernel, stride, padding, ceil_mode=False, count_include_pad=True
):
    """The linear map of avg_pool2d on one plane, as a dense matrix (for the "
    "backward)."""
    _, _, h, w = x_shape
    basis = np.eye(h * w).reshape(h * w, 1, h, w)
    cols = avg_pool2d(basis, kernel, stride, padding, ceil_mode, count_include_pad)
    return cols.reshape(h * w, -1).T  # (outputs, inputs)


def relu(x):
    return np.where(np.isnan(x) | (x > 0), x, 0)


def pad2d(x, pads, mode, value=0.0):
    top, bottom, left, right = pads
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    if mode == "zeros":
        return np.pad(x, widths, mode="constant", constant_values=value)
    return np.pad(x, widths, mode=NP_MODE[mode])
