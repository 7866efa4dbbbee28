"""2-D convolution as matrix products (im2col + BLAS sgemm), forward and both gradients.

For already-checked, C-contiguous float32 NCHW arrays, resolved pads ``(top, bottom,
left, right)``, stride and dilation pairs; nothing here validates (``kernels.conv``'s
public wrappers do). With ``K = C * KH * KW`` taps and ``P = OH * OW`` output pixels:

* forward: ``cols[n]`` is the (K, P) matrix of every output pixel's taps (numba
  gather, zero padding by bounds checks), and ``out[n] = weight(F, K) @ cols[n]`` is
  already NCHW: one ``np.matmul`` over a chunk of images, written in place;
* grad input: ``dcols[n] = weight.T (K, F) @ grad_out[n] (F, P)``, then ``col2im``
  adds every tap back onto the pixel it read (one thread per (image, channel) plane,
  so no two threads write the same element);
* grad weight: ``grad_weight(F, K) = sum_n grad_out[n] (F, P) @ cols[n].T``, as one
  sgemm per chunk over ``(Nc * P)`` (``cols`` laid out (K, Nc, P), ``grad_out``
  transposed to (F, Nc, P)): a long reduction dimension is what sgemm is fastest at.

Other padding modes go through :func:`kernels.pad2d` first (and
:func:`kernels.pad2d_backward` for the input gradient), then run with zero pads.

Memory: the im2col buffer is ``4 * K * P`` bytes per image (128x32x14x14, 3x3:
225 KB per image, 29 MB for the batch). :data:`COLS_BYTES` caps one chunk; a chunk
takes as many whole images as fit, and an image that alone exceeds the cap is done in
blocks of output rows (a 4K RGB photo with a 3x3 kernel would be a 0.9 GB buffer; it
is done in ~64 MB blocks instead).

When to use this path (for ``kernels.conv``'s ``_plan``)
--------------------------------------------------------
See the measurement table in the report of branch ``gemm`` and
``benchmarks/bench_gemm_rule.py``, which prints, per shape, the existing path's time
and this one's. Summary of the rule measured there (2-core shared VM, AVX-512
OpenBLAS 0.3.31, one BLAS thread unless said otherwise):

    RULE_PLACEHOLDER
"""

from __future__ import annotations

import numpy as np

from ._jit import njit_parallel, prange
from .padding import pad2d, pad2d_backward

__all__ = ["conv2d_gemm", "conv2d_grad_input_gemm", "conv2d_grad_weight_gemm"]

COLS_BYTES = 64 * 2**20
"""Upper bound on one chunk's im2col buffer (bytes); at least one output row always."""


# ------------------------------------------------------------------------ jitted loops


@njit_parallel
def _im2col(x, n0, oy0, kh, kw, sh, sw, dh, dw, top, left, ow, cols):
    """cols[i, (c*KH + ky)*KW + kx, (oy - oy0)*OW + ox]
    = x[n0 + i, c, oy*sh + ky*dh - top, ox*sw + kx*dw - left], 0 outside the image.

    ``cols`` may be any 3-D view whose last axis is contiguous; one work item writes
    one (image, tap) row, so no two threads write the same element."""
    n_img, n_taps, length = cols.shape
    in_h, in_w = x.shape[2], x.shape[3]
    rows = length // ow
    for item in prange(n_img * n_taps):
        i = item // n_taps
        k = item % n_taps
        c = k // (kh * kw)
        ky = (k // kw) % kh
        kx = k % kw
        # output columns whose input column lies inside the image: [lo, hi)
        x0 = kx * dw - left
        lo = 0 if x0 >= 0 else min(ow, (-x0 + sw - 1) // sw)
        hi = 0 if x0 >= in_w else min(ow, (in_w - 1 - x0) // sw + 1)
        hi = max(hi, lo)
        src_img = x[n0 + i, c]
        dst = cols[i, k]
        for r in range(rows):
            iy = (oy0 + r) * sh + ky * dh - top
            base = r * ow
            if iy < 0 or iy >= in_h:
                for ox in range(ow):
                    dst[base + ox] = 0.0
                continue
            src = src_img[iy]
            for ox in range(lo):
                dst[base + ox] = 0.0
            if sw == 1:
                for ox in range(lo, hi):
                    dst[base + ox] = src[x0 + ox]
            else:
                for ox in range(lo, hi):
                    dst[base + ox] = src[x0 + ox * sw]
            for ox in range(hi, ow):
                dst[base + ox] = 0.0


@njit_parallel
def _col2im(dcols, n0, kh, kw, sh, sw, dh, dw, top, left, ow, gx):
    """gx[n0 + i, c, iy, ix] += dcols[i, (c*KH + ky)*KW + kx, oy*OW + ox] for every tap
    that read (iy, ix): the adjoint of :func:`_im2col` (whole images, ``gx`` zeroed by
    the caller). One work item owns one (image, channel) plane of ``gx``."""
    n_img, _, length = dcols.shape
    channels, in_h, in_w = gx.shape[1], gx.shape[2], gx.shape[3]
    oh = length // ow
    for item in prange(n_img * channels):
        i = item // channels
        c = item % channels
        plane = gx[n0 + i, c]
        for ky in range(kh):
            for kx in range(kw):
                src = dcols[i, (c * kh + ky) * kw + kx]
                x0 = kx * dw - left
                lo = 0 if x0 >= 0 else min(ow, (-x0 + sw - 1) // sw)
                hi = 0 if x0 >= in_w else min(ow, (in_w - 1 - x0) // sw + 1)
                hi = max(hi, lo)
                for oy in range(oh):
                    iy = oy * sh + ky * dh - top
                    if iy < 0 or iy >= in_h:
                        continue
                    dst = plane[iy]
                    base = oy * ow
                    if sw == 1:
                        for ox in range(lo, hi):
                            dst[x0 + ox] += src[base + ox]
                    else:
                        for ox in range(lo, hi):
                            dst[x0 + ox * sw] += src[base + ox]


# --------------------------------------------------------------------------- helpers


def _zero_padded(x4, pads, mode):
    """(input, pads) such that zero padding with those pads is the ``mode`` padding."""
    if mode == "zeros":
        return x4, pads
    return pad2d(x4, pads, mode), (0, 0, 0, 0)


def _images_per_chunk(n_batch: int, n_taps: int, n_pix: int, cap: int) -> int:
    return max(1, min(n_batch, cap // max(1, 4 * n_taps * n_pix)))


def _rows_per_block(oh: int, ow: int, n_taps: int, cap: int) -> int:
    return max(1, min(oh, cap // max(1, 4 * n_taps * ow)))


# --------------------------------------------------------------------------- the path


def conv2d_gemm(x4, weight, bias, pads, stride, dilation, mode="zeros", cap=None):
    """Forward: ``out (N, F, OH, OW)`` of ``x4 (N, C, H, W)`` and ``weight (F, C, KH,
    KW)``, ``bias (F,)`` or None. ``cap`` overrides :data:`COLS_BYTES`."""
    cap = COLS_BYTES if cap is None else cap
    x4, (top, bottom, left, right) = _zero_padded(x4, pads, mode)
    n_batch, channels, in_h, in_w = x4.shape
    n_filters, _, kh, kw = weight.shape
    (sh, sw), (dh, dw) = stride, dilation
    oh = (in_h + top + bottom - dh * (kh - 1) - 1) // sh + 1
    ow = (in_w + left + right - dw * (kw - 1) - 1) // sw + 1
    n_taps, n_pix = channels * kh * kw, oh * ow
    w2 = weight.reshape(n_filters, n_taps)
    out = np.empty((n_batch, n_filters, oh, ow), np.float32)
    per = _images_per_chunk(n_batch, n_taps, n_pix, cap)
    if 4 * n_taps * n_pix <= cap:
        cols = np.empty((per, n_taps, n_pix), np.float32)
        for n0 in range(0, n_batch, per):
            m = min(per, n_batch - n0)
            c = cols[:m]
            _im2col(x4, n0, 0, kh, kw, sh, sw, dh, dw, top, left, ow, c)
            np.matmul(w2, c, out=out[n0 : n0 + m].reshape(m, n_filters, n_pix))
    else:  # one image is over the cap: blocks of output rows
        rows = _rows_per_block(oh, ow, n_taps, cap)
        cols = np.empty((1, n_taps, rows * ow), np.float32)
        for n in range(n_batch):
            for oy0 in range(0, oh, rows):
                r = min(rows, oh - oy0)
                c = cols[:, :, : r * ow]
                _im2col(x4, n, oy0, kh, kw, sh, sw, dh, dw, top, left, ow, c)
                out[n, :, oy0 : oy0 + r] = (w2 @ c[0]).reshape(n_filters, r, ow)
    if bias is not None:
        out += bias.reshape(1, n_filters, 1, 1)
    return out


def conv2d_grad_input_gemm(
    grad_out, x_shape, weight, pads, stride, dilation, mode="zeros", cap=None
):
    """Gradient of :func:`conv2d_gemm` with respect to its input, shape ``x_shape``."""
    cap = COLS_BYTES if cap is None else cap
    n_batch, channels, in_h, in_w = x_shape
    top, bottom, left, right = pads
    if mode != "zeros":  # the gradient of the padded input, folded back below
        in_h, in_w = in_h + top + bottom, in_w + left + right
        top = bottom = left = right = 0
    n_filters, _, kh, kw = weight.shape
    (sh, sw), (dh, dw) = stride, dilation
    oh, ow = grad_out.shape[2], grad_out.shape[3]
    n_taps, n_pix = channels * kh * kw, oh * ow
    w_t = weight.reshape(n_filters, n_taps).T  # (K, F): BLAS reads it transposed
    g3 = grad_out.reshape(n_batch, n_filters, n_pix)
    gx = np.zeros((n_batch, channels, in_h, in_w), np.float32)
    # col2im needs a whole image; an image over the cap still runs (one image a chunk)
    per = _images_per_chunk(n_batch, n_taps, n_pix, cap)
    dcols = np.empty((per, n_taps, n_pix), np.float32)
    for n0 in range(0, n_batch, per):
        m = min(per, n_batch - n0)
        d = dcols[:m]
        np.matmul(w_t, g3[n0 : n0 + m], out=d)
        _col2im(d, n0, kh, kw, sh, sw, dh, dw, top, left, ow, gx)
    if mode != "zeros":
        return pad2d_backward(gx, pads, mode)
    return gx


def conv2d_grad_weight_gemm(
    grad_out, x4, weight_shape, pads, stride, dilation, mode="zeros", cap=None
):
    """Gradient of :func:`conv2d_gemm` with respect to its weight, ``weight_shape``."""
    cap = COLS_BYTES if cap is None else cap
    x4, (top, _, left, _) = _zero_padded(x4, pads, mode)
    n_batch = x4.shape[0]
    n_filters, channels, kh, kw = weight_shape
    (sh, sw), (dh, dw) = stride, dilation
    oh, ow = grad_out.shape[2], grad_out.shape[3]
    n_taps, n_pix = channels * kh * kw, oh * ow
    grad_w = np.zeros((n_filters, n_taps), np.float32)
    if 4 * n_taps * n_pix <= cap:
        per = _images_per_chunk(n_batch, n_taps, n_pix, cap)
        cols = np.empty((n_taps, per, n_pix), np.float32)
        g_t = np.empty((n_filters, per, n_pix), np.float32)
        for n0 in range(0, n_batch, per):
            m = min(per, n_batch - n0)
            c = cols[:, :m]
            # (K, m, P) as a (m, K, P) view: the last axis stays contiguous
            view = c.transpose(1, 0, 2)
            _im2col(x4, n0, 0, kh, kw, sh, sw, dh, dw, top, left, ow, view)
            gt = g_t[:, :m]
            gt[...] = (
                grad_out[n0 : n0 + m].reshape(m, n_filters, n_pix).transpose(1, 0, 2)
            )
            # (a shorter last chunk's views are not contiguous: reshape copies them)
            grad_w += gt.reshape(n_filters, -1) @ c.reshape(n_taps, -1).T
    else:
        rows = _rows_per_block(oh, ow, n_taps, cap)
        cols = np.empty((1, n_taps, rows * ow), np.float32)
        for n in range(n_batch):
            for oy0 in range(0, oh, rows):
                r = min(rows, oh - oy0)
                c = cols[:, :, : r * ow]
                _im2col(x4, n, oy0, kh, kw, sh, sw, dh, dw, top, left, ow, c)
                g = grad_out[n, :, oy0 : oy0 + r].reshape(n_filters, r * ow)
                grad_w += g @ c[0].T
    return grad_w.reshape(weight_shape)
