"""The explorer's files: the filter bank saved and loaded as JSON, the maps
exported as PNG and .npy (no pickle).

Every save goes through :func:`convlab._files.atomic_write` (one file) or
:func:`~convlab._files.atomic_write_many` (the set of .npy files of Export all): a
temporary in the same folder, fsync, rename; a full disk or a kill leaves the old
file whole. A bank chosen in the Load dialog is read on the thread pool.

A mixin of :class:`~.widget.ExplorerWidget`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog

from convlab import colormaps as cmaps
from convlab._files import atomic_write, atomic_write_many
from convlab.data import filters as filter_data

from ..workers import Task, describe_exception
from .colormaps import to_rgb


def atomic_save_npy(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """``np.save`` to a temporary file next to ``path``, then rename over it."""
    path = Path(path)
    if path.suffix != ".npy":
        path = path.with_suffix(".npy")
    with atomic_write(path) as handle:
        np.save(handle, array)


def png_bytes(image: QImage) -> bytes:
    """``image`` encoded as PNG in memory (then written atomically)."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError("the image could not be encoded as PNG")
    buffer.close()
    return bytes(data.data())


def atomic_save_png(path: str | os.PathLike[str], image: QImage) -> None:
    """``image`` as a PNG file, written through :func:`atomic_write`."""
    data = png_bytes(image)
    with atomic_write(path) as handle:
        handle.write(data)


def _bank_job(serial: int, path: str) -> tuple:
    """On a pool thread: ``(serial, bank, None)`` or ``(serial, None, why)``."""
    try:
        return serial, filter_data.load_bank(path), None
    except Exception as exc:  # noqa: BLE001 (the message goes to the status bar)
        return serial, None, describe_exception(exc)


class FilesMixin:
    """Bank files and map exports of :class:`~.widget.ExplorerWidget`."""

    def save_bank_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the filter bank", "filters.json", "Filter banks (*.json)"
        )
        if path:
            self.save_bank(path)

    def save_bank(self, path: str) -> bool:
        # the entries themselves: name, kernel, description and bias, checked there
        bank = self.bank.entries()
        try:
            filter_data.save_bank(path, bank)
        except (ValueError, TypeError, OSError) as exc:
            self.status_message.emit(f"Could not save the bank: {exc}", 10000)
            return False
        self.status_message.emit(
            f"Saved {len(bank)} filters to {Path(path).name}", 5000
        )
        return True

    def load_bank_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Load a filter bank", "", "Filter banks (*.json);;All files (*)"
        )
        if path:
            self.open_bank_file(path)

    _bank_serial = 0
    _bank_task: Task | None = None

    def open_bank_file(self, path: str | os.PathLike[str]) -> None:
        """Read a bank on the thread pool, then use it (a newer open supersedes)."""
        self._bank_serial += 1
        task = Task(_bank_job, self._bank_serial, os.fspath(path))
        task.signals.finished.connect(self._on_bank_task_finished)
        task.bank_name = Path(path).name
        self._bank_task = task
        self.status_message.emit(f"Reading the bank {task.bank_name}…", 0)
        task.start()

    def bank_loading(self) -> bool:
        return self._bank_task is not None

    def _on_bank_task_finished(self, outcome: tuple) -> None:
        serial, bank, why = outcome
        if self._bank_task is None or serial != self._bank_serial:
            return
        name, self._bank_task = self._bank_task.bank_name, None
        if bank is None:
            self.status_message.emit(f"Could not load the bank: {why}", 15000)
            return
        self._use_bank(bank, name)

    def _use_bank(self, bank: list, name: str) -> None:
        self.bank.set_bank(bank)
        self.undo_stack.clear()  # the commands name filters that are gone
        self.status_message.emit(f"Loaded {len(bank)} filters from {name}", 5000)

    def load_bank(self, path: str) -> bool:
        try:
            bank = filter_data.load_bank(path)
        except (ValueError, OSError) as exc:
            self.status_message.emit(f"Could not load the bank: {exc}", 10000)
            return False
        self._use_bank(bank, Path(path).name)
        return True

    # ---------------------------------------------------------------------- export
    def selected_map(self) -> tuple[str, np.ndarray] | None:
        """(label, array) of the selected map (the last clicked; conv of filter 1 at
        first)."""
        if self._result is None:
            return None
        index, stage = self.grid.selected()
        index = min(index, len(self._result.maps) - 1)
        array = self._result.maps[index].stage(stage)
        if array is None:
            stage, array = "conv", self._result.maps[index].conv
        return f"{self._result.maps[index].name} {stage}", array

    def export_grid_png(self, path: str) -> bool:
        try:
            atomic_save_png(path, self.grid.grab().toImage())
        except OSError as exc:
            self.status_message.emit(f"Could not save the grid: {exc}", 10000)
            return False
        self.status_message.emit(f"Saved the grid to {path}", 5000)
        return True

    def export_map_png(self, path: str) -> bool:
        selected = self.selected_map()
        if selected is None:
            return False
        label, array = selected
        index, stage = self.grid.selected()
        index = min(index, len(self._result.maps) - 1)
        try:  # the colours and range of the map on screen
            levels = self.grid.levels(index, stage)
            name = self.grid.colormap(index, stage)
        except (IndexError, KeyError):
            name = cmaps.default_for(cmaps.is_signed(array))
            levels = cmaps.limits(array, signed=name == "diverging")
        rgb = np.ascontiguousarray(to_rgb(array, levels, name))
        h, w = rgb.shape[:2]
        image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        try:
            atomic_save_png(path, image)
        except OSError as exc:
            self.status_message.emit(f"Could not save {label}: {exc}", 10000)
            return False
        self.status_message.emit(f"Saved {label} ({w}×{h}) to {path}", 5000)
        return True

    def export_npy(self, path: str) -> bool:
        selected = self.selected_map()
        if selected is None:
            return False
        label, array = selected
        try:
            atomic_save_npy(path, np.array(array))
        except OSError as exc:
            self.status_message.emit(f"Could not save {path}: {exc}", 10000)
            return False
        self.status_message.emit(f"Saved {label} {array.shape} to {path}", 5000)
        return True

    def export_all_npy(self, path: str) -> list[str]:
        """Each stage of every filter stacked ``(F, H, W)``: ``<stem>_<stage>.npy``."""
        if self._result is None:
            return []
        base = Path(path)
        base = base.with_suffix("") if base.suffix == ".npy" else base
        files: list[tuple[str, np.ndarray]] = []
        for stage in self.grid.stages():
            arrays = [fm.stage(stage) for fm in self._result.maps]
            if len({a.shape for a in arrays}) == 1:
                files.append((f"{base}_{stage}.npy", np.stack(arrays)))
            else:
                for i, a in enumerate(arrays):
                    files.append((f"{base}_{stage}_{i + 1}.npy", a))
        try:  # one set: all new files or all the old ones
            with atomic_write_many([name for name, _ in files]) as handles:
                for handle, (_, array) in zip(handles, files, strict=True):
                    np.save(handle, np.asarray(array))
        except (OSError, ValueError) as exc:
            self.status_message.emit(f"Could not save the arrays: {exc}", 10000)
            return []
        written = [name for name, _ in files]
        self.status_message.emit(
            f"Saved {len(written)} .npy files next to {base}", 5000
        )
        return written

    def export_grid_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the grid", "feature_maps.png", "PNG images (*.png)"
        )
        if path:
            self.export_grid_png(path)

    def export_map_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the selected map", "map.png", "PNG images (*.png)"
        )
        if path:
            self.export_map_png(path)

    def export_npy_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the selected map's array", "map.npy", "NumPy arrays (*.npy)"
        )
        if path:
            self.export_npy(path)

    def export_all_npy_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Save every map (one file per stage)",
            "feature_maps.npy",
            "NumPy arrays (*.npy)",
        )
        if path:
            self.export_all_npy(path)
