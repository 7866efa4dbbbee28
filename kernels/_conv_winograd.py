"""Winograd F(2x2, 3x3) for 3x3 stride-1 layers (a CNN's hidden layers).

16 multiplications per 2x2 output tile and channel instead of 36, with the same 8-tap
row loop (:mod:`kernels._conv_rows`) for the sum over channels. It mixes each input
pixel into 4x4 patches, so an inf would turn into NaN in outputs that never saw it:
``kernels.conv._plan`` sends inputs that are not finite to the direct path, whose
NaN/inf pattern is the formula's. The input gradient is this pass's exact adjoint (no
padded copy of ``grad_out`` needed).
"""

from __future__ import annotations

import numba
import numpy as np

from . import config
from ._conv_planes import Planes
from ._conv_rows import _all_filters
from ._jit import njit, njit_parallel, prange


@njit
def _winograd_input(planes, base, width, th, tw, t, v, k, step):
    """v[k + xi*step + i*tw + j] = (B^T d B)[xi] for the 4x4 patch d of tile (i, j) of
    the plane at ``base``; ``t`` is a (4, 2*tw + 2) scratch."""
    n = 2 * tw + 2
    t0, t1, t2, t3 = t[0], t[1], t[2], t[3]
    for i in range(th):
        start = base + 2 * i * width
        d0 = planes[start : start + n]
        d1 = planes[start + width : start + width + n]
        d2 = planes[start + 2 * width : start + 2 * width + n]
        d3 = planes[start + 3 * width : start + 3 * width + n]
        for x in range(n):  # B^T d, whole rows of patches at once
            t0[x] = d0[x] - d2[x]
            t1[x] = d1[x] + d2[x]
            t2[x] = d2[x] - d1[x]
            t3[x] = d1[x] - d3[x]
        for r in range(4):  # (B^T d) B: columns 2j..2j+3 of each transformed row
            tr = t[r]
            o = k + 4 * r * step + i * tw
            v0 = v[o : o + tw]
            v1 = v[o + step : o + step + tw]
            v2 = v[o + 2 * step : o + 2 * step + tw]
            v3 = v[o + 3 * step : o + 3 * step + tw]
            for j in range(tw):
                a, b, c, d = tr[2 * j], tr[2 * j + 1], tr[2 * j + 2], tr[2 * j + 3]
                v0[j] = a - c
                v1[j] = b + c
                v2[j] = c - b
                v3[j] = b - d


@njit
def _winograd_output(m, f, n_filters, bias, y):
    """y[0..3] = the 2x2 outputs (A^T m A + bias) of every tile of filter ``f``."""
    m0, m1, m2, m3 = m[f], m[n_filters + f], m[2 * n_filters + f], m[3 * n_filters + f]
    m4, m5 = m[4 * n_filters + f], m[5 * n_filters + f]
    m6, m7 = m[6 * n_filters + f], m[7 * n_filters + f]
    m8, m9 = m[8 * n_filters + f], m[9 * n_filters + f]
    m10, m11 = m[10 * n_filters + f], m[11 * n_filters + f]
    m12, m13 = m[12 * n_filters + f], m[13 * n_filters + f]
    m14, m15 = m[14 * n_filters + f], m[15 * n_filters + f]
    y0, y1, y2, y3 = y[0], y[1], y[2], y[3]
    for p in range(y.shape[1]):
        # A^T m: rows, then columns
        s0 = m0[p] + m4[p] + m8[p]
        s1 = m1[p] + m5[p] + m9[p]
        s2 = m2[p] + m6[p] + m10[p]
        s3 = m3[p] + m7[p] + m11[p]
        r0 = m4[p] - m8[p] - m12[p]
        r1 = m5[p] - m9[p] - m13[p]
        r2 = m6[p] - m10[p] - m14[p]
        r3 = m7[p] - m11[p] - m15[p]
        y0[p] = bias + (s0 + s1 + s2)
        y1[p] = bias + (s1 - s2 - s3)
        y2[p] = bias + (r0 + r1 + r2)
        y3[p] = bias + (r1 - r2 - r3)


@njit
def _winograd_store(y, p0, th, tw, dst):
    """Write the tiles of one image (from ``p0``) into dst (OH, OW), dropping the
    outputs of tiles that hang over an odd edge."""
    oh, ow = dst.shape
    for i in range(th):
        oy = 2 * i
        for j in range(tw):
            p = p0 + i * tw + j
            ox = 2 * j
            dst[oy, ox] = y[0, p]
            if ox + 1 < ow:
                dst[oy, ox + 1] = y[1, p]
            if oy + 1 < oh:
                dst[oy + 1, ox] = y[2, p]
                if ox + 1 < ow:
                    dst[oy + 1, ox + 1] = y[3, p]


@njit_parallel
def _winograd_planes(
    planes, image_size, plane_size, width, u, bias, th, tw, per_task, out
):
    """3x3, stride 1: Winograd F(2x2, 3x3) from stride-1 planes.

    Each 2x2 output tile is ``A^T [sum_c U_c * (B^T d_c B)] A`` for the 4x4 input patch
    ``d_c`` of every channel: 16 products per tile and channel instead of 36. The sum
    over channels, for each of the 16 positions, is the same 8-tap row loop as the
    direct path, over a row of tiles. ``u`` (16, F, C4) holds ``G g G^T``, zero for the
    padding channels. The 4th row/column of a patch feeds only the 2nd output row/column
    of its tile, so tiles hanging over an odd edge read past it into finite data and
    their extra outputs are dropped.
    """
    n_batch, n_filters, oh, ow = out.shape
    channels4 = u.shape[2]
    channels = image_size // plane_size
    tiles = th * tw
    n_tasks = (n_batch + per_task - 1) // per_task
    for task in prange(n_tasks):
        n0 = task * per_task
        nb = min(per_task, n_batch - n0)
        length = nb * tiles
        v = np.empty(16 * channels4 * length, np.float32)
        for xi in range(
            16
        ):  # the padding channels: zero rows (their weights are 0 too)
            v[(xi * channels4 + channels) * length : (xi + 1) * channels4 * length] = (
                0.0
            )
        t = np.empty((4, 2 * tw + 2), np.float32)
        for b in range(nb):
            for c in range(channels):
                base = (n0 + b) * image_size + c * plane_size
                k = c * length + b * tiles
                _winograd_input(
                    planes, base, width, th, tw, t, v, k, channels4 * length
                )
        m = np.empty((16 * n_filters, length), np.float32)
        offs = np.empty(channels4, np.int64)
        for xi in range(16):
            for c in range(channels4):
                offs[c] = (xi * channels4 + c) * length
            # runtime ints, not literals: one compiled _all_filters (_conv_rows)
            _all_filters(
                m,
                xi * n_filters,
                np.int64(1),
                v,
                offs,
                u[xi],
                np.int64(0),
                length,
                np.bool_(True),
            )
        y = np.empty((4, length), np.float32)
        for f in range(n_filters):
            _winograd_output(m, f, n_filters, bias[f], y)
            for b in range(nb):
                _winograd_store(y, b * tiles, th, tw, out[n0 + b, f])


@njit_parallel
def _winograd_grad_input(grad_out, u_t, th, tw, per_task, gxp):
    """Adjoint of :func:`_winograd_planes`: gxp (N, C, 2*th + 2, 2*tw + 2), zeroed, gets
    ``B [sum_f U_fc * (A g_f A^T)] B^T`` added at every 4x4 patch.

    ``u_t`` (16, C, F4) is ``G w G^T`` with filters and channels swapped. Each 2x2 tile
    of ``grad_out`` (zeros past an odd edge) becomes 16 values with additions only, and
    the 4x4 patches overlap by 2, so neighbouring tiles add into the same cells.
    """
    n_batch, n_filters, oh, ow = grad_out.shape
    channels = u_t.shape[1]
    filters4 = u_t.shape[2]
    tiles = th * tw
    n_tasks = (n_batch + per_task - 1) // per_task
    for task in prange(n_tasks):
        n0 = task * per_task
        nb = min(per_task, n_batch - n0)
        length = nb * tiles
        step = filters4 * length
        z = np.empty(16 * step, np.float32)
        for xi in range(16):  # the padding filters: zero rows (their weights are 0 too)
            z[(xi * filters4 + n_filters) * length : (xi + 1) * step] = 0.0
        for b in range(nb):
            for f in range(n_filters):
                g = grad_out[n0 + b, f]
                k = f * length + b * tiles
                for i in range(th):
                    y = 2 * i
                    for j in range(tw):
                        x = 2 * j
                        g00 = g[y, x]
                        g01 = g[y, x + 1] if x + 1 < ow else 0.0
                        g10 = g[y + 1, x] if y + 1 < oh else 0.0
                        g11 = g[y + 1, x + 1] if y + 1 < oh and x + 1 < ow else 0.0
                        # A g: rows [g0, g0 + g1, g0 - g1, -g1], then columns
                        a0, a1 = g00, g01
                        b0, b1 = g00 + g10, g01 + g11
                        c0, c1 = g00 - g10, g01 - g11
                        d0, d1 = -g10, -g11
                        q = k + i * tw + j
                        z[q] = a0
                        z[q + step] = a0 + a1
                        z[q + 2 * step] = a0 - a1
                        z[q + 3 * step] = -a1
                        z[q + 4 * step] = b0
                        z[q + 5 * step] = b0 + b1
                        z[q + 6 * step] = b0 - b1
                        z[q + 7 * step] = -b1
                        z[q + 8 * step] = c0
                        z[q + 9 * step] = c0 + c1
                        z[q + 10 * step] = c0 - c1
                        z[q + 11 * step] = -c1
                        z[q + 12 * step] = d0
                        z[q + 13 * step] = d0 + d1
                        z[q + 14 * step] = d0 - d1
                        z[q + 15 * step] = -d1
        sums = np.empty((16 * channels, length), np.float32)
        offs = np.empty(filters4, np.int64)
        for xi in range(16):
            for f in range(filters4):
                offs[f] = (xi * filters4 + f) * length
            _all_filters(
                sums,
                xi * channels,
                np.int64(1),
                z,
                offs,
                u_t[xi],
                np.int64(0),
                length,
                np.bool_(True),
            )
        for b in range(nb):
            for c in range(channels):
                dst = gxp[n0 + b, c]
                s0, s1 = sums[c], sums[channels + c]
                s2, s3 = sums[2 * channels + c], sums[3 * channels + c]
                s4, s5 = sums[4 * channels + c], sums[5 * channels + c]
                s6, s7 = sums[6 * channels + c], sums[7 * channels + c]
                s8, s9 = sums[8 * channels + c], sums[9 * channels + c]
                s10, s11 = sums[10 * channels + c], sums[11 * channels + c]
                s12, s13 = sums[12 * channels + c], sums[13 * channels + c]
                s14, s15 = sums[14 * channels + c], sums[15 * channels + c]
                for i in range(th):
                    y = 2 * i
                    for j in range(tw):
                        p = b * tiles + i * tw + j
                        x = 2 * j
                        # B S: rows [S0, S1 - S2 + S3, -S0 + S1 + S2, -S3]
                        r00 = s0[p]
                        r01 = s1[p]
                        r02 = s2[p]
                        r03 = s3[p]
                        r10 = s4[p] - s8[p] + s12[p]
                        r11 = s5[p] - s9[p] + s13[p]
                        r12 = s6[p] - s10[p] + s14[p]
                        r13 = s7[p] - s11[p] + s15[p]
                        r20 = s4[p] + s8[p] - s0[p]
                        r21 = s5[p] + s9[p] - s1[p]
                        r22 = s6[p] + s10[p] - s2[p]
                        r23 = s7[p] + s11[p] - s3[p]
                        r30 = -s12[p]
                        r31 = -s13[p]
                        r32 = -s14[p]
                        r33 = -s15[p]
                        # (B S) B^T: the same on columns, added into the patch
                        dst[y, x] += r00
                        dst[y, x + 1] += r01 - r02 + r03
                        dst[y, x + 2] += r01 + r02 - r00
                        dst[y, x + 3] -= r03
                        dst[y + 1, x] += r10
                        dst[y + 1, x + 1] += r11 - r12 + r13
                        dst[y + 1, x + 2] += r11 + r12 - r10
                        dst[y + 1, x + 3] -= r13
                        dst[y + 2, x] += r20
                        dst[y + 2, x + 1] += r21 - r22 + r23
                        dst[y + 2, x + 2] += r21 + r22 - r20
                        dst[y + 2, x + 3] -= r23
                        dst[y + 3, x] += r30
                        dst[y + 3, x + 1] += r31 - r32 + r33
                        dst[y + 3, x + 2] += r31 + r32 - r30
                        dst[y + 3, x + 3] -= r33


_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])


def _winograd_weights(weight: np.ndarray) -> np.ndarray:
    """(F, C, 3, 3) -> U (16, F, C4) = G g G^T per filter and channel, float32."""
    n_filters, channels = weight.shape[:2]
    u = np.einsum("ak,fckl,bl->abfc", _G, weight.astype(np.float64), _G)
    padded = np.zeros((16, n_filters, -(-channels // 4) * 4), np.float32)
    padded[:, :, :channels] = u.reshape(16, n_filters, channels)
    return padded


def _images_per_task(n_batch: int, tiles: int) -> int:
    """Images per Winograd work item: rows of about
    ``config.WINOGRAD_TILES_PER_TASK`` tiles, and a task count that is
    a multiple of the thread count."""
    threads = numba.get_num_threads()
    n_tasks = -(-n_batch * tiles // config.WINOGRAD_TILES_PER_TASK)
    n_tasks = max(1, -(-n_tasks // threads) * threads)
    return -(-n_batch // n_tasks)


def forward(x4, weight, bias, pads, stride, dilation, mode, out):
    """out (N, F, OH, OW) = conv2d of already-validated finite float32 arrays with a
    3x3 kernel at stride 1, dilation 1."""
    n_batch, _, oh, ow = out.shape
    width = -(-(x4.shape[3] + pads[2] + pads[3]) // stride[1])
    geo = Planes(x4, pads, mode, weight.shape[2:], stride, dilation, 2 * width + 8)
    th, tw = -(-oh // 2), -(-ow // 2)
    per_task = _images_per_task(n_batch, th * tw)
    plane_size = geo.image_size // x4.shape[1]
    _winograd_planes(
        geo.planes,
        geo.image_size,
        plane_size,
        geo.width,
        _winograd_weights(weight),
        bias,
        th,
        tw,
        per_task,
        out,
    )
    return out


def grad_input_padded(g, w, x_shape, pads, stride, dilation):
    """The gradient of the padded input, (N, C, 2*th + 2, 2*tw + 2) with ``th, tw``
    the tile counts (at least HP x WP; the caller crops or folds the padding)."""
    n_batch, channels = x_shape[0], x_shape[1]
    oh, ow = g.shape[2], g.shape[3]
    th, tw = -(-oh // 2), -(-ow // 2)
    gxp = np.zeros((n_batch, channels, 2 * th + 2, 2 * tw + 2), np.float32)
    u_t = _winograd_weights(np.ascontiguousarray(w.transpose(1, 0, 2, 3)))
    _winograd_grad_input(g, u_t, th, tw, _images_per_task(n_batch, th * tw), gxp)
    return gxp
