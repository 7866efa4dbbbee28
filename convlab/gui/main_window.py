"""The main window: the explorer and trainer tabs, menus, status bar and JIT warm-up."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QTabWidget,
    QWidget,
)

from convlab import explore

from .explorer import ExplorerWidget
from .explorer.render import warmup as warmup_explorer
from .lecture import EXPORT_FORMATS, LectureController
from .workers import Task

WARMING_TEXT = "Compiling kernels (first launch only)…"
WINDOW_TITLE = "convlab — see what convolutions do"
SCENE_FILTER = "convlab scenes (*.convlab);;All files (*)"


def _trainer_class():
    try:
        from convlab.gui.trainer import TrainerWidget
    except ImportError:
        return None
    return TrainerWidget


class MainWindow(QMainWindow):
    """The convlab window.

    Signals
    -------
    kernels_warmed(bool)
        The start-up JIT warm-up ended (True if it succeeded).
    screenshot_saved(str)
        :meth:`save_screenshot_when_ready` wrote its file.
    """

    kernels_warmed = Signal(bool)
    screenshot_saved = Signal(str)

    def __init__(
        self,
        image_path: str | None = None,
        parent: QWidget | None = None,
        scene_path: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(WINDOW_TITLE)
        self.resize(1500, 950)
        self._screenshot: tuple[str, bool] | None = None
        self._warm_task: Task | None = None

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self.explorer = ExplorerWidget(image_path=image_path)
        self.tabs.addTab(self.explorer, "Explorer")
        trainer_class = _trainer_class()
        self.trainer: QWidget | None = None
        if trainer_class is not None:
            try:
                self.trainer = trainer_class()
            except Exception as exc:  # a broken trainer must not take the explorer down
                self.trainer = None
                placeholder = QLabel(f"The trainer could not start: {exc}")
            else:
                placeholder = None
        else:
            placeholder = QLabel("The trainer is not available in this build.")
        if self.trainer is not None:
            self.tabs.addTab(self.trainer, "Trainer")
        else:
            placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
            placeholder.setWordWrap(True)
            self.tabs.addTab(placeholder, "Trainer")

        self._build_status_bar()
        self._build_menus()
        self.explorer.status_message.connect(self._on_status_message)
        self.explorer.hover_changed.connect(self._on_explorer_hover_changed)
        self.explorer.maps_displayed.connect(self._on_explorer_maps_displayed)
        if self.trainer is not None:
            if hasattr(self.trainer, "status_message"):
                self.trainer.status_message.connect(self._on_status_message)
            if hasattr(self.trainer, "filters_exported"):
                self.trainer.filters_exported.connect(self._on_trainer_filters_exported)
        self._start_warmup()
        if scene_path:
            self.lecture.open(scene_path, confirm=False)

    # -- chrome --------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # busy indicator
        self.busy.setMaximumWidth(160)
        self.busy.setMaximumHeight(16)
        self.busy.hide()
        bar.addPermanentWidget(self.busy)
        self.timing_label = QLabel()
        self.timing_label.setToolTip("Time the last feature-map compute took")
        bar.addPermanentWidget(self.timing_label)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self._build_lecture()
        app_menu = bar.addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        for menu in self.explorer.menus():
            bar.addMenu(menu)
        menu = getattr(self.trainer, "menu", None)
        if menu is not None:
            bar.addMenu(menu)
        bar.addMenu(self.lecture_menu)
        tabs_menu = bar.addMenu("&Window")
        for i, name in enumerate(("Explorer", "Trainer")):
            action = QAction(f"Show the {name.lower()}", self)
            action.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            tab = name.lower()
            action.triggered.connect(lambda _=False, n=tab: self.select_tab(n))
            tabs_menu.addAction(action)
        app_menu.addAction(self.explorer.actions_by_name["open"])
        app_menu.addSeparator()
        for key in ("open_scene", "save_scene", "save_scene_as", "export_figure"):
            app_menu.addAction(self.scene_actions[key])
        app_menu.addSeparator()
        app_menu.addAction(quit_action)
        help_menu = bar.addMenu("&Help")
        shortcuts = QAction("&Keyboard shortcuts", self)
        shortcuts.setShortcut(QKeySequence("F1"))
        shortcuts.triggered.connect(self._show_shortcuts)
        help_menu.addAction(shortcuts)

    def _show_shortcuts(self) -> None:
        lines = []
        for action in self.findChildren(QAction):
            if not action.shortcut().isEmpty() and action.text():
                keys = action.shortcut().toString()
                lines.append(f"{keys:>16}   {action.text().replace('&', '')}")
        QMessageBox.information(
            self, "Keyboard shortcuts", "\n".join(sorted(set(lines)))
        )

    # -- API used by app.py ----------------------------------------------------------
    def select_tab(self, name: str) -> None:
        """Show the ``"explorer"`` or ``"trainer"`` tab."""
        names = {"explorer": 0, "trainer": 1}
        if name not in names:
            raise ValueError(
                f"`name` must be 'explorer' or 'trainer'. Received: name={name!r}"
            )
        self.tabs.setCurrentIndex(names[name])

    def save_screenshot_when_ready(
        self, path: str, quit_after: bool = True, timeout_ms: int = 180_000
    ) -> None:
        """Save ``self.grab()`` to ``path`` once the first maps are on screen."""
        self._screenshot = (str(path), quit_after)
        if self.explorer.result() is not None:
            QTimer.singleShot(50, self._take_screenshot)
        else:
            QTimer.singleShot(timeout_ms, self._take_screenshot)

    def _take_screenshot(self) -> None:
        if self._screenshot is None:
            return
        path, quit_after = self._screenshot
        self._screenshot = None
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        ok = self.grab().save(path)
        if ok:
            self.screenshot_saved.emit(path)
        else:
            print(f"convlab: could not write the screenshot {path}")
        if quit_after:
            QApplication.instance().quit()

    # -- warm-up ---------------------------------------------------------------------
    def _start_warmup(self) -> None:
        self.statusBar().showMessage(WARMING_TEXT)
        self.busy.show()
        task = Task(warmup_explorer)
        task.signals.finished.connect(self._on_warmup_finished)
        task.signals.failed.connect(self._on_warmup_failed)
        self._warm_task = task
        task.start()

    def _on_warmup_finished(self, _result: object) -> None:
        self._warm_task = None
        self.statusBar().showMessage("Kernels ready.", 3000)
        self.busy.hide()
        self.kernels_warmed.emit(True)
        self.explorer.set_kernels_ready()

    def _on_warmup_failed(self, message: str) -> None:
        self._warm_task = None
        self.busy.hide()
        self.statusBar().showMessage(
            f"Kernel warm-up failed ({message}); computing anyway.", 10000
        )
        self.kernels_warmed.emit(False)
        self.explorer.set_kernels_ready()

    # -- slots -----------------------------------------------------------------------
    def _on_status_message(self, text: str, timeout_ms: int = 0) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def _on_explorer_hover_changed(self, text: str) -> None:
        if text:
            self.statusBar().showMessage(text, 4000)

    def _on_explorer_maps_displayed(self, result: explore.Result) -> None:
        self.timing_label.setText(f"maps computed in {result.seconds * 1000:.1f} ms")
        if self._screenshot is not None:
            QTimer.singleShot(100, self._take_screenshot)

    def _on_trainer_filters_exported(self, filters: object) -> None:
        self.explorer.add_filters(list(filters))  # type: ignore[call-overload]
        self.select_tab("explorer")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt)
        if not self.lecture.confirm_discard():
            event.ignore()
            return
        if self.trainer is not None and hasattr(self.trainer, "shutdown"):
            self.trainer.shutdown()
        self.explorer.shutdown()
        super().closeEvent(event)

    # -- scenes and lectures ---------------------------------------------------------
    def _build_lecture(self) -> None:
        """The lecture controller, the scene actions of the File menu and the Lecture
        menu (Next/Previous scene: PageDown/PageUp, see :meth:`keyPressEvent`)."""
        self.lecture = LectureController(self.explorer, self.trainer, self)
        self.lecture.ask_unsaved = self._ask_unsaved
        self.lecture.status_message.connect(self._on_status_message)
        self.lecture.position_changed.connect(self._on_lecture_position_changed)

        def make(text: str, slot, shortcut: str | None, tip: str) -> QAction:  # noqa: ANN001
            action = QAction(text, self)
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.triggered.connect(slot)
            return action

        self.scene_actions = {
            # Ctrl+O opens an image (the explorer's), so scenes get Ctrl+Alt+O
            "open_scene": make(
                "Open &scene…",
                self.open_scene_dialog,
                "Ctrl+Alt+O",
                "Open a .convlab scene (its folder becomes the lecture)",
            ),
            "save_scene": make(
                "&Save scene",
                self.save_scene,
                "Ctrl+S",
                "Save the explorer's set-up to the open scene file",
            ),
            "save_scene_as": make(
                "Save scene &as…",
                self.save_scene_as_dialog,
                "Ctrl+Alt+S",
                "Save the explorer's set-up as a new .convlab scene",
            ),
            "export_figure": make(
                "&Export figure…",
                self.export_figure_dialog,
                "Ctrl+Alt+E",
                "The scene as a slide figure: PNG at 1x/2x/3x, SVG, or an animated "
                "GIF of the sliding window (no selection frames)",
            ),
            # no shortcut: PageDown/PageUp reach the window only when no widget
            # (a spin box, the animation) used them
            "next_scene": make(
                "&Next scene\tPgDown",
                self.lecture.next_scene,
                None,
                "The next scene of the lecture's folder",
            ),
            "previous_scene": make(
                "&Previous scene\tPgUp",
                self.lecture.previous_scene,
                None,
                "The previous scene of the lecture's folder",
            ),
        }
        self.lecture_menu = QMenu("&Lecture", self)
        self.lecture_menu.addAction(self.scene_actions["next_scene"])
        self.lecture_menu.addAction(self.scene_actions["previous_scene"])

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt)
        """PageDown/PageUp that no widget consumed step through the lecture."""
        if event.modifiers() == Qt.KeyboardModifier.NoModifier:
            if event.key() == Qt.Key.Key_PageDown:
                self.lecture.next_scene()
                event.accept()
                return
            if event.key() == Qt.Key.Key_PageUp:
                self.lecture.previous_scene()
                event.accept()
                return
        super().keyPressEvent(event)

    def _ask_unsaved(self) -> str:
        """Save / Discard / Cancel for unsaved changes to the open scene."""
        name = self.lecture.path.name if self.lecture.path else "the scene"
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Unsaved changes")
        box.setText(f"Save the changes to {name}?")
        buttons = QMessageBox.StandardButton
        box.setStandardButtons(buttons.Save | buttons.Discard | buttons.Cancel)
        box.setDefaultButton(buttons.Save)
        answer = box.exec()
        return {buttons.Save: "save", buttons.Discard: "discard"}.get(
            buttons(answer), "cancel"
        )

    def open_scene_dialog(self) -> None:
        folder = str(self.lecture.path.parent) if self.lecture.path else ""
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a scene", folder, SCENE_FILTER
        )
        if path:
            self.lecture.open(path)

    def save_scene(self) -> bool:
        if self.lecture.path is None:
            return self.save_scene_as_dialog()
        return self.lecture.save()

    def save_scene_as_dialog(self) -> bool:
        start = str(self.lecture.path) if self.lecture.path else "scene.convlab"
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the scene", start, SCENE_FILTER
        )
        return bool(path) and self.lecture.save(path)

    def export_figure_dialog(self) -> None:
        stem = self.lecture.path.stem if self.lecture.path else "figure"
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export the figure", f"{stem}.png", ";;".join(EXPORT_FORMATS)
        )
        if not path:
            return
        suffix, scale = EXPORT_FORMATS.get(chosen, (".png", 1))
        if Path(path).suffix.lower() not in (".png", ".svg", ".gif", ".apng"):
            path += suffix
        self.lecture.export_figure(path, scale if path.endswith(".png") else 1)

    def _on_lecture_position_changed(self, text: str) -> None:
        self.setWindowTitle(f"{text} — convlab" if text else WINDOW_TITLE)
