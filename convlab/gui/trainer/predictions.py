"""Digits with the model's answers: a gallery of test images and a bar chart of probabilities."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from .mosaic import GREY, colorize, to_pixmap

__all__ = ["DigitGallery", "ProbabilityBars", "top_caption"]

_FONT_PT = 11
_RIGHT = "#4caf50"
_WRONG = "#ef5350"


def top_caption(probs: np.ndarray, k: int = 2) -> str:
    order = np.argsort(probs)[::-1][:k]
    return "  ".join(f"{d}: {probs[d]:.0%}" for d in order)


class DigitGallery(QWidget):
    """A titled grid of 28x28 digits, each with a caption; green frame right, red wrong."""

    def __init__(
        self, title: str, parent: QWidget | None = None, columns: int = 8, zoom: int = 3
    ) -> None:
        super().__init__(parent)
        self.columns, self.zoom = columns, zoom
        self.title = QLabel(title)
        self.title.setStyleSheet("font-weight: bold;")
        self.title.setWordWrap(True)
        self._inner = QWidget()
        self._grid = QGridLayout(self._inner)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self._grid.setSpacing(6)
        self._tiles: list[tuple[QLabel, QLabel]] = []
        scroll = QScrollArea()
        scroll.setWidget(self._inner)
        scroll.setWidgetResizable(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(scroll, 1)
        self.captions: list[str] = []

    def set_title(self, text: str) -> None:
        self.title.setText(text)

    def set_digits(
        self, images: np.ndarray, captions: list[str], correct: list[bool] | None = None
    ) -> None:
        """``images (N, 28, 28)`` uint8 or float in [0, 1]."""
        imgs = np.asarray(images)
        if imgs.dtype == np.uint8:
            imgs = imgs.astype(np.float32) / 255.0
        while len(self._tiles) < len(imgs):
            pic, cap = QLabel(), QLabel()
            cap.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            i = len(self._tiles)
            r, c = divmod(i, self.columns)
            cell = QWidget()
            box = QVBoxLayout(cell)
            box.setContentsMargins(0, 0, 0, 0)
            box.setSpacing(1)
            box.addWidget(pic, 0, Qt.AlignmentFlag.AlignHCenter)
            box.addWidget(cap)
            self._grid.addWidget(cell, r, c)
            self._tiles.append((pic, cap))
        for i, (pic, cap) in enumerate(self._tiles):
            cell = pic.parentWidget()
            if i >= len(imgs):
                cell.setVisible(False)
                continue
            cell.setVisible(True)
            pic.setPixmap(to_pixmap(colorize(imgs[i], GREY, 0.0, 1.0), self.zoom))
            ok = None if correct is None else correct[i]
            colour = "#888" if ok is None else (_RIGHT if ok else _WRONG)
            pic.setStyleSheet(f"border: 3px solid {colour};")
            cap.setText(captions[i])
        self.captions = list(captions)


class ProbabilityBars(pg.PlotWidget):
    """Ten bars, one per digit; the most probable one highlighted and named in the title."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=(25, 25, 32))
        self.probs = np.zeros(10, np.float32)
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        plot.setYRange(0, 1, padding=0.02)
        plot.setXRange(-0.6, 9.6, padding=0)
        font = pg.QtGui.QFont()
        font.setPointSize(_FONT_PT + 1)
        bottom = plot.getAxis("bottom")
        bottom.setTicks([[(i, str(i)) for i in range(10)]])
        bottom.setTickFont(font)
        plot.getAxis("left").setTickFont(font)
        plot.getAxis("left").setLabel("probability", **{"font-size": f"{_FONT_PT}pt"})
        self.bars = pg.BarGraphItem(
            x=np.arange(10),
            height=self.probs,
            width=0.75,
            brushes=[pg.mkBrush(90, 170, 255)] * 10,
        )
        plot.addItem(self.bars)
        plot.setTitle("Draw a digit", size=f"{_FONT_PT + 3}pt")

    def set_probabilities(self, probs: np.ndarray | None) -> None:
        if probs is None:
            self.probs = np.zeros(10, np.float32)
            self.bars.setOpts(height=self.probs)
            self.getPlotItem().setTitle("Draw a digit", size=f"{_FONT_PT + 3}pt")
            return
        p = np.asarray(probs, np.float32).reshape(-1)[:10]
        self.probs = p
        best = int(np.argmax(p))
        brushes = [
            pg.mkBrush(255, 170, 60) if i == best else pg.mkBrush(90, 170, 255)
            for i in range(len(p))
        ]
        self.bars.setOpts(height=p, brushes=brushes)
        self.getPlotItem().setTitle(
            f"The model says {best} ({p[best]:.0%})", size=f"{_FONT_PT + 3}pt"
        )
