"""The main window: the explorer and trainer tabs, menus, status bar and JIT warm-up."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import traceback
from pathlib import Path

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QIODevice,
    QObject,
    QSettings,
    QSize,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QFontMetrics,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QTabWidget,
    QWidget,
)

from convlab import explore
from convlab._files import atomic_write

from . import theme
from .explorer import ExplorerWidget
from .explorer.render import warmup as warmup_explorer
from .lecture import EXPORT_FORMATS, LectureController
from .scroll import PanelScrollArea
from .workers import Task

WARMING_TEXT = "Compiling kernels (first launch only)…"
#: the busy bar's longest text, which it is sized for
BUSY_LONGEST_TEXT = "99 of 99 compiled"
PREFERRED_SIZE = QSize(1500, 950)
MIN_SIZE = QSize(800, 560)  # below 1024x768 minus a task bar
WINDOW_TITLE = "convlab — see what convolutions do"
SCENE_FILTER = "convlab scenes (*.convlab);;All files (*)"
#: How long ``--screenshot`` waits for the first maps (a cold first launch computes
#: them with NumPy within seconds) before it gives up and exits non-zero.
SCREENSHOT_TIMEOUT_MS = 60_000


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


def _scrolled(page: QWidget) -> QScrollArea:
    """A tab page that scrolls when the window is smaller than the page's minimum
    (a 1024x768 screen, a large UI scale) instead of widening the window."""
    return PanelScrollArea(page)


class MainWindow(QMainWindow):
    """The convlab window.

    Signals
    -------
    kernels_warmed(bool)
        The start-up JIT warm-up ended (True if it succeeded).
    screenshot_saved(str)
        :meth:`save_screenshot_when_ready` wrote its file.
    screenshot_failed(str)
        :meth:`save_screenshot_when_ready` could not write its file, or gave up
        waiting; the argument says why (also printed on stderr).
    ui_scale_changed(float)
        The presentation scale changed.
    """

    kernels_warmed = Signal(bool)
    screenshot_saved = Signal(str)
    screenshot_failed = Signal(str)
    ui_scale_changed = Signal(float)

    def __init__(
        self,
        image_path: str | None = None,
        parent: QWidget | None = None,
        settings: QSettings | None = None,
        scene_path: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(WINDOW_TITLE)
        self._settings = settings if settings is not None else theme.settings()
        self._ui_scale = 1.0
        self._high_contrast = False
        self._restoring = True
        self.fit_to_screen()
        self._screenshot: tuple[str, bool] | None = None
        self._screenshot_deadline = 0.0
        self._screenshot_timer = QTimer(self)
        self._screenshot_timer.setInterval(100)
        self._screenshot_timer.timeout.connect(self._on_screenshot_timer_timeout)
        #: a --screenshot run, a script: closing never asks
        self.non_interactive = False
        self._warm_task: Task | None = None

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        # the image is opened below, once the status bar can say why it failed
        self.explorer = ExplorerWidget()
        self.tabs.addTab(_scrolled(self.explorer), "Explorer")
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
            self.tabs.addTab(_scrolled(self.trainer), "Trainer")
        else:
            placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
            placeholder.setWordWrap(True)
            self.tabs.addTab(placeholder, "Trainer")

        self._build_status_bar()
        self._build_menus()
        self._restore_view_settings()
        self.explorer.display_changed.connect(self._on_explorer_display_changed)
        self.explorer.status_message.connect(self._on_status_message)
        self.explorer.hover_changed.connect(self._on_explorer_hover_changed)
        self.explorer.maps_displayed.connect(self._on_explorer_maps_displayed)
        self.explorer.image_loading_changed.connect(self._on_explorer_image_loading)
        if self.trainer is not None:
            if hasattr(self.trainer, "status_message"):
                self.trainer.status_message.connect(self._on_status_message)
            if hasattr(self.trainer, "filters_exported"):
                self.trainer.filters_exported.connect(self._on_trainer_filters_exported)
            if hasattr(self.trainer, "model_loading_changed"):
                self.trainer.model_loading_changed.connect(
                    self._on_trainer_model_loading
                )
        self._start_warmup()
        # both read off the GUI thread (a scene can carry a large image); an image
        # named too is opened once the scene is in, so it wins as it always did
        self._image_after_scene: str | None = None
        if scene_path:
            self.lecture.open_in_background(scene_path, confirm=False)
            self._image_after_scene = image_path
        elif image_path:  # the sample stays if it fails
            self.explorer.open_image_file(image_path)

    # -- chrome --------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # busy indicator
        self._fit_busy_bar()
        self.busy.hide()
        bar.addPermanentWidget(self.busy)
        self.image_busy = QProgressBar()  # an image decoding on the thread pool
        self.image_busy.setRange(0, 0)
        self.image_busy.setMaximumWidth(100)
        self.image_busy.setMaximumHeight(16)
        self.image_busy.setToolTip("Decoding the image…")
        self.image_busy.hide()
        self._loads: list[str] = []  # what image_busy stands for (tooltip)
        bar.addPermanentWidget(self.image_busy)
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
        self._build_view_menu(bar)
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

    def _build_view_menu(self, bar) -> None:  # noqa: ANN001
        menu = bar.addMenu("&View")
        self.view_menu = menu
        menu.setToolTipsVisible(True)
        a: dict[str, QAction] = {}

        def add(key: str, text: str, slot, keys=(), tip: str = "", checkable=False):  # noqa: ANN001, ANN202
            action = QAction(text, self)
            if keys:
                action.setShortcuts([QKeySequence(k) for k in keys])
            action.setCheckable(checkable)
            if tip:
                action.setToolTip(tip)
                action.setStatusTip(tip)
            action.triggered.connect(slot)
            menu.addAction(action)
            self.addAction(action)  # shortcuts work with the menu bar hidden too
            a[key] = action
            return action

        add(
            "full_screen",
            "&Full screen",
            self._on_full_screen_triggered,
            ["F11"],
            "Fill the screen (F11 again to leave)",
            checkable=True,
        )
        add(
            "presentation",
            "&Presentation view",
            self._on_presentation_triggered,
            ["Ctrl+Shift+P"],
            "Full screen, UI scale 2, controls hidden; again to go back",
            checkable=True,
        )
        menu.addSeparator()
        add(
            "larger",
            "&Larger text and tables",
            self.increase_ui_scale,
            ["Ctrl+=", "Ctrl++"],
            f"UI scale up by {theme.SCALE_STEP:g} (up to {theme.SCALE_MAX:g}×)",
        )
        add(
            "smaller",
            "&Smaller text and tables",
            self.decrease_ui_scale,
            ["Ctrl+-"],
            f"UI scale down by {theme.SCALE_STEP:g} (down to {theme.SCALE_MIN:g}×)",
        )
        add(
            "normal_size",
            "&Normal size",
            self._on_normal_size_triggered,
            ["Ctrl+0"],
            "UI scale 1×",
        )
        menu.addSeparator()
        hide = self.explorer.actions_by_name["hide_controls"]
        hide.setCheckable(True)
        menu.addAction(hide)
        self.addAction(hide)
        # the trainer's control column follows the explorer's (one Ctrl+H for both,
        # and the explorer's Show controls button brings both back)
        self.explorer.display_changed.connect(self._on_hide_controls_triggered)
        a["hide_controls"] = hide
        add(
            "high_contrast",
            "&High-contrast theme",
            self._on_high_contrast_triggered,
            ["Ctrl+Shift+C"],
            "White on black with yellow highlights, for washed-out projectors",
            checkable=True,
        )
        menu.aboutToShow.connect(self._on_view_menu_about_to_show)
        self.view_actions = a

    # -- presentation ----------------------------------------------------------------
    def fit_to_screen(self) -> None:
        """Size the window to the screen's available area (never larger) and set a
        minimum that fits 1024x768."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        self.setMinimumSize(MIN_SIZE)
        if screen is None:
            self.resize(PREFERRED_SIZE)
            return
        available = screen.availableGeometry()
        # leave room for the frame the window manager adds (title bar, borders)
        frame_w, frame_h = 16, 40
        # at least the preferred size, most of a large screen (3840x2160: 3072x1836)
        width = min(
            max(PREFERRED_SIZE.width(), round(0.8 * available.width())),
            available.width() - frame_w,
        )
        height = min(
            max(PREFERRED_SIZE.height(), round(0.85 * available.height())),
            available.height() - frame_h,
        )
        self.setMinimumSize(
            min(MIN_SIZE.width(), width), min(MIN_SIZE.height(), height)
        )
        self.resize(max(width, 320), max(height, 240))

    def ui_scale(self) -> float:
        return self._ui_scale

    def set_ui_scale(self, scale: float) -> None:
        """Scale fonts, tables, map titles and the microscope together (1 to 2.5)."""
        scale = theme.check_scale(scale)
        if scale == self._ui_scale and not self._restoring:
            return
        self._ui_scale = scale
        size = self.size()
        theme.apply_scale(scale, root=self)
        self.explorer.set_ui_scale(scale)
        if self.trainer is not None and hasattr(self.trainer, "set_ui_scale"):
            self.trainer.set_ui_scale(scale)
        self._fit_busy_bar()
        self._keep_size(size)
        self._save(theme.KEY_SCALE, scale)
        self.ui_scale_changed.emit(scale)
        self.statusBar().showMessage(f"UI scale {scale:g}×", 2000)

    def _fit_busy_bar(self) -> None:
        """The status bar's progress bar wide and high enough for its longest text
        at this UI scale (at 2x, 320 px wrapped "0 of 14 compiled" onto two clipped
        lines in the presentation view)."""
        metrics = QFontMetrics(QApplication.font())
        width = metrics.horizontalAdvance(BUSY_LONGEST_TEXT) + 28
        self.busy.setFixedWidth(max(width, round(120 * self._ui_scale)))
        self.busy.setFixedHeight(metrics.height() + 4)

    def increase_ui_scale(self) -> None:
        self.set_ui_scale(min(self._ui_scale + theme.SCALE_STEP, theme.SCALE_MAX))

    def decrease_ui_scale(self) -> None:
        self.set_ui_scale(max(self._ui_scale - theme.SCALE_STEP, theme.SCALE_MIN))

    def high_contrast(self) -> bool:
        return self._high_contrast

    def set_high_contrast(self, on: bool) -> None:
        """The black-and-white theme with yellow highlights (or the normal one)."""
        on = bool(on)
        if on == self._high_contrast and not self._restoring:
            return
        self._high_contrast = on
        theme.apply_high_contrast(on)
        self.explorer.set_foreground("#ffffff" if on else "#e8eaed")
        self._save(theme.KEY_HIGH_CONTRAST, on)

    def set_full_screen(self, on: bool) -> None:
        if on:
            self.showFullScreen()
        else:
            self.showNormal()

    def is_presenting(self) -> bool:
        return getattr(self, "_before_presentation", None) is not None

    def set_presentation(self, on: bool) -> None:
        """Full screen, scale at least 2, controls hidden; off restores the view."""
        if on == self.is_presenting():
            return
        if on:
            self._before_presentation = (
                self.isFullScreen(),
                self._ui_scale,
                self.explorer.controls_visible(),
            )
            self.set_full_screen(True)
            self.set_ui_scale(max(self._ui_scale, 2.0))
            self.explorer.set_controls_visible(False)
            self._set_trainer_controls(False)
        else:
            full, scale, controls = self._before_presentation
            self._before_presentation = None
            self.explorer.set_controls_visible(controls)
            self._set_trainer_controls(controls)
            self.set_ui_scale(scale)
            self.set_full_screen(full)

    def _keep_size(self, size: QSize) -> None:
        """A larger font raises layout minimums: the window keeps its size (panes
        scroll) instead of growing past the screen."""
        if self.isFullScreen() or self.isMaximized():
            return
        screen = self.screen()
        if screen is not None:
            available = screen.availableGeometry().size()
            size = size.boundedTo(available)
        self.setMaximumSize(size.expandedTo(self.minimumSize()))
        self.resize(size)
        self.setMaximumSize(16777215, 16777215)

    def _save(self, key: str, value: object) -> None:
        if not self._restoring:
            self._settings.setValue(key, value)

    def _restore_view_settings(self) -> None:
        store = self._settings
        self._restoring = True
        try:
            self.set_ui_scale(theme.clamp_scale(store.value(theme.KEY_SCALE, 1.0)))
            self.set_high_contrast(theme.read_bool(store, theme.KEY_HIGH_CONTRAST))
            for view in self.explorer.VIEWS:
                choice = store.value(theme.KEY_COLORMAPS + view, None)
                if choice is not None:
                    # a map from another version: keep the default
                    with contextlib.suppress(ValueError):
                        self.explorer.set_colormap(view, str(choice))
            robust = self.explorer.robust_contrast_on()
            self.explorer.set_robust_contrast(
                theme.read_bool(store, theme.KEY_ROBUST, robust)
            )
        finally:
            self._restoring = False

    def _on_explorer_display_changed(self) -> None:
        if self._restoring:
            return
        for view in self.explorer.VIEWS:
            self._settings.setValue(
                theme.KEY_COLORMAPS + view, self.explorer.colormap(view)
            )
        self._settings.setValue(theme.KEY_ROBUST, self.explorer.robust_contrast_on())

    def _on_full_screen_triggered(self, checked: bool) -> None:
        self.set_full_screen(checked)

    def _on_presentation_triggered(self, checked: bool) -> None:
        self.set_presentation(checked)

    def _on_normal_size_triggered(self) -> None:
        self.set_ui_scale(1.0)

    def _on_high_contrast_triggered(self, checked: bool) -> None:
        self.set_high_contrast(checked)

    def _on_hide_controls_triggered(self) -> None:
        self._set_trainer_controls(self.explorer.controls_visible())

    def _set_trainer_controls(self, visible: bool) -> None:
        if self.trainer is not None:
            self.trainer.set_controls_visible(visible)

    def _on_view_menu_about_to_show(self) -> None:
        a = self.view_actions
        a["full_screen"].setChecked(self.isFullScreen())
        a["presentation"].setChecked(self.is_presenting())
        a["hide_controls"].setChecked(not self.explorer.controls_visible())
        a["high_contrast"].setChecked(self._high_contrast)
        a["larger"].setEnabled(self._ui_scale < theme.SCALE_MAX)
        a["smaller"].setEnabled(self._ui_scale > theme.SCALE_MIN)

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
        self,
        path: str,
        quit_after: bool = True,
        timeout_ms: int = SCREENSHOT_TIMEOUT_MS,
    ) -> None:
        """Save ``self.grab()`` to ``path`` once the explorer has settled: its image
        decoded and its maps on screen, or a problem with the settings shown instead
        (which no amount of waiting fixes: saved, then reported as a failure).

        ``quit_after`` ends the application with exit code 0 when the maps were
        saved, 1 otherwise (the reason on stderr). After ``timeout_ms`` without the
        explorer settling, the window is saved as it is and that counts as a
        failure too.
        """
        self._screenshot = (str(path), quit_after)
        if quit_after:
            self.non_interactive = True
        self._screenshot_deadline = time.monotonic() + timeout_ms / 1000
        self._screenshot_timer.start()
        self._on_screenshot_timer_timeout()

    def explorer_problems(self) -> list[str]:
        """Why the explorer's settings cannot make maps of its image ([] if they
        can)."""
        image = self.explorer.image()
        if image is None:
            return ["no image"]
        plan = explore.plan(self.explorer.settings(), image.shape)
        return [message for _, message in plan.problems]

    def _on_screenshot_timer_timeout(self) -> None:
        if self._screenshot is None:
            self._screenshot_timer.stop()
            return
        try:
            settled, problem = self._screenshot_state()
        except Exception as exc:  # noqa: BLE001 (a --screenshot run must end)
            settled, problem = True, f"could not check the maps: {exc}"
        if not settled and time.monotonic() < self._screenshot_deadline:
            return
        if not settled:
            problem = "the maps did not appear in time"
        self._take_screenshot(problem)

    def _screenshot_state(self) -> tuple[bool, str]:
        """(settled, problem): settled once nothing more will change by waiting."""
        explorer = self.explorer
        if explorer.image_loading() or explorer.bank_loading():
            return False, ""
        if explorer.is_up_to_date():
            return True, ""
        if explorer.is_busy():
            return False, ""
        problems = self.explorer_problems()
        if problems:
            return True, "the settings do not fit the image: " + "; ".join(problems)
        return False, ""

    def _take_screenshot(self, problem: str = "") -> None:
        """Write the picture; ``problem`` (why the maps are missing) makes it a
        failure even when the file is written."""
        if self._screenshot is None:
            return
        self._screenshot_timer.stop()
        path, quit_after = self._screenshot
        self._screenshot = None
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            _save_image(path, self.grab().toImage())
        except Exception as exc:  # noqa: BLE001 (reported, and the exit code says so)
            problem = f"could not write the screenshot: {exc}"
        else:
            if problem:
                problem = f"{problem} (the window was saved to {path} as it is)"
            else:
                self.screenshot_saved.emit(path)
        if problem:
            print(f"convlab: --screenshot: {problem}", file=sys.stderr, flush=True)
            self.screenshot_failed.emit(problem)
        if quit_after:
            QApplication.instance().exit(1 if problem else 0)

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
        try:
            self._warm_relay.progressed.emit(done, total, name)
        except RuntimeError as exc:  # the relay went with the window, mid-step
            raise _Cancelled("the window is gone") from exc

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
        if self.statusBar().currentMessage() in ("", WARMING_TEXT):
            # never over another message: "Could not open bad.jpg" was replaced
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

    def _on_trainer_filters_exported(self, filters: object) -> None:
        self.explorer.add_filters(list(filters))  # type: ignore[call-overload]
        self.select_tab("explorer")

    def _on_explorer_image_loading(self, loading: bool) -> None:
        self._set_loading("Decoding the image…", loading)

    def _on_trainer_model_loading(self, loading: bool) -> None:
        self._set_loading("Opening the model…", loading)

    def _on_lecture_loading(self, loading: bool) -> None:
        self._set_loading("Reading the scene…", loading)
        if not loading and self._image_after_scene:
            path, self._image_after_scene = self._image_after_scene, None
            # after the scene is applied (it is, right after this signal): applying
            # it drops an image still being decoded
            QTimer.singleShot(0, lambda: self.explorer.open_image_file(path))

    def _set_loading(self, what: str, loading: bool) -> None:
        """One busy bar for the files being read on the thread pool."""
        loads = self._loads
        if loading and what not in loads:
            loads.append(what)
        elif not loading and what in loads:
            loads.remove(what)
        self.image_busy.setToolTip(" ".join(loads))
        self.image_busy.setVisible(bool(loads))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt)
        try:
            keep_open = not self.confirm_close()
        except Exception:  # an exception escaping closeEvent crashes the process
            traceback.print_exc()
            keep_open = False
        if keep_open:
            event.ignore()
            return
        if self.trainer is not None and hasattr(self.trainer, "shutdown"):
            self.trainer.shutdown()
        self.explorer.shutdown()
        self._stop_warmup()
        super().closeEvent(event)

    # -- scenes and lectures ---------------------------------------------------------
    def _build_lecture(self) -> None:
        """The lecture controller, the scene actions of the File menu and the Lecture
        menu (Next/Previous scene: PageDown/PageUp, see :meth:`keyPressEvent`)."""
        self.lecture = LectureController(self.explorer, self.trainer, self)
        self.lecture.ask_unsaved = self._ask_unsaved
        self.lecture.status_message.connect(self._on_status_message)
        self.lecture.position_changed.connect(self._on_lecture_position_changed)
        self.lecture.loading_changed.connect(self._on_lecture_loading)

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
        return self._ask_save_discard(
            "Unsaved changes", f"Save the changes to {name}?", ""
        )

    def _ask_save_discard(self, title: str, text: str, detail: str) -> str:
        """A Save / Discard / Cancel box: ``"save"``, ``"discard"`` or
        ``"cancel"`` (Escape and closing the box are Cancel)."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(title)
        box.setText(text)
        if detail:
            box.setInformativeText(detail)
        buttons = QMessageBox.StandardButton
        box.setStandardButtons(buttons.Save | buttons.Discard | buttons.Cancel)
        box.setDefaultButton(buttons.Save)
        box.setEscapeButton(buttons.Cancel)
        answer = exec_box(box)
        return {buttons.Save: "save", buttons.Discard: "discard"}.get(
            buttons(answer), "cancel"
        )

    def unsaved_work(self) -> list[str]:
        """What closing now would lose: ``"scene"`` (edits to the open scene),
        ``"model"`` (a model trained since it was made, opened or saved)."""
        lost = []
        if self.lecture.has_unsaved_changes():
            lost.append("scene")
        has_model = getattr(self.trainer, "has_unsaved_model", None)
        if has_model is not None and has_model():
            lost.append("model")
        return lost

    def confirm_close(self) -> bool:
        """True when the window may close: nothing unsaved, or each unsaved thing
        saved or discarded by the user (Save / Discard / Cancel for each). Never
        asks when :attr:`non_interactive` is set or nothing would be lost."""
        if self.non_interactive:
            return True
        lost = self.unsaved_work()
        if "scene" in lost and not self.lecture.confirm_discard():
            return False
        if "model" in lost:
            trainer = self.trainer
            running = trainer.state.running
            detail = (
                "Training is still running: Save stops it and saves what the model "
                "has learned so far."
                if running
                else "It was trained since it was last saved or opened."
            )
            answer = self._ask_save_discard(
                "Unsaved model",
                "Save the trained model before closing?",
                detail,
            )
            if answer == "cancel":
                return False
            if answer == "save":
                return self._save_model_before_close()
        return True

    def _save_model_before_close(self) -> bool:
        trainer = self.trainer
        path, _ = QFileDialog.getSaveFileName(
            self, "Save model", "model.npz", "convlab models (*.npz)"
        )
        if not path:
            return False  # the dialog was cancelled: so is the close
        if trainer.state.running:
            trainer.stop_training()
            deadline = time.monotonic() + 30
            while trainer.state.running and time.monotonic() < deadline:
                QApplication.processEvents()  # the worker's finished signal
                time.sleep(0.01)
        return bool(trainer.save_model(path))

    def open_scene_dialog(self) -> None:
        folder = str(self.lecture.path.parent) if self.lecture.path else ""
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a scene", folder, SCENE_FILTER
        )
        if path:
            self.lecture.open_in_background(path)

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

    def _stop_warmup(self) -> None:
        pool = getattr(self, "_warm_pool", None)
        if pool is not None:  # a compile cannot be interrupted: let the step end
            self._warm_cancel.set()
            pool.waitForDone(60_000)


def exec_box(box: QMessageBox) -> int:
    """Run a question box modally; its button. Tests replace this one function
    (the box itself, its text and buttons, stays real)."""
    return box.exec()


def _save_image(path: str, image) -> None:  # noqa: ANN001 (QImage)
    """``image`` encoded in memory (format from the suffix, PNG by default), then
    written through :func:`atomic_write`; OSError naming the problem."""
    suffix = Path(path).suffix.lstrip(".").upper()
    fmt = suffix if suffix in ("PNG", "JPG", "JPEG", "BMP") else "PNG"
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if image.isNull() or not image.save(buffer, fmt):
        raise OSError(f"the window could not be encoded as {fmt}")
    buffer.close()
    with atomic_write(path) as handle:
        handle.write(bytes(data.data()))
