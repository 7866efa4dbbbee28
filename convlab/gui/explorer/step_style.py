"""Sizes, colours and number labels of the step canvas.

The constants size the panels of :class:`~.animation_canvas.StepCanvas` (in px at UI
scale 1) and name its colours; :func:`format_labels` writes the numbers in its cells.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtGui import QColor, QImage

#: Largest padded input side drawn whole, a number in each cell (the 7x7 demo padded).
FULL_INPUT_MAX = 13
#: Cells of context around the window in the cropped input.
CROP_MARGIN = 2
#: Largest map side drawn with a number in every cell.
FULL_MAP_MAX = 13
CELL_MIN = 30  # px at UI scale 1
MAP_BOX = 140  # px at UI scale 1: the side of a large map drawn without numbers
THUMB_BOX = 110  # px at UI scale 1: the whole-input thumbnail
#: Shrink factors tried, largest first, so a step fits without scrolling (0.8 of the
#: 9 pt numbers is 7.2 pt: still readable at 1280x720).
FITS = (1.0, 0.9, 0.8)
MIN_FIT = FITS[-1]
GAP = 18  # px at UI scale 1, between panels
TITLE_GAP = 6

INK = QColor(33, 33, 33)
FAINT = QColor(200, 200, 200)
WINDOW = QColor(230, 120, 0)  # the window and the cell being written (figures.py)
POOL = QColor(0, 140, 70)
CROP = QColor(40, 90, 200)
HATCH = QColor(110, 110, 110)


def format_labels(values: np.ndarray, bound: float | None = None) -> list[str]:
    """Short labels: integers as integers, else 2, 1 or 0 decimals by magnitude.

    ``bound`` (the largest |value| the grid can hold) fixes the decimals so that a
    grid's labels keep one format from step to step.
    """
    flat = np.asarray(values, np.float64).ravel()
    finite = flat[np.isfinite(flat)]
    integers = finite.size > 0 and bool(np.all(finite == np.round(finite)))
    top = (
        bound
        if bound is not None
        else (float(np.abs(finite).max()) if finite.size else 0)
    )
    decimals = (
        0 if integers and top < 1e5 else (2 if top < 10 else 1 if top < 100 else 0)
    )
    out = []
    for v in flat:
        if not math.isfinite(v):
            out.append("" if math.isnan(v) else ("∞" if v > 0 else "-∞"))
            continue
        text = f"{v:.{decimals}f}"
        out.append("0" if float(text) == 0.0 else text)
    return out


def _decimals_sample(values: np.ndarray) -> np.ndarray:
    """The extremes of an array (the widest labels), not all of it."""
    finite = np.asarray(values, np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return np.zeros(1)
    return np.array([finite.min(), finite.max(), -np.abs(finite).max()])


def _is_integer(values: np.ndarray) -> bool:
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    return v.size > 0 and bool(np.all(v == np.round(v)))


def _text_colour(rgb) -> QColor:  # noqa: ANN001
    r, g, b = (c / 255.0 for c in rgb[:3])
    return INK if 0.299 * r + 0.587 * g + 0.114 * b > 0.55 else QColor(255, 255, 255)


def _pale(rgb: np.ndarray, keep: float = 0.55) -> np.ndarray:
    return (255 - (255 - rgb.astype(np.float32)) * keep).round().astype(np.uint8)


def _rgb_image(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb, np.uint8)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
