"""Images with the model's answers: a gallery of test images (grey or colour, any
size) and a bar chart of probabilities over the data's classes."""

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

from .curves import TEXT_COLOR, plot_points, style_axes
from .mosaic import GREY, colorize, to_pixmap

__all__ = ["DigitGallery", "ProbabilityBars", "image_rgb", "short_name", "top_caption"]

_FONT_PT = 11
_FRAME_RIGHT = np.array([76, 175, 80], np.uint8)
_FRAME_WRONG = np.array([239, 83, 80], np.uint8)
_FRAME_GREY = np.array([136, 136, 136], np.uint8)


def short_name(name: str, width: int = 10) -> str:
    """A class name cut to ``width`` characters (with an ellipsis) for a caption."""
    name = str(name)
    return name if len(name) <= width else name[: width - 1] + "\u2026"


def top_caption(probs: np.ndarray, k: int = 2, names: list[str] | None = None) -> str:
    """The ``k`` likeliest digits and their probabilities: ``"7: 91%  1: 5%"``; with
    class ``names`` other than the digits, the likeliest name: ``"cat 91%"``."""
    named = names is not None and len(names) == len(probs)
    if named and list(names) != [str(i) for i in range(len(names))]:
        # class names: the likeliest one only (two do not fit under a thumbnail)
        best = int(np.argmax(probs))
        return f"{short_name(names[best], 11)} {probs[best]:.0%}"
    order = np.argsort(probs)[::-1][:k]
    return "  ".join(f"{d}: {probs[d]:.0%}" for d in order)


def image_rgb(image: np.ndarray) -> np.ndarray:
    """One image, uint8 0-255 or float in [0, 1], ``(H, W)``, ``(1, H, W)`` or
    ``(3, H, W)``, as RGB uint8 ``(H, W, 3)``: grey through the grey ramp, colour as
    it is."""
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    if a.ndim == 2:
        return colorize(np.asarray(a, np.float32), GREY, 0.0, 1.0)
    rgb = np.clip(np.asarray(a, np.float32).transpose(1, 2, 0), 0.0, 1.0)
    return np.ascontiguousarray(np.rint(rgb * 255.0).astype(np.uint8))


def _zoom_for(side: int, target: int = 84) -> int:
    return max(1, target // max(int(side), 1))


class DigitGallery(QWidget):
    """A titled, wrapping list of test images with captions; green frame right, red
    wrong. Grey images through the grey ramp, colour ones in colour; small images are
    enlarged (28x28 by 3), large ones shrunk to about 96 pixels.

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
        self._tile_side = 0
        self._set_tile_side(28 * zoom + 8)
        self.list.setSpacing(2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.list, 1)
        self.captions: list[str] = []
        #: the RGB tiles last shown (frame included), for tests
        self.tiles: list[np.ndarray] = []

    def _set_tile_side(self, side: int) -> None:
        if side != self._tile_side:
            self._tile_side = side
            self.list.setIconSize(QSize(side, side))
            self.list.setGridSize(QSize(max(side + 26, 116), side + 30))

    def set_title(self, text: str) -> None:
        self.title.setText(text)

    def set_digits(
        self, images: np.ndarray, captions: list[str], correct: list[bool] | None = None
    ) -> None:
        """``images``: ``(N, H, W)`` or ``(N, C, H, W)`` (C 1 or 3), uint8 or float
        in [0, 1]."""
        imgs = np.asarray(images)
        self.list.clear()
        self.tiles = []
        if len(imgs):
            h, w = imgs.shape[-2:]
            zoom = _zoom_for(max(h, w), 28 * self.zoom)
            self._set_tile_side(min(max(h, w) * zoom + 8, 104))
        for i in range(len(imgs)):
            ok = None if correct is None else correct[i]
            frame = (
                _FRAME_GREY if ok is None else (_FRAME_RIGHT if ok else _FRAME_WRONG)
            )
            picture = image_rgb(imgs[i])
            h, w = picture.shape[:2]
            rgb = np.empty((h + 4, w + 4, 3), np.uint8)
            rgb[:] = frame
            rgb[2:-2, 2:-2] = picture
            self.tiles.append(rgb)
            pixmap = to_pixmap(rgb, zoom)
            if pixmap.width() > 96 or pixmap.height() > 96:
                pixmap = pixmap.scaled(
                    96,
                    96,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            item = QListWidgetItem(QIcon(pixmap), captions[i])
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.list.addItem(item)
        self.captions = list(captions)


class ProbabilityBars(pg.PlotWidget):
    """One bar per class (the digits by default); the most probable one highlighted
    and named in the title. :meth:`set_classes` follows the data."""

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
        self.class_names = [str(i) for i in range(10)]
        self.probs = np.zeros(10, np.float32)
        self._ui_scale = 1.0
        self._title = empty
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        plot.setYRange(0, 1, padding=0.02)
        style_axes(plot, {"left": "probability", "bottom": "digit"}, _FONT_PT + 1)
        self.bars = pg.BarGraphItem(
            x=np.arange(10),
            height=self.probs,
            width=0.75,
            brushes=[pg.mkBrush(90, 170, 255)] * 10,
        )
        plot.addItem(self.bars)
        self._set_title(empty)
        self.set_classes(self.class_names)

    def _set_title(self, text: str) -> None:
        """``text`` over the bars; an empty one removes the title row."""
        plot = self.getPlotItem()
        self._title = text
        if text and self.show_title:
            size = plot_points(_FONT_PT + 3, self._ui_scale)
            plot.setTitle(text, size=f"{size:.3g}pt", color=TEXT_COLOR)
        else:
            plot.setTitle(None)

    def set_ui_scale(self, scale: float) -> None:
        """The axes' and the title's text follow the UI scale."""
        self._ui_scale = float(scale)
        plot = self.getPlotItem()
        labels = {side: plot.getAxis(side).labelText for side in ("left", "bottom")}
        style_axes(plot, labels, plot_points(_FONT_PT + 1, scale))
        self._set_title(self._title)

    def set_classes(self, names: list[str]) -> None:
        """One bar per name; the bars are cleared."""
        self.class_names = [str(n) for n in names]
        n = len(self.class_names)
        plot = self.getPlotItem()
        digits = self.class_names == [str(i) for i in range(n)]
        # names under the bars while they fit, else the class numbers
        fits = all(len(name) <= max(3, 40 // max(n, 1)) for name in self.class_names)
        labels = self.class_names if fits else [str(i) for i in range(n)]
        plot.setLabel(
            "bottom",
            "digit" if digits and n == 10 else ("class" if fits else "class (number)"),
        )
        step = max(1, n // 20)
        plot.getAxis("bottom").setTicks([[(i, labels[i]) for i in range(0, n, step)]])
        plot.setXRange(-0.6, n - 0.4, padding=0)
        self.set_probabilities(None)

    def set_probabilities(self, probs: np.ndarray | None) -> None:
        n = len(self.class_names)
        if probs is None:
            self.probs = np.zeros(n, np.float32)
            self.bars.setOpts(
                x=np.arange(n),
                height=self.probs,
                brushes=[pg.mkBrush(90, 170, 255)] * n,
            )
            self._set_title(self.empty)
            return
        p = np.asarray(probs, np.float32).reshape(-1)[:n]
        self.probs = p
        best = int(np.argmax(p))
        brushes = [
            pg.mkBrush(255, 170, 60) if i == best else pg.mkBrush(90, 170, 255)
            for i in range(len(p))
        ]
        self.bars.setOpts(x=np.arange(len(p)), height=p, brushes=brushes)
        name = short_name(self.class_names[best], 14) if best < n else str(best)
        self._set_title(f"{self.prefix}{name} ({p[best]:.0%})")
