"""The first convolution's filters, enlarged, with each weight's value under the
mouse."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Slot
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from .. import theme
from .mosaic import DIVERGING, colorize, grid_shape, tile

__all__ = ["FiltersView"]


class FiltersView(QWidget):
    """Shows ``weight (F, C, KH, KW)`` as a grid of F kernels (channel 0, or the mean
    over channels), each scaled to its own largest absolute weight: blue negative, white
    zero, red positive."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.weight: np.ndarray | None = None
        self.kernels: np.ndarray | None = None
        self._cols = 1
        self._gap = 1
        self.title = QLabel("First layer's filters")
        self.title.setStyleSheet("font-weight: bold;")
        # wraps, so a long title never squeezes the test digit's panel beside it
        self.title.setWordWrap(True)
        self.title.setMinimumWidth(1)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground((25, 25, 32))
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True)
        self.view.setMouseEnabled(False, False)
        self.view.setMenuEnabled(False)
        self.image = pg.ImageItem()
        self.view.addItem(self.image)
        self.readout = QLabel("Hover over a filter to read its weights.")
        self.readout.setMinimumHeight(24)
        self.readout.setWordWrap(True)  # 552 px on one line at 2x
        theme.relative_font(self.readout, theme.HINT_FONT)
        self.graphics.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.readout)

    def set_weight(self, weight: np.ndarray | None, layer_name: str = "") -> None:
        """Show a conv weight ``(F, C, KH, KW)``; ``None`` shows the model has no
        conv."""
        if weight is None or np.ndim(weight) != 4:
            self.weight = self.kernels = None
            self.image.clear()
            self.title.setText("First layer's filters: the model has no Conv2D layer")
            return
        self.weight = np.array(weight, np.float32, copy=True)
        f, c, kh, kw = self.weight.shape
        kernels = self.weight[:, 0] if c == 1 else self.weight.mean(axis=1)
        self.kernels = kernels
        scale = np.abs(kernels).reshape(f, -1).max(axis=1)
        scale[scale == 0] = 1.0
        normed = kernels / scale[:, None, None]
        gap = max(1, kh // 3)
        _, cols = grid_shape(f, kh, kw, max_cols=8)
        mosaic, self._cols = tile(normed, cols, gap)
        self._gap = gap
        self.image.setImage(colorize(mosaic, DIVERGING, -1.0, 1.0), autoLevels=False)
        chan = "" if c == 1 else f", mean of {c} channels"
        # short: beside the test image, at 2x on a projector, the long form took
        # three lines from the filters (it is the tooltip)
        self.title.setText(
            f"First layer's filters: {layer_name} {f} x {kh}x{kw}{chan} "
            "(blue < 0 < red)"
        )
        self.title.setToolTip(
            f"The {f} kernels of {layer_name or 'the first Conv2D'}"
            + ("" if c == 1 else f", each the mean over its {c} input channels")
            + ": blue negative, white zero, red positive, each scaled to its own "
            "largest absolute weight. Hover over one to read its weights."
        )
        self.view.autoRange(padding=0.01)

    def value_at(self, row: int, col: int) -> tuple[int, int, int, float] | None:
        """(filter, ky, kx, weight) under mosaic pixel (row, col), or None in a gap."""
        if self.kernels is None:
            return None
        f, kh, kw = self.kernels.shape
        cell_r, ky = divmod(row, kh + self._gap)
        cell_c, kx = divmod(col, kw + self._gap)
        if ky >= kh or kx >= kw or row < 0 or col < 0:
            return None
        index = cell_r * self._cols + cell_c
        if index >= f or cell_c >= self._cols:
            return None
        return index, ky, kx, float(self.kernels[index, ky, kx])

    @Slot(object)
    def _on_scene_mouse_moved(self, pos: QPointF) -> None:
        if self.kernels is None:
            return
        point = self.image.mapFromScene(pos)
        hit = self.value_at(int(np.floor(point.y())), int(np.floor(point.x())))
        if hit is None:
            return
        index, ky, kx, value = hit
        self.readout.setText(
            f"filter {index}, row {ky}, column {kx}: weight {value:+.4f}"
        )
