"""The figure model: plain primitives in figure units, the style they are drawn in,
and text metrics.

One figure unit is one pixel at ``scale=1``. :class:`Rect` (grid cells; ``hatch`` for
padding), :class:`Text`, :class:`Line` (arrows) and :class:`Raster` (feature maps as
images) are laid out by :mod:`convlab.lecture.figure_layout` and drawn by the Pillow
backend (:mod:`convlab.lecture.figure_png`) and the SVG backend
(:mod:`convlab.lecture.figure_svg`). Public names are re-exported from
:mod:`convlab.lecture.figures`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = ["MAX_SCALE", "Figure", "Line", "Raster", "Rect", "Text"]

MAX_SCALE = 4

RGB = tuple[int, int, int]
WHITE: RGB = (255, 255, 255)
INK: RGB = (33, 33, 33)
FAINT: RGB = (190, 190, 190)
WINDOW: RGB = (230, 120, 0)  # the kernel window and the cell being written
POOL: RGB = (0, 140, 70)  # pooling windows
SOURCE: RGB = (40, 90, 200)  # arrows from the cell a padding cell copies
HATCH: RGB = (110, 110, 110)

FONT = 13  # numbers
SMALL = 10  # weights laid on the input
TITLE = 20
GAP = 44  # between panels (an arrow goes there)
MARGIN = 20
ROW_GAP = 56  # between rows of panels (room for the labels)
#: Widest figure (units) before the numbers layout wraps its panels to a new row.
MAX_WIDTH = 1900


# ------------------------------------------------------------------ primitives


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: RGB | None = None
    stroke: RGB | None = None
    width: float = 1.0
    hatch: bool = False


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    size: float = FONT
    fill: RGB = INK
    anchor: str = "middle"  # "start", "middle", "end"; y is the text's centre


@dataclass(frozen=True)
class Line:
    x0: float
    y0: float
    x1: float
    y1: float
    stroke: RGB = INK
    width: float = 1.5
    arrow: bool = True


@dataclass(frozen=True, eq=False)
class Raster:
    x: float
    y: float
    w: float
    h: float
    rgb: np.ndarray  # (H, W, 3) uint8, drawn nearest-neighbour into (w, h)


@dataclass(eq=False)
class Figure:
    width: int
    height: int
    items: list[Any]
    title: str = ""


# ----------------------------------------------------------------------- fonts


#: Characters Pillow's built-in font lacks, for when DejaVu Sans is not installed.
_ASCII = str.maketrans({"Σ": "sum ", "×": "x", "—": "-", "÷": "/", "∞": "inf"})


@lru_cache(maxsize=1)
def _has_dejavu() -> bool:
    from PIL import ImageFont

    try:
        ImageFont.truetype("DejaVuSans.ttf", 12)
    except OSError:
        return False
    return True


@lru_cache(maxsize=32)
def _font(size: float) -> Any:
    """DejaVu Sans (the SVG's first choice too) or else Pillow's built-in font."""
    from PIL import ImageFont

    if _has_dejavu():
        return ImageFont.truetype("DejaVuSans.ttf", max(1.0, size))
    return ImageFont.load_default(size=max(1.0, size))


def _glyphs(text: str) -> str:
    return text if _has_dejavu() else text.translate(_ASCII)


@lru_cache(maxsize=4096)
def _text_width(text: str, size: float) -> float:
    return float(_font(size).getlength(_glyphs(text)))


def _arrow_head(line: Line, size: float) -> list[tuple[float, float]]:
    dx, dy = line.x1 - line.x0, line.y1 - line.y0
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    bx, by = line.x1 - ux * size, line.y1 - uy * size
    half = size * 0.45
    return [
        (line.x1, line.y1),
        (bx - uy * half, by + ux * half),
        (bx + uy * half, by - ux * half),
    ]


def _check_scale(scale: int) -> int:
    if (
        isinstance(scale, bool)
        or not isinstance(scale, int)
        or not (1 <= scale <= MAX_SCALE)
    ):
        raise ValueError(
            f"`scale` must be an int from 1 to {MAX_SCALE}. Received: scale={scale!r}"
        )
    return scale
