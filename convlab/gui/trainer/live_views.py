"""The trainer's live views: the test image's and the drawn digit's predictions,
the first layer's filters and the activations, recomputed for the current model (by
the training worker while it trains, else one thread-pool task at a time, the latest
request winning).

A mixin of :class:`~.widget.TrainerWidget` (its signals and state are the widget's).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Slot

from convlab.train.run import RunState
from convlab.train.session import SnapshotEvent

from ..workers import Task
from .warming import compute_probe_meanwhile

_ACTIVATIONS_TAB = 2


class LiveViewsMixin:
    """Live views of :class:`~.widget.TrainerWidget`."""

    # ============================================================ live views
    def _show_snapshot(self, ev: SnapshotEvent) -> None:
        if ev.filters is not None:
            self.filters.set_weight(ev.filters[1], ev.filters[0])
        if ev.test_probe is not None:
            p = ev.test_probe
            index = self.training_tab.test_index_spin.value()
            self.training_tab.show_test_probe(p, self.run.label_of_test(index))
            if self.tabs.currentIndex() == _ACTIVATIONS_TAB:
                self.activations_tab.view.set_activations(p.activations, image=p.image)
            else:
                self._pending_test_probe = p
        if ev.draw_probe is not None and self.draw_panel.digit is not None:
            self.draw_panel.show_result(
                ev.draw_probe.probabilities, ev.draw_probe.activations
            )

    @Slot(int)
    def _on_tabs_current_changed(self, index: int) -> None:
        pending = self._pending_test_probe
        if index == _ACTIVATIONS_TAB and pending is not None:
            self.activations_tab.view.set_activations(
                pending.activations, image=pending.image
            )
            self._pending_test_probe = None

    def _request_probe(self) -> None:
        """Recompute the live views for the current model: the worker does it during
        training; otherwise one thread-pool task at a time, the latest request
        winning."""
        if self.run.model is None or self._closing:
            return
        if self.run.state == RunState.TRAINING and self._worker is not None:
            return  # the session takes a snapshot when it sees the new inputs
        if self._probe_task is not None:
            self._probe_dirty = True
            return
        test, draw, version = self.run.probes.get()
        # NumPy while the kernels compile: the probe holds the model's lock
        task = Task(
            compute_probe_meanwhile, self.run.model, self.run.lock, test, draw, version
        )
        task.signals.finished.connect(self._on_probe_finished)
        task.signals.failed.connect(self._on_probe_failed)
        self._probe_task = task
        self._probe_dirty = False
        task.start()

    def probe_pending(self) -> bool:
        """A prediction for the live views is being computed off the GUI thread."""
        return self._probe_task is not None

    @Slot(object)
    def _on_probe_finished(self, ev: SnapshotEvent) -> None:
        self._probe_task = None
        if self._closing:
            return
        self._show_snapshot(ev)
        if self._probe_dirty:
            self._request_probe()

    @Slot(str)
    def _on_probe_failed(self, message: str) -> None:
        self._probe_task = None
        self._message(f"Could not run the model: {message}", 8000)

    @Slot(int)
    def _on_test_index_changed(self, index: int) -> None:
        image = self.run.test_image(index)
        if image is None:
            return
        self.run.probes.set_test_image(image)
        self._request_probe()

    @Slot(object)
    def _on_draw_digit_changed(self, digit: Any) -> None:
        self.run.probes.set_draw_image(digit)
        if digit is not None:
            self._request_probe()
