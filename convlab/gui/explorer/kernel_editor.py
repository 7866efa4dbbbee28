"""A kernel editor: 1..MAX_KERNEL_SIDE rows and columns, type values, drag to paint,
transform, undo/redo.

A size change applies on commit (Enter, focus out or an arrow step), never per
keystroke: typing "15" once passed through 1 and cropped the kernel to one cell.
Resizing keeps the kernel centred (:func:`resize_centred`); a run of size changes is
computed from the kernel before the first of them, so 3 -> 4 -> 5 centres the 3x3 in
the 5x5 instead of drifting to the top-left.

A weight must be finite and at most :data:`~convlab.data.filters.MAX_ABS_VALUE` (1e6)
in size, the range a bank file allows: 1e40 once showed as "inf", turned the maps
non-finite and made Save bank fail. Such an edit is refused and the editor says why
under the table (:attr:`KernelEditor.message`).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QUndoStack
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

from convlab.data.filters import MAX_ABS_VALUE
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


def resize_centred(kernel: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``kernel`` padded with zeros or cropped to ``(rows, cols)``, centred.

    Each axis grows or shrinks by the same amount on both sides; an odd remainder goes
    to the bottom/right (as Keras' "same" padding puts its odd extra row).

    >>> resize_centred(np.ones((1, 1), np.float32), 3, 2).tolist()
    [[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]
    """
    k = np.asarray(kernel, np.float32)
    if k.ndim != 2:
        raise ValueError(f"`kernel` must be 2-D. Received: kernel.shape={k.shape}")
    for name, value in (("rows", rows), ("cols", cols)):
        if not 1 <= value <= MAX_KERNEL_SIDE:
            raise ValueError(
                f"`{name}` must be from 1 to {MAX_KERNEL_SIDE}. "
                f"Received: {name}={value!r}"
            )
    new = np.zeros((rows, cols), np.float32)
    r, c = min(rows, k.shape[0]), min(cols, k.shape[1])
    dr, dc = (rows - r) // 2, (cols - c) // 2  # padding before: the floor half
    sr, sc = (k.shape[0] - r) // 2, (k.shape[1] - c) // 2  # cropped before: likewise
    new[dr : dr + r, dc : dc + c] = k[sr : sr + r, sc : sc + c]
    return new


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
        KW)``. While a paint drag runs, :meth:`stroke` names it (one undo step).
    bias_edited(float)
        The bias spin box changed (on commit, not per keystroke).

    Undo: on its own the editor keeps a history of its kernel; given the explorer's
    ``QUndoStack`` (:meth:`set_undo_stack`) it keeps none, and Undo/Redo drive that
    stack (whose commands put kernels back through :meth:`set_kernel`).
    """

    kernel_edited = Signal(object)
    bias_edited = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._kernel = np.zeros((3, 3), np.float32)
        self._undo: list[np.ndarray] = []
        self._redo: list[np.ndarray] = []
        self._painting = False
        self._stroke = 0
        self._resize_base: np.ndarray | None = None
        self._stack: QUndoStack | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        size_row = QHBoxLayout()
        self.rows = QSpinBox()
        self.rows.setRange(1, MAX_KERNEL_SIDE)
        self.rows.setPrefix("rows ")
        centred = (
            "The kernel stays centred: rows/columns are added or removed on both "
            "sides, an odd one at the bottom/right. Applies on Enter or an arrow step."
        )
        self.rows.setToolTip(
            f"Kernel height (1 to {MAX_KERNEL_SIDE}). Rectangular kernels are allowed. "
            + centred
        )
        self.cols = QSpinBox()
        self.cols.setRange(1, MAX_KERNEL_SIDE)
        self.cols.setPrefix("cols ")
        self.cols.setToolTip(f"Kernel width (1 to {MAX_KERNEL_SIDE}). " + centred)
        for box in (self.rows, self.cols):
            box.setKeyboardTracking(False)  # typing "15" must not pass through 1
        self.bias = QDoubleSpinBox()
        self.bias.setRange(-100.0, 100.0)
        self.bias.setDecimals(3)
        self.bias.setSingleStep(0.1)
        self.bias.setPrefix("bias ")
        self.bias.setKeyboardTracking(False)
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
        self.message = QLabel()
        self.message.setObjectName("kernel_message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c62828;")
        self.message.hide()
        layout.addWidget(self.message)

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
        self._resize_base = None
        self.message.hide()
        if not keep_history:
            self._undo.clear()
            self._redo.clear()
        with QSignalBlocker(self.bias):
            self.bias.setValue(float(bias))
        self._refresh()

    def set_cell(self, row: int, col: int, value: float) -> None:
        """Set one weight as a user edit (undoable; emits)."""
        new = self._kernel.astype(np.float64)
        new[row, col] = value
        self._apply(new)

    def set_undo_stack(self, stack: QUndoStack | None) -> None:
        """Record edits on ``stack`` (the explorer's) instead of a history of our own:
        the kernel_edited receiver pushes the commands."""
        self._stack = stack
        self._undo.clear()
        self._redo.clear()
        if stack is not None:
            stack.canUndoChanged.connect(self._buttons["undo"].setEnabled)
            stack.canRedoChanged.connect(self._buttons["redo"].setEnabled)
        self._refresh()

    def stroke(self) -> int | None:
        """The id of the paint drag in progress (None when not painting)."""
        return self._stroke if self._painting else None

    def undo(self) -> None:
        if self._stack is not None:
            self._stack.undo()
            return
        if self._undo:
            self._redo.append(self._kernel.copy())
            self._kernel = self._undo.pop()
            self._resize_base = None
            self._refresh()
            self.kernel_edited.emit(self.kernel())

    def redo(self) -> None:
        if self._stack is not None:
            self._stack.redo()
            return
        if self._redo:
            self._undo.append(self._kernel.copy())
            self._kernel = self._redo.pop()
            self._resize_base = None
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
    def _apply(
        self, new: np.ndarray, *, record: bool = True, resizing: bool = False
    ) -> None:
        with np.errstate(over="ignore", invalid="ignore"):
            new = np.ascontiguousarray(new, np.float32)
        if not in_range(new):
            self._refuse(new)
            return
        self.message.hide()
        if not resizing:
            self._resize_base = None
        if new.shape == self._kernel.shape and np.array_equal(new, self._kernel):
            return
        if record and self._stack is None:
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
        if self._stack is None:
            self._buttons["undo"].setEnabled(bool(self._undo))
            self._buttons["redo"].setEnabled(bool(self._redo))
        else:
            self._buttons["undo"].setEnabled(self._stack.canUndo())
            self._buttons["redo"].setEnabled(self._stack.canRedo())

    def _refuse(self, new: np.ndarray) -> None:
        """Keep the kernel as it was and say why under the table."""
        bad = np.asarray(new, np.float64)
        bad = bad[~np.isfinite(bad) | (np.abs(bad) > MAX_ABS_VALUE)]
        received = format_value(float(bad.flat[0])) if bad.size else "?"
        self._refresh()
        self.message.setText(
            f"A weight must be a finite number from {-MAX_ABS_VALUE:g} to "
            f"{MAX_ABS_VALUE:g}. Received: {received}"
        )
        self.message.show()

    def _on_table_item_changed(self, item: QTableWidgetItem) -> None:
        text = item.text().strip().replace(",", ".")
        try:
            value = float(eval_fraction(text))
        except (ValueError, OverflowError):
            self._refresh()  # not a number: put the old value back
            self.message.setText(
                f"Not a number: {text!r} (type e.g. 0.25, -1 or 1/16)."
            )
            self.message.show()
            return
        if not (np.isfinite(value) and abs(value) <= MAX_ABS_VALUE):
            self._refuse(np.array([value]))
            return
        self.set_cell(item.row(), item.column(), value)

    def _on_size_changed(self, _value: int = 0) -> None:
        # from the kernel before this run of size changes: no drift, and shrinking
        # back gives the original weights again
        base = self._kernel if self._resize_base is None else self._resize_base
        self._resize_base = base.copy()
        new = resize_centred(base, self.rows.value(), self.cols.value())
        self._apply(new, resizing=True)

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
                self._stroke += 1
                self._resize_base = None
                if self._stack is None:
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


def in_range(kernel: np.ndarray) -> bool:
    """Every weight finite and at most :data:`MAX_ABS_VALUE` in size (a bank's rule)."""
    k = np.asarray(kernel)
    return bool(np.isfinite(k).all() and (np.abs(k) <= MAX_ABS_VALUE).all())


def eval_fraction(text: str) -> float:
    """``'0.25'``, ``'-1'``, ``'1/16'`` -> float; ``ValueError`` otherwise."""
    if "/" in text:
        num, _, den = text.partition("/")
        if float(den) == 0:
            raise ValueError("division by zero")
        return float(num) / float(den)
    return float(text)
