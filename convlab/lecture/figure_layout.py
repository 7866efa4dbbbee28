"""Figure layouts: a scene laid out as primitives (:mod:`convlab.lecture.figure_model`).

Two layouts, chosen by the size of the padded input, as described in
:mod:`convlab.lecture.figures`: the **numbers** layout (every value, the window, the
equation of the current step) and the **maps** layout (images of the maps per
filter). :func:`build_figure` is the entry point, re-exported from
:mod:`convlab.lecture.figures`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from convlab import colormaps, explore

from .figure_model import (
    FAINT,
    FONT,
    GAP,
    INK,
    MARGIN,
    MAX_WIDTH,
    POOL,
    RGB,
    ROW_GAP,
    SMALL,
    SOURCE,
    TITLE,
    WHITE,
    WINDOW,
    Figure,
    Line,
    Raster,
    Rect,
    Text,
    _text_width,
)
from .scene import Scene
from .steps import SlidingWindow, Step

__all__ = ["MAX_MAP_ROWS", "NUMBERS_MAX_SIDE", "build_figure"]

#: Largest padded input side drawn as a grid of numbers.
NUMBERS_MAX_SIDE = 32
#: Largest number of filters the maps layout draws.
MAX_MAP_ROWS = 8


# --------------------------------------------------------------------- numbers


def _format_values(values: np.ndarray) -> list[str]:
    """Short labels for a grid: integers as integers, else 2-3 significant digits."""
    flat = np.asarray(values, np.float64).ravel()
    finite = flat[np.isfinite(flat)]
    integers = finite.size > 0 and bool(
        np.all(finite == np.round(finite)) and np.abs(finite).max() < 1e5
    )
    top = float(np.abs(finite).max()) if finite.size else 0.0
    decimals = 0 if integers else (2 if top < 10 else 1 if top < 100 else 0)
    out = []
    for v in flat:
        if not math.isfinite(v):
            out.append("nan" if math.isnan(v) else ("∞" if v > 0 else "-∞"))
            continue
        text = f"{v:.{decimals}f}"
        if float(text) == 0.0:
            text = "0"
        out.append(text)
    return out


def _format(v: float) -> str:
    if not math.isfinite(v):
        return str(v)
    return f"{v:.4g}"


def _pale(rgb: np.ndarray, keep: float = 0.55) -> np.ndarray:
    """Colours moved towards white (the input grid: numbers stay readable)."""
    return (255 - (255 - rgb.astype(np.float32)) * keep).round().astype(np.uint8)


def _text_colour(rgb: Sequence[int]) -> RGB:
    r, g, b = (c / 255.0 for c in rgb[:3])
    return INK if 0.299 * r + 0.587 * g + 0.114 * b > 0.55 else WHITE


def _limits(scene: Scene, values: np.ndarray, *, image: bool = False) -> tuple:
    """(colour map, lo, hi) for a map (the scene's colour settings) or the input."""
    finite = values[np.isfinite(values)]
    if image:
        signed = bool(finite.size and finite.min() < 0)
        lo, hi = colormaps.limits(values, signed=signed)
        if not signed and finite.size and finite.min() >= 0 and finite.max() <= 1:
            lo, hi = 0.0, 1.0
        return colormaps.default_for(signed), lo, hi
    if scene.color_scale == "fixed" and scene.color_limits is not None:
        lo, hi = scene.color_limits
    else:
        signed = scene.color_scale == "symmetric"
        lo, hi = colormaps.limits(
            values, signed=signed, clip_percentile=scene.clip_percentile
        )
    return scene.colormap, lo, hi


# --------------------------------------------------------------------- layout


@dataclass
class _Grid:
    """A grid of cells placed at (x, y)."""

    x: float
    y: float
    rows: int
    cols: int
    cell: float

    @property
    def width(self) -> float:
        return self.cols * self.cell

    @property
    def height(self) -> float:
        return self.rows * self.cell

    def centre(self, r: float, c: float) -> tuple[float, float]:
        return (self.x + (c + 0.5) * self.cell, self.y + (r + 0.5) * self.cell)

    def rect(self, r: int, c: int, **style: Any) -> Rect:
        return Rect(
            self.x + c * self.cell,
            self.y + r * self.cell,
            self.cell,
            self.cell,
            **style,
        )


def _draw_grid(
    items: list[Any],
    grid: _Grid,
    values: np.ndarray,
    colours: np.ndarray,
    *,
    shown: np.ndarray | None = None,
    hatched: np.ndarray | None = None,
    font: float = FONT,
    lift: float = 0.0,
) -> None:
    labels = _format_values(values)
    for r in range(grid.rows):
        for c in range(grid.cols):
            visible = shown is None or bool(shown[r, c])
            fill = tuple(int(v) for v in colours[r, c]) if visible else WHITE
            hatch = hatched is not None and bool(hatched[r, c])
            items.append(grid.rect(r, c, fill=fill, stroke=FAINT, width=1, hatch=hatch))
            if visible:
                x, y = grid.centre(r, c)
                items.append(
                    Text(
                        x,
                        y - lift * grid.cell,
                        labels[r * grid.cols + c],
                        font,
                        _text_colour(fill),
                    )
                )


def _label(items: list[Any], grid: _Grid, text: str, size: float = FONT) -> None:
    items.append(Text(grid.x + grid.width / 2, grid.y - 14, text, size, INK))


def _outline(items: list[Any], x, y, w, h, colour: RGB, width: float = 3.0) -> None:
    items.append(Rect(x, y, w, h, fill=None, stroke=colour, width=width))


def _arrow_between(items: list[Any], left: _Grid, right_x: float, y: float) -> None:
    x0 = left.x + left.width + 8
    items.append(Line(x0, y, right_x - 8, y, INK, 2.0, True))


def _geometry_text(s: explore.Settings, pads: tuple[int, int, int, int]) -> str:
    padding = s.padding if s.padding != "explicit" else "explicit"
    parts = [
        f"stride {s.stride[0]}x{s.stride[1]}"
        if s.stride[0] != s.stride[1]
        else f"stride {s.stride[0]}",
        f"padding {padding} {pads} ({s.padding_mode})"
        if any(pads)
        else f"padding {padding}",
    ]
    if s.dilation != (1, 1):
        parts.append(f"dilation {s.dilation[0]}x{s.dilation[1]}")
    if s.activation != "none":
        parts.append(s.activation)
    if s.pool != "none":
        ph, pw = s.pool_size
        parts.append(
            f"{s.pool} pool {ph}x{pw}, stride {s.pool_stride[0]}x{s.pool_stride[1]}"
            + (", ceil" if s.ceil_mode else "")
        )
    return ", ".join(parts)


def _numbers_layout(result: explore.Result) -> bool:
    s = result.settings
    c = result.image.shape[0]
    sides = []
    for fm in result.maps:
        t, b, left, r = fm.conv_pads
        sides += [result.image.shape[1] + t + b, result.image.shape[2] + left + r]
    return c <= 3 and max(sides) <= NUMBERS_MAX_SIDE and len(s.filters) > 0


def _cell_size(*arrays: np.ndarray) -> float:
    widest = max(
        (_text_width(t, FONT) for a in arrays for t in _format_values(a)), default=8
    )
    return float(max(40, math.ceil(widest + 14)))


def _stage_name(s: explore.Settings) -> str:
    return {
        "relu": "ReLU",
        "leaky_relu": f"leaky ReLU ({s.negative_slope:g})",
        "sigmoid": "sigmoid",
        "tanh": "tanh",
        "abs": "|z|",
    }.get(s.activation, s.activation)


def _numbers_figure(
    scene: Scene,
    result: explore.Result,
    window: SlidingWindow,
    step: Step | None,
    written: int | None,
) -> Figure:
    """``written``: output positions written so far (None: all of them)."""
    s = result.settings
    fm = window.maps
    c, h, w = result.image.shape
    mixed = (
        window.padded.mean(axis=0)
        if s.channels == "mean"
        else window.padded.sum(axis=0)
    )
    if c == 1:
        mixed = window.padded[0]
    kernel = s.filters[window.filter_index].kernel
    oh, ow = fm.conv.shape
    stages = [
        (
            "conv",
            fm.conv,
            "output (before activation)" if s.activation != "none" else "output",
        )
    ]
    if s.activation != "none":
        stages.append(("activation", fm.activated, _stage_name(s)))
    if fm.pooled is not None:
        stages.append(("pooled", fm.pooled, f"{s.pool} pool"))
    cell = _cell_size(mixed, kernel, *(a for _, a, _ in stages))
    items: list[Any] = []
    top = MARGIN + TITLE + 26 + 28
    hp, wp = mixed.shape
    flow = _Flow(MARGIN, top)
    # input
    gin = _Grid(*flow.place(wp * cell, hp * cell)[:2], hp, wp, cell)
    cmap, lo, hi = _limits(scene, result.image, image=True)
    inside = np.zeros((hp, wp), bool)
    inside[
        fm.conv_pads[0] : fm.conv_pads[0] + h, fm.conv_pads[2] : fm.conv_pads[2] + w
    ] = True
    _draw_grid(
        items,
        gin,
        mixed,
        _pale(colormaps.to_rgb(mixed, cmap, lo, hi)),
        hatched=~inside,
        lift=0.13,
    )
    what = "input" if c == 1 else f"input ({s.channels} of {c} channels)"
    _label(items, gin, what + (f", padded {fm.conv_pads}" if any(fm.conv_pads) else ""))
    # kernel
    kh, kw = kernel.shape
    kx, ky, wrapped = flow.place(kw * cell, kh * cell + 24)
    gk = _Grid(kx, ky, kh, kw, cell)
    kcmap, klo, khi = "diverging", *colormaps.limits(kernel, signed=True)
    _draw_grid(items, gk, kernel, colormaps.to_rgb(kernel, kcmap, klo, khi))
    flt = s.filters[window.filter_index]
    _label(items, gk, f"kernel '{flt.name}'")
    items.append(
        Text(gk.x + gk.width / 2, gk.y + gk.height + 16, f"bias {flt.bias:g}", FONT)
    )
    if not wrapped:
        _arrow_between(items, gin, gk.x, gk.y + min(gin.height, gk.height) / 2)
    # output stages
    grids: dict[str, _Grid] = {}
    prev: _Grid = gk
    positions = oh * ow
    done_upto = positions if written is None else written
    for name, values, label in stages:
        gx, gy, wrapped = flow.place(values.shape[1] * cell, values.shape[0] * cell)
        g = _Grid(gx, gy, values.shape[0], values.shape[1], cell)
        grids[name] = g
        if name == "pooled":
            shown = np.zeros(values.shape, bool)
            for py in range(values.shape[0]):
                for px in range(values.shape[1]):
                    pw_ = window.pool_window(py, px)
                    real_r = pw_.rows[~pw_.padded_mask.all(axis=1)]
                    real_c = pw_.cols[~pw_.padded_mask.all(axis=0)]
                    last = int(real_r.max()) * ow + int(real_c.max())
                    shown[py, px] = last < done_upto
        else:
            shown = (np.arange(positions) < done_upto).reshape(oh, ow)
        vcmap, vlo, vhi = _limits(scene, values)
        _draw_grid(
            items, g, values, colormaps.to_rgb(values, vcmap, vlo, vhi), shown=shown
        )
        _label(items, g, label)
        if not wrapped:
            _arrow_between(items, prev, g.x, g.y + min(prev.height, g.height) / 2)
        prev = g
    width = int(math.ceil(flow.right + MARGIN))
    lines: list[str] = []
    if step is not None:
        _draw_step(items, s, gin, gk, grids, step, window, cell)
        lines = _equation(s, step)
    body_bottom = flow.bottom
    for i, text in enumerate(lines):
        items.append(
            Text(MARGIN, body_bottom + 26 + 22 * i, text, FONT + 2, INK, "start")
        )
    height = int(math.ceil(body_bottom + 26 + 22 * len(lines) + MARGIN))
    subtitle = (
        f"{kh}x{kw} kernel, "
        + _geometry_text(s, fm.conv_pads)
        + (" — hatched cells are padding" if any(fm.conv_pads) else "")
    )
    head = [
        Text(
            MARGIN,
            MARGIN + TITLE / 2,
            scene.title or "Convolution",
            TITLE,
            INK,
            "start",
        ),
        Text(MARGIN, MARGIN + TITLE + 16, subtitle, FONT, INK, "start"),
    ]
    width = max(
        width,
        int(_text_width(subtitle, FONT) + 2 * MARGIN),
        int(max((_text_width(t, FONT + 2) for t in lines), default=0) + 2 * MARGIN),
    )
    return Figure(width, height, head + items, scene.title)


class _Flow:
    """Panels left to right, wrapping to a new row past :data:`MAX_WIDTH` (an MNIST
    digit's four 28-cell grids would be 5,000 units wide)."""

    def __init__(self, left: float, top: float) -> None:
        self.left, self.x, self.y = left, left, top
        self.row_height = 0.0
        self.right = left
        self.bottom = top

    def place(self, w: float, h: float) -> tuple[float, float, bool]:
        wrapped = self.x > self.left and self.x + w > MAX_WIDTH - MARGIN
        if wrapped:
            self.x = self.left
            self.y += self.row_height + ROW_GAP
            self.row_height = 0.0
        x, y = self.x, self.y
        self.x += w + GAP
        self.row_height = max(self.row_height, h)
        self.right = max(self.right, x + w)
        self.bottom = max(self.bottom, y + self.row_height)
        return x, y, wrapped


def _draw_step(
    items: list[Any],
    s: explore.Settings,
    gin: _Grid,
    gk: _Grid,
    grids: dict[str, _Grid],
    step: Step,
    window: SlidingWindow,
    cell: float,
) -> None:
    kh, kw = window.kernel_shape
    labels = _format_values(
        step.weight[0] * (step.weight.shape[0] if s.channels == "mean" else 1)
    )
    current = step.tap_yx
    for ky in range(kh):
        for kx in range(kw):
            r, c = int(step.rows[ky]), int(step.cols[kx])
            colour = WINDOW if current is None or (ky, kx) <= current else FAINT
            _outline(
                items,
                gin.x + c * cell + 1.5,
                gin.y + r * cell + 1.5,
                cell - 3,
                cell - 3,
                colour,
                3.0,
            )
            label = "×" + labels[ky * kw + kx]
            lw = _text_width(label, SMALL) + 4
            items.append(
                Rect(
                    gin.x + (c + 1) * cell - 4 - lw,
                    gin.y + (r + 1) * cell - 4 - SMALL - 3,
                    lw,
                    SMALL + 3,
                    fill=WHITE,
                )
            )
            items.append(
                Text(
                    gin.x + (c + 1) * cell - 6,
                    gin.y + (r + 1) * cell - 5.5 - SMALL / 2,
                    label,
                    SMALL,
                    WINDOW,
                    "end",
                )
            )
    if s.padding_mode != "zeros":
        for ky in range(kh):
            for kx in range(kw):
                if not step.padded_mask[ky, kx]:
                    continue
                sr = int(step.source_rows[ky]) + window.pads[0]
                sc = int(step.source_cols[kx]) + window.pads[2]
                x0, y0 = gin.centre(sr, sc)
                x1, y1 = gin.centre(int(step.rows[ky]), int(step.cols[kx]))
                if (x0, y0) != (x1, y1):
                    items.append(Line(x0, y0, x1, y1, SOURCE, 1.5, True))
    if current is not None:
        ky, kx = current
        _outline(
            items,
            gk.x + kx * cell + 1.5,
            gk.y + ky * cell + 1.5,
            cell - 3,
            cell - 3,
            WINDOW,
            3.0,
        )
    else:
        _outline(items, gk.x, gk.y, gk.width, gk.height, WINDOW, 3.0)
    for name in ("conv", "activation"):
        if name in grids:
            g = grids[name]
            _outline(
                items,
                g.x + step.ox * cell,
                g.y + step.oy * cell,
                cell,
                cell,
                WINDOW,
                3.0,
            )
    if "pooled" in grids:
        g = grids["pooled"]
        src = grids.get("activation", grids["conv"])
        for pw_ in step.pools[:1]:
            r0, c0 = int(pw_.rows[0]), int(pw_.cols[0])
            _outline(
                items,
                src.x + c0 * cell - 2,
                src.y + r0 * cell - 2,
                len(pw_.cols) * cell + 4,
                len(pw_.rows) * cell + 4,
                POOL,
                2.0,
            )
            _outline(
                items, g.x + pw_.col * cell, g.y + pw_.row * cell, cell, cell, POOL, 3.0
            )


def _equation(s: explore.Settings, step: Step) -> list[str]:
    where = f"y[{step.oy}, {step.ox}]"
    if step.tap is not None:
        ky, kx = divmod(step.tap, step.cols.shape[0])
        n = step.running.shape[0]
        return [
            f"{where}: tap ({ky}, {kx}) of {n}: running sum Σ x·w = "
            f"{_format(step.partial)}"
        ]
    lines = [
        f"{where} = Σ x·w + b = {_format(step.total)} + {step.bias:g} = "
        f"{_format(step.output)}"
    ]
    if s.activation != "none":
        lines.append(
            f"{_stage_name(s)}({_format(step.output)}) = {_format(step.activated)}"
        )
    for pw_ in step.pools[:1]:
        what = "max" if pw_.kind == "max" else f"mean (÷{pw_.divisor})"
        lines.append(
            f"read by the {pw_.kind} pool window of p[{pw_.row}, {pw_.col}] = "
            f"{what} of its window = {_format(pw_.value)}"
        )
    return lines


def _maps_figure(
    scene: Scene,
    result: explore.Result,
    filters: Sequence[int],
    window: SlidingWindow,
    step: Step | None,
    written: int | None,
) -> Figure:
    s = result.settings
    x_img = result.image
    c, h, w = x_img.shape
    zoom = 200.0 / max(h, w)
    disp_w, disp_h = round(w * zoom), round(h * zoom)
    items: list[Any] = []
    top = MARGIN + TITLE + 26 + 28
    if c == 3:
        rgb = np.clip(np.round(x_img.transpose(1, 2, 0) * 255), 0, 255).astype(np.uint8)
    else:
        cmap, lo, hi = _limits(scene, x_img[0], image=True)
        rgb = colormaps.to_rgb(x_img[0], cmap, lo, hi)
    items.append(Raster(MARGIN, top, disp_w, disp_h, rgb))
    items.append(Text(MARGIN + disp_w / 2, top - 14, f"input {h}x{w}", FONT))
    if step is not None:
        kh, kw = window.kernel_shape
        dh, dw = s.dilation
        y0 = step.origin[0] - window.pads[0]
        x0 = step.origin[1] - window.pads[2]
        span_h, span_w = (kh - 1) * dh + 1, (kw - 1) * dw + 1
        _outline(
            items,
            MARGIN + x0 * zoom,
            top + y0 * zoom,
            span_w * zoom,
            span_h * zoom,
            WINDOW,
            2.5,
        )
    x_start = MARGIN + disp_w + GAP
    y = float(top)
    row_h = 0.0
    right = x_start
    for index in filters:
        fm = result.maps[index]
        flt = s.filters[index]
        kernel = flt.kernel
        kcell = max(22.0, _cell_size(kernel) * 0.8)
        gk = _Grid(x_start, y, kernel.shape[0], kernel.shape[1], kcell)
        kcmap, klo, khi = "diverging", *colormaps.limits(kernel, signed=True)
        _draw_grid(
            items, gk, kernel, colormaps.to_rgb(kernel, kcmap, klo, khi), font=SMALL + 1
        )
        _label(items, gk, f"'{flt.name}'")
        x = gk.x + gk.width + GAP
        stages = [("conv", fm.conv, "conv")]
        if s.activation != "none":
            stages.append(("activation", fm.activated, _stage_name(s)))
        if fm.pooled is not None:
            stages.append(("pooled", fm.pooled, f"{s.pool} pool"))
        row_height = gk.height
        prev_right = gk.x + gk.width
        for name, values, label in stages:
            vh, vw = values.shape
            mh, mw = round(vh * zoom), round(vw * zoom)
            if name == "pooled":
                mh, mw = (
                    round(vh * zoom * s.pool_stride[0]),
                    round(vw * zoom * s.pool_stride[1]),
                )
            vcmap, vlo, vhi = _limits(scene, values)
            rgb = colormaps.to_rgb(values, vcmap, vlo, vhi)
            if written is not None and index == window.filter_index:
                oh, ow = fm.conv.shape
                if name != "pooled":
                    mask = (np.arange(oh * ow) >= written).reshape(oh, ow)
                else:
                    rows_done = (written // ow) if written < oh * ow else oh
                    pstride = s.pool_stride[0]
                    top_pad = fm.pool_pads[0] if fm.pool_pads else 0
                    mask = np.zeros(values.shape, bool)
                    for py in range(vh):
                        last_row = py * pstride - top_pad + s.pool_size[0] - 1
                        mask[py] = min(last_row, oh - 1) >= rows_done
                rgb = rgb.copy()
                rgb[mask] = (235, 235, 235)
            items.append(Raster(x, y, mw, mh, rgb))
            items.append(Rect(x, y, mw, mh, None, FAINT, 1))
            items.append(Text(x + mw / 2, y - 14, f"{label} {vh}x{vw}", FONT))
            items.append(
                Line(
                    prev_right + 8,
                    y + min(mh, 60) / 2,
                    x - 8,
                    y + min(mh, 60) / 2,
                    INK,
                    2.0,
                    True,
                )
            )
            if step is not None and name != "pooled" and index == window.filter_index:
                _outline(
                    items,
                    x + step.ox * mw / vw,
                    y + step.oy * mh / vh,
                    max(mw / vw, 3),
                    max(mh / vh, 3),
                    WINDOW,
                    2.0,
                )
            prev_right = x + mw
            x += mw + GAP
            row_height = max(row_height, mh)
        right = max(right, x - GAP)
        y += row_height + 44
        row_h = y
    hidden = len(s.filters) - len(filters)
    if hidden > 0 and len(filters) > 1:
        items.append(
            Text(
                x_start,
                row_h - 20,
                f"... and {hidden} more filters",
                FONT,
                INK,
                "start",
            )
        )
        row_h += 10
    height = int(math.ceil(max(top + disp_h, row_h - 44) + MARGIN + 10))
    subtitle = _geometry_text(s, result.maps[filters[0]].conv_pads)
    width = int(math.ceil(max(right, _text_width(subtitle, FONT) + MARGIN) + MARGIN))
    head = [
        Text(
            MARGIN,
            MARGIN + TITLE / 2,
            scene.title or "Feature maps",
            TITLE,
            INK,
            "start",
        ),
        Text(MARGIN, MARGIN + TITLE + 16, subtitle, FONT, INK, "start"),
    ]
    return Figure(width, height, head + items, scene.title)


def _check_filter(scene: Scene, filter_index: int | None) -> int:
    n = len(scene.settings.filters)
    if filter_index is None:
        return scene.filter_index
    if (
        isinstance(filter_index, bool)
        or not isinstance(filter_index, int)
        or not (0 <= filter_index < n)
    ):
        raise ValueError(
            f"`filter_index` must be an int from 0 to {n - 1}. "
            f"Received: filter_index={filter_index!r}"
        )
    return filter_index


def build_figure(
    scene: Scene,
    *,
    filter_index: int | None = None,
    step: int | None = None,
    written: int | None = None,
    result: explore.Result | None = None,
) -> Figure:
    """Lay out one figure of ``scene``.

    Parameters
    ----------
    scene : Scene
    filter_index : int, optional
        The filter to show (default: the scene's selection). In the maps layout, None
        shows every filter (up to :data:`MAX_MAP_ROWS`).
    step : int, optional
        The sliding-window step drawn (default: the scene's animation position,
        clipped to the last step); -1 draws no window.
    written : int, optional
        Output positions written so far (for animations); None: all.
    result : convlab.explore.Result, optional
        ``scene.compute()``, when the caller has it already.

    Raises
    ------
    ValueError
        For a ``filter_index`` outside the bank; ``explore.InvalidSettings`` for a
        scene whose geometry does not compute.
    """
    if result is None:
        result = scene.compute()
    index = _check_filter(scene, filter_index)
    window = SlidingWindow(result, index, granularity=scene.granularity)
    chosen = None
    if step is None:
        chosen = window[min(scene.step, len(window) - 1)]
    elif step >= 0:
        chosen = window[step]
    if _numbers_layout(result):
        return _numbers_figure(scene, result, window, chosen, written)
    if filter_index is None and written is None:
        filters = list(range(min(len(scene.settings.filters), MAX_MAP_ROWS)))
        return _maps_figure(scene, result, filters, window, None, None)
    return _maps_figure(scene, result, [index], window, chosen, written)
