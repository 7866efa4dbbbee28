"""A scroll area for panels that leaves PageUp/PageDown to the lecture.

``QScrollArea`` scrolls a page on PageUp/PageDown and so swallows a presenter clicker's
keys before they reach the window, which steps through the animation and the scenes of
a lecture with them. Panels scroll with the wheel, the scroll bar and the arrow keys.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QScrollArea, QWidget

__all__ = ["PanelScrollArea"]

_PASSED_ON = (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown)


class PanelScrollArea(QScrollArea):
    """A frameless, resizable scroll area around ``widget`` that passes PageUp and
    PageDown on to its parents."""

    def __init__(self, widget: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setWidget(widget)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt)
        if event.key() in _PASSED_ON:
            event.ignore()  # on to the window: the lecture's keys
            return
        super().keyPressEvent(event)
