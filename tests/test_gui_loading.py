"""Issue #13: Open model (trainer) and Open scene / PageDown (lecture) read their file
on the thread pool, show a busy bar, let a newer open supersede an older one and keep
the current state when a load fails.

The reader is patched to record the thread it ran on and to wait on a gate: on the
old code the GUI thread itself was the reader (and these tests fail)."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

pytest.importorskip("pytestqt")
from PySide6.QtWidgets import QFileDialog  # noqa: E402

import convlab.nn  # noqa: E402
from convlab.gui import lecture as lecture_module  # noqa: E402
from convlab.gui.app import configure_pyqtgraph  # noqa: E402
from convlab.gui.main_window import MainWindow  # noqa: E402
from convlab.lecture import load_scene  # noqa: E402

TIMEOUT = 60_000
SCENES = Path(__file__).resolve().parents[1] / "assets" / "scenes"


class Gate:
    """Wraps a reader: records the thread it ran on, and holds chosen files until
    released (others pass at once)."""

    def __init__(self, real, hold: tuple[str, ...] = ()):
        self.real, self.hold, self.threads = real, hold, []
        self.release = threading.Event()

    def __call__(self, path, *args, **kwargs):
        self.threads.append(threading.current_thread())
        if not self.hold or Path(path).name in self.hold:
            self.release.wait(10)  # on the GUI thread (the old code) this stalls
        return self.real(path, *args, **kwargs)


@pytest.fixture
def window(qtbot):
    configure_pyqtgraph()
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1280, 720)
    win.show()
    qtbot.waitUntil(win.explorer.is_up_to_date, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: win.trainer.model is not None, timeout=TIMEOUT)
    yield win
    win.non_interactive = True
    win.close()


def saved_model(window, path: Path) -> Path:
    window.trainer.model.save(path)
    return path


# ------------------------------------------------------------------ trainer: model
def test_open_model_reads_on_a_worker_with_a_busy_bar(
    window, qtbot, tmp_path, monkeypatch
):
    trainer = window.trainer
    path = saved_model(window, tmp_path / "m.npz")
    gate = Gate(convlab.nn.load_model)
    monkeypatch.setattr(convlab.nn, "load_model", gate)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    before = trainer.model
    trainer._on_open_action_triggered()
    # the action returned at once: the read waits on the gate in a worker
    assert trainer.model_loading()
    assert trainer.model is before
    assert window.image_busy.isVisibleTo(window)
    assert "Opening the model" in window.image_busy.toolTip()
    gate.release.set()
    qtbot.waitUntil(lambda: not trainer.model_loading(), timeout=TIMEOUT)
    assert gate.threads
    assert gate.threads[0] is not threading.main_thread()
    assert trainer.model is not before
    assert trainer.model.count_params() == before.count_params()
    assert not window.image_busy.isVisibleTo(window)
    assert "Opened m.npz" in window.statusBar().currentMessage()


def test_a_newer_model_open_supersedes_and_a_failure_keeps_the_model(
    window, qtbot, tmp_path, monkeypatch
):
    trainer = window.trainer
    slow = saved_model(window, tmp_path / "slow.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model at all" * 20)
    gate = Gate(convlab.nn.load_model, hold=("slow.npz",))
    monkeypatch.setattr(convlab.nn, "load_model", gate)
    before = trainer.model
    assert trainer.open_model_file(slow)
    assert trainer.open_model_file(bad)  # supersedes slow.npz
    qtbot.waitUntil(lambda: not trainer.model_loading(), timeout=TIMEOUT)
    assert trainer.model is before  # the failure changed nothing
    assert "Could not open bad.npz" in window.statusBar().currentMessage()
    gate.release.set()  # slow.npz ends now: its model must be dropped
    qtbot.waitUntil(lambda: len(gate.threads) == 2, timeout=TIMEOUT)
    qtbot.wait(300)
    assert trainer.model is before
    assert not window.image_busy.isVisibleTo(window)


# ------------------------------------------------------------------ lecture: scene
def test_open_scene_reads_on_a_worker_then_applies(
    window, qtbot, tmp_path, monkeypatch
):
    lecture = window.lecture
    path = SCENES / "02-stride.convlab"
    gate = Gate(lecture_module.load_scene)
    monkeypatch.setattr(lecture_module, "load_scene", gate)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    window.open_scene_dialog()
    assert lecture.is_loading()
    assert lecture.path is None
    assert window.image_busy.isVisibleTo(window)
    gate.release.set()
    qtbot.waitUntil(lambda: not lecture.is_loading(), timeout=TIMEOUT)
    assert gate.threads[0] is not threading.main_thread()
    assert lecture.path == path
    qtbot.waitUntil(window.explorer.is_up_to_date, timeout=TIMEOUT)
    want = load_scene(path).settings
    assert window.explorer.result().settings.stride == want.stride
    assert not window.image_busy.isVisibleTo(window)


def test_a_broken_scene_keeps_the_open_one_and_says_why(window, qtbot, tmp_path):
    lecture = window.lecture
    assert lecture.open(SCENES / "02-stride.convlab", confirm=False)
    bad = tmp_path / "bad.convlab"
    bad.write_text("{ not json")
    assert lecture.open_in_background(bad, confirm=False)
    qtbot.waitUntil(lambda: not lecture.is_loading(), timeout=TIMEOUT)
    assert lecture.path.name == "02-stride.convlab"
    assert "Could not open the scene" in window.statusBar().currentMessage()


def test_fast_page_downs_keep_their_order(window, qtbot, tmp_path, monkeypatch):
    """Three PageDowns while the first scene is still being read land on the fourth
    scene, each step counted from the one on its way; the older reads are dropped."""
    folder = tmp_path / "lecture"
    folder.mkdir()
    shipped = sorted(SCENES.glob("*.convlab"))[:4]
    for i, source in enumerate(shipped):
        shutil.copy(source, folder / f"{i + 1}-scene.convlab")
    lecture = window.lecture
    assert lecture.open(folder, confirm=False)
    assert lecture.path.name == "1-scene.convlab"
    gate = Gate(lecture_module.load_scene, hold=("2-scene.convlab",))
    monkeypatch.setattr(lecture_module, "load_scene", gate)
    for _ in range(3):
        assert lecture.next_scene()
    qtbot.waitUntil(lambda: not lecture.is_loading(), timeout=TIMEOUT)
    assert lecture.path.name == "4-scene.convlab"
    gate.release.set()  # the held first step ends now: dropped
    qtbot.waitUntil(lambda: len(gate.threads) == 3, timeout=TIMEOUT)
    qtbot.wait(300)
    assert lecture.path.name == "4-scene.convlab"
    assert "scene 4 of 4" in window.windowTitle()
    assert not lecture.next_scene()  # the last one: says so
    assert "last scene" in window.statusBar().currentMessage()
