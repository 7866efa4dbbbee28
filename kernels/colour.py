"""Float maps -> 32-bit pixels through a 256-entry table, in one pass.

The explorer colours every map it shows (24 of 512x512 for the default bank): with
NumPy that was a float64 copy, four arithmetic passes, a NaN mask, a clip, a cast and a
``take`` whose uint8 indices NumPy widens to intp first: 3.2 ns a pixel for the
``take`` alone, 25-30 ms a redraw, two frames. Here one loop reads each float once and
writes its pixel.

The arithmetic is :func:`convlab.colormaps.lut_index`'s, operation for operation in
float64 (no FMA: ``fastmath`` is off), so a value gets the same entry as there:
``t = (v - mid) * scale + 128`` with ``mid = 0.5 * (lo + hi)`` and ``scale = 255 /
(hi - lo)``, clipped to [0, 255] and truncated; NaN gets its own value.
"""

from __future__ import annotations

import numpy as np

from ._jit import njit

__all__ = ["lut_planes", "takes", "value_window"]


#: pixels indexed per pass (32 KB of entries, in L2 by the lookup); 4096 ran 1.07
#: ns a pixel, 16384 0.79, 65536 0.78
_CHUNK = 16384


@njit
def _lut_planes(planes, mids, scales, tables, nans, out):
    # Two loops a chunk: the entries (NaN -> 256), branch-free so that LLVM
    # vectorises them, then the lookups. Measured on 24 maps of 512x512, one
    # thread: one loop with a branch for NaN 2.3 ns a pixel, one branch-free loop
    # with the lookup 1.3, these two 0.8 (0.3 + 0.45 apart). The loops index slices
    # from 0: ``src[start + j]`` made numba test for negative indices, 1.2 ns.
    n_planes = planes.shape[0]
    size = planes.shape[1] * planes.shape[2]
    entry = np.empty(_CHUNK, np.uint16)
    table = np.empty(257, np.uint32)
    for p in range(n_planes):
        mid, scale = mids[p], scales[p]
        table[:256] = tables[p]
        table[256] = nans[p]
        src_plane, dst_plane = planes[p].ravel(), out[p].ravel()
        for start in range(0, size, _CHUNK):
            n = min(_CHUNK, size - start)
            src, dst = src_plane[start : start + n], dst_plane[start : start + n]
            for j in range(n):
                v = np.float64(src[j])
                t = min(max((v - mid) * scale + 128.0, 0.0), 255.0)
                entry[j] = np.uint16(t) if v == v else np.uint16(256)
            for j in range(n):
                dst[j] = table[entry[j]]


def _scales(lv: np.ndarray) -> np.ndarray | None:
    """``255 / (hi - lo)`` of each ``(lo, hi)`` row of ``lv``, or None if a row is
    not finite with lo < hi or its scale overflows (a subnormal range)."""
    lo, hi = lv[:, 0], lv[:, 1]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        scales = 255.0 / (hi - lo)
    if np.isfinite(lv).all() and (lo < hi).all() and np.isfinite(scales).all():
        return scales
    return None


def _planes_ok(a: object) -> bool:
    return (
        isinstance(a, np.ndarray)
        and a.ndim == 3
        and a.dtype == np.float32
        and a.flags.c_contiguous
    )


def _out_ok(out: object, shape: tuple[int, ...]) -> bool:
    return (
        isinstance(out, np.ndarray)
        and out.shape == shape
        and out.dtype == np.uint32
        and out.flags.c_contiguous
        and out.flags.writeable
    )


def takes(planes: np.ndarray, levels: np.ndarray, out: np.ndarray) -> bool:
    """Whether :func:`lut_planes` takes these arguments (else it raises): C-contiguous
    float32 planes, uint32 ``out`` of their shape, levels it can scale."""
    if not (_planes_ok(planes) and _out_ok(out, planes.shape)):
        return False
    lv = np.asarray(levels, np.float64).reshape(planes.shape[0], 2)
    return _scales(lv) is not None


def lut_planes(
    planes: np.ndarray,
    levels: np.ndarray,
    tables: np.ndarray,
    nans: np.ndarray,
    out: np.ndarray,
) -> np.ndarray:
    """``out[p] = tables[p][entry(planes[p])]``, NaN -> ``nans[p]``.

    Parameters
    ----------
    planes : ndarray, shape (P, H, W), float32, C-contiguous
    levels : ndarray, shape (P, 2), float64
        Per plane ``(lo, hi)``, finite with ``lo < hi`` and ``255 / (hi - lo)``
        finite (a subnormal range is the caller's business: NumPy's path divides
        first).
    tables : ndarray, shape (P, 256), uint32
    nans : ndarray, shape (P,), uint32
    out : ndarray, shape (P, H, W), uint32, C-contiguous

    Returns
    -------
    out
    """
    a = planes
    if not _planes_ok(a):
        raise ValueError(
            "`planes` must be a C-contiguous float32 array of shape (P, H, W). "
            f"Received: {type(a).__name__} "
            f"{getattr(a, 'shape', '')} {getattr(a, 'dtype', '')}"
        )
    n = a.shape[0]
    lv = np.asarray(levels, np.float64).reshape(n, 2)
    lo, hi = lv[:, 0], lv[:, 1]
    scales = _scales(lv)
    if scales is None:
        raise ValueError(
            "`levels` must be finite (lo, hi) pairs with lo < hi and 255 / (hi - lo) "
            f"finite. Received: levels={lv.tolist()!r}"
        )
    tab = np.ascontiguousarray(tables, np.uint32).reshape(n, 256)
    nan = np.ascontiguousarray(nans, np.uint32).reshape(n)
    if not _out_ok(out, a.shape):
        raise ValueError(
            "`out` must be a writeable C-contiguous uint32 array of the planes' shape "
            f"{a.shape}. Received: {getattr(out, 'shape', type(out).__name__)}"
        )
    _lut_planes(a, 0.5 * (lo + hi), scales, tab, nan, out)
    return out


@njit
def _window(values, lo, hi, out):
    below = 0
    count = 0
    for j in range(values.size):
        v = values[j]
        if v < lo:
            below += 1
        elif v <= hi:
            out[count] = v
            count += 1
    return below, count


def value_window(
    values: np.ndarray, lo: float, hi: float, out: np.ndarray
) -> tuple[int, int]:
    """In one pass over 1-D float32 ``values``: how many are below ``lo``, and those
    in ``[lo, hi]`` copied to the front of ``out`` (as long as ``values``), with
    their count. The percentiles of a map come from partitioning that window
    (:func:`convlab.colormaps.limits`); NumPy took four passes (two masks, a count,
    a gather)."""
    if not (
        isinstance(values, np.ndarray)
        and values.ndim == 1
        and values.dtype == np.float32
        and isinstance(out, np.ndarray)
        and out.dtype == np.float32
        and out.ndim == 1
        and out.size >= values.size
    ):
        raise ValueError(
            "`values` must be a 1-D float32 array and `out` a 1-D float32 array at "
            f"least as long. Received: values {getattr(values, 'shape', '')} "
            f"{getattr(values, 'dtype', '')}, out {getattr(out, 'shape', '')} "
            f"{getattr(out, 'dtype', '')}"
        )
    below, count = _window(values, np.float32(lo), np.float32(hi), out)
    return int(below), int(count)
