"""Every layer's output for one input image, as a grid of mosaics fitting its width."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QWidget

from .mosaic import DIVERGING, SEQUENTIAL, colorize, tile, to_pixmap
from .predictions import image_rgb

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
    ``(units,)``: the largest zoom (up to 12) whose picture fits ``max_width`` pixels
    and about 220 pixels of height; 1 if even that is too wide (the caller shrinks)."""
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
        1,
        min(
            12,
            max_width // max(mosaic.shape[1], 1),
            220 // max(mosaic.shape[0], 1),
        ),
    )
    return rgb, zoom


class ActivationsView(QScrollArea):
    """``set_activations([(name, array), ...])``, arrays for one image: ``(C, H, W)``
    feature maps or ``(units,)`` vectors (a leading batch axis of 1 is dropped).

    Each map is scaled per layer: black 0 to bright maximum, or blue/white/red when
    values are signed. The layers flow into up to ``columns`` columns of at least
    ``min_column_width`` pixels, and every picture is sized to fit its column (at most
    ``max_width``): the view scrolls down, never sideways.
    """

    def __init__(
        self,
        parent: QWidget | None = None,
        columns: int = 2,
        max_width: int = 520,
        min_column_width: int = 240,
    ) -> None:
        super().__init__(parent)
        self.columns = columns
        self.max_width = max_width
        self.min_column_width = min_column_width
        self.names: list[str] = []
        self.shown: list[np.ndarray] = []
        self._items: list[tuple[str, np.ndarray]] = []
        self._laid_out_columns = 0
        self._rendered_width = -1
        self._inner = QWidget()
        self._grid = QGridLayout(self._inner)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self._grid.setHorizontalSpacing(18)
        self._grid.setVerticalSpacing(4)
        self._cells: list[tuple[QLabel, QLabel]] = []
        self.placeholder = QLabel("No activations yet.")
        self._grid.addWidget(self.placeholder, 0, 0)
        self.setWidget(self._inner)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # re-fit the pictures once a resize settles, not at every pixel of a drag
        self._resize_timer = QTimer(self)
        self._resize_timer.setSingleShot(True)
        self._resize_timer.setInterval(60)
        self._resize_timer.timeout.connect(self._on_resize_timer_timeout)

    def clear(self) -> None:
        self.set_activations([])

    def pictures(self) -> list[QLabel]:
        """The shown pictures (input first), as laid out now."""
        return [picture for _title, picture in self._cells[: len(self.names)]]

    def column_layout(self) -> tuple[int, int]:
        """(columns, width of one column in pixels) for the current viewport width."""
        margins = self._grid.contentsMargins()
        spacing = self._grid.horizontalSpacing()
        # the vertical scroll bar may appear: leave room for it
        avail = (
            self.viewport().width()
            - margins.left()
            - margins.right()
            - self.verticalScrollBar().sizeHint().width()
        )
        cols = max(
            1, min(self.columns, (avail + spacing) // (self.min_column_width + spacing))
        )
        width = max(40, (avail - (cols - 1) * spacing) // cols)
        return cols, min(width, self.max_width)

    def set_activations(
        self, layers: list[tuple[str, np.ndarray]], image: np.ndarray | None = None
    ) -> None:
        items = list(layers)
        if image is not None:
            items.insert(
                0,
                (
                    "input",
                    # (H, W) grey or (C, H, W): kept as (C, H, W)
                    np.asarray(image, np.float32)[None]
                    if np.ndim(image) == 2
                    else np.asarray(image, np.float32),
                ),
            )
        arrays = []
        for _name, arr in items:
            a = np.asarray(arr, np.float32)
            if a.ndim == 4 and a.shape[0] == 1 or a.ndim == 2 and a.shape[0] == 1:
                a = a[0]
            arrays.append(a)
        self._items = [(name, a) for (name, _), a in zip(items, arrays, strict=True)]
        self.names = [name for name, _ in items]
        self.shown = arrays
        self._render()

    def _render(self) -> None:
        items = self._items
        cols, col_width = self.column_layout()
        self._rendered_width = self.viewport().width()
        self.placeholder.setVisible(not items)
        while len(self._cells) < len(items):
            title, picture = QLabel(), QLabel()
            title.setStyleSheet("font-weight: bold;")
            title.setMinimumWidth(1)  # a long layer name must not widen the column
            picture.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            self._cells.append((title, picture))
            self._laid_out_columns = 0  # place the new cells
        if cols != self._laid_out_columns:
            for i, (title, picture) in enumerate(self._cells):
                r, c = divmod(i, cols)
                self._grid.addWidget(title, 2 * r + 1, c)
                self._grid.addWidget(picture, 2 * r + 2, c)
            self._laid_out_columns = cols
        for i, (title, picture) in enumerate(self._cells):
            visible = i < len(items)
            title.setVisible(visible)
            picture.setVisible(visible)
            if not visible:
                continue
            name, a = items[i]
            is_input = name == "input" and a.ndim == 3 and a.shape[0] in (1, 3)
            if is_input:
                rgb = image_rgb(a)
                zoom = max(1, min(4, col_width // a.shape[2]))
            else:
                rgb, zoom = _picture(a, col_width)
            title.setText(
                f"input: what the model sees ({a.shape[1]}x{a.shape[2]}"
                f"{', RGB' if a.shape[0] == 3 else ''})"
                if is_input
                else f"{i}. {name}: {describe_shape(a.shape)}"
            )
            title.setToolTip(title.text())
            pixmap = to_pixmap(rgb, zoom)
            if pixmap.width() > col_width:  # too many maps even at 1:1: shrink
                pixmap = pixmap.scaledToWidth(
                    col_width, Qt.TransformationMode.SmoothTransformation
                )
            picture.setPixmap(pixmap)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._items and self.viewport().width() != self._rendered_width:
            self._resize_timer.start()

    @Slot()
    def _on_resize_timer_timeout(self) -> None:
        if self.viewport().width() != self._rendered_width:
            self._render()
