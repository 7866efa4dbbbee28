"""A kernel editor: 1..MAX_KERNEL_SIDE rows and columns, type values, drag to paint,
transform, undo/redo."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from convlab.explore import MAX_KERNEL_SIDE

from .colormaps import hex_colours, text_colour_for


def format_value(value: float) -> str:
    """Short, readable number for a cell: 0, 1, -2, 0.25, 0.0625, 1.2e-05."""
    if value == 0:
        return "0"
    if float(value).is_integer() and abs(value) < 1e6:
        return str(int(value))
    text = f"{value:.4g}"
    return text


class _KernelTable(QTableWidget):
    """The kernel's cells: asks only for its minimum height and grows into free space
    (QTableWidget's default 192 px preferred height pushed the editor below the
    fold)."""

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt)
        return QSize(super().sizeHint().width(), self.minimumHeight())


class KernelEditor(QWidget):
    """Edit one 2-D kernel and its bias.

    Signals
    -------
    kernel_edited(object)
        The kernel changed by a user action; the argument is a float32 copy ``(KH,
        KW)``.
    bias_edited(float)
        The bias spin box changed.
    """

    kernel_edited = Signal(object)
    bias_edited = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._kernel = np.zeros((3, 3), np.float32)
        self._undo: list[np.ndarray] = []
        self._redo: list[np.ndarray] = []
        self._painting = False

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        size_row = QHBoxLayout()
        self.rows = QSpinBox()
        self.rows.setRange(1, MAX_KERNEL_SIDE)
        self.rows.setPrefix("rows ")
        self.rows.setToolTip(
            f"Kernel height (1 to {MAX_KERNEL_SIDE}). Rectangular kernels are allowed."
        )
        self.cols = QSpinBox()
        self.cols.setRange(1, MAX_KERNEL_SIDE)
        self.cols.setPrefix("cols ")
        self.cols.setToolTip(f"Kernel width (1 to {MAX_KERNEL_SIDE}).")
        self.bias = QDoubleSpinBox()
        self.bias.setRange(-100.0, 100.0)
        self.bias.setDecimals(3)
        self.bias.setSingleStep(0.1)
        self.bias.setPrefix("bias ")
        self.bias.setToolTip(
            "Added to every output of this filter, before the activation."
        )
        size_row.addWidget(self.rows)
        size_row.addWidget(self.cols)
        size_row.addWidget(self.bias)
        layout.addLayout(size_row)

        self.table = _KernelTable(3, 3)
        self.table.setObjectName("kernel_table")
        font = QFont(self.table.font())
        font.setPointSizeF(max(font.pointSizeF(), 11.0))
        self.table.setFont(font)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.Stretch
        )
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(150)
        self.table.setToolTip(
            "Double-click or start typing in a cell to enter a value. With 'paint' on, "
            "drag across cells to set them to the paint value. The output pixel is the "
            "sum of kernel × input over the window (cross-correlation: no flip)."
        )
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.AnyKeyPressed
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        layout.addWidget(self.table, 1)

        paint_row = QHBoxLayout()
        self.paint = QCheckBox("paint")
        self.paint.setToolTip("Drag over cells to set them to the paint value.")
        self.paint_value = QDoubleSpinBox()
        self.paint_value.setRange(-100.0, 100.0)
        self.paint_value.setDecimals(3)
        self.paint_value.setValue(1.0)
        self.paint_value.setToolTip("Value painted by dragging.")
        paint_row.addWidget(self.paint)
        paint_row.addWidget(self.paint_value)
        self.sum_label = QLabel()
        self.sum_label.setToolTip(
            "Sum of the weights: 1 keeps brightness (blur), 0 answers only to change "
            "(edges)."
        )
        paint_row.addWidget(self.sum_label, 1)
        layout.addLayout(paint_row)

        buttons = QGridLayout()
        self._buttons: dict[str, QPushButton] = {}
        for i, (key, text, tip) in enumerate(
            [
                (
                    "normalise",
                    "Normalise",
                    "Scale so the weights sum to 1 (brightness kept). A "
                    "kernel summing to 0 (an edge detector) is scaled so its positive "
                    "weights sum to 1.",
                ),
                (
                    "randomise",
                    "Randomise",
                    "Random weights, as a freshly initialised Conv2D "
                    "(normal, std 1/sqrt(rows*cols)).",
                ),
                ("zero", "Zero", "Set every weight to 0."),
                (
                    "flip_h",
                    "Flip ↔",
                    "Mirror left-right. Flipping both ways turns this "
                    "cross-correlation into a true convolution.",
                ),
                ("flip_v", "Flip ↕", "Mirror top-bottom."),
                (
                    "rotate",
                    "Rotate ⟳",
                    "Rotate 90° clockwise (Sobel x becomes Sobel y).",
                ),
                ("undo", "Undo", "Undo the last kernel edit (Ctrl+Z)."),
                ("redo", "Redo", "Redo (Ctrl+Shift+Z)."),
            ]
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(getattr(self, key))
            buttons.addWidget(button, i // 4, i % 4)
            self._buttons[key] = button
        layout.addLayout(buttons)

        self.table.itemChanged.connect(self._on_table_item_changed)
        self.rows.valueChanged.connect(self._on_size_changed)
        self.cols.valueChanged.connect(self._on_size_changed)
        self.bias.valueChanged.connect(self._on_bias_changed)
        self.table.viewport().installEventFilter(self)
        self._refresh()

    # -- public --------------------------------------------------------------------
    def kernel(self) -> np.ndarray:
        return self._kernel.copy()

    def set_kernel(
        self, kernel: np.ndarray, bias: float = 0.0, *, keep_history: bool = False
    ) -> None:
        """Show ``kernel`` (no signal). A new filter starts a new undo history."""
        self._kernel = np.array(kernel, np.float32, copy=True)
        if not keep_history:
            self._undo.clear()
            self._redo.clear()
        with QSignalBlocker(self.bias):
            self.bias.setValue(float(bias))
        self._refresh()

    def set_cell(self, row: int, col: int, value: float) -> None:
        """Set one weight as a user edit (undoable; emits)."""
        new = self._kernel.copy()
        new[row, col] = value
        self._apply(new)

    def undo(self) -> None:
        if self._undo:
            self._redo.append(self._kernel.copy())
            self._kernel = self._undo.pop()
            self._refresh()
            self.kernel_edited.emit(self.kernel())

    def redo(self) -> None:
        if self._redo:
            self._undo.append(self._kernel.copy())
            self._kernel = self._redo.pop()
            self._refresh()
            self.kernel_edited.emit(self.kernel())

    def normalise(self) -> None:
        k = self._kernel.astype(np.float64)
        total = k.sum()
        if abs(total) > 1e-6:
            k = k / total
        else:
            positive = k[k > 0].sum()
            if positive <= 0:
                return
            k = k / positive
        self._apply(k)

    def randomise(self) -> None:
        rng = np.random.default_rng()
        self._apply(
            rng.normal(0.0, 1.0 / np.sqrt(self._kernel.size), self._kernel.shape)
        )

    def zero(self) -> None:
        self._apply(np.zeros_like(self._kernel))

    def flip_h(self) -> None:
        self._apply(self._kernel[:, ::-1])

    def flip_v(self) -> None:
        self._apply(self._kernel[::-1, :])

    def rotate(self) -> None:
        self._apply(np.rot90(self._kernel, k=-1))

    # -- internals -----------------------------------------------------------------
    def _apply(self, new: np.ndarray, *, record: bool = True) -> None:
        new = np.ascontiguousarray(new, np.float32)
        if new.shape == self._kernel.shape and np.array_equal(new, self._kernel):
            return
        if record:
            self._undo.append(self._kernel.copy())
            del self._undo[:-200]
            self._redo.clear()
        self._kernel = new
        self._refresh()
        self.kernel_edited.emit(self.kernel())

    def _refresh(self) -> None:
        k = self._kernel
        with (
            QSignalBlocker(self.table),
            QSignalBlocker(self.rows),
            QSignalBlocker(self.cols),
        ):
            self.rows.setValue(k.shape[0])
            self.cols.setValue(k.shape[1])
            self.table.setRowCount(k.shape[0])
            self.table.setColumnCount(k.shape[1])
            abs_max = float(np.abs(k).max()) if k.size else 0.0
            colours = hex_colours(k, abs_max)
            for r in range(k.shape[0]):
                for c in range(k.shape[1]):
                    item = self.table.item(r, c)
                    if item is None:
                        item = QTableWidgetItem()
                        item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                        self.table.setItem(r, c, item)
                    value = float(k[r, c])
                    item.setText(format_value(value))
                    item.setBackground(QBrush(QColor(colours[r][c])))
                    item.setForeground(QBrush(QColor(text_colour_for(value, abs_max))))
        self.sum_label.setText(f"sum = {format_value(float(k.sum(dtype=np.float64)))}")
        self._buttons["undo"].setEnabled(bool(self._undo))
        self._buttons["redo"].setEnabled(bool(self._redo))

    def _on_table_item_changed(self, item: QTableWidgetItem) -> None:
        text = item.text().strip().replace(",", ".")
        try:
            value = float(eval_fraction(text))
        except ValueError:
            self._refresh()  # not a number: put the old value back
            return
        if not np.isfinite(value):
            self._refresh()
            return
        self.set_cell(item.row(), item.column(), value)

    def _on_size_changed(self, _value: int = 0) -> None:
        rows, cols = self.rows.value(), self.cols.value()
        new = np.zeros((rows, cols), np.float32)
        r, c = min(rows, self._kernel.shape[0]), min(cols, self._kernel.shape[1])
        # keep the old kernel centred in the new one
        dr, dc = (rows - r) // 2, (cols - c) // 2
        sr, sc = (self._kernel.shape[0] - r) // 2, (self._kernel.shape[1] - c) // 2
        new[dr : dr + r, dc : dc + c] = self._kernel[sr : sr + r, sc : sc + c]
        self._apply(new)

    def _on_bias_changed(self, value: float) -> None:
        self.bias_edited.emit(float(value))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt)
        if watched is self.table.viewport() and self.paint.isChecked():
            kind = event.type()
            if (
                kind == QEvent.Type.MouseButtonPress
                and event.button() == Qt.MouseButton.LeftButton
            ):
                self._painting = True
                self._undo.append(self._kernel.copy())
                self._redo.clear()
                self._paint_at(event.position().toPoint())
                return True
            if kind == QEvent.Type.MouseMove and self._painting:
                self._paint_at(event.position().toPoint())
                return True
            if kind == QEvent.Type.MouseButtonRelease and self._painting:
                self._painting = False
                self._refresh()
                return True
        return super().eventFilter(watched, event)

    def _paint_at(self, pos) -> None:  # noqa: ANN001
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        value = np.float32(self.paint_value.value())
        if self._kernel[index.row(), index.column()] == value:
            return
        self._kernel = self._kernel.copy()
        self._kernel[index.row(), index.column()] = value
        self._refresh()
        self.kernel_edited.emit(self.kernel())


def eval_fraction(text: str) -> float:
    """``'0.25'``, ``'-1'``, ``'1/16'`` -> float; ``ValueError`` otherwise."""
    if "/" in text:
        num, _, den = text.partition("/")
        if float(den) == 0:
            raise ValueError("division by zero")
        return float(num) / float(den)
    return float(text)
