"""Colour maps: one diverging map (blue negative, white zero, red positive) for every map."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

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


def to_rgb(array: np.ndarray, levels: tuple[float, float]) -> np.ndarray:
    """A map as uint8 RGB ``(H, W, 3)`` with :data:`DIVERGING` (for PNG export)."""
    lut = DIVERGING.getLookupTable(0.0, 1.0, 256, alpha=False)
    lo, hi = levels
    scaled = (np.asarray(array, np.float64) - lo) / (hi - lo)
    nan = ~np.isfinite(scaled)
    index = np.clip(np.nan_to_num(scaled) * 255.0 + 0.5, 0, 255).astype(np.intp)
    rgb = lut[index].astype(np.uint8)
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


def hex_colour(value: float, abs_max: float) -> str:
    """The diverging colour of ``value`` on levels (-abs_max, abs_max) as '#rrggbb'."""
    if not np.isfinite(value):
        return "#808080"
    r, g, b = to_rgb(np.array([[value]]), symmetric_levels(abs_max))[0, 0]
    return f"#{r:02x}{g:02x}{b:02x}"
