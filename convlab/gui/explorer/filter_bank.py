"""The filter bank: several filters at once, one feature map each."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from convlab.data.filters import MAX_BANK_FILTERS as MAX_FILTERS  # one source
from convlab.explore import Filter


@dataclass
class BankEntry:
    name: str
    kernel: np.ndarray
    bias: float = 0.0
    description: str = ""


class FilterBankPanel(QWidget):
    """A list of filters with add (from the preset library), duplicate, remove and
    reorder.

    Signals
    -------
    bank_changed()
        A filter was added, removed, moved or edited.
    current_changed(int)
        The selected filter changed (-1 when the bank is empty).
    save_requested(), load_requested()
        The Save/Load buttons were pressed (the tab shows the dialogs).
    """

    bank_changed = Signal()
    current_changed = Signal(int)
    save_requested = Signal()
    load_requested = Signal()

    def __init__(self, presets: list, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._presets = list(presets)
        self._entries: list[BankEntry] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        add_row = QHBoxLayout()
        self.preset = QComboBox()
        self.preset.setToolTip(
            "The preset library: hover an entry for what it detects."
        )
        for i, preset in enumerate(self._presets):
            h, w = preset.kernel.shape
            self.preset.addItem(f"{preset.name}  ({h}x{w})", i)
            self.preset.setItemData(i, preset.description, Qt.ItemDataRole.ToolTipRole)
        self.add_button = QPushButton("Add")
        self.add_button.setToolTip(
            "Add the chosen preset to the bank (a new feature map)."
        )
        add_row.addWidget(self.preset, 1)
        add_row.addWidget(self.add_button)
        layout.addLayout(add_row)
        # the chosen preset's one-line explanation: the Add button's tooltip (a visible
        # label cost the kernel editor its place on the Filters tab)
        self.preset_help = QLabel()
        self.preset_help.setWordWrap(True)
        self.preset_help.hide()

        self.list = QListWidget()
        self.list.setObjectName("filter_list")
        self.list.setToolTip(
            "The filters of the bank, top to bottom as rows of the grid."
        )
        self.list.setMinimumHeight(120)
        self.list.setMaximumHeight(124)
        layout.addWidget(self.list)
        self.description = QLabel()
        self.description.setWordWrap(True)
        layout.addWidget(self.description)

        grid = QGridLayout()
        self.buttons: dict[str, QPushButton] = {}
        for i, (key, text, tip) in enumerate(
            [
                (
                    "duplicate",
                    "Duplicate",
                    "Copy the selected filter (then edit the copy).",
                ),
                ("remove", "Remove", "Remove the selected filter (Delete)."),
                ("up", "Move up", "Move the selected filter up one row."),
                ("down", "Move down", "Move the selected filter down one row."),
                (
                    "save",
                    "Save…",
                    "Save the bank as a readable JSON file (Ctrl+Shift+B).",
                ),
                ("load", "Load…", "Replace the bank with one from a file (Ctrl+L)."),
            ]
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            grid.addWidget(button, i // 3, i % 3)
            self.buttons[key] = button
        layout.addLayout(grid)

        self.add_button.clicked.connect(self._on_add_clicked)
        self.buttons["duplicate"].clicked.connect(self.duplicate_current)
        self.buttons["remove"].clicked.connect(self.remove_current)
        self.buttons["up"].clicked.connect(lambda: self.move_current(-1))
        self.buttons["down"].clicked.connect(lambda: self.move_current(1))
        self.buttons["save"].clicked.connect(self.save_requested)
        self.buttons["load"].clicked.connect(self.load_requested)
        self.list.currentRowChanged.connect(self._on_list_row_changed)
        self.preset.currentIndexChanged.connect(self._on_preset_changed)
        self._on_preset_changed()

    # -- bank ----------------------------------------------------------------------
    def set_bank(self, items: list, *, current: int = 0) -> None:
        """Replace the bank with presets (``name``, ``kernel``, optional
        ``description``, ``bias``) or ``(name, kernel)`` pairs."""
        entries = []
        for item in items:
            if isinstance(item, tuple):
                entries.append(BankEntry(str(item[0]), np.array(item[1], np.float32)))
            else:
                entries.append(
                    BankEntry(
                        item.name,
                        np.array(item.kernel, np.float32),
                        float(getattr(item, "bias", 0.0)),
                        getattr(item, "description", ""),
                    )
                )
        self._entries = entries[:MAX_FILTERS]
        self._rebuild(current)
        self.bank_changed.emit()

    def entries(self) -> list[BankEntry]:
        return list(self._entries)

    def filters(self) -> tuple[Filter, ...]:
        return tuple(Filter(e.name, e.kernel, e.bias) for e in self._entries)

    def current_index(self) -> int:
        return self.list.currentRow()

    def current_entry(self) -> BankEntry | None:
        i = self.current_index()
        return self._entries[i] if 0 <= i < len(self._entries) else None

    def set_current(self, index: int) -> None:
        self.list.setCurrentRow(index)

    def add_entry(self, entry: BankEntry) -> None:
        if len(self._entries) >= MAX_FILTERS:
            return
        self._entries.append(entry)
        self._rebuild(len(self._entries) - 1)
        self.bank_changed.emit()

    def add_preset(self, index: int) -> None:
        preset = self._presets[index]
        self.add_entry(
            BankEntry(
                preset.name,
                np.array(preset.kernel, np.float32),
                0.0,
                preset.description,
            )
        )

    def duplicate_current(self) -> None:
        entry = self.current_entry()
        if entry is not None and len(self._entries) < MAX_FILTERS:
            i = self.current_index()
            copy = BankEntry(
                f"{entry.name} (copy)",
                entry.kernel.copy(),
                entry.bias,
                entry.description,
            )
            self._entries.insert(i + 1, copy)
            self._rebuild(i + 1)
            self.bank_changed.emit()

    def remove_current(self) -> None:
        i = self.current_index()
        if 0 <= i < len(self._entries):
            del self._entries[i]
            self._rebuild(min(i, len(self._entries) - 1))
            self.bank_changed.emit()

    def move_current(self, delta: int) -> None:
        i = self.current_index()
        j = i + delta
        if 0 <= i < len(self._entries) and 0 <= j < len(self._entries):
            self._entries[i], self._entries[j] = self._entries[j], self._entries[i]
            self._rebuild(j)
            self.bank_changed.emit()

    def update_current(
        self, kernel: np.ndarray | None = None, bias: float | None = None
    ) -> None:
        """The kernel editor changed the selected filter."""
        entry = self.current_entry()
        if entry is None:
            return
        if kernel is not None:
            entry.kernel = np.array(kernel, np.float32)
            if not entry.description.startswith("(edited)"):
                entry.description = "(edited) " + entry.description
        if bias is not None:
            entry.bias = float(bias)
        self._label_item(self.current_index())
        self._show_description()
        self.bank_changed.emit()

    def index_of(self, entry: BankEntry) -> int:
        """Where ``entry`` (this very object) is in the bank; -1 if removed."""
        return next((i for i, e in enumerate(self._entries) if e is entry), -1)

    def update_entry(
        self, index: int, kernel: np.ndarray | None = None, bias: float | None = None
    ) -> None:
        """Change filter ``index`` (selecting it first), as the editor would."""
        if not 0 <= index < len(self._entries):
            raise IndexError(
                f"`index` must be from 0 to {len(self._entries) - 1}. "
                f"Received: index={index}"
            )
        if index != self.current_index():
            self.set_current(index)
        self.update_current(kernel=kernel, bias=bias)

    # -- internals -----------------------------------------------------------------
    def _label_item(self, i: int) -> None:
        entry = self._entries[i]
        item = self.list.item(i)
        h, w = entry.kernel.shape
        bias = f", bias {entry.bias:g}" if entry.bias else ""
        item.setText(f"{i + 1}. {entry.name}  ({h}x{w}{bias})")
        item.setToolTip(entry.description or entry.name)

    def _rebuild(self, current: int) -> None:
        with QSignalBlocker(self.list):
            self.list.clear()
            for i in range(len(self._entries)):
                self.list.addItem(QListWidgetItem())
                self._label_item(i)
            self.list.setCurrentRow(current if self._entries else -1)
        self._sync_buttons()
        self._show_description()
        self.current_changed.emit(self.current_index())

    def _sync_buttons(self) -> None:
        has = self.current_entry() is not None
        for key in ("duplicate", "remove", "up", "down"):
            self.buttons[key].setEnabled(has)
        self.add_button.setEnabled(len(self._entries) < MAX_FILTERS)

    def _show_description(self) -> None:
        entry = self.current_entry()
        self.description.setText(
            f"<b>{entry.name}</b>: {entry.description}"
            if entry
            else "The bank is empty."
        )

    def _on_add_clicked(self) -> None:
        self.add_preset(self.preset.currentData())

    def _on_list_row_changed(self, row: int) -> None:
        self._sync_buttons()
        self._show_description()
        self.current_changed.emit(row)

    def _on_preset_changed(self, _index: int = 0) -> None:
        data = self.preset.currentData()
        if data is not None:
            preset = self._presets[data]
            self.preset_help.setText(preset.description)
            self.add_button.setToolTip(
                f"Add “{preset.name}” to the bank (a new row of maps): "
                f"{preset.description}"
            )
