"""The Augment tab: ImageDataGenerator's augmentation arguments, a live preview of one
training image under a dozen random draws, and the switch that trains with them.

The widget only keeps the settings dict; the draws are
:meth:`convlab.train.preprocess.Augmenter.draws` (the engine ``convlab.keras``'s
ImageDataGenerator runs), computed on the thread pool after a short debounce, the
latest request winning.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from convlab.train.preprocess import AUGMENT_DEFAULTS, Augmenter

from ..workers import LatestTask, Task
from .mosaic import BACKGROUND, to_pixmap

__all__ = ["AugmentPanel", "ValueSlider", "images_to_rgb", "run_images"]

FILL_MODES = ("nearest", "constant", "reflect", "wrap")
PREVIEW_DRAWS = 12


def run_images(run: Any) -> np.ndarray | None:
    """The run's training images as ``(N, C, H, W)`` uint8 (grey ``(N, H, W)`` gets
    its channel axis), or None before data is loaded."""
    x = getattr(run, "x_train", None)
    if x is None or not len(x):
        return None
    return x[:, None] if x.ndim == 3 else x


def images_to_rgb(
    images: np.ndarray,
    cols: int,
    lo: np.ndarray | float = 0.0,
    hi: np.ndarray | float = 255.0,
    gap: int = 2,
) -> np.ndarray:
    """Tile ``images (N, C, H, W)`` into one RGB uint8 picture, ``cols`` a row,
    mapping ``lo..hi`` (scalars or one per image) to black..white; grey images
    (C = 1) are shown grey, C >= 3 as their first three channels."""
    n, c, h, w = images.shape
    lo = np.broadcast_to(np.asarray(lo, np.float32), (n,)).reshape(n, 1, 1, 1)
    hi = np.broadcast_to(np.asarray(hi, np.float32), (n,)).reshape(n, 1, 1, 1)
    span = np.where(hi > lo, hi - lo, 1.0)
    v = np.clip((images.astype(np.float32) - lo) / span * 255.0, 0, 255)
    v = v.astype(np.uint8).transpose(0, 2, 3, 1)  # (n, h, w, c)
    v = np.repeat(v, 3, axis=3) if c == 1 else v[..., :3]
    if v.shape[3] < 3:  # two channels: pad blue
        v = np.concatenate([v, np.zeros((*v.shape[:3], 3 - v.shape[3]), np.uint8)], 3)
    rows = math.ceil(n / cols)
    out = np.empty((rows * (h + gap) - gap, cols * (w + gap) - gap, 3), np.uint8)
    out[:] = BACKGROUND
    for i in range(n):
        r, q = divmod(i, cols)
        out[r * (h + gap) : r * (h + gap) + h, q * (w + gap) : q * (w + gap) + w] = v[i]
    return out


class PictureLabel(QLabel):
    """A QLabel showing images ``(N, C, H, W)`` tiled (:func:`images_to_rgb`), in
    the number of columns and the whole enlargement that fill it best."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rgb: np.ndarray | None = None  # what is shown, before enlarging
        self.scale = 1
        self._tiles: tuple | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.setMinimumSize(120, 60)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def set_images(
        self,
        images: np.ndarray | None,
        lo: np.ndarray | float = 0.0,
        hi: np.ndarray | float = 255.0,
        cols: int | None = None,
    ) -> None:
        """Show ``images`` mapping ``lo..hi`` to black..white; ``cols`` fixes the
        columns (else the best fit)."""
        self._tiles = None if images is None else (images, lo, hi, cols)
        self._render()

    def _best_cols(self, n: int, h: int, w: int) -> int:
        best, best_scale = n, 0.0
        for cols in range(1, n + 1):
            rows = -(-n // cols)
            scale = min(
                self.width() / (cols * (w + 1)), self.height() / (rows * (h + 1))
            )
            if scale > best_scale + 1e-9:
                best, best_scale = cols, scale
        return best

    def _render(self) -> None:
        if self._tiles is None:
            self.rgb = None
            self.clear()
            return
        images, lo, hi, cols = self._tiles
        n, _, h, w = images.shape
        # a 1-pixel gap: it is enlarged with the tiles
        cols = cols or self._best_cols(n, h, w)
        self.rgb = images_to_rgb(images, cols, lo, hi, gap=1)
        rh, rw, _ = self.rgb.shape
        self.scale = max(1, min(self.width() // rw, self.height() // rh, 12))
        self.setPixmap(to_pixmap(self.rgb, self.scale))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._render()


class ValueSlider(QWidget):
    """A horizontal slider over ``lo..hi`` in ``steps`` with its value as text.

    Signals
    -------
    value_changed(float)
    """

    value_changed = Signal(float)

    def __init__(
        self,
        lo: float,
        hi: float,
        steps: int,
        fmt: str | Callable[[float], str],
        value: float = 0.0,
    ) -> None:
        super().__init__()
        self.lo, self.hi, self.steps, self.fmt = lo, hi, steps, fmt
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, steps)
        self.label = QLabel()
        self.label.setMinimumWidth(56)
        self.label.setAlignment(
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        )
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.slider, 1)
        row.addWidget(self.label)
        self.slider.valueChanged.connect(self._on_slider_value_changed)
        self.set_value(value)

    def text(self) -> str:
        v = self.value()
        return self.fmt(v) if callable(self.fmt) else self.fmt.format(v)

    def value(self) -> float:
        return self.lo + (self.hi - self.lo) * self.slider.value() / self.steps

    def set_value(self, value: float) -> None:
        pos = round((float(value) - self.lo) / (self.hi - self.lo) * self.steps)
        self.slider.setValue(max(0, min(self.steps, pos)))
        self.label.setText(self.text())

    def setToolTip(self, text: str) -> None:  # noqa: N802 (Qt's name)
        super().setToolTip(text)
        self.slider.setToolTip(text)

    @Slot(int)
    def _on_slider_value_changed(self, _pos: int) -> None:
        self.label.setText(self.text())
        self.value_changed.emit(self.value())


#: (argument, label, lo, hi, steps, format, tooltip) of the sliders
_SLIDERS = [
    ("rotation_range", "Rotation", 0, 180, 180, "±{:.0f}°",
     "rotation_range: each image turns by a random angle in ±this many degrees "
     "about its centre. Small angles (10-20°) teach a digit classifier that a "
     "slanted 7 is still a 7; 180° would make 6 and 9 the same class."),
    ("width_shift_range", "Width shift", 0, 0.5, 50, "±{:.2f}",
     "width_shift_range: slide the image left or right by up to this fraction of "
     "its width (Keras: a float < 1 is a fraction, an int is pixels). The network "
     "must then find the object anywhere, not only where the training set put it."),
    ("height_shift_range", "Height shift", 0, 0.5, 50, "±{:.2f}",
     "height_shift_range: the same up and down, as a fraction of the height."),
    ("shear_range", "Shear", 0, 45, 45, "±{:.0f}°",
     "shear_range: slant the image by up to this many degrees (counter-clockwise), "
     "as if seen from the side or written in italics."),
    ("zoom_range", "Zoom", 0, 0.5, 50, "±{:.2f}",
     "zoom_range z: scale each axis by an independent factor in [1 - z, 1 + z] "
     "(above 1 the content shrinks, Keras's convention): objects of many sizes."),
    ("brightness_range", "Brightness", 0, 0.9, 90, "±{:.2f}",
     "brightness_range (1 - b, 1 + b): multiply the pixel values by a random "
     "factor, as PIL's brightness enhancer does (clipped to 0-255): photos taken "
     "in brighter or darker light. 0 leaves it off."),
    ("channel_shift_range", "Channel shift", 0, 100, 100, "±{:.0f}",
     "channel_shift_range: add one random offset in ±this (pixel units, 0-255) to "
     "every value, clipped to the image's own range (Keras draws one offset for "
     "all channels): a colour cast, or a brighter background on grey images."),
]  # fmt: skip


class AugmentPanel(QWidget):
    """The Augment tab.

    Signals
    -------
    settings_changed()
        An argument or the "Train with augmentation" switch changed.
    preview_updated()
        A new preview grid is shown (tests wait for it).
    """

    settings_changed = Signal()
    preview_updated = Signal()

    def __init__(self, run: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run = run
        self.seed = 0
        self.failure = ""
        self.preview: np.ndarray | None = None  # the last draws (n, C, H, W) 0-255
        self._pending_image: np.ndarray | None = None

        form_box = QGroupBox("ImageDataGenerator arguments")
        form_box.setToolTip(
            "Data augmentation: every training batch is shown to the network through "
            "a fresh random transform of each image, so it never sees exactly the "
            "same picture twice and learns what does not change (the class) rather "
            "than what does (position, angle, size, light). It costs no extra data "
            "and usually raises test accuracy when data is scarce; too strong a "
            "transform makes the task harder than the test set. Same engine as "
            "convlab.keras's ImageDataGenerator (Keras's arguments and semantics)."
        )
        form = QFormLayout(form_box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.sliders: dict[str, ValueSlider] = {}
        for key, label, lo, hi, steps, fmt, tip in _SLIDERS:
            slider = ValueSlider(lo, hi, steps, fmt)
            slider.setToolTip(tip)
            slider.value_changed.connect(self._on_argument_changed)
            self.sliders[key] = slider
            form.addRow(label, slider)
        self.hflip = QCheckBox("horizontal_flip")
        self.hflip.setToolTip(
            "horizontal_flip: mirror half of the images left-right. Right for cats "
            "and fruit; wrong for digits and letters (a mirrored 3 is no digit)."
        )
        self.vflip = QCheckBox("vertical_flip")
        self.vflip.setToolTip(
            "vertical_flip: turn half of the images upside down. Useful for "
            "microscope or satellite pictures, which have no 'up'."
        )
        flips = QHBoxLayout()
        flips.addWidget(self.hflip)
        flips.addWidget(self.vflip)
        form.addRow("Flips", flips)
        self.fill_combo = QComboBox()
        self.fill_combo.addItems(FILL_MODES)
        self.fill_combo.setToolTip(
            "fill_mode: what fills the pixels a rotation, shift or zoom brings in "
            "from outside the image: 'nearest' repeats the edge pixel, 'constant' "
            "uses cval, 'reflect' mirrors the image at its edge, 'wrap' tiles it."
        )
        self.cval_spin = QSpinBox()
        self.cval_spin.setRange(0, 255)
        self.cval_spin.setEnabled(False)  # only with fill_mode "constant"
        self.cval_spin.setToolTip(
            "cval: the value (0-255) of the pixels brought in with fill_mode "
            "'constant' (0: black, MNIST's background)."
        )
        fill = QHBoxLayout()
        fill.addWidget(self.fill_combo, 1)
        fill.addWidget(QLabel("cval"))
        fill.addWidget(self.cval_spin)
        form.addRow("Fill", fill)
        for widget in (self.hflip, self.vflip):
            widget.toggled.connect(self._on_argument_changed)
        self.fill_combo.currentIndexChanged.connect(self._on_argument_changed)
        self.cval_spin.valueChanged.connect(self._on_argument_changed)

        self.enabled_check = QCheckBox("Train with augmentation")
        self.enabled_check.setToolTip(
            "When on, Start trains on these random transforms of the training "
            "images (a new draw for every image of every batch, reproducible from "
            "the seed); validation and test images are never augmented."
        )
        self.enabled_check.toggled.connect(self._on_enabled_toggled)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("All arguments back to Keras's defaults (none)")
        self.reset_button.clicked.connect(self.reset)

        controls = QWidget()
        cv = QVBoxLayout(controls)
        cv.setContentsMargins(0, 0, 0, 0)
        cv.addWidget(form_box)
        bottom = QHBoxLayout()
        bottom.addWidget(self.enabled_check, 1)
        bottom.addWidget(self.reset_button)
        cv.addLayout(bottom)
        cv.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(300)
        scroll.setMaximumWidth(340)

        # the preview
        self.index_spin = QSpinBox()
        self.index_spin.setToolTip("Which training image the preview transforms")
        self.index_spin.valueChanged.connect(self._on_argument_changed)
        self.draw_button = QPushButton("New draw")
        self.draw_button.setToolTip(
            "Draw another 12 random transforms of the same image"
        )
        self.draw_button.clicked.connect(self.new_draw)
        top = QHBoxLayout()
        top.addWidget(QLabel("Training image"))
        top.addWidget(self.index_spin)
        top.addWidget(self.draw_button)
        top.addStretch(1)
        self.original_label = PictureLabel()
        self.original_label.setMinimumSize(64, 64)
        self.original_label.setMaximumHeight(140)
        self.grid_label = PictureLabel()
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        right = QVBoxLayout()
        right.addLayout(top)
        right.addWidget(QLabel("Original:"))
        right.addWidget(self.original_label, 1)
        right.addWidget(QLabel(f"{PREVIEW_DRAWS} random draws:"))
        right.addWidget(self.grid_label, 4)
        right.addWidget(self.caption)
        layout = QHBoxLayout(self)
        layout.addWidget(scroll)
        layout.addLayout(right, 1)

        self._preview = LatestTask(self, 60, self._make_preview)
        run.data_changed.connect(self._on_run_data_changed)
        self._on_run_data_changed()

    # ------------------------------------------------------------------ settings
    def arguments(self) -> dict[str, Any]:
        """ImageDataGenerator keyword arguments the controls show (all of
        :data:`AUGMENT_DEFAULTS`)."""
        args: dict[str, Any] = dict(AUGMENT_DEFAULTS)
        for key, slider in self.sliders.items():
            args[key] = round(slider.value(), 4)
        b = args.pop("brightness_range")
        args["brightness_range"] = (round(1 - b, 4), round(1 + b, 4)) if b else None
        args["horizontal_flip"] = self.hflip.isChecked()
        args["vertical_flip"] = self.vflip.isChecked()
        args["fill_mode"] = self.fill_combo.currentText()
        args["cval"] = float(self.cval_spin.value())
        return args

    def augment_settings(self) -> dict[str, Any] | None:
        """``TrainSettings.augment``: the arguments when "Train with augmentation" is
        on, else None."""
        return self.arguments() if self.enabled_check.isChecked() else None

    def set_train_settings(self, args: dict[str, Any] | None) -> None:
        """Show ``TrainSettings.augment`` (a scene's): the arguments and the switch on,
        or the switch off for None."""
        if args is not None:
            self.set_arguments(args)
        self.enabled_check.setChecked(args is not None)

    def set_arguments(self, args: dict[str, Any]) -> None:
        """Show ``args`` (keys of :data:`AUGMENT_DEFAULTS`)."""
        args = {**AUGMENT_DEFAULTS, **args}
        for key, slider in self.sliders.items():
            value = args[key]
            if key == "brightness_range":
                value = 0.0 if value is None else (value[1] - value[0]) / 2
            slider.set_value(float(value))
        self.hflip.setChecked(bool(args["horizontal_flip"]))
        self.vflip.setChecked(bool(args["vertical_flip"]))
        self.fill_combo.setCurrentText(str(args["fill_mode"]))
        self.cval_spin.setValue(int(args["cval"]))

    @Slot()
    def reset(self) -> None:
        self.set_arguments({})

    # ------------------------------------------------------------------ preview
    @Slot()
    def new_draw(self) -> None:
        self.seed += 1
        self._request()

    def _on_run_data_changed(self) -> None:
        x = run_images(self.run)
        with_data = x is not None
        self.index_spin.setEnabled(with_data)
        self.draw_button.setEnabled(with_data)
        if with_data:
            self.index_spin.blockSignals(True)
            self.index_spin.setRange(0, len(x) - 1)
            self.index_spin.blockSignals(False)
        self._request()

    @Slot()
    def _on_argument_changed(self, *_args) -> None:
        self.cval_spin.setEnabled(self.fill_combo.currentText() == "constant")
        self._request()
        self.settings_changed.emit()

    @Slot(bool)
    def _on_enabled_toggled(self, _on: bool) -> None:
        self.settings_changed.emit()

    def _request(self) -> None:
        self._preview.request()

    def _make_preview(self) -> Task | None:
        """The preview task for the current image and arguments (None: no preview)."""
        x = run_images(self.run)
        if x is None:
            self.original_label.set_images(None)
            self.grid_label.set_images(None)
            self.caption.setText("No training images yet.")
            return None
        image = np.array(x[min(self.index_spin.value(), len(x) - 1)])
        try:
            augmenter = Augmenter(self.arguments())
        except (TypeError, ValueError) as exc:
            self.caption.setText(str(exc))
            return None
        self._pending_image = image
        task = Task(augmenter.draws, image, PREVIEW_DRAWS, self.seed)
        task.signals.finished.connect(self._on_task_finished)
        task.signals.failed.connect(self._on_task_failed)
        return task

    @Slot(object)
    def _on_task_finished(self, draws: np.ndarray) -> None:
        self.failure = ""
        self.preview = draws
        image = self._pending_image
        self.original_label.set_images(image[None].astype(np.float32))
        c, h, w = image.shape
        self.grid_label.set_images(draws)
        kind = "grey" if c == 1 else "colour"
        self.caption.setText(
            f"Training image {self.index_spin.value()} ({w}x{h} {kind}) under "
            f"{len(draws)} random draws of these arguments (draw {self.seed + 1}). "
            "Hover over an argument to read what it does."
        )
        self.preview_updated.emit()
        self._preview.done()

    @Slot(str)
    def _on_task_failed(self, message: str) -> None:
        self.failure = message
        self.caption.setText(f"Preview failed: {message}")
        self._preview.done()

    def busy(self) -> bool:
        return self._preview.busy()
