"""The explorer's state as a scene sees it: the inspected pixel, the colour maps
on show, the maps' zoom and centre, and a whole set-up restored at once.

A mixin of :class:`~.widget.ExplorerWidget`.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSignalBlocker

from convlab.data import images as image_data
from convlab.explore import Settings

from .colormaps import CHOICES
from .filter_bank import BankEntry


class SceneStateMixin:
    """The scene-facing state of :class:`~.widget.ExplorerWidget`."""

    # ------------------------------------------------------------------- scenes
    def inspected(self) -> tuple[int, str, int, int] | None:
        """(filter, stage, row, col) of the pixel under the microscope, or None."""
        return self._inspected

    def shown_colormap(self, index: int, stage: str = "conv") -> str:
        """The colour map a filter's map is drawn with now (resolves "auto")."""
        rendered = self._rendered
        if rendered is not None and 0 <= index < len(rendered.names):
            return rendered.names[index].get(stage, "diverging")
        return "diverging"

    def view_state(self) -> tuple[float, tuple[float, float] | None]:
        """(zoom, centre) of the maps' view: zoom 1 and no centre while the view is
        the one Reset zoom chose; else the input's width over the view's width and
        the view's centre in input pixels."""
        image = self.image()
        grid = self.grid
        if image is None or not grid.stages():
            return 1.0, None
        if grid.is_default_view():
            return 1.0, None
        (x0, x1), (y0, y1) = grid.view_box(0, "conv").viewRange()
        width = max(x1 - x0, 1e-6)
        zoom = min(max(image.shape[2] / width, 1e-3), 9999.0)
        return float(zoom), (float((x0 + x1) / 2), float((y0 + y1) / 2))

    def _apply_view(self, zoom: float, center: tuple[float, float] | None) -> None:
        self.grid.reset_zoom()
        image = self.image()
        if image is None or not self.grid.stages() or (zoom == 1.0 and center is None):
            return
        h, w = image.shape[1:]
        cx, cy = center if center is not None else (w / 2, h / 2)
        vw, vh = w / zoom, h / zoom
        self.grid.view_box(0, "conv").setRange(
            QRectF(cx - vw / 2, cy - vh / 2, vw, vh), padding=0.0
        )

    def restore_state(
        self,
        loaded: image_data.LoadedImage,
        entries: list[BankEntry],
        *,
        current: int,
        geometry: Settings,
        colormap: str,
        robust: bool,
        pixel: tuple[int, str, int, int] | None,
        view: tuple[float, tuple[float, float] | None],
    ) -> None:
        """Show a whole set-up at once (a scene): one compute, then the selection and
        the view once its maps are on screen. The caller has validated everything."""
        widgets = (self.bank, self.geometry, self.robust_contrast, self.shared_scale)
        blockers = [QSignalBlocker(w) for w in widgets]
        self.bank.set_bank(entries, current=current)
        self.geometry.set_values(geometry)
        self._geometry_shown = self.geometry.values()
        self.robust_contrast.setChecked(bool(robust))
        self._robust = bool(robust)
        self.shared_scale.setChecked(False)
        self.grid.set_shared_scale(False)
        del blockers
        self._on_bank_current_changed(current)
        self.undo_stack.clear()
        self._colormaps["maps"] = colormap
        with QSignalBlocker(self.colormap_combo):
            self.colormap_combo.setCurrentIndex(CHOICES.index(colormap))
        self._scene_after = (pixel, view)
        self._last_changed = None
        self.set_loaded_image(loaded)  # closes the microscope, computes
        self.display_changed.emit()

    def _after_scene_shown(self) -> None:
        """The first maps of a restored scene are up: its pixel and its view."""
        pending = getattr(self, "_scene_after", None)
        if pending is None or self._pending is not None or self._task is not None:
            return
        self._scene_after = None
        pixel, view = pending
        self._apply_view(*view)
        if pixel is not None:
            self.inspect(*pixel)
