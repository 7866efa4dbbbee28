"""The explorer's compute: settings -> validation -> a :class:`~.render.Renderer`
task on the thread pool (latest settings win) -> the grid, and the message shown
instead of maps that would belong to another image.

A mixin of :class:`~.widget.ExplorerWidget` (its signals are the widget's).
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from convlab import explore
from convlab.explore import Result, Settings

from ..workers import Task
from .colormaps import ROBUST_PERCENTILE
from .render import Rendered
from .settings import build_settings


class ComputeMixin:
    """Compute and result state of :class:`~.widget.ExplorerWidget`."""

    # ----------------------------------------------------------------------- state
    def settings(self) -> Settings:
        """The frozen settings the widgets show now."""
        return build_settings(self.bank.filters(), self.geometry.values())

    def result(self) -> Result | None:
        """The result on display (the last good one)."""
        return self._result

    def image(self) -> np.ndarray | None:
        return None if self._loaded is None else self._loaded.array

    def rendered(self) -> Rendered | None:
        """The result on display with its pixels."""
        return self._rendered

    def is_up_to_date(self) -> bool:
        """The view shows the newest valid settings (nothing running or pending)."""
        shown = self._rendered
        return (
            shown is not None
            and self._task is None
            and self._pending is None
            and self._requested
            == (
                shown.result.settings,
                shown.shared,
                shown.colormap,
                shown.clip_percentile,
            )
        )

    def is_busy(self) -> bool:
        return self._task is not None

    def set_kernels_ready(self) -> None:
        """The JIT warm-up finished: computes may start."""
        self._kernels_ready = True
        self.request_compute()

    # ---------------------------------------------------------------------- compute
    def request_compute(self, changed: str | None = None) -> None:
        """Validate the current settings; compute (latest wins) when they are valid."""
        if self._loaded is None:
            return
        if changed is not None:
            self._last_changed = changed
        settings = self.settings()
        image = self._loaded.array
        plan = explore.plan(settings, image.shape, blame=self._last_changed)
        problems = list(plan.problems)
        self.geometry.show_problems(problems)
        if problems and self._image_changed:
            self._clear_stale_maps(plan)
            return
        if problems:
            self._invalid_shown = True
            self.status_message.emit(
                "Invalid setting (see the message by the control); the maps show the "
                "last valid result.",
                6000,
            )
            return
        if getattr(self, "_invalid_shown", False):
            self._invalid_shown = False
            self.status_message.emit("", 1)
        shared = self.shared_scale.isChecked()
        clip = ROBUST_PERCENTILE if self._robust else None
        colormap = self._colormaps["maps"]
        self._requested = (settings, shared, colormap, clip)
        self._pending = (image, settings, shared, colormap, clip)
        if self._task is None and self._kernels_ready:
            self._start_next()
        else:  # nothing to draw yet: the shapes at least (else they follow the maps)
            self.shapes.update_for(plan)

    def _start_next(self) -> None:
        if self._pending is None:
            return
        image, settings, shared, colormap, clip = self._pending
        self._pending = None
        task = Task(self._renderer, image, settings, shared, colormap, clip)
        task.signals.finished.connect(self._on_compute_finished)
        task.signals.failed.connect(self._on_compute_failed)
        task.image_source = image  # which image this result will belong to
        self._task = task
        self.busy_changed.emit(True)
        task.start()

    def _on_compute_finished(self, rendered: Rendered) -> None:
        source = getattr(self._task, "image_source", None)
        self._task = None
        self._start_next()  # the newest settings first, then draw this one
        if self._loaded is not None and source is self._loaded.array:
            self._show_result(rendered)  # else: computed for the previous image
        if self._task is None:
            self.busy_changed.emit(False)

    def _on_compute_failed(self, message: str) -> None:
        self._task = None
        self._start_next()
        if self._task is None:
            self.busy_changed.emit(False)
        self.status_message.emit(
            f"Could not compute the feature maps: {message}", 10000
        )

    def _show_result(self, rendered: Rendered) -> None:
        result = rendered.result
        self._image_changed = False
        self._show_maps_again()
        self._result = result
        self._rendered = rendered
        self.grid.set_rendered(rendered)
        # the maps first, then the text that describes them (1-2 ms of rich-text layout)
        self.shapes.update_for(result.plan)
        if self._inspected is not None:
            self._refresh_microscope()
        if not self.animation.isHidden():
            self.animation.set_result(result)
        self._after_scene_shown()
        self.maps_displayed.emit(result)

    def wait_until_idle(self, timeout_s: float = 30.0) -> bool:
        """Process events until no compute is running or pending (tests, scripts)."""
        deadline = time.perf_counter() + timeout_s
        app = QApplication.instance()
        while self._task is not None or (
            self._pending is not None and self._kernels_ready
        ):
            if time.perf_counter() > deadline:
                return False
            app.processEvents()
            time.sleep(0.001)
        return True

    # ------------------------------------------------------------ stale maps
    def _build_problem_ui(self) -> None:
        """A message shown instead of the grid when the maps on show would belong to
        another image (the new one's settings are invalid)."""
        self.problem_label = QLabel()
        self.problem_label.setObjectName("problem_label")
        self.problem_label.setWordWrap(True)
        self.problem_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.problem_label.setStyleSheet("color: #c62828; font-size: 14pt;")
        self.problem_label.hide()
        # beside the grid, in the splitter it shares with the animation panel
        self.centre_splitter.insertWidget(
            self.centre_splitter.indexOf(self.grid) + 1, self.problem_label
        )

    def _clear_stale_maps(self, plan: explore.Plan) -> None:
        """No maps rather than the previous image's: say what is wrong instead."""
        self._pending = None
        self._result = None
        self._rendered = None
        self.close_microscope()
        self.grid.hide()
        messages = "\n".join(message for _, message in plan.problems)
        self.problem_label.setText(
            "No maps for this image with the current settings:\n"
            f"{messages}\nChange the setting marked in red."
        )
        self.problem_label.show()
        self.shapes.update_for(plan)
        self.status_message.emit(
            f"The settings do not fit this image: {messages}", 10000
        )

    def _show_maps_again(self) -> None:
        if self.grid.isHidden():
            self.problem_label.hide()
            self.grid.show()

    def maps_cleared(self) -> bool:
        """True while the grid is replaced by a problem (no maps for this image)."""
        return self.grid.isHidden()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Forget pending work and wait for a running compute to end."""
        self._pending = None
        if self._task is not None:
            from PySide6.QtCore import QThreadPool

            QThreadPool.globalInstance().waitForDone(timeout_ms)
