"""Mouse input for GUI tests, as a user gives it (shared by the canvas and trainer
tests).

Qt is imported inside the helpers, so collecting this module (``--doctest-modules``)
needs no Qt.
"""

from __future__ import annotations


def stroke(widget, points) -> None:
    """Press the left button at ``points[0]``, move through the rest, release at the
    last point (widget coordinates)."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    QTest.mousePress(
        widget,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        QPoint(*points[0]),
    )
    for x, y in points[1:]:
        QTest.mouseMove(widget, QPoint(x, y))
    QTest.mouseRelease(
        widget,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        QPoint(*points[-1]),
    )
