"""A seeded random walk over the main window (explorer and trainer) as a user
would take it: buttons, spin boxes (out-of-range text too), combo boxes, check
boxes, menu actions, shortcuts, kernel cells, resizing, tabs, and files opened
through patched dialogs from the fault catalogue, scenes saved to and opened from
a temporary folder.

It asserts what issue #13 asks of the GUI: no uncaught exception (a
``sys.excepthook`` counts what Qt's slots and virtuals let escape) and no stall of
the event loop over 2 s (a 20 ms timer records its ticks; the longest gap between
two ticks is the longest time the GUI thread did not get back to its loop: a stall
detector, not a speed test). The gap asserted on leaves out the time the GUI thread
was ready to run but waiting for a CPU (``/proc/thread-self/schedstat``): on the
shared 2-core machines a load of 8-11 stretched a 0.5 s relayout to 3-5 s of wall
time. Time spent working or blocked (a FIFO, a lock, the GIL) all counts; the wall
figure is reported beside it. Modal dialogs and menus that open are closed by a
second timer after 150 ms, as a user pressing Escape.

The view-wide restyles (UI scale, Presentation view, High-contrast theme) re-polish
every widget and rebuild the feature grid's plots on the GUI thread
(``theme.apply_scale`` -> ``FeatureGrid.set_ui_scale`` -> ``_build``). They once
measured 2.1-3.1 s with 32 filters under a load of 8-11; re-measured (rel2, 32
filters, wall time, the full suite running beside it on the 2 cores): Presentation
view 1.35 s the first time then 0.45 s, Larger/Smaller text 0.4-0.8 s, High contrast
0.35 s; in the walk with them (seed 13) the longest stall was 1.39 s, under 2 s. That
walk also found an uncaught ``ValueError: `tap` must be from 0 to 3`` from
``explorer/animation.py`` ``_rebuild`` (a smaller kernel under the per-tap window),
now fixed and tested in test_gui_animation.py; so the walk includes the restyles
(``CONVLAB_FUZZ_VIEW=0`` leaves them out).
The bank stays at most :data:`BANK_CAP` filters (``CONVLAB_FUZZ_BANK_CAP=32`` lifts
it).

The seed is ``CONVLAB_FUZZ_SEED`` (default 13); the action count
``CONVLAB_FUZZ_ACTIONS`` (default 1000). A failure prints the seed and the last
actions. Run ``python tests/test_gui_fuzz.py [seed] [actions]`` for the figures.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import fault_catalogue as fc  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("pytestqt")
from PIL import Image  # noqa: E402
from PySide6.QtCore import QObject, Qt, QTimer, Slot  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QMenu,
    QMessageBox,
    QSpinBox,
    QWidget,
)

from convlab.gui import main_window, workers  # noqa: E402

SEED = int(os.environ.get("CONVLAB_FUZZ_SEED", "13"))
ACTIONS = int(os.environ.get("CONVLAB_FUZZ_ACTIONS", "1000"))
BANK_CAP = int(os.environ.get("CONVLAB_FUZZ_BANK_CAP", "12"))
TRACE = bool(os.environ.get("CONVLAB_FUZZ_TRACE"))
STALL_LIMIT_S = 2.0
SIZES = [(1024, 768), (1280, 720), (1920, 1080), (800, 560), (1500, 950)]
SHORTCUTS = [
    "Ctrl+Z",
    "Ctrl+Shift+Z",
    "Ctrl+=",
    "Ctrl+-",
    "Ctrl+0",
    "Ctrl+1",
    "Ctrl+2",
    "Ctrl+H",
    "Ctrl+K",
    "Ctrl+R",
    "Ctrl+Shift+K",
    "Esc",
    "PgDown",
    "PgUp",
    "Ctrl+Shift+A",
]
CELL_TEXTS = ["1e40", "-1e7", "abc", "1/0", "0.5", "-2", "1/16", "nan", "inf", ""]
SPIN_TEXTS = ["-999999", "1e9", "abc", "", "99999999999999999999", "0", "-1", "3"]
# never from the fuzz: Quit closes the window the walk runs on. With
# CONVLAB_FUZZ_VIEW=0 also not the view-wide restyles (see the module text).
VIEW_ACTIONS = {
    "&Larger text and tables",
    "&Smaller text and tables",
    "&Normal size",
    "&Presentation view",
    "&High-contrast theme",
}
VIEW_KEYS = {"Ctrl+=", "Ctrl+-", "Ctrl+0"}
WITH_VIEW = os.environ.get("CONVLAB_FUZZ_VIEW", "1") != "0"
SKIPPED_ACTIONS = {"&Quit"} | (set() if WITH_VIEW else VIEW_ACTIONS)
if not WITH_VIEW:
    SHORTCUTS = [k for k in SHORTCUTS if k not in VIEW_KEYS]


@dataclass
class Record:
    """What the walk saw."""

    actions: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    worker_failures: list[str] = field(default_factory=list)
    ticks: list[float] = field(default_factory=list)
    longest_gap: float = 0.0  # less the run-queue wait: what the test asserts
    longest_after: str = ""
    longest_wall: float = 0.0
    current: str = ""
    slowest: list[tuple[float, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"seed {SEED}: {len(self.actions)} actions, {len(self.exceptions)} "
            f"uncaught exceptions, {len(self.worker_failures)} worker failures "
            f"(turned into messages), longest stall {self.longest_gap * 1000:.0f} ms "
            f"not counting CPU waits ({self.longest_wall * 1000:.0f} ms wall) "
            f"(after {self.longest_after!r}); slowest actions "
            + ", ".join(f"{name} {dt * 1000:.0f} ms" for dt, name in self.slowest[:5])
        )


class Watch(QObject):
    """The stall detector's ticks and the closer of modal dialogs and popups (both
    timers live on the GUI thread and run in nested event loops too)."""

    def __init__(self, record: Record) -> None:
        super().__init__()
        self.record = record
        self.tick = QTimer(self)
        self.tick.setInterval(20)
        self.tick.timeout.connect(self._on_tick)
        self.closer = QTimer(self)
        self.closer.setInterval(150)
        self.closer.timeout.connect(self._on_closer)
        self.last = time.perf_counter()

    def start(self) -> None:
        self.last, self.waited = time.perf_counter(), self._run_queue_wait()
        self.tick.start()
        self.closer.start()

    def stop(self) -> None:
        self.tick.stop()
        self.closer.stop()

    @staticmethod
    def _run_queue_wait() -> float:
        """Seconds this thread spent runnable but waiting for a CPU (Linux)."""
        try:
            with open("/proc/thread-self/schedstat", encoding="ascii") as stat:
                return int(stat.read().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            return 0.0

    @Slot()
    def _on_tick(self) -> None:
        now, waited = time.perf_counter(), self._run_queue_wait()
        wall = now - self.last
        gap = wall - (waited - self.waited)
        self.last, self.waited = now, waited
        self.record.longest_wall = max(self.record.longest_wall, wall)
        if gap > self.record.longest_gap:
            self.record.longest_gap = gap
            self.record.longest_after = (
                self.record.actions[-1] if self.record.actions else ""
            )

    @Slot()
    def _on_closer(self) -> None:
        for widget in (
            QApplication.activePopupWidget(),
            QApplication.activeModalWidget(),
        ):
            if widget is not None:
                widget.close()


def build_files(folder: Path) -> dict[str, list[Path]]:
    """The catalogue's files (not the slow-to-build worst ones) by entry point, and a
    few good ones."""
    files: dict[str, list[Path]] = {"image": [], "bank": [], "model": [], "mnist": []}
    skip = set(fc.WORST)
    for i, fault in enumerate(fc.CATALOGUE):
        reader = "mnist" if fault.reader == "idx" else fault.reader
        if fault.name in skip or reader not in files:
            continue
        if fault.reader == "idx":
            continue  # an IDX file is not a folder; the MNIST entries are
        sub = folder / f"{i:02d}"
        sub.mkdir(parents=True)
        files[reader].append(fault.build(sub))
    good = folder / "good.png"
    Image.fromarray((np.arange(96 * 128) % 251).astype(np.uint8).reshape(96, 128)).save(
        good
    )
    files["image"].append(good)
    files["scene"] = [folder / "s1.convlab", folder / "missing.convlab", good]
    return files


def patch_dialogs(monkeypatch, rng: random.Random, files, out: Path) -> None:
    def open_name(parent, caption="", folder="", filters="", *a, **k):
        caption = caption.lower()
        kind = (
            "bank"
            if "bank" in caption
            else "model"
            if "model" in caption
            else "scene"
            if "scene" in caption
            else "image"
        )
        return str(rng.choice(files[kind])), ""

    def save_name(parent, caption="", default="", filters="", *a, **k):
        name = Path(default).name or "out.bin"
        return str(out / name), ""

    def folder_name(*a, **k):
        return str(rng.choice(files["mnist"]))

    monkeypatch.setattr(QFileDialog, "getOpenFileName", open_name)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_name)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", folder_name)
    monkeypatch.setattr(
        main_window,
        "exec_box",
        lambda box: rng.choice(
            [
                QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Discard,
            ]
        ),
    )


def visible(widgets: list[QWidget]) -> list[QWidget]:
    return [w for w in widgets if w.isVisible() and w.isEnabled()]


def menu_actions(window) -> list:
    found = []

    def walk(menu: QMenu) -> None:
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu())
            elif (
                not action.isSeparator()
                and action.isEnabled()
                and action.text() not in SKIPPED_ACTIONS
            ):
                found.append(action)

    for top in window.menuBar().actions():
        if top.menu() is not None:
            walk(top.menu())
    return found


def make_actions(window, rng: random.Random, files, out: Path):
    explorer, trainer = window.explorer, window.trainer

    def click():
        buttons = [
            b
            for b in visible(window.findChildren(QAbstractButton))
            if not isinstance(b, QCheckBox)
        ]
        if buttons:
            button = rng.choice(buttons)
            QTest.mouseClick(button, Qt.MouseButton.LeftButton)
            return f"click {button.text() or button.toolTip()[:30]!r}"
        return "click (none)"

    def spin():
        boxes = visible(window.findChildren(QAbstractSpinBox))
        boxes = [b for b in boxes if isinstance(b, (QSpinBox, QDoubleSpinBox))]
        if not boxes:
            return "spin (none)"
        box = rng.choice(boxes)
        if rng.random() < 0.5:
            low, high = box.minimum(), box.maximum()
            high = min(high, low + 40) if isinstance(box, QSpinBox) else high
            value = (
                rng.randint(int(low), int(high))
                if isinstance(box, QSpinBox)
                else rng.uniform(low, min(high, low + 10))
            )
            box.setValue(value)
            return f"spin {box.prefix()}{box.toolTip()[:20]!r} = {value}"
        text = rng.choice(SPIN_TEXTS)
        box.lineEdit().selectAll()
        QTest.keyClicks(box, text)
        QTest.keyClick(box, Qt.Key.Key_Return)
        return f"spin {box.toolTip()[:20]!r} typed {text!r}"

    def combo():
        boxes = visible(window.findChildren(QComboBox))
        if not boxes:
            return "combo (none)"
        box = rng.choice(boxes)
        if box.count():
            box.setCurrentIndex(rng.randrange(box.count()))
        return f"combo {box.toolTip()[:20]!r} -> {box.currentText()!r}"

    def check():
        boxes = visible(window.findChildren(QCheckBox))
        if not boxes:
            return "check (none)"
        box = rng.choice(boxes)
        QTest.mouseClick(box, Qt.MouseButton.LeftButton)
        return f"check {box.text()!r}"

    def menu():
        action = rng.choice(menu_actions(window))
        action.trigger()
        return f"menu {action.text()!r}"

    def key():
        keys = rng.choice(SHORTCUTS)
        target = QApplication.focusWidget() or window
        from PySide6.QtGui import QKeySequence

        seq = QKeySequence(keys)
        combo_key = seq[0]
        QTest.keyClick(target, combo_key.key(), combo_key.keyboardModifiers())
        return f"key {keys}"

    def resize():
        w, h = rng.choice(SIZES)
        window.resize(w, h)
        return f"resize {w}x{h}"

    def tab():
        window.select_tab(rng.choice(["explorer", "trainer"]))
        inner = rng.choice(
            [explorer.control_tabs, trainer.findChild(type(window.tabs))]
        )
        if inner is not None and inner.count():
            inner.setCurrentIndex(rng.randrange(inner.count()))
        return "tab"

    def cell():
        table = explorer.editor.table
        if not explorer.editor.isEnabled() or not table.rowCount():
            return "cell (none)"
        r, c = rng.randrange(table.rowCount()), rng.randrange(table.columnCount())
        text = rng.choice(CELL_TEXTS)
        table.item(r, c).setText(text)
        return f"cell {r},{c} = {text!r}"

    def open_file():
        kind = rng.choice(["image", "image", "bank", "model", "mnist", "scene"])
        if kind == "image":
            explorer.actions_by_name["open"].trigger()
        elif kind == "bank":
            explorer.actions_by_name["load_bank"].trigger()
        elif kind == "model":
            trainer._on_open_action_triggered()
        elif kind == "mnist":
            trainer._on_data_folder_requested()
        else:
            window.open_scene_dialog()
        return f"open {kind}"

    def scene():
        if rng.random() < 0.5:
            window.lecture.save(out / "s1.convlab")
            return "scene save"
        window.lecture.open_in_background(out / "s1.convlab")
        return "scene open"

    return [
        (click, 6),
        (spin, 5),
        (combo, 4),
        (check, 2),
        (menu, 3),
        (key, 3),
        (resize, 1),
        (tab, 2),
        (cell, 2),
        (open_file, 3),
        (scene, 1),
    ]


def run_walk(qtbot, window, tmp_path, monkeypatch, seed=SEED, count=ACTIONS):
    rng = random.Random(seed)
    files = build_files(tmp_path / "faults")
    out = tmp_path / "out"
    out.mkdir()
    files["scene"][0] = out / "s1.convlab"
    patch_dialogs(monkeypatch, rng, files, out)
    record = Record()
    real_hook = sys.excepthook

    def hook(kind, value, tb):
        record.exceptions.append(
            f"in {record.current} after {record.actions[-1:]}: "
            + "".join(traceback.format_exception(kind, value, tb))
        )

    real_print_exc = workers.traceback.print_exc

    def worker_failure(*a, **k):
        record.worker_failures.append(traceback.format_exc())

    monkeypatch.setattr(workers.traceback, "print_exc", worker_failure)
    actions = make_actions(window, rng, files, out)
    choices = [fn for fn, _ in actions]
    weights = [w for _, w in actions]
    watch = Watch(record)
    sys.excepthook = hook
    watch.start()
    try:
        for _ in range(count):
            fn = rng.choices(choices, weights)[0]
            record.current = fn.__name__
            started = time.perf_counter()
            try:
                record.actions.append(fn())
            except Exception:  # the driver itself: counted like the app's
                hook(*sys.exc_info())
            # back to the loop, as between two user actions
            QApplication.processEvents()
            bank = window.explorer.bank
            while len(bank.entries()) > BANK_CAP:
                bank.set_current(len(bank.entries()) - 1)
                bank.remove_current()
            took = time.perf_counter() - started
            if TRACE:  # a crash (not an exception) ends the process: the trail
                print(f"fuzz {len(record.actions)}: {record.actions[-1:]}", flush=True)
            record.slowest.append((took, record.actions[-1] if record.actions else ""))
            record.slowest = sorted(record.slowest, reverse=True)[:5]
            qtbot.wait(rng.choice([0, 1, 5]))
        qtbot.wait(200)
    finally:
        watch.stop()
        sys.excepthook = real_hook
        workers.traceback.print_exc = real_print_exc
    return record


@pytest.fixture
def window(qtbot, tmp_path):
    from trainer_helpers import subset

    from convlab.data.mnist import load_mnist
    from convlab.gui.app import configure_pyqtgraph

    configure_pyqtgraph()
    win = main_window.MainWindow()
    qtbot.addWidget(win)
    win.resize(1280, 720)
    win.show()
    qtbot.waitUntil(win.explorer.is_up_to_date, timeout=60_000)
    small = tmp_path / "small.png"
    Image.fromarray((np.arange(64 * 80) % 253).astype(np.uint8).reshape(64, 80)).save(
        small
    )
    assert win.explorer.load_image_file(small)
    trainer = win.trainer
    qtbot.waitUntil(lambda: trainer.run.data is not None, timeout=60_000)
    trainer.set_data(subset(load_mnist("bundled"), 300, 100))
    trainer.epochs_spin.setValue(1)
    yield win
    win.non_interactive = True
    win.trainer.shutdown()
    win.close()


def test_seeded_gui_fuzz(qtbot, window, tmp_path, monkeypatch):
    record = run_walk(qtbot, window, tmp_path, monkeypatch)
    print(record.summary())
    for text in sorted({f.strip().splitlines()[-1] for f in record.worker_failures}):
        print("  worker failure:", text[:160])
    detail = "\n".join(record.actions[-15:])
    assert len(record.actions) >= ACTIONS
    assert not record.exceptions, (
        f"{record.summary()}\n{record.exceptions[0]}\nlast actions:\n{detail}"
    )
    assert record.longest_gap < STALL_LIMIT_S, f"{record.summary()}\n{detail}"
