"""The trainer's right-hand tabs that show a run: Training (curves, filters, one test
image followed through the model), Activations, Results (confusion matrix and
galleries). Thin views: they show the arrays and records they are given."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from convlab.train.session import EvaluationEvent, Probe

from .activations_view import ActivationsView
from .confusion import ConfusionView, confusion_matrix
from .curves import CurvesView
from .filters_view import FiltersView
from .mosaic import to_pixmap
from .predictions import DigitGallery, ProbabilityBars, image_rgb, top_caption

__all__ = ["ActivationsTab", "ResultsPanel", "TrainingTab"]

#: how many test images the Results tab shows as examples, and per confusion cell
EXAMPLES, CELL_IMAGES = 24, 48
#: the test image's probability bars at least this high (pixels, at UI scale 1)
BARS_MIN_HEIGHT = 90


class TrainingTab(QSplitter):
    """Loss and accuracy curves above; the first layer's filters and a test image's
    prediction below."""

    def __init__(self) -> None:
        super().__init__(Qt.Orientation.Vertical)
        self.curves = CurvesView()
        self.filters = FiltersView()
        self.test_index_spin = QSpinBox()
        self.test_index_spin.setRange(0, 0)
        self.test_index_spin.setToolTip(
            "Which test image to follow through the network"
        )
        # the caption beside the image names the answer: no title over the bars
        self.test_bars = ProbabilityBars(show_title=False)
        # three ticks: at 720 px high the bars get ~90 px and six ticks ran together
        self.test_bars.getPlotItem().getAxis("left").setTicks(
            [[(0.0, "0"), (0.5, "0.5"), (1.0, "1")]]
        )
        self.test_bars.setMinimumWidth(260)
        self.test_bars.setMinimumHeight(BARS_MIN_HEIGHT)
        self.addWidget(self.curves)
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
        # the image on the left, its caption over the bars on the right: with the
        # caption in the image's row and the bars below, the bars got no height at
        # 2x in 1280x720 (presentation view)
        row = QHBoxLayout()
        self.test_preview = QLabel()
        self.test_preview.setFixedSize(28 * 3, 28 * 3)
        self.test_preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.test_caption = QLabel("")
        self.test_caption.setWordWrap(True)

        row.addWidget(self.test_preview, 0, Qt.AlignmentFlag.AlignTop)
        answer = QVBoxLayout()
        answer.addWidget(self.test_caption)
        answer.addWidget(self.test_bars, 1)
        row.addLayout(answer, 1)
        pv.addLayout(row, 1)
        bottom.addWidget(probe_box)
        bottom.setSizes([520, 340])
        bottom.setStretchFactor(0, 3)
        bottom.setStretchFactor(1, 2)
        bottom.setChildrenCollapsible(False)
        self.addWidget(bottom)
        self.setSizes([470, 280])

    def set_class_names(self, names: list[str]) -> None:
        """The data's classes, for the bars and the caption."""
        self.test_bars.set_classes(names)

    def show_test_probe(self, probe: Probe, label: int | None) -> None:
        self.test_bars.set_probabilities(probe.probabilities)
        names = self.test_bars.class_names
        best = int(np.argmax(probe.probabilities))
        verdict = "right" if best == label else "wrong"

        def name(i: int | None) -> str:
            return str(names[i]) if i is not None and 0 <= i < len(names) else str(i)

        self.test_caption.setText(
            f"This is a {name(label)}.\nThe model says {name(best)} "
            f"({probe.probabilities[best]:.0%}): {verdict}."
        )
        rgb = image_rgb(probe.image)
        side = max(rgb.shape[:2])
        pixmap = to_pixmap(rgb, max(1, 84 // side))
        if pixmap.width() > 84 or pixmap.height() > 84:
            pixmap = pixmap.scaled(
                84,
                84,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        self.test_preview.setPixmap(pixmap)


class ActivationsTab(QWidget):
    """Every layer's output for the chosen test image."""

    def __init__(self) -> None:
        super().__init__()
        av = QVBoxLayout(self)
        self.title = QLabel(
            "Every layer's output for the chosen test image "
            "(refreshed while the network learns)"
        )
        self.title.setStyleSheet("font-weight: bold;")
        self.title.setWordWrap(True)  # one line at 2x asked for 1,137 px
        self.view = ActivationsView(columns=2)
        av.addWidget(self.title)
        av.addWidget(self.view, 1)


class ResultsPanel(QSplitter):
    """The confusion matrix after the last epoch; a click shows that cell's test
    images, and the first test images are shown with their predictions."""

    def __init__(self) -> None:
        super().__init__(Qt.Orientation.Horizontal)
        self.confusion = ConfusionView()
        self.confusion.cell_clicked.connect(self._on_confusion_cell_clicked)
        self.cell_gallery = DigitGallery(
            "Click a cell of the confusion matrix to see its test images."
        )
        self.examples = DigitGallery(
            "Example predictions (after each epoch): the first test images, "
            "green frame right, red wrong"
        )
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.confusion, 1)
        row = QHBoxLayout()
        self.export_confusion_button = QPushButton("Save matrix as PNG...")
        self.export_confusion_button.setToolTip(
            "Save the confusion matrix, its title and key as a PNG image"
        )
        self.export_galleries_button = QPushButton("Save galleries as PNG...")
        self.export_galleries_button.setToolTip(
            "Save every image of both galleries, with captions, as a PNG image"
        )
        self.export_note = QLabel("")  # the last export's result
        row.addWidget(self.export_confusion_button)
        row.addWidget(self.export_galleries_button)
        row.addWidget(self.export_note, 1)
        lv.addLayout(row)
        self.addWidget(left)
        galleries = QSplitter(Qt.Orientation.Vertical)
        galleries.addWidget(self.cell_gallery)
        galleries.addWidget(self.examples)
        self.addWidget(galleries)
        self.setSizes([480, 520])
        self._eval: EvaluationEvent | None = None
        self._images: np.ndarray | None = None
        self._selected_cell: tuple[int, int] | None = None
        self.class_names = [str(i) for i in range(10)]

    def set_class_names(self, names: list[str]) -> None:
        """The data's classes (the matrix's rows and columns, the captions)."""
        self.class_names = [str(n) for n in names]
        self.confusion.set_classes(self.class_names)

    def clear(self, what: str = "", note: str = "") -> None:
        """Forget the shown results (a new model): ``what`` names the model, ``note``
        says when results will come."""
        self._eval, self._images, self._selected_cell = None, None, None
        of = f" for {what}" if what else " for this model"
        note = note or "train it: results come after each epoch"
        self.confusion.clear(f"Confusion matrix: no results{of} yet ({note})")
        self.cell_gallery.set_digits(np.zeros((0, 1, 28, 28), np.uint8), [])
        self.cell_gallery.set_title(
            "Click a cell of the confusion matrix to see its test images."
        )
        self.examples.set_digits(np.zeros((0, 1, 28, 28), np.uint8), [])
        self.examples.set_title(f"Example predictions: none{of} yet")

    def show_evaluation(
        self,
        ev: EvaluationEvent,
        images: np.ndarray,
        what: str = "",
        class_names: list[str] | None = None,
    ) -> None:
        """``images``: the evaluated test images, uint8 (N, C, H, W); ``what``: the
        model they belong to (a preset, a file); epoch 0 means as it is, untrained
        here. The matrix has a row per class the model answers
        (``ev.probabilities``' columns), named by ``class_names`` if given."""
        self._eval, self._images = ev, images
        names = list(class_names) if class_names is not None else self.class_names
        classes = max(
            int(np.shape(ev.probabilities)[-1])
            if np.ndim(ev.probabilities) == 2
            else 0,
            int(np.max(ev.labels, initial=-1)) + 1,
            int(np.max(ev.predictions, initial=-1)) + 1,
            len(names),
            1,
        )
        matrix = confusion_matrix(ev.labels, ev.predictions, classes)
        self.confusion.set_matrix(
            matrix,
            epoch=ev.epoch,
            what=what,
            class_names=names if len(names) == classes else None,
        )
        n = min(EXAMPLES, len(ev.labels))
        captions = [top_caption(ev.probabilities[i], names=names) for i in range(n)]
        correct = [bool(ev.predictions[i] == ev.labels[i]) for i in range(n)]
        right = int(np.sum(ev.predictions == ev.labels))
        when = f" after epoch {ev.epoch}" if ev.epoch else ""
        of = f" of {what}" if what else ""
        self.examples.set_title(
            f"Example predictions{of}{when} (green frame right, red "
            f"wrong; under each the model's likeliest answers): test accuracy "
            f"{right / max(len(ev.labels), 1):.2%}"
        )
        self.examples.set_digits(images[:n], captions, correct)
        if self._selected_cell is not None:
            self.show_cell(*self._selected_cell)
        elif np.any(ev.predictions != ev.labels):
            # show the most common mistake
            off = matrix.copy()
            np.fill_diagonal(off, 0)
            t, p = np.unravel_index(int(np.argmax(off)), off.shape)
            self.confusion.select(int(t), int(p))
            self.show_cell(int(t), int(p))

    def _on_confusion_cell_clicked(self, true: int, pred: int) -> None:
        self._selected_cell = (true, pred)
        self.show_cell(true, pred)

    def show_cell(self, true: int, pred: int) -> None:
        ev, images = self._eval, self._images
        if ev is None or images is None:
            return
        idx = np.flatnonzero((ev.labels == true) & (ev.predictions == pred))
        shown = idx[:CELL_IMAGES]
        names = self.class_names

        def name(i: int) -> str:
            return names[i] if 0 <= i < len(names) else str(i)

        what = (
            "the model recognised" if true == pred else f"the model called {name(pred)}"
        )
        noun = "test image" if len(idx) == 1 else "test images"
        self.cell_gallery.set_title(
            f"{len(idx)} {noun} of a true {name(true)} that {what}"
            + (f" (first {len(shown)} shown)" if len(idx) > len(shown) else "")
            + ". Under each: the model's likeliest answers."
        )
        self.cell_gallery.set_digits(
            images[shown],
            [top_caption(ev.probabilities[i], names=names) for i in shown],
            [true == pred] * len(shown),
        )
