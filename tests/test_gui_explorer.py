"""The explorer tab driven as a user would; what the view holds is checked against
kernels."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PIL import Image  # noqa: E402
from PySide6.QtCore import QPoint, Qt  # noqa: E402

import kernels  # noqa: E402
from convlab.data import images as image_data  # noqa: E402
from convlab.gui.app import configure_pyqtgraph  # noqa: E402

TIMEOUT = 60_000


def expected_maps(x, settings):
    """Every filter's three stages straight from kernels (not via convlab.explore)."""
    out = []
    c = x.shape[0]
    for flt in settings.filters:
        weight = np.repeat(flt.kernel[None, None] / np.float32(c), c, axis=1)
        conv = kernels.conv2d(
            x,
            weight,
            np.array([flt.bias], np.float32),
            stride=settings.stride,
            padding=settings.conv_padding(),
            dilation=settings.dilation,
            padding_mode=settings.padding_mode,
        )[0]
        act = kernels.relu(conv) if settings.activation == "relu" else conv
        stages = {"conv": conv, "activation": act}
        if settings.pool == "max":
            stages["pooled"] = kernels.max_pool2d(
                act,
                settings.pool_size,
                settings.pool_stride,
                settings.pool_padding_arg(),
                settings.ceil_mode,
            )[0]
        elif settings.pool == "avg":
            stages["pooled"] = kernels.avg_pool2d(
                act,
                settings.pool_size,
                settings.pool_stride,
                settings.pool_padding_arg(),
                settings.ceil_mode,
            )
        out.append(stages)
    return out


def displayed(explorer):
    grid = explorer.grid
    return [
        {stage: grid.values(i, stage) for stage in grid.stages()}
        for i in range(len(explorer.result().maps))
    ]


def assert_view_matches_kernels(explorer):
    settings = explorer.result().settings
    want = expected_maps(explorer.image(), settings)
    got = displayed(explorer)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert set(g) == set(w)
        for stage in w:
            np.testing.assert_allclose(g[stage], w[stage], rtol=1e-5, atol=1e-6)


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    # view settings (colour maps, UI scale) go to a temporary file, not the user's
    monkeypatch.setenv("CONVLAB_SETTINGS", str(tmp_path / "convlab.ini"))
    configure_pyqtgraph()
    from convlab.gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.explorer.is_up_to_date(), timeout=TIMEOUT)
    yield win
    win.close()


def settle(qtbot, explorer):
    qtbot.waitUntil(explorer.is_up_to_date, timeout=TIMEOUT)


def stable_pixel_point(qtbot, grid, index, stage, row, col):
    """The viewport point of a map pixel, once it stays put and picks that pixel."""
    seen = []

    def settled():
        point = QPoint(grid.mapFromScene(grid.scene_pos_of(index, stage, row, col)))
        seen.append(point)
        picked = grid.pick(grid.mapToScene(point)) == (index, stage, row, col)
        return len(seen) > 1 and seen[-2] == point and picked

    qtbot.waitUntil(settled, timeout=TIMEOUT)
    return seen[-1]


@pytest.fixture
def rgb_file(tmp_path):
    rng = np.random.default_rng(0)
    arr = (rng.random((23, 19, 3)) * 255).astype(np.uint8)
    arr[5:15, 4:12] = 250  # a bright block: edges for the filters
    path = tmp_path / "block.png"
    Image.fromarray(arr).save(path)
    return path


def test_window_opens_on_first_sample(window):
    explorer = window.explorer
    sample = image_data.SAMPLES[0]
    assert sample.title in explorer.input_label.text()
    np.testing.assert_array_equal(
        explorer.image(), image_data.load_sample(sample.name).array
    )
    assert explorer.bank.list.count() == 8
    assert explorer.grid.stages() == ["conv", "activation", "pooled"]
    assert_view_matches_kernels(explorer)


def test_load_file_and_drive_stride_padding_pooling(window, qtbot, rgb_file):
    explorer = window.explorer
    geometry = explorer.geometry
    assert explorer.load_image_file(rgb_file)
    assert "19×23 RGB" in explorer.input_label.text()
    settle(qtbot, explorer)
    assert explorer.image().shape == (3, 23, 19)
    assert_view_matches_kernels(explorer)

    geometry.stride_h.setValue(2)  # what a click on the arrow does
    settle(qtbot, explorer)
    assert explorer.result().settings.stride == (2, 1)
    assert explorer.grid.values(0, "conv").shape == (12, 19)
    assert_view_matches_kernels(explorer)

    geometry.stride_w.clear()
    qtbot.keyClicks(geometry.stride_w, "3")
    qtbot.keyClick(geometry.stride_w, Qt.Key.Key_Return)  # values apply on commit
    settle(qtbot, explorer)
    assert explorer.result().settings.stride == (2, 3)
    assert explorer.grid.values(0, "conv").shape == (12, 7)
    assert_view_matches_kernels(explorer)

    geometry.padding.setCurrentIndex(geometry.padding.findData("explicit"))
    geometry.pad_top.setValue(3)
    geometry.padding_mode.setCurrentIndex(geometry.padding_mode.findData("reflect"))
    settle(qtbot, explorer)
    assert explorer.result().settings.explicit_padding == (3, 1, 1, 1)
    assert_view_matches_kernels(explorer)

    geometry.pool.setCurrentIndex(geometry.pool.findData("avg"))
    geometry.pool_h.setValue(3)
    geometry.ceil_mode.setChecked(True)
    settle(qtbot, explorer)
    assert explorer.result().settings.pool == "avg"
    assert_view_matches_kernels(explorer)

    geometry.pool.setCurrentIndex(geometry.pool.findData("none"))
    settle(qtbot, explorer)
    assert explorer.grid.stages() == ["conv", "activation"]
    assert_view_matches_kernels(explorer)


def test_invalid_setting_shows_message_and_keeps_last_good(window, qtbot, rgb_file):
    explorer = window.explorer
    explorer.load_image_file(rgb_file)
    settle(qtbot, explorer)
    explorer.geometry.padding.setCurrentIndex(
        explorer.geometry.padding.findData("valid")
    )
    settle(qtbot, explorer)
    before = [{k: v.copy() for k, v in maps.items()} for maps in displayed(explorer)]
    good = explorer.result()

    with qtbot.waitSignal(explorer.status_message, timeout=5000) as blocker:
        explorer.geometry.dilation_h.setValue(12)  # 3x3, dilation 12: 25 rows > 23
    assert "Invalid setting" in blocker.args[0]
    message = explorer.geometry.error_text("dilation")
    assert "Output would be empty" in message
    assert explorer.geometry.findChild(
        type(explorer.input_label), "error_dilation"
    ).isVisible()
    assert explorer.result() is good
    for old, new in zip(before, displayed(explorer), strict=True):
        for stage in old:
            np.testing.assert_array_equal(old[stage], new[stage])

    explorer.geometry.dilation_h.setValue(
        2
    )  # valid again: message gone, maps recomputed
    settle(qtbot, explorer)
    assert explorer.geometry.error_text("dilation") == ""
    assert explorer.result().settings.dilation == (2, 1)
    assert_view_matches_kernels(explorer)


@pytest.mark.parametrize("stage", ["conv", "pooled"])
def test_microscope_shows_the_numbers_of_a_clicked_pixel(
    window, qtbot, rgb_file, stage
):
    explorer = window.explorer
    explorer.load_image_file(rgb_file)
    settle(qtbot, explorer)
    grid = explorer.grid
    row, col = (0, 3) if stage == "conv" else (2, 4)
    index = 1
    # click where the pixel is drawn, once the grid's layout has settled (pyqtgraph
    # lays the views out on a posted event: a position read before it goes stale)
    point = stable_pixel_point(qtbot, grid, index, stage, row, col)
    with qtbot.waitSignal(grid.pixel_clicked, timeout=5000) as blocker:
        qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert blocker.args == [index, stage, row, col]
    assert explorer.microscope.isVisible()

    settings = explorer.result().settings
    x = explorer.image()
    flt = settings.filters[index]
    act = displayed(explorer)[index]["activation"]
    if stage == "pooled":
        ph, pw = settings.pool_size
        window_values = act[row * 2 : row * 2 + ph, col * 2 : col * 2 + pw]
        wr, wc = np.unravel_index(np.argmax(window_values), window_values.shape)
        conv_row, conv_col = row * 2 + wr, col * 2 + wc
        np.testing.assert_allclose(
            explorer.microscope.table_values("pool"),
            window_values,
            rtol=1e-3,
            atol=1e-4,
        )
        assert (
            f"row {conv_row}, col {conv_col}" in explorer.microscope.pool_label.text()
        )
    else:
        conv_row, conv_col = row, col
    # direct numpy: "same" padding with zeros for a 3x3 kernel is one cell on each side
    xp = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1)))
    window_x = xp[:, conv_row : conv_row + 3, conv_col : conv_col + 3]
    products = window_x * flt.kernel.astype(np.float64) / 3
    for channel in range(3):
        explorer.microscope.channel.setCurrentIndex(channel)
        np.testing.assert_allclose(
            explorer.microscope.table_values("inputs"),
            window_x[channel],
            rtol=1e-3,
            atol=1e-4,
        )
        np.testing.assert_allclose(
            explorer.microscope.table_values("products"),
            products[channel],
            rtol=1e-3,
            atol=1e-4,
        )
    z = products.sum() + flt.bias
    summary = explorer.microscope.summary.text()
    assert f"z = {z:.6g}" in summary
    assert f"{max(z, 0.0):.6g}" in summary
    assert "✓" in summary
    if conv_row == 0:  # the top row of the window lies in the padding
        ins = explorer.microscope.inspection()
        conv = ins.conv if stage == "pooled" else ins
        assert conv.padded_mask[0].all()


def test_corrupt_file_gives_a_message_and_changes_nothing(window, qtbot, tmp_path):
    explorer = window.explorer
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    image, result = explorer.image(), explorer.result()
    label = explorer.input_label.text()
    with qtbot.waitSignal(explorer.status_message, timeout=5000) as blocker:
        assert explorer.load_image_file(bad) is False
    assert "broken.png" in blocker.args[0]
    assert "broken.png" in window.statusBar().currentMessage()
    assert explorer.image() is image
    assert explorer.result() is result
    assert explorer.input_label.text() == label


def test_kernel_editor_edits_feed_the_maps_and_undo(window, qtbot, rgb_file):
    explorer = window.explorer
    explorer.load_image_file(rgb_file)
    settle(qtbot, explorer)
    explorer.control_tabs.setCurrentIndex(1)
    explorer.bank.set_current(2)
    original = explorer.editor.kernel()
    item = explorer.editor.table.item(1, 1)
    item.setText("5")  # as typing into the cell does
    settle(qtbot, explorer)
    assert explorer.result().settings.filters[2].kernel[1, 1] == 5
    assert_view_matches_kernels(explorer)
    explorer.editor.rows.setValue(5)
    settle(qtbot, explorer)
    assert explorer.result().settings.filters[2].kernel.shape == (5, 3)
    assert_view_matches_kernels(explorer)
    explorer.editor.undo()
    explorer.editor.undo()
    settle(qtbot, explorer)
    np.testing.assert_array_equal(
        explorer.result().settings.filters[2].kernel, original
    )


def test_bank_add_remove_and_reorder(window, qtbot):
    explorer = window.explorer
    bank = explorer.bank
    names = [f.name for f in bank.filters()]
    bank.set_current(0)
    bank.move_current(1)
    settle(qtbot, explorer)
    assert [m.name for m in explorer.result().maps][:2] == [names[1], names[0]]
    bank.remove_current()
    bank.duplicate_current()
    settle(qtbot, explorer)
    assert len(explorer.result().maps) == 8
    assert_view_matches_kernels(explorer)


def test_exports(window, qtbot, tmp_path):
    explorer = window.explorer
    explorer.inspect(0, "activation", 5, 6)
    assert explorer.export_npy(str(tmp_path / "map.npy"))
    np.testing.assert_array_equal(
        np.load(tmp_path / "map.npy", allow_pickle=False),
        explorer.result().maps[0].activated,
    )
    assert explorer.export_map_png(str(tmp_path / "map.png"))
    with Image.open(tmp_path / "map.png") as png:
        assert png.size == explorer.result().maps[0].activated.shape[::-1]
    assert explorer.export_grid_png(str(tmp_path / "grid.png"))
    written = explorer.export_all_npy(str(tmp_path / "all.npy"))
    assert len(written) == 3
    pooled = np.load(tmp_path / "all_pooled.npy", allow_pickle=False)
    assert pooled.shape == (8, *explorer.result().maps[0].pooled.shape)
    assert not list(tmp_path.glob("*.tmp"))


def test_bank_save_and_load(window, qtbot, tmp_path):
    explorer = window.explorer
    path = str(tmp_path / "bank.json")
    assert explorer.save_bank(path)
    explorer.bank.remove_current()
    settle(qtbot, explorer)
    assert len(explorer.result().maps) == 7
    assert explorer.load_bank(path)
    settle(qtbot, explorer)
    assert len(explorer.result().maps) == 8


def test_avg_pool_table_click_switches_the_convolution(window, qtbot, rgb_file):
    explorer = window.explorer
    explorer.load_image_file(rgb_file)
    geometry = explorer.geometry
    geometry.pool.setCurrentIndex(geometry.pool.findData("avg"))
    settle(qtbot, explorer)
    explorer.inspect(2, "pooled", 0, 7)  # window: activation rows 0-1, cols 14-15
    micro = explorer.microscope
    assert micro.inspection().conv_cell == (0, 14)
    table = micro.pool_table
    rect = table.visualItemRect(table.item(1, 1))
    with qtbot.waitSignal(micro.pool_cell_clicked, timeout=5000) as blocker:
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [1, 15]
    ins = micro.inspection()
    assert ins.conv_cell == (1, 15)
    assert (ins.conv.row, ins.conv.col) == (1, 15)
    # the conv numbers are that cell's, straight from numpy ("same" zero padding)
    x = explorer.image().astype(np.float64)
    flt = explorer.result().settings.filters[2]
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    z = (xp[:, 1:4, 15:18] * flt.kernel / 3).sum() + flt.bias
    assert abs(z) > 1e-3  # a pixel with something to explain
    assert f"z = {z:.6g}" in micro.summary.text()
    assert "cell (1, 15)'s" in micro.pool_label.text()
    # the pooled value shown is still the average of the whole window
    act = displayed(explorer)[2]["activation"]
    np.testing.assert_allclose(ins.value, act[0:2, 14:16].mean(), rtol=1e-5)


def _reference_pixels(values, abs_max):
    """0xFFRRGGBB of the diverging map on levels (-m, m), written out with numpy."""
    from convlab.gui.explorer.colormaps import DIVERGING_LUT

    m = abs_max if abs_max > 0 else 1.0
    t = (values.astype(np.float64) + m) / (2 * m) * 255.0 + 0.5
    index = np.clip(np.nan_to_num(t), 0, 255).astype(np.intp)
    rgb = DIVERGING_LUT[index].astype(np.uint32)
    return 0xFF000000 | (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def test_pixels_are_the_maps_coloured_and_shared_scale(window, qtbot, rgb_file):
    explorer = window.explorer
    explorer.load_image_file(rgb_file)
    # every map diverging (the default draws non-negative maps greyscale: see
    # test_presentation.py)
    explorer.set_colormap("maps", "diverging")
    explorer.set_robust_contrast(False)
    settle(qtbot, explorer)
    grid = explorer.grid
    result = explorer.result()
    for i, fm in enumerate(result.maps):
        for stage in grid.stages():
            values = fm.stage(stage)
            m = float(np.abs(values).max())
            assert grid.levels(i, stage) == (-m, m)
            want = _reference_pixels(values, m)
            got = grid.image_item(i, stage).image
            # the same colour, or the neighbour in the 256-entry table on a rounding tie
            assert (got == want).mean() > 0.99
    explorer.shared_scale.setChecked(True)  # a recolour only: same arrays
    settle(qtbot, explorer)
    assert np.shares_memory(
        explorer.result().maps[0].conv, result.maps[0].conv
    )  # cached
    shared = max(
        float(np.abs(fm.stage(s)).max())
        for fm in explorer.result().maps
        for s in grid.stages()
    )
    for i in range(len(explorer.result().maps)):
        for stage in grid.stages():
            assert grid.levels(i, stage) == pytest.approx((-shared, shared))
            values = grid.values(i, stage)
            want = _reference_pixels(values, shared)
            assert (grid.image_item(i, stage).image == want).mean() > 0.99


def test_numpy_and_numba_colourings_agree():
    from convlab.gui.explorer.colormaps import colorize_planes, to_rgb

    rng = np.random.default_rng(3)
    planes = rng.normal(size=(3, 17, 13)).astype(np.float32)
    planes[0, 0, 0], planes[1, 2, 3], planes[2, 4, 5] = np.nan, np.inf, -np.inf
    planes[:, 5, :] = 0.0  # exact zeros (ReLU) sit on the rounding boundary
    levels = [(-2.0, 2.0), (-0.5, 0.5), (-1.0, 3.0)]
    pixels = colorize_planes(planes, levels)
    for p in range(3):
        rgb = to_rgb(planes[p], levels[p]).astype(np.uint32)
        want = 0xFF000000 | (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
        np.testing.assert_array_equal(pixels[p], want)
    assert tuple(to_rgb(np.array([[np.nan]]), (-1.0, 1.0))[0, 0]) == (128, 128, 128)


def test_mixed_kernel_sizes_show_each_size(window, qtbot):
    """A 5x5 filter beside the 3x3 bank: headers and shapes panel give both sizes."""
    from convlab.gui.explorer.feature_grid import stage_titles

    explorer = window.explorer
    explorer.load_array(np.zeros((28, 28), np.float32), "zeros")
    explorer.geometry.padding.setCurrentIndex(
        explorer.geometry.padding.findData("valid")
    )
    explorer.add_filters([("big", np.ones((5, 5), np.float32))])
    settle(qtbot, explorer)
    result = explorer.result()
    assert [explorer.grid.values(i, "conv").shape for i in (0, 8)] == [
        (26, 26),
        (24, 24),
    ]
    titles = stage_titles(result)
    assert titles["conv"] == "conv 26×26 / 24×24"
    assert titles["pooled"] == "max pool 13×13 / 12×12"
    text = explorer.shapes.text()
    assert "8 × 26 × 26" in text
    assert "1 × 24 × 24" in text
    assert "1 × 12 × 12" in text
    assert_view_matches_kernels(explorer)
