"""Colour maps: one diverging map (blue negative, white zero, red positive) for every
map.

:func:`colorize_planes` turns float maps into ``uint32`` pixels ``0xFFRRGGBB`` (a
``QImage.Format_RGB32`` row) in one numba pass with no Qt call, so it runs on the worker
thread; :func:`to_rgb` (PNG export, kernel-editor cells) is the same arithmetic in
numpy, so nothing on the GUI thread waits for a compile.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from kernels._jit import njit_parallel, prange

# ColorBrewer RdBu, reversed so that negative is blue and positive is red.
_POSITIONS = [0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0]
_COLOURS = [
    (5, 48, 97),
    (67, 147, 195),
    (209, 229, 240),
    (247, 247, 247),
    (253, 219, 199),
    (214, 96, 77),
    (103, 0, 31),
]
DIVERGING = pg.ColorMap(_POSITIONS, _COLOURS, name="convlab diverging")
GREYS = pg.ColorMap([0.0, 1.0], [(0, 0, 0), (255, 255, 255)], name="greys")
NAN_RGB = (128, 128, 128)


def symmetric_levels(abs_max: float) -> tuple[float, float]:
    """Levels symmetric about zero, so white always means 0 (never an empty range)."""
    m = float(abs_max)
    if not np.isfinite(m) or m <= 0:
        m = 1.0
    return (-m, m)


def argb_lut(rgb_lut: np.ndarray) -> np.ndarray:
    """A ``(256, 3)`` uint8 RGB table as ``(256,)`` uint32 ``0xFFRRGGBB``."""
    rgb = np.asarray(rgb_lut, np.uint32)[:, :3]
    return 0xFF000000 | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]


DIVERGING_LUT = DIVERGING.getLookupTable(0.0, 1.0, 256, alpha=False)
ARGB_LUT = argb_lut(DIVERGING_LUT)
NAN_ARGB = int(argb_lut(np.array([NAN_RGB]))[0])


@njit_parallel
def _colorize_planes(planes, lows, highs, lut, nan_argb, out):  # noqa: ANN001, ANN202
    # t = (v - low) / (high - low) * 255 + 0.5, clipped to [0, 255] and truncated: the
    # nearest of 256 colours. Written around the middle of the levels so that 0 on a
    # symmetric scale lands exactly on 128 (ReLU maps are full of exact zeros). NaN is
    # grey, +-inf saturate. Rows of all planes in parallel.
    n_planes, rows, cols = planes.shape
    for pr in prange(n_planes * rows):
        p = pr // rows
        r = pr - p * rows
        mid = 0.5 * (lows[p] + highs[p])
        scale = 255.0 / (highs[p] - lows[p])
        for c in range(cols):
            v = planes[p, r, c]
            t = min(max((v - mid) * scale + 128.0, 0.0), 255.0)
            out[p, r, c] = lut[int(t)] if v == v else nan_argb


def colorize_planes(
    planes: np.ndarray, levels: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """Maps as uint32 pixels ``0xFFRRGGBB`` (``QImage.Format_RGB32``),
    :data:`DIVERGING`.

    Parameters
    ----------
    planes : ndarray, shape (P, H, W), float
    levels : array_like, shape (P, 2)
        Per plane, the values drawn full blue and full red (see
        :func:`symmetric_levels`).
    out : ndarray, shape (P, H, W), uint32, optional

    Returns
    -------
    ndarray, shape (P, H, W), uint32
    """
    a = np.asarray(planes)
    if a.ndim != 3:
        raise ValueError(f"`planes` must be 3-D. Received: planes.shape={a.shape}")
    lv = np.asarray(levels, np.float64).reshape(a.shape[0], 2)
    if out is None:
        out = np.empty(a.shape, np.uint32)
    if a.dtype != np.float32:
        a = a.astype(np.float64)
    _colorize_planes(
        np.ascontiguousarray(a),
        np.ascontiguousarray(lv[:, 0]),
        np.ascontiguousarray(lv[:, 1]),
        ARGB_LUT,
        np.uint32(NAN_ARGB),
        out,
    )
    return out


def colorize(values: np.ndarray, levels: tuple[float, float]) -> np.ndarray:
    """One ``(H, W)`` map as uint32 pixels (see :func:`colorize_planes`)."""
    a = np.asarray(values)
    if a.ndim != 2:
        raise ValueError(f"`values` must be 2-D. Received: values.shape={a.shape}")
    return colorize_planes(a[None], [levels])[0]


def to_rgb(array: np.ndarray, levels: tuple[float, float]) -> np.ndarray:
    """A map as uint8 RGB ``(H, W, 3)`` with :data:`DIVERGING` (export, editor cells).

    Plain numpy with the arithmetic of :func:`colorize_planes` (the same colour for
    the same value), so the kernel editor can colour its cells on the GUI thread
    before the JIT warm-up has compiled anything.
    """
    a = np.atleast_2d(np.asarray(array, np.float64))
    lo, hi = float(levels[0]), float(levels[1])
    t = np.clip((a - 0.5 * (lo + hi)) * (255.0 / (hi - lo)) + 128.0, 0.0, 255.0)
    nan = np.isnan(a)
    rgb = DIVERGING_LUT[np.where(nan, 0.0, t).astype(np.intp)].astype(np.uint8)
    rgb[nan] = NAN_RGB
    return rgb


def image_for_display(chw: np.ndarray) -> np.ndarray:
    """A (C, H, W) image in [0, 1] as (H, W) or (H, W, 3) for an ImageItem."""
    return (
        chw[0] if chw.shape[0] == 1 else np.ascontiguousarray(np.moveaxis(chw, 0, -1))
    )


def text_colour_for(value: float, abs_max: float) -> str:
    """Black or white text, whichever reads on the diverging colour of ``value``."""
    if abs_max <= 0 or not np.isfinite(value):
        return "#000000"
    return "#ffffff" if abs(value) / abs_max > 0.55 else "#000000"


def hex_colours(values: np.ndarray, abs_max: float) -> list[list[str]]:
    """The diverging colour of each value on levels (-abs_max, abs_max) as '#rrggbb'
    (non-finite values grey), coloured in one :func:`to_rgb` call."""
    a = np.atleast_2d(np.asarray(values, np.float64))
    rgb = to_rgb(a, symmetric_levels(abs_max))
    finite = np.isfinite(a)
    return [
        [
            f"#{r:02x}{g:02x}{b:02x}" if ok else "#808080"
            for (r, g, b), ok in zip(rgb_row, finite_row, strict=True)
        ]
        for rgb_row, finite_row in zip(rgb, finite, strict=True)
    ]
