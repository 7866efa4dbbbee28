"""Issue #13, the GUI half: slow loads off the GUI thread, asking before work is
lost, the --screenshot exits, the --image message, the kernel editor's range and
atomic exports."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("pytestqt")
from PIL import Image  # noqa: E402
from PySide6.QtWidgets import QFileDialog, QMessageBox  # noqa: E402
from trainer_helpers import subset  # noqa: E402

from convlab import _files  # noqa: E402
from convlab.data import filters as filter_data  # noqa: E402
from convlab.data import images as image_data  # noqa: E402
from convlab.gui import main_window  # noqa: E402
from convlab.gui.app import configure_pyqtgraph  # noqa: E402
from convlab.gui.explorer import filter_bank  # noqa: E402
from convlab.gui.main_window import MainWindow  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 60_000


@pytest.fixture
def window(qtbot):
    configure_pyqtgraph()
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1280, 720)
    win.show()
    qtbot.waitUntil(win.explorer.is_up_to_date, timeout=TIMEOUT)
    yield win
    win.non_interactive = True  # teardown closes without a question
    win.close()


def grey_png(path: Path, h: int, w: int, value: int = 0) -> Path:
    Image.fromarray(np.full((h, w), value, np.uint8)).save(path)
    return path


def choose(monkeypatch, path: Path | str) -> None:
    """The next Open/Save file dialog answers ``path``."""
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))


class Gate:
    """Wraps a reader: records the thread it ran on, and holds it until released."""

    def __init__(self, real):
        self.real, self.threads = real, []
        self.release = threading.Event()

    def __call__(self, *args, **kwargs):
        self.threads.append(threading.current_thread())
        self.release.wait(10)  # on the GUI thread (the old code) this would stall
        return self.real(*args, **kwargs)


# ------------------------------------------------------------- decoding off-thread
def test_open_image_decodes_on_a_worker_with_a_busy_indication(
    window, qtbot, tmp_path, monkeypatch
):
    explorer = window.explorer
    gate = Gate(image_data.load_image)
    monkeypatch.setattr(image_data, "load_image", gate)
    choose(monkeypatch, grey_png(tmp_path / "big.png", 40, 50, 200))
    before = explorer.image()
    explorer.actions_by_name["open"].trigger()
    # the dialog returned at once: the decode waits on the gate in a worker
    assert explorer.image_loading()
    assert explorer.image() is before
    assert "Opening big.png" in explorer.notice_label.text()
    assert window.image_busy.isVisibleTo(window)
    gate.release.set()
    qtbot.waitUntil(lambda: not explorer.image_loading(), timeout=TIMEOUT)
    assert gate.threads
    assert gate.threads[0] is not threading.main_thread()
    assert explorer.image().shape == (1, 40, 50)
    assert not window.image_busy.isVisibleTo(window)
    assert "Opened big.png" in window.statusBar().currentMessage()


def test_a_second_open_supersedes_the_first(window, qtbot, tmp_path, monkeypatch):
    explorer = window.explorer
    slow = grey_png(tmp_path / "slow.png", 20, 20, 10)
    fast = grey_png(tmp_path / "fast.png", 30, 30, 90)
    gate = Gate(image_data.load_image)
    real = image_data.load_image

    def reader(path, *args, **kwargs):
        return gate(path) if Path(path).name == "slow.png" else real(path)

    monkeypatch.setattr(image_data, "load_image", reader)
    explorer.open_image_file(slow)
    explorer.open_image_file(fast)
    qtbot.waitUntil(lambda: not explorer.image_loading(), timeout=TIMEOUT)
    assert explorer.image().shape == (1, 30, 30)
    gate.release.set()  # the first decode ends now: its result must be dropped
    qtbot.waitUntil(lambda: len(gate.threads) == 1, timeout=TIMEOUT)
    qtbot.wait(300)
    assert explorer.image().shape == (1, 30, 30)


def test_a_failed_open_keeps_the_image_and_says_why(window, qtbot, tmp_path):
    explorer = window.explorer
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not a png at all")
    image, label = explorer.image(), explorer.input_label.text()
    explorer.open_image_file(bad)
    qtbot.waitUntil(lambda: not explorer.image_loading(), timeout=TIMEOUT)
    assert explorer.image() is image
    assert explorer.input_label.text() == label
    assert "Could not open broken.png" in window.statusBar().currentMessage()
    assert "Could not open broken.png" in explorer.notice_label.text()
    assert explorer.notice_label.isVisibleTo(window)


def test_load_bank_reads_on_a_worker(window, qtbot, tmp_path, monkeypatch):
    explorer = window.explorer
    path = tmp_path / "bank.json"
    preset = filter_data.FilterPreset("half", np.full((2, 2), 0.5), "", bias=0.25)
    filter_data.save_bank(path, [preset])
    gate = Gate(filter_data.load_bank)
    monkeypatch.setattr(filter_data, "load_bank", gate)
    choose(monkeypatch, path)
    explorer.actions_by_name["load_bank"].trigger()
    assert explorer.bank_loading()
    gate.release.set()
    qtbot.waitUntil(lambda: not explorer.bank_loading(), timeout=TIMEOUT)
    assert gate.threads[0] is not threading.main_thread()
    (entry,) = explorer.bank.entries()
    assert (entry.name, entry.bias) == ("half", 0.25)


def test_image_bad_shows_the_sample_and_a_visible_message(qtbot, tmp_path):
    configure_pyqtgraph()
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    win = MainWindow(image_path=str(bad))
    qtbot.addWidget(win)
    win.resize(1280, 720)
    win.show()
    qtbot.waitUntil(lambda: not win.explorer.image_loading(), timeout=TIMEOUT)
    sample = image_data.load_sample(image_data.SAMPLES[0].name)
    np.testing.assert_array_equal(win.explorer.image(), sample.array)
    assert "Could not open bad.jpg: not an image file" in (
        win.statusBar().currentMessage()
    )
    notice = win.explorer.notice_label
    assert notice.isVisibleTo(win)
    assert "Could not open bad.jpg" in notice.text()
    win.close()


# ---------------------------------------------------------- asking before closing
class Box:
    """The question box patched: records each question's text, answers in turn."""

    def __init__(self, monkeypatch, *answers):
        self.asked: list[str] = []
        self.answers = list(answers)
        monkeypatch.setattr(main_window, "exec_box", self.exec_box)

    def exec_box(self, box: QMessageBox) -> int:
        self.asked.append(box.text())
        buttons = box.standardButtons()
        answer = self.answers.pop(0)
        assert buttons & answer  # one of the box's own buttons
        return answer


def trained_window(qtbot, window):
    trainer = window.trainer
    qtbot.waitUntil(lambda: trainer.run.data is not None, timeout=TIMEOUT)
    from convlab.data.mnist import load_mnist

    trainer.set_data(subset(load_mnist("bundled"), 200, 50))
    trainer.epochs_spin.setValue(1)
    assert window.unsaved_work() == []
    with qtbot.waitSignal(trainer.training_finished, timeout=120_000):
        trainer.start_training()
    assert window.unsaved_work() == ["model"]
    return trainer


def test_closing_with_nothing_to_lose_asks_nothing(window, monkeypatch):
    box = Box(monkeypatch)
    assert window.close()
    assert box.asked == []


def test_closing_with_a_trained_model_asks_save_discard_cancel(
    window, qtbot, tmp_path, monkeypatch
):
    trained_window(qtbot, window)
    buttons = QMessageBox.StandardButton
    box = Box(monkeypatch, buttons.Cancel, buttons.Save)
    window.grab().save(str(tmp_path / "before.png"))
    assert not window.close()  # Cancel: still open, the model still there
    assert box.asked == ["Save the trained model before closing?"]
    assert window.isVisible()
    assert window.trainer.run.model is not None
    target = tmp_path / "kept.npz"
    choose(monkeypatch, target)
    assert window.close()  # Save: written, then closed
    assert target.is_file()
    from convlab.nn import load_model

    assert load_model(target).count_params() == window.trainer.run.model.count_params()


def test_discard_closes_and_a_saved_model_is_not_asked_about(
    window, qtbot, tmp_path, monkeypatch
):
    trainer = trained_window(qtbot, window)
    assert trainer.save_model(tmp_path / "m.npz")
    box = Box(monkeypatch)
    assert window.unsaved_work() == []
    # trained again after the save: asked again, Discard closes without saving
    with qtbot.waitSignal(trainer.training_finished, timeout=120_000):
        trainer.start_training()
    box.answers.append(QMessageBox.StandardButton.Discard)
    assert window.close()
    assert len(box.asked) == 1


def test_an_unsaved_scene_edit_is_asked_about(window, qtbot, tmp_path, monkeypatch):
    assert window.lecture.save(tmp_path / "s.convlab")
    assert window.unsaved_work() == []
    window.explorer.geometry.stride_h.setValue(2)
    assert window.unsaved_work() == ["scene"]
    box = Box(monkeypatch, QMessageBox.StandardButton.Cancel)
    assert not window.close()
    assert box.asked == ["Save the changes to s.convlab?"]


# ----------------------------------------------------------------- --screenshot
def convlab(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "convlab", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=REPO,
    )


def test_screenshot_into_a_folder_it_cannot_create_fails_at_once(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    out = convlab("--screenshot", str(blocker / "sub" / "shot.png"), timeout=60)
    assert out.returncode != 0
    assert "cannot create the folder" in out.stderr
    assert f"{blocker / 'sub'}" in out.stderr


def test_screenshot_that_cannot_be_written_exits_nonzero(tmp_path):
    shot = tmp_path / ("x" * 300 + ".png")  # longer than a file name may be
    out = convlab("--screenshot", str(shot), timeout=60)
    assert out.returncode != 0
    assert "--screenshot" in out.stderr


def test_screenshot_with_settings_invalid_for_the_image_ends_nonzero(tmp_path):
    # 1x1: the 2x2 max pooling of the default settings has nothing to pool
    image = grey_png(tmp_path / "dot.png", 1, 1, 128)
    shot = tmp_path / "shot.png"
    out = convlab("--image", str(image), "--screenshot", str(shot), timeout=120)
    assert out.returncode == 1, out.stderr
    assert "the settings do not fit the image" in out.stderr
    assert shot.is_file()  # the window as it is, showing the problem


def test_screenshot_failure_in_process_is_reported(window, qtbot, tmp_path):
    target = tmp_path / "shot.png"
    target.mkdir()  # a folder where the file should go
    with qtbot.waitSignal(window.screenshot_failed, timeout=TIMEOUT) as blocker:
        window.save_screenshot_when_ready(str(target), quit_after=False)
    assert "is a folder" in blocker.args[0]


# ------------------------------------------------------- kernel editor and saves
def test_kernel_editor_refuses_values_outside_the_banks_range(window, qtbot, tmp_path):
    explorer = window.explorer
    explorer.control_tabs.setCurrentIndex(1)
    editor = explorer.editor
    before = editor.kernel()
    editor.table.item(0, 0).setText("1e40")
    assert np.array_equal(editor.kernel(), before)
    assert editor.message.isVisibleTo(window)
    assert "from -1e+06 to 1e+06" in editor.message.text()
    assert "Received: 1e+40" in editor.message.text()
    assert editor.table.item(0, 0).text() != "inf"
    editor.table.item(0, 0).setText("1e6")  # the edge of the range is allowed
    assert editor.kernel()[0, 0] == 1e6
    assert not editor.message.isVisibleTo(window)
    assert explorer.save_bank(str(tmp_path / "b.json"))


def test_save_bank_keeps_biases_and_one_limit(window, tmp_path):
    explorer = window.explorer
    explorer.bank.update_entry(0, bias=0.75)
    path = tmp_path / "bank.json"
    assert explorer.save_bank(str(path))
    assert filter_data.load_bank(path)[0].bias == 0.75
    assert filter_bank.MAX_FILTERS is filter_data.MAX_BANK_FILTERS


def full_disk(monkeypatch):
    """Every fsync in the atomic writer fails as a full disk does."""

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_files.os, "fsync", no_space)


@pytest.mark.parametrize("export", ["export_grid_png", "export_map_png"])
def test_png_exports_leave_the_old_file_on_a_full_disk(
    window, tmp_path, monkeypatch, export
):
    target = tmp_path / "old.png"
    grey_png(target, 3, 3)
    old = target.read_bytes()
    full_disk(monkeypatch)
    assert getattr(window.explorer, export)(str(target)) is False
    assert target.read_bytes() == old
    assert "No space left" in window.statusBar().currentMessage()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.png"]


def test_export_all_npy_is_one_set(window, qtbot, tmp_path, monkeypatch):
    explorer = window.explorer
    written = explorer.export_all_npy(str(tmp_path / "all.npy"))
    assert len(written) >= 2
    old = {p: Path(p).read_bytes() for p in written}
    calls = []
    real = _files.os.fsync

    def fail_on_second(fd):  # the first file's data is written, the second's not
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd)

    explorer.geometry.stride_h.setValue(2)  # new maps: the files would change
    qtbot.waitUntil(explorer.is_up_to_date, timeout=TIMEOUT)
    monkeypatch.setattr(_files.os, "fsync", fail_on_second)
    assert explorer.export_all_npy(str(tmp_path / "all.npy")) == []
    assert {p: Path(p).read_bytes() for p in written} == old


def test_animate_with_no_filter_selected(window, qtbot):
    """Found by the GUI fuzz: Ctrl+Shift+A with no row selected in the bank raised
    "`filter_index` must be an int from 0 to 0. Received: filter_index=-1"."""
    explorer = window.explorer
    explorer.bank.list.setCurrentRow(-1)
    assert explorer.bank.current_index() == -1
    explorer.actions_by_name["animate"].trigger()
    assert explorer.animation.isVisibleTo(window)
