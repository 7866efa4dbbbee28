"""The picture of one sliding-window step, painted with QPainter.

:class:`StepCanvas` draws what a :class:`convlab.lecture.Step` holds, nothing more: the
padded input (padding cells hatched, the window's cells framed), the kernel, the
products, the output map written so far, the activation, and the pooling window that
reads the output. Panels flow left to right and wrap to the canvas width, so the
canvas only grows downwards (it lives in a vertical scroll area).

Small grids carry a number in every cell. A padded input larger than
:data:`FULL_INPUT_MAX` cells a side (the 28x28 MNIST digit padded to 30) is shown as a
crop around the window with numbers, beside a thumbnail of the whole input; maps larger
than :data:`FULL_MAP_MAX` are drawn as coloured cells without numbers (the value being
written is in the read-out above the canvas).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QApplication, QSizePolicy, QWidget

from convlab import colormaps as cmaps

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


class StepCanvas(QWidget):
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
        """Panel sizes at the UI scale, shrunk (down to :data:`MIN_FIT`) until the
        whole step fits the scroll area's height without scrolling."""
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

    def _cells(
        self,
        painter: QPainter,
        body: QRectF,
        cell: float,
        values: np.ndarray,
        rgb: np.ndarray,
        labels: list[str] | None,
        shown: np.ndarray | None = None,
        hatched: np.ndarray | None = None,
        faint: np.ndarray | None = None,
    ) -> None:
        rows, cols = values.shape
        painter.setFont(self._font)
        grid_pen = QPen(FAINT)
        grid_pen.setWidthF(1.0)
        for r in range(rows):
            for c in range(cols):
                rect = QRectF(body.x() + c * cell, body.y() + r * cell, cell, cell)
                visible = shown is None or bool(shown[r, c])
                colour = QColor(*map(int, rgb[r, c])) if visible else QColor("white")
                painter.fillRect(rect, colour)
                if hatched is not None and hatched[r, c]:
                    painter.fillRect(rect, QBrush(HATCH, Qt.BrushStyle.BDiagPattern))
                painter.setPen(grid_pen)
                painter.drawRect(rect)
                if labels is not None and visible:
                    text = labels[r * cols + c]
                    pale = faint is not None and faint[r, c]
                    painter.setPen(FAINT if pale else _text_colour(rgb[r, c]))
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    def _frame(
        self, painter: QPainter, rect: QRectF, colour: QColor, width: float = 3.0
    ) -> None:
        pen = QPen(colour)
        pen.setWidthF(width * self._scale)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        half = width * self._scale / 2
        painter.drawRect(rect.adjusted(half, half, -half, -half))

    def _crop_origin(self) -> tuple[int, int]:
        step = self._step
        hp, wp = self._mixed.shape
        ch, cw = self._crop_hw
        y0 = min(max(int(step.rows[0]) - CROP_MARGIN, 0), hp - ch)
        x0 = min(max(int(step.cols[0]) - CROP_MARGIN, 0), wp - cw)
        return y0, x0

    def _done_taps(self) -> np.ndarray:
        """(KH, KW) bool: the taps summed so far in this step."""
        step = self._step
        kh, kw = self._window.kernel_shape
        done = np.ones(kh * kw, bool)
        if step.tap is not None:
            done[step.tap + 1 :] = False
        return done.reshape(kh, kw)

    def _draw_input(self, painter: QPainter, p: _Panel, body: QRectF) -> None:
        win, step = self._window, self._step
        y0, x0 = self._crop_origin()
        ch, cw = self._crop_hw
        values = self._mixed[y0 : y0 + ch, x0 : x0 + cw]
        top, _, left, _ = win.pads
        _, h, w = win.image.shape
        rr = np.arange(y0, y0 + ch) - top
        cc = np.arange(x0, x0 + cw) - left
        hatched = ((rr < 0) | (rr >= h))[:, None] | ((cc < 0) | (cc >= w))[None, :]
        labels = format_labels(values, None if _is_integer(self._mixed) else 1.0)
        self._cells(
            painter,
            body,
            p.cell,
            values,
            self._input_rgb[y0 : y0 + ch, x0 : x0 + cw],
            labels,
            hatched=hatched,
        )
        done = self._done_taps()
        kh, kw = win.kernel_shape
        cell = p.cell
        for ky in range(kh):
            for kx in range(kw):
                r, c = int(step.rows[ky]) - y0, int(step.cols[kx]) - x0
                rect = QRectF(body.x() + c * cell, body.y() + r * cell, cell, cell)
                self._frame(painter, rect, WINDOW if done[ky, kx] else FAINT, 3.0)
        # the window's extent (with dilation the tapped cells are not adjacent)
        r0, c0 = int(step.rows[0]) - y0, int(step.cols[0]) - x0
        r1, c1 = int(step.rows[-1]) - y0, int(step.cols[-1]) - x0
        outline = QRectF(
            body.x() + c0 * cell - 2,
            body.y() + r0 * cell - 2,
            (c1 - c0 + 1) * cell + 4,
            (r1 - r0 + 1) * cell + 4,
        )
        self._frame(painter, outline, WINDOW, 1.0)
        if win.settings.padding_mode != "zeros":
            self._draw_sources(painter, body, cell, y0, x0)

    def _draw_sources(
        self, painter: QPainter, body: QRectF, cell: float, y0: int, x0: int
    ) -> None:
        """Reflect/replicate/circular: a line from the input cell each padding cell
        under the window copies (when both are in view)."""
        win, step = self._window, self._step
        ch, cw = self._crop_hw
        pen = QPen(CROP)
        pen.setWidthF(1.5 * self._scale)
        painter.setPen(pen)
        for ky in range(step.rows.shape[0]):
            for kx in range(step.cols.shape[0]):
                if not step.padded_mask[ky, kx]:
                    continue
                sr = int(step.source_rows[ky]) + win.pads[0] - y0
                sc = int(step.source_cols[kx]) + win.pads[2] - x0
                r, c = int(step.rows[ky]) - y0, int(step.cols[kx]) - x0
                if not (0 <= sr < ch and 0 <= sc < cw) or (sr, sc) == (r, c):
                    continue
                a = QPointF(body.x() + (sc + 0.5) * cell, body.y() + (sr + 0.5) * cell)
                b = QPointF(body.x() + (c + 0.5) * cell, body.y() + (r + 0.5) * cell)
                painter.drawLine(a, b)
                painter.drawEllipse(b, 2.5 * self._scale, 2.5 * self._scale)

    def _draw_thumb(self, painter: QPainter, p: _Panel, body: QRectF) -> None:
        win, step = self._window, self._step
        painter.drawImage(body, self._thumb)
        k = p.cell
        top, bottom, left, right = win.pads
        hp, wp = self._mixed.shape
        if any(win.pads):  # the input inside the padding
            pen = QPen(HATCH)
            pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawRect(
                QRectF(
                    body.x() + left * k,
                    body.y() + top * k,
                    (wp - left - right) * k,
                    (hp - top - bottom) * k,
                )
            )
        y0, x0 = self._crop_origin()
        ch, cw = self._crop_hw
        self._frame(
            painter,
            QRectF(body.x() + x0 * k, body.y() + y0 * k, cw * k, ch * k),
            CROP,
            1.5,
        )
        r0, c0 = int(step.rows[0]), int(step.cols[0])
        r1, c1 = int(step.rows[-1]), int(step.cols[-1])
        rect = QRectF(
            body.x() + c0 * k, body.y() + r0 * k, (c1 - c0 + 1) * k, (r1 - r0 + 1) * k
        )
        self._frame(painter, rect, WINDOW, 2.0)

    def _draw_kernel(self, painter: QPainter, p: _Panel, body: QRectF) -> None:
        win, step = self._window, self._step
        kh, kw = self._kernel.shape
        grid = QRectF(body.x(), body.y(), kw * p.cell, kh * p.cell)
        self._cells(
            painter,
            grid,
            p.cell,
            self._kernel,
            self._kernel_rgb,
            format_labels(self._kernel),
        )
        if step.tap is not None:
            ky, kx = step.tap_yx
            rect = QRectF(
                grid.x() + kx * p.cell, grid.y() + ky * p.cell, p.cell, p.cell
            )
            self._frame(painter, rect, WINDOW, 3.0)
        else:
            self._frame(painter, grid, WINDOW, 3.0)
        painter.setFont(self._font)
        painter.setPen(INK)
        bias = win.settings.filters[win.filter_index].bias
        painter.drawText(
            QRectF(
                body.x(), grid.bottom(), body.width(), body.height() - grid.height()
            ),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            f"bias {bias:g}",
        )

    def _draw_products(self, painter: QPainter, p: _Panel, body: QRectF) -> None:
        step = self._step
        kh, kw = self._kernel.shape
        products = step.products.sum(axis=0)
        bound = None if self._product_integers else max(self._product_bound, 0.5)
        labels = format_labels(products, bound)
        lo, hi = cmaps.limits(
            np.array([-self._product_bound, self._product_bound]), signed=True
        )
        rgb = cmaps.to_rgb(products, "diverging", lo, hi)
        done = self._done_taps()
        grid = QRectF(body.x(), body.y(), kw * p.cell, kh * p.cell)
        self._cells(
            painter,
            grid,
            p.cell,
            products,
            np.where(done[..., None], rgb, 245),
            labels,
            faint=~done,
        )
        if step.tap is not None:
            ky, kx = step.tap_yx
            self._frame(
                painter,
                QRectF(grid.x() + kx * p.cell, grid.y() + ky * p.cell, p.cell, p.cell),
                WINDOW,
                3.0,
            )
        painter.setFont(self._font)
        painter.setPen(INK)
        line = QFontMetricsF(self._font).height()
        what = "running Σ" if step.tap is not None else "Σ"
        painter.drawText(
            QRectF(body.x(), grid.bottom(), body.width() * 2, line),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            f"{what} = {step.partial:.4g}",
        )
        if step.tap is None or step.tap == step.running.shape[0] - 1:
            painter.drawText(
                QRectF(body.x(), grid.bottom() + line, body.width() * 2, line),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                f"+ b = {step.output:.4g}",
            )

    def _written(self) -> int:
        """Output positions written so far (the current one included once its sum
        is complete)."""
        step = self._step
        ow = self._maps["conv"].shape[1]
        position = step.oy * ow + step.ox
        complete = step.tap is None or step.tap == step.running.shape[0] - 1
        return position + (1 if complete else 0)

    def _draw_map(self, painter: QPainter, p: _Panel, body: QRectF, key: str) -> None:
        step = self._step
        values = self._maps[key]
        mh, mw = values.shape
        written = self._written()
        if key == "pooled":
            shown = self._pool_last < written
        else:
            shown = (np.arange(mh * mw) < written).reshape(mh, mw)
        if max(mh, mw) <= FULL_MAP_MAX:
            self._cells(
                painter,
                body,
                p.cell,
                values,
                self._map_rgb[key],
                format_labels(values, self._map_bound[key]),
                shown=shown,
            )
        else:
            k = self._map_stride[key]
            rgb = np.where(shown[::k, ::k, None], self._map_rgb[key], 255)
            rgb = rgb.astype(np.uint8)
            painter.drawImage(body, _rgb_image(rgb))
            pen = QPen(FAINT)
            painter.setPen(pen)
            painter.drawRect(body)
        cell = p.cell
        if key == "pooled":
            for pw in step.pools[:1]:
                rect = QRectF(
                    body.x() + pw.col * cell, body.y() + pw.row * cell, cell, cell
                )
                self._frame(painter, rect, POOL, 3.0 if cell >= 8 else 1.5)
            return
        rect = QRectF(body.x() + step.ox * cell, body.y() + step.oy * cell, cell, cell)
        if cell < 8:  # a large map: a marker bigger than the cell
            rect = rect.adjusted(-3, -3, 3, 3)
        self._frame(painter, rect, WINDOW, 3.0 if cell >= 8 else 1.5)
        consumer = "activation" if "activation" in self._maps else "conv"
        if key == consumer:
            for pw in step.pools[:1]:
                r0, c0 = int(pw.rows[0]), int(pw.cols[0])
                outline = QRectF(
                    body.x() + c0 * cell - 2,
                    body.y() + r0 * cell - 2,
                    pw.cols.shape[0] * cell + 4,
                    pw.rows.shape[0] * cell + 4,
                )
                self._frame(painter, outline, POOL, 1.5)

    def _draw_conv(self, painter: QPainter, p: _Panel, body: QRectF) -> None:
        self._draw_map(painter, p, body, "conv")

    def _draw_activation(self, painter: QPainter, p: _Panel, body: QRectF) -> None:
        self._draw_map(painter, p, body, "activation")

    def _draw_pooled(self, painter: QPainter, p: _Panel, body: QRectF) -> None:
        self._draw_map(painter, p, body, "pooled")

    def _draw_pool_window(self, painter: QPainter, p: _Panel, body: QRectF) -> None:
        step = self._step
        painter.setFont(self._font)
        if not step.pools:
            painter.setPen(INK)
            painter.drawText(
                body,
                Qt.AlignmentFlag.AlignLeft
                | Qt.AlignmentFlag.AlignTop
                | Qt.TextFlag.TextWordWrap,
                "no pooling window reads this cell",
            )
            return
        pw = step.pools[0]
        key = "activation" if "activation" in self._maps else "conv"
        values = np.where(pw.padded_mask, np.nan, pw.values)
        signed = cmaps.is_signed(self._maps[key])
        lo, hi = cmaps.limits(self._maps[key], signed=signed)
        rgb = cmaps.to_rgb(np.nan_to_num(values), cmaps.default_for(signed), lo, hi)
        rgb = np.where(pw.padded_mask[..., None], 255, rgb).astype(np.uint8)
        pkh, pkw = values.shape
        grid = QRectF(body.x(), body.y(), pkw * p.cell, pkh * p.cell)
        self._cells(
            painter,
            grid,
            p.cell,
            values,
            rgb,
            format_labels(values, self._map_bound[key]),
            hatched=pw.padded_mask,
        )
        cell = p.cell
        if pw.winner is not None:
            wr, wc = pw.winner
            r, c = int(np.searchsorted(pw.rows, wr)), int(np.searchsorted(pw.cols, wc))
            self._frame(
                painter,
                QRectF(grid.x() + c * cell, grid.y() + r * cell, cell, cell),
                POOL,
                3.0,
            )
        r = int(np.searchsorted(pw.rows, step.oy))
        c = int(np.searchsorted(pw.cols, step.ox))
        self._frame(
            painter,
            QRectF(
                grid.x() + c * cell + 3, grid.y() + r * cell + 3, cell - 6, cell - 6
            ),
            WINDOW,
            2.0,
        )
        what = "max" if pw.kind == "max" else f"mean ÷{pw.divisor}"
        painter.setPen(INK)
        painter.setFont(self._font)
        painter.drawText(
            QRectF(
                body.x(), grid.bottom(), body.width() * 2, body.height() - grid.height()
            ),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            f"p[{pw.row}, {pw.col}] = {pw.value:.4g} ({what})",
        )
