"""DrawCanvas: strokes drawn with the mouse land in image(), clear and undo work."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("pytestqt")
from qt_input import stroke  # noqa: E402

from convlab.gui.draw_canvas import DrawCanvas  # noqa: E402


@pytest.fixture
def canvas(qtbot):
    widget = DrawCanvas(resolution=100, stroke_width=10)
    qtbot.addWidget(widget)
    widget.resize(200, 200)  # the canvas shown at twice its resolution
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_starts_blank(canvas):
    img = canvas.image()
    assert img.shape == (100, 100)
    assert img.dtype == np.float32
    assert not img.any()


def test_vertical_stroke_lands_where_drawn(canvas, qtbot):
    with qtbot.waitSignal(canvas.stroke_finished, timeout=1000):
        stroke(canvas, [(100, 40), (100, 80), (100, 120), (100, 160)])
    img = canvas.image()
    # widget (100, 40..160) is canvas (50, 20..80); width 10 -> columns 45..55
    assert img[50, 50] == pytest.approx(1.0)
    assert img[20:81, 50].min() > 0.9
    assert img[50, 30] == 0.0
    assert img[5, 50] == 0.0
    cols = np.flatnonzero(img.max(axis=0) > 0.5)
    assert 44 <= cols[0] <= 46
    assert 54 <= cols[-1] <= 56
    assert img.max() <= 1.0


def test_stroke_width_changes_ink(canvas):
    canvas.set_stroke_width(4)
    stroke(canvas, [(40, 100), (160, 100)])
    thin = int((canvas.image()[:, 50] > 0.5).sum())
    canvas.clear()
    canvas.set_stroke_width(20)
    stroke(canvas, [(40, 100), (160, 100)])
    thick = int((canvas.image()[:, 50] > 0.5).sum())
    assert 3 <= thin <= 5
    assert 19 <= thick <= 21


def test_clear_and_undo(canvas, qtbot):
    stroke(canvas, [(40, 40), (160, 160)])
    drawn = canvas.image()
    assert drawn.any()
    with qtbot.waitSignal(canvas.drawing_changed, timeout=1000):
        canvas.clear()
    assert not canvas.image().any()
    canvas.undo()  # undo the clear
    np.testing.assert_array_equal(canvas.image(), drawn)
    canvas.undo()  # undo the stroke
    assert not canvas.image().any()
    canvas.undo()  # nothing left to undo: no error
    assert not canvas.image().any()


def test_each_move_signals_a_change(canvas, qtbot):
    seen = []
    canvas.drawing_changed.connect(lambda: seen.append(1))  # same thread: fine
    stroke(canvas, [(50, 50), (60, 60), (70, 70)])
    assert len(seen) >= 3


def test_bad_stroke_width_is_named(canvas):
    with pytest.raises(
        ValueError, match=r"`px` must be a positive number. Received: px=0"
    ):
        canvas.set_stroke_width(0)
