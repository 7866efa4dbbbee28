"""The main window: start-up, tabs, warm-up status, screenshot, close."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PIL import Image  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from convlab.gui.app import configure_pyqtgraph  # noqa: E402
from convlab.gui.main_window import WARMING_TEXT, MainWindow  # noqa: E402


@pytest.fixture(autouse=True)
def _settings_in_tmp(tmp_path, monkeypatch):
    """View settings go to a temporary file, never the user's."""
    monkeypatch.setenv("CONVLAB_SETTINGS", str(tmp_path / "convlab.ini"))


def test_window_appears_warming_then_draws(qtbot):
    configure_pyqtgraph()
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    # the window is up before the kernels are warm, and says so
    assert window.statusBar().currentMessage() in (WARMING_TEXT, "Kernels ready.")
    qtbot.waitUntil(window.explorer.is_up_to_date, timeout=60_000)
    # the maps need not wait for the warm-up (NumPy meanwhile); its bar goes at the end
    qtbot.waitUntil(lambda: not window.busy.isVisible(), timeout=600_000)
    assert window.tabs.count() == 2
    window.select_tab("trainer")
    assert window.tabs.currentIndex() == 1
    window.select_tab("explorer")
    assert window.tabs.currentIndex() == 0
    with pytest.raises(ValueError, match="Received: name='nope'"):
        window.select_tab("nope")
    window.close()


def test_image_path_and_screenshot(qtbot, tmp_path):
    configure_pyqtgraph()
    src = tmp_path / "in.png"
    Image.fromarray((np.arange(30 * 40) % 255).astype(np.uint8).reshape(30, 40)).save(
        src
    )
    window = MainWindow(image_path=str(src))
    qtbot.addWidget(window)
    window.show()
    shot = tmp_path / "shots" / "window.png"
    with qtbot.waitSignal(window.screenshot_saved, timeout=60_000):
        window.save_screenshot_when_ready(str(shot), quit_after=False)
    assert window.explorer.image().shape == (1, 30, 40)
    with Image.open(shot) as png:
        # the window as it is on this screen (offscreen: 800x800, so 784 wide)
        assert png.size[0] == window.width()
        assert png.size[0] >= 600
    window.close()


def test_bad_image_path_falls_back_to_the_sample(qtbot, tmp_path):
    configure_pyqtgraph()
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    window = MainWindow(image_path=str(bad))
    qtbot.addWidget(window)
    assert window.explorer.image() is not None
    window.close()


def test_trainer_filters_land_in_the_bank(qtbot):
    configure_pyqtgraph()
    window = MainWindow()
    qtbot.addWidget(window)
    qtbot.waitUntil(window.explorer.is_up_to_date, timeout=60_000)
    kernel = np.arange(9, dtype=np.float32).reshape(3, 3)
    window._on_trainer_filters_exported([("conv1 #1", kernel)])
    qtbot.waitUntil(window.explorer.is_up_to_date, timeout=60_000)
    assert window.explorer.result().maps[-1].name == "conv1 #1"
    np.testing.assert_array_equal(
        window.explorer.result().settings.filters[-1].kernel, kernel
    )
    window.close()


def test_kernel_editor_fits_the_filters_tab_at_the_default_size(qtbot):
    configure_pyqtgraph()
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1500, 950)  # the size it opens at on a 1920x1080 screen
    window.show()
    assert (window.width(), window.height()) == (1500, 950)
    explorer = window.explorer
    qtbot.waitUntil(explorer.is_up_to_date, timeout=60_000)
    explorer.control_tabs.setCurrentIndex(1)
    area = explorer.control_tabs.currentWidget()
    qtbot.waitUntil(lambda: area.viewport().height() > 0, timeout=5000)
    for row in range(explorer.bank.list.count()):  # descriptions of 1 and 2 lines
        explorer.bank.set_current(row)
        QApplication.sendPostedEvents()  # the deferred layout requests
        QApplication.processEvents()
        assert area.verticalScrollBar().maximum() == 0, row  # nothing below the fold
    editor = explorer.editor
    top_left = editor.mapTo(area.viewport(), editor.rect().topLeft())
    bottom = top_left.y() + editor.height()
    assert top_left.y() >= 0
    assert bottom <= area.viewport().height()
    for button in editor.findChildren(type(explorer.open_button)):
        assert button.isVisible()
    window.close()
