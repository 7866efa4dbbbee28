"""The painting of the step canvas: cells, frames and each panel's drawing.

A mixin of :class:`~.animation_canvas.StepCanvas` (it reads the canvas's window, step,
colours and panels prepared there); ``paintEvent`` calls ``_draw_<panel name>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainter, QPen

from convlab import colormaps as cmaps

from .step_style import (
    CROP,
    CROP_MARGIN,
    FAINT,
    FULL_MAP_MAX,
    HATCH,
    INK,
    POOL,
    WINDOW,
    _is_integer,
    _rgb_image,
    _text_colour,
    format_labels,
)

if TYPE_CHECKING:
    from .animation_canvas import _Panel


class StepPaintingMixin:
    """Cells, frames and panel drawing of :class:`~.animation_canvas.StepCanvas`."""

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
