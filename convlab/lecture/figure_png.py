"""The Pillow backend: a :class:`~convlab.lecture.figure_model.Figure` drawn at an
integer ``scale`` (every length multiplied, so ``scale=2`` is exactly twice the size),
for PNG, GIF and APNG. Re-exported from :mod:`convlab.lecture.figures`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .figure_model import (
    HATCH,
    WHITE,
    Figure,
    Line,
    Raster,
    Rect,
    Text,
    _arrow_head,
    _check_scale,
    _font,
    _glyphs,
)

__all__ = ["figure_to_image"]


def _hatch_segments(
    x0: float, y0: float, x1: float, y1: float, spacing: float
) -> list[tuple[float, float, float, float]]:
    """Diagonal "/" hatch lines clipped to the rectangle."""
    segments = []
    k = x0 + y0 + spacing
    while k < x1 + y1:
        # points with x + y = k inside the rectangle
        ya, yb = max(y0, k - x1), min(y1, k - x0)
        if ya < yb:
            segments.append((k - ya, ya, k - yb, yb))
        k += spacing
    return segments


def figure_to_image(figure: Figure, scale: int = 1) -> Any:
    """Draw ``figure`` with Pillow: an RGB image of ``(width * scale, height *
    scale)`` pixels."""
    from PIL import Image, ImageDraw

    k = _check_scale(scale)
    image = Image.new("RGB", (figure.width * k, figure.height * k), WHITE)
    draw = ImageDraw.Draw(image)
    for item in figure.items:
        if isinstance(item, Rect):
            box = [
                item.x * k,
                item.y * k,
                (item.x + item.w) * k - 1,
                (item.y + item.h) * k - 1,
            ]
            if item.fill is not None:
                draw.rectangle(box, fill=item.fill)
            if item.hatch:
                for sx0, sy0, sx1, sy1 in _hatch_segments(
                    box[0], box[1], box[2], box[3], 6 * k
                ):
                    draw.line([(sx0, sy0), (sx1, sy1)], fill=HATCH, width=k)
            if item.stroke is not None:
                draw.rectangle(
                    box, outline=item.stroke, width=max(1, round(item.width * k))
                )
        elif isinstance(item, Text):
            anchor = {"start": "lm", "middle": "mm", "end": "rm"}[item.anchor]
            draw.text(
                (item.x * k, item.y * k),
                _glyphs(item.text),
                fill=item.fill,
                font=_font(item.size * k),
                anchor=anchor,
            )
        elif isinstance(item, Line):
            width = max(1, round(item.width * k))
            head = _arrow_head(item, (4 + 2.5 * item.width) * k) if item.arrow else None
            end = (item.x1 * k, item.y1 * k)
            if head:
                end = (
                    (head[1][0] + head[2][0]) / 2 * k,
                    (head[1][1] + head[2][1]) / 2 * k,
                )
            draw.line([(item.x0 * k, item.y0 * k), end], fill=item.stroke, width=width)
            if head:
                draw.polygon([(px * k, py * k) for px, py in head], fill=item.stroke)
        elif isinstance(item, Raster):
            tile = Image.fromarray(np.ascontiguousarray(item.rgb), "RGB").resize(
                (max(1, round(item.w * k)), max(1, round(item.h * k))),
                Image.Resampling.NEAREST,
            )
            image.paste(tile, (round(item.x * k), round(item.y * k)))
    return image
