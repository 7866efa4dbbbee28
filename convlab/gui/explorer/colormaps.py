"""Colour maps of the explorer: :mod:`convlab.colormaps` as Qt-ready pixels.

:func:`colorize_planes` turns float maps into ``uint32`` pixels ``0xFFRRGGBB`` (a
``QImage.Format_RGB32`` row) with no Qt call, so it runs on the worker thread;
:func:`to_rgb` (PNG export, kernel-editor cells) gives the same colours as uint8 RGB.
Both use :func:`convlab.colormaps.lut_index`, so a value has one colour everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
import pyqtgraph as pg

from convlab import colormaps as cm
from kernels import _warmup
from kernels.colour import lut_planes, takes

AUTO = "auto"
"""Per map: :func:`convlab.colormaps.default_for` whether the map is signed."""

CHOICES: tuple[str, ...] = (AUTO, *cm.NAMES)
CHOICE_LABELS: dict[str, str] = {
    AUTO: "Automatic (diverging if signed, else greyscale)",
    **cm.LABELS,
}
CHOICE_TIPS: dict[str, str] = {
    AUTO: "A map with negative values gets the diverging map (white = 0), a "
    "non-negative one (after ReLU, pooled, a blur) greyscale, so it looks like a "
    "photo.",
    "grey": "Black = lowest, white = highest: image-like maps read as photos.",
    "diverging": "For signed maps: the sign is the hue (blue negative, red "
    "positive), the size is the darkness, 0 is white. A thin edge is a dark line.",
    "viridis": "Perceptually uniform: equal steps in value look like equal steps in "
    "colour; readable in greyscale print and by colour-blind viewers.",
    "cividis": "Like viridis, tuned for colour-vision deficiency.",
    "magma": "Perceptually uniform, dark to light through purple and orange.",
}

ROBUST_PERCENTILE = 98.0
"""Robust contrast clips the scale at this percentile of |values|: the strongest 2%
of pixels saturate instead of washing every thin edge out to near-white. Measured on
Sobel x of the cameraman / cat / page samples, the median CIE L* (100 = white) of
the strongest tenth of the pixels: unclipped 92 / 92 / 56, at 99.5 85 / 73 / 47, at
98 68 / 50 / 42."""

DIVERGING_LUT = cm.lut("diverging")
NAN_RGB = cm.nan_colour("diverging")


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


@cache
def _argb(name: str) -> tuple[np.ndarray, np.uint32]:
    table = argb_lut(cm.lut(name))
    nan = argb_lut(np.array([cm.nan_colour(name)]))[0]
    return table, np.uint32(nan)


@cache
def pg_colormap(name: str) -> pg.ColorMap:
    """The map as a pyqtgraph ColorMap (colour bars)."""
    table = cm.lut(name)
    return pg.ColorMap(np.linspace(0.0, 1.0, len(table)), table, name=name)


DIVERGING = pg_colormap("diverging")


def resolve(choice: str, signed: bool) -> str:
    """The map a choice means for a map (``"auto"`` -> by sign)."""
    if choice == AUTO:
        return cm.default_for(signed)
    if choice not in cm.NAMES:
        raise ValueError(
            f"`choice` must be one of {', '.join(CHOICES)}. Received: choice={choice!r}"
        )
    return choice


def plane_range(values: np.ndarray) -> tuple[float, float]:
    """(min, max) of the finite values of a map ((0, 0) if there are none)."""
    _, lo, hi = cm.finite_range(values)
    return lo, hi


def levels_for(
    values: np.ndarray, name: str, clip_percentile: float | None = None
) -> tuple[float, float]:
    """The display range of a map drawn with ``name``: symmetric about 0 for the
    diverging map (white is 0), (min, max) for the others."""
    return cm.limits(
        values, signed=name == "diverging", clip_percentile=clip_percentile
    )


def colorize_planes(
    planes: np.ndarray,
    levels: np.ndarray,
    out: np.ndarray | None = None,
    names: str | Sequence[str] = "diverging",
) -> np.ndarray:
    """Maps as uint32 pixels ``0xFFRRGGBB`` (``QImage.Format_RGB32``).

    Parameters
    ----------
    planes : ndarray, shape (P, H, W), float
    levels : array_like, shape (P, 2)
        Per plane, the values drawn at the low and high ends of its map.
    out : ndarray, shape (P, H, W), uint32, optional
    names : str or sequence of P str
        The colour map of every plane (one of :data:`convlab.colormaps.NAMES`).

    Returns
    -------
    ndarray, shape (P, H, W), uint32
    """
    a = np.asarray(planes)
    if a.ndim != 3:
        raise ValueError(f"`planes` must be 3-D. Received: planes.shape={a.shape}")
    lv = np.asarray(levels, np.float64).reshape(a.shape[0], 2)
    per_plane = [names] * a.shape[0] if isinstance(names, str) else list(names)
    if out is None:
        out = np.empty(a.shape, np.uint32)
    # the one-pass kernel once compiled (NumPy until then, on a first launch), for
    # float32 maps and a range it can scale (not a subnormal one)
    if a.size and _warmup.is_done(cm.COLOUR_STEP) and takes(a, lv, out):
        tables = np.stack([_argb(name)[0] for name in per_plane])
        nans = np.array([_argb(name)[1] for name in per_plane], np.uint32)
        return lut_planes(a, lv, tables, nans, out)
    for p in range(a.shape[0]):
        table, nan_argb = _argb(per_plane[p])
        index, nan = cm.lut_index(a[p], lv[p, 0], lv[p, 1])
        np.take(table, index, out=out[p])
        if nan is not None:
            out[p][nan] = nan_argb
    return out


def colorize(
    values: np.ndarray, levels: tuple[float, float], name: str = "diverging"
) -> np.ndarray:
    """One ``(H, W)`` map as uint32 pixels (see :func:`colorize_planes`)."""
    a = np.asarray(values)
    if a.ndim != 2:
        raise ValueError(f"`values` must be 2-D. Received: values.shape={a.shape}")
    return colorize_planes(a[None], [levels], names=name)[0]


def to_rgb(
    array: np.ndarray, levels: tuple[float, float], name: str = "diverging"
) -> np.ndarray:
    """A map as uint8 RGB ``(H, W, 3)`` (export, editor cells): the colours of
    :func:`colorize_planes`."""
    a = np.atleast_2d(np.asarray(array, np.float64))
    return cm.to_rgb(a, name, levels[0], levels[1])


def image_for_display(chw: np.ndarray) -> np.ndarray:
    """A (C, H, W) image in [0, 1] as (H, W) or (H, W, 3) for an ImageItem."""
    return (
        chw[0] if chw.shape[0] == 1 else np.ascontiguousarray(np.moveaxis(chw, 0, -1))
    )


def image_rgb(chw: np.ndarray, name: str = "grey") -> np.ndarray:
    """A (C, H, W) image in [0, 1] as uint8 (H, W, 3): a greyscale image through the
    colour map ``name`` on (0, 1), an RGB image as it is (its colours are data)."""
    if chw.shape[0] == 1:
        return cm.to_rgb(chw[0], name, 0.0, 1.0)
    rgb = np.clip(np.moveaxis(chw[:3], 0, -1), 0.0, 1.0) * 255.0 + 0.5
    return np.nan_to_num(rgb).astype(np.uint8)


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
