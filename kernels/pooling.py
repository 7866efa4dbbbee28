"""Max, average and global-average pooling with their backward passes.

PyTorch semantics throughout (``torch.nn.functional.max_pool2d`` / ``avg_pool2d``),
plus Keras' ``padding="valid"`` / ``"same"``:

* ``stride=None`` means ``stride = kernel_size``.
* Numeric padding is at most half the window on each side (PyTorch's rule). Padded cells
  never win a max (they act as ``-inf``); for the average they count as zeros when
  ``count_include_pad=True``.
* ``ceil_mode=True`` keeps a last, partial window as long as it starts inside the input
  or the left/top padding. For the average, such a window's divisor is clipped to the
  padded input, exactly as PyTorch does.
* ``padding="same"`` follows TensorFlow: output ``ceil(input / stride)``, the odd extra
  row/column of padding at the bottom/right, and the average is taken over real pixels
  only (``count_include_pad`` is ignored, as in ``tf.nn.avg_pool``).
* ``max_pool2d`` returns the winners too (unless ``return_indices=False``):
  ``indices`` holds ``h * W + w`` into each unpadded input plane, PyTorch's
  ``return_indices``. Ties go to the first maximum in scan order; a NaN in a window
  makes the output NaN (the index is the window's last NaN, as in PyTorch).

Each public wrapper checks its arguments and allocates; the jitted loops behind it trust
their input. All loops run over the (n, c) planes flattened into one axis, in parallel
over (plane, block of output rows) tasks (forward) or planes (backward, where windows
may overlap). The common 2x2 / stride 2 / no padding case has its own loops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _checks
from ._jit import njit, njit_parallel, prange
from .shapes import _output_hw, resolve_padding

_MIN_TASKS = 16  # parallel tasks wanted per call: a few per core, for balance

__all__ = [
    "max_pool2d",
    "max_pool2d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "global_avg_pool2d",
    "global_avg_pool2d_backward",
]


# --------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class _Geometry:
    kh: int
    kw: int
    sh: int
    sw: int
    top: int
    bottom: int
    left: int
    right: int
    oh: int
    ow: int
    same: bool

    def is_2x2(self, in_h: int, in_w: int) -> bool:
        """The common case: 2x2 window, stride 2, no padding, no partial window."""
        return (
            self.kh == self.kw == self.sh == self.sw == 2
            and not (self.top or self.bottom or self.left or self.right)
            and self.oh == in_h // 2
            and self.ow == in_w // 2
        )


def _split_rows(planes: int, oh: int) -> tuple[int, int]:
    """``(blocks, rows)``: cut each plane's output rows into blocks of ``rows`` rows.

    Parallel loops run over (plane, block) tasks. Many planes: one block per plane (a
    whole plane per task was faster than a row per task for 128x64x14x14). Few large
    planes (a 1x8x512x512 feature map, one 1024x1024 image): enough blocks that both
    cores get work.
    """
    if planes >= _MIN_TASKS:
        return 1, max(oh, 1)
    blocks = max(1, min(oh, -(-_MIN_TASKS // max(planes, 1))))
    return blocks, -(-oh // blocks)


def _check_flag(value: object, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"`{name}` must be True or False. Received: {name}={value!r}")
    return bool(value)


def _geometry(
    in_hw: tuple[int, int],
    kernel_size: object,
    stride: object,
    padding: object,
    ceil_mode: object,
) -> _Geometry:
    kh, kw = _checks.pair(kernel_size, "kernel_size")
    sh, sw = (kh, kw) if stride is None else _checks.pair(stride, "stride")
    ceil = _check_flag(ceil_mode, "ceil_mode")
    spec = _checks.padding_spec(padding)
    if not isinstance(spec, str):
        top, bottom, left, right = spec
        if max(top, bottom) > kh // 2 or max(left, right) > kw // 2:
            raise ValueError(
                "`padding` must be at most half the pool window on each side "
                "(PyTorch's "
                f"rule: at most {kh // 2} rows and {kw // 2} columns for kernel_size="
                f"({kh}, {kw})). Received: padding={padding!r}"
            )
    pads = resolve_padding(spec, in_hw, (kh, kw), (sh, sw))
    oh, ow = _output_hw(
        in_hw, (kh, kw), (sh, sw), pads, ceil_mode=ceil, what="pool window"
    )
    return _Geometry(kh, kw, sh, sw, *pads, oh, ow, spec == "same")


def _as_shape(x_shape: object) -> tuple[tuple[int, int, int, int], int]:
    """``x_shape`` of rank 2, 3 or 4 -> the (N, C, H, W) shape and the original rank."""
    if (
        not isinstance(x_shape, tuple | list)
        or len(x_shape) not in (2, 3, 4)
        or not all(_checks._is_int(v) and v >= 0 for v in x_shape)
    ):
        raise ValueError(
            "`x_shape` must be a tuple of non-negative ints (N, C, H, W), (C, H, W) or "
            f"(H, W). Received: x_shape={x_shape!r}"
        )
    shape = tuple(int(v) for v in x_shape)
    full = (1,) * (4 - len(shape)) + shape
    return full, len(shape)  # type: ignore[return-value]


def _promote(array: np.ndarray, ndim: int, name: str, rank_of: str) -> np.ndarray:
    if array.ndim != ndim:
        raise ValueError(
            f"`{name}` must have the rank of {rank_of} ({ndim}). "
            f"Received: {name}.shape={array.shape}"
        )
    return array.reshape((1,) * (4 - ndim) + array.shape)


def _check_grad_shape(g4: np.ndarray, expected: tuple[int, ...], ndim: int) -> None:
    if g4.shape != expected:
        want = expected[4 - ndim :]
        got = g4.shape[4 - ndim :]
        raise ValueError(
            f"`grad_out` must have the pooled shape {want} for this geometry. "
            f"Received: grad_out.shape={got}"
        )


# --------------------------------------------------------------------------- max pool


@njit_parallel
def _max_pool_2x2(x, blocks, rows, out, idx, want_idx):
    """``want_idx`` False: values only (``idx`` is a dummy), a loop without the index
    bookkeeping that gives the same bits (the same NaN wins)."""
    planes, in_w = x.shape[0], x.shape[2]
    oh, ow = out.shape[1], out.shape[2]
    for task in prange(planes * blocks):
        p = task // blocks
        first = (task - p * blocks) * rows
        for oy in range(first, min(first + rows, oh)):
            y = 2 * oy
            if not want_idx:
                for ox in range(ow):
                    # scan order split in two pairs: within a pair the second wins
                    # if greater or NaN; the lower pair wins the same way. The first
                    # maximum, or the last NaN, as in the loop below.
                    a = x[p, y, 2 * ox]
                    b = x[p, y, 2 * ox + 1]
                    c = x[p, y + 1, 2 * ox]
                    d = x[p, y + 1, 2 * ox + 1]
                    top = b if b > a or b != b else a
                    low = d if d > c or d != d else c
                    out[p, oy, ox] = low if low > top or low != low else top
                continue
            for ox in range(ow):
                # scan order (y, x), (y, x+1), (y+1, x), (y+1, x+1); strict ">" keeps
                # the first of equal maxima, "v != v" lets a NaN take over (PyTorch)
                i = y * in_w + 2 * ox
                best = x[p, y, 2 * ox]
                bi = i
                v = x[p, y, 2 * ox + 1]
                if v > best or v != v:
                    best = v
                    bi = i + 1
                v = x[p, y + 1, 2 * ox]
                if v > best or v != v:
                    best = v
                    bi = i + in_w
                v = x[p, y + 1, 2 * ox + 1]
                if v > best or v != v:
                    best = v
                    bi = i + in_w + 1
                out[p, oy, ox] = best
                idx[p, oy, ox] = bi


@njit_parallel
def _max_pool(x, kh, kw, sh, sw, top, left, blocks, rows, out, idx, want_idx):
    """Any window: per output row, first the best of each column over the window's rows
    (a loop along x that vectorises), then the best of those columns per window.

    Same answer as scanning each window row by row the way PyTorch does: a value
    replaces the best if it is greater or NaN, so the winner is the first maximum in
    scan order, or the *last* NaN. Flat indices ``y * W + x`` follow scan order, which
    is what the column pass needs to break ties the same way. ``want_idx`` False:
    ``idx`` is a dummy, not written.
    """
    planes, in_h, in_w = x.shape
    oh, ow = out.shape[1], out.shape[2]
    for task in prange(planes * blocks):
        p = task // blocks
        first = (task - p * blocks) * rows
        col_best = np.empty(in_w, np.float32)
        col_at = np.empty(in_w, np.int64)
        for oy in range(first, min(first + rows, oh)):
            # the window clipped to the real input: padded cells are -inf and never win
            y0 = max(oy * sh - top, 0)
            y1 = min(oy * sh - top + kh, in_h)
            for xx in range(in_w):
                col_best[xx] = x[p, y0, xx]
                col_at[xx] = y0 * in_w + xx
            for y in range(y0 + 1, y1):
                for xx in range(in_w):
                    v = x[p, y, xx]
                    b = col_best[xx]
                    # ties keep the upper row; a later NaN replaces an earlier one
                    take = v > b or v != v
                    col_best[xx] = v if take else b
                    col_at[xx] = y * in_w + xx if take else col_at[xx]
            for ox in range(ow):
                x0 = max(ox * sw - left, 0)
                x1 = min(ox * sw - left + kw, in_w)
                best = col_best[x0]
                at = col_at[x0]
                for xx in range(x0 + 1, x1):
                    v = col_best[xx]
                    a = col_at[xx]
                    if v != v:  # NaN: the last in scan order wins
                        take = best == best or a > at
                    else:  # the maximum; among equals the first in scan order
                        take = v > best or (v == best and a < at)
                    best = v if take else best
                    at = a if take else at
                out[p, oy, ox] = best
                if want_idx:
                    idx[p, oy, ox] = at


@njit_parallel
def _max_pool_backward(grad_out, idx, grad_x):
    """Scatter-add: overlapping windows that chose the same input add up.

    Returns the number of out-of-range indices (skipped), so the caller can raise.
    """
    planes, plane_size = grad_x.shape
    n_out = grad_out.shape[1]
    bad = 0
    for p in prange(planes):
        for i in range(plane_size):
            grad_x[p, i] = 0.0
        for o in range(n_out):
            j = idx[p, o]
            if j < 0 or j >= plane_size:
                bad += 1
            else:
                grad_x[p, j] += grad_out[p, o]
    return bad


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
    """2-D max pooling that also returns where each maximum came from.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W), (C, H, W) or (H, W)
        Converted to float32; results have the same rank.
    kernel_size : int or (kh, kw)
    stride : int, (sh, sw) or None
        ``None`` (default) means ``stride = kernel_size``.
    padding : int, (ph, pw), (top, bottom, left, right), "valid" or "same"
        Numeric padding is at most half the window on each side. Padded cells never win.
        ``"same"`` is Keras/TensorFlow's: output ``ceil(H / sh) x ceil(W / sw)``.
    ceil_mode : bool
        Round the output size up (PyTorch's ``ceil_mode``).
    return_indices : bool
        ``True`` (default here; PyTorch's default is ``False``): return
        ``(out, indices)``. ``False``: ``out`` alone, without writing the int64
        indices (for 1x8x2160x3840 they are 133 MB, twice the values).
    out : ndarray, shape (N, C, OH, OW), float32, C-contiguous, optional
        Where to write the values (always this 4-D shape, whatever the rank of
        ``x``), e.g. a buffer kept between calls; it must not overlap ``x``.

    Returns
    -------
    out : ndarray, shape (N, C, OH, OW), float32
        (``out`` itself, or a view of it for a lower-rank ``x``, when given.)
    indices : ndarray, shape (N, C, OH, OW), int64
        Only with ``return_indices=True``: ``h * W + w`` of each winner in its
        unpadded input plane (PyTorch's ``return_indices``); ties go to the first
        maximum in scan order.

    Raises
    ------
    ValueError, TypeError
        Bad ``kernel_size``, ``stride``, ``padding`` (or more than half the window),
        wrong rank of ``x``, an empty output, or a bad ``out``.

    >>> x = np.array([[1, 5, 2], [4, 3, 9], [0, 8, 7]], np.float32)
    >>> out, indices = max_pool2d(x, 2, stride=1)
    >>> out
    array([[5., 9.],
           [8., 9.]], dtype=float32)
    >>> indices
    array([[1, 5],
           [7, 5]])
    >>> max_pool2d(x, 2, stride=1, return_indices=False)
    array([[5., 9.],
           [8., 9.]], dtype=float32)
    """
    x4, ndim = _checks.as_nchw(x, "x")
    n_batch, channels, in_h, in_w = x4.shape
    g = _geometry((in_h, in_w), kernel_size, stride, padding, ceil_mode)
    want_idx = _check_flag(return_indices, "return_indices")
    shape = (n_batch, channels, g.oh, g.ow)
    if out is None:
        out = np.empty(shape, np.float32)
    else:
        _checks.out_buffer(out, shape, {"x": x4})
    planes = n_batch * channels
    xp = x4.reshape(planes, in_h, in_w)
    values = out.reshape(planes, g.oh, g.ow)
    idx = np.empty((planes, g.oh, g.ow) if want_idx else (1, 1, 1), np.int64)
    if planes:
        blocks, rows = _split_rows(planes, g.oh)
        if g.is_2x2(in_h, in_w):
            _max_pool_2x2(xp, blocks, rows, values, idx, want_idx)
        else:
            _max_pool(
                xp,
                g.kh,
                g.kw,
                g.sh,
                g.sw,
                g.top,
                g.left,
                blocks,
                rows,
                values,
                idx,
                want_idx,
            )
    if not want_idx:
        return _checks.restore_rank(out, ndim)
    return (
        _checks.restore_rank(out, ndim),
        _checks.restore_rank(idx.reshape(shape), ndim),
    )


def max_pool2d_backward(
    grad_out: object, indices: object, x_shape: object
) -> np.ndarray:
    """Gradient of :func:`max_pool2d`: each output's gradient goes to its winner.

    Parameters
    ----------
    grad_out : ndarray, shape (N, C, OH, OW) (or the rank ``x`` had)
    indices : ndarray of ints, same shape as ``grad_out``
        The ``indices`` :func:`max_pool2d` returned.
    x_shape : tuple
        Shape of the pooled input: (N, C, H, W), (C, H, W) or (H, W).

    Returns
    -------
    grad_x : ndarray, shape ``x_shape``, float32
        Where overlapping windows chose the same input, their gradients add up.

    >>> x = np.array([[1, 5, 2], [4, 3, 9], [0, 8, 7]], np.float32)
    >>> out, indices = max_pool2d(x, 2, stride=1)
    >>> max_pool2d_backward(np.ones_like(out), indices, x.shape)
    array([[0., 1., 0.],
           [0., 0., 2.],
           [0., 1., 0.]], dtype=float32)
    """
    shape, ndim = _as_shape(x_shape)
    g = _promote(_checks.as_float32(grad_out, "grad_out"), ndim, "grad_out", "x_shape")
    message = (
        "`indices` must be an integer array (as returned by max_pool2d). "
        f"Received: indices of type {type(indices).__name__}"
    )
    if isinstance(indices, str | bytes | bytearray | memoryview) or indices is None:
        raise TypeError(message)
    try:
        idx_arr = np.asarray(indices)
    except (TypeError, ValueError) as exc:  # ragged lists
        raise TypeError(message) from exc
    if not np.issubdtype(idx_arr.dtype, np.integer):
        raise TypeError(
            "`indices` must be an integer array (as returned by max_pool2d). "
            f"Received: indices.dtype={idx_arr.dtype}"
        )
    idx = _promote(np.ascontiguousarray(idx_arr, np.int64), ndim, "indices", "x_shape")
    if idx.shape != g.shape:
        raise ValueError(
            "`indices` must have the shape of `grad_out`. Received: indices.shape="
            f"{idx_arr.shape}, grad_out.shape={np.shape(grad_out)}"
        )
    n_batch, channels, in_h, in_w = shape
    if g.shape[:2] != (n_batch, channels):
        raise ValueError(
            f"`grad_out` must have the batch and channel sizes of x_shape ({n_batch}, "
            f"{channels}). Received: grad_out.shape={np.shape(grad_out)}, "
            f"x_shape={x_shape!r}"
        )
    planes = n_batch * channels
    grad_x = np.empty((planes, in_h * in_w), np.float32)
    if planes:
        bad = _max_pool_backward(g.reshape(planes, -1), idx.reshape(planes, -1), grad_x)
        if bad:
            raise ValueError(
                f"`indices` must lie in [0, H * W) = [0, {in_h * in_w}) for x_shape="
                f"{x_shape!r}. Received: {bad} indices outside that range"
            )
    return _checks.restore_rank(grad_x.reshape(shape), ndim)


# --------------------------------------------------------------------------- avg pool


@njit_parallel
def _avg_pool_2x2(x, blocks, rows, out):
    planes = x.shape[0]
    oh, ow = out.shape[1], out.shape[2]
    for task in prange(planes * blocks):
        p = task // blocks
        first = (task - p * blocks) * rows
        for oy in range(first, min(first + rows, oh)):
            y = 2 * oy
            for ox in range(ow):
                # PyTorch's summation order; / 4 equals * 0.25 exactly
                s = x[p, y, 2 * ox] + x[p, y, 2 * ox + 1]
                s = s + x[p, y + 1, 2 * ox]
                s = s + x[p, y + 1, 2 * ox + 1]
                out[p, oy, ox] = s * np.float32(0.25)


@njit
def _window(o, stride, before, k, size, after):
    """Output ``o``'s average-pool window along one axis: ``(lo, hi, padded)``.

    ``[lo, hi)`` is the part inside the real input; ``padded`` is the length inside the
    *padded* input, the divisor with padding (PyTorch clips a ceil_mode window there).
    """
    lo = o * stride - before
    hi = min(lo + k, size + after)
    return max(lo, 0), min(hi, size), hi - lo


@njit_parallel
def _avg_pool(
    x, kh, kw, sh, sw, top, bottom, left, right, include_pad, blocks, rows, out
):
    planes, in_h, in_w = x.shape
    oh, ow = out.shape[1], out.shape[2]
    for task in prange(planes * blocks):
        p = task // blocks
        first = (task - p * blocks) * rows
        for oy in range(first, min(first + rows, oh)):
            y0, y1, pool_h = _window(oy, sh, top, kh, in_h, bottom)
            for ox in range(ow):
                x0, x1, pool_w = _window(ox, sw, left, kw, in_w, right)
                if y0 >= y1 or x0 >= x1:
                    out[p, oy, ox] = 0.0
                    continue
                s = np.float32(0.0)
                for y in range(y0, y1):
                    for xx in range(x0, x1):
                        s += x[p, y, xx]
                divisor = pool_h * pool_w if include_pad else (y1 - y0) * (x1 - x0)
                out[p, oy, ox] = s / np.float32(divisor)


@njit_parallel
def _avg_pool_2x2_backward(grad_out, blocks, rows, grad_x):
    """Windows tile the input: write each cell once, zero the uncovered edge."""
    planes, in_h, in_w = grad_x.shape
    oh, ow = grad_out.shape[1], grad_out.shape[2]
    for task in prange(planes * blocks):
        p = task // blocks
        first = (task - p * blocks) * rows
        for oy in range(first, min(first + rows, oh)):
            y = 2 * oy
            for ox in range(ow):
                v = grad_out[p, oy, ox] * np.float32(0.25)
                grad_x[p, y, 2 * ox] = v
                grad_x[p, y, 2 * ox + 1] = v
                grad_x[p, y + 1, 2 * ox] = v
                grad_x[p, y + 1, 2 * ox + 1] = v
            if in_w > 2 * ow:
                grad_x[p, y, 2 * ow] = 0.0
                grad_x[p, y + 1, 2 * ow] = 0.0
    if in_h > 2 * oh:
        for p in prange(planes):
            for xx in range(in_w):
                grad_x[p, in_h - 1, xx] = 0.0


@njit_parallel
def _avg_pool_backward(
    grad_out, kh, kw, sh, sw, top, bottom, left, right, include_pad, grad_x
):
    planes, in_h, in_w = grad_x.shape
    oh, ow = grad_out.shape[1], grad_out.shape[2]
    for p in prange(planes):
        for y in range(in_h):
            for xx in range(in_w):
                grad_x[p, y, xx] = 0.0
        for oy in range(oh):
            y0, y1, pool_h = _window(oy, sh, top, kh, in_h, bottom)
            for ox in range(ow):
                x0, x1, pool_w = _window(ox, sw, left, kw, in_w, right)
                if y0 >= y1 or x0 >= x1:
                    continue
                divisor = pool_h * pool_w if include_pad else (y1 - y0) * (x1 - x0)
                v = grad_out[p, oy, ox] / np.float32(divisor)
                for y in range(y0, y1):
                    for xx in range(x0, x1):
                        grad_x[p, y, xx] += v


def avg_pool2d(
    x: object,
    kernel_size: object,
    stride: object = None,
    padding: object = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """2-D average pooling.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W), (C, H, W) or (H, W)
        Converted to float32; the result has the same rank.
    kernel_size, stride, padding, ceil_mode
        As for :func:`max_pool2d`.
    count_include_pad : bool
        Whether padded zeros count in the divisor (PyTorch's default ``True``). A
        ``ceil_mode`` window hanging past the padded input is divided by its part inside
        the padded input, as in PyTorch. Ignored for ``padding="same"``, which averages
        real pixels only (TensorFlow's ``"SAME"``).

    Returns
    -------
    out : ndarray, shape (N, C, OH, OW), float32

    >>> x = np.arange(9, dtype=np.float32).reshape(3, 3)
    >>> avg_pool2d(x, 2, stride=1)
    array([[2., 3.],
           [5., 6.]], dtype=float32)
    >>> avg_pool2d(x, 2, padding="same")  # edge windows average their real pixels only
    array([[2. , 3.5],
           [6.5, 8. ]], dtype=float32)
    """
    x4, ndim = _checks.as_nchw(x, "x")
    n_batch, channels, in_h, in_w = x4.shape
    g = _geometry((in_h, in_w), kernel_size, stride, padding, ceil_mode)
    include = _check_flag(count_include_pad, "count_include_pad") and not g.same
    planes = n_batch * channels
    xp = x4.reshape(planes, in_h, in_w)
    out = np.empty((planes, g.oh, g.ow), np.float32)
    if planes:
        blocks, rows = _split_rows(planes, g.oh)
        if g.is_2x2(in_h, in_w):
            _avg_pool_2x2(xp, blocks, rows, out)
        else:
            _avg_pool(
                xp,
                g.kh,
                g.kw,
                g.sh,
                g.sw,
                g.top,
                g.bottom,
                g.left,
                g.right,
                include,
                blocks,
                rows,
                out,
            )
    return _checks.restore_rank(out.reshape(n_batch, channels, g.oh, g.ow), ndim)


def avg_pool2d_backward(
    grad_out: object,
    x_shape: object,
    kernel_size: object,
    stride: object = None,
    padding: object = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """Gradient of :func:`avg_pool2d`: each output's gradient, divided by its divisor,
    spread over its window (overlapping windows add up).

    Parameters
    ----------
    grad_out : ndarray, shape (N, C, OH, OW) (or the rank ``x`` had)
    x_shape : tuple
        Shape of the pooled input: (N, C, H, W), (C, H, W) or (H, W).
    kernel_size, stride, padding, ceil_mode, count_include_pad
        As given to :func:`avg_pool2d`.

    Returns
    -------
    grad_x : ndarray, shape ``x_shape``, float32

    >>> avg_pool2d_backward(np.ones((2, 2), np.float32), (3, 3), 2, stride=1)
    array([[0.25, 0.5 , 0.25],
           [0.5 , 1.  , 0.5 ],
           [0.25, 0.5 , 0.25]], dtype=float32)
    """
    shape, ndim = _as_shape(x_shape)
    g4 = _promote(_checks.as_float32(grad_out, "grad_out"), ndim, "grad_out", "x_shape")
    n_batch, channels, in_h, in_w = shape
    g = _geometry((in_h, in_w), kernel_size, stride, padding, ceil_mode)
    include = _check_flag(count_include_pad, "count_include_pad") and not g.same
    _check_grad_shape(g4, (n_batch, channels, g.oh, g.ow), ndim)
    planes = n_batch * channels
    gp = g4.reshape(planes, g.oh, g.ow)
    grad_x = np.empty((planes, in_h, in_w), np.float32)
    if planes:
        if g.is_2x2(in_h, in_w):
            _avg_pool_2x2_backward(gp, *_split_rows(planes, g.oh), grad_x)
        else:
            _avg_pool_backward(
                gp,
                g.kh,
                g.kw,
                g.sh,
                g.sw,
                g.top,
                g.bottom,
                g.left,
                g.right,
                include,
                grad_x,
            )
    return _checks.restore_rank(grad_x.reshape(shape), ndim)


# --------------------------------------------------------------------------- global


@njit_parallel
def _global_avg_pool(x, out):
    planes, size = x.shape
    whole = size - size % 8
    for p in prange(planes):
        xp = x[p]
        # eight float64 accumulators: exact enough for a 1024x1024 plane, and
        # independent additions the CPU can overlap
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
        for i in range(0, whole, 8):
            a0 += xp[i]
            a1 += xp[i + 1]
            a2 += xp[i + 2]
            a3 += xp[i + 3]
            a4 += xp[i + 4]
            a5 += xp[i + 5]
            a6 += xp[i + 6]
            a7 += xp[i + 7]
        s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
        for i in range(whole, size):
            s += xp[i]
        out[p] = s / size


@njit_parallel
def _global_avg_pool_backward(grad_out, grad_x):
    planes, size = grad_x.shape
    for p in prange(planes):
        v = grad_out[p] / np.float32(size)
        for i in range(size):
            grad_x[p, i] = v


def global_avg_pool2d(x: object) -> np.ndarray:
    """Mean over each (H, W) plane (Keras' ``GlobalAveragePooling2D``).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W), (C, H, W) or (H, W)

    Returns
    -------
    out : ndarray, shape (N, C), (C,) or (), float32
        Summed in float64, rounded once.

    >>> global_avg_pool2d(np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2))
    array([[1.5, 5.5]], dtype=float32)
    """
    x4, ndim = _checks.as_nchw(x, "x")
    n_batch, channels, in_h, in_w = x4.shape
    if in_h == 0 or in_w == 0:
        raise ValueError(
            f"global_avg_pool2d needs a non-empty plane. Received: "
            f"x.shape={np.shape(x)}"
        )
    planes = n_batch * channels
    out = np.empty(planes, np.float32)
    if planes:
        _global_avg_pool(x4.reshape(planes, in_h * in_w), out)
    return out.reshape((n_batch, channels)[4 - ndim :])


def global_avg_pool2d_backward(grad_out: object, x_shape: object) -> np.ndarray:
    """Gradient of :func:`global_avg_pool2d`: ``grad_out / (H * W)`` over each plane.

    Parameters
    ----------
    grad_out : ndarray, shape (N, C) (or (C,) / () for a lower-rank ``x``)
    x_shape : tuple
        (N, C, H, W), (C, H, W) or (H, W).

    Returns
    -------
    grad_x : ndarray, shape ``x_shape``, float32

    >>> global_avg_pool2d_backward(np.array([[4.0]]), (1, 1, 2, 2))
    array([[[[1., 1.],
             [1., 1.]]]], dtype=float32)
    """
    shape, ndim = _as_shape(x_shape)
    n_batch, channels, in_h, in_w = shape
    g = _checks.as_float32(grad_out, "grad_out")
    expected = (n_batch, channels)[4 - ndim :]
    if g.shape != expected:
        raise ValueError(
            f"`grad_out` must have shape {expected} for x_shape={x_shape!r}. "
            f"Received: grad_out.shape={g.shape}"
        )
    planes = n_batch * channels
    grad_x = np.empty((planes, in_h * in_w), np.float32)
    if planes and in_h * in_w:
        _global_avg_pool_backward(g.reshape(planes), grad_x)
    return grad_x.reshape(shape[4 - ndim :])


def _warmup() -> None:
    """Compile every pooling kernel on tiny inputs."""
    x = np.zeros((1, 1, 4, 4), np.float32)
    for k, s in ((2, None), (3, 1)):
        out, idx = max_pool2d(x, k, s)
        max_pool2d_backward(out, idx, x.shape)
        avg = avg_pool2d(x, k, s)
        avg_pool2d_backward(avg, x.shape, k, s)
    global_avg_pool2d_backward(global_avg_pool2d(x), x.shape)
