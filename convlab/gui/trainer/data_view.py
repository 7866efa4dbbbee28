"""The trainer's Data tab: what the loaded data set holds, a row of thumbnails per
class with its name and counts (train / validation / test), and the files a folder
skipped. A thin view of a :class:`~convlab.train.datasets.TrainData`."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from .. import theme
from .mosaic import BACKGROUND, to_pixmap
from .predictions import image_rgb

__all__ = ["DataView", "class_strip"]

#: thumbnails per class row, and their side on screen (pixels)
THUMBS, THUMB_SIDE = 10, 48
#: class rows shown at most (a folder of hundreds of classes still opens quickly)
MAX_ROWS = 60


def class_strip(images: np.ndarray, gap: int = 2) -> np.ndarray:
    """``images (N, C, H, W)`` uint8 side by side as one RGB uint8 picture
    ``(H, N * (W + gap) - gap, 3)``, gaps in the background colour."""
    n = len(images)
    if n == 0:
        return np.zeros((0, 0, 3), np.uint8)
    h, w = images.shape[-2:]
    out = np.empty((h, n * (w + gap) - gap, 3), np.uint8)
    out[:] = BACKGROUND
    for i in range(n):
        out[:, i * (w + gap) : i * (w + gap) + w] = image_rgb(images[i])
    return out


class DataView(QScrollArea):
    """``set_data(data)`` shows a :class:`TrainData`; ``clear(text)`` a message.

    Attributes (what tests read)
    ----------
    rows : list of (class name, train count, validation count, test count, thumbnails)
    strips : list of RGB uint8 arrays, one per row, as drawn (before scaling)
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, int, int, int, int]] = []
        self.strips: list[np.ndarray] = []
        inner = QWidget()
        layout = QVBoxLayout(inner)
        self.header = QLabel("No data loaded yet.")
        theme.relative_font(self.header, theme.HINT_FONT, bold=True)
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.PlainText)
        self.skipped_label = QLabel("")
        self.skipped_label.setWordWrap(True)
        self.skipped_label.setTextFormat(Qt.TextFormat.PlainText)
        self.skipped_label.setStyleSheet("color: #e0a040;")
        self.skipped_label.hide()
        self._grid_widget = QWidget()
        self._grid = QGridLayout(self._grid_widget)
        self._grid.setContentsMargins(0, 6, 0, 0)
        self._grid.setHorizontalSpacing(12)
        self._grid.setVerticalSpacing(6)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.header)
        layout.addWidget(self.skipped_label)
        layout.addWidget(self._grid_widget)
        layout.addStretch(1)
        self.setWidget(inner)
        self.setWidgetResizable(True)
        self._cells: list[QWidget] = []
        self._titles: list[QLabel] = []  # the class names among the cells

    def clear(self, text: str = "No data loaded yet.") -> None:
        self.header.setText(text)
        self.skipped_label.hide()
        self._clear_grid()

    def _name_width(self) -> int:
        """A class name's column: about 18 characters of the current font (160 px
        at 9 pt clipped "green_vstripes" at 2x)."""
        return 18 * QFontMetrics(self.font()).averageCharWidth()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # the UI scale changed
            width = self._name_width()
            for title in self._titles:
                title.setMaximumWidth(width)

    def _clear_grid(self) -> None:
        for w in self._cells:
            self._grid.removeWidget(w)
            w.deleteLater()
        self._cells, self._titles = [], []
        self.rows, self.strips = [], []

    def set_data(self, data, shown_train: int | None = None) -> None:  # noqa: ANN001
        """Show ``data`` (a TrainData); ``shown_train``: how many training images the
        trainer uses (a limit), for the header."""
        self._clear_grid()
        c, h, w = data.input_shape
        text = data.describe()
        if shown_train is not None and shown_train < len(data.x_train):
            text += f"\nTraining on the first {shown_train:,} training images (limit)."
        text += (
            f"\nThe model takes {c}x{h}x{w} inputs and ends with "
            f"{data.num_classes} outputs, one per class."
        )
        self.header.setText(text)
        if data.skipped:
            first, why = data.skipped[0]
            more = len(data.skipped) - 1
            self.skipped_label.setText(
                f"Skipped {len(data.skipped):,} unreadable file"
                f"{'s' if len(data.skipped) > 1 else ''}: {why}"
                + (f" (and {more:,} more)" if more else "")
            )
            self.skipped_label.setToolTip(
                "\n".join(f"{p}: {r}" for p, r in data.skipped[:30])
            )
            self.skipped_label.show()
        else:
            self.skipped_label.hide()
        train, val, test = data.counts("train"), data.counts("val"), data.counts("test")
        zoom = max(1, THUMB_SIDE // max(h, w))
        y = np.asarray(data.y_train)
        for k, name in enumerate(data.class_names[:MAX_ROWS]):
            idx = np.flatnonzero(y == k)[:THUMBS]
            strip = class_strip(data.x_train[idx])
            self.strips.append(strip)
            self.rows.append(
                (str(name), int(train[k]), int(val[k]), int(test[k]), len(idx))
            )
            title = QLabel(f"{name}")
            title.setStyleSheet("font-weight: bold;")
            title.setToolTip(str(name))
            title.setMaximumWidth(self._name_width())
            self._titles.append(title)
            counts = QLabel(
                f"{int(train[k]):,} train"
                + (f", {int(val[k]):,} val" if data.x_val is not None else "")
                + f", {int(test[k]):,} test"
            )
            picture = QLabel()
            if strip.size:
                pixmap = to_pixmap(strip, zoom)
                if pixmap.height() > THUMB_SIDE:
                    pixmap = pixmap.scaledToHeight(
                        THUMB_SIDE, Qt.TransformationMode.SmoothTransformation
                    )
                picture.setPixmap(pixmap)
            r = len(self._cells) // 3
            self._grid.addWidget(title, 2 * r, 0)
            self._grid.addWidget(counts, 2 * r + 1, 0)
            self._grid.addWidget(picture, 2 * r, 1, 2, 1)
            self._cells += [title, counts, picture]
        if data.num_classes > MAX_ROWS:
            more = QLabel(f"... and {data.num_classes - MAX_ROWS} more classes")
            self._grid.addWidget(more, 2 * MAX_ROWS, 0, 1, 2)
            self._cells.append(more)
