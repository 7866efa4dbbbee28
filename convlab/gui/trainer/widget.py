"""The training window: build a small CNN, train it on MNIST, watch it learn, draw a
digit.

Layout: a control column on the left (:mod:`.controls`: data, hyperparameters, the
run's buttons and progress) and tabs on the right (Model, Training, Activations,
Results, Draw; :mod:`.panels`, :mod:`.model_editor`, :mod:`.draw_panel`).

State: a Qt-free :class:`~convlab.train.run.TrainerRun` owns it (data, model, counters,
results, the :class:`~convlab.train.run.RunState`); this widget drives it from the
user's actions and the worker's events, and refreshes its panels from its callbacks.

Threads: training runs in a :class:`~convlab.gui.workers.GeneratorWorker` over
:meth:`TrainingSession.events`; data loading and idle-time predictions run as
:class:`~convlab.gui.workers.Task`. Every worker signal is connected to a method of this
widget (GUI thread). The model is touched only under ``run.lock``: by the training
thread between steps, or by a prediction task when training is paused or stopped.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QMenu,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from convlab.train import check_stack, engine
from convlab.train.datasets import DataLoadCancelled, source_label
from convlab.train.events import EpochEvent, FinishedEvent, StepEvent
from convlab.train.finetune import replace_head
from convlab.train.history import run_label
from convlab.train.preprocess import Augmenter, Normaliser  # taug
from convlab.train.run import RunState, TrainerRun, load_data
from convlab.train.session import (
    BusyEvent,
    EvaluationEvent,
    SnapshotEvent,
    TrainSettings,
)

from ..workers import GeneratorWorker, Task
from .augment_panel import AugmentPanel  # taug
from .controls import DataPanel, HyperPanel, ProgressRelay, RunPanel
from .data_view import DataView
from .draw_panel import DrawPanel, draw_problem
from .exports import TrainerExports
from .live_views import LiveViewsMixin
from .model_editor import ModelEditor
from .model_files import ModelFilesMixin
from .normalise_panel import NormalisePanel  # taug
from .panels import BARS_MIN_HEIGHT, ActivationsTab, ResultsPanel, TrainingTab
from .warming import CompileEvent, session_events

__all__ = ["TrainerWidget"]


def _is_urgent(event: Any) -> bool:
    """Epoch results and evaluations go out at once rather than waiting for the
    throttle."""
    return isinstance(event, (EpochEvent, EvaluationEvent, FinishedEvent, CompileEvent))


def gui_data_advice(message: str) -> str:
    """A data error's advice in the GUI's words: the command line's ``--data PATH``
    is the Data list's folder choice here."""
    message = message.rstrip(".")
    return message.replace(
        "use --data PATH with a folder holding the four IDX files",
        'choose "folder with IDX files..." in the Data list (a folder holding the '
        "four IDX files), or the bundled subset, which works offline",
    )


class TrainerWidget(LiveViewsMixin, ModelFilesMixin, QWidget):
    """The training tab.

    Two method groups live in mixins beside it: :mod:`.live_views` (predictions,
    filters and activations for the current model) and :mod:`.model_files` (save,
    open, evaluate an opened model, export filters).

    Signals
    -------
    status_message(str, int)
        Text for the main window's status bar and a timeout in ms (0: until replaced).
    filters_exported(object)
        The first Conv2D's kernels as a list of ``(name, (KH, KW) float32)``, for the
        explorer's filter bank.
    training_finished(bool)
        A run ended; True if it was stopped.
    model_loading_changed(bool)
        A model file began (True) or ended (False) loading on the thread pool.
    """

    status_message = Signal(str, int)
    filters_exported = Signal(object)
    training_finished = Signal(bool)
    model_loading_changed = Signal(bool)

    def __init__(
        self, parent: QWidget | None = None, *, load_data: bool = True
    ) -> None:
        """``load_data=False`` skips loading the bundled MNIST (tests call
        ``set_data``)."""
        super().__init__(parent)
        self.run = TrainerRun()
        self._worker: GeneratorWorker | None = None
        self._tasks: set[Task] = set()
        self._relay: ProgressRelay | None = None
        self._probe_task: Task | None = None
        self._probe_dirty = False
        self._closing = False
        self._pending_test_probe = None
        self._model_base = "the model"
        self._eval_task: Task | None = None
        self._eval_model: Any = None
        #: the chosen preset's native input and name (the editor shows it on request)
        self._native_shape: tuple[int, ...] | None = None
        self._native_name = ""

        self._build_controls()
        self._build_tabs()
        self._build_menu()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._controls_scroll)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([360, 1000])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setInterval(33)
        self._refresh_timer.timeout.connect(self._on_refresh_timer_timeout)

        # plain callbacks: the run changes only on the GUI thread
        self.run.state_changed.connect(self._on_run_state_changed)
        self.run.data_changed.connect(self._on_run_data_changed)
        self.run.model_changed.connect(self._on_run_model_changed)
        self._apply_preset("tiny")
        self._refresh_controls()
        if load_data:
            QTimer.singleShot(0, self._start_loading_data)

    # ============================================================ construction
    def _build_controls(self) -> None:
        panel = QWidget()
        v = QVBoxLayout(panel)
        self.data_panel = DataPanel()
        self.data_panel.source_chosen.connect(self._start_loading_data)
        self.data_panel.folder_requested.connect(self._on_data_folder_requested)
        # -- tdata: folders of class sub-folders, reading them again, cancel
        self.data_panel.class_folder_requested.connect(self._on_class_folder_requested)
        self.data_panel.reload_requested.connect(self._on_data_reload_requested)
        self.data_panel.cancel_requested.connect(self._on_data_cancel_requested)
        self._loading_cancel: threading.Event | None = None
        self._data_task: Task | None = None
        self._class_folder = ""
        self.data_panel.train_limit_spin.valueChanged.connect(
            self._on_train_limit_changed
        )
        self.data_panel.val_spin.valueChanged.connect(self._on_val_spin_changed)
        self.hyper_panel = HyperPanel()
        self.hyper_panel.lr_spin.valueChanged.connect(self._on_lr_changed)
        self.run_panel = RunPanel()
        self.run_panel.start_button.clicked.connect(self.start_training)
        self.run_panel.pause_button.clicked.connect(self.toggle_pause)
        self.run_panel.stop_button.clicked.connect(self.stop_training)
        self.run_panel.reset_button.clicked.connect(self.reset_model)
        # the names tests, benchmarks and lectures drive
        self.batch_spin = self.hyper_panel.batch_spin
        self.epochs_spin = self.hyper_panel.epochs_spin
        self.seed_spin = self.hyper_panel.seed_spin
        self.lr_spin = self.hyper_panel.lr_spin
        self.start_button = self.run_panel.start_button
        self.progress = self.run_panel.progress

        v.addWidget(self.data_panel)
        v.addWidget(self.hyper_panel)
        v.addWidget(self.run_panel)
        v.addStretch(1)
        self._controls_scroll = QScrollArea()
        self._controls_scroll.setWidget(panel)
        self._controls_scroll.setWidgetResizable(True)
        for combo in panel.findChildren(QComboBox):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(14)
        self._controls_scroll.setMinimumWidth(panel.sizeHint().width() + 24)
        self._controls_scroll.setHorizontalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )

    def _build_tabs(self) -> None:
        self.tabs = QTabWidget()
        self.editor = ModelEditor(engine.PRESET_LABELS)
        self.editor.specs_changed.connect(self._on_editor_specs_changed)
        self.editor.preset_chosen.connect(self._on_editor_preset_chosen)
        self.editor.shown_input_changed.connect(self._on_editor_shown_input_changed)
        self.training_tab = TrainingTab()
        self.training_tab.test_index_spin.valueChanged.connect(
            self._on_test_index_changed
        )
        self.activations_tab = ActivationsTab()
        self.results = ResultsPanel()
        self.draw_panel = DrawPanel()
        self.draw_panel.digit_changed.connect(self._on_draw_digit_changed)
        self.curves = self.training_tab.curves
        self.filters = self.training_tab.filters
        self.confusion = self.results.confusion
        self.cell_gallery = self.results.cell_gallery
        self.examples = self.results.examples

        self.tabs.addTab(self.editor, "Model")
        self.tabs.addTab(self.training_tab, "Training")
        self.tabs.addTab(self.activations_tab, "Activations")
        self.tabs.addTab(self.results, "Results")
        self.tabs.addTab(self.draw_panel, "Draw a digit")
        # -- tdata: the Data tab (thumbnails and counts per class)
        self.data_view = DataView()
        self.tabs.addTab(self.data_view, "Data")
        # -- taug: augmentation and normalisation tabs (their settings go into
        # TrainSettings in settings())
        self.augment_panel = AugmentPanel(self.run)
        self.normalise_panel = NormalisePanel(self.run)
        self.tabs.addTab(self.augment_panel, "Augment")
        self.tabs.addTab(self.normalise_panel, "Normalise")
        # -- end taug
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)

    def _build_menu(self) -> None:
        self.menu = QMenu("&Training", self)

        def action(
            text: str, slot, shortcut: str | QKeySequence | None = None, tip: str = ""
        ) -> QAction:
            a = QAction(text, self)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
                # the window's: F5 works wherever the focus is while the trainer
                # shows (a hidden tab's actions do not fire)
                a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            a.setStatusTip(tip)
            a.triggered.connect(slot)
            self.menu.addAction(a)
            self.addAction(a)
            return a

        self.start_action = action("&Start training", self.start_training, "F5")
        self.pause_action = action("&Pause / resume", self.toggle_pause, "F6")
        self.stop_action = action("S&top", self.stop_training, "Shift+F5")
        self.reset_action = action("&Reset weights", self.reset_model, "Ctrl+Shift+R")
        self.menu.addSeparator()
        self.open_action = action(
            "&Open model...",
            self._on_open_action_triggered,
            "Ctrl+Shift+O",
            "Load a model saved here or by convlab train",
        )
        self.save_action = action(
            "&Save model...",
            self._on_save_action_triggered,
            "Ctrl+Shift+S",
            "Save the model (npz + JSON architecture)",
        )
        self.menu.addSeparator()
        self.export_action = action(
            "Send first-layer filters to the &explorer",
            self.export_filters,
            None,
            "Use the learned first-layer kernels as the explorer's bank",
        )
        # -- exports (tcurves): curves PNG/SVG/CSV, confusion and galleries PNG
        self.exports = TrainerExports(
            self,
            self.curves,
            self.confusion,
            [self.cell_gallery, self.examples],
            self._message,
            self.results.export_note,
        )
        self.exports.add_to_menu(self.menu)
        self.results.export_confusion_button.clicked.connect(self.exports.ask_confusion)
        self.results.export_galleries_button.clicked.connect(self.exports.ask_galleries)

    # ============================================================ state
    def _refresh_controls(self) -> None:
        state = self.run.state
        running, ready = state.running, state == RunState.READY
        rp = self.run_panel
        problem = self.run.start_problem(self.settings()) if ready else ""
        for w in (rp.start_button, self.start_action):
            w.setEnabled(ready and not problem)
        rp.start_button.setToolTip(
            problem or "Train the model on the training images (F5)"
        )
        for w in (rp.pause_button, self.pause_action, rp.stop_button, self.stop_action):
            w.setEnabled(running)
        rp.pause_button.setText("Resume" if state == RunState.PAUSED else "Pause")
        for w in (rp.reset_button, self.reset_action, self.open_action):
            w.setEnabled(not running)
        self.save_action.setEnabled(
            self.run.model is not None and state != RunState.TRAINING
        )
        self.editor.set_editable(not running)
        dp, hp = self.data_panel, self.hyper_panel
        for w in (dp.source_combo, dp.train_limit_spin, dp.val_spin):
            w.setEnabled(not running)
        dp.folder_box.setEnabled(not running)
        own_val = self.run.x_val is not None  # tdata: a folder's validation part
        if own_val:
            dp.val_spin.setEnabled(False)
        dp.val_spin.setToolTip(
            "This folder's validation part was split off when it was read (Val / "
            "test above): change it there and read the folder again"
            if own_val
            else dp.VAL_TIP
        )
        for w in (hp.batch_spin, hp.epochs_spin, hp.seed_spin, hp.optimizer_combo):
            w.setEnabled(not running)

    def _on_run_state_changed(self, _state: RunState) -> None:
        self._refresh_controls()

    @property
    def state(self) -> RunState:
        """The run's state (a ``str`` enum: ``trainer.state == "ready"`` holds)."""
        return self.run.state

    @property
    def model(self) -> Any:
        return self.run.model

    def _message(self, text: str, timeout: int = 5000) -> None:
        self.status_message.emit(text, timeout)

    # ============================================================ data
    @Slot()
    def _start_loading_data(self, source: str = "bundled", options: Any = None) -> None:
        """Load ``source`` (a named data set or a folder) on a pool thread, with a
        progress bar; ``options``: a folder of class sub-folders' FolderOptions."""
        if self._closing:
            return
        if self._loading_cancel is not None:  # a folder still being read: stop it
            self._loading_cancel.set()
        self.data_panel.set_text(f"Loading {source_label(source)}...")
        relay = ProgressRelay()
        relay.progressed.connect(self._on_data_progressed)
        self._relay = relay
        cancel = threading.Event()
        self._loading_cancel = cancel
        if source not in ("bundled",):
            self.data_panel.data_progress.setRange(0, 0)
            self.data_panel.data_progress.setFormat(f"loading {source_label(source)}")
            self.data_panel.data_progress.show()
        task = Task(load_data, source, relay, options, cancel)
        task.signals.finished.connect(self._on_data_loaded)
        task.signals.failed.connect(self._on_data_failed)
        self._tasks.add(task)
        self._data_task = task
        task.start()

    def _take_data_task(self) -> bool:
        """Forget the finished data task; True if it is the latest load (an older
        one, replaced or cancelled, is stale)."""
        sender = self.sender()
        self._forget_finished_tasks()
        latest = self._data_task is not None and sender is self._data_task.signals
        if latest:
            self._data_task = None
            self._loading_cancel = None
            self.data_panel.hide_progress()
        return latest

    @Slot(int, int, str)
    def _on_data_progressed(self, done: int, total: int, what: str) -> None:
        self.data_panel.show_download(done, total, what)

    def data_loading(self) -> bool:
        """A data set is being loaded (downloaded, read) off the GUI thread."""
        return self._loading_cancel is not None

    @Slot(object)
    def _on_data_loaded(self, data: Any) -> None:
        if not self._take_data_task():
            return
        if self.run.state.running:  # the source combo is disabled then: a stale load
            return
        self.set_data(data)

    @Slot(str)
    def _on_data_failed(self, message: str) -> None:
        message = gui_data_advice(message)
        if not self._take_data_task():
            return
        data = self.run.data
        have = "" if data is None else f" Keeping {data.name}."
        if DataLoadCancelled.__name__ in message or "was cancelled" in message:
            if data is None:
                self.data_panel.set_text("Reading cancelled.")
            else:  # the data in use, and a note
                self.data_panel.show_summary(self.run)
                label = self.data_panel.data_label
                label.setText(label.text() + "\nReading the folder was cancelled.")
            self._message(f"Reading the folder was cancelled.{have}", 6000)
        else:
            self.data_panel.set_text(f"Could not load: {message}.{have}")
            self._message(f"Could not load the data: {message}", 10000)
        if data is not None:
            self._select_data_source(data)

    def _select_data_source(self, data: Any) -> None:
        # a folder of class sub-folders, whether the Data list or a script loaded it
        folder = data.source == self._class_folder or (
            Path(str(data.source)).is_dir() and not getattr(data, "is_digits", True)
        )
        self.data_panel.select_source(data.source, class_folder=folder)

    def controls_visible(self) -> bool:
        """The control column (data, hyperparameters, Start) is shown."""
        return not self._controls_scroll.isHidden()

    def set_ui_scale(self, scale: float) -> None:
        """The plots' text (curves, confusion matrix, probability bars) follows the
        UI scale; the widgets' text follows the application font by itself."""
        for view in (
            self.curves,
            self.confusion,
            self.training_tab.test_bars,
            self.draw_panel.bars,
        ):
            view.set_ui_scale(scale)
        # bars with room for their axis (at 2x the splitter gave them none)
        grow = 1.0 + 0.3 * (scale - 1.0)  # but the curves above are what matters
        self.training_tab.test_bars.setMinimumHeight(round(BARS_MIN_HEIGHT * grow))

    def set_controls_visible(self, visible: bool) -> None:
        """Hide or show the control column (presentation view, Ctrl+H): the tabs take
        the width; F5 / F6 still start and stop training."""
        self._controls_scroll.setVisible(bool(visible))

    def set_data(self, data: Any) -> None:
        """Use ``data`` (a TrainData, or an MnistData) for training and evaluation;
        the model follows its input shape and class count."""
        from convlab.train.datasets import TrainData

        if not isinstance(data, TrainData):
            data = TrainData.from_mnist(data)
        self.editor.set_input(data.input_shape, data.num_classes)
        preset = self.editor.preset_combo.currentData() or "custom"
        note = self.run.set_data(data)
        if note:
            self.editor.set_specs(
                self.run.specs,
                preset=preset,
                names=[layer.name for layer in self.run.model.layers]
                if self.run.model is not None
                else None,
            )
        self._select_data_source(data)
        self.training_tab.set_class_names(data.class_names)
        self.results.set_class_names(data.class_names)
        self.results.clear(self.run.model_label)
        self._show_draw_availability(data)
        skipped = (
            f"; {len(data.skipped):,} unreadable files skipped" if data.skipped else ""
        )
        self._message(
            f"{data.name} loaded: {len(data.x_train):,} training and "
            f"{len(data.x_test):,} test images{skipped}."
            + (f" {note}" if note else ""),
            8000 if note or skipped else 4000,
        )

    def _show_draw_availability(self, data: Any) -> None:
        """The Draw tab only for 28x28 grey digits; otherwise disabled, saying why."""
        index = self.tabs.indexOf(self.draw_panel)
        problem = draw_problem(data)
        self.tabs.setTabEnabled(index, not problem)
        self.tabs.setTabToolTip(index, problem or "Draw a digit and see the answer")
        if problem:
            self.draw_panel.canvas.clear()
            self.run.probes.set_draw_image(None)

    @Slot()
    def _on_class_folder_requested(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Folder with one sub-folder of images per class"
        )
        if folder:
            self.load_class_folder(folder)
        elif self.run.data is not None:
            self._select_data_source(self.run.data)

    def load_class_folder(self, folder: str) -> None:
        """Read ``folder`` (class sub-folders) with the Data panel's options, off the
        GUI thread."""
        self._class_folder = str(folder)
        options = self.data_panel.folder_options(seed=self.seed_spin.value())
        self._start_loading_data(str(folder), options)

    @Slot()
    def _on_data_reload_requested(self) -> None:
        if self._class_folder:
            self.load_class_folder(self._class_folder)
        else:
            self._on_class_folder_requested()

    @Slot()
    def _on_data_cancel_requested(self) -> None:
        if self._loading_cancel is not None:
            self._loading_cancel.set()

    def _on_run_data_changed(self) -> None:
        self._refresh_controls()
        self._show_editor_input()  # tarch
        self.data_panel.show_summary(self.run)
        if self.run.data is not None:
            self.data_view.set_data(self.run.data, len(self.run.x_train))
        spin = self.training_tab.test_index_spin
        spin.blockSignals(True)
        spin.setRange(0, len(self.run.x_test) - 1)
        spin.blockSignals(False)
        self.run.probes.set_test_image(self.run.test_image(spin.value()))
        self._request_probe()

    @Slot(int)
    def _on_val_spin_changed(self, _value: int) -> None:
        self.data_panel.show_summary(self.run)
        self._refresh_controls()

    @Slot()
    def _on_data_folder_requested(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Folder holding the MNIST IDX files"
        )
        if folder:
            self._start_loading_data(folder)
        elif self.run.data is not None:
            self.data_panel.select_source(self.run.data.source)

    @Slot(int)
    def _on_train_limit_changed(self, value: int) -> None:
        self.run.set_train_limit(value)

    # ============================================================ model
    def _show_editor_input(self, show_native: bool | None = None) -> None:
        """The editor's shapes follow the data; a preset's native input stays one
        choice away."""
        split = self.data_panel.val_spin.value() / 100.0
        self.editor.set_input(
            self.run.input_shape,
            self.run.num_classes,
            self.run.training_count(split),
            native=self._native_shape,
            native_name=self._native_name,
            show_native=show_native,
        )

    def _apply_preset(self, name: str) -> None:
        try:
            specs = engine.preset_specs(name)
            native = engine.preset_input_shape(name)
        except Exception as exc:  # engine not importable: say so, keep the GUI alive
            self._message(f"Preset {name!r} unavailable: {exc}", 8000)
            return
        # the head follows the data's class count (ImageNet's 1000 -> the data's)
        specs, head = replace_head(specs, self.run.num_classes)
        label = dict(engine.PRESET_LABELS).get(name, name).split(" (")[0]
        self._native_shape, self._native_name = native, label
        self.editor.set_specs(specs, preset=name)
        self._show_editor_input(show_native=True)
        self.hyper_panel.apply_preset(*engine.preset_settings(name))
        self._model_base = f'the "{name}" preset'
        built = self._rebuild_model(message=False)
        notes = []
        if head:
            notes.append(
                f"its last Dense now has {self.run.num_classes} outputs, one per "
                "class of the data"
            )
        if tuple(native) != self.run.input_shape:
            notes.append(
                "the table shows its native input; "
                + (
                    "it trains on the data's size"
                    if built
                    else "it cannot train on the data's size"
                )
            )
        if notes:
            self._message(f"{label}: " + "; ".join(notes), 10000)

    def _rebuild_model(self, message: bool = True, keep_weights: bool = False) -> bool:
        """A model from the editor's specs: new weights from the seed, or with
        ``keep_weights`` the current model's for every layer the edit leaves as it
        was (the status bar says which were re-initialised)."""
        keep = keep_weights and self.run.model is not None
        fresh = "weights kept where unchanged" if keep else "fresh weights"
        label = f"{self._model_base} ({fresh}, seed {self.seed_spin.value()})"
        try:
            check = self.run.set_specs(
                self.editor.specs(),
                seed=self.seed_spin.value(),
                label=label,
                keep_weights=keep,
            )
        except ValueError as exc:
            self.editor.message.setText(f"The engine refused this stack: {exc}")
            self.editor.message.show()
            return False
        if not check.ok:
            return False
        if keep and self.run.transfer is not None:
            self._message(
                self.run.transfer.text()[:1].upper() + self.run.transfer.text()[1:],
                8000,
            )
        elif message:
            self._message("New model with fresh weights", 3000)
        return True

    def _on_run_model_changed(self) -> None:
        model = self.run.model
        self._refresh_controls()
        if model is None:
            return
        if self.run.specs != self.editor.specs():  # tarch: adapted to the data
            preset = self.editor.preset_combo.currentData()
            self.editor.set_specs(self.run.specs, preset=preset)
            self._show_editor_input()
            index = self.training_tab.test_index_spin.value()
            self.run.probes.set_test_image(self.run.test_image(index))
        self.editor.set_layer_names([layer.name for layer in model.layers])
        self.curves.clear()
        self.results.clear(self.run.model_label)
        self.run_panel.clear()
        conv = engine.first_conv(model)
        self.filters.set_weight(
            None if conv is None else conv[1], "" if conv is None else conv[0]
        )
        self._request_probe()

    @Slot()
    def _on_editor_specs_changed(self) -> None:
        self._model_base = "the edited layers"
        self._rebuild_model(message=False, keep_weights=True)

    @Slot()
    def _on_editor_shown_input_changed(self) -> None:
        pass  # the table's choice only: the model trains on the data either way

    @Slot(str)
    def _on_editor_preset_chosen(self, name: str) -> None:
        self._apply_preset(name)

    @Slot()
    def reset_model(self) -> None:
        """New weights (from the seed) for the current layers; clears curves and
        views."""
        if self.run.state.running:
            return
        self._rebuild_model()

    # ============================================================ scenes
    def check_scene_state(
        self, model: list[dict[str, Any]] | None, settings: dict[str, Any] | None
    ) -> TrainSettings | None:
        """A scene's trainer part, checked without changing anything: the layer
        stack (as the editor checks it) and the training settings. Raises
        ``ValueError`` naming what is wrong."""
        if self.run.state.running:
            raise ValueError("the trainer is training: stop it to open a scene")
        if model is not None:
            check = check_stack(model)
            if not check.ok:
                raise ValueError(
                    f"the scene's model, layer {check.error_index}: {check.error}"
                )
        if settings is None:
            return None
        known = {f.name for f in dataclasses.fields(TrainSettings)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(f"unknown trainer settings {unknown}")
        ts = TrainSettings(**settings)
        # taug: augmentation / normalisation arguments checked as a run checks them
        try:
            for key, cls in (("augment", Augmenter), ("normalise", Normaliser)):
                if getattr(ts, key) is not None:
                    cls(getattr(ts, key))
        except TypeError as exc:
            raise ValueError(str(exc)) from None
        panel = self.hyper_panel
        checks = (
            ("optimizer", panel.optimizer_combo.findData(ts.optimizer) >= 0),
            ("learning_rate", panel.lr_spin.minimum() <= ts.learning_rate <= 1.0),
            ("batch_size", panel.batch_spin.minimum() <= ts.batch_size),
            ("epochs", 1 <= ts.epochs <= panel.epochs_spin.maximum()),
            ("validation_split", 0.0 <= ts.validation_split <= 0.5),
        )
        for name, ok in checks:
            if not ok:
                raise ValueError(
                    f"trainer setting `{name}` out of range. Received: "
                    f"{name}={getattr(ts, name)!r}"
                )
        return ts

    def restore_scene_state(
        self, model: list[dict[str, Any]] | None, settings: dict[str, Any] | None
    ) -> None:
        """Show a scene's model (fresh weights from its seed) and settings; raises
        ``ValueError`` (nothing changed) as :meth:`check_scene_state` does."""
        ts = self.check_scene_state(model, settings)
        if ts is not None:
            self.hyper_panel.set_settings(ts)
            self.data_panel.val_spin.setValue(round(ts.validation_split * 100))
            self.augment_panel.set_train_settings(ts.augment)  # taug
            self.normalise_panel.set_train_settings(ts.normalise)  # taug
        if model is not None:
            self.editor.set_specs(model, preset="custom")
            self._model_base = "the scene's layers"
            self._rebuild_model(message=False)

    # ============================================================ training
    def settings(self) -> TrainSettings:
        s = self.hyper_panel.settings(self.data_panel.val_spin.value() / 100.0)
        # taug: the Augment and Normalise tabs' switches
        return dataclasses.replace(
            s,
            augment=self.augment_panel.augment_settings(),
            normalise=self.normalise_panel.normalise_settings(),
        )

    @Slot()
    def start_training(self) -> None:
        problem = self.run.start_problem(self.settings())
        if self.run.state == RunState.READY and problem:
            self._message(problem, 8000)
            self.run_panel.speed_label.setText(problem)
            return
        if self.run.state != RunState.READY:
            if self.run.data is None:
                self._message("Wait for the data to load first.")
            elif not self.editor.check.ok:
                self.tabs.setCurrentWidget(self.editor)
                self._message(self.editor.check.error, 8000)
            return
        s = self.settings()
        session = self.run.begin(s)
        self.curves.begin_run(run_label(self._model_base, s))
        self.curves.set_epoch_span(int(np.ceil(self.run.x_done)) + s.epochs)
        # the kernels the first step needs compile first, with progress (warming.py)
        worker = GeneratorWorker(
            lambda: session_events(session), max_rate=30, urgent=_is_urgent
        )
        worker.yielded.connect(self._on_worker_yielded)
        worker.failed.connect(self._on_worker_failed)
        worker.finished.connect(self._on_worker_finished)
        self._worker = worker
        self.run_panel.speed_label.setText("starting...")
        worker.start()
        self._refresh_timer.start()
        if self.tabs.currentWidget() is self.editor:
            self.tabs.setCurrentIndex(1)
        self._message("Training started", 2000)

    @Slot()
    def toggle_pause(self) -> None:
        worker = self._worker
        if worker is None or not self.run.state.running:
            return
        if worker.paused != (self.run.state == RunState.PAUSED):
            return  # Stop un-paused the worker; the run ends on its finished signal
        if worker.paused:
            worker.resume()
            self.run.resume()
            self._message("Resumed", 2000)
        else:
            worker.pause()
            self.run.pause()
            self.run_panel.speed_label.setText(
                "paused: draw a digit or change the learning rate"
            )
            self._message("Paused", 2000)

    @Slot()
    def stop_training(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self.run_panel.speed_label.setText("stopping...")

    def is_training(self) -> bool:
        return self._worker is not None and self._worker.is_running()

    def is_held(self) -> bool:
        """Paused, and the pause has taken effect: training waits between two steps
        and the views have been sent everything before it."""
        return self._worker is not None and self._worker.parked

    def shutdown(self, msecs: int = 10_000) -> bool:
        """Stop training and wait for the worker thread; True if it ended in time."""
        self._closing = True
        self._refresh_timer.stop()
        worker = self._worker
        ended = True
        if worker is not None:
            worker.stop()
            ended = worker.wait(msecs)
        # data loading and prediction tasks: let them end before their receiver goes
        QThreadPool.globalInstance().waitForDone(min(msecs, 5000))
        return ended

    # -- events from the worker (GUI thread) -------------------------------------------
    @Slot(list)
    def _on_worker_yielded(self, batch: list) -> None:
        if self._closing:
            return
        run = self.run
        for ev in batch:
            if isinstance(ev, StepEvent):
                if run.run_steps == 0:
                    self.curves.reserve_steps(
                        self.curves.loss_raw.n + ev.steps_per_epoch * run.run_epochs
                    )
                run.record(ev)
                loss = ev.batch_loss if np.isfinite(ev.batch_loss) else ev.loss
                acc = (
                    ev.batch_accuracy if np.isfinite(ev.batch_accuracy) else ev.accuracy
                )
                self.curves.add_step(
                    run.epoch_x(ev.epoch, ev.step, ev.steps_per_epoch),
                    float(loss),
                    float(acc),
                )
            elif isinstance(ev, EpochEvent):
                x = run.epoch_x(ev.epoch, 1, 1)  # the end of this epoch
                self.curves.add_epoch(
                    x,
                    float(ev.accuracy),
                    ev.val_accuracy,
                    ev.val_loss,
                    loss=float(ev.loss),
                    epoch=run.epoch_number(ev.epoch),
                )
                val = (
                    ""
                    if ev.val_accuracy is None
                    else f", validation {ev.val_accuracy:.1%}"
                )
                self._message(
                    f"Epoch {run.epoch_number(ev.epoch)}: training accuracy "
                    f"{ev.accuracy:.1%}{val} ({ev.seconds:.1f} s)",
                    6000,
                )
            elif isinstance(ev, SnapshotEvent):
                self._show_snapshot(ev)
            elif isinstance(ev, EvaluationEvent):
                run.record(ev)
                self.results.show_evaluation(ev, run.x_test, run.model_label)
            elif isinstance(ev, CompileEvent):
                self._show_compile_progress(ev)
            elif isinstance(ev, BusyEvent):
                self.run_panel.speed_label.setText(
                    f"{ev.what} {ev.done:,} / {ev.total:,} {ev.unit}"
                )
            elif isinstance(ev, FinishedEvent) and ev.stopped and ev.reason:
                self._message(f"Training ended early: {ev.reason}", 15000)
        self._show_progress()

    def _show_compile_progress(self, ev: CompileEvent) -> None:
        """Before the first step: which pass of the model compiles, n of total."""
        text = ev.text()
        self.run_panel.speed_label.setText(text)
        if ev.done < ev.total:
            self.run_panel.progress.setFormat(f"compiling {ev.done} of {ev.total}")
        self._message(text[:1].upper() + text[1:], 0 if ev.done < ev.total else 2000)

    def _show_progress(self) -> None:
        if self.run.state != RunState.PAUSED:
            self.run_panel.show_progress(self.run)

    @Slot(str)
    def _on_worker_failed(self, message: str) -> None:
        self.run.fail(message)
        self._message(f"Training failed: {message}", 15000)
        self.run_panel.speed_label.setText(f"failed: {message}")

    @Slot(bool)
    def _on_worker_finished(self, stopped: bool) -> None:
        worker = self._worker
        self._worker = None
        self._refresh_timer.stop()
        self.curves.refresh()
        if worker is not None:
            worker.wait(2000)
        if self.run.state.running:
            self.run.finish(stopped)
        if self._closing:
            return
        if self.run.outcome == "failed":  # _on_worker_failed said why: keep it shown
            self.run_panel.speed_label.setText(f"failed: {self.run.failure}")
        else:
            self.run_panel.speed_label.setText("stopped" if stopped else "done")
            self._message(
                "Training stopped: the model keeps what it learned so far"
                if stopped
                else "Training finished",
                5000,
            )
        self._request_probe()
        self.training_finished.emit(stopped)

    @Slot()
    def _on_refresh_timer_timeout(self) -> None:
        self.curves.refresh()

    @Slot(float)
    def _on_lr_changed(self, value: float) -> None:
        self.run.set_learning_rate(value)
        if self.run.optimizer is not None and self.run.state.running:
            self._message(f"Learning rate now {value:g}", 2000)

    # ============================================================ housekeeping
    def _forget_finished_tasks(self) -> None:
        sender = self.sender()
        self._tasks = {t for t in self._tasks if t.signals is not sender}

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)
