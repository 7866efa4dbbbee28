"""The trainer's control column: data, hyperparameters, and the run's buttons and
read-outs. Thin panels: they hold widgets and show what they are given; the trainer
widget connects them to its :class:`~convlab.train.run.TrainerRun`."""

from __future__ import annotations

import textwrap
import time

import numpy as np
from PySide6.QtCore import QObject, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
)

from convlab.train.progress import format_seconds
from convlab.train.run import BUNDLED, FULL, TrainerRun, source_name
from convlab.train.session import TrainSettings

__all__ = ["DataPanel", "HyperPanel", "ProgressRelay", "RunPanel"]

BIG_FONT_CSS = "font-size: 12pt;"
#: the learning rate each optimizer starts from when chosen
DEFAULT_LEARNING_RATES = {"adam": 0.001, "sgd": 0.01}


class ProgressRelay(QObject):
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


def _fmt_time(seconds: float) -> str:
    if not np.isfinite(seconds) or seconds < 0:
        return "--:--"
    return format_seconds(seconds)


def _fmt_time(seconds: float) -> str:
    if not np.isfinite(seconds) or seconds < 0:
        return "--:--"
    return format_seconds(seconds)


class DataPanel(QGroupBox):
    """Source, training-image limit, validation split and a summary of the data.

    Signals
    -------
    folder_requested()
        The user chose "folder with IDX files..." (the widget asks for the folder).
    source_chosen(str)
        ``"bundled"`` or ``"full"``.
    """

    folder_requested = Signal()
    source_chosen = Signal(str)

    def __init__(self) -> None:
        super().__init__("Data: MNIST")
        form = QFormLayout(self)
        self.source_combo = QComboBox()
        self.source_combo.addItem("bundled subset (offline)", BUNDLED)
        self.source_combo.addItem("full MNIST (downloads once)", FULL)
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
        self.val_spin = QSpinBox()
        self.val_spin.setRange(0, 50)
        self.val_spin.setValue(10)
        self.val_spin.setSuffix(" %")
        self.val_spin.setToolTip(
            "Share of the training images held out for validation: the model never "
            "trains on them, so their accuracy shows how well it generalises"
        )
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

    def _on_source_combo_activated(self, index: int) -> None:
        source = self.source_combo.itemData(index)
        if source == "folder":
            self.folder_requested.emit()
        else:
            self.source_chosen.emit(source)

    def set_text(self, text: str, width: int = 40) -> None:
        self.data_label.setText("\n".join(textwrap.wrap(text, width)) or text)

    def show_summary(self, run: TrainerRun) -> None:
        if run.data is None or run.x_train is None or run.x_test is None:
            return
        n, total = len(run.x_train), len(run.data.x_train)
        train = int(n * (1.0 - self.val_spin.value() / 100.0))
        self.data_label.setText(
            f"{source_name(run.data.source)}: {n:,} of {total:,} images\n"
            f"  {train:,} to train, {n - train:,} to validate\n"
            f"  {len(run.x_test):,} test images"
        )

    def select_source(self, source: str) -> None:
        index = self.source_combo.findData(
            source if source in (BUNDLED, FULL) else "folder"
        )
        with QSignalBlocker(self.source_combo):
            self.source_combo.setCurrentIndex(max(index, 0))

    def show_download(self, done: int, total: int, what: str) -> None:
        self.data_progress.show()
        if total:
            self.data_progress.setRange(0, 1000)
            self.data_progress.setValue(int(1000 * done / total))
            self.data_progress.setFormat(
                f"{what}: {done / 1e6:.1f} of {total / 1e6:.1f} MB"
            )
        else:
            self.data_progress.setRange(0, 0)
            self.data_progress.setFormat(f"{what}: {done / 1e6:.1f} MB")


class HyperPanel(QGroupBox):
    """Optimizer, learning rate, batch size, epochs, seed."""

    def __init__(self) -> None:
        super().__init__("Hyperparameters")
        form = QFormLayout(self)
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
        self.lr_spin.setValue(DEFAULT_LEARNING_RATES["adam"])
        self.lr_spin.setToolTip(
            "Can be changed while training: it applies from the next step"
        )
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

    def _on_optimizer_changed(self, _index: int) -> None:
        with QSignalBlocker(self.lr_spin):
            self.lr_spin.setValue(
                DEFAULT_LEARNING_RATES[self.optimizer_combo.currentData()]
            )

    def apply_preset(self, batch: int, epochs: int, learning_rate: float) -> None:
        self.batch_spin.setValue(batch)
        self.epochs_spin.setValue(epochs)
        with QSignalBlocker(self.optimizer_combo):
            self.optimizer_combo.setCurrentIndex(self.optimizer_combo.findData("adam"))
        self.lr_spin.setValue(learning_rate)

    def set_settings(self, settings: TrainSettings) -> None:
        """Show ``settings`` (a scene's): optimizer, learning rate, batch, epochs,
        seed. The caller checked them (:meth:`TrainerWidget.check_scene_state`)."""
        with QSignalBlocker(self.optimizer_combo):
            self.optimizer_combo.setCurrentIndex(
                self.optimizer_combo.findData(settings.optimizer)
            )
        self.lr_spin.setValue(settings.learning_rate)
        self.batch_spin.setValue(settings.batch_size)
        self.epochs_spin.setValue(settings.epochs)
        self.seed_spin.setValue(settings.seed)

    def settings(self, validation_split: float) -> TrainSettings:
        return TrainSettings(
            optimizer=self.optimizer_combo.currentData(),
            learning_rate=self.lr_spin.value(),
            batch_size=self.batch_spin.value(),
            epochs=self.epochs_spin.value(),
            seed=self.seed_spin.value(),
            validation_split=validation_split,
        )


class RunPanel(QGroupBox):
    """Start / Pause / Stop / Reset, the progress bar, speed and metrics."""

    def __init__(self) -> None:
        super().__init__("Training")
        grid = QGridLayout(self)
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
        grid.addWidget(self.start_button, 0, 0)
        grid.addWidget(self.pause_button, 0, 1)
        grid.addWidget(self.stop_button, 1, 0)
        grid.addWidget(self.reset_button, 1, 1)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self.progress.setToolTip("Progress of this training run")
        self.speed_label = QLabel("")
        self.metrics_label = QLabel("")
        for label in (self.speed_label, self.metrics_label):
            label.setStyleSheet(BIG_FONT_CSS)
            label.setWordWrap(True)
        grid.addWidget(self.progress, 2, 0, 1, 2)
        grid.addWidget(self.speed_label, 3, 0, 1, 2)
        grid.addWidget(self.metrics_label, 4, 0, 1, 2)

    def clear(self) -> None:
        self.progress.setValue(0)
        self.progress.setFormat("%p%")  # not the last run's "epoch 2 of 2"
        self.speed_label.setText("")
        self.metrics_label.setText("")

    def show_progress(self, run: TrainerRun) -> None:
        """The run's progress, speed and running metrics (after its last step)."""
        p, ev = run.progress(), run.last_step
        if p is None or ev is None:
            return
        self.progress.setValue(int(1000 * p.fraction))
        self.progress.setFormat(
            f"epoch {p.epoch} of {p.last_epoch}"
            f" · step {p.step}/{p.steps_per_epoch} · %p%"
        )
        self.speed_label.setText(
            f"{float(ev.images_per_second):,.0f} images/s · "
            f"{_fmt_time(p.seconds_left)} left"
        )
        self.metrics_label.setText(
            f"epoch so far: loss {ev.loss:.4f}, accuracy {ev.accuracy:.1%}"
        )
