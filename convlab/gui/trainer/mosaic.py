"""Tiling many small maps into one picture, colouring it, and handing it to Qt."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QImage, QPixmap

__all__ = ["tile", "colorize", "to_pixmap", "SEQUENTIAL", "DIVERGING", "GREY"]


def _lut(name: str) -> np.ndarray:
    cmap = pg.colormap.get(name)
    return np.asarray(cmap.getLookupTable(0.0, 1.0, 256, alpha=False), np.uint8)


SEQUENTIAL = _lut("inferno")
DIVERGING = _lut("CET-D1")  # blue - white - red: the sign of a weight at a glance
GREY = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
BACKGROUND = np.array([40, 40, 52], np.uint8)


def grid_shape(n: int, tile_h: int, tile_w: int, max_cols: int = 16) -> tuple[int, int]:
    """Rows and columns for ``n`` tiles: about twice as wide as tall, at most
    ``max_cols``."""
    cols = max(
        1, min(n, max_cols, math.ceil(math.sqrt(2 * n * tile_h / max(tile_w, 1))))
    )
    return math.ceil(n / cols), cols


def tile(
    maps: np.ndarray, cols: int | None = None, gap: int = 1
) -> tuple[np.ndarray, int]:
    """Arrange ``maps (N, H, W)`` in a grid; gaps are NaN. Returns (mosaic, cols)."""
    n, h, w = maps.shape
    if cols is None:
        _, cols = grid_shape(n, h, w)
    rows = math.ceil(n / cols)
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan, np.float32)
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = (
            maps[i]
        )
    return out, cols


def colorize(
    values: np.ndarray, lut: np.ndarray, vmin: float, vmax: float
) -> np.ndarray:
    """RGB uint8 image of ``values`` through ``lut``; NaN cells get the background
    colour."""
    span = vmax - vmin if vmax > vmin else 1.0
    finite = np.isfinite(values)
    idx = np.clip((np.nan_to_num(values) - vmin) / span * 255.0, 0, 255).astype(np.intp)
    rgb = lut[idx]
    rgb[~finite] = BACKGROUND
    return np.ascontiguousarray(rgb)


def to_pixmap(rgb: np.ndarray, scale: int = 1) -> QPixmap:
    """A QPixmap of an RGB uint8 image, enlarged by ``scale`` without smoothing.

    The enlargement is ``np.repeat`` (a few hundred microseconds) rather than
    ``QImage.scaled`` (measured 2-3 ms per map, 100 ms for the Keras model's layers)."""
    if scale != 1:
        rgb = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
    h, w, _ = rgb.shape
    data = np.ascontiguousarray(rgb, np.uint8)
    img = QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(img)  # copies the pixels: ``data`` may go
