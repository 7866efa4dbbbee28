"""The explorer's files: the filter bank saved and loaded as JSON, the maps
exported as PNG and .npy (atomic writes, no pickle).

A mixin of :class:`~.widget.ExplorerWidget`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog

from convlab import colormaps as cmaps
from convlab._files import atomic_write
from convlab.data import filters as filter_data

from .colormaps import to_rgb


def atomic_save_npy(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """``np.save`` to a temporary file next to ``path``, then rename over it."""
    path = Path(path)
    if path.suffix != ".npy":
        path = path.with_suffix(".npy")
    with atomic_write(path) as handle:
        np.save(handle, array)


class FilesMixin:
    """Bank files and map exports of :class:`~.widget.ExplorerWidget`."""

    def save_bank_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the filter bank", "filters.json", "Filter banks (*.json)"
        )
        if path:
            self.save_bank(path)

    def save_bank(self, path: str) -> bool:
        bank = [
            filter_data.FilterPreset(e.name, e.kernel, e.description)
            for e in self.bank.entries()
        ]
        try:
            filter_data.save_bank(path, bank)
        except (ValueError, OSError) as exc:
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
            self.load_bank(path)

    def load_bank(self, path: str) -> bool:
        try:
            bank = filter_data.load_bank(path)
        except (ValueError, OSError) as exc:
            self.status_message.emit(f"Could not load the bank: {exc}", 10000)
            return False
        self.bank.set_bank(bank)
        self.undo_stack.clear()  # the commands name filters that are gone
        self.status_message.emit(
            f"Loaded {len(bank)} filters from {Path(path).name}", 5000
        )
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
        ok = self.grid.grab().save(path, "PNG")
        self.status_message.emit(
            f"Saved the grid to {path}" if ok else f"Could not write {path}", 5000
        )
        return ok

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
        ok = image.save(path, "PNG")
        self.status_message.emit(
            f"Saved {label} ({w}×{h}) to {path}" if ok else f"Could not write {path}",
            5000,
        )
        return ok

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
        written = []
        try:
            for stage in self.grid.stages():
                arrays = [fm.stage(stage) for fm in self._result.maps]
                if len({a.shape for a in arrays}) == 1:
                    target = f"{base}_{stage}.npy"
                    atomic_save_npy(target, np.stack(arrays))
                    written.append(target)
                else:
                    for i, a in enumerate(arrays):
                        target = f"{base}_{stage}_{i + 1}.npy"
                        atomic_save_npy(target, a)
                        written.append(target)
        except OSError as exc:
            self.status_message.emit(f"Could not save the arrays: {exc}", 10000)
            return written
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
