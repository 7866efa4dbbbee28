"""Affine warps of image batches, as ``scipy.ndimage.affine_transform`` computes them
(the function Keras's ``ImageDataGenerator`` calls), one matrix per image.

Layout: ``x (N, H, W, C)`` float32, channels last: the layout ImageDataGenerator's
images arrive in, and the one where a pixel's source coordinate, computed once, serves
every channel from contiguous memory.

For output pixel ``(r, c)`` of image ``n`` the source point is::

    (sr, sc) = matrix[n, :, :2] @ (r, c) + matrix[n, :, 2]

(``matrix`` maps output coordinates to input coordinates, rows first, as scipy's
``matrix`` and ``offset`` do). Each source coordinate is mapped by ``fill_mode``
exactly as scipy's ``map_coordinate`` does, then interpolated:

* ``"constant"``: a coordinate outside ``[0, size - 1]`` on either axis gives ``cval``
  (no blending with ``cval`` at the border: scipy's "constant", not "grid-constant");
* ``"nearest"``: clamped to ``[0, size - 1]``;
* ``"reflect"``: reflected about the outer pixel edges
  (``d c b a | a b c d | d c b a``);
* ``"wrap"``: scipy's ``"wrap"``, periodic with period ``size - 1`` (the first and last
  samples overlap; scipy's ``"grid-wrap"`` would use ``size``).

``order=1`` is bilinear, ``order=0`` takes the nearest sample (``floor(v + 0.5)``).
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import njit

__all__ = ["FILL_MODES", "affine_transform"]

#: the fill modes, in the index used by the kernel
FILL_MODES = ("constant", "nearest", "reflect", "wrap")


@njit
def _map_coordinate(v: float, size: int, mode: int) -> float:
    """scipy's ``map_coordinate``: a coordinate outside ``[0, size - 1]`` brought
    back inside, or ``-inf`` for "constant" (never a coordinate: reflect brings a
    value just below 0 to about -1.0, which the old -1.0 sentinel took for outside)."""
    if v >= 0.0 and v <= size - 1:
        return v
    if mode == 0:  # constant
        return -math.inf
    if size <= 1:
        return 0.0
    if v < 0.0:
        if mode == 1:  # nearest
            return 0.0
        if mode == 2:  # reflect
            sz2 = 2 * size
            if v < -sz2:
                v = sz2 * int(-v / sz2) + v
            return v + sz2 if v < -size else -v - 1.0
        sz = size - 1  # wrap
        return v + sz * (int(-v / sz) + 1)
    if mode == 1:
        return size - 1.0
    if mode == 2:
        sz2 = 2 * size
        v -= sz2 * int(v / sz2)
        if v >= size:
            v = sz2 - v - 1.0
        return v
    sz = size - 1
    return v - sz * int(v / sz)


@njit
def _clamp(i: int, size: int) -> int:
    # neighbours outside the image only occur with weight 0, or (reflect, within
    # half a pixel of the edge) where the reflected neighbour is the edge pixel
    if i < 0:
        return 0
    if i > size - 1:
        return size - 1
    return i


# serial: 128 28x28 images took 2.4 ms serial vs 2.2 ms on 2 threads on a quiet
# moment, and parallel loses badly when the cores are shared (STYLE.md)
@njit
def _affine_nhwc(
    x: np.ndarray,
    matrix: np.ndarray,
    order: int,
    mode: int,
    cval: float,
    out: np.ndarray,
) -> None:
    n_images, height, width, channels = x.shape
    for n in range(n_images):
        a, b, t0 = matrix[n, 0, 0], matrix[n, 0, 1], matrix[n, 0, 2]
        d, e, t1 = matrix[n, 1, 0], matrix[n, 1, 1], matrix[n, 1, 2]
        for r in range(height):
            for c in range(width):
                sr = _map_coordinate(a * r + b * c + t0, height, mode)
                sc = _map_coordinate(d * r + e * c + t1, width, mode)
                if sr == -math.inf or sc == -math.inf:  # outside, "constant" mode
                    for ch in range(channels):
                        out[n, r, c, ch] = cval
                    continue
                if order == 0:
                    ir = _clamp(int(math.floor(sr + 0.5)), height)
                    ic = _clamp(int(math.floor(sc + 0.5)), width)
                    for ch in range(channels):
                        out[n, r, c, ch] = x[n, ir, ic, ch]
                    continue
                r0 = int(math.floor(sr))
                c0 = int(math.floor(sc))
                fr = sr - r0
                fc = sc - c0
                ra, rb = _clamp(r0, height), _clamp(r0 + 1, height)
                ca, cb = _clamp(c0, width), _clamp(c0 + 1, width)
                w00 = (1.0 - fr) * (1.0 - fc)
                w01 = (1.0 - fr) * fc
                w10 = fr * (1.0 - fc)
                w11 = fr * fc
                for ch in range(channels):
                    out[n, r, c, ch] = (
                        w00 * x[n, ra, ca, ch]
                        + w01 * x[n, ra, cb, ch]
                        + w10 * x[n, rb, ca, ch]
                        + w11 * x[n, rb, cb, ch]
                    )


def affine_transform(
    x: np.ndarray,
    matrix: np.ndarray,
    *,
    order: int = 1,
    fill_mode: str = "nearest",
    cval: float = 0.0,
) -> np.ndarray:
    """Warp every image of ``x`` by its own affine map (see the module docstring).

    Parameters
    ----------
    x : ndarray, shape (N, H, W, C), float32
    matrix : ndarray, shape (N, 2, 3) or (2, 3), float
        Output-to-input map per image, rows first: ``[[a, b, t_row], [d, e, t_col]]``
        (a ``(2, 3)`` matrix serves every image).
    order : 0 or 1
        Nearest sample or bilinear interpolation.
    fill_mode : "constant", "nearest", "reflect" or "wrap"
    cval : float
        The value outside the image for ``"constant"``.

    Returns
    -------
    ndarray, shape (N, H, W, C), float32

    Examples
    --------
    >>> x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    >>> shift = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])  # read one row down
    >>> affine_transform(x, shift, fill_mode="constant", cval=-1)[0, :, :, 0]
    array([[ 3.,  4.,  5.],
           [ 6.,  7.,  8.],
           [-1., -1., -1.]], dtype=float32)
    """
    x = np.asarray(x)
    if x.ndim != 4 or 0 in x.shape:
        raise ValueError(
            "`x` must be a non-empty batch of images (N, H, W, C). "
            f"Received: x.shape={x.shape}"
        )
    m = np.asarray(matrix, np.float64)
    if m.shape == (2, 3):
        m = np.broadcast_to(m, (x.shape[0], 2, 3))
    if m.shape != (x.shape[0], 2, 3):
        raise ValueError(
            f"`matrix` must have shape ({x.shape[0]}, 2, 3) or (2, 3). "
            f"Received: matrix.shape={np.shape(matrix)}"
        )
    if not np.all(np.isfinite(m)):
        raise ValueError("`matrix` must hold finite numbers. Received: a NaN or inf")
    if order not in (0, 1) or isinstance(order, bool):
        raise ValueError(f"`order` must be 0 or 1. Received: order={order!r}")
    if fill_mode not in FILL_MODES:
        raise ValueError(
            f"`fill_mode` must be one of {', '.join(repr(f) for f in FILL_MODES)}. "
            f"Received: fill_mode={fill_mode!r}"
        )
    x = np.ascontiguousarray(x, np.float32)
    out = np.empty_like(x)
    _affine_nhwc(
        x,
        np.ascontiguousarray(m),
        int(order),
        FILL_MODES.index(fill_mode),
        float(cval),
        out,
    )
    return out
