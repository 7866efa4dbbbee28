"""The training window: build a small CNN, train it on MNIST, watch it learn, draw a
digit.

Layout: a control column on the left (data, hyperparameters, start/pause/stop/reset,
progress) and tabs on the right (Model, Training, Activations, Results, Draw).

Threads: training runs in a :class:`~convlab.gui.workers.GeneratorWorker` over
:meth:`TrainingSession.events`; data loading and idle-time predictions run as
:class:`~convlab.gui.workers.Task`. Every worker signal is connected to a method of this
widget (GUI thread). The model is touched only under ``self._lock``: by the training
thread between steps, or by a prediction task when training is paused or stopped.
"""

from __future__ import annotations

import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import (
    QObject,
    QSignalBlocker,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..workers import GeneratorWorker, Task
from . import engine
from .activations_view import ActivationsView
from .confusion import ConfusionView, confusion_matrix
from .curves import CurvesView
from .draw_panel import DrawPanel
from .filters_view import FiltersView
from .model_editor import ModelEditor
from .mosaic import GREY, colorize, to_pixmap
from .predictions import DigitGallery, ProbabilityBars, top_caption
from .session import (
    BusyEvent,
    EvaluationEvent,
    ProbeInputs,
    SnapshotEvent,
    TrainingSession,
    TrainSettings,
    compute_probe,
)

__all__ = ["TrainerWidget"]

_BIG_FONT_CSS = "font-size: 12pt;"


class _ProgressRelay(QObject):
    """Carries download progress from a pool thread to the GUI (at most ~20 a
    second)."""

    progressed = Signal(int, int, str)

    def __init__(self) -> None:
        super().__init__()
        self._last = 0.0

    def __call__(self, done: int, total: int, what: str) -> None:  # any thread
        now = time.perf_counter()
        if now - self._last >= 0.05 or (total and done >= total):
            self._last = now
            self.progressed.emit(int(done), int(total), str(what))


def _load_data(source: str, relay: _ProgressRelay | None = None) -> Any:
    from convlab.data.mnist import load_mnist

    return load_mnist(source, progress=relay)


def _source_name(source: str) -> str:
    """``bundled``, ``full``, or a folder's last part (a full path would not fit)."""
    if source in ("bundled", "full"):
        return source
    return Path(source).name or str(source)


def _fmt_time(seconds: float) -> str:
    from convlab.train.progress import format_seconds

    if not np.isfinite(seconds) or seconds < 0:
        return "--:--"
    return format_seconds(seconds)


class TrainerWidget(QWidget):
    """The training tab.

    Signals
    -------
    status_message(str, int)
        Text for the main window's status bar and a timeout in ms (0: until replaced).
    filters_exported(object)
        The first Conv2D's kernels as a list of ``(name, (KH, KW) float32)``, for the
        explorer's filter bank.
    training_finished(bool)
        A run ended; True if it was stopped.
    """

    status_message = Signal(str, int)
    filters_exported = Signal(object)
    training_finished = Signal(bool)

    def __init__(
        self, parent: QWidget | None = None, *, load_data: bool = True
    ) -> None:
        """``load_data=False`` skips loading the bundled MNIST (tests call
        ``set_data``)."""
        super().__init__(parent)
        self._lock = threading.Lock()
        self._model: Any = None
        self._model_specs: list[dict[str, Any]] | None = None
        self._optimizer: Any = None
        self._data: Any = None
        self._x_train: np.ndarray | None = None
        self._x_test: np.ndarray | None = None
        self._worker: GeneratorWorker | None = None
        self._tasks: set[Task] = set()
        self._probes = ProbeInputs()
        self._probe_task: Task | None = None
        self._probe_dirty = False
        self._epochs_done = 0
        self._run_epochs = 0
        self._run_steps = 0
        self._last_step: Any = None
        self._last_eval: EvaluationEvent | None = None
        self._run_started = 0.0
        self._closing = False
        self._state = "idle"
        self._pending_test_probe = None
        self._selected_cell: tuple[int, int] | None = None
        #: the most training images used (0 = all); tests and lectures use a few 1000
        self.max_train_images = 0
        #: the most test images evaluated after each epoch (0 = all)
        self.max_eval_images = 0

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

        self._apply_preset("tiny")
        self._set_state("idle")
        if load_data:
            QTimer.singleShot(0, self._start_loading_data)

    # ============================================================ construction
    def _build_controls(self) -> None:
        panel = QWidget()
        v = QVBoxLayout(panel)

        data_box = QGroupBox("Data: MNIST")
        form = QFormLayout(data_box)
        self.source_combo = QComboBox()
        self.source_combo.addItem("bundled subset (offline)", "bundled")
        self.source_combo.addItem("full MNIST (downloads once)", "full")
        self.source_combo.addItem("folder with IDX files...", "folder")
        self.source_combo.setToolTip(
            "Bundled: 12,000 images shipped with convlab. Full: 70,000 images, "
            "downloaded once into the cache folder and checked."
        )
        self.source_combo.activated.connect(self._on_source_combo_activated)
        self.train_limit_spin = QSpinBox()
        self.train_limit_spin.setRange(0, 60000)
        self.train_limit_spin.setSingleStep(1000)
        self.train_limit_spin.setSpecialValueText("all")
        self.train_limit_spin.setToolTip(
            "Train on the first N training images (0: all)"
        )
        self.train_limit_spin.valueChanged.connect(self._on_train_limit_changed)
        self.val_spin = QSpinBox()
        self.val_spin.setRange(0, 50)
        self.val_spin.setValue(10)
        self.val_spin.setSuffix(" %")
        self.val_spin.setToolTip(
            "Share of the training images held out for validation: the model never "
            "trains on them, so their accuracy shows how well it generalises"
        )
        self.val_spin.valueChanged.connect(self._on_val_spin_changed)
        # explicit line breaks, no word wrap: a wrapped label's height depends on its
        # width, and the form inside the scroll area did not always grow for it
        self.data_label = QLabel("not loaded")
        self.data_label.setTextFormat(Qt.TextFormat.PlainText)
        self.data_progress = QProgressBar()
        self.data_progress.setTextVisible(True)
        self.data_progress.hide()
        form.addRow("Source", self.source_combo)
        form.addRow("Training images", self.train_limit_spin)
        form.addRow("Validation split", self.val_spin)
        form.addRow(self.data_label)
        form.addRow(self.data_progress)

        hyper_box = QGroupBox("Hyperparameters")
        form = QFormLayout(hyper_box)
        self.optimizer_combo = QComboBox()
        self.optimizer_combo.addItem("Adam", "adam")
        self.optimizer_combo.addItem("SGD (momentum 0.9)", "sgd")
        self.optimizer_combo.setToolTip(
            "How the weights move after each batch. Adam adapts the step per weight "
            "and usually works out of the box; SGD with momentum is the classic."
        )
        self.optimizer_combo.currentIndexChanged.connect(self._on_optimizer_changed)
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setDecimals(5)
        self.lr_spin.setRange(0.00001, 1.0)
        self.lr_spin.setSingleStep(0.0005)
        self.lr_spin.setValue(0.001)
        self.lr_spin.setToolTip(
            "Can be changed while training: it applies from the next step"
        )
        self.lr_spin.valueChanged.connect(self._on_lr_changed)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 4096)
        self.batch_spin.setValue(64)
        self.batch_spin.setToolTip(
            "Images per weight update (one step). Smaller: more, noisier steps"
        )
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 200)
        self.epochs_spin.setValue(1)
        self.epochs_spin.setToolTip(
            "Passes over the training images. Start again to train on from here"
        )
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip("Same seed, same weights and same shuffling")
        form.addRow("Optimizer", self.optimizer_combo)
        form.addRow("Learning rate", self.lr_spin)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Seed", self.seed_spin)

        train_box = QGroupBox("Training")
        grid = QGridLayout(train_box)
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.reset_button = QPushButton("Reset weights")
        for b in (
            self.start_button,
            self.pause_button,
            self.stop_button,
            self.reset_button,
        ):
            b.setMinimumHeight(32)
        self.start_button.setStyleSheet("font-weight: bold;")
        self.start_button.setToolTip("Train the model on the training images (F5)")
        self.pause_button.setToolTip(
            "Pause to draw a digit or look closely; Resume goes on (F6)"
        )
        self.stop_button.setToolTip(
            "End training now: the model keeps what it has learned (Shift+F5)"
        )
        self.reset_button.setToolTip(
            "Forget what was learned: new random weights from the seed (Ctrl+Shift+R)"
        )
        self.progress_tip = "Progress of this training run"
        self.start_button.clicked.connect(self.start_training)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop_training)
        self.reset_button.clicked.connect(self.reset_model)
        grid.addWidget(self.start_button, 0, 0)
        grid.addWidget(self.pause_button, 0, 1)
        grid.addWidget(self.stop_button, 1, 0)
        grid.addWidget(self.reset_button, 1, 1)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self.progress.setToolTip(self.progress_tip)
        self.speed_label = QLabel("")
        self.metrics_label = QLabel("")
        for label in (self.speed_label, self.metrics_label):
            label.setStyleSheet(_BIG_FONT_CSS)
            label.setWordWrap(True)
        grid.addWidget(self.progress, 2, 0, 1, 2)
        grid.addWidget(self.speed_label, 3, 0, 1, 2)
        grid.addWidget(self.metrics_label, 4, 0, 1, 2)

        v.addWidget(data_box)
        v.addWidget(hyper_box)
        v.addWidget(train_box)
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

        self.curves = CurvesView()
        self.filters = FiltersView()
        self.test_index_spin = QSpinBox()
        self.test_index_spin.setRange(0, 0)
        self.test_index_spin.setToolTip(
            "Which test image to follow through the network"
        )
        self.test_index_spin.valueChanged.connect(self._on_test_index_changed)
        self.test_bars = ProbabilityBars()
        self.test_bars.setMinimumWidth(260)
        self.test_activations = ActivationsView(columns=2)

        training = QSplitter(Qt.Orientation.Vertical)
        training.addWidget(self.curves)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.filters)
        probe_box = QWidget()
        pv = QVBoxLayout(probe_box)
        pv.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        probe_title = QLabel("Test image #")
        probe_title.setStyleSheet("font-weight: bold;")
        row.addWidget(probe_title)
        row.addWidget(self.test_index_spin)
        row.addStretch(1)
        pv.addLayout(row)
        row = QHBoxLayout()
        self.test_preview = QLabel()
        self.test_preview.setFixedSize(28 * 3, 28 * 3)
        self.test_caption = QLabel("")
        self.test_caption.setWordWrap(True)
        self.test_caption.setStyleSheet(_BIG_FONT_CSS)
        row.addWidget(self.test_preview)
        row.addWidget(self.test_caption, 1)
        pv.addLayout(row)
        pv.addWidget(self.test_bars, 1)
        bottom.addWidget(probe_box)
        bottom.setSizes([520, 340])
        bottom.setStretchFactor(0, 3)
        bottom.setStretchFactor(1, 2)
        bottom.setChildrenCollapsible(False)
        training.addWidget(bottom)
        training.setSizes([420, 330])

        activations = QWidget()
        av = QVBoxLayout(activations)
        self.activations_title = QLabel(
            "Every layer's output for the chosen test image "
            "(refreshed while the network learns)"
        )
        self.activations_title.setStyleSheet("font-weight: bold;")
        av.addWidget(self.activations_title)
        av.addWidget(self.test_activations, 1)

        self.confusion = ConfusionView()
        self.confusion.cell_clicked.connect(self._on_confusion_cell_clicked)
        self.cell_gallery = DigitGallery(
            "Click a cell of the confusion matrix to see its test images."
        )
        self.examples = DigitGallery(
            "Example predictions (after each epoch): the first test images, "
            "green frame right, red wrong"
        )
        results = QSplitter(Qt.Orientation.Horizontal)
        results.addWidget(self.confusion)
        galleries = QSplitter(Qt.Orientation.Vertical)
        galleries.addWidget(self.cell_gallery)
        galleries.addWidget(self.examples)
        results.addWidget(galleries)
        results.setSizes([480, 520])

        self.draw_panel = DrawPanel()
        self.draw_panel.digit_changed.connect(self._on_draw_digit_changed)

        self.tabs.addTab(self.editor, "Model")
        self.tabs.addTab(training, "Training")
        self.tabs.addTab(activations, "Activations")
        self.tabs.addTab(results, "Results")
        self.tabs.addTab(self.draw_panel, "Draw a digit")
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)

    def _build_menu(self) -> None:
        self.menu = QMenu("&Training", self)

        def action(
            text: str, slot, shortcut: str | QKeySequence | None = None, tip: str = ""
        ) -> QAction:
            a = QAction(text, self)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
                a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
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

    # ============================================================ state
    def _set_state(self, state: str) -> None:
        self._state = state
        training = state in ("training", "paused")
        ready = state == "ready"
        self.start_button.setEnabled(ready)
        self.start_action.setEnabled(ready)
        self.pause_button.setEnabled(training)
        self.pause_action.setEnabled(training)
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.stop_button.setEnabled(training)
        self.stop_action.setEnabled(training)
        self.reset_button.setEnabled(not training)
        self.reset_action.setEnabled(not training)
        self.open_action.setEnabled(not training)
        self.save_action.setEnabled(self._model is not None and state != "training")
        self.editor.set_editable(not training)
        for w in (
            self.source_combo,
            self.train_limit_spin,
            self.val_spin,
            self.batch_spin,
            self.epochs_spin,
            self.seed_spin,
            self.optimizer_combo,
        ):
            w.setEnabled(not training)

    @property
    def state(self) -> str:
        return self._state

    @property
    def model(self) -> Any:
        return self._model

    def _message(self, text: str, timeout: int = 5000) -> None:
        self.status_message.emit(text, timeout)

    def _update_ready(self) -> None:
        if self._state in ("training", "paused"):
            return
        ok = self._data is not None and self.editor.check.ok
        self._set_state("ready" if ok else "idle")

    # ============================================================ data
    @Slot()
    def _start_loading_data(self, source: str = "bundled") -> None:
        if self._closing:
            return
        self._set_data_text(f"Loading {_source_name(source)} MNIST...")
        if source == "full":
            relay = _ProgressRelay()
            relay.progressed.connect(self._on_data_progressed)
            self._relay = relay
            self.data_progress.setRange(0, 0)
            self.data_progress.show()
            task = Task(_load_data, source, relay)
        else:
            task = Task(_load_data, source)
        task.signals.finished.connect(self._on_data_loaded)
        task.signals.failed.connect(self._on_data_failed)
        self._tasks.add(task)
        task.start()

    @Slot(int, int, str)
    def _on_data_progressed(self, done: int, total: int, what: str) -> None:
        if total:
            self.data_progress.setRange(0, 1000)
            self.data_progress.setValue(int(1000 * done / total))
            self.data_progress.setFormat(
                f"{what}: {done / 1e6:.1f} of {total / 1e6:.1f} MB"
            )
        else:
            self.data_progress.setRange(0, 0)
            self.data_progress.setFormat(f"{what}: {done / 1e6:.1f} MB")

    @Slot(object)
    def _on_data_loaded(self, data: Any) -> None:
        self._forget_finished_tasks()
        self.data_progress.hide()
        self.set_data(data)

    @Slot(str)
    def _on_data_failed(self, message: str) -> None:
        self._forget_finished_tasks()
        self.data_progress.hide()
        have = "" if self._data is None else f" Keeping {self._data.source} data."
        self._set_data_text(f"Could not load: {message}.{have}")
        self._message(f"Could not load MNIST: {message}", 10000)
        if self._data is not None:
            self._select_source(self._data.source)
        self._update_ready()

    def set_data(self, data: Any) -> None:
        """Use ``data`` (an ``MnistData``) for training and evaluation."""
        self._data = data
        self._select_source(data.source)
        self._prepare_arrays()
        self._update_ready()
        self._message(
            f"MNIST loaded: {len(data.x_train):,} training and "
            f"{len(data.x_test):,} test images ({data.source})",
            4000,
        )

    def _prepare_arrays(self) -> None:
        data = self._data
        if data is None:
            return
        n = self.max_train_images or self.train_limit_spin.value() or len(data.x_train)
        n = min(n, len(data.x_train))
        m = min(self.max_eval_images or len(data.x_test), len(data.x_test))
        self._x_train = engine.to_model_input(data.x_train[:n])
        self._y_train = np.asarray(data.y_train[:n], np.int64)
        self._x_test = engine.to_model_input(data.x_test[:m])
        self._y_test = np.asarray(data.y_test[:m], np.int64)
        self._show_data_summary()
        with QSignalBlocker(self.test_index_spin):
            self.test_index_spin.setRange(0, m - 1)
        self._probes.set_test_image(self._x_test[self.test_index_spin.value()] / 255.0)
        self._request_probe()

    def _set_data_text(self, text: str, width: int = 40) -> None:
        self.data_label.setText("\n".join(textwrap.wrap(text, width)) or text)

    def _show_data_summary(self) -> None:
        if self._data is None or self._x_train is None or self._x_test is None:
            return
        n, total = len(self._x_train), len(self._data.x_train)
        train = int(n * (1.0 - self.val_spin.value() / 100.0))
        self.data_label.setText(
            f"{_source_name(self._data.source)}: {n:,} of {total:,} images\n"
            f"  {train:,} to train, {n - train:,} to validate\n"
            f"  {len(self._x_test):,} test images"
        )

    @Slot(int)
    def _on_val_spin_changed(self, _value: int) -> None:
        self._show_data_summary()

    def _select_source(self, source: str) -> None:
        index = self.source_combo.findData(
            source if source in ("bundled", "full") else "folder"
        )
        with QSignalBlocker(self.source_combo):
            self.source_combo.setCurrentIndex(max(index, 0))

    @Slot(int)
    def _on_source_combo_activated(self, index: int) -> None:
        source = self.source_combo.itemData(index)
        if source == "folder":
            folder = QFileDialog.getExistingDirectory(
                self, "Folder holding the MNIST IDX files"
            )
            if not folder:
                if self._data is not None:
                    self._select_source(self._data.source)
                return
            source = folder
        self._start_loading_data(source)

    @Slot(int)
    def _on_train_limit_changed(self, _value: int) -> None:
        self._prepare_arrays()

    # ============================================================ model
    def _apply_preset(self, name: str) -> None:
        try:
            specs = engine.preset_specs(name)
        except Exception as exc:  # engine not importable: say so, keep the GUI alive
            self._message(f"Preset {name!r} unavailable: {exc}", 8000)
            return
        self.editor.set_specs(specs, preset=name)
        batch, epochs, lr = engine.preset_settings(name)
        self.batch_spin.setValue(batch)
        self.epochs_spin.setValue(epochs)
        with QSignalBlocker(self.optimizer_combo):
            self.optimizer_combo.setCurrentIndex(self.optimizer_combo.findData("adam"))
        self.lr_spin.setValue(lr)
        self._rebuild_model(message=False)

    def _rebuild_model(self, message: bool = True) -> bool:
        """A fresh model from the editor's specs (new weights from the seed)."""
        if not self.editor.check.ok:
            self._model = None
            self._update_ready()
            return False
        specs = self.editor.specs()
        try:
            model = engine.build_model(specs, seed=self.seed_spin.value())
        except Exception as exc:
            self._model = None
            self.editor.message.setText(f"The engine refused this stack: {exc}")
            self.editor.message.show()
            self._update_ready()
            return False
        self._install_model(model, specs)
        if message:
            self._message("New model with fresh weights", 3000)
        return True

    def _install_model(self, model: Any, specs: list[dict[str, Any]]) -> None:
        self._model = model
        self._model_specs = specs
        self._optimizer = None
        self._epochs_done = 0
        self.editor.set_layer_names([layer.name for layer in model.layers])
        self.curves.clear()
        self._last_eval = None
        self.progress.setValue(0)
        self.speed_label.setText("")
        self.metrics_label.setText("")
        conv = engine.first_conv(model)
        self.filters.set_weight(
            None if conv is None else conv[1], "" if conv is None else conv[0]
        )
        self._update_ready()
        self._request_probe()

    @Slot()
    def _on_editor_specs_changed(self) -> None:
        self._rebuild_model(message=False)

    @Slot(str)
    def _on_editor_preset_chosen(self, name: str) -> None:
        self._apply_preset(name)

    @Slot()
    def reset_model(self) -> None:
        """New weights (from the seed) for the current layers; clears curves and
        views."""
        if self._state in ("training", "paused"):
            return
        self._rebuild_model()

    # ============================================================ training
    def settings(self) -> TrainSettings:
        return TrainSettings(
            optimizer=self.optimizer_combo.currentData(),
            learning_rate=self.lr_spin.value(),
            batch_size=self.batch_spin.value(),
            epochs=self.epochs_spin.value(),
            seed=self.seed_spin.value(),
            validation_split=self.val_spin.value() / 100.0,
        )

    @Slot()
    def start_training(self) -> None:
        if self._state != "ready":
            if self._data is None:
                self._message("Wait for the data to load first.")
            elif not self.editor.check.ok:
                self.tabs.setCurrentWidget(self.editor)
                self._message(self.editor.check.error, 8000)
            return
        if self._model is None and not self._rebuild_model(message=False):
            return
        s = self.settings()
        if (
            self._optimizer is None
            or type(self._optimizer).__name__.lower() != s.optimizer
        ):
            self._optimizer = engine.make_optimizer(s.optimizer, s.learning_rate)
        self._optimizer.learning_rate = s.learning_rate
        self._model.compile(
            optimizer=self._optimizer,
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        session = TrainingSession(
            self._model,
            self._lock,
            self._x_train,
            self._y_train,
            self._x_test,
            self._y_test,
            s,
            self._probes,
            epoch_offset=self._epochs_done,
        )
        self._run_epochs = s.epochs
        self._run_steps = 0
        self._last_step = None
        self._run_started = time.perf_counter()
        self.curves.set_epoch_span(self._epochs_done + s.epochs)
        worker = GeneratorWorker(session.events, max_rate=30, urgent=_is_urgent)
        worker.yielded.connect(self._on_worker_yielded)
        worker.failed.connect(self._on_worker_failed)
        worker.finished.connect(self._on_worker_finished)
        self._worker = worker
        self._set_state("training")
        self.speed_label.setText("starting...")
        worker.start()
        self._refresh_timer.start()
        if self.tabs.currentWidget() is self.editor:
            self.tabs.setCurrentIndex(1)
        self._message("Training started", 2000)

    @Slot()
    def toggle_pause(self) -> None:
        worker = self._worker
        if worker is None or self._state not in ("training", "paused"):
            return
        if worker.paused:
            worker.resume()
            self._set_state("training")
            self._message("Resumed", 2000)
        else:
            worker.pause()
            self._set_state("paused")
            self.speed_label.setText("paused: draw a digit or change the learning rate")
            self._message("Paused", 2000)

    @Slot()
    def stop_training(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self.speed_label.setText("stopping...")

    def is_training(self) -> bool:
        return self._worker is not None and self._worker.is_running()

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
        from convlab.train import EpochEvent, FinishedEvent, StepEvent

        if self._closing:
            return
        for ev in batch:
            if isinstance(ev, StepEvent):
                if self._run_steps == 0:
                    self.curves.reserve_steps(
                        self.curves.loss_raw.n + ev.steps_per_epoch * self._run_epochs
                    )
                self._run_steps += 1
                loss = ev.batch_loss if np.isfinite(ev.batch_loss) else ev.loss
                self.curves.add_step(
                    self._epoch_x(ev.epoch, ev.step, ev.steps_per_epoch), float(loss)
                )
                self._last_step = ev
            elif isinstance(ev, EpochEvent):
                x = float(self._epochs_done + ev.epoch)
                self.curves.add_epoch(
                    x, float(ev.accuracy), ev.val_accuracy, ev.val_loss
                )
                val = (
                    ""
                    if ev.val_accuracy is None
                    else f", validation {ev.val_accuracy:.1%}"
                )
                self._message(
                    f"Epoch {self._epoch_number(ev.epoch)}: training accuracy "
                    f"{ev.accuracy:.1%}{val} ({ev.seconds:.1f} s)",
                    6000,
                )
            elif isinstance(ev, SnapshotEvent):
                self._show_snapshot(ev)
            elif isinstance(ev, EvaluationEvent):
                self._show_evaluation(ev)
            elif isinstance(ev, BusyEvent):
                self.speed_label.setText(
                    f"{ev.what} {ev.done:,} / {ev.total:,} test images"
                )
            elif isinstance(ev, FinishedEvent) and ev.stopped and ev.reason:
                self._message(f"Training ended early: {ev.reason}", 15000)
        self._show_progress()

    def _epoch_number(self, epoch: int) -> int:
        """Epoch count across runs (the engine's ``epoch`` is 1-based within a run)."""
        return self._epochs_done + epoch

    def _epoch_x(self, epoch: int, step: int, steps: int) -> float:
        """Position on the curves' x axis: epochs completed, fractional within an
        epoch."""
        return self._epochs_done + epoch - 1 + step / max(steps, 1)

    def _show_progress(self) -> None:
        ev = self._last_step
        if ev is None or self._state == "paused":
            return
        total = ev.steps_per_epoch * self._run_epochs
        done = (ev.epoch - 1) * ev.steps_per_epoch + ev.step
        self.progress.setValue(int(1000 * done / max(total, 1)))
        self.progress.setFormat(
            f"epoch {self._epoch_number(ev.epoch)} of "
            f"{self._epochs_done + self._run_epochs}"
            f" · step {ev.step}/{ev.steps_per_epoch} · %p%"
        )
        ips = float(ev.images_per_second)
        left = (
            (total - done) * self.batch_spin.value() / ips if ips > 0 else float("nan")
        )
        self.speed_label.setText(f"{ips:,.0f} images/s · {_fmt_time(left)} left")
        self.metrics_label.setText(
            f"epoch so far: loss {ev.loss:.4f}, accuracy {ev.accuracy:.1%}"
        )

    @Slot(str)
    def _on_worker_failed(self, message: str) -> None:
        self._message(f"Training failed: {message}", 15000)
        self.speed_label.setText(f"failed: {message}")

    @Slot(bool)
    def _on_worker_finished(self, stopped: bool) -> None:
        worker = self._worker
        self._worker = None
        self._refresh_timer.stop()
        self.curves.refresh()
        ev = self._last_step
        if ev is not None:
            self._epochs_done += ev.epoch - (0 if ev.step >= ev.steps_per_epoch else 1)
        if worker is not None:
            worker.wait(2000)
        if self._closing:
            return
        self._set_state("ready" if self._data is not None else "idle")
        self.speed_label.setText("stopped" if stopped else "done")
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
        if self._optimizer is not None:
            self._optimizer.learning_rate = float(
                value
            )  # read by the engine at every step
            if self._state in ("training", "paused"):
                self._message(f"Learning rate now {value:g}", 2000)

    @Slot(int)
    def _on_optimizer_changed(self, _index: int) -> None:
        name = self.optimizer_combo.currentData()
        with QSignalBlocker(self.lr_spin):
            self.lr_spin.setValue(0.001 if name == "adam" else 0.01)

    # ============================================================ live views
    def _show_snapshot(self, ev: SnapshotEvent) -> None:
        if ev.filters is not None:
            self.filters.set_weight(ev.filters[1], ev.filters[0])
        if ev.test_probe is not None:
            p = ev.test_probe
            self.test_bars.set_probabilities(p.probabilities)
            label = (
                int(self._y_test[self.test_index_spin.value()])
                if self._x_test is not None
                else None
            )
            best = int(np.argmax(p.probabilities))
            verdict = "right" if best == label else "wrong"
            self.test_caption.setText(
                f"This is a {label}.\nThe model says {best} "
                f"({p.probabilities[best]:.0%}): {verdict}."
            )
            self.test_preview.setPixmap(to_pixmap(colorize(p.image, GREY, 0.0, 1.0), 3))
            if self.tabs.currentIndex() == 2:
                self.test_activations.set_activations(p.activations, image=p.image)
            else:
                self._pending_test_probe = p
        if ev.draw_probe is not None and self.draw_panel.digit is not None:
            self.draw_panel.show_result(
                ev.draw_probe.probabilities, ev.draw_probe.activations
            )

    @Slot(int)
    def _on_tabs_current_changed(self, index: int) -> None:
        pending = self._pending_test_probe
        if index == 2 and pending is not None:
            self.test_activations.set_activations(
                pending.activations, image=pending.image
            )
            self._pending_test_probe = None

    def _request_probe(self) -> None:
        """Recompute the live views for the current model: the worker does it during
        training; otherwise one thread-pool task at a time, the latest request
        winning."""
        if self._model is None or self._closing:
            return
        if self._state in ("training",) and self._worker is not None:
            return  # the session takes a snapshot when it sees the new inputs
        if self._probe_task is not None:
            self._probe_dirty = True
            return
        test, draw, version = self._probes.get()
        task = Task(compute_probe, self._model, self._lock, test, draw, version)
        task.signals.finished.connect(self._on_probe_finished)
        task.signals.failed.connect(self._on_probe_failed)
        self._probe_task = task
        self._probe_dirty = False
        task.start()

    @Slot(object)
    def _on_probe_finished(self, ev: SnapshotEvent) -> None:
        self._probe_task = None
        if self._closing:
            return
        self._show_snapshot(ev)
        if self._probe_dirty:
            self._request_probe()

    @Slot(str)
    def _on_probe_failed(self, message: str) -> None:
        self._probe_task = None
        self._message(f"Could not run the model: {message}", 8000)

    @Slot(int)
    def _on_test_index_changed(self, index: int) -> None:
        if self._x_test is None:
            return
        self._probes.set_test_image(self._x_test[index] / 255.0)
        self._request_probe()

    @Slot(object)
    def _on_draw_digit_changed(self, digit: Any) -> None:
        self._probes.set_draw_image(digit)
        if digit is not None:
            self._request_probe()

    # ============================================================ results
    def _show_evaluation(self, ev: EvaluationEvent) -> None:
        self._last_eval = ev
        matrix = confusion_matrix(ev.labels, ev.predictions)
        self.confusion.set_matrix(matrix, epoch=ev.epoch)
        # example predictions: the first 24 test images
        n = min(24, len(ev.labels))
        images = self._x_test[:n]
        captions = [top_caption(ev.probabilities[i]) for i in range(n)]
        correct = [bool(ev.predictions[i] == ev.labels[i]) for i in range(n)]
        right = int(np.sum(ev.predictions == ev.labels))
        self.examples.set_title(
            f"Example predictions after epoch {ev.epoch} (green frame right, red "
            f"wrong; under each the two likeliest digits): test accuracy "
            f"{right / max(len(ev.labels), 1):.2%}"
        )
        self.examples.set_digits(images, captions, correct)
        if self._selected_cell is not None:
            self._show_cell(*self._selected_cell)
        else:
            wrong = np.flatnonzero(ev.predictions != ev.labels)
            if len(wrong):
                # show the most common mistake
                off = matrix.copy()
                np.fill_diagonal(off, 0)
                t, p = np.unravel_index(int(np.argmax(off)), off.shape)
                self.confusion.select(int(t), int(p))
                self._show_cell(int(t), int(p))

    @Slot(int, int)
    def _on_confusion_cell_clicked(self, true: int, pred: int) -> None:
        self._selected_cell = (true, pred)
        self._show_cell(true, pred)

    def _show_cell(self, true: int, pred: int) -> None:
        ev = self._last_eval
        if ev is None:
            return
        idx = np.flatnonzero((ev.labels == true) & (ev.predictions == pred))
        shown = idx[:48]
        what = "the model recognised" if true == pred else f"the model called {pred}"
        images = "test image" if len(idx) == 1 else "test images"
        self.cell_gallery.set_title(
            f"{len(idx)} {images} of a true {true} that {what}"
            + (f" (first {len(shown)} shown)" if len(idx) > len(shown) else "")
            + ". Under each: the model's two likeliest digits."
        )
        self.cell_gallery.set_digits(
            self._x_test[shown],
            [top_caption(ev.probabilities[i]) for i in shown],
            [true == pred] * len(shown),
        )

    # ============================================================ files and links
    @Slot()
    def _on_save_action_triggered(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save model", "model.npz", "convlab models (*.npz)"
        )
        if path:
            self.save_model(path)

    @Slot()
    def _on_open_action_triggered(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open model", "", "convlab models (*.npz);;All files (*)"
        )
        if path:
            self.load_model(path)

    def save_model(self, path: str | Path) -> bool:
        if self._model is None:
            self._message("No model to save", 4000)
            return False
        if self._state == "training":
            self._message("Pause or stop training before saving", 4000)
            return False
        try:
            with self._lock:
                self._model.save(path)
        except Exception as exc:
            self._message(f"Could not save the model: {exc}", 10000)
            return False
        self._message(f"Model saved to {path}", 5000)
        return True

    def load_model(self, path: str | Path) -> bool:
        """Open a saved model; on any error, a status message and nothing changes."""
        if self._state in ("training", "paused"):
            self._message("Stop training before opening a model", 4000)
            return False
        try:
            from convlab.nn import load_model

            model = load_model(path)
            specs = engine.specs_from_model(model)
        except Exception as exc:
            self._message(f"Could not open {Path(path).name}: {exc}", 10000)
            return False
        self.editor.set_specs(specs, preset="custom")
        self._install_model(model, specs)
        self._message(
            f"Opened {Path(path).name}: {len(model.layers)} layers, "
            f"{sum(layer.count_params() for layer in model.layers):,} parameters",
            5000,
        )
        return True

    @Slot()
    def export_filters(self) -> None:
        conv = engine.first_conv(self._model) if self._model is not None else None
        if conv is None:
            self._message("The model has no Conv2D layer to export", 4000)
            return
        name, weight = conv
        bank = []
        for f in range(weight.shape[0]):
            kernel = weight[f, 0] if weight.shape[1] == 1 else weight[f].mean(axis=0)
            bank.append((f"{name} #{f}", np.array(kernel, np.float32)))
        self.filters_exported.emit(bank)
        self._message(f"Sent {len(bank)} learned filters to the explorer", 4000)

    # ============================================================ housekeeping
    def _forget_finished_tasks(self) -> None:
        sender = self.sender()
        self._tasks = {t for t in self._tasks if t.signals is not sender}

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)


def _is_urgent(event: Any) -> bool:
    """Epoch results and evaluations go out at once rather than waiting for the
    throttle."""
    return type(event).__name__ in ("EpochEvent", "EvaluationEvent", "FinishedEvent")
