"""Dot products for the weight gradient: one per (image, filter, tap).

Few taps on small images (LeNet's first layer): the dot of ``grad_out`` laid out at the
plane width with each tap's run of the phase planes, compiled with ``reassoc`` so LLVM
splits the sums into vector lanes. The zeros of the dropped columns meet real pixels,
so only finite inputs take this path (``kernels.conv._plan`` checks).
"""

from __future__ import annotations

import numpy as np

from ._conv_planes import Planes
from ._jit import njit, njit_parallel, njit_reassoc, prange


@njit_reassoc
def _dot_taps4(gr, planes, o0, o1, o2, o3, length):
    """Four dot products ``sum_q gr[q] * planes[o_i + q]`` over ``length``.

    Compiled with ``reassoc``/``nsz`` only (``_jit.njit_reassoc``) so LLVM may split
    each sum into vector lanes; NaN and inf still follow IEEE arithmetic."""
    p0 = planes[o0 : o0 + length]
    p1 = planes[o1 : o1 + length]
    p2 = planes[o2 : o2 + length]
    p3 = planes[o3 : o3 + length]
    s0 = s1 = s2 = s3 = np.float32(0.0)
    for q in range(length):
        v = gr[q]
        s0 += v * p0[q]
        s1 += v * p1[q]
        s2 += v * p2[q]
        s3 += v * p3[q]
    return s0, s1, s2, s3


@njit_reassoc
def _dot_2x4(ga, gb, planes, o0, o1, o2, o3, length):
    """Eight dot products: ``ga`` and ``gb`` each against the four plane runs at
    ``o0..o3``; each load of a run feeds two sums (see :func:`_dot_taps4`)."""
    p0 = planes[o0 : o0 + length]
    p1 = planes[o1 : o1 + length]
    p2 = planes[o2 : o2 + length]
    p3 = planes[o3 : o3 + length]
    a0 = a1 = a2 = a3 = np.float32(0.0)
    b0 = b1 = b2 = b3 = np.float32(0.0)
    for q in range(length):
        u = ga[q]
        v = gb[q]
        x0, x1, x2, x3 = p0[q], p1[q], p2[q], p3[q]
        a0 += u * x0
        a1 += u * x1
        a2 += u * x2
        a3 += u * x3
        b0 += v * x0
        b1 += v * x1
        b2 += v * x2
        b3 += v * x3
    return a0, a1, a2, a3, b0, b1, b2, b3


@njit
def _dots_all_filters(acc, g, g0, planes, tap_offs, shift, length):
    """acc[f, t] += sum_q g[f, g0 + q] * planes[tap_offs[t] + shift + q], q < length,
    for every filter f and tap t: two filters and four taps per pass, so each load of a
    tap's run feeds two sums (:func:`_dot_2x4`), and an odd filter alone."""
    n_filters, n_taps = acc.shape
    n_taps4 = n_taps - n_taps % 4
    f = 0
    while f + 2 <= n_filters:
        ga = g[f, g0 : g0 + length]
        gb = g[f + 1, g0 : g0 + length]
        for t in range(0, n_taps4, 4):
            a0, a1, a2, a3, b0, b1, b2, b3 = _dot_2x4(
                ga,
                gb,
                planes,
                tap_offs[t] + shift,
                tap_offs[t + 1] + shift,
                tap_offs[t + 2] + shift,
                tap_offs[t + 3] + shift,
                length,
            )
            acc[f, t] += a0
            acc[f, t + 1] += a1
            acc[f, t + 2] += a2
            acc[f, t + 3] += a3
            acc[f + 1, t] += b0
            acc[f + 1, t + 1] += b1
            acc[f + 1, t + 2] += b2
            acc[f + 1, t + 3] += b3
        for t in range(n_taps4, n_taps):  # up to 3 left: repeat the tap
            o = tap_offs[t] + shift
            a0, _, _, _, b0, _, _, _ = _dot_2x4(ga, gb, planes, o, o, o, o, length)
            acc[f, t] += a0
            acc[f + 1, t] += b0
        f += 2
    if f < n_filters:
        gr = g[f, g0 : g0 + length]
        for t in range(0, n_taps4, 4):
            s0, s1, s2, s3 = _dot_taps4(
                gr,
                planes,
                tap_offs[t] + shift,
                tap_offs[t + 1] + shift,
                tap_offs[t + 2] + shift,
                tap_offs[t + 3] + shift,
                length,
            )
            acc[f, t] += s0
            acc[f, t + 1] += s1
            acc[f, t + 2] += s2
            acc[f, t + 3] += s3
        for t in range(n_taps4, n_taps):
            o = tap_offs[t] + shift
            s0, _, _, _ = _dot_taps4(gr, planes, o, o, o, o, length)
            acc[f, t] += s0


@njit_parallel
def _grad_weight_dots(planes, image_size, tap_offs, gpad, n_chunks, partial):
    """partial[k, f, t] = sum over the images n of chunk k of the dot product of
    ``gpad[n, f]`` (grad_out laid out at the plane's width, zeros in the dropped columns
    and the tail) with the plane run of tap t. Every image's planes stay in cache while
    all its (filter, tap) dots run; the caller sums over k.

    The zero columns of ``gpad`` meet real pixels outside a tap's window, so the input
    must be finite (0 * inf would be NaN): the caller checks.
    """
    n_batch, _, length = gpad.shape
    per_chunk = (n_batch + n_chunks - 1) // n_chunks
    for k in prange(n_chunks):
        acc = partial[k]
        acc[:, :] = 0.0
        for n in range(k * per_chunk, min(n_batch, (k + 1) * per_chunk)):
            # a runtime 0, not a literal: one compiled _dots_all_filters
            _dots_all_filters(
                acc, gpad[n], np.int64(0), planes, tap_offs, n * image_size, length
            )


def grad_weight(g, x4, pads, stride, dilation, mode, kernel_hw, partial):
    """partial (chunks, F, T): per chunk of images, the weight gradient from ``g``
    (N, F, OH, OW) and a finite ``x4`` (N, C, H, W); the caller sums over chunks."""
    planes = Planes(x4, pads, mode, kernel_hw, stride, dilation, 16)
    n_batch, n_filters, oh, ow = g.shape
    width = planes.width
    length = -(-oh * width // 8) * 8
    gpad = np.zeros((n_batch, n_filters, length), np.float32)
    gpad[:, :, : oh * width].reshape(n_batch, n_filters, oh, width)[:, :, :, :ow] = g
    _grad_weight_dots(
        planes.planes,
        planes.image_size,
        planes.tap_offs,
        gpad,
        partial.shape[0],
        partial,
    )
