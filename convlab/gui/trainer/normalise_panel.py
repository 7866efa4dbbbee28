"""The Normalise tab: sample-wise / feature-wise centring and std normalisation and
ZCA whitening, before/after previews, the whitening filters as images, and the switch
that trains with them.

The widget keeps the settings dict; the fit and the previews are
:func:`convlab.train.preprocess.normalise_preview`, on the thread pool (a 3072x3072
ZCA of 32x32 colour images takes seconds), the latest request winning.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from convlab.train.preprocess import (
    NORMALISE_DEFAULTS,
    model_normaliser,
    normalise_preview,
)

from ..workers import LatestTask, Task
from .augment_panel import PictureLabel, ValueSlider, run_images

__all__ = ["NormalisePanel", "crops"]

SAMPLES = 4
#: the filters are shown as this neighbourhood of their pixel (2 * CROP + 1 square)
CROP = 6
FILTERS = 16

_CHECKS = [
    ("samplewise_center", "Sample-wise centring",
     "samplewise_center: subtract each image's own mean (over all its pixels and "
     "channels), so an image's overall brightness no longer matters."),
    ("samplewise_std_normalization", "Sample-wise std normalisation",
     "samplewise_std_normalization: divide each image by its own standard "
     "deviation (+1e-6): every image gets the same contrast."),
    ("featurewise_center", "Feature-wise centring",
     "featurewise_center: subtract the training set's mean value per channel "
     "(fit on the training images): inputs centred on zero, which gradient "
     "descent prefers (the first layer's weights start unbiased)."),
    ("featurewise_std_normalization", "Feature-wise std normalisation",
     "featurewise_std_normalization: divide by the training set's standard "
     "deviation per channel: inputs of unit variance (Keras's 'standardisation')."),
    ("zca_whitening", "ZCA whitening",
     "zca_whitening: decorrelate the pixels. Neighbouring pixels of natural "
     "images are strongly correlated; ZCA multiplies each (channel-centred) image "
     "by W = U diag(1/sqrt(S + epsilon)) U^T, from the SVD U S U^T of the "
     "training images' covariance, which makes the covariance the identity while "
     "staying as close to the original image as possible: edges stay, smooth "
     "areas fade. Implies feature-wise centring (as in Keras)."),
]  # fmt: skip


def crops(filters: np.ndarray, positions: list[tuple[int, int]], r: int) -> np.ndarray:
    """The ``(2r + 1)``-square neighbourhood of each filter's own pixel, zero
    outside the image: ``(k, C, 2r + 1, 2r + 1)``."""
    k, c, h, w = filters.shape
    padded = np.zeros((k, c, h + 2 * r, w + 2 * r), np.float32)
    padded[:, :, r : r + h, r : r + w] = filters
    return np.stack(
        [padded[i, :, y : y + 2 * r + 1, x : x + 2 * r + 1]
         for i, (y, x) in enumerate(positions)]
    )  # fmt: skip


class NormalisePanel(QWidget):
    """The Normalise tab.

    Signals
    -------
    settings_changed()
        A switch, epsilon, the fit size or "Train with normalisation" changed.
    preview_updated()
        New previews are shown (tests wait for it).
    """

    settings_changed = Signal()
    preview_updated = Signal()

    def __init__(self, run: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run = run
        self.failure = ""
        self.result: Any = None  # the last NormalisePreview
        self.model_note = ""  # what an opened model's normaliser is
        self._preview = LatestTask(self, 200, self._make_preview)

        box = QGroupBox("ImageDataGenerator arguments")
        box.setToolTip(
            "Normalisation changes the numbers the network sees, not the picture: "
            "centring and scaling put every input feature on a similar scale, so "
            "one learning rate suits all weights and training converges faster; "
            "whitening also removes the pixels' correlations. Statistics come from "
            "the training images only and are then applied unchanged to "
            "validation, test, drawn and probed images; a saved model keeps them "
            "and applies them when it is opened again."
        )
        form = QVBoxLayout(box)
        self.checks: dict[str, QCheckBox] = {}
        for key, label, tip in _CHECKS:
            check = QCheckBox(label)
            check.setToolTip(tip)
            check.toggled.connect(self._on_setting_changed)
            self.checks[key] = check
            form.addWidget(check)
        self.epsilon = ValueSlider(-6, 0, 600, lambda v: f"{10**v:.0e}")
        self.epsilon.setToolTip(
            "zca_epsilon, on a log scale from 1e-6 (Keras's default) to 1: added to "
            "the covariance's eigenvalues before the inverse square root. Tiny "
            "values amplify the noise directions enormously (the filters become "
            "single pixels); larger values whiten only the strong correlations "
            "(smoother, wider centre-surround filters)."
        )
        self.epsilon.value_changed.connect(self._on_setting_changed)
        self.epsilon.set_value(-1)
        eps_row = QFormLayout()
        eps_row.addRow("ZCA epsilon", self.epsilon)
        self.fit_spin = QSpinBox()
        self.fit_spin.setRange(50, 20_000)
        self.fit_spin.setSingleStep(250)
        self.fit_spin.setValue(int(NORMALISE_DEFAULTS["fit_images"]))
        self.fit_spin.setToolTip(
            "fit_images: the statistics (mean, std, ZCA covariance) come from the "
            "first this many training images. ZCA's covariance is D x D for D "
            "values an image (784 for MNIST, 3072 for 32x32 colour): 1,000 images "
            "estimate it well enough, and the fit stays a few seconds."
        )
        self.fit_spin.valueChanged.connect(self._on_setting_changed)
        eps_row.addRow("Fit on first", self.fit_spin)
        form.addLayout(eps_row)

        self.enabled_check = QCheckBox("Train with normalisation")
        self.enabled_check.setToolTip(
            "When on, Start fits these statistics on the training images (the "
            "validation part held out) and trains, validates and tests on "
            "normalised images; the model remembers them (saved in its file)."
        )
        self.enabled_check.toggled.connect(self._on_enabled_toggled)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.status = QLabel()
        self.status.setWordWrap(True)

        controls = QWidget()
        cv = QVBoxLayout(controls)
        cv.setContentsMargins(0, 0, 0, 0)
        cv.addWidget(box)
        cv.addWidget(self.enabled_check)
        cv.addWidget(self.progress)
        cv.addWidget(self.status)
        cv.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(280)
        scroll.setMaximumWidth(340)

        self.samples_label = PictureLabel()
        self.samples_title = QLabel(
            f"Top: the first {SAMPLES} training images. Bottom: what the network sees"
        )
        self.samples_title.setWordWrap(True)
        self.after_title = QLabel()
        self.after_title.setWordWrap(True)
        self.filters_label = PictureLabel()
        self.filters_caption = QLabel()
        self.filters_caption.setWordWrap(True)
        right = QVBoxLayout()
        right.addWidget(self.samples_title)
        right.addWidget(self.samples_label, 2)
        right.addWidget(self.after_title)
        self.filters_title = QLabel("ZCA whitening filters")
        right.addWidget(self.filters_title)
        right.addWidget(self.filters_label, 3)
        right.addWidget(self.filters_caption)
        layout = QHBoxLayout(self)
        layout.addWidget(scroll)
        layout.addLayout(right, 1)

        run.data_changed.connect(self._on_run_data_changed)
        run.model_changed.connect(self._on_run_model_changed)
        run.state_changed.connect(self._on_run_state_changed)
        self._request()

    # ------------------------------------------------------------------ settings
    def epsilon_value(self) -> float:
        return float(f"{10 ** self.epsilon.value():.3g}")

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments the controls show (keys of
        :data:`NORMALISE_DEFAULTS`)."""
        args = {key: check.isChecked() for key, check in self.checks.items()}
        args["zca_epsilon"] = self.epsilon_value()
        args["fit_images"] = int(self.fit_spin.value())
        return args

    def any_on(self) -> bool:
        return any(check.isChecked() for check in self.checks.values())

    def normalise_settings(self) -> dict[str, Any] | None:
        """``TrainSettings.normalise``: the arguments when "Train with
        normalisation" is on and something is chosen, else None."""
        if not (self.enabled_check.isChecked() and self.any_on()):
            return None
        return self.arguments()

    def set_train_settings(self, args: dict[str, Any] | None) -> None:
        """Show ``TrainSettings.normalise`` (a scene's): the arguments and the
        switch on, or the switch off for None."""
        if args is not None:
            self.set_arguments(args)
        self.enabled_check.setChecked(args is not None)

    def set_arguments(self, args: dict[str, Any]) -> None:
        args = {**NORMALISE_DEFAULTS, **args}
        for key, check in self.checks.items():
            check.setChecked(bool(args[key]))
        self.epsilon.set_value(float(np.log10(args["zca_epsilon"])))
        self.fit_spin.setValue(int(args["fit_images"]))

    def _on_run_model_changed(self) -> None:
        """A model that was trained with a normaliser (an opened file): show its
        settings with the switch on, so training it further keeps normalising."""
        norm = model_normaliser(self.run.model) if self.run.model is not None else None
        if norm is None:
            self.model_note = ""
            return
        self.set_train_settings(norm.settings)
        self.model_note = (
            f"The model was trained with {norm.describe()}: its saved statistics "
            "prepare every image it evaluates, until it is trained again (which "
            "fits them anew on these training images)."
        )
        self.status.setText(self.model_note)

    def _on_run_state_changed(self, state: Any) -> None:
        if state.running:  # the run fits its own statistics
            self.model_note = ""

    # ------------------------------------------------------------------ preview
    def _on_run_data_changed(self) -> None:
        self._request()

    @Slot()
    def _on_setting_changed(self, *_args) -> None:
        self.epsilon.setEnabled(self.checks["zca_whitening"].isChecked())
        self._request()
        self.settings_changed.emit()

    @Slot(bool)
    def _on_enabled_toggled(self, _on: bool) -> None:
        self.settings_changed.emit()

    def _request(self) -> None:
        self._preview.request()

    def _make_preview(self) -> Task | None:
        """The preview task for the current settings (None: no training images)."""
        x = run_images(self.run)
        if x is None:
            self.status.setText("No training images yet.")
            return None
        args = self.arguments()
        n = min(args["fit_images"], len(x))
        d = int(np.prod(x.shape[1:]))
        if args["zca_whitening"]:
            self.status.setText(
                f"Fitting ZCA on the first {n:,} training images (the "
                + (
                    f"{d:,}x{d:,} covariance's eigendecomposition"
                    if n >= d
                    else f"SVD of the {n:,}x{d:,} images"
                )
                + ")…"
            )
        elif args["featurewise_center"] or args["featurewise_std_normalization"]:
            self.status.setText(f"Fitting the statistics on {n:,} training images…")
        self.progress.setRange(0, 0)  # busy: an eigendecomposition reports no steps
        task = Task(normalise_preview, args, x, SAMPLES, FILTERS)
        task.signals.finished.connect(self._on_task_finished)
        task.signals.failed.connect(self._on_task_failed)
        return task

    def _finish_task(self) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self._preview.done()

    @Slot(object)
    def _on_task_finished(self, result: Any) -> None:
        self.result = result
        self.failure = ""
        norm = result.normaliser
        before, after = result.before, result.after
        k = len(before)
        lo = after.reshape(k, -1).min(axis=1)
        hi = after.reshape(k, -1).max(axis=1)
        self.samples_label.set_images(
            np.concatenate([before, after]),
            np.concatenate([np.zeros(k, np.float32), lo]),
            np.concatenate([np.full(k, 255, np.float32), hi]),
            cols=k,
        )
        self.after_title.setText(
            f"(bottom row: {norm.describe()}; values {float(after.min()):.2f} to "
            f"{float(after.max()):.2f}, each image stretched to its own range)"
        )
        if len(result.filters):
            f = crops(result.filters, result.positions, CROP)
            m = self._filter_range(f)
            self.filters_label.set_images(f, -m, m)
            c = f.shape[1]
            which = "" if c == 1 else " (the row of the pixel's red value)"
            side = 2 * CROP + 1
            self.filters_caption.setText(
                f"{len(f)} rows of the {self._zca_size(result)} ZCA matrix, each "
                f"reshaped to the image{which} and shown as the {side}x{side} "
                "pixels around its own pixel: the filter that computes the whitened "
                "value of that pixel (pixels on a grid from "
                f"{result.positions[0]} to {result.positions[-1]}, the centre "
                "among them). They are centre-surround filters: a bright peak on "
                "the pixel, a dark ring around it, like the receptive fields of "
                "retinal ganglion cells: ZCA keeps edges and removes what "
                "neighbours predict. Grey is 0; the range is ± the largest weight "
                "off the centre, so the peak saturates. Raise epsilon and they "
                "widen."
            )
        else:
            self.filters_label.set_images(None)
            self.filters_caption.setText(
                "Tick ZCA whitening to see its filters: the rows of the whitening "
                "matrix are centre-surround filters."
            )
        if self.model_note:
            self.status.setText(self.model_note)
        elif norm.needs_fit:
            self.status.setText(
                f"Fit in {result.seconds:.1f} s on the first {norm.fitted_on:,} "
                "training images."
            )
        elif not self.any_on():
            self.status.setText("Nothing chosen: the network sees pixels / 255.")
        else:
            self.status.setText("Sample-wise: no statistics to fit.")
        self._finish_task()
        self.preview_updated.emit()

    @staticmethod
    def _filter_range(filters: np.ndarray) -> np.ndarray:
        """Per (cropped) filter, the largest |weight| off its centre pixel."""
        a = np.abs(filters).copy()
        a[:, :, CROP, CROP] = 0
        return np.maximum(a.reshape(len(a), -1).max(axis=1), 1e-12)

    @staticmethod
    def _zca_size(result: Any) -> str:
        d = int(np.prod(result.filters.shape[1:]))
        return f"{d:,}x{d:,}"

    @Slot(str)
    def _on_task_failed(self, message: str) -> None:
        self.failure = message
        self.status.setText(f"Normalisation preview failed: {message}")
        self._finish_task()

    def busy(self) -> bool:
        return self._preview.busy()
