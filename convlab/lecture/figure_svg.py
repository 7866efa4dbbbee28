"""The SVG backend: a :class:`~convlab.lecture.figure_model.Figure` as hand-written
SVG (cells are ``<rect>``, numbers ``<text>``, arrows ``<line>`` and ``<path>``; maps
are embedded PNG ``<image>`` with pixelated rendering). Re-exported from
:mod:`convlab.lecture.figures`.
"""

from __future__ import annotations

import base64
import io
from xml.sax.saxutils import escape

import numpy as np

from .figure_model import (
    HATCH,
    RGB,
    Figure,
    Line,
    Raster,
    Rect,
    Text,
    _arrow_head,
)

__all__ = ["figure_to_svg"]


def _svg_colour(rgb: RGB | None) -> str:
    return "none" if rgb is None else "#{:02x}{:02x}{:02x}".format(*rgb)


def _n(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def figure_to_svg(figure: Figure) -> str:
    """``figure`` as a standalone SVG document (vector cells, text and arrows)."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{figure.width}" '
        f'height="{figure.height}" viewBox="0 0 {figure.width} {figure.height}" '
        'font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
        f"<title>{escape(figure.title or 'convlab figure')}</title>",
        '<defs><pattern id="hatch" width="6" height="6" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{_svg_colour(HATCH)}" '
        'stroke-width="1.2"/></pattern></defs>',
        f'<rect width="{figure.width}" height="{figure.height}" fill="#ffffff"/>',
    ]
    for item in figure.items:
        if isinstance(item, Rect):
            geom = (
                f'x="{_n(item.x)}" y="{_n(item.y)}" width="{_n(item.w)}" '
                f'height="{_n(item.h)}"'
            )
            stroke = (
                f'stroke="{_svg_colour(item.stroke)}" stroke-width="{_n(item.width)}"'
                if item.stroke is not None
                else 'stroke="none"'
            )
            out.append(f'<rect {geom} fill="{_svg_colour(item.fill)}" {stroke}/>')
            if item.hatch:
                out.append(f'<rect {geom} fill="url(#hatch)" stroke="none"/>')
        elif isinstance(item, Text):
            out.append(
                f'<text x="{_n(item.x)}" y="{_n(item.y)}" font-size="{_n(item.size)}" '
                f'fill="{_svg_colour(item.fill)}" text-anchor="{item.anchor}" '
                f'dominant-baseline="central">{escape(item.text)}</text>'
            )
        elif isinstance(item, Line):
            colour = _svg_colour(item.stroke)
            head = _arrow_head(item, 4 + 2.5 * item.width) if item.arrow else None
            x1, y1 = item.x1, item.y1
            if head:
                x1, y1 = (head[1][0] + head[2][0]) / 2, (head[1][1] + head[2][1]) / 2
            out.append(
                f'<line x1="{_n(item.x0)}" y1="{_n(item.y0)}" x2="{_n(x1)}" '
                f'y2="{_n(y1)}" stroke="{colour}" stroke-width="{_n(item.width)}"/>'
            )
            if head:
                d = "M " + " L ".join(f"{_n(px)} {_n(py)}" for px, py in head) + " Z"
                out.append(f'<path d="{d}" fill="{colour}"/>')
        elif isinstance(item, Raster):
            from PIL import Image

            buffer = io.BytesIO()
            Image.fromarray(np.ascontiguousarray(item.rgb), "RGB").save(buffer, "PNG")
            data = base64.b64encode(buffer.getvalue()).decode("ascii")
            out.append(
                f'<image x="{_n(item.x)}" y="{_n(item.y)}" width="{_n(item.w)}" '
                f'height="{_n(item.h)}" preserveAspectRatio="none" '
                'style="image-rendering:pixelated" '
                f'href="data:image/png;base64,{data}"/>'
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"
