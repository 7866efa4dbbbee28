"""The explorer on small screens and in front of a lecture hall: the window fits from
1024x768 up and never grows on a click, the presentation view (UI scale, high
contrast, hidden controls, full screen, remembered in a temporary QSettings), colour
maps by sign, and the layout bugs of the lecture issue (#9)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QPoint, QSettings, Qt  # noqa: E402
from PySide6.QtGui import QKeySequence, QPalette, QTextCursor, QTextTable  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QApplication,
    QComboBox,
    QPushButton,
    QSpinBox,
    QWidget,
)

from convlab import colormaps as cm  # noqa: E402
from convlab.gui import theme  # noqa: E402
from convlab.gui.app import configure_pyqtgraph  # noqa: E402

TIMEOUT = 60_000


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A QSettings file in tmp_path (the user's own file is never touched)."""
    path = tmp_path / "convlab.ini"
    monkeypatch.setenv(theme.SETTINGS_ENV, str(path))
    return QSettings(str(path), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot, store):
    from convlab.gui.main_window import MainWindow

    configure_pyqtgraph()
    made = []

    def make(width=1280, height=720, settings=store):
        win = MainWindow(settings=settings)
        qtbot.addWidget(win)
        win.resize(width, height)
        win.show()
        qtbot.waitUntil(win.explorer.is_up_to_date, timeout=TIMEOUT)
        made.append(win)
        return win

    yield make
    for win in made:
        win.close()
    theme.restore_defaults()


def settle(qtbot, win):
    qtbot.waitUntil(win.explorer.is_up_to_date, timeout=TIMEOUT)
    for _ in range(3):
        QApplication.processEvents()


def click_pixel(qtbot, explorer, index, stage, row, col):
    grid = explorer.grid
    point = grid.mapFromScene(grid.scene_pos_of(index, stage, row, col))
    with qtbot.waitSignal(grid.pixel_clicked, timeout=5000):
        qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(point))
    QApplication.processEvents()


# -- fits any screen -----------------------------------------------------------------
def test_window_stays_within_1024x768_after_a_click(make_window, qtbot):
    win = make_window(1024, 768)
    explorer = win.explorer
    assert win.width() <= 1024
    assert win.minimumSizeHint().width() <= 1024
    assert win.minimumSize().width() <= 1024
    assert win.minimumSize().height() <= 768
    click_pixel(qtbot, explorer, 0, "conv", 200, 260)
    assert explorer.microscope.isVisible()
    # the hover text of the click is long; neither it nor the microscope widens
    for _ in range(5):
        QApplication.processEvents()
    assert win.width() <= 1024
    assert win.minimumSizeHint().width() <= 1024
    assert win.sizeHint().width() <= 1024 or win.width() <= 1024
    # the explorer itself fits: its tab does not scroll sideways
    area = win.tabs.currentWidget()
    assert area.horizontalScrollBar().maximum() == 0
    assert explorer.splitter.sizes()[2] >= 200  # the microscope got a real pane
    win.explorer.close_microscope()
    click_pixel(qtbot, explorer, 1, "activation", 250, 250)
    assert win.width() <= 1024


def test_window_size_follows_the_screen():
    from convlab.gui.main_window import MainWindow

    configure_pyqtgraph()
    win = MainWindow(settings=QSettings())
    try:
        available = win.screen().availableGeometry()
        assert win.width() <= available.width()
        assert win.height() <= available.height()
        assert win.minimumSize().width() <= 1024
        assert win.minimumSize().height() <= 768
    finally:
        win.close()


# -- presentation view ------------------------------------------------------------
def test_ui_scale_scales_fonts_tables_titles_and_the_microscope(
    make_window, qtbot, store
):
    win = make_window()
    explorer = win.explorer
    actions = win.view_actions
    assert QKeySequence("Ctrl+=") in actions["larger"].shortcuts()
    assert QKeySequence("Ctrl+-") in actions["smaller"].shortcuts()
    assert QKeySequence("Ctrl+0") in actions["normal_size"].shortcuts()
    assert QKeySequence("F11") in actions["full_screen"].shortcuts()
    base = QApplication.font().pointSizeF()
    click_pixel(qtbot, explorer, 0, "conv", 256, 256)
    row_before = explorer.microscope.inputs.rowHeight(0)
    micro_before = explorer.microscope.font().pointSizeF()
    header = explorer.grid.headers()[0]
    title_before = header.item.boundingRect().height()

    for _ in range(4):  # 1 -> 2
        actions["larger"].trigger()
    settle(qtbot, win)
    assert win.ui_scale() == 2.0
    assert QApplication.font().pointSizeF() == pytest.approx(2 * base)
    assert explorer.microscope.font().pointSizeF() >= 1.8 * micro_before
    assert explorer.microscope.inputs.rowHeight(0) >= 1.5 * row_before
    header = explorer.grid.headers()[0]
    # titles are asked for at twice the size; one that does not fit its narrow
    # column falls back to a smaller size, never below the scale-1 one
    from convlab.gui.explorer.feature_grid import TITLE_POINTS

    assert header._want[2] == pytest.approx(2 * TITLE_POINTS)
    assert header.item.boundingRect().height() >= title_before
    assert header.shown_width() <= header.rect().width() + 0.5
    assert win.width() <= 1280  # bigger text, same window
    for _ in range(10):
        actions["larger"].trigger()
    assert win.ui_scale() == theme.SCALE_MAX
    actions["normal_size"].trigger()
    assert win.ui_scale() == 1.0
    actions["larger"].trigger()
    assert float(store.value(theme.KEY_SCALE)) == 1.25
    with pytest.raises(ValueError, match=r"Received: scale=7"):
        win.set_ui_scale(7)
    # a new window starts at the remembered scale
    again = make_window()
    assert again.ui_scale() == 1.25


def test_high_contrast_hide_controls_and_full_screen(make_window, qtbot, store):
    win = make_window()
    explorer = win.explorer
    win.view_actions["high_contrast"].trigger()
    assert win.high_contrast()
    palette = QApplication.palette()
    assert palette.color(QPalette.ColorRole.Window).name() == "#000000"
    assert palette.color(QPalette.ColorRole.WindowText).name() == "#ffffff"
    assert "#ffffff" in explorer.grid.headers()[0].item.toHtml().lower()
    assert theme.read_bool(store, theme.KEY_HIGH_CONTRAST)

    hide = win.view_actions["hide_controls"]
    assert not hide.shortcut().isEmpty()
    hide.trigger()
    assert not explorer.controls_visible()
    assert not win.trainer.controls_visible()  # one Ctrl+H for both tabs
    assert explorer.show_controls_button.isVisible()  # the visible way back
    qtbot.mouseClick(explorer.show_controls_button, Qt.MouseButton.LeftButton)
    assert explorer.controls_visible()
    assert win.trainer.controls_visible()
    assert not explorer.show_controls_button.isVisible()

    win.set_full_screen(True)
    assert win.windowState() & Qt.WindowState.WindowFullScreen
    win.set_full_screen(False)
    assert not win.windowState() & Qt.WindowState.WindowFullScreen

    # styled by the high-contrast sheet, buttons and spin boxes still follow the
    # scale (they kept 9 pt until re-polished), and so do the grid's titles
    base = QApplication.font().pointSizeF()
    styled = [
        w
        for w in win.findChildren(QWidget)
        if isinstance(w, (QPushButton, QSpinBox, QComboBox))
        and not w.property(theme.FONT_FACTOR)
    ]
    assert len(styled) > 10
    win.set_ui_scale(2.0)
    sizes = {round(w.font().pointSizeF() / base, 2) for w in styled}
    assert sizes == {2.0}, sizes
    win.set_ui_scale(1.0)
    sizes = {round(w.font().pointSizeF() / base, 2) for w in styled}
    assert sizes == {1.0}, sizes

    win.set_presentation(True)
    assert win.ui_scale() >= 2.0
    assert not explorer.controls_visible()
    assert not win.trainer.controls_visible()  # the tabs take the projector's width
    win.set_presentation(False)
    assert win.ui_scale() == 1.0
    assert explorer.controls_visible()
    assert win.trainer.controls_visible()
    win.set_high_contrast(False)
    assert QApplication.palette().color(QPalette.ColorRole.Window).name() != "#000000"


# -- colour maps ------------------------------------------------------------------
def _correlation(a, b):
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    return float(np.corrcoef(a, b)[0, 1])


def _index_of(explorer, name):
    return [m.name for m in explorer.result().maps].index(name)


def test_default_maps_blur_grey_edges_diverging_and_visible(make_window, qtbot):
    win = make_window()
    explorer = win.explorer
    grid = explorer.grid
    blur = _index_of(explorer, "Gaussian 3x3")
    values = grid.values(blur, "conv")
    assert values.min() >= 0
    assert grid.colormap(blur, "conv") == "grey"
    pixels = grid.image_item(blur, "conv").image
    red, green, blue = (pixels >> 16) & 255, (pixels >> 8) & 255, pixels & 255
    np.testing.assert_array_equal(red, green)
    np.testing.assert_array_equal(green, blue)
    # brighter input, brighter pixel: the blur looks like the photo, not inverted
    assert _correlation(red, values) > 0.99
    for stage in ("activation", "pooled"):
        assert grid.colormap(_index_of(explorer, "Sobel x"), stage) == "grey"

    sobel = _index_of(explorer, "Sobel x")
    values = grid.values(sobel, "conv")
    assert grid.colormap(sobel, "conv") == "diverging"
    lo, hi = grid.levels(sobel, "conv")
    assert lo == -hi
    # robust contrast (the default) clips at the percentile, so the strongest
    # tenth of the edge pixels is drawn dark: L* under 75 (white is 100)
    assert explorer.robust_contrast_on()
    assert hi == pytest.approx(
        float(np.percentile(np.abs(values), explorer_percentile())), rel=1e-5
    )
    edges = np.abs(values) >= np.percentile(np.abs(values), 90)
    rgb = cm.to_rgb(values, "diverging", lo, hi)
    assert np.median(_lightness(rgb[edges])) < 75
    # without it, the same pixels are a pale tint of the white background
    explorer.set_robust_contrast(False)
    settle(qtbot, win)
    lo, hi = grid.levels(sobel, "conv")
    assert hi == pytest.approx(float(np.abs(values).max()), rel=1e-6)
    plain = cm.to_rgb(values, "diverging", lo, hi)
    assert np.median(_lightness(plain[edges])) > np.median(_lightness(rgb[edges]))


def explorer_percentile():
    from convlab.gui.explorer.colormaps import ROBUST_PERCENTILE

    return ROBUST_PERCENTILE


def _lightness(rgb):
    c = np.asarray(rgb, np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    y = linear @ np.array([0.2126, 0.7152, 0.0722])
    return 116 * np.cbrt(np.maximum(y, 0.008856)) - 16


def test_colour_map_choice_per_view_is_applied_and_remembered(
    make_window, qtbot, store
):
    win = make_window()
    explorer = win.explorer
    explorer.colormap_combo.setCurrentIndex(explorer.colormap_combo.findData("viridis"))
    settle(qtbot, win)
    grid = explorer.grid
    for i in range(len(explorer.result().maps)):
        for stage in grid.stages():
            assert grid.colormap(i, stage) == "viridis"
    values = grid.values(0, "conv")
    lo, hi = grid.levels(0, "conv")
    rgb = cm.to_rgb(values, "viridis", lo, hi).astype(np.uint32)
    want = 0xFF000000 | (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    np.testing.assert_array_equal(grid.image_item(0, "conv").image, want)

    explorer.set_colormap("input", "magma")
    image = explorer.image()
    np.testing.assert_array_equal(
        explorer.input_view.image.image, cm.to_rgb(image[0], "magma", 0.0, 1.0)
    )
    explorer.set_colormap("microscope", "cividis")
    with pytest.raises(ValueError, match=r"Received: choice='auto'"):
        explorer.set_colormap("input", "auto")
    with pytest.raises(ValueError, match=r"Received: view='grid'"):
        explorer.set_colormap("grid", "grey")
    assert store.value(theme.KEY_COLORMAPS + "maps") == "viridis"
    assert store.value(theme.KEY_COLORMAPS + "input") == "magma"
    again = make_window()
    assert again.explorer.colormap("maps") == "viridis"
    assert again.explorer.colormap("microscope") == "cividis"


# -- the layout bugs of the issue ----------------------------------------------------
def test_column_titles_do_not_overlap_with_32_filters_at_1280(make_window, qtbot):
    win = make_window(1280, 720)
    explorer = win.explorer
    rng = np.random.default_rng(0)
    explorer.add_filters(
        [(f"random filter {i}", rng.normal(size=(3, 3))) for i in range(24)]
    )
    settle(qtbot, win)
    assert len(explorer.result().maps) == 32
    headers = explorer.grid.headers()
    assert len(headers) > 3  # several groups of columns side by side
    spans = []
    for header in headers:
        # the text drawn fits the header's own cell...
        assert header.shown_width() <= header.rect().width() + 0.5
        text = header.item.mapRectToScene(header.item.boundingRect())
        spans.append((text.left(), text.right(), header.title()))
        assert header.title()  # and the whole title is kept for the tooltip
    spans.sort()
    # ...so neighbouring titles never overlap
    for (_, right, a), (left, _, b) in zip(spans, spans[1:], strict=False):
        assert right <= left + 0.5, (a, b)


def test_frameworks_table_wraps_at_word_boundaries(make_window, qtbot):
    from dataclasses import replace

    win = make_window(1024, 768)
    explorer = win.explorer
    settings = replace(
        explorer.settings(), stride=(2, 2), ceil_mode=True, pool_size=(3, 3)
    )
    panel = explorer.shapes
    panel.update_for(settings, explorer.image().shape)
    assert "frameworks disagree" in panel.text()
    for width in (240, 300, 360):
        panel.setFixedWidth(width)
        QApplication.processEvents()
        doc = panel.document()
        doc.setTextWidth(panel.viewport().width())
        tables = [f for f in doc.rootFrame().childFrames() if isinstance(f, QTextTable)]
        assert len(tables) == 2  # the shapes, then the frameworks
        checked = 0
        for table in tables[1:]:
            for r in range(table.rows()):
                for c in range(table.columns()):
                    cell = table.cellAt(r, c)
                    cursor = QTextCursor(cell.firstCursorPosition())
                    block = cursor.block()
                    text = block.text()
                    layout = block.layout()
                    for n in range(layout.lineCount() - 1):
                        line = layout.lineAt(n)
                        end = line.textStart() + line.textLength()
                        # a line ends at a space, never inside a word
                        assert text[end - 1] in " \u2028" or text[end] == " ", (
                            width,
                            text,
                        )
                    checked += 1
        assert checked >= 6 * 3  # 5 conventions and a header row, 2+ axes


def test_microscope_shows_a_9x9_kernel_without_scrolling_sideways(make_window, qtbot):
    win = make_window(1280, 720)
    explorer = win.explorer
    rng = np.random.default_rng(1)
    explorer.add_filters([("big 9x9", rng.normal(size=(9, 9)) / 9)])
    settle(qtbot, win)
    index = len(explorer.result().maps) - 1
    assert explorer.result().settings.filters[index].kernel.shape == (9, 9)
    click_pixel(qtbot, explorer, index, "conv", 256, 256)
    for _ in range(5):
        QApplication.processEvents()
    micro = explorer.microscope
    for table in (micro.inputs, micro.weights, micro.products):
        assert table.columnCount() == 9
        assert table.horizontalScrollBar().maximum() == 0
        assert not table.horizontalScrollBar().isVisible()
    assert win.width() <= 1280
    assert micro.scroll.horizontalScrollBar().maximum() == 0


def _contains(outer, inner):
    (x0, x1), (y0, y1) = outer
    return (
        x0 <= inner.left() + 1e-6
        and inner.right() <= x1 + 1e-6
        and y0 <= inner.top() + 1e-6
        and inner.bottom() <= y1 + 1e-6
    )


@pytest.mark.parametrize("case", ["padding 30", "ceil-mode pooling"])
def test_default_view_and_reset_zoom_show_the_whole_output(make_window, qtbot, case):
    win = make_window()
    explorer = win.explorer
    geometry = explorer.geometry
    if case == "padding 30":
        geometry.padding.setCurrentIndex(geometry.padding.findData("explicit"))
        for box in (geometry.pad_top, geometry.pad_left):
            box.setValue(30)
    else:
        # 20 rows, windows of 3 every 3: ceil mode adds a 7th window over rows
        # 18-20, one row beyond the image
        explorer.load_array(np.random.default_rng(2).uniform(size=(20, 20)), "20x20")
        for box in (geometry.pool_h, geometry.pool_w):
            box.setValue(3)
        for box in (geometry.pool_stride_h, geometry.pool_stride_w):
            box.setValue(3)
        geometry.ceil_mode.setChecked(True)
    settle(qtbot, win)
    grid = explorer.grid
    rects = [
        grid.image_item(i, stage)._convlab_rect
        for i in range(len(explorer.result().maps))
        for stage in grid.stages()
    ]
    h, w = explorer.image().shape[1:]
    beyond = [r for r in rects if r.left() < -0.5 or r.top() < -0.5]
    beyond += [r for r in rects if r.right() > w + 0.5 or r.bottom() > h + 0.5]
    assert beyond  # the case puts some output outside the image
    view = grid.view_box(0, "conv")
    assert all(_contains(view.viewRange(), r) for r in rects)
    view.setRange(xRange=(5, 10), yRange=(5, 10), padding=0)  # the user zooms in
    QApplication.processEvents()
    assert not all(_contains(view.viewRange(), r) for r in rects)
    qtbot.mouseClick(explorer.reset_zoom_button, Qt.MouseButton.LeftButton)
    QApplication.processEvents()
    assert all(_contains(view.viewRange(), r) for r in rects)


def test_trainer_text_and_plots_follow_the_ui_scale(make_window, qtbot):
    """At 2x every label grows with the application font, those with a style sheet
    of their own too (a bold title, a coloured hint stayed at 9 pt), the 11 pt
    read-outs keep their ratio, and the trainer's plots (curves, confusion matrix,
    probability bars) scale their axes, titles and legends."""
    win = make_window()
    trainer = win.trainer
    if trainer is None:
        pytest.skip("the trainer tab is not built in this configuration")
    base = QApplication.font().pointSizeF()
    bold_title = trainer.filters.title  # "font-weight: bold;"
    hint = trainer.curves.runs_hint  # "color: palette(mid);"
    readout = trainer.filters.readout  # theme.HINT_FONT
    loss_axis = trainer.curves.loss_plot.getAxis("left")
    bars_axis = trainer.training_tab.test_bars.getPlotItem().getAxis("bottom")
    confusion_axis = trainer.confusion.plot.getAxis("left")

    def tick_points(axis):
        return axis.style["tickFont"].pointSizeF()

    before = [tick_points(a) for a in (loss_axis, bars_axis, confusion_axis)]
    assert bold_title.font().pointSizeF() == pytest.approx(base)
    assert readout.font().pointSizeF() == pytest.approx(base * theme.HINT_FONT)

    win.set_ui_scale(2.0)
    QApplication.processEvents()
    # the confusion matrix restyles when it is shown
    assert tick_points(confusion_axis) == pytest.approx(before[2])
    win.select_tab("trainer")
    trainer.tabs.setCurrentWidget(trainer.results)
    QApplication.processEvents()
    assert bold_title.font().pointSizeF() == pytest.approx(2 * base)
    assert bold_title.font().bold()
    assert hint.font().pointSizeF() == pytest.approx(2 * base)
    assert readout.font().pointSizeF() == pytest.approx(2 * base * theme.HINT_FONT)
    after = [tick_points(a) for a in (loss_axis, bars_axis, confusion_axis)]
    from convlab.gui.trainer.curves import plot_points

    for b, a in zip(before, after, strict=True):
        assert a == pytest.approx(plot_points(b, 2.0))
        assert a > 1.5 * b
    legend_label = trainer.curves.loss_plot.legend.items[0][1]
    assert float(legend_label.opts["size"].removesuffix("pt")) > 9
    # the status bar's compile progress fits its longest text on one line
    from convlab.gui.main_window import BUSY_LONGEST_TEXT

    metrics = win.busy.fontMetrics()
    assert win.busy.width() > metrics.horizontalAdvance(BUSY_LONGEST_TEXT)
    assert win.busy.height() >= metrics.height()

    win.set_ui_scale(1.0)
    QApplication.processEvents()
    assert bold_title.font().pointSizeF() == pytest.approx(base)
    assert [tick_points(a) for a in (loss_axis, bars_axis, confusion_axis)] == (
        pytest.approx(before)
    )


@pytest.mark.parametrize(
    ("width", "scale", "own_row"), [(1024, 2.0, True), (1920, 1.0, False)]
)
def test_hover_readout_keeps_room_for_its_values(
    make_window, qtbot, width, scale, own_row
):
    """The explorer's hover read-out (the values under the mouse) shares the row of
    view buttons only while 40 characters fit beside them; at 2x in 1024 px it
    showed "Hover a", now it takes its own row."""
    win = make_window(width, 768)
    win.set_ui_scale(scale)
    win.explorer.set_controls_visible(scale == 1.0)
    settle(qtbot, win)
    label, button = win.explorer.hover_label, win.explorer.reset_zoom_button
    assert label.width() >= 40 * label.fontMetrics().averageCharWidth()
    same_row = abs(label.geometry().center().y() - button.geometry().center().y()) < 4
    assert same_row is not own_row
    # a text longer than the row ends in "…", not cut off unmarked at the edge
    # (at 2x in 1024 px: "...click a pixel for the numbers behind i")
    label.setText("Laplacian (4-neighbour) · conv [row 123, col 456] = -0.1234 " * 5)
    shown = label.shown_text()
    room = label.contentsRect().width()
    assert label.fontMetrics().horizontalAdvance(shown) <= room
    assert shown.endswith("…")
    assert label.text().startswith(shown[:-1])
    image = label.grab().toImage()  # the painted text stops before the right edge
    right = [
        image.pixelColor(x, y).name()
        for x in range(image.width() - 3, image.width())
        for y in range(image.height())
    ]
    assert len(set(right)) == 1, "text painted up to the label's right edge"
