"""The model editor: a preset chooser, the layer list as a Keras-style summary, and a
form for the selected layer's arguments. An invalid stack is explained at the row that
breaks."""

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
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from convlab.train.specs import (
    LAYER_TYPES,
    StackCheck,
    check_stack,
    copy_specs,
    default_spec,
    describe_spec,
)

__all__ = ["ModelEditor"]

_ERROR_BG = QColor(120, 30, 30)


def _shape_cell(shape: tuple[int, ...] | None) -> str:
    if shape is None:
        return "-"
    # NCHW, as convlab's model.summary() prints it
    return "(None, " + ", ".join(str(s) for s in shape) + ")"


class ModelEditor(QWidget):
    """Signals
    -------
    specs_changed()
        The layer list or an argument changed (by the user).
    preset_chosen(str)
        The user picked a preset by name.
    """

    specs_changed = Signal()
    preset_chosen = Signal(str)

    def __init__(
        self, presets: list[tuple[str, str]], parent: QWidget | None = None
    ) -> None:
        """``presets``: (name, label) pairs for the chooser."""
        super().__init__(parent)
        self._specs: list[dict[str, Any]] = []
        self.check = StackCheck()
        #: the data's (C, H, W) and class count the stack is checked for (tdata)
        self.input_shape: tuple[int, int, int] = (1, 28, 28)
        self.num_classes = 10
        self._names: list[str] = []
        self._keep_form = False

        self.preset_combo = QComboBox()
        for name, label in presets:
            self.preset_combo.addItem(label, name)
        self.preset_combo.addItem("custom (edited)", "custom")
        self.preset_combo.setToolTip(
            "Start from a ready-made network, then edit its layers."
        )
        self.preset_combo.activated.connect(self._on_preset_activated)

        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(
            ["Layer", "Output shape (N, C, H, W)", "Param #"]
        )
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._on_table_selection_changed)

        self.totals = QLabel()
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
        top.addWidget(self.preset_combo, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.totals)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        layout.addWidget(self.form_box)

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

    def set_input(self, input_shape: tuple[int, int, int], num_classes: int) -> None:
        """Check the stack for the data's (C, H, W) and class count (no
        ``specs_changed``)."""
        self.input_shape = tuple(int(v) for v in input_shape)  # type: ignore[assignment]
        self.num_classes = int(num_classes)
        self._refresh(select=self._selected())

    def set_layer_names(self, names: list[str]) -> None:
        self._names = list(names)
        # names change no argument: keep the form (and the spin box being typed in)
        keep, self._keep_form = self._keep_form, True
        try:
            self._refresh(select=self._selected())
        finally:
            self._keep_form = keep

    def set_editable(self, editable: bool) -> None:
        for w in (
            self.preset_combo,
            self.add_button,
            self.remove_button,
            self.up_button,
            self.down_button,
            self.form_box,
        ):
            w.setEnabled(editable)

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
        self.check = check_stack(self._specs, self.input_shape, self.num_classes)
        with QSignalBlocker(self.table):
            self.table.setRowCount(len(self._specs))
            for i, spec in enumerate(self._specs):
                row = self.check.rows[i] if i < len(self.check.rows) else None
                name = self._names[i] if i < len(self._names) else ""
                text = f"{name}  {describe_spec(spec)}" if name else describe_spec(spec)
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
                    self.table.setItem(i, col, item)
            if select is not None and 0 <= select < len(self._specs):
                self.table.selectRow(select)
        total = self.check.total_params
        c, h, w = self.input_shape
        self.totals.setText(
            f"Total params: {total:,}   (input: {h}x{w} "
            f"{'RGB' if c == 3 else 'greyscale'}, {self.num_classes} classes)"
        )
        if self.check.ok:
            self.message.hide()
        else:
            self.message.setText(self.check.error)
            self.message.show()
        if not self._keep_form:
            self._rebuild_form()

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
            if p.kind == "int":
                w = QSpinBox()
                w.setRange(int(p.low), int(p.high))
                w.setValue(int(spec.get(p.name, p.default) or 0))
                if p.name == "strides" and p.low == 0:
                    w.setSpecialValueText("= pool_size")
                w.valueChanged.connect(self._on_form_value_changed)
            elif p.kind == "float":
                w = QDoubleSpinBox()
                w.setRange(p.low, p.high)
                w.setSingleStep(0.05)
                w.setDecimals(2)
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

    @Slot()
    def _on_table_selection_changed(self) -> None:
        if not self._keep_form:
            self._rebuild_form()

    @Slot(object)
    def _on_add_menu_triggered(self, action) -> None:
        i = self._selected()
        at = len(self._specs) if i is None else i + 1
        self._specs.insert(at, default_spec(action.data()))
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
        self.check = check_stack(self._specs, self.input_shape, self.num_classes)
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
        self._specs.insert(at, default_spec(kind, self.num_classes))
        self._names = []
        self._changed(at)

    def remove_layer(self, i: int) -> None:
        self.table.selectRow(i)
        self._on_remove_clicked()
