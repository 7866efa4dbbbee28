"""Scenes in the window: a shipped scene opens into the controls and maps it holds
(checked against the headless compute of the file itself), a save reopens identical,
a broken or newer file changes nothing, and PageDown/PageUp walk a folder."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from convlab import explore  # noqa: E402
from convlab.gui.app import configure_pyqtgraph  # noqa: E402
from convlab.lecture import load_scene, scene_folder  # noqa: E402
from convlab.lecture.scene import SCENE_VERSION  # noqa: E402

TIMEOUT = 60_000
ROOT = Path(__file__).resolve().parents[1]
SCENES = ROOT / "assets" / "scenes"
SHIPPED = sorted(SCENES.glob("*.convlab"))
GEOMETRY_FIELDS = [
    "stride",
    "padding",
    "explicit_padding",
    "padding_mode",
    "dilation",
    "activation",
    "negative_slope",
    "pool",
    "pool_size",
    "pool_stride",
    "pool_padding",
    "pool_explicit_padding",
    "ceil_mode",
    "channels",
]


@pytest.fixture
def window(qtbot):
    configure_pyqtgraph()
    from convlab.gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(win.explorer.is_up_to_date, timeout=TIMEOUT)
    yield win
    win.lecture.ask_unsaved = lambda: "discard"
    win.close()


def settle(qtbot, explorer):
    qtbot.waitUntil(explorer.is_up_to_date, timeout=TIMEOUT)


def assert_shows(explorer, scene):
    """The controls, bank and displayed maps are the scene's (maps: the headless
    compute of the scene file, not the GUI's own pipeline)."""
    shown = explorer.result().settings
    for name in GEOMETRY_FIELDS:
        assert getattr(shown, name) == getattr(scene.settings, name), name
    assert explorer.geometry.values()["stride"] == scene.settings.stride
    assert [f.name for f in shown.filters] == [f.name for f in scene.settings.filters]
    for got, want in zip(shown.filters, scene.settings.filters, strict=True):
        np.testing.assert_array_equal(got.kernel, want.kernel)
        assert got.bias == want.bias
    np.testing.assert_array_equal(explorer.image(), scene.image)
    assert explorer.bank.current_index() == scene.filter_index
    expected = explore.compute(scene.image, scene.settings)
    grid = explorer.grid
    for i, fm in enumerate(expected.maps):
        for stage in grid.stages():
            np.testing.assert_array_equal(grid.values(i, stage), fm.stage(stage))
    assert explorer.colormap("maps") == scene.colormap
    assert explorer.robust_contrast_on() == (scene.clip_percentile is not None)


def state_snapshot(explorer):
    s = explorer.result().settings
    return (
        explorer.image().copy(),
        [(f.name, f.kernel.copy(), f.bias) for f in s.filters],
        {name: getattr(s, name) for name in GEOMETRY_FIELDS},
        explorer.colormap("maps"),
        explorer.input_label.text(),
    )


def assert_same_snapshot(a, b):
    np.testing.assert_array_equal(a[0], b[0])
    assert [(n, bias) for n, _, bias in a[1]] == [(n, bias) for n, _, bias in b[1]]
    for (_, ka, _), (_, kb, _) in zip(a[1], b[1], strict=True):
        np.testing.assert_array_equal(ka, kb)
    assert a[2:] == b[2:]


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_open_a_shipped_scene(window, qtbot, path):
    assert window.lecture.open(path)
    settle(qtbot, window.explorer)
    assert_shows(window.explorer, load_scene(path))
    n = len(scene_folder(SCENES))
    i = [p.name for p in scene_folder(SCENES)].index(path.name) + 1
    assert window.windowTitle().startswith(f"scene {i} of {n}: ")


def test_save_then_reopen_gives_identical_maps_and_settings(window, qtbot, tmp_path):
    explorer = window.explorer
    assert window.lecture.open(SCENES / "06-filter-bank-on-a-photo.convlab")
    settle(qtbot, explorer)
    # change things a scene holds: geometry, a kernel, the selection, the colours
    explorer.geometry.stride_h.setValue(2)
    explorer.bank.set_current(2)
    explorer.editor.set_cell(1, 1, -3.5)
    explorer.editor.bias.setValue(0.25)
    explorer.set_colormap("maps", "viridis")
    settle(qtbot, explorer)
    assert window.lecture.has_unsaved_changes()
    before = state_snapshot(explorer)
    maps = [
        {s: explorer.grid.values(i, s).copy() for s in explorer.grid.stages()}
        for i in range(4)
    ]
    target = tmp_path / "mine.convlab"
    assert window.lecture.save(target)
    assert not window.lecture.has_unsaved_changes()
    saved = load_scene(target)
    assert saved.title == "6. A filter bank on a photo"  # kept from the scene
    assert saved.filter_index == 2
    assert saved.colormap == "viridis"
    assert saved.trainer.get("model")  # the trainer's spec went in

    assert window.lecture.open(SCENES / "01-what-a-kernel-does.convlab")
    settle(qtbot, explorer)
    assert window.lecture.open(target)
    settle(qtbot, explorer)
    assert_same_snapshot(state_snapshot(explorer), before)
    assert explorer.bank.current_index() == 2
    for i in range(4):
        for s in explorer.grid.stages():
            np.testing.assert_array_equal(explorer.grid.values(i, s), maps[i][s])
    assert window.windowTitle().startswith("scene 1 of 1: ")


def test_selected_pixel_and_zoom_survive_a_round_trip(window, qtbot, tmp_path):
    explorer = window.explorer
    assert window.lecture.open(SCENES / "05-pooling.convlab")
    settle(qtbot, explorer)
    explorer.inspect(0, "pooled", 1, 2)
    explorer.grid.view_box(0, "conv").setRange(xRange=(1, 5), yRange=(2, 6), padding=0)
    zoom, center = explorer.view_state()
    target = tmp_path / "zoomed.convlab"
    assert window.lecture.save(target)
    scene = load_scene(target)
    assert scene.pixel == ("pooled", 1, 2)
    assert scene.zoom == pytest.approx(zoom)
    assert scene.center == pytest.approx(center)
    assert window.lecture.open(SCENES / "01-what-a-kernel-does.convlab")
    settle(qtbot, explorer)
    assert explorer.inspected() is None
    assert window.lecture.open(target)
    settle(qtbot, explorer)
    qtbot.waitUntil(lambda: explorer.inspected() is not None, timeout=TIMEOUT)
    assert explorer.inspected() == (0, "pooled", 1, 2)
    z2, c2 = explorer.view_state()
    assert z2 == pytest.approx(zoom, rel=1e-3)
    assert c2 == pytest.approx(center, abs=1e-3)


def broken_files(tmp_path):
    doc = json.loads((SCENES / "02-stride.convlab").read_text())
    newer = dict(doc, version=SCENE_VERSION + 1)
    bad_field = dict(doc, settings=dict(doc["settings"], stride=[0, 1]))
    too_many = dict(doc, filters=doc["filters"] * 40)
    far_pixel = dict(
        doc, selection={"filter": 0, "pixel": {"stage": "conv", "row": 9, "col": 0}}
    )
    empty = dict(doc, settings=dict(doc["settings"], dilation=[4, 4]))
    files = {
        "newer.convlab": (json.dumps(newer), "newer convlab"),
        "truncated.convlab": (json.dumps(doc)[:500], "not valid JSON"),
        "bad-stride.convlab": (json.dumps(bad_field), "stride"),
        "too-many.convlab": (json.dumps(too_many), "1 to 32 filters"),
        "far-pixel.convlab": (json.dumps(far_pixel), "must lie in the conv map (3x3)"),
        "empty.convlab": (json.dumps(empty), "Output would be empty"),
    }
    out = []
    for name, (text, words) in files.items():
        path = tmp_path / name
        path.write_text(text)
        out.append((path, words))
    return out


def test_a_broken_or_newer_scene_says_why_and_changes_nothing(window, qtbot, tmp_path):
    explorer = window.explorer
    assert window.lecture.open(SCENES / "04-dilation.convlab")
    settle(qtbot, explorer)
    before = state_snapshot(explorer)
    title = window.windowTitle()
    for path, words in broken_files(tmp_path):
        assert not window.lecture.open(path)
        message = window.statusBar().currentMessage()
        assert "Could not open the scene" in message
        assert words in message, (path.name, message)
        settle(qtbot, explorer)
        assert_same_snapshot(state_snapshot(explorer), before)
        assert window.windowTitle() == title
        assert window.lecture.path.name == "04-dilation.convlab"


def test_page_down_and_up_walk_the_folder(window, qtbot, tmp_path):
    lecture_dir = tmp_path / "lecture"
    lecture_dir.mkdir()
    for name in ("10-pooling.convlab", "2-stride.convlab", "1-kernel.convlab"):
        source = {"10": "05-pooling", "2-": "02-stride", "1-": "01-what-a-kernel-does"}
        shutil.copy(SCENES / f"{source[name[:2]]}.convlab", lecture_dir / name)
    (lecture_dir / "notes.txt").write_text("not a scene")
    explorer = window.explorer
    assert window.lecture.open(lecture_dir)  # a folder: its first scene
    settle(qtbot, explorer)
    assert window.lecture.path.name == "1-kernel.convlab"
    assert window.windowTitle().startswith("scene 1 of 3: 1. What a kernel does")
    explorer.grid.setFocus()
    for expected, title in (("2-stride", "2 of 3"), ("10-pooling", "3 of 3")):
        QTest.keyClick(window.focusWidget() or window, Qt.Key.Key_PageDown)
        qtbot.waitUntil(lambda: not window.lecture.is_loading(), timeout=TIMEOUT)
        settle(qtbot, explorer)
        assert window.lecture.path.stem == expected
        assert f"scene {title}" in window.windowTitle()
        assert_shows(explorer, load_scene(lecture_dir / f"{expected}.convlab"))
    QTest.keyClick(window, Qt.Key.Key_PageDown)  # past the end: stays, says so
    assert window.lecture.path.stem == "10-pooling"
    assert "last scene" in window.statusBar().currentMessage()
    window.scene_actions["previous_scene"].trigger()
    qtbot.waitUntil(lambda: not window.lecture.is_loading(), timeout=TIMEOUT)
    settle(qtbot, explorer)
    assert window.lecture.path.stem == "2-stride"
    QTest.keyClick(window, Qt.Key.Key_PageUp)
    qtbot.waitUntil(lambda: not window.lecture.is_loading(), timeout=TIMEOUT)
    settle(qtbot, explorer)
    assert window.lecture.path.stem == "1-kernel"


def test_unsaved_changes_ask_and_cancel_keeps_everything(window, qtbot, tmp_path):
    explorer = window.explorer
    target = tmp_path / "edit.convlab"
    shutil.copy(SCENES / "02-stride.convlab", target)
    assert window.lecture.open(target)
    settle(qtbot, explorer)
    explorer.geometry.dilation_h.setValue(2)
    settle(qtbot, explorer)
    asked = []

    def answer(reply):
        def ask():
            asked.append(reply)
            return reply

        return ask

    window.lecture.ask_unsaved = answer("cancel")
    assert not window.lecture.open(SCENES / "03-padding-zeros.convlab")
    assert window.lecture.path == target
    assert explorer.settings().dilation == (2, 1)
    window.close()
    assert window.isVisible()  # Cancel kept the window open
    window.lecture.ask_unsaved = answer("save")
    assert window.lecture.open(SCENES / "03-padding-zeros.convlab")
    assert load_scene(target).settings.dilation == (2, 1)  # saved before leaving
    assert asked == ["cancel", "cancel", "save"]
    settle(qtbot, explorer)
    assert not window.lecture.has_unsaved_changes()


def test_export_figure_writes_png_svg_and_gif(window, qtbot, tmp_path):
    from PIL import Image

    explorer = window.explorer
    assert window.lecture.open(SCENES / "02-stride.convlab")
    settle(qtbot, explorer)
    sizes = {}
    for name, scale in (("a.png", 1), ("b.png", 2), ("c.svg", 1), ("d.gif", 1)):
        with qtbot.waitSignal(window.lecture.figure_exported, timeout=TIMEOUT):
            assert window.lecture.export_figure(tmp_path / name, scale)
        if name.endswith(".svg"):
            assert (tmp_path / name).read_text().lstrip().startswith(("<?xml", "<svg"))
        else:
            with Image.open(tmp_path / name) as image:
                sizes[name] = (image.size, getattr(image, "n_frames", 1))
    assert sizes["b.png"][0] == (2 * sizes["a.png"][0][0], 2 * sizes["a.png"][0][1])
    assert sizes["d.gif"][1] >= 4
    assert not window.lecture.export_figure(tmp_path / "e.bmp")
    assert "must end in one of" in window.statusBar().currentMessage()


def test_command_line_opens_a_scene(qtbot):
    from convlab.gui.app import _parse
    from convlab.gui.main_window import MainWindow

    assert _parse([str(SCENES)]).scene == str(SCENES)
    configure_pyqtgraph()
    win = MainWindow(scene_path=str(SCENES / "03b-padding-modes.convlab"))
    qtbot.addWidget(win)
    win.show()
    # read on the thread pool, not in the constructor: the window shows first
    qtbot.waitUntil(lambda: win.lecture.path is not None, timeout=30_000)
    settle(qtbot, win.explorer)
    assert_shows(win.explorer, load_scene(SCENES / "03b-padding-modes.convlab"))
    win.close()


def test_command_line_scene_and_image_the_image_wins(qtbot, tmp_path):
    """``convlab SCENE --image PHOTO``: the scene is read off the GUI thread, then
    the photo replaces its image (as when both were opened in the constructor)."""
    import threading

    from PIL import Image

    from convlab.gui import lecture
    from convlab.gui.main_window import MainWindow

    photo = tmp_path / "photo.png"
    Image.fromarray(np.full((40, 60), 200, np.uint8)).save(photo)
    readers = []
    real = lecture._read_scene

    def spy(path):
        readers.append(threading.current_thread() is threading.main_thread())
        return real(path)

    configure_pyqtgraph()
    scene_file = SCENES / "03b-padding-modes.convlab"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(lecture, "_read_scene", spy)
        win = MainWindow(scene_path=str(scene_file), image_path=str(photo))
        qtbot.addWidget(win)
        win.show()
        qtbot.waitUntil(lambda: win.lecture.path is not None, timeout=30_000)
        qtbot.waitUntil(
            lambda: win.explorer.image().shape == (1, 40, 60), timeout=30_000
        )
    settle(qtbot, win.explorer)
    assert readers == [False]  # read once, on a pool thread
    scene = load_scene(scene_file)
    assert win.explorer.result().settings.padding == scene.settings.padding
    win.non_interactive = True  # the photo changed the scene: no save question
    win.close()


def test_a_scene_restores_the_trainers_model_and_settings(window, qtbot, tmp_path):
    """The trainer's layers and settings travel with the scene: saved, then shown
    again on opening after the trainer was changed."""
    trainer = window.trainer
    editor_specs = trainer.editor.specs()
    trainer.hyper_panel.epochs_spin.setValue(7)
    trainer.hyper_panel.seed_spin.setValue(42)
    trainer.data_panel.val_spin.setValue(20)
    target = tmp_path / "with-trainer.convlab"
    assert window.lecture.save(target)
    saved = load_scene(target).trainer
    assert saved["model"] == editor_specs
    assert saved["settings"]["epochs"] == 7
    # change the trainer, then reopen the scene
    trainer.hyper_panel.epochs_spin.setValue(2)
    trainer.hyper_panel.seed_spin.setValue(1)
    trainer.data_panel.val_spin.setValue(5)
    changed = [dict(spec) for spec in editor_specs]
    first_conv = next(spec for spec in changed if spec["type"] == "Conv2D")
    first_conv["filters"] += 3
    trainer.editor.set_specs(changed, preset="custom")
    assert trainer.editor.specs() != editor_specs
    assert window.lecture.open(target, confirm=False)
    settle(qtbot, window.explorer)
    assert trainer.editor.specs() == editor_specs
    got = trainer.settings()
    assert (got.epochs, got.seed, got.validation_split) == (7, 42, 0.2)


def test_a_bad_trainer_part_is_refused_and_nothing_changes(window, qtbot, tmp_path):
    source = SCENES / "02-stride.convlab"
    data = json.loads(source.read_text())
    data["trainer"] = {"model": [{"type": "Dense", "units": 0}]}
    target = tmp_path / "bad-trainer.convlab"
    target.write_text(json.dumps(data))
    before_settings = window.explorer.result().settings
    before_specs = window.trainer.editor.specs()
    messages = []
    window.lecture.status_message.connect(lambda text, _ms: messages.append(text))
    assert not window.lecture.open(target, confirm=False)
    assert "layer 0" in messages[-1]
    assert window.explorer.result().settings is before_settings
    assert window.trainer.editor.specs() == before_specs
