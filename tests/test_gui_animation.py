"""The explorer's sliding-window animation driven as a user would; what it shows is
checked against the slow numpy references in tests/naive.py and naive_pooling.py."""

from __future__ import annotations

import os
import re

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

pytest.importorskip("pytestqt")
import naive  # noqa: E402
import naive_pooling  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from convlab import explore  # noqa: E402
from convlab.data import images as image_data  # noqa: E402
from convlab.gui.app import configure_pyqtgraph  # noqa: E402

TIMEOUT = 60_000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the classic 7x7 demo: small integers, so every value is exact in float32
X7 = np.array(
    [
        [0, 1, 1, 1, 0, 0, 0],
        [0, 0, 1, 1, 1, 0, 0],
        [0, 0, 0, 1, 1, 1, 0],
        [0, 0, 0, 1, 1, 0, 0],
        [0, 0, 1, 1, 0, 0, 0],
        [0, 1, 1, 0, 0, 0, 0],
        [1, 1, 0, 0, 0, 0, 0],
    ],
    np.float32,
)
KERNEL = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], np.float32)
BIAS = 0.5


@pytest.fixture
def window(qtbot):
    configure_pyqtgraph()
    from convlab.gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1280, 720)
    win.show()
    qtbot.waitUntil(lambda: win.explorer.is_up_to_date(), timeout=TIMEOUT)
    yield win
    win.close()


def settle(qtbot, explorer):
    qtbot.waitUntil(explorer.is_up_to_date, timeout=TIMEOUT)


def use_scene(qtbot, explorer, image=X7, **geometry):
    """The 7x7 input and one 3x3 filter, with ``geometry`` over the defaults."""
    settings = explore.Settings(
        padding=geometry.pop("padding", "valid"),
        activation=geometry.pop("activation", "none"),
        pool=geometry.pop("pool", "none"),
        **geometry,
    )
    explorer.set_loaded_image(
        image_data.LoadedImage(image[None], image.shape[::-1], False, "7x7")
    )
    explorer.geometry.set_values(settings)
    explorer.bank.set_bank([explore.Filter("x", KERNEL, BIAS)])
    settle(qtbot, explorer)


def reference_conv(explorer):
    """The conv map from naive.conv2d, for the explorer's current settings."""
    s = explorer.result().settings
    x = explorer.image()
    weight = (KERNEL / x.shape[0])[None, None]
    return naive.conv2d(
        x[None],
        weight,
        np.array([BIAS]),
        stride=s.stride,
        padding=s.conv_padding(),
        dilation=s.dilation,
        padding_mode=s.padding_mode,
    )[0, 0]


def shown_output(panel) -> float:
    """The value the read-out says is written (the coloured number)."""
    match = re.search(r"<span[^>]*>([-0-9.e+]+)</span>", panel.readout.text())
    assert match, panel.readout.text()
    return float(match.group(1))


def shown_position(panel) -> tuple[int, int]:
    match = re.search(r"y\[(\d+), (\d+)\]", panel.readout.text())
    assert match, panel.readout.text()
    return int(match.group(1)), int(match.group(2))


def open_panel(qtbot, win):
    win.activateWindow()
    explorer = win.explorer
    explorer.open_animation()
    panel = explorer.animation
    qtbot.waitUntil(panel.isVisible, timeout=TIMEOUT)
    panel.canvas.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is panel.canvas)
    return panel


def press(qtbot, key):
    qtbot.keyClick(QApplication.focusWidget(), key)


def test_keys_step_and_show_the_reference_value(window, qtbot):
    explorer = window.explorer
    use_scene(qtbot, explorer)
    panel = open_panel(qtbot, window)
    ref = reference_conv(explorer)
    oh, ow = ref.shape
    assert panel.step_count() == oh * ow == 25
    assert panel.index() == 0
    for key, want in [
        (Qt.Key.Key_Right, 1),
        (Qt.Key.Key_Right, 2),
        (Qt.Key.Key_PageDown, 3),
        (Qt.Key.Key_Left, 2),
        (Qt.Key.Key_PageDown, 3),
        (Qt.Key.Key_PageDown, 4),
        (Qt.Key.Key_PageDown, 5),
        (Qt.Key.Key_PageUp, 4),
    ]:
        press(qtbot, key)
        assert panel.index() == want
        oy, ox = divmod(want, ow)
        assert shown_position(panel) == (oy, ox)
        assert shown_output(panel) == pytest.approx(ref[oy, ox], abs=1e-4)
        assert panel.scrub.value() == want
    # Space plays and pauses
    press(qtbot, Qt.Key.Key_Space)
    assert panel.is_playing()
    press(qtbot, Qt.Key.Key_Space)
    assert not panel.is_playing()


def test_page_keys_pass_on_at_the_ends_and_reach_the_panel_from_the_grid(window, qtbot):
    explorer = window.explorer
    use_scene(qtbot, explorer)
    panel = open_panel(qtbot, window)
    with qtbot.waitSignal(panel.reached_start, timeout=1000):
        press(qtbot, Qt.Key.Key_PageUp)
    assert panel.index() == 0
    # a clicker's PageDown lands on whatever was clicked last: here the grid
    explorer.grid.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is explorer.grid)
    press(qtbot, Qt.Key.Key_PageDown)
    assert panel.index() == 1
    panel.last()
    ends = []
    panel.reached_end.connect(lambda: ends.append(panel.index()))
    press(qtbot, Qt.Key.Key_PageDown)
    assert ends == [panel.step_count() - 1]  # once per key press
    assert panel.index() == panel.step_count() - 1
    # hidden: the keys are the widgets' again
    explorer.close_animation()
    press(qtbot, Qt.Key.Key_PageUp)
    assert panel.index() == panel.step_count() - 1


def test_scrub_and_the_buttons(window, qtbot):
    explorer = window.explorer
    use_scene(qtbot, explorer)
    panel = open_panel(qtbot, window)
    ref = reference_conv(explorer)
    panel.scrub.setValue(17)  # what a drag does
    assert panel.index() == 17
    assert shown_position(panel) == divmod(17, ref.shape[1])
    assert shown_output(panel) == pytest.approx(ref[3, 2], abs=1e-4)
    assert panel.canvas._step.index == 17
    qtbot.mouseClick(panel.back_button, Qt.MouseButton.LeftButton)
    assert panel.index() == 16
    qtbot.mouseClick(panel.last_button, Qt.MouseButton.LeftButton)
    assert panel.index() == 24
    qtbot.mouseClick(panel.first_button, Qt.MouseButton.LeftButton)
    assert panel.index() == 0


def test_click_an_output_pixel_in_the_panel_and_on_the_grid(window, qtbot):
    explorer = window.explorer
    use_scene(qtbot, explorer, activation="relu", pool="max")
    panel = open_panel(qtbot, window)
    ref = reference_conv(explorer)
    ow = ref.shape[1]
    for stage, (row, col) in [("conv", (3, 1)), ("activation", (4, 4))]:
        point = panel.canvas.cell_centre(stage, row, col).toPoint()
        qtbot.mouseClick(panel.canvas, Qt.MouseButton.LeftButton, pos=point)
        assert panel.index() == row * ow + col
        assert shown_output(panel) == pytest.approx(ref[row, col], abs=1e-4)
    # the pooled map: the first cell its window reads (pool 2x2 stride 2)
    point = panel.canvas.cell_centre("pooled", 1, 1).toPoint()
    qtbot.mouseClick(panel.canvas, Qt.MouseButton.LeftButton, pos=point)
    assert shown_position(panel) == (2, 2)
    # the main grid's conv map
    from test_gui_explorer import stable_pixel_point

    grid = explorer.grid
    point = stable_pixel_point(qtbot, grid, 0, "conv", 1, 3)
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert shown_position(panel) == (1, 3)
    assert shown_output(panel) == pytest.approx(ref[1, 3], abs=1e-4)


def test_animate_from_the_microscope(window, qtbot):
    explorer = window.explorer
    use_scene(qtbot, explorer)
    explorer.inspect(0, "conv", 2, 3)
    qtbot.mouseClick(explorer.microscope.animate_button, Qt.MouseButton.LeftButton)
    panel = explorer.animation
    assert panel.isVisible()
    assert shown_position(panel) == (2, 3)


def _set_stride(g):
    g.stride_h.setValue(2)


def _set_reflect(g):
    g.padding.setCurrentIndex(g.padding.findData("explicit"))
    g.pad_top.setValue(2)
    g.pad_left.setValue(1)
    g.pad_right.setValue(0)
    g.padding_mode.setCurrentIndex(g.padding_mode.findData("reflect"))


def _set_dilation(g):
    g.dilation_w.setValue(2)


def _set_same_stride(g):  # "same" with stride 2 pads asymmetrically
    g.padding.setCurrentIndex(g.padding.findData("same"))
    g.stride_w.setValue(2)
    g.padding_mode.setCurrentIndex(g.padding_mode.findData("circular"))


def _set_ceil(g):
    g.pool.setCurrentIndex(g.pool.findData("max"))
    g.pool_stride_h.setValue(2)
    g.pool_h.setValue(2)
    g.ceil_mode.setChecked(True)


@pytest.mark.parametrize(
    "change", [_set_stride, _set_reflect, _set_dilation, _set_same_stride, _set_ceil]
)
def test_follows_the_geometry(window, qtbot, change):
    explorer = window.explorer
    use_scene(qtbot, explorer)
    panel = open_panel(qtbot, window)
    panel.go_to(3)
    change(explorer.geometry)
    settle(qtbot, explorer)
    ref = reference_conv(explorer)
    oh, ow = ref.shape
    assert (oh, ow) != (5, 5) or change is _set_ceil
    assert panel.step_count() == oh * ow
    assert panel.sliding_window().output_shape == (oh, ow)
    for index in (0, panel.step_count() // 2, panel.step_count() - 1):
        panel.go_to(index)
        oy, ox = divmod(index, ow)
        assert shown_position(panel) == (oy, ox)
        assert shown_output(panel) == pytest.approx(ref[oy, ox], abs=1e-4)
    s = explorer.result().settings
    if s.pool != "none":
        act = ref  # activation "none"
        pooled, _ = naive_pooling.max_pool2d(
            act[None, None],
            s.pool_size,
            s.pool_stride,
            s.pool_padding_arg(),
            s.ceil_mode,
        )
        assert "pooled" in panel.canvas.panel_names()
        assert panel.sliding_window().maps.pooled.shape == pooled.shape[2:]
        # the last output is read by a ceil-mode window (7 rows -> 5 -> 3 windows)
        panel.last()
        step = panel.current_step()
        assert step.pools
        assert step.pools[0].value == pytest.approx(
            pooled[0, 0, step.pools[0].row, step.pools[0].col]
        )


def test_per_tap_steps_run_the_sum(window, qtbot):
    explorer = window.explorer
    use_scene(qtbot, explorer)
    panel = open_panel(qtbot, window)
    ref = reference_conv(explorer)
    panel.go_to(7)  # y[1, 2]
    panel.taps.setChecked(True)
    assert panel.step_count() == ref.size * KERNEL.size
    assert shown_position(panel) == (1, 2)
    for _ in range(KERNEL.size - 1):
        press(qtbot, Qt.Key.Key_Right)
    assert shown_position(panel) == (1, 2)
    assert shown_output(panel) == pytest.approx(ref[1, 2], abs=1e-4)
    window_values = X7[1:4, 2:5]
    assert panel.current_step().partial == pytest.approx(
        float((window_values * KERNEL).sum())
    )


def test_per_tap_position_survives_a_smaller_kernel(window, qtbot):
    """On the last tap of a 3x3 kernel, a 2x2 bank keeps the window on its own last
    tap (the GUI fuzz found tap 4 asked of a 2x2 kernel: a ValueError after the
    compute)."""
    explorer = window.explorer
    use_scene(qtbot, explorer)
    panel = open_panel(qtbot, window)
    panel.go_to(0)
    panel.taps.setChecked(True)
    for _ in range(KERNEL.size - 1):
        press(qtbot, Qt.Key.Key_Right)
    assert panel.current_step().tap == KERNEL.size - 1
    small = np.array([[1.0, -1.0], [0.5, 0.25]], np.float32)
    explorer.bank.set_bank([explore.Filter("2x2", small, 0.0)])
    settle(qtbot, explorer)
    assert panel.step_count() == 6 * 6 * 4  # a 6x6 output, 4 taps each
    assert panel.current_step().tap == 3
    assert shown_position(panel) == (0, 0)


def test_play_advances_and_stops_at_the_end(window, qtbot):
    explorer = window.explorer
    use_scene(qtbot, explorer)
    panel = open_panel(qtbot, window)
    panel.set_speed(60.0)
    qtbot.mouseClick(panel.play_button, Qt.MouseButton.LeftButton)
    assert panel.is_playing()
    qtbot.waitUntil(lambda: panel.index() >= 3, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not panel.is_playing(), timeout=TIMEOUT)
    assert panel.index() == panel.step_count() - 1
    with pytest.raises(ValueError, match=r"Received: steps_per_second=0"):
        panel.set_speed(0)


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_the_panel_never_widens_the_window_at_1024x768(window, qtbot, scale):
    explorer = window.explorer
    window.resize(1024, 768)
    explorer.set_ui_scale(scale)
    assert explorer.load_image_file(
        os.path.join(ROOT, "assets", "samples", "mnist_digit_7.png")
    )
    settle(qtbot, explorer)
    panel = open_panel(qtbot, window)
    panel.jump_to_pixel("conv", 12, 14)
    qtbot.waitUntil(lambda: window.width() == 1024)
    assert window.minimumSizeHint().width() <= 1024
    assert panel.width() < 1024
    panel.taps.setChecked(True)
    explorer.set_controls_visible(False)
    explorer.set_controls_visible(True)
    QApplication.processEvents()
    assert window.width() == 1024
    assert window.minimumSizeHint().width() <= 1024
    # the MNIST digit is shown as a crop with numbers, beside the whole input
    assert panel.canvas.panel_names()[:2] == ["input", "thumb"]


def test_the_panel_fits_beside_the_controls_at_1024_with_a_doubled_font(qtbot):
    from convlab.gui.explorer.animation import AnimationPanel
    from convlab.gui.explorer.widget import LEFT_MIN_WIDTH

    app = QApplication.instance()
    font = app.font()
    try:
        big = app.font()
        big.setPointSizeF(18.0)  # UI scale 2 of the 9 pt default
        app.setFont(big)
        panel = AnimationPanel()
        qtbot.addWidget(panel)
        panel.set_ui_scale(2.0)
        s = explore.Settings(filters=(explore.Filter("x", KERNEL),), padding="valid")
        panel.set_result(explore.compute(X7, s), 0)
        assert panel.minimumSizeHint().width() <= 1024 - LEFT_MIN_WIDTH
    finally:
        app.setFont(font)
