"""The model editor: a preset chooser, the layer list as a Keras-style summary (with a
"train" checkbox per layer that has weights), and a form for the selected layer's
arguments, per axis where Keras takes a pair. An invalid stack is explained at the row
that breaks.

The table shows the shapes for the data's images, or for a preset's native input
(VGG16's 224x224x3) when the user picks that: the counts come from
:func:`~convlab.train.specs.check_stack`, which allocates no weights, so the table of
a model too big to build here still shows, with an estimate of the time per epoch."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from convlab.train.specs import (
    INPUT_SHAPE,
    LAYER_TYPES,
    Param,
    StackCheck,
    check_stack,
    compact_pair,
    copy_specs,
    default_spec,
    describe_spec,
    estimate_text,
    pair_value,
    shape_words,
)

__all__ = ["ModelEditor", "PaddingEdit", "PairSpin"]

#: layer types with weights: the ones a "train" checkbox freezes
_WEIGHTED = ("Conv2D", "Dense", "BatchNormalization")
TRAIN_COLUMN = 3

_ERROR_BG = QColor(120, 30, 30)
_FROZEN_FG = QColor(70, 120, 200)


def _shape_cell(shape: tuple[int, ...] | None) -> str:
    if shape is None:
        return "-"
    # NCHW, as convlab's model.summary() prints it
    return "(None, " + ", ".join(str(s) for s in shape) + ")"


class PairSpin(QWidget):
    """Two spin boxes for a per-axis argument (height, width); ``value()`` is an int
    when both agree, ``[h, w]`` otherwise, as the specs store it.

    Signals
    -------
    value_changed()
    """

    value_changed = Signal()

    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.h = QSpinBox()
        self.w = QSpinBox()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for spin, axis in ((self.h, "height"), (self.w, "width")):
            spin.setRange(int(param.low), int(param.high))
            spin.setToolTip(f"{param.tip} ({axis})")
            if param.low == 0:
                spin.setSpecialValueText("= pool")
            spin.valueChanged.connect(self._on_spin_value_changed)
        layout.addWidget(self.h, 1)
        layout.addWidget(QLabel("x"))
        layout.addWidget(self.w, 1)
        self.valueChanged = self.value_changed  # QSpinBox's spelling, for callers

    def value(self) -> int | list[int]:
        h, w = self.h.value(), self.w.value()
        if 0 in (h, w):  # "= pool_size" on either axis means it on both
            return 0
        return compact_pair(h, w)

    def setValue(self, value: Any) -> None:  # noqa: N802 (Qt's spelling)
        h, w = pair_value(value or 0)
        with QSignalBlocker(self.h), QSignalBlocker(self.w):
            self.h.setValue(h)
            self.w.setValue(w)
        self.value_changed.emit()

    @Slot(int)
    def _on_spin_value_changed(self, _value: int) -> None:
        self.value_changed.emit()


class PaddingEdit(QWidget):
    """A Conv2D's padding: "valid", "same", or pixels per axis (``PairSpin``).

    Signals
    -------
    value_changed()
    """

    value_changed = Signal()

    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = QComboBox()
        self.mode.addItems([*param.choices, "pixels"])
        self.mode.setToolTip(param.tip)
        self.pixels = PairSpin(
            Param("padding", "pair", 0, 0, param.high, tip="zero rows/columns")
        )
        for spin in (self.pixels.h, self.pixels.w):
            spin.setSpecialValueText("")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.mode)
        layout.addWidget(self.pixels, 1)
        self.mode.currentTextChanged.connect(self._on_mode_text_changed)
        self.pixels.value_changed.connect(self.value_changed)
        self.pixels.setEnabled(False)

    def value(self) -> str | int | list[int]:
        if self.mode.currentText() != "pixels":
            return self.mode.currentText()
        return compact_pair(self.pixels.h.value(), self.pixels.w.value())

    def setValue(self, value: Any) -> None:  # noqa: N802 (Qt's spelling)
        with QSignalBlocker(self.mode), QSignalBlocker(self.pixels):
            if isinstance(value, str):
                self.mode.setCurrentText(value)
                self.pixels.setValue(0)
            else:
                self.mode.setCurrentText("pixels")
                self.pixels.setValue(
                    value
                    if not isinstance(value, list) or len(value) == 2
                    else value[::2]
                )
            self.pixels.setEnabled(self.mode.currentText() == "pixels")

    @Slot(str)
    def _on_mode_text_changed(self, text: str) -> None:
        self.pixels.setEnabled(text == "pixels")
        self.value_changed.emit()


class ModelEditor(QWidget):
    """Signals
    -------
    specs_changed()
        The layer list or an argument changed (by the user).
    preset_chosen(str)
        The user picked a preset by name.
    shown_input_changed()
        The user switched the table between the data's and the native input.
    """

    specs_changed = Signal()
    preset_chosen = Signal(str)
    shown_input_changed = Signal()

    def __init__(
        self, presets: list[tuple[str, str]], parent: QWidget | None = None
    ) -> None:
        """``presets``: (name, label) pairs for the chooser."""
        super().__init__(parent)
        self._specs: list[dict[str, Any]] = []
        #: the check for the data's images: what the trainer builds and trains
        self.check = StackCheck()
        #: the check the table shows (the data's, or the native input's)
        self.shown_check = StackCheck()
        self._names: list[str] = []
        self._keep_form = False
        self._data_shape: tuple[int, ...] = INPUT_SHAPE
        self._classes = 10
        self._images = 0
        self._native: tuple[int, ...] | None = None
        self._native_name = ""
        self._editable = True

        self.preset_combo = QComboBox()
        for name, label in presets:
            self.preset_combo.addItem(label, name)
        self.preset_combo.addItem("custom (edited)", "custom")
        self.preset_combo.setToolTip(
            "Start from a ready-made network, then edit its layers."
        )
        self.preset_combo.activated.connect(self._on_preset_activated)

        self.input_combo = QComboBox()
        self.input_combo.setToolTip(
            "Work the shapes and parameters out for the data's images, or for the "
            "preset's native input (the model trains on the data's)"
        )
        self.input_combo.activated.connect(self._on_input_combo_activated)

        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(
            ["Layer", "Output shape (N, C, H, W)", "Param #", "Train"]
        )
        self.table.horizontalHeaderItem(TRAIN_COLUMN).setToolTip(
            "Unticked: the layer is frozen (trainable = False): training leaves its "
            "weights as they are, for fine-tuning a trained model"
        )
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._on_table_selection_changed)
        self.table.itemChanged.connect(self._on_table_item_changed)

        self.totals = QLabel()
        self.totals.setWordWrap(True)
        #: the native input, the estimate of the time per epoch, what it means
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #ff8a80; font-weight: bold;")
        self.message.hide()

        self.add_button = QToolButton()
        self.add_button.setText("Add layer")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        add_menu = QMenu(self.add_button)
        for kind in LAYER_TYPES:
            action = add_menu.addAction(kind)
            action.setData(kind)
        add_menu.triggered.connect(self._on_add_menu_triggered)
        self.add_button.setMenu(add_menu)
        self.remove_button = QPushButton("Remove")
        self.up_button = QPushButton("Up")
        self.down_button = QPushButton("Down")
        self.add_button.setToolTip("Insert a layer after the selected one")
        self.remove_button.setToolTip("Remove the selected layer")
        self.up_button.setToolTip("Move the selected layer one place up")
        self.down_button.setToolTip("Move the selected layer one place down")
        self.table.setToolTip(
            "The model as Keras's model.summary() prints it. Output shape: "
            "(batch, channels, height, width); Param #: weights learned by the layer"
        )
        self.remove_button.clicked.connect(self._on_remove_clicked)
        self.up_button.clicked.connect(self._on_up_clicked)
        self.down_button.clicked.connect(self._on_down_clicked)
        buttons = QHBoxLayout()
        for b in (
            self.add_button,
            self.remove_button,
            self.up_button,
            self.down_button,
        ):
            buttons.addWidget(b)
        buttons.addStretch(1)

        self.form_box = QGroupBox("Selected layer")
        self.form = QFormLayout(self.form_box)
        self._form_widgets: list[QWidget] = []

        top = QHBoxLayout()
        top.addWidget(QLabel("Preset:"))
        top.addWidget(self.preset_combo, 2)
        top.addWidget(QLabel("Shapes for:"))
        top.addWidget(self.input_combo, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        # the selected layer's form scrolls when space is short (a projector at 2x),
        # so the table keeps showing several layers
        form_scroll = QScrollArea()
        form_scroll.setWidget(self.form_box)
        form_scroll.setWidgetResizable(True)
        form_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.totals)
        layout.addWidget(self.info)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        layout.addWidget(form_scroll, 1)

    # -- public ------------------------------------------------------------------------
    def specs(self) -> list[dict[str, Any]]:
        return copy_specs(self._specs)

    def set_specs(
        self,
        specs: list[dict[str, Any]],
        preset: str = "custom",
        names: list[str] | None = None,
    ) -> None:
        """Show ``specs`` (no ``specs_changed``); ``names`` are the model's layer
        names."""
        self._specs = copy_specs(specs)
        self._names = list(names or [])
        self._select_preset(preset)
        self._refresh(select=0 if specs else None)

    def set_input(
        self,
        shape: tuple[int, ...],
        num_classes: int,
        images: int = 0,
        native: tuple[int, ...] | None = None,
        native_name: str = "",
        show_native: bool | None = None,
    ) -> None:
        """The data's input (C, H, W), class count and training images; a preset's
        ``native`` input (None: none, or the same) and whether the table shows it
        (default: keep the current choice)."""
        self._data_shape = tuple(int(v) for v in shape)
        self._classes = int(num_classes)
        self._images = int(images)
        was_native = self.showing_native()
        self._native = None if native is None else tuple(int(v) for v in native)
        self._native_name = native_name
        if self._native == self._data_shape:
            self._native = None
        with QSignalBlocker(self.input_combo):
            self.input_combo.clear()
            self.input_combo.addItem(f"data {shape_words(self._data_shape)}", "data")
            if self._native is not None:
                self.input_combo.addItem(
                    f"native {shape_words(self._native)}", "native"
                )
                native_on = was_native if show_native is None else show_native
                self.input_combo.setCurrentIndex(1 if native_on else 0)
        self.input_combo.setEnabled(self._native is not None)
        self._refresh_table()

    def _refresh_table(self) -> None:
        """Refresh the table and read-outs, keeping the form (and the spin box being
        typed in): for changes that alter no argument."""
        keep, self._keep_form = self._keep_form, True
        try:
            self._refresh(select=self._selected())
        finally:
            self._keep_form = keep

    def showing_native(self) -> bool:
        return self.input_combo.currentData() == "native"

    def set_layer_names(self, names: list[str]) -> None:
        self._names = list(names)
        # names change no argument: keep the form (and the spin box being typed in)
        self._refresh_table()

    def set_editable(self, editable: bool) -> None:
        changed = editable != self._editable
        self._editable = editable
        for w in (
            self.preset_combo,
            self.add_button,
            self.remove_button,
            self.up_button,
            self.down_button,
            self.form_box,
        ):
            w.setEnabled(editable)
        if changed:  # the "train" checkboxes follow
            self._refresh_table()

    # -- internals ---------------------------------------------------------------------
    def _select_preset(self, name: str) -> None:
        index = self.preset_combo.findData(name)
        with QSignalBlocker(self.preset_combo):
            self.preset_combo.setCurrentIndex(
                index if index >= 0 else self.preset_combo.count() - 1
            )

    def _selected(self) -> int | None:
        rows = (
            self.table.selectionModel().selectedRows()
            if self.table.selectionModel()
            else []
        )
        return rows[0].row() if rows else None

    def _refresh(self, select: int | None) -> None:
        self.check = check_stack(self._specs, self._data_shape, self._classes)
        native = self.showing_native() and self._native is not None
        self.shown_check = (
            check_stack(self._specs, self._native, self._classes)
            if native
            else self.check
        )
        shown = self.shown_check
        with QSignalBlocker(self.table):
            self.table.setRowCount(len(self._specs))
            for i, spec in enumerate(self._specs):
                row = shown.rows[i] if i < len(shown.rows) else None
                name = self._names[i] if i < len(self._names) else ""
                text = f"{name}  {describe_spec(spec)}" if name else describe_spec(spec)
                frozen = spec.get("trainable", True) is False
                if frozen:
                    text += "  (frozen)"
                cells = [
                    text,
                    _shape_cell(row.output_shape) if row else "",
                    f"{row.params:,}" if row and row.output_shape is not None else "",
                ]
                bad = row is not None and bool(row.error)
                unreached = row is None
                for col, value in enumerate(cells):
                    item = QTableWidgetItem(value)
                    if col == 2:
                        item.setTextAlignment(
                            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                        )
                    if bad:
                        item.setBackground(QBrush(_ERROR_BG))
                        item.setToolTip(row.error)
                    elif unreached:
                        item.setForeground(QBrush(QColor(140, 140, 140)))
                        item.setToolTip(
                            "not reached: an earlier layer breaks the stack"
                        )
                    elif frozen:
                        item.setForeground(QBrush(_FROZEN_FG))
                        item.setToolTip(
                            "frozen: training leaves its weights as they are"
                        )
                    self.table.setItem(i, col, item)
                self.table.setItem(i, TRAIN_COLUMN, self._train_item(spec))
            if select is not None and 0 <= select < len(self._specs):
                self.table.selectRow(select)
        total, trainable = shown.total_params, shown.trainable_params
        frozen = "" if trainable == total else f", trainable: {trainable:,}"
        where = "native input" if native else "the data"
        self.totals.setText(
            f"Total params: {total:,}{frozen}   (input {shape_words(shown.input_shape)}"
            f", {where}; {self._classes} classes)"
        )
        self.info.setText(self._info_text(native))
        self.info.setVisible(bool(self.info.text()))
        error = shown.error if not shown.ok else ""
        if native and shown.ok and not self.check.ok:
            error = (
                f"On the data's {shape_words(self._data_shape)} images: "
                f"{self.check.error}"
            )
        if not error:
            self.message.hide()
        else:
            self.message.setText(error)
            self.message.show()
        if not self._keep_form:
            self._rebuild_form()

    def _info_text(self, native: bool) -> str:
        """What the native input means, and the time per epoch, in words."""
        parts = []
        if self._native is not None:
            name = self._native_name or "This preset"
            parts.append(
                f"{name} takes {shape_words(self._native)} images natively; the data "
                f"is {shape_words(self._data_shape)}. "
                + (
                    "It trains on the data's size: the layers whose input changes "
                    "get weights of their own size (the table's other choice shows "
                    "the shapes)."
                    if self.check.ok
                    else "It cannot train on the data's size (see below)."
                )
            )
        check = self.shown_check if native or not self.check.ok else self.check
        if check.ok and check.rows:
            images = self._images or 50_000
            where = " at the native size" if check is not self.check else ""
            parts.append(f"Training{where}: {estimate_text(check, images)}.")
        return " ".join(parts)

    def _train_item(self, spec: dict[str, Any]) -> QTableWidgetItem:
        item = QTableWidgetItem()
        if spec["type"] in _WEIGHTED:
            flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
            if self._editable:
                flags |= Qt.ItemFlag.ItemIsUserCheckable
            item.setFlags(flags)
            frozen = spec.get("trainable", True) is False
            item.setCheckState(
                Qt.CheckState.Unchecked if frozen else Qt.CheckState.Checked
            )
            item.setToolTip(
                "frozen: training leaves these weights as they are"
                if frozen
                else "trains; untick to freeze (fine-tuning)"
            )
        else:
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            item.setToolTip("no weights")
        return item

    def set_trainable(self, i: int, trainable: bool) -> None:
        """Freeze (False) or unfreeze layer ``i``, as its checkbox does."""
        item = self.table.item(i, TRAIN_COLUMN)
        item.setCheckState(
            Qt.CheckState.Checked if trainable else Qt.CheckState.Unchecked
        )

    def _changed(self, select: int | None) -> None:
        self._select_preset("custom")
        self._refresh(select)
        self.specs_changed.emit()

    def _rebuild_form(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self._form_widgets = []
        i = self._selected()
        if i is None or i >= len(self._specs):
            self.form_box.setTitle("Selected layer: none")
            return
        spec = self._specs[i]
        # numbered from 1, as the table's rows
        self.form_box.setTitle(f"Layer {i + 1}: {spec['type']}")
        params = LAYER_TYPES[spec["type"]]
        if not params:
            self.form.addRow(QLabel("This layer has no arguments."))
        for p in params:
            if p.kind == "pair":
                w = PairSpin(p)
                w.setValue(spec.get(p.name, p.default))
                w.value_changed.connect(self._on_form_value_changed)
            elif p.kind == "padding":
                w = PaddingEdit(p)
                w.setValue(spec.get(p.name, p.default))
                w.value_changed.connect(self._on_form_value_changed)
            elif p.kind == "int":
                w = QSpinBox()
                w.setRange(int(p.low), int(p.high))
                w.setValue(int(spec.get(p.name, p.default) or 0))
                if p.name == "strides" and p.low == 0:
                    w.setSpecialValueText("= pool_size")
                w.valueChanged.connect(self._on_form_value_changed)
            elif p.kind == "float":
                w = QDoubleSpinBox()
                w.setDecimals(p.decimals)
                w.setRange(p.low, p.high)
                w.setSingleStep(p.step)
                w.setValue(float(spec.get(p.name, p.default)))
                w.valueChanged.connect(self._on_form_value_changed)
            else:
                w = QComboBox()
                w.addItems(list(p.choices))
                w.setCurrentText(str(spec.get(p.name, p.default)))
                w.currentTextChanged.connect(self._on_form_value_changed)
            w.setProperty("param", p.name)
            w.setToolTip(p.tip)
            self.form.addRow(p.name, w)
            self._form_widgets.append(w)

    def param_widget(self, name: str) -> QWidget:
        """The form's editor for the selected layer's argument ``name``."""
        for w in self._form_widgets:
            if w.property("param") == name:
                return w
        shown = [w.property("param") for w in self._form_widgets]
        raise ValueError(
            f"`name` must be one of the selected layer's arguments {shown}. "
            f"Received: name={name!r}"
        )

    # -- slots -------------------------------------------------------------------------
    @Slot(int)
    def _on_preset_activated(self, index: int) -> None:
        name = self.preset_combo.itemData(index)
        if name != "custom":
            self.preset_chosen.emit(name)

    @Slot(int)
    def _on_input_combo_activated(self, _index: int) -> None:
        self._refresh_table()
        self.shown_input_changed.emit()

    @Slot(object)
    def _on_table_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() != TRAIN_COLUMN or not 0 <= item.row() < len(self._specs):
            return
        spec = self._specs[item.row()]
        frozen = item.checkState() != Qt.CheckState.Checked
        if frozen == (spec.get("trainable", True) is False):
            return
        if frozen:
            spec["trainable"] = False
        else:
            spec.pop("trainable", None)
        self._select_preset("custom")
        self._refresh(item.row())
        self.specs_changed.emit()

    @Slot()
    def _on_table_selection_changed(self) -> None:
        if not self._keep_form:
            self._rebuild_form()

    @Slot(object)
    def _on_add_menu_triggered(self, action) -> None:
        i = self._selected()
        at = len(self._specs) if i is None else i + 1
        self._specs.insert(at, default_spec(action.data(), self._classes))
        self._names = []
        self._changed(at)

    @Slot()
    def _on_remove_clicked(self) -> None:
        i = self._selected()
        if i is None:
            return
        del self._specs[i]
        self._names = []
        self._changed(min(i, len(self._specs) - 1) if self._specs else None)

    def move(self, i: int, delta: int) -> None:
        j = i + delta
        if not (0 <= i < len(self._specs) and 0 <= j < len(self._specs)):
            return
        self._specs[i], self._specs[j] = self._specs[j], self._specs[i]
        self._names = []
        self._changed(j)

    @Slot()
    def _on_up_clicked(self) -> None:
        i = self._selected()
        if i is not None:
            self.move(i, -1)

    @Slot()
    def _on_down_clicked(self) -> None:
        i = self._selected()
        if i is not None:
            self.move(i, 1)

    @Slot()
    def _on_form_value_changed(self, *_args) -> None:
        i = self._selected()
        if i is None:
            return
        spec = self._specs[i]
        for w in self._form_widgets:
            name = w.property("param")
            if isinstance(w, QComboBox):
                spec[name] = w.currentText()
            else:
                spec[name] = w.value()
        self._names = []
        self._select_preset("custom")
        # refresh the table without rebuilding the form the user is typing in
        self._keep_form = True
        try:
            self._refresh(i)
        finally:
            self._keep_form = False
        self.specs_changed.emit()

    # convenience for tests and for the main window
    def add_layer(self, kind: str, at: int | None = None) -> None:
        at = len(self._specs) if at is None else at
        self._specs.insert(at, default_spec(kind, self._classes))
        self._names = []
        self._changed(at)

    def remove_layer(self, i: int) -> None:
        self.table.selectRow(i)
        self._on_remove_clicked()
