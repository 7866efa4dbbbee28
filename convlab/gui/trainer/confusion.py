"""The confusion matrix: rows are true digits, columns the model's answers; click a
cell."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from convlab.data.mnist import NUM_CLASSES

from .curves import style_axes
from .mosaic import SEQUENTIAL

__all__ = ["ConfusionView", "confusion_matrix"]

_FONT_PT = 11


def confusion_matrix(
    y_true: np.ndarray, y_pred: np.ndarray, classes: int = NUM_CLASSES
) -> np.ndarray:
    """Counts ``(classes, classes)``: ``m[t, p]`` images of digit t that were called
    p."""
    m = np.zeros((classes, classes), np.int64)
    np.add.at(m, (np.asarray(y_true, np.intp), np.asarray(y_pred, np.intp)), 1)
    return m


class ConfusionView(QWidget):
    """Signals
    -------
    cell_clicked(int, int)
        The user clicked the cell (true digit, predicted digit).
    """

    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.matrix: np.ndarray | None = None
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
        ticks = [[(i + 0.5, str(i)) for i in range(NUM_CLASSES)]]
        style_axes(
            self.plot,
            # short: with the aspect locked the axis is as narrow as the matrix, and
            # a longer label was cut at 1024x768 (the hint below says the rest)
            {"bottom": "predicted digit", "left": "true digit"},
            _FONT_PT + 1,
        )
        for side in ("bottom", "left"):
            self.plot.getAxis(side).setTicks(ticks)
        self.image = pg.ImageItem()
        self.image.setRect(0, 0, NUM_CLASSES, NUM_CLASSES)
        self.plot.addItem(self.image)
        self.plot.setRange(
            xRange=(0, NUM_CLASSES), yRange=(0, NUM_CLASSES), padding=0.02
        )
        self.texts: list[pg.TextItem] = []
        cell_font = pg.QtGui.QFont()
        cell_font.setPointSize(_FONT_PT - 1)
        for t in range(NUM_CLASSES):
            for p in range(NUM_CLASSES):
                item = pg.TextItem("", anchor=(0.5, 0.5))
                item.setFont(cell_font)
                item.setPos(p + 0.5, t + 0.5)
                self.plot.addItem(item)
                self.texts.append(item)
        self.selection = pg.QtWidgets.QGraphicsRectItem(0, 0, 1, 1)
        self.selection.setPen(pg.mkPen((80, 220, 120), width=3))
        self.selection.hide()
        self.plot.addItem(self.selection)
        self.hint = QLabel(
            "Rows: the true digit; columns: the model's answer. The diagonal is right, "
            "everything else a mistake. Click a cell to see those test images."
        )
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("font-size: 11pt;")
        self.graphics.setToolTip(
            "Click a cell to see the test images it counts, with the model's answers"
        )
        self.graphics.scene().sigMouseClicked.connect(self._on_scene_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.hint)

    def clear(self, title: str = "") -> None:
        """No matrix (a new model has not been evaluated): empty cells, ``title``."""
        self.matrix = None
        self.image.clear()
        for item in self.texts:
            item.setText("")
        self.selection.hide()
        self.title.setText(title or "Confusion matrix: no results for this model yet")

    def set_matrix(
        self, matrix: np.ndarray, epoch: int | None = None, what: str = ""
    ) -> None:
        """``what``: the model the matrix belongs to, for the title."""
        m = np.asarray(matrix, np.int64)
        self.matrix = m
        total = max(int(m.sum()), 1)
        errors = total - int(np.trace(m))
        # colour by the row's share, log-compressed so single mistakes still show
        share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        shade = np.log1p(share * 100) / np.log1p(100)
        rgb = SEQUENTIAL[np.clip((shade * 230).astype(int), 0, 255)]
        self.image.setImage(np.ascontiguousarray(rgb), autoLevels=False)
        self.image.setRect(0, 0, NUM_CLASSES, NUM_CLASSES)
        for t in range(NUM_CLASSES):
            for p in range(NUM_CLASSES):
                n = int(m[t, p])
                item = self.texts[t * NUM_CLASSES + p]
                item.setText(str(n) if n else "")
                item.setColor((20, 20, 20) if shade[t, p] > 0.6 else (235, 235, 235))
        when = f" after epoch {epoch}" if epoch else ""
        of = f" of {what}" if what else ""
        self.title.setText(
            f"Confusion matrix{of}{when}: {total - errors} of {total} test images "
            "right "
            f"({(total - errors) / total:.1%}), {errors} mistakes"
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
        if 0 <= pred < NUM_CLASSES and 0 <= true < NUM_CLASSES:
            self.select(true, pred)
            self.cell_clicked.emit(true, pred)
