"""The explorer's display: colour maps, robust contrast, the shared scale, the
controls' visibility, the UI scale, and the microscope beside the grid.

A mixin of :class:`~.widget.ExplorerWidget` (it reads the widget's panels and state);
the widget's layout sizes live here because :meth:`DisplayMixin._fit_microscope`
shares them out.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSignalBlocker
from PySide6.QtGui import QAction

from convlab import colormaps as cmaps
from convlab import explore

from .. import theme
from .colormaps import CHOICES

INPUT_HEIGHT = 150  # px at UI scale 1
LEFT_MIN_WIDTH = 250  # px: these three fit a 1024-pixel screen side by side
GRID_MIN_WIDTH = 240
MICROSCOPE_MIN_WIDTH = 240


class DisplayMixin:
    """Display options and the microscope of :class:`~.widget.ExplorerWidget`."""

    # ------------------------------------------------------------ display options
    def colormap(self, view: str) -> str:
        """The colour map choice of ``view`` ("maps", "input" or "microscope")."""
        return self._colormaps[view]

    def set_colormap(self, view: str, choice: str) -> None:
        """Choose the colour map of a view ("auto" only for the feature maps)."""
        if view not in self.VIEWS:
            raise ValueError(
                f"`view` must be one of {', '.join(self.VIEWS)}. "
                f"Received: view={view!r}"
            )
        allowed = CHOICES if view == "maps" else cmaps.NAMES
        if choice not in allowed:
            raise ValueError(
                f"`choice` must be one of {', '.join(allowed)}. "
                f"Received: choice={choice!r}"
            )
        if self._colormaps[view] == choice:
            return
        self._colormaps[view] = choice
        if view == "maps":
            with QSignalBlocker(self.colormap_combo):
                self.colormap_combo.setCurrentIndex(CHOICES.index(choice))
            self.request_compute()  # recolour only: every stage comes from the cache
        elif view == "input":
            self.input_view.set_colormap(choice)
        else:
            self.microscope.set_colormap(choice)
        self.display_changed.emit()

    def robust_contrast_on(self) -> bool:
        return self._robust

    def set_robust_contrast(self, on: bool) -> None:
        """Clip each map's scale at :data:`ROBUST_PERCENTILE` (or not)."""
        self.robust_contrast.setChecked(bool(on))  # -> _on_robust_contrast_toggled

    def controls_visible(self) -> bool:
        return not self.left_panel.isHidden()

    def set_controls_visible(self, visible: bool) -> None:
        """Hide or show the input and control panel (presentation view)."""
        visible = bool(visible)
        if visible == self.controls_visible():
            return
        self.left_panel.setVisible(visible)
        self.show_controls_button.setVisible(not visible)
        self._place_hover_label()
        self.display_changed.emit()

    def toggle_controls(self) -> None:
        self.set_controls_visible(not self.controls_visible())

    def _place_hover_label(self) -> None:
        """The hover read-out beside the view buttons while 40 characters fit there,
        else on its own row above them (at 2x in 1024 px it showed "Hover a")."""
        row = self._top_row
        buttons = [row.itemAt(i).widget() for i in range(row.count())]
        used = sum(
            w.sizeHint().width() + row.spacing()
            for w in buttons
            if w is not None and w is not self.hover_label and not w.isHidden()
        )
        room = self._centre.width() - used
        wide = room >= 40 * self.hover_label.fontMetrics().averageCharWidth()
        target = row if wide else self._hover_row
        if target is self._hover_in:
            return
        self._hover_in.removeWidget(self.hover_label)
        target.insertWidget(0, self.hover_label, 1)
        self._hover_in = target

    def set_ui_scale(self, scale: float) -> None:
        """Scale the explorer's own sizes (the application font is the main window's):
        map titles, the input view, the microscope."""
        self._ui_scale = float(scale)
        self.grid.set_ui_scale(scale)
        self.microscope.set_ui_scale(scale)
        self.animation.set_ui_scale(scale)
        self.input_view.setFixedHeight(round(INPUT_HEIGHT * min(scale, 1.6)))
        theme.relative_font(self.hover_label, theme.HOVER_FONT)
        self._place_hover_label()
        if self.microscope.isVisible():
            self._fit_microscope()

    def set_foreground(self, colour: str) -> None:
        """Text colour of the map titles (high-contrast theme)."""
        self.grid.set_foreground(colour)

    def _on_colormap_combo_changed(self, index: int) -> None:
        self.set_colormap("maps", CHOICES[index])

    def _on_robust_contrast_toggled(self, on: bool) -> None:
        self._robust = bool(on)
        self.request_compute()
        self.display_changed.emit()

    def _on_show_controls_clicked(self) -> None:
        self.set_controls_visible(True)

    def _on_colormap_menu_about_to_show(self) -> None:
        menu = self.sender()
        for action in menu.actions():
            view, choice = action.data()
            action.setChecked(self._colormaps[view] == choice)

    def _on_colormap_menu_triggered(self, action: QAction) -> None:
        view, choice = action.data()
        self.set_colormap(view, choice)

    # ---------------------------------------------------------------------- grid
    def _on_shared_scale_toggled(self, shared: bool) -> None:
        self.grid.set_shared_scale(shared)
        self.request_compute()  # recolour only: every stage comes from the cache

    def _on_grid_hovered(self, text: str) -> None:
        if text:
            self.hover_label.setText(text)
        self.hover_changed.emit(text)

    def _on_grid_pixel_clicked(
        self, index: int, stage: str, row: int, col: int
    ) -> None:
        self.inspect(index, stage, row, col)
        if not self.animation.isHidden():
            self.animation.set_filter_index(index)
            self.animation.jump_to_pixel(stage, row, col)

    def inspect(self, index: int, stage: str, row: int, col: int) -> None:
        """Open the microscope on one pixel of the result on display."""
        self._inspected = (index, stage, row, col)
        self._conv_cell = None
        self.grid.mark_pixel(index, stage, row, col)
        self._refresh_microscope()

    def _on_microscope_pool_cell_clicked(self, row: int, col: int) -> None:
        """Explain the convolution of another cell of the pooling window."""
        self._conv_cell = (row, col)
        self._refresh_microscope()

    def _refresh_microscope(self) -> None:
        result = self._result
        if result is None or self._inspected is None:
            return
        index, stage, row, col = self._inspected
        cell = self._conv_cell if stage == "pooled" else None
        try:
            try:
                ins = explore.inspect_pixel(
                    result, index, stage, row, col, conv_cell=cell
                )
            except ValueError:
                if cell is None:
                    raise
                self._conv_cell = None  # the new geometry moved the window
                ins = explore.inspect_pixel(result, index, stage, row, col)
        except (ValueError, IndexError) as exc:
            self.status_message.emit(f"Microscope: {exc}", 5000)
            self.close_microscope()
            return
        self.microscope.show_inspection(ins)
        was_hidden = self.microscope.isHidden()
        self.animate_button.hide()
        self.splitter.widget(1).layout().activate()  # its minimum width, now
        self.microscope.show()
        if was_hidden or self.microscope.width() < self.microscope.wanted_width():
            self._fit_microscope()
        conv = ins if isinstance(ins, explore.ConvInspection) else ins.conv
        kh, kw = conv.weight.shape[1:]
        dh, dw = conv.step
        top, _, left, _ = conv.pads
        y0, x0 = conv.origin
        self.input_view.show_window(
            QRectF(x0 - left, y0 - top, dw * (kw - 1) + 1, dh * (kh - 1) + 1)
        )

    def _fit_microscope(self) -> None:
        """Give the microscope the width its tables want, taken from the grid (then
        the controls) down to their minimums: the window never grows."""
        sizes = self.splitter.sizes()
        total = sum(sizes)
        if total <= 0:
            return
        hidden = self.left_panel.isHidden()
        left = 0 if hidden else sizes[0]
        left_min = (
            0
            if hidden
            else max(LEFT_MIN_WIDTH, self.left_panel.minimumSizeHint().width())
        )
        # the centre pane: the grid and the row of colour controls above it
        grid_min = max(
            GRID_MIN_WIDTH, self.splitter.widget(1).minimumSizeHint().width()
        )
        want = self.microscope.wanted_width()
        micro = min(want, max(total - left - grid_min, MICROSCOPE_MIN_WIDTH))
        if micro < want and left > left_min:  # narrow the controls too
            give = min(want - micro, left - left_min)
            left -= give
            micro += give
        grid = max(total - left - micro, grid_min)
        self.splitter.setSizes([left, grid, micro])

    def close_microscope(self) -> None:
        self._inspected = None
        self.microscope.hide()
        self.animate_button.show()
        self.grid.clear_marker()
        self.input_view.show_window(None)
