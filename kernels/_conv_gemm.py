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

``kernels.conv``'s plan calls :func:`forward` and :func:`grad_weight` (the "gemm"
path: few taps, >= 16 filters, a batch of small images; the rule and its figures are
in :mod:`kernels.config`): one sgemm per image over a chunk of images, the chunks on
``_conv_wingemm``'s worker threads with one-thread sgemm each, and the im2col of
:func:`_cols`, which copies long runs. The ``conv2d_*_gemm`` functions below, with
their own thread policies and buffer cap, are what ``benchmarks/bench_kernels.py
--gemm`` and ``bench_gemm_rule.py`` time.

Other padding modes go through :func:`kernels.pad2d` first (and
:func:`kernels.pad2d_backward` for the input gradient), then run with zero pads.

Memory: the im2col buffer is ``4 * K * P`` bytes per image (128x32x14x14, 3x3:
225 KB per image, 29 MB for the whole batch). :data:`COLS_BYTES` (4 MB) caps one
chunk: a chunk takes as many whole images as fit, and an image that alone exceeds the
cap is done in blocks of output rows (forward and grad weight; a 4K RGB photo with a
3x3 kernel would be a 0.9 GB buffer, here 4 MB blocks of 10 rows). The input gradient
needs whole images for col2im, so it allocates one image's buffer when that is over
the cap. A small cap is also faster: the buffer stays in cache between im2col and
sgemm (128x32x28x28 -> 32 forward, 1 BLAS thread: 224 ms at a 64 MB cap, 132 ms at
4 MB, loaded machine).

Thread policies (``workers``): 1 runs numba's parallel im2col/col2im and then numpy's
sgemm with whatever OpenBLAS threads the caller allows; N > 1 splits the chunks over N
worker threads, each with serial loops and its own sgemm (numpy releases the GIL), for
a caller that holds OpenBLAS to one thread.

When to use this path (for ``kernels.conv``'s ``_plan``)
--------------------------------------------------------
(These figures are of the ``conv2d_*_gemm`` functions, before :func:`forward` and
:func:`grad_weight`: their long-run im2col, per-image sgemm and bias-as-a-tap made
few-tap layers 1.4-2x faster than the direct paths, against the 1.5-3.5x slower
said below; the plan's rule and its figures are in :mod:`kernels.config`.)

Measured with ``benchmarks/bench_gemm_rule.py`` (3x3, stride 1, pad 1 unless said;
the existing public path against this one, minimum of 3-5 calls, in one process) on
the 2-core VM, twice: run A while 5-10 other processes ran (load average 5-10,
absolute figures 2-4x a quiet machine's), run B mostly quiet (load 0.1-2). Ratios are
rough (+-30%). Speed-up = existing / best GEMM policy (B's policy in brackets):

    shape (N C H W -> F)         forward       grad input    grad weight
                                 A     B       A     B       A     B
    1x16x14x14 -> 32             5.4   4.7     3.7   4.0     2.1   1.8
    1x16x64x64 -> 32             0.9   1.2     6.4   3.7     1.4   1.8
    1x64x14x14 -> 64             4.7   5.0     4.5   5.7     1.2   1.4
    1x64x64x64 -> 64             2.0   2.1     2.5   2.2     2.7   1.9
    1x3x32x32 -> 8               2.1   2.1     2.5   2.6     1.9   2.0
    16x16x32x32 -> 32            0.7   0.9     2.7   3.1     0.9   0.45
    16x64x32x32 -> 64            1.0   0.7     2.4   1.1     1.0   1.1
    128x3x32x32 -> 32            1.2   1.2     5.6   1.5     1.1   0.9
    128x3x64x64 -> 8             0.4   0.5     0.6   0.5     0.3   0.4
    128x16x14x14 -> 32           0.9   1.2     0.5   0.8     0.6   0.7
    128x16x32x32 -> 32           0.9   0.9     3.4   2.3     1.5   0.8
    128x32x14x14 -> 64           0.75  0.8     0.8   1.5(w2) 0.7   1.6(w2)
    128x32x28x28 -> 32 (valid)   0.5   0.85    0.75  1.3(w2) 0.6   0.9
    32x64x16x16 -> 128           0.8   1.3     2.0   3.1(g2) 1.1   1.6(w2)
    128x64x14x14 -> 64           0.9   0.9     0.9   1.0     0.9   1.1

Rule: take the GEMM path when
  * ``N * OH * OW <= 4096`` (one image up to 64x64: the existing path's fixed cost
    dominates; GEMM 1.2-6x faster for all three ops, 0.02-0.3 ms against 0.07-1.3),
    or
  * grad input with ``F >= 32``, ``C * KH * KW >= 27`` and ``OH * OW >= 256``: 1.1-6x
    on 128x3x32x32 -> 32, 32x64x16x16 -> 128, 16x64x32x32 -> 64, 128x16x32x32 -> 32,
    16x16x32x32 -> 32; 128x32x28x28 -> 32 valid was 0.75x in A, 1.3x in B (w2). With
    8 filters (a thin reduction) it lost (128x3x32x32 -> 8: 0.56-0.9x); at 14x14 with
    batch 128, 0.5-0.9x except 128x32x14x14 -> 64 in B with w2 (1.5x);
otherwise keep the existing direct/Winograd/wide path: at training batches its
forward and grad weight were 1.1-3x faster than im2col + sgemm here, and with
C <= 3 (K = 9-27 taps, sgemm inefficient) 1.5-3.5x faster. Not measured: stride > 1,
dilation, kernels other than 3x3 (except 11x11 below), padding modes other than zeros.

Policy: OpenBLAS at 2 threads next to numba's OpenMP threads was a disaster on the
loaded machine (often 10-30x slower than 1 thread: 128x32x14x14 forward 1342 ms
against 69 ms) and still erratic on the quiet one (16x16x64x64 grad weight 52 ms,
median 881 ms, against 19 ms); the training loop should keep ``one_blas_thread`` for
this path too. ``workers=2`` (1 BLAS thread each) was the best policy on most batched
rows of run B (128x32x14x14 grad input 16.1 -> 9.5 ms, grad weight 25.6 -> 12.4 ms
against ``workers=1``) and lost on small images with few channels in run A
(128x3x14x14: 0.6 -> 3.4 ms): use 2 for batched shapes with C >= 16, 1 otherwise.

Against torch, the rows of issue 14 (``bench_kernels.py --gemm``, each framework in
its own process, medians, mostly quiet machine): none of the three policies reached
1.3x; the best GEMM column was 1.9-2.8x torch except 128x3x32x32 grad input (0.47x),
against 1.4-2.7x for the existing path. The forward of 128x32x14x14 -> 64 is
925 MFLOP: sgemm 64x288x25088 measured 80 GFLOP/s on one core, so 11.6 ms of sgemm
alone with one BLAS thread (2.5x torch's 4.6 ms) and 5.8 ms even at 2x that on two
cores, before the im2col (29 MB written, 6.2 ms at 4.6 GB/s on a loaded machine);
torch's 4.6 ms is 200 GFLOP/s, ~70% of the 275-300 GFLOP/s two-core peak. Reaching
1.3x needs both cores in the sgemm *and* no im2col buffer: an implicit GEMM (tap
offsets into padded planes, as ``conv.py``'s planes already are) or a register-blocked
micro-kernel, not this path.

Not a road for the explorer: 11x11 on 1x3x512x512 with 8 filters took 206 ms here
against 24 ms for the existing path (M = 8 filters is a thin sgemm, and the 121-fold
im2col buffer is memory traffic); the 4K photo (3x3, 8 filters) 698-772 ms against
116-200 ms.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._jit import njit, njit_parallel, prange
from .padding import pad2d, pad2d_backward

__all__ = ["conv2d_gemm", "conv2d_grad_input_gemm", "conv2d_grad_weight_gemm"]

COLS_BYTES = 4 * 2**20
"""Upper bound on one chunk's im2col buffer (bytes); at least one output row always."""


# ------------------------------------------------------------------------ jitted loops


@njit
def _im2col_one(x, n, c, oy0, kh, kw, sh, sw, dh, dw, top, left, ow, dst, band):
    """dst[(ky*KW + kx), (oy - oy0)*OW + ox]
    = x[n, c, oy*sh + ky*dh - top, ox*sw + kx*dw - left], 0 outside the image.

    The band of input rows the output rows read is copied into a zero-padded scratch
    once, then every tap row is a branch-free copy from it (bounds checks per tap and
    row measured 1.8-3.7x slower)."""
    in_h, in_w = x.shape[2], x.shape[3]
    band_h, band_w = band.shape
    rows = dst.shape[1] // ow
    y0 = oy0 * sh - top
    j_lo, j_hi = max(0, left), min(band_w, in_w + left)
    band[:] = 0.0
    src = x[n, c]
    for j in range(band_h):
        iy = y0 + j
        if 0 <= iy < in_h:
            src_row = src[iy]
            band_row = band[j]
            for q in range(j_lo, j_hi):
                band_row[q] = src_row[q - left]
    for ky in range(kh):
        for kx in range(kw):
            out = dst[ky * kw + kx]
            off = kx * dw
            for r in range(rows):
                band_row = band[r * sh + ky * dh]
                base = r * ow
                if sw == 1:
                    for ox in range(ow):
                        out[base + ox] = band_row[off + ox]
                else:
                    for ox in range(ow):
                        out[base + ox] = band_row[off + ox * sw]


@njit
def _band_shape(rows, ow, kh, kw, sh, sw, dh, dw):
    return (rows - 1) * sh + (kh - 1) * dh + 1, (ow - 1) * sw + (kw - 1) * dw + 1


@njit_parallel
def _im2col(x, n0, oy0, kh, kw, sh, sw, dh, dw, top, left, ow, cols):
    """cols[i, (c*KH + ky)*KW + kx, (oy - oy0)*OW + ox]
    = x[n0 + i, c, oy*sh + ky*dh - top, ox*sw + kx*dw - left], 0 outside the image.

    One work item per (image, channel); ``cols`` may be any 3-D view whose last axis
    is contiguous (so a (K, images, P) buffer can be filled through a transposed
    view)."""
    n_img, _, length = cols.shape
    channels = x.shape[1]
    band_h, band_w = _band_shape(length // ow, ow, kh, kw, sh, sw, dh, dw)
    taps = kh * kw
    for item in prange(n_img * channels):
        i = item // channels
        c = item % channels
        band = np.empty((band_h, band_w), np.float32)
        dst = cols[i, c * taps : (c + 1) * taps]
        _im2col_one(x, n0 + i, c, oy0, kh, kw, sh, sw, dh, dw, top, left, ow, dst, band)


@njit
def _im2col_serial(x, n0, oy0, kh, kw, sh, sw, dh, dw, top, left, ow, cols):
    """:func:`_im2col` on the calling thread alone (for the worker-thread policy)."""
    n_img, _, length = cols.shape
    channels = x.shape[1]
    band_h, band_w = _band_shape(length // ow, ow, kh, kw, sh, sw, dh, dw)
    band = np.empty((band_h, band_w), np.float32)
    taps = kh * kw
    for i in range(n_img):
        for c in range(channels):
            dst = cols[i, c * taps : (c + 1) * taps]
            _im2col_one(
                x, n0 + i, c, oy0, kh, kw, sh, sw, dh, dw, top, left, ow, dst, band
            )


@njit
def _col2im_one(src, n, c, kh, kw, sh, sw, dh, dw, top, left, ow, gx, band):
    """gx[n, c, iy, ix] += src[ky*KW + kx, oy*OW + ox] for every tap that read
    (iy, ix): the adjoint of :func:`_im2col_one` over a whole image. Sums land in a
    padded scratch first, then the unpadded part is added to ``gx``."""
    in_h, in_w = gx.shape[2], gx.shape[3]
    band_h, band_w = band.shape
    oh = src.shape[1] // ow
    j_lo, j_hi = max(0, left), min(band_w, in_w + left)
    band[:] = 0.0
    for ky in range(kh):
        for kx in range(kw):
            tap = src[ky * kw + kx]
            off = kx * dw
            for oy in range(oh):
                band_row = band[oy * sh + ky * dh]
                base = oy * ow
                if sw == 1:
                    for ox in range(ow):
                        band_row[off + ox] += tap[base + ox]
                else:
                    for ox in range(ow):
                        band_row[off + ox * sw] += tap[base + ox]
    plane = gx[n, c]
    for j in range(band_h):
        iy = j - top
        if 0 <= iy < in_h:
            dst = plane[iy]
            band_row = band[j]
            for q in range(j_lo, j_hi):
                dst[q - left] += band_row[q]


@njit_parallel
def _col2im(dcols, n0, kh, kw, sh, sw, dh, dw, top, left, ow, gx):
    """The adjoint of :func:`_im2col` for whole images ``n0 ...``, added to ``gx``;
    one work item owns one (image, channel) plane of ``gx``."""
    n_img, _, length = dcols.shape
    channels = gx.shape[1]
    band_h, band_w = _band_shape(length // ow, ow, kh, kw, sh, sw, dh, dw)
    taps = kh * kw
    for item in prange(n_img * channels):
        i = item // channels
        c = item % channels
        band = np.empty((band_h, band_w), np.float32)
        src = dcols[i, c * taps : (c + 1) * taps]
        _col2im_one(src, n0 + i, c, kh, kw, sh, sw, dh, dw, top, left, ow, gx, band)


@njit
def _col2im_serial(dcols, n0, kh, kw, sh, sw, dh, dw, top, left, ow, gx):
    """:func:`_col2im` on the calling thread alone."""
    n_img, _, length = dcols.shape
    channels = gx.shape[1]
    band_h, band_w = _band_shape(length // ow, ow, kh, kw, sh, sw, dh, dw)
    band = np.empty((band_h, band_w), np.float32)
    taps = kh * kw
    for i in range(n_img):
        for c in range(channels):
            src = dcols[i, c * taps : (c + 1) * taps]
            _col2im_one(src, n0 + i, c, kh, kw, sh, sw, dh, dw, top, left, ow, gx, band)


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


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _in_groups(tasks: list, group, workers: int) -> list:
    """``group(tasks_subset, parallel)`` over the tasks: on the calling thread with
    numba's parallel loops when ``workers == 1``, else split into ``workers``
    contiguous groups run at once on a thread pool, each with serial loops (numpy's
    matmul releases the GIL, and each worker's sgemm is its own)."""
    if workers <= 1 or len(tasks) <= 1:
        return [group(tasks, True)]
    workers = min(workers, len(tasks))
    with _POOLS_LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            pool = _POOLS[workers] = ThreadPoolExecutor(workers, "conv-gemm")
    bounds = np.linspace(0, len(tasks), workers + 1).astype(int)
    futures = [
        pool.submit(group, tasks[lo:hi], False)
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    return [f.result() for f in futures]


# --------------------------------------------------------------------------- the path


def conv2d_gemm(
    x4, weight, bias, pads, stride, dilation, mode="zeros", cap=None, workers=1
):
    """Forward: ``out (N, F, OH, OW)`` of ``x4 (N, C, H, W)`` and ``weight (F, C, KH,
    KW)``, ``bias (F,)`` or None. ``cap`` overrides :data:`COLS_BYTES`; ``workers``
    is the thread policy of :func:`_in_groups`."""
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
    geometry = (kh, kw, sh, sw, dh, dw, top, left, ow)
    if 4 * n_taps * n_pix <= cap:
        per = _images_per_chunk(n_batch, n_taps, n_pix, cap)

        def images(starts, parallel):
            im2col = _im2col if parallel else _im2col_serial
            cols = np.empty((per, n_taps, n_pix), np.float32)
            for n0 in starts:
                m = min(per, n_batch - n0)
                c = cols[:m]
                im2col(x4, n0, 0, *geometry, c)
                np.matmul(w2, c, out=out[n0 : n0 + m].reshape(m, n_filters, n_pix))

        _in_groups(list(range(0, n_batch, per)), images, workers)
    else:  # one image is over the cap: blocks of output rows
        rows = _rows_per_block(oh, ow, n_taps, cap)

        def blocks(tasks, parallel):
            im2col = _im2col if parallel else _im2col_serial
            cols = np.empty((1, n_taps, rows * ow), np.float32)
            for n, oy0 in tasks:
                r = min(rows, oh - oy0)
                c = cols[:, :, : r * ow]
                im2col(x4, n, oy0, *geometry, c)
                out[n, :, oy0 : oy0 + r] = (w2 @ c[0]).reshape(n_filters, r, ow)

        tasks = [(n, oy0) for n in range(n_batch) for oy0 in range(0, oh, rows)]
        _in_groups(tasks, blocks, workers)
    if bias is not None:
        out += bias.reshape(1, n_filters, 1, 1)
    return out


def conv2d_grad_input_gemm(
    grad_out, x_shape, weight, pads, stride, dilation, mode="zeros", cap=None, workers=1
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
    geometry = (kh, kw, sh, sw, dh, dw, top, left, ow)
    # col2im needs a whole image; an image over the cap still runs (one image a chunk)
    per = _images_per_chunk(n_batch, n_taps, n_pix, cap)

    def images(starts, parallel):
        col2im = _col2im if parallel else _col2im_serial
        dcols = np.empty((per, n_taps, n_pix), np.float32)
        for n0 in starts:  # each group owns its images of gx
            m = min(per, n_batch - n0)
            d = dcols[:m]
            np.matmul(w_t, g3[n0 : n0 + m], out=d)
            col2im(d, n0, *geometry, gx)

    _in_groups(list(range(0, n_batch, per)), images, workers)
    if mode != "zeros":
        return pad2d_backward(gx, pads, mode)
    return gx


def conv2d_grad_weight_gemm(
    grad_out,
    x4,
    weight_shape,
    pads,
    stride,
    dilation,
    mode="zeros",
    cap=None,
    workers=1,
):
    """Gradient of :func:`conv2d_gemm` with respect to its weight, ``weight_shape``."""
    cap = COLS_BYTES if cap is None else cap
    x4, (top, _, left, _) = _zero_padded(x4, pads, mode)
    n_batch = x4.shape[0]
    n_filters, channels, kh, kw = weight_shape
    (sh, sw), (dh, dw) = stride, dilation
    oh, ow = grad_out.shape[2], grad_out.shape[3]
    n_taps, n_pix = channels * kh * kw, oh * ow
    geometry = (kh, kw, sh, sw, dh, dw, top, left, ow)
    if 4 * n_taps * n_pix <= cap:
        per = _images_per_chunk(n_batch, n_taps, n_pix, cap)

        def images(starts, parallel):
            im2col = _im2col if parallel else _im2col_serial
            grad_w = np.zeros((n_filters, n_taps), np.float32)
            cols = np.empty((n_taps, per, n_pix), np.float32)
            g_t = np.empty((n_filters, per, n_pix), np.float32)
            for n0 in starts:
                m = min(per, n_batch - n0)
                c = cols[:, :m]
                # (K, m, P) through a (m, K, P) view: the last axis stays contiguous
                im2col(x4, n0, 0, *geometry, c.transpose(1, 0, 2))
                gt = g_t[:, :m]
                gt[...] = (
                    grad_out[n0 : n0 + m].reshape(m, n_filters, -1).transpose(1, 0, 2)
                )
                # one sgemm over m * P; a shorter last chunk's views are not
                # contiguous, and reshape copies them
                grad_w += gt.reshape(n_filters, -1) @ c.reshape(n_taps, -1).T
            return grad_w

        partials = _in_groups(list(range(0, n_batch, per)), images, workers)
    else:
        rows = _rows_per_block(oh, ow, n_taps, cap)

        def blocks(tasks, parallel):
            im2col = _im2col if parallel else _im2col_serial
            grad_w = np.zeros((n_filters, n_taps), np.float32)
            cols = np.empty((1, n_taps, rows * ow), np.float32)
            for n, oy0 in tasks:
                r = min(rows, oh - oy0)
                c = cols[:, :, : r * ow]
                im2col(x4, n, oy0, *geometry, c)
                g = grad_out[n, :, oy0 : oy0 + r].reshape(n_filters, r * ow)
                grad_w += g @ c[0].T
            return grad_w

        tasks = [(n, oy0) for n in range(n_batch) for oy0 in range(0, oh, rows)]
        partials = _in_groups(tasks, blocks, workers)
    return np.sum(partials, axis=0, dtype=np.float32).reshape(weight_shape)


# ------------------------------------------------- the "gemm" path of kernels.conv


@njit
def _shifted_run(src, plane, top, shift, lo, hi, ow):
    """plane[r, ox] = src[r - top, ox + shift], 0 outside ``src``, for a plane as
    wide as ``src`` (``lo, hi``: the columns that read it)."""
    in_h = src.shape[0]
    flat = src.reshape(-1)
    zero = np.float32(0.0)
    n_img = in_h * ow
    start = top * ow
    for q in range(start):
        plane[q] = zero
    for q in range(start + n_img, plane.shape[0]):
        plane[q] = zero
    run = plane[start : start + n_img]
    # a shift may exceed the image (padding wider than it)
    j_lo = min(n_img, max(0, -shift))
    j_hi = max(j_lo, min(n_img, n_img - shift))
    for q in range(j_lo):
        run[q] = zero
    body = run[j_lo:j_hi]
    piece = flat[j_lo + shift : j_hi + shift]
    for q in range(j_hi - j_lo):
        body[q] = piece[q]
    for q in range(j_hi, n_img):
        run[q] = zero
    for r in range(in_h):  # what the run carried over from the next or last row
        row = run[r * ow : (r + 1) * ow]
        for q in range(lo):
            row[q] = zero
        for q in range(hi, ow):
            row[q] = zero


@njit
def _cols(x, n0, top, left, sh, sw, dh, dw, kh, kw, oh, ow, cols):
    """cols[b, (c*KH + ky)*KW + kx, oy*OW + ox]
    = x[n0 + b, c, oy*sh + ky*dh - top, ox*sw + kx*dw - left], 0 outside the image,
    for the ``cols.shape[0]`` images from ``n0`` (rows past ``C * KH * KW`` are left
    alone: the forward keeps a row of ones there for the bias).

    LLVM turns a copy loop of 32 floats into scalar moves (its vector loop takes 64
    at a time): 9 ns per 32-float row, against 1.7 ns in a long loop. So each
    (image, channel) is first copied into ``KW`` shifted planes ``shifted[kx, r, ox]
    = padded[r, ox*sw + kx*dw]`` of the padded rows at the output's width, and at
    stride 1 every tap row is then one long copy of ``OH * OW`` values from its
    plane, starting at row ``ky * dh``; with "same" padding at stride 1 the planes
    too are long runs (:func:`_shifted_run`). 128x3x32x32, 3x3 pad 1: 0.45 ms of
    thread CPU (0.85 with the planes built row by row; copying each 32-float row
    from the image, 2.0; with the band scratch of :func:`_im2col_one`, 2.3)."""
    n_img = cols.shape[0]
    channels, in_h, in_w = x.shape[1], x.shape[2], x.shape[3]
    hp = (oh - 1) * sh + (kh - 1) * dh + 1  # the padded rows the outputs read
    shifted = np.empty((kw, hp * ow), np.float32)
    n_pix = oh * ow
    zero = np.float32(0.0)
    for b in range(n_img):
        for c in range(channels):
            src = x[n0 + b, c]
            for kx in range(kw):
                shift = kx * dw - left
                # the outputs whose column reads the image: 0 <= ox*sw + shift < W
                lo = min(ow, max(0, (sw - 1 - shift) // sw))
                hi = max(lo, min(ow, (in_w - shift + sw - 1) // sw))
                n_in = hi - lo
                plane = shifted[kx]
                if sw == 1 and ow == in_w and top >= 0 and top + in_h <= hp:
                    # "same" at stride 1: the image's rows, shifted, are one long
                    # run of the plane; then the columns that wrapped are zeroed
                    _shifted_run(src, plane, top, shift, lo, hi, ow)
                    continue
                for r in range(hp):
                    iy = r - top
                    # slices, then indices from range(): no negative-index wraparound
                    dst = plane[r * ow : (r + 1) * ow]
                    if iy < 0 or iy >= in_h:
                        for q in range(ow):
                            dst[q] = zero
                        continue
                    for q in range(lo):
                        dst[q] = zero
                    mid = dst[lo:hi]
                    if sw == 1:
                        s = src[iy, lo + shift : hi + shift]
                    else:
                        s = src[iy, lo * sw + shift :: sw]
                    for q in range(n_in):
                        mid[q] = s[q]
                    for q in range(hi, ow):
                        dst[q] = zero
            for ky in range(kh):
                for kx in range(kw):
                    row = cols[b, (c * kh + ky) * kw + kx]
                    plane = shifted[kx]
                    if sh == 1:
                        run = plane[ky * dh * ow : ky * dh * ow + n_pix]
                        for p in range(n_pix):
                            row[p] = run[p]
                    else:
                        for oy in range(oh):
                            start = (oy * sh + ky * dh) * ow
                            run = plane[start : start + ow]
                            dst = row[oy * ow : (oy + 1) * ow]
                            for q in range(ow):
                                dst[q] = run[q]


def _quiet():
    """inf and NaN are data here, as in the numba paths: no RuntimeWarning from the
    sgemm (entered on each worker thread: numpy's error state is per thread)."""
    return np.errstate(invalid="ignore", over="ignore")


class _claims:
    """The chunk starts ``0, per, 2 * per, ... < n_batch``, handed out one at a time
    to whichever worker asks next (``_run_groups`` gives each worker one slot, and
    each loops over this). A fixed half each, as ``_run_groups`` splits, waited on
    the slower worker: with another process on one core, 128x3x32x32 -> 32 forward
    took 4.2 ms wall against 2.0-2.2 quiet."""

    def __init__(self, n_batch: int, per: int) -> None:
        self._next = itertools.count(0, per)  # next() is atomic under the GIL
        self._end = n_batch

    def __iter__(self):
        return self

    def __next__(self) -> int:
        n0 = next(self._next)
        if n0 >= self._end:
            raise StopIteration
        return n0


def _n_workers(n_batch: int, per: int) -> int:
    from . import _conv_wingemm

    return max(1, min(_conv_wingemm.workers(), -(-n_batch // per)))


def _chunk_images(n_batch: int, n_taps: int, n_pix: int) -> int:
    """Images per chunk: ``config.GEMM_CHUNK_BYTES`` of im2col buffer, one image at
    least, and at least one chunk per worker."""
    from . import _conv_wingemm, config

    per = max(1, config.GEMM_CHUNK_BYTES // (4 * n_taps * n_pix))
    return max(1, min(per, -(-n_batch // _conv_wingemm.workers())))


def forward(x4, weight, bias, pads, stride, dilation, mode, out):
    """out (N, F, OH, OW) = conv2d of already-validated float32 arrays, as one sgemm
    ``[weight | bias] (F, K + 1) @ [cols; ones] (K + 1, OH * OW)`` per image (batched
    over a chunk): the bias is a tap of value one, so no second pass over ``out``
    (``out += bias`` alone took 1.1 ms of the 128x3x32x32 -> 32 layer). Each output
    sums its own window only, so any data may take it (inf and NaN propagate as in
    the direct sum). Chunks run on ``_conv_wingemm``'s workers, one-thread sgemm each.
    """
    from . import _conv_wingemm

    x4, (top, _, left, _) = _zero_padded(x4, pads, mode)
    n_batch = x4.shape[0]
    n_filters, channels, kh, kw = weight.shape
    oh, ow = out.shape[2], out.shape[3]
    n_taps, n_pix = channels * kh * kw, oh * ow
    (sh, sw), (dh, dw) = stride, dilation
    w_ext = np.empty((n_filters, n_taps + 1), np.float32)
    w_ext[:, :n_taps] = weight.reshape(n_filters, n_taps)
    w_ext[:, n_taps] = bias
    out3 = out.reshape(n_batch, n_filters, n_pix)
    per = _chunk_images(n_batch, n_taps + 1, n_pix)

    def group(slots):
        cols = np.empty((per, n_taps + 1, n_pix), np.float32)
        cols[:, n_taps] = 1.0
        with _quiet():
            for n0 in claim:
                m = min(per, n_batch - n0)
                c = cols[:m]
                _cols(x4, n0, top, left, sh, sw, dh, dw, kh, kw, oh, ow, c)
                np.matmul(w_ext, c, out=out3[n0 : n0 + m])

    claim = _claims(n_batch, per)
    _conv_wingemm._run_groups(_n_workers(n_batch, per), 1, group)
    return out


def grad_weight(g, x4, pads, stride, dilation, mode, kernel_hw, partial):
    """partial[0] (F, K) = ``sum_n grad_out[n] (F, P) @ cols[n].T (P, K)``, one sgemm
    per image batched over a chunk (K = C * KH * KW), each worker's sum in float64;
    the other rows of ``partial`` (the other paths' per-chunk layout) are zeroed. Each
    product is a pixel of the tap's own window (or a padding zero) times its output's
    gradient, so any data may take it."""
    from . import _conv_wingemm

    x4, (top, _, left, _) = _zero_padded(x4, pads, mode)
    n_batch = x4.shape[0]
    n_filters, oh, ow = g.shape[1], g.shape[2], g.shape[3]
    kh, kw = kernel_hw
    n_taps, n_pix = partial.shape[2], oh * ow
    (sh, sw), (dh, dw) = stride, dilation
    g3 = g.reshape(n_batch, n_filters, n_pix)
    per = _chunk_images(n_batch, n_taps, n_pix)

    def group(slots):
        cols = np.empty((per, n_taps, n_pix), np.float32)
        prods = np.empty((per, n_filters, n_taps), np.float32)
        total = np.zeros((n_filters, n_taps), np.float64)
        with _quiet():
            for n0 in claim:
                m = min(per, n_batch - n0)
                c = cols[:m]
                _cols(x4, n0, top, left, sh, sw, dh, dw, kh, kw, oh, ow, c)
                p = prods[:m]
                np.matmul(g3[n0 : n0 + m], c.transpose(0, 2, 1), out=p)
                total += p.sum(axis=0, dtype=np.float64)
        return total

    claim = _claims(n_batch, per)
    parts = _conv_wingemm._run_groups(_n_workers(n_batch, per), 1, group)
    partial[...] = 0.0
    partial[0] = np.sum(parts, axis=0)
    return partial
