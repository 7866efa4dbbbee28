"""Digits with the model's answers: a gallery of test images and a bar chart of
probabilities."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from convlab.data.mnist import IMAGE_SHAPE, NUM_CLASSES

from .curves import TEXT_COLOR, style_axes
from .mosaic import GREY, colorize, to_pixmap

__all__ = ["DigitGallery", "ProbabilityBars", "top_caption"]

_FONT_PT = 11
_FRAME_RIGHT = np.array([76, 175, 80], np.uint8)
_FRAME_WRONG = np.array([239, 83, 80], np.uint8)
_FRAME_GREY = np.array([136, 136, 136], np.uint8)


def top_caption(probs: np.ndarray, k: int = 2) -> str:
    order = np.argsort(probs)[::-1][:k]
    return "  ".join(f"{d}: {probs[d]:.0%}" for d in order)


class DigitGallery(QWidget):
    """A titled, wrapping list of 28x28 digits with captions; green frame right, red
    wrong.

    The tiles flow into as many columns as the width allows (a QListWidget in icon
    mode).
    """

    def __init__(
        self, title: str, parent: QWidget | None = None, zoom: int = 3
    ) -> None:
        super().__init__(parent)
        self.zoom = zoom
        self.title = QLabel(title)
        self.title.setStyleSheet("font-weight: bold;")
        self.title.setWordWrap(True)
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setFlow(QListView.Flow.LeftToRight)
        self.list.setWrapping(True)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setSelectionMode(QListWidget.SelectionMode.NoSelection)
        side = max(IMAGE_SHAPE) * zoom + 8
        self.list.setIconSize(QSize(side, side))
        self.list.setGridSize(QSize(side + 26, side + 30))
        self.list.setSpacing(2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.list, 1)
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
        self.list.clear()
        for i in range(len(imgs)):
            ok = None if correct is None else correct[i]
            frame = (
                _FRAME_GREY if ok is None else (_FRAME_RIGHT if ok else _FRAME_WRONG)
            )
            rgb = np.empty((32, 32, 3), np.uint8)
            rgb[:] = frame
            rgb[2:30, 2:30] = colorize(imgs[i], GREY, 0.0, 1.0)
            item = QListWidgetItem(QIcon(to_pixmap(rgb, self.zoom)), captions[i])
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.list.addItem(item)
        self.captions = list(captions)


class ProbabilityBars(pg.PlotWidget):
    """Ten bars, one per digit; the most probable one highlighted and named in the
    title."""

    def __init__(
        self,
        parent: QWidget | None = None,
        prefix: str = "The model says ",
        empty: str = "",
        show_title: bool = True,
    ) -> None:
        """``empty``: the title before any prediction (none by default);
        ``show_title=False``: never a title (a caption elsewhere names the answer)."""
        super().__init__(parent, background=(25, 25, 32))
        self.prefix, self.empty, self.show_title = prefix, empty, show_title
        self.probs = np.zeros(NUM_CLASSES, np.float32)
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        plot.setYRange(0, 1, padding=0.02)
        plot.setXRange(-0.6, 9.6, padding=0)
        style_axes(plot, {"left": "probability", "bottom": "digit"}, _FONT_PT + 1)
        plot.getAxis("bottom").setTicks([[(i, str(i)) for i in range(NUM_CLASSES)]])
        self.bars = pg.BarGraphItem(
            x=np.arange(NUM_CLASSES),
            height=self.probs,
            width=0.75,
            brushes=[pg.mkBrush(90, 170, 255)] * NUM_CLASSES,
        )
        plot.addItem(self.bars)
        self._set_title(empty)

    def _set_title(self, text: str) -> None:
        """``text`` over the bars; an empty one removes the title row."""
        plot = self.getPlotItem()
        if text and self.show_title:
            plot.setTitle(text, size=f"{_FONT_PT + 3}pt", color=TEXT_COLOR)
        else:
            plot.setTitle(None)

    def set_probabilities(self, probs: np.ndarray | None) -> None:
        if probs is None:
            self.probs = np.zeros(NUM_CLASSES, np.float32)
            self.bars.setOpts(height=self.probs)
            self._set_title(self.empty)
            return
        p = np.asarray(probs, np.float32).reshape(-1)[:NUM_CLASSES]
        self.probs = p
        best = int(np.argmax(p))
        brushes = [
            pg.mkBrush(255, 170, 60) if i == best else pg.mkBrush(90, 170, 255)
            for i in range(len(p))
        ]
        self.bars.setOpts(height=p, brushes=brushes)
        self._set_title(f"{self.prefix}{best} ({p[best]:.0%})")
