"""The confusion matrix: rows are true classes (digits for MNIST), columns the model's
answers; click a cell. Any class count: the cells, ticks and numbers follow the
matrix's size."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from convlab.data.mnist import NUM_CLASSES

from .curves import plot_points, style_axes
from .mosaic import SEQUENTIAL

__all__ = ["ConfusionView", "confusion_matrix"]

_FONT_PT = 11


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def confusion_matrix(
    y_true: np.ndarray, y_pred: np.ndarray, classes: int = NUM_CLASSES
) -> np.ndarray:
    """Counts ``(classes, classes)``: ``m[t, p]`` images of class t that were called
    p."""
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)):
        raise TypeError(f"`classes` must be an int >= 1. Received: classes={classes!r}")
    if classes < 1:
        raise ValueError(
            f"`classes` must be an int >= 1. Received: classes={classes!r}"
        )
    m = np.zeros((classes, classes), np.int64)
    np.add.at(m, (np.asarray(y_true, np.intp), np.asarray(y_pred, np.intp)), 1)
    return m


class ConfusionView(QWidget):
    """Signals
    -------
    cell_clicked(int, int)
        The user clicked the cell (true class, predicted class).
    """

    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.matrix: np.ndarray | None = None
        self._shade: np.ndarray | None = None
        self._ui_scale = 1.0
        self.title = QLabel("Confusion matrix (after each epoch, on the test images)")
        self.title.setStyleSheet("font-weight: bold;")
        self.title.setWordWrap(True)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground((25, 25, 32))
        self.plot = self.graphics.addPlot()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.image = pg.ImageItem()
        self.plot.addItem(self.image)
        self.classes = 0
        self.class_names: list[str] | None = None
        self._data_names: list[str] | None = None
        self.texts: list[pg.TextItem] = []
        self.selection = pg.QtWidgets.QGraphicsRectItem(0, 0, 1, 1)
        self.selection.setPen(pg.mkPen((80, 220, 120), width=3))
        self.selection.hide()
        self.plot.addItem(self.selection)
        self.hint = QLabel(
            "Rows: the true digit; columns: the model's answer. The diagonal is right, "
            "everything else a mistake. Click a cell to see those test images."
        )
        self.hint.setWordWrap(True)
        self._set_classes(NUM_CLASSES, None)
        self.plot.vb.sigResized.connect(self._on_view_resized)
        self.graphics.setToolTip(
            "Click a cell to see the test images it counts, with the model's answers"
        )
        self.graphics.scene().sigMouseClicked.connect(self._on_scene_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.hint)

    def set_classes(self, names: list[str]) -> None:
        """Rows and columns for the data's classes ``names``; clears the matrix."""
        self._data_names = [str(v) for v in names]
        self._set_classes(len(self._data_names), self._data_names)
        self.clear()

    @property
    def n(self) -> int:
        """The number of classes shown."""
        return self.classes

    def _set_classes(self, n: int, names: list[str] | None) -> None:
        """Cells, ticks and axis labels for ``n`` classes named ``names`` (digits
        when None)."""
        names = None if names is None else [str(c) for c in names][:n]
        if n == self.classes and names == self.class_names:
            return
        self.classes, self.class_names = n, names
        labels = names if names is not None and len(names) == n else None
        if labels == [str(i) for i in range(n)]:
            labels = None  # digits
        noun = "class" if labels else "digit"
        texts = labels or [str(i) for i in range(n)]
        # the rows get their full name (up to 14 characters) and an axis as wide as
        # it; the columns share the matrix's width (names elided to fit, on resize)
        self._column_names = texts
        rows = [_cut(t, 14) for t in texts]
        style_axes(
            self.plot,
            # short: with the aspect locked the axis is as narrow as the matrix, and
            # a longer label was cut at 1024x768 (the hint below says the rest)
            {"bottom": f"predicted {noun}", "left": f"true {noun}"},
            self._points(_FONT_PT + 1),
        )
        self._fit_column_names()
        left = self.plot.getAxis("left")
        left.setTicks([[(i + 0.5, r) for i, r in enumerate(rows)]])
        font = pg.QtGui.QFont()
        font.setPointSizeF(self._points(_FONT_PT + 1))
        widest = max(pg.QtGui.QFontMetrics(font).horizontalAdvance(r) for r in rows)
        left.setWidth(widest + pg.QtGui.QFontMetrics(font).height() + 16)
        self.hint.setText(
            f"Rows: the true {noun}; columns: the model's answer. The diagonal is "
            "right, everything else a mistake. Click a cell to see those test images."
        )
        self.image.setRect(0, 0, n, n)
        self.plot.setRange(xRange=(0, n), yRange=(0, n), padding=0.02)
        for item in self.texts:
            self.plot.removeItem(item)
        self.texts = []
        cell_font = pg.QtGui.QFont()
        # smaller numbers in smaller cells
        cell_pt = _FONT_PT - 1 if n <= 12 else max(6, _FONT_PT - 4)
        cell_font.setPointSizeF(self._points(cell_pt))
        for t in range(n):
            for p in range(n):
                item = pg.TextItem("", anchor=(0.5, 0.5))
                item.setFont(cell_font)
                item.setPos(p + 0.5, t + 0.5)
                self.plot.addItem(item)
                self.texts.append(item)

    def _fit_column_names(self) -> None:
        """The bottom ticks: each class name elided to its column's width."""
        names = getattr(self, "_column_names", [])
        if not names:
            return
        font = pg.QtGui.QFont()
        font.setPointSizeF(self._points(_FONT_PT + 1))
        metrics = pg.QtGui.QFontMetrics(font)
        rect = self.plot.vb.sceneBoundingRect()  # the matrix: a square inside it
        width = min(rect.width(), rect.height()) if rect.height() > 0 else 0
        if width <= 0:
            return
        px = max(int(width / len(names)) - 6, 8)
        # a name cut to its ellipsis alone keeps its first letter instead
        cols = [
            e
            if (e := metrics.elidedText(t, Qt.TextElideMode.ElideRight, px))
            not in ("", "\u2026")
            else t[:1]
            for t in names
        ]
        ticks = [[(i + 0.5, c) for i, c in enumerate(cols)]]
        self.plot.getAxis("bottom").setTicks(ticks)

    def _points(self, points: float) -> float:
        return plot_points(points, self._ui_scale)

    def set_ui_scale(self, scale: float) -> None:
        """Ticks, axis labels and the counts in the cells follow the UI scale: now
        if the matrix is on screen, else when it is shown (rebuilding its cells took
        58 ms of every scale change, mostly behind another tab)."""
        if float(scale) == self._ui_scale:
            return
        self._ui_scale = float(scale)
        if self.isVisible():
            self._restyle()
        else:
            self._restyle_pending = True

    _restyle_pending = False

    def showEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt)
        if self._restyle_pending:
            self._restyle()
        super().showEvent(event)

    def _restyle(self) -> None:
        self._restyle_pending = False
        n, names = self.classes, self.class_names
        self.classes = 0  # rebuild the ticks and the cells' texts at the new size
        self._set_classes(n, names)
        if self.matrix is not None and self._shade is not None:
            self._fill_cells(self.matrix, self._shade)

    def _fill_cells(self, m: np.ndarray, shade: np.ndarray) -> None:
        n = m.shape[0]
        for t in range(n):
            for p in range(n):
                count = int(m[t, p])
                item = self.texts[t * n + p]
                item.setText(str(count) if count else "")
                item.setColor((20, 20, 20) if shade[t, p] > 0.6 else (235, 235, 235))

    @Slot(object)
    def _on_view_resized(self, _vb) -> None:
        self._fit_column_names()

    def clear(self, title: str = "") -> None:
        """No matrix (a new model has not been evaluated): empty cells, ``title``."""
        self.matrix = None
        self.image.clear()
        for item in self.texts:
            item.setText("")
        self.selection.hide()
        self.title.setText(title or "Confusion matrix: no results for this model yet")

    def set_matrix(
        self,
        matrix: np.ndarray,
        epoch: int | None = None,
        what: str = "",
        class_names: list[str] | None = None,
    ) -> None:
        """``matrix (K, K)`` counts; ``what``: the model the matrix belongs to, for
        the title; ``class_names``: the tick labels (digits when None)."""
        m = np.asarray(matrix, np.int64)
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 1:
            raise ValueError(
                f"`matrix` must be square (K, K) with K >= 1. Received: shape={m.shape}"
            )
        n = m.shape[0]
        data = self._data_names
        if class_names is None and data is not None and len(data) == n:
            class_names = data
        self._set_classes(n, class_names)
        self.matrix = m
        total = max(int(m.sum()), 1)
        errors = total - int(np.trace(m))
        # colour by the row's share, log-compressed so single mistakes still show
        share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        shade = np.log1p(share * 100) / np.log1p(100)
        rgb = SEQUENTIAL[np.clip((shade * 230).astype(int), 0, 255)]
        self.image.setImage(np.ascontiguousarray(rgb), autoLevels=False)
        self.image.setRect(0, 0, n, n)
        self._shade = shade
        self._fill_cells(m, shade)
        when = f" after epoch {epoch}" if epoch else ""
        of = f" of {what}" if what else ""
        self.title.setText(
            f"Confusion matrix{of}{when}: {total - errors} of {total} test images "
            "right "
            f"({(total - errors) / total:.1%}), {errors} "
            + ("mistake" if errors == 1 else "mistakes")
        )

    def select(self, true: int, pred: int) -> None:
        self.selection.setRect(pred, true, 1, 1)
        self.selection.show()

    @Slot(object)
    def _on_scene_clicked(self, event) -> None:
        if self.matrix is None:
            return
        point = self.plot.vb.mapSceneToView(event.scenePos())
        pred, true = int(np.floor(point.x())), int(np.floor(point.y()))
        if 0 <= pred < self.classes and 0 <= true < self.classes:
            self.select(true, pred)
            self.cell_clicked.emit(true, pred)
