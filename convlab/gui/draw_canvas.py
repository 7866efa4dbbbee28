"""A square canvas to draw on with the mouse or a pen: white ink on black, like
MNIST."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

__all__ = ["DrawCanvas"]


class DrawCanvas(QWidget):
    """Draw with the left mouse button (or a pen: Qt turns pen events into mouse
    events).

    The drawing lives in a ``resolution x resolution`` greyscale image, shown scaled to
    the widget's largest centred square, so what is drawn does not depend on the
    window's size.

    Signals
    -------
    drawing_changed()
        The picture changed: during a stroke (every mouse move), after clear and undo.
    stroke_finished()
        The mouse button was released after a stroke.
    """

    drawing_changed = Signal()
    stroke_finished = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        resolution: int = 280,
        stroke_width: float = 22.0,
    ) -> None:
        super().__init__(parent)
        if int(resolution) < 8:
            raise ValueError(
                f"`resolution` must be an int >= 8. Received: resolution={resolution!r}"
            )
        self._res = int(resolution)
        self._image = QImage(self._res, self._res, QImage.Format.Format_Grayscale8)
        self._image.fill(0)
        self._stroke_width = 1.0
        self.set_stroke_width(stroke_width)
        self._undo: list[QImage] = []
        self._max_undo = 50
        self._last: QPointF | None = None
        self.setMinimumSize(140, 140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setToolTip("Draw a digit with the mouse or a pen. Ctrl+Z undoes a stroke.")

    # -- public interface --------------------------------------------------------------
    def image(self) -> np.ndarray:
        """The drawing, float32 (H, W) in [0, 1], white ink (1) on black (0)."""
        ptr = self._image.constBits()
        rows = np.frombuffer(ptr, np.uint8, count=self._image.sizeInBytes())
        rows = rows.reshape(self._res, self._image.bytesPerLine())[:, : self._res]
        return rows.astype(np.float32) / 255.0

    def is_empty(self) -> bool:
        return not self.image().any()

    def clear(self) -> None:
        """Wipe the drawing (undoable)."""
        self._push_undo()
        self._image.fill(0)
        self.update()
        self.drawing_changed.emit()

    def undo(self) -> None:
        """Take back the last stroke or clear."""
        if not self._undo:
            return
        self._image = self._undo.pop()
        self.update()
        self.drawing_changed.emit()

    def set_stroke_width(self, px: float) -> None:
        """Pen width in canvas pixels (the canvas is ``resolution`` pixels wide)."""
        value = float(px)
        if not value > 0:
            raise ValueError(f"`px` must be a positive number. Received: px={px!r}")
        self._stroke_width = value

    def stroke_width(self) -> float:
        return self._stroke_width

    def resolution(self) -> int:
        return self._res

    def set_image(self, image: np.ndarray) -> None:
        """Show ``image`` (float (H, W) in [0, 1], resized to the canvas) as the
        drawing."""
        arr = np.asarray(image, np.float32)
        if arr.ndim != 2:
            raise ValueError(
                "`image` must be a 2-D array (H, W). "
                f"Received: image with shape {arr.shape}"
            )
        data = np.ascontiguousarray(np.clip(arr, 0, 1) * 255, np.uint8)
        img = QImage(
            data.data,
            data.shape[1],
            data.shape[0],
            data.shape[1],
            QImage.Format.Format_Grayscale8,
        ).copy()
        self._push_undo()
        self._image = img.scaled(
            self._res,
            self._res,
            Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.update()
        self.drawing_changed.emit()

    # -- geometry ----------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(280, 280)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def _target(self) -> QRectF:
        side = min(self.width(), self.height())
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def _to_canvas(self, pos: QPointF) -> QPointF:
        rect = self._target()
        scale = self._res / max(rect.width(), 1.0)
        return QPointF((pos.x() - rect.left()) * scale, (pos.y() - rect.top()) * scale)

    # -- drawing -----------------------------------------------------------------------
    def _push_undo(self) -> None:
        self._undo.append(self._image.copy())
        del self._undo[: -self._max_undo]

    def _draw_segment(self, a: QPointF, b: QPointF) -> None:
        painter = QPainter(self._image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(
            QColor(255, 255, 255),
            self._stroke_width,
            Qt.PenStyle.SolidLine,
            Qt.PenCapStyle.RoundCap,
            Qt.PenJoinStyle.RoundJoin,
        )
        painter.setPen(pen)
        if a == b:
            painter.drawPoint(a)
        else:
            painter.drawLine(a, b)
        painter.end()
        self.update()
        self.drawing_changed.emit()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        self._push_undo()
        self._last = self._to_canvas(event.position())
        self._draw_segment(self._last, self._last)
        event.accept()
        return None

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._last is None or not (event.buttons() & Qt.MouseButton.LeftButton):
            return super().mouseMoveEvent(event)
        point = self._to_canvas(event.position())
        self._draw_segment(self._last, point)
        self._last = point
        event.accept()
        return None

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._last is None:
            return super().mouseReleaseEvent(event)
        self._last = None
        event.accept()
        self.stroke_finished.emit()
        return None

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.StandardKey.Undo):
            self.undo()
            return
        super().keyPressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        rect = self._target()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(rect, self._image)
        # the 20x20 box of 28x28 MNIST: a faint guide to draw a digit of the right size
        guide = QPen(QColor(90, 90, 110), 1, Qt.PenStyle.DashLine)
        painter.setPen(guide)
        margin = rect.width() * 4 / 28
        painter.drawRect(rect.adjusted(margin, margin, -margin, -margin))
        painter.setPen(QPen(QColor(140, 140, 160), 1))
        painter.drawRect(rect.adjusted(0, 0, -1, -1))
        painter.end()
