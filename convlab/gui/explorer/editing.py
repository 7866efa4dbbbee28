"""The explorer's edits: kernel, bias and geometry changes pushed on one undo
stack (the commands are in :mod:`.undo`), and filters added to the bank.

A mixin of :class:`~.widget.ExplorerWidget`.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QKeySequence, QUndoStack

from convlab import explore

from .filter_bank import BankEntry
from .settings import build_settings
from .undo import GeometryEdit, KernelEdit


class EditingMixin:
    """Edits and undo/redo of :class:`~.widget.ExplorerWidget`."""

    # ---------------------------------------------------------------------- filters
    def add_filters(self, items: list) -> None:
        """Add ``(name, 2-D kernel)`` pairs (e.g. a trained Conv2D's filters) to the
        bank."""
        for name, kernel in items:
            k = np.asarray(kernel, np.float32)
            if (
                k.ndim == 2
                and min(k.shape) >= 1
                and max(k.shape) <= explore.MAX_KERNEL_SIDE
            ):
                self.bank.add_entry(
                    BankEntry(str(name), k.copy(), 0.0, "Imported filter.")
                )
        self.status_message.emit(f"Added {len(items)} filters to the bank.", 5000)

    def _on_bank_changed(self) -> None:
        self.request_compute("filters")

    def _on_editor_kernel_edited(self, kernel: np.ndarray) -> None:
        entry = self.bank.current_entry()
        if entry is None:
            return
        stroke = self.editor.stroke()
        self.undo_stack.push(
            KernelEdit(
                self,
                entry,
                (entry.kernel, entry.bias),
                (kernel, entry.bias),
                f"kernel edit of {entry.name}",
                merge=None if stroke is None else ("paint", stroke),
            )
        )

    def _on_editor_bias_edited(self, bias: float) -> None:
        entry = self.bank.current_entry()
        if entry is None or float(bias) == entry.bias:
            return
        self.undo_stack.push(
            KernelEdit(
                self,
                entry,
                (entry.kernel, entry.bias),
                (entry.kernel, bias),
                f"bias of {entry.name}",
                merge=("bias",),
            )
        )

    def _on_bank_current_changed(self, index: int) -> None:
        entry = self.bank.current_entry()
        self.editor.setEnabled(entry is not None)
        if entry is not None:
            self.editor.set_kernel(entry.kernel, entry.bias)
        self.animation.set_filter_index(index)

    # ---------------------------------------------------------------------- geometry
    def _on_geometry_changed(self, control: str) -> None:
        values = self.geometry.values()
        if values == self._geometry_shown:
            self.request_compute(control)
            return
        self.undo_stack.push(GeometryEdit(self, self._geometry_shown, values, control))

    # ------------------------------------------------------------------- undo/redo
    def _build_undo(self) -> None:
        """One undo stack for kernel, bias and geometry edits (see :mod:`.undo`)."""
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(500)
        self.editor.set_undo_stack(self.undo_stack)
        self._undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        self._undo_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Undo))
        self._redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        self._redo_action.setShortcut(QKeySequence("Ctrl+Shift+Z"))
        for action, tip in (
            (self._undo_action, "Undo the last kernel, bias or geometry edit"),
            (self._redo_action, "Redo the edit last undone"),
        ):
            action.setToolTip(tip)
            action.setStatusTip(tip)

    def restore_filter(self, entry: BankEntry, kernel: np.ndarray, bias: float) -> bool:
        """Undo/redo: give ``entry`` this kernel and bias, selecting it (False, and a
        status message, when it was removed from the bank)."""
        index = self.bank.index_of(entry)
        if index < 0:
            self.status_message.emit(
                f"Nothing to undo there: the filter {entry.name!r} was removed.", 5000
            )
            return False
        self.bank.update_entry(index, kernel=kernel, bias=bias)
        shown = self.editor.kernel()
        if (
            shown.shape != np.shape(kernel)
            or not np.array_equal(shown, kernel)
            or self.editor.bias.value() != bias
        ):
            self.editor.set_kernel(kernel, bias, keep_history=True)
        return True

    def restore_geometry(self, values: dict, control: str) -> None:
        """Undo/redo: show these geometry values and compute."""
        self._geometry_shown = dict(values)
        if self.geometry.values() != values:
            self.geometry.set_values(build_settings((), values))
        self.request_compute(control)
