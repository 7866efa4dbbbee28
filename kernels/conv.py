"""2-D convolution (cross-correlation, as PyTorch and Keras compute it), and gradients.

How the loops are laid out
--------------------------
The direct pass, :func:`_conv_planes`, computes

    out[n, f, oy, ox] = bias[f] + sum_{c, ky, kx} weight[f, c, ky, kx]
                                  * xpad[n, c, oy * sh + ky * dh, ox * sw + kx * dw]

over *phase planes*: the padded input is split by row phase ``y % sh`` and column
phase ``x % sw`` into ``sh * sw`` planes of ``ceil(Hp / sh) x ceil(Wp / sw)`` pixels
(at stride 1, one plane: a padded copy). In a plane every tap ``(c, ky, kx)`` is a
constant *offset*, and a block of output rows, read as one flat run
``q = oy * L + ox`` (``L`` the plane width), is ``sum_t w_t * plane[offset_t + q]``: a
unit-stride loop that LLVM vectorises at any stride (a strided read in the inner loop
would not) and for any padding mode (the planes are gathered through the padding's
index maps, so padded cells are real zeros or copies and NaN/inf propagate exactly as
in the padded formula). Wide images take one output row per block and accumulate
straight into ``out``; small images take several rows per block and drop the
``L - OW`` columns past the right edge.

Each pass over a block sums 8 taps (or 4, for the remainder) for 4 filters at once, so
every input load feeds 4 filters and each accumulator row is loaded and stored once per
8 taps.

3x3 stride-1 layers with >= 8 channels and filters (a CNN's hidden layers) use Winograd
F(2x2, 3x3) instead, 16 multiplications per 2x2 output tile and channel instead of 36,
with the same 8-tap loop for the sum over channels; inputs that are not finite take the
direct path, whose NaN/inf pattern is the formula's.

The gradient with respect to the input is the convolution of ``grad_out`` (with
``stride - 1`` zeros between its pixels) with the flipped, transposed weights, or on
the Winograd path that path's exact adjoint (no padded copy of ``grad_out`` needed);
for ``padding_mode != "zeros"`` the gradient of the padded input is folded back by
:func:`kernels.pad2d_backward`. The gradient with respect to the weights gathers, per
image, the taps of each output pixel into a (pixels, taps) scratch and accumulates
``grad_out[f, p] * taps[p, :]`` with the same loop.

Small images at stride 1 (a training batch of LeNet-sized images) use *wide planes*
instead: channel ``c`` is one plane ``(HP, N * WP)`` whose row ``y`` holds row ``y`` of
every padded image side by side, so one run of the same 8-tap loop covers an output row
of many images (over one 28x28 image a pass was mostly fixed cost). Their grad weight
is, per (filter, tap), a long dot product of ``grad_out`` laid out the same way with
the tap's run, compiled with ``reassoc`` so LLVM splits it into vector lanes; the
dropped columns put zeros against real pixels there, so only finite inputs take it.
With zero padding an image's slot holds only its left padding and its pixels (its right
padding is the next slot's left), and a tap whose row is padding is left out of that
output row's sum. For LeNet's second layer's input gradient (a 5x5 flipped kernel over
``grad_out`` padded by 4) that is 43 M multiply-adds instead of 77 M.

Weights that are not finite make the input gradient take a plain scatter,
:func:`_grad_input_scatter`: the convolution form would multiply its zero padding by
inf and report NaN where the formula (and PyTorch) has none.

Parallel loops (``prange``) run over (image, block of rows), over (image, channel) or
over chunks of images, so no two threads write the same element; see ``_jit.py`` for
the threading layer.
"""

from __future__ import annotations

import numba
import numpy as np

from . import _checks
from ._jit import njit, njit_parallel, njit_reassoc, njit_reassoc_parallel, prange
from .padding import _check_mode_geometry, _maps, pad2d_backward
from .shapes import _output_hw, resolve_padding

__all__ = ["conv2d", "conv2d_backward", "conv2d_grad_input", "conv2d_grad_weight"]

_BLOCK = 1024  # target flat length of one work item (output rows * plane width)
_SMALL_IMAGE = 1600  # padded pixels up to which stride-1 passes run several images
_WIDE_CHUNK = 1024  # values of one grad-weight block on wide planes
_WIDE_ACC = 16384  # values of one wide work item's sums (filters * images * width)


# ------------------------------------------------------------------------ jitted loops


@njit_parallel
def _gather_planes(
    x,
    rowmap,
    colmap,
    run_lo,
    run_hi,
    run_src,
    sh,
    sw,
    hy,
    width,
    plane_size,
    zeros,
    planes,
):
    """planes[((n*C + c)*sh*sw + py*sw + px)*plane_size + y*width + j]
    = xpad[n, c, y*sh + py, j*sw + px], through the padding's index maps (-1: zero).

    Columns ``[run_lo, run_hi)`` of phase ``px`` read the unpadded row at
    ``run_src + k * sw``; only the padded columns around them use ``colmap`` (all zeros
    when ``zeros``)."""
    n_batch, channels = x.shape[0], x.shape[1]
    for nc in prange(n_batch * channels):
        n = nc // channels
        c = nc % channels
        for py in range(sh):
            for px in range(sw):
                start = (nc * sh * sw + py * sw + px) * plane_size
                plane = planes[start : start + plane_size]
                if zeros:
                    plane[:] = 0.0
                else:
                    plane[hy * width :] = 0.0  # slack read by dropped columns
                lo, hi, first = run_lo[px], run_hi[px], run_src[px]
                for y in range(hy):
                    src_row = rowmap[y * sh + py]
                    if src_row < 0:
                        if not zeros:
                            plane[y * width : (y + 1) * width] = 0.0
                        continue
                    dst = plane[y * width : (y + 1) * width]
                    src = x[n, c, src_row]
                    if not zeros:
                        for j in range(lo):
                            dst[j] = src[colmap[px, j]]
                        for j in range(hi, width):
                            dst[j] = src[colmap[px, j]]
                    if sw == 1:
                        inner = src[first : first + hi - lo]
                        for k in range(hi - lo):
                            dst[lo + k] = inner[k]
                    else:
                        for k in range(hi - lo):
                            dst[lo + k] = src[first + k * sw]


@njit
def _rows2(acc_a, acc_b, planes, offs, wa, wb, t, q0, blen, first):
    """acc_a += sum of 8 taps with weights wa[t:t+8], acc_b likewise (shared loads)."""
    r0 = planes[offs[t] + q0 : offs[t] + q0 + blen]
    r1 = planes[offs[t + 1] + q0 : offs[t + 1] + q0 + blen]
    r2 = planes[offs[t + 2] + q0 : offs[t + 2] + q0 + blen]
    r3 = planes[offs[t + 3] + q0 : offs[t + 3] + q0 + blen]
    r4 = planes[offs[t + 4] + q0 : offs[t + 4] + q0 + blen]
    r5 = planes[offs[t + 5] + q0 : offs[t + 5] + q0 + blen]
    r6 = planes[offs[t + 6] + q0 : offs[t + 6] + q0 + blen]
    r7 = planes[offs[t + 7] + q0 : offs[t + 7] + q0 + blen]
    a0, a1, a2, a3 = wa[t], wa[t + 1], wa[t + 2], wa[t + 3]
    a4, a5, a6, a7 = wa[t + 4], wa[t + 5], wa[t + 6], wa[t + 7]
    b0, b1, b2, b3 = wb[t], wb[t + 1], wb[t + 2], wb[t + 3]
    b4, b5, b6, b7 = wb[t + 4], wb[t + 5], wb[t + 6], wb[t + 7]
    if first:
        for q in range(blen):
            v0, v1, v2, v3 = r0[q], r1[q], r2[q], r3[q]
            v4, v5, v6, v7 = r4[q], r5[q], r6[q], r7[q]
            acc_a[q] = ((a0 * v0 + a1 * v1) + (a2 * v2 + a3 * v3)) + (
                (a4 * v4 + a5 * v5) + (a6 * v6 + a7 * v7)
            )
            acc_b[q] = ((b0 * v0 + b1 * v1) + (b2 * v2 + b3 * v3)) + (
                (b4 * v4 + b5 * v5) + (b6 * v6 + b7 * v7)
            )
    else:
        for q in range(blen):
            v0, v1, v2, v3 = r0[q], r1[q], r2[q], r3[q]
            v4, v5, v6, v7 = r4[q], r5[q], r6[q], r7[q]
            acc_a[q] += ((a0 * v0 + a1 * v1) + (a2 * v2 + a3 * v3)) + (
                (a4 * v4 + a5 * v5) + (a6 * v6 + a7 * v7)
            )
            acc_b[q] += ((b0 * v0 + b1 * v1) + (b2 * v2 + b3 * v3)) + (
                (b4 * v4 + b5 * v5) + (b6 * v6 + b7 * v7)
            )


@njit
def _rows4(
    acc_a, acc_b, acc_c, acc_d, planes, offs, wa, wb, wc, wd, t, q0, blen, first
):
    """Four filters, 8 taps each, sharing every load of the 8 input rows."""
    r0 = planes[offs[t] + q0 : offs[t] + q0 + blen]
    r1 = planes[offs[t + 1] + q0 : offs[t + 1] + q0 + blen]
    r2 = planes[offs[t + 2] + q0 : offs[t + 2] + q0 + blen]
    r3 = planes[offs[t + 3] + q0 : offs[t + 3] + q0 + blen]
    r4 = planes[offs[t + 4] + q0 : offs[t + 4] + q0 + blen]
    r5 = planes[offs[t + 5] + q0 : offs[t + 5] + q0 + blen]
    r6 = planes[offs[t + 6] + q0 : offs[t + 6] + q0 + blen]
    r7 = planes[offs[t + 7] + q0 : offs[t + 7] + q0 + blen]
    a0, a1, a2, a3 = wa[t], wa[t + 1], wa[t + 2], wa[t + 3]
    a4, a5, a6, a7 = wa[t + 4], wa[t + 5], wa[t + 6], wa[t + 7]
    b0, b1, b2, b3 = wb[t], wb[t + 1], wb[t + 2], wb[t + 3]
    b4, b5, b6, b7 = wb[t + 4], wb[t + 5], wb[t + 6], wb[t + 7]
    c0, c1, c2, c3 = wc[t], wc[t + 1], wc[t + 2], wc[t + 3]
    c4, c5, c6, c7 = wc[t + 4], wc[t + 5], wc[t + 6], wc[t + 7]
    d0, d1, d2, d3 = wd[t], wd[t + 1], wd[t + 2], wd[t + 3]
    d4, d5, d6, d7 = wd[t + 4], wd[t + 5], wd[t + 6], wd[t + 7]
    if first:
        for q in range(blen):
            v0, v1, v2, v3 = r0[q], r1[q], r2[q], r3[q]
            v4, v5, v6, v7 = r4[q], r5[q], r6[q], r7[q]
            acc_a[q] = ((a0 * v0 + a1 * v1) + (a2 * v2 + a3 * v3)) + (
                (a4 * v4 + a5 * v5) + (a6 * v6 + a7 * v7)
            )
            acc_b[q] = ((b0 * v0 + b1 * v1) + (b2 * v2 + b3 * v3)) + (
                (b4 * v4 + b5 * v5) + (b6 * v6 + b7 * v7)
            )
            acc_c[q] = ((c0 * v0 + c1 * v1) + (c2 * v2 + c3 * v3)) + (
                (c4 * v4 + c5 * v5) + (c6 * v6 + c7 * v7)
            )
            acc_d[q] = ((d0 * v0 + d1 * v1) + (d2 * v2 + d3 * v3)) + (
                (d4 * v4 + d5 * v5) + (d6 * v6 + d7 * v7)
            )
    else:
        for q in range(blen):
            v0, v1, v2, v3 = r0[q], r1[q], r2[q], r3[q]
            v4, v5, v6, v7 = r4[q], r5[q], r6[q], r7[q]
            acc_a[q] += ((a0 * v0 + a1 * v1) + (a2 * v2 + a3 * v3)) + (
                (a4 * v4 + a5 * v5) + (a6 * v6 + a7 * v7)
            )
            acc_b[q] += ((b0 * v0 + b1 * v1) + (b2 * v2 + b3 * v3)) + (
                (b4 * v4 + b5 * v5) + (b6 * v6 + b7 * v7)
            )
            acc_c[q] += ((c0 * v0 + c1 * v1) + (c2 * v2 + c3 * v3)) + (
                (c4 * v4 + c5 * v5) + (c6 * v6 + c7 * v7)
            )
            acc_d[q] += ((d0 * v0 + d1 * v1) + (d2 * v2 + d3 * v3)) + (
                (d4 * v4 + d5 * v5) + (d6 * v6 + d7 * v7)
            )


@njit
def _rows1(acc, planes, offs, wa, t, q0, blen, first):
    """acc += sum of 8 taps with weights wa[t:t+8]."""
    r0 = planes[offs[t] + q0 : offs[t] + q0 + blen]
    r1 = planes[offs[t + 1] + q0 : offs[t + 1] + q0 + blen]
    r2 = planes[offs[t + 2] + q0 : offs[t + 2] + q0 + blen]
    r3 = planes[offs[t + 3] + q0 : offs[t + 3] + q0 + blen]
    r4 = planes[offs[t + 4] + q0 : offs[t + 4] + q0 + blen]
    r5 = planes[offs[t + 5] + q0 : offs[t + 5] + q0 + blen]
    r6 = planes[offs[t + 6] + q0 : offs[t + 6] + q0 + blen]
    r7 = planes[offs[t + 7] + q0 : offs[t + 7] + q0 + blen]
    a0, a1, a2, a3 = wa[t], wa[t + 1], wa[t + 2], wa[t + 3]
    a4, a5, a6, a7 = wa[t + 4], wa[t + 5], wa[t + 6], wa[t + 7]
    if first:
        for q in range(blen):
            acc[q] = ((a0 * r0[q] + a1 * r1[q]) + (a2 * r2[q] + a3 * r3[q])) + (
                (a4 * r4[q] + a5 * r5[q]) + (a6 * r6[q] + a7 * r7[q])
            )
    else:
        for q in range(blen):
            acc[q] += ((a0 * r0[q] + a1 * r1[q]) + (a2 * r2[q] + a3 * r3[q])) + (
                (a4 * r4[q] + a5 * r5[q]) + (a6 * r6[q] + a7 * r7[q])
            )


@njit
def _rows4_t4(
    acc_a, acc_b, acc_c, acc_d, planes, offs, wa, wb, wc, wd, t, q0, blen, first
):
    """The same with 4 taps (the rest of a tap count that is not a multiple of 8)."""
    r0 = planes[offs[t] + q0 : offs[t] + q0 + blen]
    r1 = planes[offs[t + 1] + q0 : offs[t + 1] + q0 + blen]
    r2 = planes[offs[t + 2] + q0 : offs[t + 2] + q0 + blen]
    r3 = planes[offs[t + 3] + q0 : offs[t + 3] + q0 + blen]
    a0, a1, a2, a3 = wa[t], wa[t + 1], wa[t + 2], wa[t + 3]
    b0, b1, b2, b3 = wb[t], wb[t + 1], wb[t + 2], wb[t + 3]
    c0, c1, c2, c3 = wc[t], wc[t + 1], wc[t + 2], wc[t + 3]
    d0, d1, d2, d3 = wd[t], wd[t + 1], wd[t + 2], wd[t + 3]
    if first:
        for q in range(blen):
            v0, v1, v2, v3 = r0[q], r1[q], r2[q], r3[q]
            acc_a[q] = (a0 * v0 + a1 * v1) + (a2 * v2 + a3 * v3)
            acc_b[q] = (b0 * v0 + b1 * v1) + (b2 * v2 + b3 * v3)
            acc_c[q] = (c0 * v0 + c1 * v1) + (c2 * v2 + c3 * v3)
            acc_d[q] = (d0 * v0 + d1 * v1) + (d2 * v2 + d3 * v3)
    else:
        for q in range(blen):
            v0, v1, v2, v3 = r0[q], r1[q], r2[q], r3[q]
            acc_a[q] += (a0 * v0 + a1 * v1) + (a2 * v2 + a3 * v3)
            acc_b[q] += (b0 * v0 + b1 * v1) + (b2 * v2 + b3 * v3)
            acc_c[q] += (c0 * v0 + c1 * v1) + (c2 * v2 + c3 * v3)
            acc_d[q] += (d0 * v0 + d1 * v1) + (d2 * v2 + d3 * v3)


@njit
def _rows2_t4(acc_a, acc_b, planes, offs, wa, wb, t, q0, blen, first):
    """The same with 4 taps (the rest of a tap count that is not a multiple of 8)."""
    r0 = planes[offs[t] + q0 : offs[t] + q0 + blen]
    r1 = planes[offs[t + 1] + q0 : offs[t + 1] + q0 + blen]
    r2 = planes[offs[t + 2] + q0 : offs[t + 2] + q0 + blen]
    r3 = planes[offs[t + 3] + q0 : offs[t + 3] + q0 + blen]
    a0, a1, a2, a3 = wa[t], wa[t + 1], wa[t + 2], wa[t + 3]
    b0, b1, b2, b3 = wb[t], wb[t + 1], wb[t + 2], wb[t + 3]
    if first:
        for q in range(blen):
            v0, v1, v2, v3 = r0[q], r1[q], r2[q], r3[q]
            acc_a[q] = (a0 * v0 + a1 * v1) + (a2 * v2 + a3 * v3)
            acc_b[q] = (b0 * v0 + b1 * v1) + (b2 * v2 + b3 * v3)
    else:
        for q in range(blen):
            v0, v1, v2, v3 = r0[q], r1[q], r2[q], r3[q]
            acc_a[q] += (a0 * v0 + a1 * v1) + (a2 * v2 + a3 * v3)
            acc_b[q] += (b0 * v0 + b1 * v1) + (b2 * v2 + b3 * v3)


@njit
def _rows1_t4(acc, planes, offs, wa, t, q0, blen, first):
    """The same with 4 taps (the rest of a tap count that is not a multiple of 8)."""
    r0 = planes[offs[t] + q0 : offs[t] + q0 + blen]
    r1 = planes[offs[t + 1] + q0 : offs[t + 1] + q0 + blen]
    r2 = planes[offs[t + 2] + q0 : offs[t + 2] + q0 + blen]
    r3 = planes[offs[t + 3] + q0 : offs[t + 3] + q0 + blen]
    a0, a1, a2, a3 = wa[t], wa[t + 1], wa[t + 2], wa[t + 3]
    if first:
        for q in range(blen):
            acc[q] = (a0 * r0[q] + a1 * r1[q]) + (a2 * r2[q] + a3 * r3[q])
    else:
        for q in range(blen):
            acc[q] += (a0 * r0[q] + a1 * r1[q]) + (a2 * r2[q] + a3 * r3[q])


@njit
def _all_filters(rows, base, step, planes, offs, wtaps, q0, blen, first):
    """rows[base + f * step][:blen] += sum_t wtaps[f, t] * planes[offs[t] + q0 + q].

    Four filters per pass where possible, then two, then one; 8 taps per pass and a last
    pass of 4 (the tap count is a multiple of 4). With ``first`` the rows are
    overwritten instead (no zeroing pass).
    """
    n_filters, n_taps = wtaps.shape
    n8 = n_taps - n_taps % 8
    f = 0
    while f + 4 <= n_filters:
        ra, rb = rows[base + f * step], rows[base + (f + 1) * step]
        rc, rd = rows[base + (f + 2) * step], rows[base + (f + 3) * step]
        wa, wb, wc, wd = wtaps[f], wtaps[f + 1], wtaps[f + 2], wtaps[f + 3]
        for t in range(0, n8, 8):
            _rows4(
                ra,
                rb,
                rc,
                rd,
                planes,
                offs,
                wa,
                wb,
                wc,
                wd,
                t,
                q0,
                blen,
                first and t == 0,
            )
        if n8 < n_taps:
            _rows4_t4(
                ra,
                rb,
                rc,
                rd,
                planes,
                offs,
                wa,
                wb,
                wc,
                wd,
                n8,
                q0,
                blen,
                first and n8 == 0,
            )
        f += 4
    if f + 2 <= n_filters:
        ra, rb = rows[base + f * step], rows[base + (f + 1) * step]
        wa, wb = wtaps[f], wtaps[f + 1]
        for t in range(0, n8, 8):
            _rows2(ra, rb, planes, offs, wa, wb, t, q0, blen, first and t == 0)
        if n8 < n_taps:
            _rows2_t4(ra, rb, planes, offs, wa, wb, n8, q0, blen, first and n8 == 0)
        f += 2
    if f < n_filters:
        ra, wa = rows[base + f * step], wtaps[f]
        for t in range(0, n8, 8):
            _rows1(ra, planes, offs, wa, t, q0, blen, first and t == 0)
        if n8 < n_taps:
            _rows1_t4(ra, planes, offs, wa, n8, q0, blen, first and n8 == 0)


@njit_parallel
def _conv_planes(
    planes, image_size, tap_offs, zero_off, wtaps, bias, width, rows_per_block, out
):
    """out (N, F, OH, OW) from phase planes; wtaps (F, T4) zero beyond the real taps.

    Taps past the real ones point at the zero tail of ``planes`` with weight 0, so every
    pass sums exactly 8 (or 4) taps. One output row per block (wide images)
    accumulates straight into ``out``; several rows per block (small images) go
    through a scratch that holds the plane's full width and drops the columns past the
    edge.
    """
    n_batch, n_filters, oh, ow = out.shape
    n_taps = tap_offs.shape[0]  # real taps
    n_taps4 = wtaps.shape[1]
    blocks = (oh + rows_per_block - 1) // rows_per_block
    out_rows = out.reshape(n_batch * n_filters * oh, ow)
    for task in prange(n_batch * blocks):
        n = task // blocks
        oy0 = (task % blocks) * rows_per_block
        n_rows = min(rows_per_block, oh - oy0)
        q0 = oy0 * width
        blen = ow if rows_per_block == 1 else n_rows * width
        offs = np.empty(n_taps4, np.int64)
        for t in range(n_taps):
            offs[t] = n * image_size + tap_offs[t]
        for t in range(n_taps, n_taps4):
            offs[t] = zero_off - q0  # reads the zero tail
        if rows_per_block == 1:
            base = n * n_filters * oh + oy0
            for f in range(n_filters):
                out_rows[base + f * oh, :] = bias[f]
            _all_filters(out_rows, base, oh, planes, offs, wtaps, q0, blen, False)
            continue
        acc = np.empty((n_filters, blen), np.float32)
        for f in range(n_filters):
            acc[f, :] = bias[f]
        _all_filters(acc, 0, 1, planes, offs, wtaps, q0, blen, False)
        for f in range(n_filters):
            for r in range(n_rows):
                out[n, f, oy0 + r, :] = acc[f, r * width : r * width + ow]


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
        _all_filters(acc, 0, 1, planes, offs, w_row, q0, blen, False)
        for b in range(nb):
            for f in range(n_filters):
                out[n0 + b, f, oy, :] = acc[f, b * wp : b * wp + ow]


@njit_reassoc_parallel
def _grad_bias(g, out):
    """out[f] = sum of g[:, f] (g: N, F, pixels), accumulated in float64. The sum runs
    in vector lanes (``reassoc``): a different order of float64 additions of float32
    values, and inf or NaN in ``g`` still give inf or NaN."""
    n_batch, n_filters, n_pixels = g.shape
    for f in prange(n_filters):
        total = 0.0
        for n in range(n_batch):
            row = g[n, f]
            for q in range(n_pixels):
                total += np.float64(row[q])
        out[f] = total


@njit_parallel
def _grad_weight_planes(
    planes, image_size, tap_offs, width, grad_out, n_chunks, partial
):
    """partial[k, f, t] = sum over the images of chunk k and every output pixel p of
    grad_out[n, f, p] * xpad-tap t at p. The caller sums over k."""
    n_batch, n_filters, oh, ow = grad_out.shape
    n_taps = tap_offs.shape[0]
    n_pix = oh * ow
    n_pix4 = ((n_pix + 3) // 4) * 4
    per_chunk = (n_batch + n_chunks - 1) // n_chunks
    for k in prange(n_chunks):
        acc = partial[k]
        for f in range(n_filters):
            for t in range(n_taps):
                acc[f, t] = 0.0
        cols = np.zeros((n_pix4, n_taps), np.float32)  # rows past n_pix stay zero
        g = np.zeros((n_filters, n_pix4), np.float32)
        row_offs = np.empty(n_pix4, np.int64)
        for p in range(n_pix4):
            row_offs[p] = p * n_taps
        flat_cols = cols.reshape(n_pix4 * n_taps)
        for n in range(k * per_chunk, min(n_batch, (k + 1) * per_chunk)):
            base = n * image_size
            for t in range(n_taps):
                o = base + tap_offs[t]
                for oy in range(oh):
                    src = planes[o + oy * width : o + oy * width + ow]
                    for ox in range(ow):
                        cols[oy * ow + ox, t] = src[ox]
            for f in range(n_filters):
                src_g = grad_out[n, f]
                for oy in range(oh):
                    for ox in range(ow):
                        g[f, oy * ow + ox] = src_g[oy, ox]
            _all_filters(acc, 0, 1, flat_cols, row_offs, g, 0, n_taps, False)


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
            _dots_all_filters(acc, gpad[n], 0, planes, tap_offs, n * image_size, length)


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


@njit_parallel
def _grad_input_scatter(g, w, sh, sw, dh, dw, gxp):
    """gxp (N, C, HP, WP), the gradient of the padded input, by the formula's own
    scatter: ``gxp[n, c, oy*sh + ky*dh, ox*sw + kx*dw] += w[f, c, ky, kx] * g[n, f, oy,
    ox]``. Slow; for weights that are not finite, where the flipped-kernel convolution
    would multiply its zero padding by inf and report NaN the formula does not have."""
    n_batch, n_filters, oh, ow = g.shape
    channels, kh, kw = w.shape[1], w.shape[2], w.shape[3]
    for nc in prange(n_batch * channels):
        n = nc // channels
        c = nc % channels
        dst = gxp[n, c]
        dst[:, :] = 0.0
        for f in range(n_filters):
            for ky in range(kh):
                for kx in range(kw):
                    wt = w[f, c, ky, kx]
                    for oy in range(oh):
                        row = dst[oy * sh + ky * dh]
                        src = g[n, f, oy]
                        for ox in range(ow):
                            row[ox * sw + kx * dw] += wt * src[ox]


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
            _all_filters(m, xi * n_filters, 1, v, offs, u[xi], 0, length, True)
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
            _all_filters(sums, xi * channels, 1, z, offs, u_t[xi], 0, length, True)
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
    """Images per Winograd work item: rows of about 512 tiles, and a task count that is
    a multiple of the thread count."""
    threads = numba.get_num_threads()
    n_tasks = -(-n_batch * tiles // 512)
    n_tasks = max(1, -(-n_tasks // threads) * threads)
    return -(-n_batch // n_tasks)


def _use_winograd(x4, weight, stride, dilation) -> bool:
    """Winograd pays off for 3x3 stride-1 layers with many channels and filters. It
    mixes each input pixel into 4x4 patches, so an inf would turn into NaN in outputs
    that never saw it: non-finite inputs take the direct path."""
    _, _, kh, kw = weight.shape
    if (kh, kw) != (3, 3) or stride != (1, 1) or dilation != (1, 1):
        return False
    if min(weight.shape[:2]) < 8:
        return False
    return bool(np.isfinite(x4.sum()) and np.isfinite(weight.sum()))


# ---------------------------------------------------------------------------- geometry


class _Planes:
    """Phase planes of a padded input and the offset of every tap inside them."""

    def __init__(self, x4, pads, mode, kernel_hw, stride, dilation, extra_zero):
        n_batch, channels, in_h, in_w = x4.shape
        rowmap, colmap = _maps(in_h, in_w, pads, mode)
        kh, kw = kernel_hw
        sh, sw = stride
        dh, dw = dilation
        hp, wp = rowmap.shape[0], colmap.shape[0]
        hy, width = -(-hp // sh), -(-wp // sw)
        slack = (kw - 1) * dw // sw + 1  # garbage columns of the last row read past it
        plane_size = hy * width + slack
        self.width, self.hy = width, hy
        self.image_size = channels * sh * sw * plane_size
        self.zero_off = n_batch * self.image_size
        planes = np.empty(self.zero_off + extra_zero, np.float32)
        # per-plane slack and the zero tail (dummy taps, garbage reads) must be zeros
        planes[self.zero_off :] = 0.0
        rows_full = np.full(hy * sh, -1, np.int64)
        rows_full[:hp] = rowmap
        cols_full = np.full(width * sw, -1, np.int64)
        cols_full[:wp] = colmap
        colphase = np.ascontiguousarray(cols_full.reshape(width, sw).T)  # (sw, width)
        run_lo = np.zeros(sw, np.int64)
        run_hi = np.zeros(sw, np.int64)
        run_src = np.zeros(sw, np.int64)
        for px in range(sw):
            run_lo[px], run_hi[px], run_src[px] = _interior_run(
                in_w, pads[2], px, sw, width
            )
        _gather_planes(
            x4,
            rows_full,
            colphase,
            run_lo,
            run_hi,
            run_src,
            sh,
            sw,
            hy,
            width,
            plane_size,
            mode == "zeros",
            planes,
        )
        self.planes = planes
        # tap (c, ky, kx), in weight order: its plane and its place in that plane
        c = np.arange(channels, dtype=np.int64)[:, None, None]
        ky = np.arange(kh, dtype=np.int64)[None, :, None] * dh
        kx = np.arange(kw, dtype=np.int64)[None, None, :] * dw
        plane = c * sh * sw + (ky % sh) * sw + kx % sw
        offs = (plane * plane_size + (ky // sh) * width + kx // sw).reshape(-1)
        self.tap_offs = offs


def _interior_run(
    in_w: int, left: int, px: int, step: int, width: int
) -> tuple[int, int, int]:
    """Plane columns ``[lo, hi)`` of phase ``px`` that read the unpadded input, and the
    input column the first one reads. Inside the input every padding mode is the
    identity, so the gather copies this run with a fixed-stride loop and looks up only
    the padded columns through the index map."""
    lo = min(max(0, -((px - left) // step)), width)  # ceil((left - px) / step)
    hi = min(max(lo, -((px - left - in_w) // step)), width)
    return lo, hi, lo * step + px - left


def _rows_per_block(oh: int, width: int) -> int:
    return max(1, min(oh, _BLOCK // max(width, 1)))


def _tap_weights(weight: np.ndarray) -> np.ndarray:
    """(F, C, KH, KW) -> (F, T4): taps in (c, ky, kx) order, zero-padded to a multiple
    of 4."""
    n_filters = weight.shape[0]
    taps = weight.reshape(n_filters, -1)
    padded = np.zeros((n_filters, -(-taps.shape[1] // 4) * 4), np.float32)
    padded[:, : taps.shape[1]] = taps
    return padded


def _use_wide(x4: np.ndarray, pads, stride, kernel_hw) -> bool:
    """Small images at stride 1 with at least 16 taps per filter take the wide planes
    (many images per pass). Measured at batch 128, 2 threads: LeNet 1 -> 6, 5x5 on
    28x28 forward 1.0 -> 0.7 ms, 6 -> 16 on 14x14 forward 1.9 -> 1.0 ms and grad
    weight 2.5 -> 1.3 ms; but 1 -> 32, 3x3 (9 taps) was faster per image (forward
    3.7 vs 5.7 ms, grad weight 4.3 vs 8.4 ms)."""
    n_batch, channels, in_h, in_w = x4.shape
    hp, wp = in_h + pads[0] + pads[1], in_w + pads[2] + pads[3]
    return (
        stride == (1, 1)
        and n_batch > 1
        and min(pads) >= 0
        and hp * wp <= _SMALL_IMAGE
        and channels * kernel_hw[0] * kernel_hw[1] >= 16
    )


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


def _run_conv_wide(x4, weight, bias, pads, dilation, mode, out):
    n_filters = weight.shape[0]
    slot_max = x4.shape[3] + pads[2] + pads[3]
    per_task = max(1, min(x4.shape[0], _WIDE_ACC // (slot_max * n_filters)))
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


def _run_conv(x4, weight, bias, pads, stride, dilation, mode, out_hw):
    """Convolution of already-validated float32 arrays; pads may be negative (crop)."""
    n_batch = x4.shape[0]
    n_filters, _, kh, kw = weight.shape
    oh, ow = out_hw
    width = -(-(x4.shape[3] + pads[2] + pads[3]) // stride[1])
    rows = _rows_per_block(oh, width)
    out = np.empty((n_batch, n_filters, oh, ow), np.float32)
    if _use_winograd(x4, weight, stride, dilation):
        geo = _Planes(x4, pads, mode, (kh, kw), stride, dilation, 2 * width + 8)
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
    if _use_wide(x4, pads, stride, (kh, kw)):
        return _run_conv_wide(x4, weight, bias, pads, dilation, mode, out)
    geo = _Planes(x4, pads, mode, (kh, kw), stride, dilation, rows * width + 8)
    _conv_planes(
        geo.planes,
        geo.image_size,
        geo.tap_offs,
        geo.zero_off,
        _tap_weights(weight),
        bias,
        geo.width,
        rows,
        out,
    )
    return out


# --------------------------------------------------------------------------- checks


class _Geometry:
    """Validated arguments of one convolution."""

    def __init__(self, x_shape, weight_shape, stride, padding, dilation, padding_mode):
        n_filters, channels, kh, kw = weight_shape
        if kh == 0 or kw == 0 or n_filters == 0 or channels == 0:
            raise ValueError(
                "`weight` must have a non-empty shape (F, C, KH, KW) with "
                "F, C, KH, KW >= 1. "
                f"Received: weight.shape={tuple(weight_shape)}"
            )
        if x_shape[1] != channels:
            raise ValueError(
                f"`x` has {x_shape[1]} channels but `weight` expects {channels}: "
                f"x.shape={tuple(x_shape)} (N, C, H, W), "
                f"weight.shape={tuple(weight_shape)} (F, C, KH, KW)."
            )
        self.stride = _checks.pair(stride, "stride")
        self.dilation = _checks.pair(dilation, "dilation")
        self.mode = _checks.padding_mode(padding_mode)
        in_hw = (int(x_shape[2]), int(x_shape[3]))
        self.pads = resolve_padding(
            padding, in_hw, (kh, kw), self.stride, self.dilation
        )
        # arguments checked and resolved above: the size arithmetic alone
        self.out_hw = _output_hw(
            in_hw, (int(kh), int(kw)), self.stride, self.pads, self.dilation
        )
        _check_mode_geometry(in_hw[0], in_hw[1], self.pads, self.mode, "padding")
        self.x_shape = tuple(int(v) for v in x_shape)
        self.weight_shape = tuple(int(v) for v in weight_shape)


def _weight4(weight: object) -> np.ndarray:
    w = _checks.as_float32(weight, "weight")
    if w.ndim != 4:
        raise ValueError(
            f"`weight` must have shape (F, C, KH, KW). Received: weight.shape={w.shape}"
        )
    return w


def _bias(bias: object, n_filters: int) -> np.ndarray:
    if bias is None:
        return np.zeros(n_filters, np.float32)
    b = _checks.as_float32(bias, "bias")
    if b.shape != (n_filters,):
        raise ValueError(
            f"`bias` must have shape (F,) = ({n_filters},), one value per filter. "
            f"Received: bias.shape={b.shape}"
        )
    return b


def _grad_out4(grad_out: object, expected: tuple[int, int, int, int]) -> np.ndarray:
    g = _checks.as_float32(grad_out, "grad_out")
    if g.shape != expected:
        raise ValueError(
            f"`grad_out` must have the convolution's output shape (N, F, OH, OW) = "
            f"{expected}. Received: grad_out.shape={g.shape}"
        )
    return g


# --------------------------------------------------------------------------- public API


def conv2d(
    x: object,
    weight: object,
    bias: object = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, int] = 1,
    padding_mode: str = "zeros",
) -> np.ndarray:
    """2-D cross-correlation (no kernel flip), as ``torch.nn.functional.conv2d`` does.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W), (C, H, W) or (H, W)
        Converted to C-contiguous float32. An image (H, W) needs ``C == 1``.
    weight : ndarray, shape (F, C, KH, KW)
        Rectangular kernels are fine.
    bias : ndarray, shape (F,), optional
    stride, dilation : int or (int, int)
    padding : int, (pad_h, pad_w), (top, bottom, left, right), "valid" or "same"
        ``"same"`` follows Keras/TensorFlow: output ``ceil(input / stride)``, the odd
        extra row/column at the bottom/right.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}

    Returns
    -------
    out : ndarray, shape (N, F, OH, OW), float32
        For an (H, W) or (C, H, W) input the leading axes that were added are dropped:
        (F, OH, OW), or (OH, OW) when F == 1 and x was (H, W).

    Raises
    ------
    ValueError, TypeError
        For a bad argument or an empty output, before any compute.

    Examples
    --------
    >>> x = np.arange(9, dtype=np.float32).reshape(3, 3)
    >>> conv2d(x, np.ones((1, 1, 2, 2)))
    array([[ 8., 12.],
           [20., 24.]], dtype=float32)
    >>> conv2d(x, np.ones((1, 1, 3, 3)), padding="same")[0]
    array([ 8., 15., 12.], dtype=float32)
    """
    x4, ndim = _checks.as_nchw(x, "x")
    w = _weight4(weight)
    geo = _Geometry(x4.shape, w.shape, stride, padding, dilation, padding_mode)
    b = _bias(bias, w.shape[0])
    out = _run_conv(x4, w, b, geo.pads, geo.stride, geo.dilation, geo.mode, geo.out_hw)
    return _checks.restore_rank(out, ndim)


def _grad_input(g, geo: _Geometry, w: np.ndarray) -> np.ndarray:
    n_batch, channels, in_h, in_w = geo.x_shape
    _, _, kh, kw = w.shape
    sh, sw = geo.stride
    dh, dw = geo.dilation
    top, bottom, left, right = geo.pads
    oh, ow = geo.out_hw
    hp, wp = in_h + top + bottom, in_w + left + right  # the padded input
    if not np.isfinite(w.sum()):
        gxp = np.empty((n_batch, channels, hp, wp), np.float32)
        _grad_input_scatter(g, w, sh, sw, dh, dw, gxp)
        if geo.mode == "zeros":
            return np.ascontiguousarray(gxp[:, :, top : top + in_h, left : left + in_w])
        return pad2d_backward(gxp, geo.pads, geo.mode)
    if (sh, sw) == (1, 1):
        gd = g
    else:  # stride - 1 zeros between output pixels
        gd = np.zeros(g.shape[:2] + ((oh - 1) * sh + 1, (ow - 1) * sw + 1), np.float32)
        gd[:, :, ::sh, ::sw] = g
    # flipped kernel, input and output channels swapped: the adjoint of the correlation
    if _use_winograd(g, w, geo.stride, geo.dilation):
        # the exact adjoint of the forward Winograd pass: no flipped-kernel convolution
        th, tw = -(-oh // 2), -(-ow // 2)
        gxp = np.zeros((n_batch, channels, 2 * th + 2, 2 * tw + 2), np.float32)
        u_t = _winograd_weights(np.ascontiguousarray(w.transpose(1, 0, 2, 3)))
        _winograd_grad_input(g, u_t, th, tw, _images_per_task(n_batch, th * tw), gxp)
        if geo.mode == "zeros":
            return np.ascontiguousarray(gxp[:, :, top : top + in_h, left : left + in_w])
        return pad2d_backward(
            np.ascontiguousarray(gxp[:, :, :hp, :wp]), geo.pads, geo.mode
        )
    w_t = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    zero_bias = np.zeros(channels, np.float32)
    gh, gw = gd.shape[2], gd.shape[3]
    span_h, span_w = (kh - 1) * dh, (kw - 1) * dw
    if geo.mode == "zeros":
        # only the unpadded window: pads may go negative, which crops
        pads = (span_h - top, in_h + top - gh, span_w - left, in_w + left - gw)
        return _run_conv(
            gd, w_t, zero_bias, pads, (1, 1), (dh, dw), "zeros", (in_h, in_w)
        )
    pads = (span_h, hp - gh, span_w, wp - gw)
    gxp = _run_conv(gd, w_t, zero_bias, pads, (1, 1), (dh, dw), "zeros", (hp, wp))
    return pad2d_backward(gxp, geo.pads, geo.mode)


def _use_dots(x4: np.ndarray, geo: _Geometry) -> bool:
    """Dot products (one per image, filter and tap) beat the gathered (pixels, taps)
    scratch when taps are few (LeNet's first layer, 25 taps: 3.4 -> 1.2 ms at batch
    128; with 150 taps the scratch was faster, 1.5 vs 2.7 ms) and images small (an
    image's planes stay in cache for all its dots). The zeros of the dropped columns
    meet real pixels, so the input must be finite."""
    n_taps = geo.weight_shape[1] * geo.weight_shape[2] * geo.weight_shape[3]
    small = geo.x_shape[2] * geo.x_shape[3] <= 4096
    return n_taps < 64 and small and bool(np.isfinite(x4.sum()))


def _grad_weight(g, x4: np.ndarray, geo: _Geometry) -> np.ndarray:
    n_filters, channels, kh, kw = geo.weight_shape
    n_chunks = max(1, min(x4.shape[0], numba.get_num_threads()))
    n_taps = channels * kh * kw
    partial = np.empty((n_chunks, n_filters, n_taps), np.float32)
    oh, ow = geo.out_hw
    # Wide planes pay off for many taps and few filters (LeNet 6 -> 16, 5x5: 2.3 ->
    # 1.8 ms; 32 -> 32, 3x3: 6.8 -> 6.1 ms); with 64 filters the per-image planes were
    # faster (128x32x14x14 -> 64, 3x3: 15.6 vs 13.4 ms); with few taps the dots are.
    wide = (
        _use_wide(x4, geo.pads, geo.stride, (kh, kw))
        and n_taps >= 64
        and n_filters <= 32
    )
    if wide and np.isfinite(x4.sum()):
        layout = _Wide(x4, geo.pads, geo.mode, (kh, kw), geo.dilation, 8)
        planes, tap_offs = layout.planes, layout.tap_offs
        n_batch, wp = x4.shape[0], layout.slot
        g_rows = np.zeros((n_filters, oh, n_batch, wp), np.float32)
        g_rows[:, :, :, :ow] = g.transpose(1, 2, 0, 3)
        _grad_weight_wide(
            planes, tap_offs, g_rows.reshape(n_filters, -1), _WIDE_CHUNK, partial
        )
        return partial.sum(axis=0).reshape(geo.weight_shape)
    if _use_dots(x4, geo):
        planes = _Planes(x4, geo.pads, geo.mode, (kh, kw), geo.stride, geo.dilation, 16)
        width = planes.width
        length = -(-oh * width // 8) * 8
        gpad = np.zeros((x4.shape[0], n_filters, length), np.float32)
        gpad[:, :, : oh * width].reshape(x4.shape[0], n_filters, oh, width)[
            :, :, :, :ow
        ] = g
        _grad_weight_dots(
            planes.planes, planes.image_size, planes.tap_offs, gpad, n_chunks, partial
        )
        return partial.sum(axis=0).reshape(geo.weight_shape)
    planes = _Planes(x4, geo.pads, geo.mode, (kh, kw), geo.stride, geo.dilation, 8)
    _grad_weight_planes(
        planes.planes,
        planes.image_size,
        planes.tap_offs,
        planes.width,
        g,
        n_chunks,
        partial,
    )
    return partial.sum(axis=0).reshape(geo.weight_shape)


def conv2d_grad_input(
    grad_out: object,
    x_shape: tuple[int, int, int, int],
    weight: object,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, int] = 1,
    padding_mode: str = "zeros",
) -> np.ndarray:
    """Gradient of :func:`conv2d` with respect to ``x``.

    Parameters
    ----------
    grad_out : ndarray, shape (N, F, OH, OW)
    x_shape : (N, C, H, W)
    weight : ndarray, shape (F, C, KH, KW)
    stride, padding, dilation, padding_mode : as given to :func:`conv2d`

    Returns
    -------
    grad_x : ndarray, shape (N, C, H, W), float32

    Examples
    --------
    >>> g = np.ones((1, 1, 2, 2), np.float32)
    >>> conv2d_grad_input(g, (1, 1, 3, 3), np.ones((1, 1, 2, 2)))[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]], dtype=float32)
    """
    shape = _checks.shape4(x_shape, "x_shape")
    w = _weight4(weight)
    geo = _Geometry(shape, w.shape, stride, padding, dilation, padding_mode)
    g = _grad_out4(grad_out, (shape[0], w.shape[0], *geo.out_hw))
    return _grad_input(g, geo, w)


def conv2d_grad_weight(
    grad_out: object,
    x: object,
    weight_shape: tuple[int, int, int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, int] = 1,
    padding_mode: str = "zeros",
) -> np.ndarray:
    """Gradient of :func:`conv2d` with respect to ``weight``.

    Parameters
    ----------
    grad_out : ndarray, shape (N, F, OH, OW)
    x : ndarray, shape (N, C, H, W)
    weight_shape : (F, C, KH, KW)
    stride, padding, dilation, padding_mode : as given to :func:`conv2d`

    Returns
    -------
    grad_weight : ndarray, shape (F, C, KH, KW), float32

    Examples
    --------
    >>> x = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    >>> conv2d_grad_weight(np.ones((1, 1, 2, 2)), x, (1, 1, 2, 2))[0, 0]
    array([[ 8., 12.],
           [20., 24.]], dtype=float32)
    """
    x4, _ = _checks.as_nchw(x, "x", allow_lower_rank=False)
    shape = _checks.shape4(weight_shape, "weight_shape")
    geo = _Geometry(x4.shape, shape, stride, padding, dilation, padding_mode)
    g = _grad_out4(grad_out, (x4.shape[0], shape[0], *geo.out_hw))
    return _grad_weight(g, x4, geo)


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
    """All gradients of :func:`conv2d`: ``(grad_x or None, grad_weight, grad_bias)``.

    Parameters
    ----------
    grad_out : ndarray, shape (N, F, OH, OW)
    x : ndarray, shape (N, C, H, W)
    weight : ndarray, shape (F, C, KH, KW)
    stride, padding, dilation, padding_mode : as given to :func:`conv2d`
    need_input_grad : bool
        False skips ``grad_x`` (a network's first layer), returning None in its place.

    Returns
    -------
    grad_x : ndarray, shape (N, C, H, W), float32, or None
    grad_weight : ndarray, shape (F, C, KH, KW), float32
    grad_bias : ndarray, shape (F,), float32

    Examples
    --------
    >>> x = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    >>> gx, gw, gb = conv2d_backward(np.ones((1, 1, 2, 2)), x, np.ones((1, 1, 2, 2)))
    >>> gx[0, 0, 1], gw[0, 0, 0]
    (array([2., 4., 2.], dtype=float32), array([ 8., 12.], dtype=float32))
    >>> gb
    array([4.], dtype=float32)
    """
    x4, _ = _checks.as_nchw(x, "x", allow_lower_rank=False)
    w = _weight4(weight)
    geo = _Geometry(x4.shape, w.shape, stride, padding, dilation, padding_mode)
    g = _grad_out4(grad_out, (x4.shape[0], w.shape[0], *geo.out_hw))
    grad_x = _grad_input(g, geo, w) if need_input_grad else None
    grad_weight = _grad_weight(g, x4, geo)
    grad_bias = np.empty(w.shape[0], np.float32)
    _grad_bias(g.reshape(g.shape[0], g.shape[1], -1), grad_bias)
    return grad_x, grad_weight, grad_bias
