"""The direct pass on phase planes: any stride, dilation and padding mode.

It computes

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

The weight gradient gathers, per image, the taps of each output pixel into a
(pixels, taps) scratch and accumulates ``grad_out[f, p] * taps[p, :]`` with the same
row loop (:mod:`kernels._conv_rows`).
"""

from __future__ import annotations

import numba
import numpy as np

from . import config
from ._conv_rows import _all_filters
from ._jit import JIT_OPTIONS, njit_parallel, prange
from .padding import _maps

_inline = numba.njit(inline="always", **JIT_OPTIONS)  # no call: no refcounts


@_inline
def _gather_row(
    xf,
    src,
    valid,
    in_w,
    colmap,
    run_lo,
    run_hi,
    run_src,
    sw,
    width,
    plane_size,
    planes,
    row0,
):
    """planes[row0 + px*plane_size + j] = xpad row ``src`` of the flat input ``xf``
    (zeros unless ``valid``) at column j*sw + px, for every column phase px.

    Flat unsigned indices and no array views: a signed index may be negative, which
    numba wraps per element (LLVM then gathers: 0.7 ms for a 3x514x514 copy instead of
    0.07), and a view's reference count is an atomic that both threads contend on.
    Columns ``[run_lo, run_hi)`` of phase ``px`` read the unpadded row at
    ``run_src + k * sw``; only the padded columns around them use ``colmap``. At
    stride 2 both phases come from one pass over the source row."""
    src0 = np.uint64(max(src, 0)) * np.uint64(in_w)
    lo2, hi2 = max(run_lo[0], run_lo[sw - 1]), min(run_hi[0], run_hi[sw - 1])
    fused = sw == 2 and lo2 < hi2
    for px in range(sw):
        row = np.uint64(row0 + px * plane_size)
        if not valid:
            for j in range(np.uint64(width)):
                planes[row + j] = 0.0
            continue
        lo, hi = (lo2, hi2) if fused else (run_lo[px], run_hi[px])
        for j in range(lo):
            v = colmap[px, j]
            planes[row + np.uint64(j)] = 0.0 if v < 0 else xf[src0 + np.uint64(v)]
        for j in range(hi, width):
            v = colmap[px, j]
            planes[row + np.uint64(j)] = 0.0 if v < 0 else xf[src0 + np.uint64(v)]
        if fused:
            continue
        dst = row + np.uint64(lo)
        first = src0 + np.uint64(run_src[px])
        if sw == 1:
            for k in range(np.uint64(hi - lo)):
                planes[dst + k] = xf[first + k]
        else:
            usw = np.uint64(sw)
            for k in range(np.uint64(hi - lo)):
                planes[dst + k] = xf[first + k * usw]
    if fused and valid:
        # plane column j of phase px reads input column 2 j + px - left
        row_a = np.uint64(row0 + lo2)
        row_b = row_a + np.uint64(plane_size)
        first = src0 + np.uint64(run_src[0] + 2 * (lo2 - run_lo[0]))
        two, one = np.uint64(2), np.uint64(1)
        for k in range(np.uint64(hi2 - lo2)):
            planes[row_a + k] = xf[first + two * k]
            planes[row_b + k] = xf[first + two * k + one]


@njit_parallel
def _gather_planes(
    x, rowmap, colmap, run_lo, run_hi, run_src, sh, sw, hy, width, plane_size, planes
):
    """planes[((n*C + c)*sh*sw + py*sw + px)*plane_size + y*width + j]
    = xpad[n, c, y*sh + py, j*sw + px], through the padding's index maps (-1: zero);
    one source row (all its column phases) per iteration."""
    n_batch, channels, in_h, in_w = x.shape
    xf = x.reshape(n_batch * channels * in_h * in_w)
    for r in prange(n_batch * channels * sh * hy):
        y = r % hy
        py = (r // hy) % sh
        nc = r // (hy * sh)
        row0 = ((nc * sh + py) * sw) * plane_size + y * width
        if y == hy - 1:  # the slack read by dropped columns
            for px in range(sw):
                end = np.uint64(row0 + px * plane_size + width)
                for j in range(np.uint64(plane_size - hy * width)):
                    planes[end + j] = 0.0
        src_row = rowmap[y * sh + py]
        _gather_row(
            xf,
            nc * in_h + src_row,
            src_row >= 0,
            in_w,
            colmap,
            run_lo,
            run_hi,
            run_src,
            sw,
            width,
            plane_size,
            planes,
            row0,
        )


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
            _all_filters(
                out_rows, base, oh, planes, offs, wtaps, q0, blen, np.bool_(False)
            )
            continue
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
            wtaps,
            q0,
            blen,
            np.bool_(False),
        )
        for f in range(n_filters):
            for r in range(n_rows):
                out[n, f, oy0 + r, :] = acc[f, r * width : r * width + ow]


@njit_parallel
def _conv_blocks(
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
    tap_plane,
    tap_row,
    tap_col,
    halo,
    wtaps,
    bias,
    rows_per_block,
    n_chunks,
    out,
):
    """out (N, F, OH, OW), each work item gathering its own phase planes.

    A work item is a block of ``rows_per_block`` output rows of one image: it gathers
    the ``rows_per_block + halo`` plane rows those read (every channel and phase) into
    a buffer of its own that stays in the core's L2, then runs the row loop one output
    row per pass, straight into ``out``. One parallel region instead of two, no
    full-size planes array, and the gather of the next block runs while the other
    thread computes. Tap ``t`` sits in plane ``tap_plane[t]`` at row ``tap_row[t]``,
    column ``tap_col[t]`` of its output row; taps past the real ones read the zero tail
    with weight 0.
    """
    n_batch, channels = x.shape[0], x.shape[1]
    in_h, in_w = x.shape[2], x.shape[3]
    n_filters, oh, ow = out.shape[1], out.shape[2], out.shape[3]
    n_taps = tap_plane.shape[0]
    n_taps4 = wtaps.shape[1]
    xf = x.reshape(n_batch * channels * in_h * in_w)
    out_rows = out.reshape(n_batch * n_filters * oh, ow)
    hb = rows_per_block + halo  # plane rows per block
    plane_size = hb * width
    n_planes = channels * sh * sw
    zero_off = n_planes * plane_size
    blocks = (oh + rows_per_block - 1) // rows_per_block
    n_tasks = n_batch * blocks
    per_chunk = (n_tasks + n_chunks - 1) // n_chunks
    # one buffer per thread's run of items: a fresh 0.2-0.5 MB np.empty per item is an
    # mmap, page faults and an munmap each time (the 4K row took 260 ms instead of 150)
    for chunk in prange(n_chunks):
        buf = np.empty(zero_off + ow, np.float32)
        for j in range(np.uint64(ow)):
            buf[np.uint64(zero_off) + j] = 0.0
        offs = np.empty(n_taps4, np.int64)
        for task in range(chunk * per_chunk, min(n_tasks, (chunk + 1) * per_chunk)):
            n = task // blocks
            oy0 = (task % blocks) * rows_per_block
            n_rows = min(rows_per_block, oh - oy0)
            for c in range(channels):
                nc = n * channels + c
                for py in range(sh):
                    for yy in range(n_rows + halo):
                        y = oy0 + yy
                        src_row = rowmap[y * sh + py] if y < hy else -1
                        _gather_row(
                            xf,
                            nc * in_h + src_row,
                            src_row >= 0,
                            in_w,
                            colmap,
                            run_lo,
                            run_hi,
                            run_src,
                            sw,
                            width,
                            plane_size,
                            buf,
                            ((c * sh + py) * sw) * plane_size + yy * width,
                        )
            for t in range(n_taps):
                offs[t] = tap_plane[t] * plane_size + tap_row[t] * width + tap_col[t]
            for r in range(n_rows):
                q0 = r * width
                for t in range(n_taps, n_taps4):
                    offs[t] = zero_off - q0  # reads the zero tail
                base = n * n_filters * oh + oy0 + r
                for f in range(n_filters):
                    bf = bias[f]
                    for j in range(ow):
                        out_rows[base + f * oh, j] = bf
                _all_filters(
                    out_rows, base, oh, buf, offs, wtaps, q0, ow, np.bool_(False)
                )


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
            _all_filters(
                acc,
                np.int64(0),
                np.int64(1),
                flat_cols,
                row_offs,
                g,
                np.int64(0),
                n_taps,
                np.bool_(False),
            )


class _Layout:
    """Where the padded input's pixels go in phase planes: the row and column index
    maps by phase, the unpadded run of each column phase, and each tap's plane, row
    and column (in weight order (c, ky, kx))."""

    def __init__(self, x_shape, pads, mode, kernel_hw, stride, dilation):
        channels, in_h, in_w = x_shape[1:]
        rowmap, colmap = _maps(in_h, in_w, pads, mode)
        kh, kw = kernel_hw
        sh, sw = stride
        dh, dw = dilation
        hp, wp = rowmap.shape[0], colmap.shape[0]
        self.hy, self.width = hy, width = -(-hp // sh), -(-wp // sw)
        self.rows = np.full(hy * sh, -1, np.int64)
        self.rows[:hp] = rowmap
        cols_full = np.full(width * sw, -1, np.int64)
        cols_full[:wp] = colmap
        self.cols = np.ascontiguousarray(cols_full.reshape(width, sw).T)  # (sw, width)
        self.run_lo = np.zeros(sw, np.int64)
        self.run_hi = np.zeros(sw, np.int64)
        self.run_src = np.zeros(sw, np.int64)
        for px in range(sw):
            self.run_lo[px], self.run_hi[px], self.run_src[px] = _interior_run(
                in_w, pads[2], px, sw, width
            )
        c = np.arange(channels, dtype=np.int64)[:, None, None]
        ky = np.arange(kh, dtype=np.int64)[None, :, None] * dh
        kx = np.arange(kw, dtype=np.int64)[None, None, :] * dw
        shape = (channels, kh, kw)
        self.tap_plane = np.broadcast_to(c * sh * sw + (ky % sh) * sw + kx % sw, shape)
        self.tap_row = np.broadcast_to(ky // sh, shape)
        self.tap_col = np.broadcast_to(kx // sw, shape)


class Planes:
    """Phase planes of a padded input and the offset of every tap inside them."""

    def __init__(self, x4, pads, mode, kernel_hw, stride, dilation, extra_zero):
        n_batch, channels = x4.shape[:2]
        sh, sw = stride
        lay = _Layout(x4.shape, pads, mode, kernel_hw, stride, dilation)
        hy, width = lay.hy, lay.width
        slack = (kernel_hw[1] - 1) * dilation[1] // sw + 1  # read past the last row
        plane_size = hy * width + slack
        self.width = width
        self.image_size = channels * sh * sw * plane_size
        self.zero_off = n_batch * self.image_size
        planes = np.empty(self.zero_off + extra_zero, np.float32)
        # per-plane slack and the zero tail (dummy taps, garbage reads) must be zeros
        planes[self.zero_off :] = 0.0
        _gather_planes(
            x4,
            lay.rows,
            lay.cols,
            lay.run_lo,
            lay.run_hi,
            lay.run_src,
            sh,
            sw,
            hy,
            width,
            plane_size,
            planes,
        )
        self.planes = planes
        # tap (c, ky, kx), in weight order: its place in the planes
        offs = lay.tap_plane * plane_size + lay.tap_row * width + lay.tap_col
        self.tap_offs = offs.reshape(-1)


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
    return max(1, min(oh, config.PLANES_BLOCK // max(width, 1)))


def _tap_weights(weight: np.ndarray) -> np.ndarray:
    """(F, C, KH, KW) -> (F, T4): taps in (c, ky, kx) order, zero-padded to a multiple
    of 4."""
    n_filters = weight.shape[0]
    taps = weight.reshape(n_filters, -1)
    padded = np.zeros((n_filters, -(-taps.shape[1] // 4) * 4), np.float32)
    padded[:, : taps.shape[1]] = taps
    return padded


def forward(x4, weight, bias, pads, stride, dilation, mode, out):
    """out (N, F, OH, OW) = conv2d of already-validated float32 arrays; pads may be
    negative (crop)."""
    oh = out.shape[2]
    width = -(-(x4.shape[3] + pads[2] + pads[3]) // stride[1])
    rows = _rows_per_block(oh, width)
    geo = Planes(x4, pads, mode, weight.shape[2:], stride, dilation, rows * width + 8)
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


def blocks_rows(x_shape, kernel_hw, stride, dilation, pads) -> tuple[int, int]:
    """(output rows per work item of "blocks", halo rows): the item's planes hold
    about ``config.BLOCKS_FLOATS`` values, at least ``config.BLOCKS_MIN_ROWS`` output
    rows, and an image splits into a multiple of the thread count of items, at least
    2 per thread (prange splits the items in equal runs: 13 items on 2 threads would
    leave one thread 7 and the other 6)."""
    channels, in_h, in_w = x_shape[1:]
    sh, sw = stride
    halo = (kernel_hw[0] - 1) * dilation[0] // sh
    width = -(-(in_w + pads[2] + pads[3]) // sw)
    oh = (in_h + pads[0] + pads[1] - (kernel_hw[0] - 1) * dilation[0] - 1) // sh + 1
    rows = config.BLOCKS_FLOATS // (channels * sh * sw * width) - halo
    rows = max(config.BLOCKS_MIN_ROWS, rows)
    threads = numba.get_num_threads()
    n_blocks = max(-(-oh // rows), 2 * threads)
    n_blocks = -(-n_blocks // threads) * threads
    return max(1, -(-oh // n_blocks)), halo


def forward_blocks(x4, weight, bias, pads, stride, dilation, mode, out):
    """The same as :func:`forward`, each block of output rows gathering its own
    planes (:func:`_conv_blocks`): wide images."""
    kernel_hw = weight.shape[2:]
    lay = _Layout(x4.shape, pads, mode, kernel_hw, stride, dilation)
    rows, halo = blocks_rows(x4.shape, kernel_hw, stride, dilation, pads)
    _conv_blocks(
        x4,
        lay.rows,
        lay.cols,
        lay.run_lo,
        lay.run_hi,
        lay.run_src,
        stride[0],
        stride[1],
        lay.hy,
        lay.width,
        np.ascontiguousarray(lay.tap_plane).reshape(-1),
        np.ascontiguousarray(lay.tap_row).reshape(-1),
        np.ascontiguousarray(lay.tap_col).reshape(-1),
        halo,
        _tap_weights(weight),
        bias,
        rows,
        numba.get_num_threads(),
        out,
    )
    return out


def grad_weight(g, x4, pads, stride, dilation, mode, kernel_hw, partial):
    """partial (chunks, F, T): per chunk of images, the weight gradient from ``g``
    (N, F, OH, OW) and ``x4`` (N, C, H, W); the caller sums over chunks."""
    planes = Planes(x4, pads, mode, kernel_hw, stride, dilation, 8)
    _grad_weight_planes(
        planes.planes,
        planes.image_size,
        planes.tap_offs,
        planes.width,
        g,
        partial.shape[0],
        partial,
    )
