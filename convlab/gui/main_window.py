"""The main window: the explorer and trainer tabs, menus, status bar and JIT warm-up."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QTabWidget,
    QWidget,
)

from convlab import explore

from .explorer import ExplorerWidget
from .explorer.render import warmup as warmup_explorer
from .workers import Task

WARMING_TEXT = "Compiling kernels (first launch only)…"


class _Cancelled(Exception):
    """Ends the warm-up between two steps when the window closes."""


class _WarmupRelay(QObject):
    """Carries the warm-up's ``progressed(done, total, name)`` from its worker thread
    to the window (connected to a MainWindow method: runs on the GUI thread)."""

    progressed = Signal(int, int, str)


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
        self, image_path: str | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("convlab — see what convolutions do")
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
        app_menu = bar.addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        for menu in self.explorer.menus():
            bar.addMenu(menu)
        menu = getattr(self.trainer, "menu", None)
        if menu is not None:
            bar.addMenu(menu)
        tabs_menu = bar.addMenu("&Window")
        for i, name in enumerate(("Explorer", "Trainer")):
            action = QAction(f"Show the {name.lower()}", self)
            action.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            tab = name.lower()
            action.triggered.connect(lambda _=False, n=tab: self.select_tab(n))
            tabs_menu.addAction(action)
        app_menu.addAction(self.explorer.actions_by_name["open"])
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
        """Compile the kernels one by one on a thread of our own, with progress.

        The explorer computes at once: with NumPy until its kernels are compiled
        (``explore.compute(backend="auto")``), so a first launch shows maps in seconds.
        The warm-up has its own one-thread pool, so it never takes a slot of the global
        pool the explorer's computes and the trainer's data loading run on.
        """
        self.statusBar().showMessage(WARMING_TEXT, 3000)
        self.warm_label = QLabel(WARMING_TEXT)
        self.statusBar().insertPermanentWidget(0, self.warm_label)
        self.busy.setRange(0, 0)
        self.busy.show()
        self._warm_relay = _WarmupRelay()
        self._warm_relay.progressed.connect(self._on_warmup_progressed)
        self._warm_cancel = threading.Event()
        task = Task(self._run_warmup)
        task.signals.finished.connect(self._on_warmup_finished)
        task.signals.failed.connect(self._on_warmup_failed)
        self._warm_task = task
        self._warm_pool = QThreadPool()
        self._warm_pool.setMaxThreadCount(1)
        self._warm_pool.start(task)
        self.explorer.set_kernels_ready()

    def _run_warmup(self) -> bool:
        """On the warm-up's thread: False if the window closed before the end."""
        try:
            warmup_explorer(self._warmup_progress)
        except _Cancelled:
            return False
        return True

    def _warmup_progress(self, done: int, total: int, name: str) -> None:
        """The warm-up's callback, on its worker thread: data only, via the relay."""
        if self._warm_cancel.is_set():
            raise _Cancelled("the window closed")
        self._warm_relay.progressed.emit(done, total, name)

    def _on_warmup_progressed(self, done: int, total: int, name: str) -> None:
        if self._warm_task is None or done >= total:
            return
        self.busy.setRange(0, total)
        self.busy.setValue(done)
        self.busy.setFormat("%v of %m compiled")
        tip = (
            "Compiling the numba kernels (first launch only; later launches load "
            "them from the cache). Maps are computed with NumPy meanwhile."
        )
        self.busy.setToolTip(tip)
        # a permanent label: transient status messages must not hide the progress
        self.warm_label.setText(f"Compiling kernels {done + 1} of {total} ({name})…")
        self.warm_label.setToolTip(tip)
        self.warm_label.show()

    def _on_warmup_finished(self, completed: object) -> None:
        if not completed:
            return
        self._warm_task = None
        self.warm_label.hide()
        self.statusBar().showMessage("Kernels ready.", 3000)
        self.busy.hide()
        self.kernels_warmed.emit(True)
        self.explorer.set_kernels_ready()

    def _on_warmup_failed(self, message: str) -> None:
        if self._warm_cancel.is_set():
            return
        self._warm_task = None
        self.warm_label.hide()
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
        if self.trainer is not None and hasattr(self.trainer, "shutdown"):
            self.trainer.shutdown()
        self.explorer.shutdown()
        self._stop_warmup()
        super().closeEvent(event)

    def _stop_warmup(self) -> None:
        pool = getattr(self, "_warm_pool", None)
        if pool is not None:  # a compile cannot be interrupted: let the step end
            self._warm_cancel.set()
            pool.waitForDone(60_000)
