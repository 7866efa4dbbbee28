"""The picture of one sliding-window step, painted with QPainter.

:class:`StepCanvas` draws what a :class:`convlab.lecture.Step` holds, nothing more: the
padded input (padding cells hatched, the window's cells framed), the kernel, the
products, the output map written so far, the activation, and the pooling window that
reads the output. Panels flow left to right and wrap to the canvas width, so the
canvas only grows downwards (it lives in a vertical scroll area).

Small grids carry a number in every cell. A padded input larger than
:data:`~.step_style.FULL_INPUT_MAX` cells a side (the 28x28 MNIST digit padded to 30)
is shown as a crop around the window with numbers, beside a thumbnail of the whole
input; maps larger than :data:`~.step_style.FULL_MAP_MAX` are drawn as coloured cells
without numbers (the value being written is in the read-out above the canvas).

Sizes, colours and labels live in :mod:`.step_style`, the panels' painting in
:mod:`.step_painting`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QMouseEvent,
    QPainter,
    QPaintEvent,
)
from PySide6.QtWidgets import QApplication, QSizePolicy, QWidget

from convlab import colormaps as cmaps

from .step_painting import StepPaintingMixin
from .step_style import (
    CELL_MIN,
    CROP_MARGIN,
    FITS,
    FULL_INPUT_MAX,
    FULL_MAP_MAX,
    GAP,
    INK,
    MAP_BOX,
    THUMB_BOX,
    TITLE_GAP,
    _decimals_sample,
    _is_integer,
    _pale,
    _rgb_image,
    format_labels,
)


@dataclass
class _Panel:
    name: str  # "input", "thumb", "kernel", "products", "conv", "activation", ...
    title: str
    w: float  # body size (title excluded)
    h: float
    x: float = 0.0
    y: float = 0.0  # top of the title
    cell: float = 0.0
    rows: int = 0
    cols: int = 0

    def body(self, title_h: float) -> QRectF:
        return QRectF(self.x, self.y + title_h, self.w, self.h)


class StepCanvas(StepPaintingMixin, QWidget):
    """Paints one step of a :class:`~convlab.lecture.SlidingWindow`.

    Signals
    -------
    map_clicked(str, int, int)
        A cell of the output, activation or pooled map was clicked: the stage
        (``"conv"``, ``"activation"`` or ``"pooled"``) and its (row, col).
    """

    map_clicked = Signal(str, int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(self.backgroundRole(), QColor("white"))
        self.setPalette(pal)
        self._scale = 1.0  # the UI scale times the fit factor
        self._ui_scale = 1.0
        self._fitting = False
        self._window = None
        self._step = None
        self._panels: list[_Panel] = []
        self._height = 60
        self._font = QFont()
        self._small = QFont()
        self._title_font = QFont()
        self._set_fonts()

    # -- data --------------------------------------------------------------------
    def set_ui_scale(self, scale: float) -> None:
        self._ui_scale = float(scale)
        self._fit()

    def set_window(self, window) -> None:  # noqa: ANN001
        """A new :class:`~convlab.lecture.SlidingWindow` (None: nothing to draw)."""
        self._window = window
        self._step = None
        self._prepare_data()
        self._fit()

    def set_step(self, step) -> None:  # noqa: ANN001
        self._step = step
        self.update()

    def panel_names(self) -> list[str]:
        return [p.name for p in self._panels]

    def panel_rect(self, name: str) -> QRectF:
        """The body of a panel in widget coordinates (for clicks in tests)."""
        for p in self._panels:
            if p.name == name:
                return p.body(self._title_height())
        raise KeyError(name)

    def cell_centre(self, name: str, row: int, col: int) -> QPointF:
        """Where cell (row, col) of a map panel is drawn."""
        for p in self._panels:
            if p.name == name:
                body = p.body(self._title_height())
                return QPointF(
                    body.x() + (col + 0.5) * p.cell, body.y() + (row + 0.5) * p.cell
                )
        raise KeyError(name)

    # -- layout ------------------------------------------------------------------
    def _set_fonts(self) -> None:
        base = QApplication.font()
        fit = self._scale / self._ui_scale
        points = max(base.pointSizeF(), 9.0 * self._ui_scale) * fit
        self._font = QFont(base)
        self._font.setPointSizeF(points)
        self._small = QFont(base)
        self._small.setPointSizeF(points * 0.8)
        self._title_font = QFont(base)
        self._title_font.setPointSizeF(points)
        self._title_font.setBold(True)

    def _title_height(self) -> float:
        return QFontMetricsF(self._title_font).height() + TITLE_GAP * self._scale

    def _fit(self) -> None:
        """Panel sizes at the UI scale, shrunk (down to
        :data:`~.step_style.MIN_FIT`) until the whole step fits the scroll area's
        height without scrolling."""
        if self._fitting:  # the height set below resized us: nothing new to fit
            return
        self._fitting = True
        try:
            viewport = self.parentWidget()
            avail = viewport.height() if viewport is not None else 10**6
            for fit in FITS:
                self._scale = self._ui_scale * fit
                self._set_fonts()
                self._prepare_panels()
                if self._layout_height(max(self.width(), 200)) <= avail:
                    break
            self._relayout()
        finally:
            self._fitting = False

    def _prepare_data(self) -> None:
        """Colours and label bounds of the window (once per window)."""
        win = self._window
        if win is None:
            return
        s = win.settings
        padded = win.padded
        c = padded.shape[0]
        mixed = padded.mean(axis=0) if s.channels == "mean" else padded.sum(axis=0)
        if c == 1:
            mixed = padded[0]
        self._mixed = mixed.astype(np.float64)
        kernel = s.filters[win.filter_index].kernel.astype(np.float64)
        self._kernel = kernel
        fm = win.maps
        lo, hi = cmaps.limits(mixed, signed=bool(mixed.min() < 0))
        if mixed.min() >= 0 and mixed.max() <= 1:
            lo, hi = 0.0, 1.0
        name = cmaps.default_for(bool(mixed.min() < 0))
        self._input_rgb = _pale(cmaps.to_rgb(mixed, name, lo, hi))
        k = max(1, max(mixed.shape) // (2 * THUMB_BOX))
        self._thumb = _rgb_image(cmaps.to_rgb(mixed[::k, ::k], name, lo, hi))
        klo, khi = cmaps.limits(kernel, signed=True)
        self._kernel_rgb = cmaps.to_rgb(kernel, "diverging", klo, khi)
        x_top = float(np.abs(mixed).max()) if mixed.size else 0.0
        self._product_bound = x_top * float(np.abs(kernel).max())
        self._product_integers = _is_integer(mixed) and _is_integer(kernel)
        self._maps: dict[str, np.ndarray] = {"conv": fm.conv}
        if s.activation != "none":
            self._maps["activation"] = fm.activated
        if fm.pooled is not None:
            self._maps["pooled"] = fm.pooled
        self._map_rgb = {}
        self._map_bound = {}
        self._map_stride = {}
        for key, values in self._maps.items():
            signed = cmaps.is_signed(values)
            mlo, mhi = cmaps.limits(values, signed=signed)
            # a photo's map is drawn at most MAP_BOX px a side (x2 for UI scale 2):
            # colour every k-th cell only, once here and at every step
            k = max(1, max(values.shape) // (2 * MAP_BOX))
            self._map_stride[key] = k
            self._map_rgb[key] = cmaps.to_rgb(
                values[::k, ::k], cmaps.default_for(signed), mlo, mhi
            )
            finite = values[np.isfinite(values)]
            self._map_bound[key] = float(np.abs(finite).max()) if finite.size else 0.0
        if fm.pooled is not None:
            self._pool_last = self._pool_last_positions()
        # the widest labels each grid can hold (they size the cells)
        samples = [
            *format_labels(_decimals_sample(mixed)),
            *format_labels(kernel),
            *format_labels(
                np.array([self._product_bound, -self._product_bound]),
                None if self._product_integers else max(self._product_bound, 0.5),
            ),
        ]
        for values in self._maps.values():
            if max(values.shape) <= FULL_MAP_MAX:
                samples += format_labels(_decimals_sample(values))
        self._samples = samples

    def _prepare_panels(self) -> None:
        """Panel sizes at the current scale."""
        self._panels = []
        win = self._window
        if win is None:
            return
        s = win.settings
        mixed = self._mixed
        c = win.padded.shape[0]
        fmt = QFontMetricsF(self._font)
        widest = max((fmt.horizontalAdvance(t) for t in self._samples), default=10)
        cell = max(CELL_MIN * self._scale, math.ceil(widest + 8 * self._scale))
        self._cell = cell

        hp, wp = mixed.shape
        kh, kw = win.kernel_shape
        dh, dw = s.dilation
        ext_h, ext_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
        if max(hp, wp) <= FULL_INPUT_MAX:
            self._crop_hw = (hp, wp)
        else:
            self._crop_hw = (
                min(hp, ext_h + 2 * CROP_MARGIN),
                min(wp, ext_w + 2 * CROP_MARGIN),
            )
        ch, cw = self._crop_hw
        cropped = (ch, cw) != (hp, wp)
        what = "input" if c == 1 else f"input ({s.channels} of {c} channels)"
        if any(win.pads):
            what += " padded"
        if cropped:
            what += f" (around the window; {hp}×{wp})"
        panels = [
            _Panel("input", what, cw * cell, ch * cell, cell=cell, rows=ch, cols=cw)
        ]
        if cropped:
            tb = THUMB_BOX * self._scale
            k = tb / max(hp, wp)
            panels.append(
                _Panel("thumb", "whole input", wp * k, hp * k, cell=k, rows=hp, cols=wp)
            )
        flt = s.filters[win.filter_index]
        line = QFontMetricsF(self._font).height()
        panels.append(
            _Panel(
                "kernel",
                f"kernel '{flt.name}'",
                max(kw * cell, fmt.horizontalAdvance(f"bias {flt.bias:g}")),
                kh * cell + line,
                cell=cell,
                rows=kh,
                cols=kw,
            )
        )
        panels.append(
            _Panel(
                "products",
                "products x·w" + (" (Σ channels)" if c > 1 else ""),
                max(kw * cell, fmt.horizontalAdvance("Σ = -000.000")),
                kh * cell + 2 * line,
                cell=cell,
                rows=kh,
                cols=kw,
            )
        )
        titles = {
            "conv": "output"
            if s.activation == "none"
            else "output (before activation)",
            "activation": {"relu": "ReLU", "leaky_relu": "leaky ReLU"}.get(
                s.activation, s.activation
            ),
            "pooled": f"{s.pool} pool",
        }
        for key, values in self._maps.items():
            mh, mw = values.shape
            if max(mh, mw) <= FULL_MAP_MAX:
                mc = cell
            else:
                mc = MAP_BOX * self._scale / max(mh, mw)  # below 1 px for photos
            panels.append(
                _Panel(key, titles[key], mw * mc, mh * mc, cell=mc, rows=mh, cols=mw)
            )
            if (
                key != "pooled"
                and "pooled" in self._maps
                and (key == "activation" or "activation" not in self._maps)
            ):
                pkh, pkw = s.pool_size
                panels.append(
                    _Panel(
                        "pool_window",
                        "pooling window",
                        max(
                            pkw * cell, fmt.horizontalAdvance("p[00, 00] = -00.00 max")
                        ),
                        pkh * cell + line,
                        cell=cell,
                        rows=pkh,
                        cols=pkw,
                    )
                )
        self._panels = panels

    def _pool_last_positions(self) -> np.ndarray:
        """For each pooled pixel, the last conv position (row-major) its window
        reads: the pixel is written once the window has passed it."""
        win = self._window
        s = win.settings
        fm = win.maps
        oh, ow = fm.conv.shape
        qh, qw = fm.pooled.shape
        top, _, left, _ = fm.pool_pads
        rows = np.minimum(
            np.arange(qh) * s.pool_stride[0] - top + s.pool_size[0] - 1, oh - 1
        )
        cols = np.minimum(
            np.arange(qw) * s.pool_stride[1] - left + s.pool_size[1] - 1, ow - 1
        )
        return rows[:, None] * ow + cols[None, :]

    def _layout_height(self, width: float) -> int:
        gap = GAP * self._scale
        title_h = self._title_height()
        fm = QFontMetricsF(self._title_font)
        x = y = gap / 2
        row_h = 0.0
        for p in self._panels:
            w = max(p.w, min(fm.horizontalAdvance(p.title), 2.5 * p.w + 40))
            if x > gap / 2 and x + w > width:
                x = gap / 2
                y += row_h + gap
                row_h = 0.0
            p.x, p.y = x, y
            x += w + gap
            row_h = max(row_h, title_h + p.h)
        return int(math.ceil(y + row_h + gap / 2)) if self._panels else 60

    def _relayout(self) -> None:
        self._height = self._layout_height(max(self.width(), 200))
        if self.minimumHeight() != self._height:
            self.setMinimumHeight(self._height)
            self.setMaximumHeight(self._height)
        self.update()

    def widest_panel(self) -> int:
        return int(max((p.w for p in self._panels), default=100) + GAP * self._scale)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt)
        return QSize(self.widest_panel(), self._height)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt)
        return QSize(self.widest_panel(), self._height)

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt)
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self._fit()

    def refit(self) -> None:
        """The scroll area changed height: choose the fit again."""
        self._fit()

    # -- mouse -------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt)
        pos = event.position()
        title_h = self._title_height()
        for p in self._panels:
            if p.name not in ("conv", "activation", "pooled"):
                continue
            body = p.body(title_h)
            if body.contains(pos):
                row = min(int((pos.y() - body.y()) // p.cell), p.rows - 1)
                col = min(int((pos.x() - body.x()) // p.cell), p.cols - 1)
                self.map_clicked.emit(p.name, row, col)
                event.accept()
                return
        super().mousePressEvent(event)

    # -- painting ----------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        if self._window is None or self._step is None:
            painter.setPen(INK)
            painter.setFont(self._font)
            painter.drawText(
                self.rect(),
                Qt.AlignmentFlag.AlignCenter,
                "No maps yet: the animation starts once the explorer has a result.",
            )
            return
        title_h = self._title_height()
        for p in self._panels:
            painter.setFont(self._title_font)
            painter.setPen(INK)
            painter.drawText(
                QRectF(p.x, p.y, max(p.w, 2.5 * p.w + 40), title_h),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                p.title,
            )
            getattr(self, f"_draw_{p.name}")(painter, p, p.body(title_h))
        painter.end()
