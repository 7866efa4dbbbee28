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
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QWidget,
)

from convlab.train.datasets import SOURCES, FolderOptions
from convlab.train.progress import format_seconds
from convlab.train.run import TrainerRun
from convlab.train.session import TrainSettings

from .. import theme

__all__ = ["DataPanel", "HyperPanel", "ProgressRelay", "RunPanel"]

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


#: the Data list's folder choices
CLASS_FOLDER, IDX_FOLDER = "classes", "folder"


class DataPanel(QGroupBox):
    """Source (MNIST, Fashion-MNIST, CIFAR-10, a folder), a folder's reading options
    (target size, colour, validation/test split), training-image limit, validation
    split and a summary of the data.

    Signals
    -------
    folder_requested()
        The user chose "folder with IDX files..." (the widget asks for the folder).
    class_folder_requested()
        The user chose "folder of class sub-folders..." (the widget asks for it).
    reload_requested()
        Read the current folder again with the options shown.
    cancel_requested()
        Stop reading a folder.
    source_chosen(str)
        A named source: ``"bundled"``, ``"full"``, ``"fashion_mnist"``, ``"cifar10"``.
    """

    VAL_TIP = (
        "Share of the training images held out for validation: the model never "
        "trains on them, so their accuracy shows how well it generalises"
    )
    folder_requested = Signal()
    class_folder_requested = Signal()
    reload_requested = Signal()
    cancel_requested = Signal()
    source_chosen = Signal(str)

    def __init__(self) -> None:
        super().__init__("Data")
        form = QFormLayout(self)
        self.source_combo = QComboBox()
        for key, label in SOURCES:
            self.source_combo.addItem(label, key)
        self.source_combo.addItem("folder of class folders...", CLASS_FOLDER)
        self.source_combo.addItem("folder with IDX files...", IDX_FOLDER)
        self.source_combo.setToolTip(
            "MNIST bundled: 12,000 images shipped with convlab. Full MNIST, "
            "Fashion-MNIST, CIFAR-10: downloaded once into the cache folder and "
            "checked. A folder of class sub-folders: your own images (png, jpg, bmp, "
            "any size), one sub-folder per class."
        )
        self.source_combo.activated.connect(self._on_source_combo_activated)
        # a folder's reading options: shown while a folder of classes is chosen
        self.folder_box = QWidget()
        fb = QFormLayout(self.folder_box)
        fb.setContentsMargins(0, 0, 0, 0)
        self.height_spin, self.width_spin = QSpinBox(), QSpinBox()
        for spin in (self.height_spin, self.width_spin):
            spin.setRange(4, 512)
            spin.setValue(32)
        self.height_spin.setToolTip("Every image is resized to this height (pixels)")
        self.width_spin.setToolTip("Every image is resized to this width (pixels)")
        size_row = QHBoxLayout()
        size_row.setContentsMargins(0, 0, 0, 0)
        size_row.addWidget(self.height_spin)
        size_row.addWidget(QLabel("x"))
        size_row.addWidget(self.width_spin)
        self.color_combo = QComboBox()
        self.color_combo.addItem("colour (RGB)", "rgb")
        self.color_combo.addItem("greyscale", "grayscale")
        self.color_combo.setToolTip("Read the images in colour (3 channels) or grey")
        self.folder_val_spin, self.folder_test_spin = QSpinBox(), QSpinBox()
        for spin, value in ((self.folder_val_spin, 10), (self.folder_test_spin, 20)):
            spin.setRange(0, 60)
            spin.setValue(value)
            spin.setSuffix(" %")
        self.folder_val_spin.setToolTip(
            "Share of each class held out for validation (seeded)"
        )
        self.folder_test_spin.setToolTip(
            "Share of each class kept for the test accuracy (seeded)"
        )
        split_row = QHBoxLayout()
        split_row.setContentsMargins(0, 0, 0, 0)
        split_row.addWidget(self.folder_val_spin)
        split_row.addWidget(QLabel("/"))
        split_row.addWidget(self.folder_test_spin)
        self.reload_button = QPushButton("Read the folder again")
        self.reload_button.setToolTip("Read the folder with the size, colour, split")
        self.reload_button.clicked.connect(self.reload_requested)
        fb.addRow("Image size", size_row)
        fb.addRow("Colour", self.color_combo)
        fb.addRow("Val / test", split_row)
        fb.addRow(self.reload_button)
        self.folder_box.hide()
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
        self.val_spin.setToolTip(self.VAL_TIP)
        # explicit line breaks, no word wrap: a wrapped label's height depends on its
        # width, and the form inside the scroll area did not always grow for it
        self.data_label = QLabel("not loaded")
        self.data_label.setTextFormat(Qt.TextFormat.PlainText)
        self.data_progress = QProgressBar()
        self.data_progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop reading the folder")
        self.cancel_button.clicked.connect(self.cancel_requested)
        progress_row = QHBoxLayout()
        progress_row.setContentsMargins(0, 0, 0, 0)
        progress_row.addWidget(self.data_progress, 1)
        progress_row.addWidget(self.cancel_button)
        self.data_progress.hide()
        self.cancel_button.hide()
        form.addRow("Source", self.source_combo)
        form.addRow(self.folder_box)
        form.addRow("Training images", self.train_limit_spin)
        form.addRow("Validation split", self.val_spin)
        form.addRow(self.data_label)
        form.addRow(progress_row)

    def _on_source_combo_activated(self, index: int) -> None:
        source = self.source_combo.itemData(index)
        self.folder_box.setVisible(source == CLASS_FOLDER)
        if source == IDX_FOLDER:
            self.folder_requested.emit()
        elif source == CLASS_FOLDER:
            self.class_folder_requested.emit()
        else:
            self.source_chosen.emit(source)

    def folder_options(self, seed: int = 0) -> FolderOptions:
        """The options a folder of class sub-folders is read with."""
        return FolderOptions(
            size=(self.height_spin.value(), self.width_spin.value()),
            color=self.color_combo.currentData(),
            validation=self.folder_val_spin.value() / 100.0,
            test=self.folder_test_spin.value() / 100.0,
            seed=seed,
        )

    def set_text(self, text: str, width: int = 40) -> None:
        self.data_label.setText("\n".join(textwrap.wrap(text, width)) or text)

    def show_summary(self, run: TrainerRun) -> None:
        if run.data is None or run.x_train is None or run.x_test is None:
            return
        data = run.data
        n, total = len(run.x_train), len(data.x_train)
        c, h, w = data.input_shape
        head = "\n".join(textwrap.wrap(data.name, 40)) or data.name
        shape = f"  {h}x{w} {'RGB' if c == 3 else 'grey'}, {data.num_classes} classes"
        if run.x_val is not None:
            split = f"  {n:,} to train, {len(run.x_val):,} to validate (split)"
        else:
            train = int(n * (1.0 - self.val_spin.value() / 100.0))
            split = f"  {train:,} to train, {n - train:,} to validate"
        skipped = (
            f"\n  {len(data.skipped):,} unreadable files skipped"
            if data.skipped
            else ""
        )
        self.data_label.setText(
            f"{head}: {n:,} of {total:,} images\n{shape}\n{split}\n"
            f"  {len(run.x_test):,} test images{skipped}"
        )

    def select_source(self, source: str, class_folder: bool = False) -> None:
        """Show ``source`` (a named source or a folder path) as the current choice."""
        index = self.source_combo.findData(source)
        if index < 0:
            index = self.source_combo.findData(
                CLASS_FOLDER if class_folder else IDX_FOLDER
            )
        with QSignalBlocker(self.source_combo):
            self.source_combo.setCurrentIndex(max(index, 0))
        self.folder_box.setVisible(self.source_combo.currentData() == CLASS_FOLDER)

    def show_download(self, done: int, total: int, what: str) -> None:
        """Progress of a download (bytes) or of reading a folder (images: ``what``
        starts with "reading")."""
        self.data_progress.show()
        reading = what.startswith("reading")
        self.cancel_button.setVisible(reading)
        if total:
            self.data_progress.setRange(0, 1000)
            self.data_progress.setValue(int(1000 * done / total))
            self.data_progress.setFormat(
                what if reading else f"{what}: {done / 1e6:.1f} of {total / 1e6:.1f} MB"
            )
        else:
            self.data_progress.setRange(0, 0)
            self.data_progress.setFormat(
                what if reading else f"{what}: {done / 1e6:.1f} MB"
            )

    def hide_progress(self) -> None:
        self.data_progress.hide()
        self.cancel_button.hide()


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
            theme.relative_font(label, theme.BIG_FONT)
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
