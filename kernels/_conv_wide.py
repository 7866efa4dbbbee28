"""Wide planes: stride-1 passes over a batch of small images (LeNet-sized).

Channel ``c`` is one plane ``(HP, N * WP)`` whose row ``y`` holds row ``y`` of every
padded image side by side, so one run of the 8-tap row loop covers an output row of
many images (over one 28x28 image a pass was mostly fixed cost). The weight gradient
is, per (filter, tap), a long dot product of ``grad_out`` laid out the same way with
the tap's run, compiled with ``reassoc`` so LLVM splits it into vector lanes; the
dropped columns put zeros against real pixels there, so only finite inputs take it.
With zero padding an image's slot holds only its left padding and its pixels (its
right padding is the next slot's left), and a tap whose row is padding is left out of
that output row's sum. For LeNet's second layer's input gradient (a 5x5 flipped kernel
over ``grad_out`` padded by 4) that is 43 M multiply-adds instead of 77 M.
"""

from __future__ import annotations

import numpy as np

from . import config
from ._conv_dots import _dots_all_filters
from ._conv_planes import _tap_weights
from ._conv_rows import _all_filters
from ._jit import njit_parallel, prange


@njit_parallel
def _conv_wide(
    planes,
    row_len,
    tap_offs,
    tap_rows,
    real_rows,
    zero_off,
    wtaps,
    bias,
    wp,
    per_task,
    out,
):
    """Stride 1, small images: out (N, F, OH, OW) from "wide" planes (C, HP, N * WP),
    row y of a channel holding row y of every padded image side by side.

    A work item is one output row of ``per_task`` images, a single run ``q = oy *
    row_len + n * wp + ox`` (every tap is the constant offset of its channel and
    (ky, kx)), so one pass of the 8-tap row loop serves many images: over one small
    image a pass was mostly fixed cost. The ``wp - ow`` columns past each image's edge
    are computed and dropped.

    Tap ``t`` reads padded row ``oy + tap_rows[t]``; when that row lies outside
    ``real_rows = (first, end)`` it is all zeros and the tap is left out of the row's
    sum (a "same" layer's edge rows, and most of a flipped-kernel input gradient's).
    Callers pass ``(0, HP)`` when the padding is not zeros or a weight is not finite,
    where ``0 * w`` must still be computed.
    """
    n_batch, n_filters, oh, ow = out.shape
    n_taps = tap_offs.shape[0]
    chunks = (n_batch + per_task - 1) // per_task
    for task in prange(oh * chunks):
        oy = task // chunks
        n0 = (task % chunks) * per_task
        nb = min(per_task, n_batch - n0)
        q0 = oy * row_len + n0 * wp
        blen = nb * wp
        keep = np.empty(n_taps, np.int64)
        n_keep = 0
        for t in range(n_taps):
            r = oy + tap_rows[t]
            if real_rows[0] <= r < real_rows[1]:
                keep[n_keep] = t
                n_keep += 1
        n_keep4 = (n_keep + 3) // 4 * 4
        offs = np.empty(n_keep4, np.int64)
        if n_keep == n_taps:
            w_row = wtaps  # every tap: the caller's zero-padded weights as they are
            for t in range(n_taps):
                offs[t] = tap_offs[t]
        else:
            w_row = np.zeros((n_filters, n_keep4), np.float32)
            for k in range(n_keep):
                offs[k] = tap_offs[keep[k]]
                for f in range(n_filters):
                    w_row[f, k] = wtaps[f, keep[k]]
        for k in range(n_keep, n_keep4):
            offs[k] = zero_off - q0  # reads the zero tail
        acc = np.empty((n_filters, blen), np.float32)
        for f in range(n_filters):
            acc[f, :] = bias[f]
        # runtime ints, not literals: one compiled _all_filters (_conv_rows)
        _all_filters(
            acc,
            np.int64(0),
            np.int64(1),
            planes,
            offs,
            w_row,
            q0,
            blen,
            np.bool_(False),
        )
        for b in range(nb):
            for f in range(n_filters):
                out[n0 + b, f, oy, :] = acc[f, b * wp : b * wp + ow]


@njit_parallel
def _grad_weight_wide(planes, tap_offs, g_rows, chunk, partial):
    """partial[k, f, t] = the dot product of ``g_rows[f]`` (grad_out laid out like the
    wide planes' output rows, zeros in the dropped columns) with the run of tap t, over
    the k-th share of the runs, taken ``chunk`` values at a time so the pieces of
    ``g_rows`` and of the planes stay in cache across all (filter, tap) pairs. The
    caller sums over k. The zero columns meet real pixels: the input must be finite.
    """
    length = g_rows.shape[1]
    n_parts = partial.shape[0]
    n_blocks = (length + chunk - 1) // chunk
    per_part = (n_blocks + n_parts - 1) // n_parts
    for k in prange(n_parts):
        acc = partial[k]
        acc[:, :] = 0.0
        for blk in range(k * per_part, min(n_blocks, (k + 1) * per_part)):
            q0 = blk * chunk
            blen = min(chunk, length - q0)
            _dots_all_filters(acc, g_rows, q0, planes, tap_offs, q0, blen)


class _Wide:
    """Padded input as wide planes: channel ``c`` is ``HP`` rows of ``N`` image slots of
    ``slot`` values each, row ``y`` holding row ``y`` of every padded image side by
    side, in one flat array with ``tail`` zeros after it.

    With zero padding the slots are tight: ``slot - W`` zeros, then the image row, and
    an image's right padding is read from the next slot's leading zeros (the last
    image's from the slack after the plane), so no column is stored or computed twice.
    ``slot >= OW`` keeps every output of an image inside its slot. Other padding modes
    store each padded row whole.

    ``tap_offs[t]``: where tap ``(c, ky, kx)`` (weight order) of output ``q = oy *
    row_len + n * slot + ox`` reads, ``planes[tap_offs[t] + q]``; ``tap_rows[t]``: its
    row offset ``ky * dh``; ``real_rows``: the padded rows ``[first, end)`` that hold
    image rows (all of them unless the padding is zeros).
    """

    def __init__(self, x4, pads, mode, kernel_hw, dilation, tail):
        n_batch, channels, in_h, in_w = x4.shape
        kh, kw = kernel_hw
        dh, dw = dilation
        top, bottom, left, right = pads
        hp = in_h + top + bottom
        ow = in_w + left + right - (kw - 1) * dw
        if mode == "zeros":
            slot = max(in_w + left, in_w + right, ow)
            lead = slot - in_w
            origin = lead - left  # column of the slot where the padded row starts
            self.real_rows = np.array([top, top + in_h], np.int64)
        else:
            slot, lead, origin = in_w + left + right, 0, 0
            self.real_rows = np.array([0, hp], np.int64)
        row_len = n_batch * slot
        plane = hp * row_len + origin + (kw - 1) * dw  # the last image's right edge
        zero_off = channels * plane
        planes = np.empty(zero_off + tail, np.float32)
        planes[zero_off:] = 0.0
        wide = planes[:zero_off].reshape(channels, plane)
        wide[:, hp * row_len :] = 0.0
        view = wide[:, : hp * row_len].reshape(channels, hp, n_batch, slot)
        if mode == "zeros":
            view[:, :top] = 0.0
            view[:, top + in_h :] = 0.0
            view[:, top : top + in_h, :, :lead] = 0.0
            view[:, top : top + in_h, :, lead:] = x4.transpose(1, 2, 0, 3)
        else:
            from .padding import pad2d

            view[...] = pad2d(x4, pads, mode).transpose(1, 2, 0, 3)
        c = np.arange(channels, dtype=np.int64)[:, None, None]
        ky = np.arange(kh, dtype=np.int64)[None, :, None] * dh
        kx = np.arange(kw, dtype=np.int64)[None, None, :] * dw
        self.tap_offs = (c * plane + ky * row_len + origin + kx).reshape(-1)
        self.tap_rows = np.broadcast_to(ky, (channels, kh, kw)).reshape(-1).copy()
        self.planes, self.row_len, self.slot, self.zero_off = (
            planes,
            row_len,
            slot,
            zero_off,
        )


def forward(x4, weight, bias, pads, stride, dilation, mode, out):
    """out (N, F, OH, OW) = conv2d at stride 1 of already-validated float32 arrays
    (``stride`` is (1, 1); pads >= 0)."""
    n_filters = weight.shape[0]
    slot_max = x4.shape[3] + pads[2] + pads[3]
    per_task = max(1, min(x4.shape[0], config.WIDE_ACC // (slot_max * n_filters)))
    wide = _Wide(x4, pads, mode, weight.shape[2:], dilation, per_task * slot_max + 8)
    # rows of zero padding are left out of the sums unless 0 * weight could be NaN
    real_rows = wide.real_rows
    if (pads[0] or pads[1]) and not np.isfinite(weight).all():
        real_rows = np.array([0, x4.shape[2] + pads[0] + pads[1]], np.int64)
    _conv_wide(
        wide.planes,
        wide.row_len,
        wide.tap_offs,
        wide.tap_rows,
        real_rows,
        wide.zero_off,
        _tap_weights(weight),
        bias,
        wide.slot,
        per_task,
        out,
    )
    return out


def grad_weight(g, x4, pads, stride, dilation, mode, kernel_hw, partial):
    """partial (parts, F, T): per share of the wide runs, the weight gradient from
    ``g`` (N, F, OH, OW) and a finite ``x4`` (N, C, H, W) at stride 1; the caller sums
    over parts."""
    layout = _Wide(x4, pads, mode, kernel_hw, dilation, 8)
    n_filters, oh, ow = g.shape[1], g.shape[2], g.shape[3]
    g_rows = np.zeros((n_filters, oh, x4.shape[0], layout.slot), np.float32)
    g_rows[:, :, :, :ow] = g.transpose(1, 2, 0, 3)
    _grad_weight_wide(
        layout.planes,
        layout.tap_offs,
        g_rows.reshape(n_filters, -1),
        config.WIDE_CHUNK,
        partial,
    )
