"""The explorer's undo: one ``QUndoStack`` for kernel, bias and geometry edits.

Each command holds the values before and after, and the :class:`UndoTarget` that puts
them back (the explorer tab). A kernel command names its filter by the bank entry
itself, not by its row, so it survives selecting another filter and reordering; undoing
it selects that filter again. Consecutive steps of one paint drag, or of one filter's
bias, merge into one command.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from PySide6.QtGui import QUndoCommand

__all__ = ["UndoTarget", "KernelEdit", "GeometryEdit", "describe_geometry"]

_KERNEL_ID = 1001
_GEOMETRY_ID = 1002

#: Names for the undo menu ("Undo stride").
_CONTROL_NAMES = {
    "stride": "stride",
    "padding": "padding",
    "padding_mode": "padding mode",
    "dilation": "dilation",
    "channels": "colour channels",
    "activation": "activation",
    "pool": "pooling",
    "pool_size": "pool size",
    "pool_stride": "pool stride",
    "pool_padding": "pool padding",
}


def describe_geometry(control: str) -> str:
    return _CONTROL_NAMES.get(control, control.replace("_", " "))


class UndoTarget(Protocol):
    """What the commands need from the explorer."""

    def restore_filter(self, entry: Any, kernel: np.ndarray, bias: float) -> bool:
        """Give ``entry`` this kernel and bias (selecting it); False if it is gone."""

    def restore_geometry(self, values: dict[str, Any], control: str) -> None:
        """Show these geometry values (``GeometryPanel.values()``) and compute."""


class KernelEdit(QUndoCommand):
    """A filter's kernel and bias, before and after one edit.

    ``merge`` (a hashable or None): consecutive commands of the same filter with the
    same non-None key become one (a paint drag, a run of bias steps).
    """

    def __init__(
        self,
        target: UndoTarget,
        entry: Any,
        before: tuple[np.ndarray, float],
        after: tuple[np.ndarray, float],
        text: str,
        merge: Any = None,
    ) -> None:
        super().__init__(text)
        self._target = target
        self.entry = entry
        self.before = (np.array(before[0], np.float32), float(before[1]))
        self.after = (np.array(after[0], np.float32), float(after[1]))
        self._merge = merge

    def id(self) -> int:  # noqa: A003 (Qt)
        return _KERNEL_ID if self._merge is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 (Qt)
        if (
            isinstance(other, KernelEdit)
            and other.entry is self.entry
            and other._merge == self._merge
        ):
            self.after = other.after
            return True
        return False

    def redo(self) -> None:
        if not self._target.restore_filter(self.entry, *self.after):
            self.setObsolete(True)

    def undo(self) -> None:
        if not self._target.restore_filter(self.entry, *self.before):
            self.setObsolete(True)


class GeometryEdit(QUndoCommand):
    """The geometry controls' values before and after one committed change."""

    def __init__(
        self,
        target: UndoTarget,
        before: dict[str, Any],
        after: dict[str, Any],
        control: str,
    ) -> None:
        super().__init__(f"{describe_geometry(control)} change")
        self._target = target
        self.before = dict(before)
        self.after = dict(after)
        self.control = control

    def id(self) -> int:  # noqa: A003 (Qt)
        return _GEOMETRY_ID

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 (Qt)
        return False  # every committed value is one step back

    def redo(self) -> None:
        self._target.restore_geometry(self.after, self.control)

    def undo(self) -> None:
        self._target.restore_geometry(self.before, self.control)
