"""Every layer's output for one input image, as a scrolling grid of mosaics."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from .mosaic import DIVERGING, GREY, SEQUENTIAL, colorize, tile, to_pixmap

__all__ = ["ActivationsView", "describe_shape"]


def describe_shape(shape: tuple[int, ...]) -> str:
    if len(shape) == 3:
        c, h, w = shape
        return f"{c} maps of {h}x{w}"
    if len(shape) == 1:
        return f"{shape[0]} values"
    return "x".join(str(s) for s in shape)


def _picture(values: np.ndarray, max_width: int) -> tuple[np.ndarray, int]:
    """RGB mosaic and integer zoom for one layer's output ``(C, H, W)`` or
    ``(units,)``."""
    if values.ndim == 3:
        mosaic, _ = tile(values, gap=max(1, values.shape[1] // 10))
    else:
        flat = values.reshape(-1)
        cols = min(len(flat), 32)
        rows = -(-len(flat) // cols)
        mosaic = np.full(rows * cols, np.nan, np.float32)
        mosaic[: len(flat)] = flat
        mosaic = mosaic.reshape(rows, cols)
    finite = mosaic[np.isfinite(mosaic)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 1.0
    if lo < 0:  # signed output (before an activation, tanh): diverging, 0 is white
        bound = max(abs(lo), abs(hi), 1e-12)
        rgb = colorize(mosaic, DIVERGING, -bound, bound)
    else:
        rgb = colorize(mosaic, SEQUENTIAL, 0.0, max(hi, 1e-12))
    zoom = max(
        1, min(12, max_width // max(mosaic.shape[1], 1), 220 // max(mosaic.shape[0], 1))
    )
    return rgb, zoom


class ActivationsView(QScrollArea):
    """``set_activations([(name, array), ...])`` with arrays for one image: ``(C, H,
    W)`` feature maps or ``(units,)`` vectors (a leading batch axis of 1 is dropped).
    Each map is scaled per layer: black 0 to bright maximum, or blue/white/red when
    values are signed."""

    def __init__(
        self, parent: QWidget | None = None, columns: int = 2, max_width: int = 520
    ) -> None:
        super().__init__(parent)
        self.columns = columns
        self.max_width = max_width
        self.names: list[str] = []
        self.shown: list[np.ndarray] = []
        self._inner = QWidget()
        self._grid = QGridLayout(self._inner)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self._grid.setHorizontalSpacing(18)
        self._grid.setVerticalSpacing(4)
        self._cells: list[tuple[QLabel, QLabel]] = []
        self.placeholder = QLabel("No activations yet.")
        outer = QVBoxLayout()
        outer.addWidget(self.placeholder)
        self._grid.addWidget(self.placeholder, 0, 0)
        self.setWidget(self._inner)
        self.setWidgetResizable(True)

    def clear(self) -> None:
        self.set_activations([])

    def set_activations(
        self, layers: list[tuple[str, np.ndarray]], image: np.ndarray | None = None
    ) -> None:
        items = list(layers)
        if image is not None:
            items.insert(
                0,
                (
                    "input",
                    np.asarray(image, np.float32).reshape(1, 28, 28)
                    if np.size(image) == 784
                    else np.asarray(image),
                ),
            )
        arrays = []
        for _name, arr in items:
            a = np.asarray(arr, np.float32)
            if a.ndim in (2, 4) and a.shape[0] == 1:
                a = a[0]
            arrays.append(a)
        self.placeholder.setVisible(not items)
        while len(self._cells) < len(items):
            title, picture = QLabel(), QLabel()
            title.setStyleSheet("font-weight: bold;")
            picture.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            i = len(self._cells)
            r, c = divmod(i, self.columns)
            self._grid.addWidget(title, 2 * r + 1, c)
            self._grid.addWidget(picture, 2 * r + 2, c)
            self._cells.append((title, picture))
        for i, (title, picture) in enumerate(self._cells):
            visible = i < len(items)
            title.setVisible(visible)
            picture.setVisible(visible)
            if not visible:
                continue
            name, a = items[i][0], arrays[i]
            if name == "input" and a.ndim == 3 and a.shape[0] == 1:
                rgb = colorize(a[0], GREY, 0.0, 1.0)
                zoom = 4
            else:
                rgb, zoom = _picture(a, self.max_width)
            title.setText(
                f"{i}. {name}: {describe_shape(a.shape)}"
                if name != "input"
                else "input: what the model sees (28x28)"
            )
            picture.setPixmap(to_pixmap(rgb, zoom))
        self.names = [name for name, _ in items]
        self.shown = arrays
