"""The feature-map grid (one row per filter: conv, activation, pooled) and the input
view.

Every map is placed in *input* coordinates: an output pixel sits over the centre of the
window it was computed from, so zoom and pan (linked across every view) always show the
same part of the picture, and the blockiness of a strided or pooled map is visible as
such.
"""

from __future__ import annotations

import html
import math
import re

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QImage, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from convlab.explore import ACTIVATIONS, FilterMaps, Plan, Result

from .colormaps import image_rgb, pg_colormap
from .render import Rendered, Renderer

BACKGROUND = "#202124"
HIGHLIGHT = "#ffd54f"
TITLE_POINTS = 10.0  # at UI scale 1
NAME_POINTS = 10.0
NAME_HEIGHT = 20  # px: the filter's name above its maps (UI scale 1)
HEADER_HEIGHT = 26  # px: the stage titles (UI scale 1)
GROUP_GAP = 14  # px between groups of filters side by side
COLORBAR_WIDTH = 72  # px
AXIS_WIDTH = 64  # px: the colour bar's ticks and label ("-1.23e-03" at 9 pt)
SPACING = 3  # px between cells


def format_value(value: float) -> str:
    """A map value for people: 4 significant digits, no noise."""
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.3e}"
    return f"{value:.4g}"


def _sizes(plan: Plan | None, stage: str) -> str:
    """Every map size of a stage, from the plan (a bank may mix kernel sizes)."""
    sizes = plan.stage_sizes(stage) if plan is not None else ()
    return " / ".join(f"{h}×{w}" for h, w in sizes) or "0×0"


def stage_titles(result: Result) -> dict[str, str]:
    s = result.settings
    act = ACTIVATIONS[s.activation].split("  ")[0]
    titles = {
        "conv": f"conv {_sizes(result.plan, 'conv')}",
        "activation": "no activation" if s.activation == "none" else act,
    }
    if s.pool != "none" and result.maps and result.maps[0].pooled is not None:
        titles["pooled"] = f"{s.pool} pool {_sizes(result.plan, 'pooled')}"
    return titles


def map_rect(
    result: Result, fm: FilterMaps, stage: str, kernel_hw: tuple[int, int]
) -> QRectF:
    """Where a map sits in input coordinates (input pixel (r, c) covers [c, c+1) x [r,
    r+1))."""
    s = result.settings
    sh, sw = s.stride
    dkh = s.dilation[0] * (kernel_hw[0] - 1) + 1
    dkw = s.dilation[1] * (kernel_hw[1] - 1) + 1
    top, _, left, _ = fm.conv_pads
    y0 = -top + (dkh - 1) / 2 + 0.5 - sh / 2
    x0 = -left + (dkw - 1) / 2 + 0.5 - sw / 2
    oh, ow = fm.conv.shape
    if stage != "pooled":
        return QRectF(x0, y0, ow * sw, oh * sh)
    ptop, _, pleft, _ = fm.pool_pads  # type: ignore[misc]
    pkh, pkw = s.pool_size
    psh, psw = s.pool_stride
    py0 = y0 + (-ptop + (pkh - 1) / 2 + 0.5 - psh / 2) * sh
    px0 = x0 + (-pleft + (pkw - 1) / 2 + 0.5 - psw / 2) * sw
    ph, pw = fm.pooled.shape  # type: ignore[union-attr]
    return QRectF(px0, py0, pw * psw * sw, ph * psh * sh)


class MapItem(pg.ImageItem):
    """One feature map, coloured on the worker thread.

    ``values`` is the float map (what hover, the microscope, export and tests read);
    ``image`` holds its pixels, ``(H, W)`` uint32 ``0xFFRRGGBB``, which become a
    ``QImage.Format_RGB32`` without a copy: no levels or lookup table on the GUI thread.
    """

    def __init__(self) -> None:
        super().__init__(axisOrder="row-major")
        self.values: np.ndarray | None = None
        self.levels: tuple[float, float] = (-1.0, 1.0)
        self.colormap = "diverging"

    @property
    def scale(self) -> float:
        return max(abs(self.levels[0]), abs(self.levels[1]))

    def set_map(
        self,
        values: np.ndarray,
        pixels: np.ndarray,
        levels: tuple[float, float],
        colormap: str,
    ) -> None:
        self.values = values
        self.levels = (float(levels[0]), float(levels[1]))
        self.colormap = colormap
        old = self.image
        if (
            old is not None
            and old.shape == pixels.shape
            and old.__array_interface__["data"] == pixels.__array_interface__["data"]
        ):
            return  # the same pixels (an unchanged stage): nothing to redraw
        self.setImage(pixels, autoLevels=False)

    def render(self) -> None:  # pyqtgraph's hook: build self.qimage
        image = self.image
        self._unrenderable = image is None or image.size == 0
        if self._unrenderable:
            return
        self.qimage = pg.functions.ndarray_to_qimage(image, QImage.Format.Format_RGB32)
        self._renderRequired = False


class _FitLabel(pg.LabelItem):
    """A one-line title that claims no width (the columns share the width equally)
    and never runs into its neighbour: too long for its cell, it shows its short form
    (the title without its trailing size), then that elided with "…"; the tooltip
    keeps the whole title.

    A new title keeps the height: :meth:`set_title` does not invalidate the grid's
    layout (``LabelItem.setText`` did, and re-laying out 24 views cost ~3 ms per stride
    or padding change).
    """

    _quiet = False
    _fitting = False
    _want: tuple[str, str, float] = ("", "", TITLE_POINTS)
    _bold = True

    def updateMin(self) -> None:  # noqa: N802 (pyqtgraph)
        super().updateMin()
        self.setMinimumWidth(0)
        self.setPreferredWidth(0)

    def updateGeometry(self) -> None:  # noqa: N802 (Qt)
        if not self._quiet:
            super().updateGeometry()

    def title(self) -> str:
        """The whole title (what the label shows when it fits)."""
        return self._want[0]

    def set_title(self, text: str, points: float | None = None) -> None:
        points = self._want[2] if points is None else float(points)
        short = re.sub(r"\s*\d+×\d+$", "", text)
        want = (text, short, points)
        if want == self._want:
            return
        self._want = want
        self.setToolTip(text)
        self._fit()

    def _show(self, text: str, points: float | None = None) -> None:
        shown = html.escape(text) if text else "&nbsp;"
        size = f"{self._want[2] if points is None else points:g}pt"
        if shown == self.text and self.opts.get("size") == size:
            return
        self._quiet = True
        try:
            self.setText(shown, size=size, bold=self._bold)
        finally:
            self._quiet = False

    def shown_width(self) -> float:
        """The width the shown text takes (document margins included)."""
        return self.item.boundingRect().width()

    def _fit(self) -> None:
        if self._fitting:
            return
        self._fitting = True
        try:
            full, short, points = self._want
            room = self.rect().width()
            if room <= 0:  # not laid out yet: the whole title, fitted on resize
                self._show(full)
                return
            for candidate in dict.fromkeys((full, short)):
                self._show(candidate)
                if self.shown_width() <= room:
                    return
            if points > TITLE_POINTS:  # a large UI scale: the short form smaller
                points = max(TITLE_POINTS, points * 0.6)
                self._show(short, points)
                if self.shown_width() <= room:
                    return
            font = QFont(self.item.font())
            font.setPointSizeF(points)
            font.setBold(self._bold)
            metrics = QFontMetricsF(font)
            margin = self.shown_width() - metrics.horizontalAdvance(short)
            self._show(
                metrics.elidedText(
                    short, Qt.TextElideMode.ElideRight, max(room - margin - 1, 0.0)
                ),
                points,
            )
        finally:
            self._fitting = False

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt)
        super().resizeEvent(event)
        if event is not None:
            self._fit()


_Header = _FitLabel


class _Name(_FitLabel):
    """A filter's name above its row of maps: one line, no width claimed."""

    def updateMin(self) -> None:  # noqa: N802 (pyqtgraph)
        super().updateMin()
        self.setMaximumHeight(self._max_height)

    _max_height = NAME_HEIGHT


def _new_view(lock_aspect: bool = True) -> pg.ViewBox:
    vb = pg.ViewBox(lockAspect=lock_aspect, invertY=True, enableMenu=False)
    vb.setBackgroundColor("#111111")
    vb.setMinimumSize(30, 30)
    vb.setPreferredSize(60, 60)
    vb.disableAutoRange()  # ranges are set explicitly (see FeatureGrid.reset_zoom)
    return vb


class FeatureGrid(pg.GraphicsLayoutWidget):
    """Rows of feature maps with linked zoom/pan, a colour bar, hover and click.

    Signals
    -------
    hovered(str)
        A description of the value under the cursor ('' when over nothing).
    pixel_clicked(int, str, int, int)
        (filter index, stage, row, col) of a clicked map pixel.
    """

    hovered = Signal(str)
    pixel_clicked = Signal(int, str, int, int)

    def __init__(self, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.ci.setSpacing(SPACING)
        self.ci.setContentsMargins(4, 2, 4, 4)
        self._cells: list[dict[str, tuple[pg.ViewBox, pg.ImageItem]]] = []
        self._row_labels: list[pg.LabelItem] = []
        self._headers: dict[str, pg.LabelItem] = {}
        self._layout_key: tuple | None = None
        self._result: Result | None = None
        self._shared = False
        self._header_items: list[tuple[str, pg.LabelItem]] = []
        self._groups = 1
        self._linked: list[pg.ViewBox] = []
        self._marker: QGraphicsRectItem | None = None
        self._marked: tuple[int, str, int, int] | None = None
        self._selected: tuple[int, str] = (0, "conv")
        self._image_hw: tuple[int, int] | None = None
        self._rendered: Rendered | None = None
        self._ui_scale = 1.0
        self._foreground = "#e8eaed"
        self._fitted: QRectF | None = None
        self._user_zoomed = False
        self._cells_selected: tuple[int, str] | None = None
        self._colorbar_key: tuple | None = None
        self.colorbar: pg.ColorBarItem | None = None
        self.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)
        self.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)

    # -- public --------------------------------------------------------------------
    def image_item(self, filter_index: int, stage: str) -> MapItem:
        return self._cells[filter_index][stage][1]

    def values(self, filter_index: int, stage: str) -> np.ndarray | None:
        """The float map a cell shows (the array its pixels were coloured from)."""
        return self._cells[filter_index][stage][1].values

    def view_box(self, filter_index: int, stage: str) -> pg.ViewBox:
        return self._cells[filter_index][stage][0]

    def stages(self) -> list[str]:
        return list(self._cells[0]) if self._cells else []

    def result(self) -> Result | None:
        return self._result

    def shared_scale(self) -> bool:
        return self._shared

    def selected(self) -> tuple[int, str]:
        return self._selected

    def link_view(self, view: pg.ViewBox) -> None:
        """Keep an outside view (the input) in step with the maps."""
        self._linked.append(view)
        self._link_all()

    def set_shared_scale(self, shared: bool) -> None:
        """Colour-bar labels only: the owner recolours (on its worker) and calls
        :meth:`set_rendered` with the new pixels."""
        self._shared = bool(shared)
        self._update_colorbar()

    def reset_zoom(self) -> None:
        """Show the whole input and every whole output in every map (maps sit in input
        coordinates: with padding 30 or ceil-mode pooling an output reaches beyond the
        image's edge).

        A fixed range rather than pyqtgraph's auto-range: a stride or padding change
        moves a map's edges by half a pixel, and auto-range then re-fitted all 24 linked
        views on every redraw (measured +10 ms per shape change). The default view
        follows the extent, rounded out to whole input pixels, only while the user has
        not zoomed or panned.
        """
        if not self._cells or self._image_hw is None:
            return
        extent = self._extent()
        first = self._cells[0]["conv"][0]
        first.disableAutoRange()
        first.setRange(extent, padding=0.0)
        self._fitted = extent
        self._user_zoomed = False

    def is_default_view(self) -> bool:
        """True while the maps show the view Reset zoom chose (no zoom or pan since)."""
        return self._fitted is not None and not self._user_zoomed

    def _on_view_range_changed_manually(self, *_args) -> None:  # noqa: ANN002
        self._user_zoomed = True  # a wheel or drag: keep the user's view

    def _extent(self) -> QRectF:
        """The input rectangle united with every map's, rounded out to whole pixels."""
        if self._image_hw is None and self._result is None:
            return QRectF()
        hw = self._image_hw or self._result.image.shape[1:]  # type: ignore[union-attr]
        h, w = hw
        rect = QRectF(0, 0, w, h)
        for row in self._cells:
            for _, img in row.values():
                r = getattr(img, "_convlab_rect", None)
                if r is not None:
                    rect = rect.united(r)
        left, top = math.floor(rect.left()), math.floor(rect.top())
        right, bottom = math.ceil(rect.right()), math.ceil(rect.bottom())
        return QRectF(left, top, right - left, bottom - top)

    def _should_refit(self, extent: QRectF) -> bool:
        if self._fitted is None:
            return True
        # the extent moved, and the user has not zoomed or panned since Reset zoom
        return extent != self._fitted and not self._user_zoomed

    def set_result(self, result: Result) -> None:
        """Show ``result``, coloured here (on the calling thread; scripts and tests)."""
        self.set_rendered(Renderer().render(result, self._shared))

    def set_rendered(self, rendered: Rendered) -> None:
        """Show maps already coloured: reuse the items, rebuild only when the rows or
        columns change."""
        result = rendered.result
        stages = ["conv", "activation"] + (
            ["pooled"] if result.maps and result.maps[0].pooled is not None else []
        )
        groups = self._groups_for(len(result.maps), len(stages))
        key = (tuple(m.name for m in result.maps), tuple(stages), groups)
        if key != self._layout_key:
            self._build(result, stages, groups)
            self._layout_key = key
        titles = stage_titles(result)
        for stage, label in self._header_items:
            label.set_title(titles.get(stage, ""), TITLE_POINTS * self._ui_scale)
        self._result = result
        self._rendered = rendered
        self._shared = rendered.shared
        for i, fm in enumerate(result.maps):
            kernel_hw = result.settings.filters[i].kernel.shape
            pixels, levels = rendered.pixels[i], rendered.levels[i]
            names = rendered.names[i]
            for stage in stages:
                img = self._cells[i][stage][1]
                img.set_map(fm.stage(stage), pixels[stage], levels[stage], names[stage])
                rect = map_rect(result, fm, stage, kernel_hw)
                if rect != img._convlab_rect:
                    img.setRect(rect)
                    img._convlab_rect = rect
        self._update_colorbar()
        image_hw = result.image.shape[1:]
        extent = self._extent()
        if image_hw != self._image_hw or self._should_refit(extent):
            self._image_hw = image_hw
            self.reset_zoom()
        self._restore_marker()

    def mark_pixel(self, filter_index: int, stage: str, row: int, col: int) -> None:
        """Outline one pixel (the microscope's) and select its map."""
        self._marked = (filter_index, stage, row, col)
        self._selected = (filter_index, stage)
        self._restore_marker()

    def clear_marker(self) -> None:
        self._marked = None
        if self._marker is not None:
            self._marker.setParentItem(None)
            if self._marker.scene() is not None:
                self._marker.scene().removeItem(self._marker)
            self._marker = None

    def pick(self, scene_pos: QPointF) -> tuple[int, str, int, int] | None:
        """(filter, stage, row, col) under a scene position, or None."""
        for i, row in enumerate(self._cells):
            for stage, (vb, img) in row.items():
                if img.image is None or not vb.sceneBoundingRect().contains(scene_pos):
                    continue
                p = img.mapFromScene(scene_pos)
                r, c = math.floor(p.y()), math.floor(p.x())
                h, w = img.image.shape[:2]
                if 0 <= r < h and 0 <= c < w:
                    return i, stage, r, c
                return None
        return None

    def scene_pos_of(
        self, filter_index: int, stage: str, row: int, col: int
    ) -> QPointF:
        """Scene position of a pixel's centre (for tests and scripted demos)."""
        img = self.image_item(filter_index, stage)
        return img.mapToScene(QPointF(col + 0.5, row + 0.5))

    # -- internals -----------------------------------------------------------------
    def _groups_for(self, n_filters: int, n_stages: int) -> int:
        """How many filters side by side give the largest square maps.

        Each filter is a row of maps with its name on a thin line above them (no name
        column: the width goes to the maps); groups of filters sit side by side.
        """
        scale = self._ui_scale
        width = max(self.width() - COLORBAR_WIDTH * scale, 200)
        height = max(self.height() - HEADER_HEIGHT * scale, 150)
        name_height = NAME_HEIGHT * scale
        best, best_side = 1, 0.0
        for groups in range(1, max(n_filters, 1) + 1):
            rows = -(-n_filters // groups)
            side = min(
                (width - GROUP_GAP * (groups - 1)) / (n_stages * groups) - SPACING,
                height / rows - name_height - SPACING,
            )
            if side > best_side * 1.02:  # fewer groups on a near tie: wider rows
                best, best_side = groups, side
        return best

    def _build(self, result: Result, stages: list[str], groups: int) -> None:
        self.clear_marker()
        self.ci.clear()
        self._cells, self._row_labels, self._headers = [], [], {}
        self._cells_selected = None
        self._colorbar_key = None
        self._header_items: list[tuple[str, pg.LabelItem]] = []
        n = len(result.maps)
        rows = -(-n // groups) if n else 1
        span = len(stages) + 1  # the stages, then a gap column before the next group
        for g in range(min(groups, max(n, 1))):
            for j, stage in enumerate(stages):
                label = _Header("", color=self._foreground)
                label.set_title("", TITLE_POINTS * self._ui_scale)
                self.ci.addItem(label, row=0, col=g * span + j)
                self._header_items.append((stage, label))
        for i, fm in enumerate(result.maps):
            r, g = divmod(i, groups)
            name = _Name("", color=self._foreground, justify="left")
            name._max_height = round(NAME_HEIGHT * self._ui_scale)
            name.set_title(fm.name, NAME_POINTS * self._ui_scale)
            self.ci.addItem(name, row=1 + 2 * r, col=g * span, colspan=len(stages))
            self._row_labels.append(name)
            row = {}
            for j, stage in enumerate(stages):
                # only the first view keeps the aspect ratio: the others follow it
                # through
                # the links (locking all of them makes linked ranges run away)
                vb = _new_view(lock_aspect=not self._cells and j == 0)
                vb.sigRangeChangedManually.connect(self._on_view_range_changed_manually)
                self.ci.addItem(vb, row=2 + 2 * r, col=g * span + j)
                img = MapItem()
                img._convlab_rect = None
                vb.addItem(img)
                row[stage] = (vb, img)
            self._cells.append(row)
        self.colorbar = pg.ColorBarItem(
            values=(-1.0, 1.0),
            colorMap=pg_colormap("diverging"),
            interactive=False,
            width=round(16 * self._ui_scale),
            colorMapMenu=False,
        )
        self._style_axis(self.colorbar.axis)
        last = groups * span - 1
        self.ci.addItem(self.colorbar, row=1, col=last, rowspan=2 * rows)
        grid = self.ci.layout
        for g in range(groups):
            for j in range(len(stages)):
                grid.setColumnStretchFactor(g * span + j, 10)
            if g < groups - 1:
                grid.setColumnStretchFactor(g * span + len(stages), 0)
                grid.setColumnFixedWidth(g * span + len(stages), GROUP_GAP)
        grid.setColumnStretchFactor(last, 0)
        grid.setRowStretchFactor(0, 0)
        for r in range(rows):
            grid.setRowStretchFactor(1 + 2 * r, 0)
            grid.setRowStretchFactor(2 + 2 * r, 10)
        self._groups = groups
        self._image_hw = None
        self._link_all()
        self._show_selection()

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt)
        super().resizeEvent(event)
        rendered = getattr(self, "_rendered", None)
        if rendered is not None and self._cells:
            groups = self._groups_for(len(rendered.result.maps), len(self.stages()))
            if groups != getattr(self, "_groups", 1):
                self._layout_key = None
                self.set_rendered(rendered)

    def _link_all(self) -> None:
        if not self._cells:
            return
        first = self._cells[0]["conv"][0]
        for row in self._cells:
            for vb, _ in row.values():
                if vb is not first:
                    vb.setXLink(first)
                    vb.setYLink(first)
        for vb in self._linked:
            vb.setXLink(first)
            vb.setYLink(first)

    def _update_colorbar(self) -> None:
        """The colour bar shows the selected map's colours and range (every map's,
        with a shared scale)."""
        if self.colorbar is None or not self._cells:
            return
        i, stage = self._selected
        if i >= len(self._cells) or stage not in self._cells[i]:
            i, stage = 0, "conv"
        img = self._cells[i][stage][1]
        key = (self.colorbar, self._shared, img.colormap, img.levels, i, stage)
        if key == self._colorbar_key:
            return
        self._colorbar_key = key
        self.colorbar.setColorMap(pg_colormap(img.colormap))
        self.colorbar.setLevels(img.levels, update_items=False)
        if self._shared:
            label = "value, every map"
        else:
            name = self._result.maps[i].name if self._result is not None else ""
            label = f"{name} · {stage}"
        self.colorbar.axis.setLabel(label)
        self.colorbar.setToolTip(
            (
                "One scale for every map. "
                if self._shared
                else "The scale of the "
                "selected map (each map has its own; click a map to show its). "
            )
            + "Diverging: blue negative, white 0, red positive, symmetric about 0. "
            "Greyscale: black lowest, white highest."
        )

    def levels(self, filter_index: int, stage: str) -> tuple[float, float]:
        """The values drawn at the low and high ends of a cell's colour map."""
        return self.image_item(filter_index, stage).levels

    def colormap(self, filter_index: int, stage: str) -> str:
        """The colour map a cell is drawn with."""
        return self.image_item(filter_index, stage).colormap

    def set_ui_scale(self, scale: float) -> None:
        """Scale titles, names, the colour bar and the layout arithmetic."""
        scale = float(scale)
        if scale == self._ui_scale:
            return
        self._ui_scale = scale
        if self._rendered is not None:
            self._layout_key = None
            self.set_rendered(self._rendered)

    def set_foreground(self, colour: str) -> None:
        """Text colour of titles and names (the high-contrast theme: white)."""
        if colour == self._foreground:
            return
        self._foreground = colour
        if self._rendered is not None:
            self._layout_key = None
            self.set_rendered(self._rendered)

    def _style_axis(self, axis: pg.AxisItem) -> None:
        font = QFont(self.font())
        # ticks grow less than the text: the bar keeps its width beside the maps
        tick_scale = min(self._ui_scale, 1.5)
        font.setPointSizeF(9.0 * tick_scale)
        axis.setStyle(tickFont=font)
        # a fixed width: the ticks follow the selected map's range, and a width that
        # followed their text moved every map sideways on a click
        axis.setWidth(round(AXIS_WIDTH * tick_scale))
        axis.setPen(self._foreground)
        axis.setTextPen(self._foreground)
        axis.label.setFont(font)

    def headers(self) -> list[_FitLabel]:
        """The column titles (tests, screenshots)."""
        return [label for _, label in self._header_items]

    def _show_selection(self) -> None:
        """Outline the selected cell (only the cells whose state changes)."""
        cell = self._cells_selected
        if cell is not None and cell[0] < len(self._cells):
            vb = self._cells[cell[0]].get(cell[1], (None,))[0]
            if vb is not None:
                vb.setBorder(None)
        i, stage = self._selected
        self._cells_selected = None
        if i < len(self._cells) and stage in self._cells[i]:
            self._cells[i][stage][0].setBorder(pg.mkPen(HIGHLIGHT, width=2))
            self._cells_selected = (i, stage)
        self._update_colorbar()

    def _restore_marker(self) -> None:
        if self._marker is not None:
            self._marker.setParentItem(None)
            if self._marker.scene() is not None:
                self._marker.scene().removeItem(self._marker)
            self._marker = None
        self._show_selection()
        if self._marked is None:
            return
        i, stage, r, c = self._marked
        if i >= len(self._cells) or stage not in self._cells[i]:
            return
        img = self._cells[i][stage][1]
        if img.image is None or r >= img.image.shape[0] or c >= img.image.shape[1]:
            return
        marker = QGraphicsRectItem(QRectF(c, r, 1, 1), img)
        pen = QPen(QColor(HIGHLIGHT))
        pen.setCosmetic(True)
        pen.setWidthF(2.5)
        marker.setPen(pen)
        marker.setBrush(QBrush(Qt.BrushStyle.NoBrush))
        self._marker = marker

    def _describe(self, hit: tuple[int, str, int, int]) -> str:
        i, stage, r, c = hit
        result = self._result
        if result is None:
            return ""
        value = float(result.maps[i].stage(stage)[r, c])  # type: ignore[index]
        return (
            f"{result.maps[i].name} · {stage} [row {r}, col {c}] = "
            f"{format_value(value)}   (click for the numbers behind it)"
        )

    def _on_scene_mouse_moved(self, pos: QPointF) -> None:
        hit = self.pick(pos)
        self.hovered.emit(self._describe(hit) if hit else "")

    def _on_scene_mouse_clicked(self, event) -> None:  # noqa: ANN001
        if event.button() != Qt.MouseButton.LeftButton:
            return
        hit = self.pick(event.scenePos())
        if hit is not None:
            self.mark_pixel(*hit)
            self.pixel_clicked.emit(*hit)


class InputView(pg.GraphicsLayoutWidget):
    """The input image, with the window of the inspected pixel outlined."""

    def __init__(self, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.view = _new_view()
        self.addItem(self.view)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.window_item = QGraphicsRectItem()
        pen = QPen(QColor(HIGHLIGHT))
        pen.setCosmetic(True)
        pen.setWidthF(2.0)
        self.window_item.setPen(pen)
        self.window_item.setZValue(10)
        self.window_item.hide()
        self.view.addItem(self.window_item)

    colormap = "grey"

    def set_image(self, chw: np.ndarray) -> None:
        self._chw = chw
        self.image.setImage(
            image_rgb(chw, self.colormap), levels=(0, 255), autoLevels=False
        )
        self.window_item.hide()
        self.view.autoRange(padding=0.02)

    def set_colormap(self, name: str) -> None:
        """The map a greyscale input is drawn with (an RGB input keeps its colours)."""
        self.colormap = name
        chw = getattr(self, "_chw", None)
        if chw is not None:
            self.image.setImage(image_rgb(chw, name), levels=(0, 255), autoLevels=False)

    def show_window(self, rect: QRectF | None) -> None:
        if rect is None:
            self.window_item.hide()
        else:
            self.window_item.setRect(rect)
            self.window_item.show()
