"""Draw a digit: the canvas, the 28x28 the model sees, its answer, every layer's
output."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from convlab.data.digit import preprocess_digit

from ..draw_canvas import DrawCanvas
from .activations_view import ActivationsView
from .mosaic import GREY, colorize, to_pixmap
from .predictions import ProbabilityBars

__all__ = ["DIGIT_SHAPE", "DrawPanel", "draw_problem"]

#: what the canvas makes: a 28x28 grey digit, as MNIST's
DIGIT_SHAPE = (28, 28)


def draw_problem(data: object) -> str:
    """Why drawing makes no sense for ``data`` ("" when it does): the canvas makes
    28x28 grey digits 0-9, so the data must be digits of that shape."""
    if data is None or getattr(data, "is_digits", True):
        return ""
    c, h, w = data.input_shape  # type: ignore[attr-defined]
    colour = "colour" if c == 3 else "grey"
    return (
        "Drawing makes 28x28 grey digits 0-9, for a model trained on MNIST; "
        f"{data.name} has {h}x{w} {colour} images in "  # type: ignore[attr-defined]
        f"{data.num_classes} classes. Load MNIST to draw."  # type: ignore[attr-defined]
    )


class DrawPanel(QWidget):
    """Signals
    -------
    digit_changed(object)
        The preprocessed 28x28 float32 digit, or None when the canvas is blank.
    """

    digit_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.digit: np.ndarray | None = None
        self.canvas = DrawCanvas(resolution=280, stroke_width=22)
        self.canvas.drawing_changed.connect(self._on_canvas_drawing_changed)
        self.width_spin = QSpinBox()
        self.width_spin.setRange(4, 60)
        self.width_spin.setValue(22)
        self.width_spin.setSuffix(" px")
        self.width_spin.setToolTip(
            "Pen width on the 280x280 canvas (MNIST strokes: ~22 px)"
        )
        self.width_spin.valueChanged.connect(self._on_width_spin_changed)
        clear = QPushButton("Clear")
        clear.clicked.connect(self.canvas.clear)
        clear.setToolTip("Erase the drawing")
        undo = QPushButton("Undo")
        undo.setToolTip("Take back the last stroke (Ctrl+Z)")
        undo.clicked.connect(self.canvas.undo)
        tools = QHBoxLayout()
        tools.addWidget(QLabel("Stroke:"))
        tools.addWidget(self.width_spin)
        tools.addWidget(undo)
        tools.addWidget(clear)
        tools.addStretch(1)

        self.preview = QLabel()
        self.preview.setFixedSize(DIGIT_SHAPE[1] * 5, DIGIT_SHAPE[0] * 5)
        self.preview.setStyleSheet("border: 1px solid #888;")
        self.preview.setToolTip(
            "Cropped, scaled into 20x20 and centred by its centre of mass "
            "in 28x28, as MNIST's digits were."
        )
        self.bars = ProbabilityBars()
        self.bars.setMinimumHeight(220)
        self.activations = ActivationsView(columns=2, max_width=420)

        left = QWidget()
        lv = QVBoxLayout(left)
        title = QLabel("Draw a digit (mouse or pen)")
        title.setStyleSheet("font-weight: bold;")
        lv.addWidget(title)
        lv.addWidget(self.canvas, 1)
        lv.addLayout(tools)
        seen = QHBoxLayout()
        seen_text = QLabel("What the model sees:\n28x28, centred by\ncentre of mass")
        seen.addWidget(seen_text)
        seen.addWidget(self.preview)
        seen.addStretch(1)
        lv.addLayout(seen)

        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        act_title = QLabel("Every layer's output for your digit")
        act_title.setStyleSheet("font-weight: bold;")
        below = QWidget()
        bv = QVBoxLayout(below)
        bv.setContentsMargins(0, 0, 0, 0)
        bv.addWidget(act_title)
        bv.addWidget(self.activations, 1)
        right_split = QSplitter(Qt.Orientation.Vertical)
        right_split.addWidget(self.bars)
        right_split.addWidget(below)
        right_split.setSizes([260, 540])
        rv.addWidget(right_split)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([380, 700])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self._show_preview(np.zeros(DIGIT_SHAPE, np.float32))

    def _show_preview(self, digit: np.ndarray) -> None:
        self.preview.setPixmap(to_pixmap(colorize(digit, GREY, 0.0, 1.0), 5))

    def show_result(
        self,
        probabilities: np.ndarray | None,
        activations: list[tuple[str, np.ndarray]] | None,
    ) -> None:
        self.bars.set_probabilities(probabilities)
        if activations is None:
            self.activations.clear()
        else:
            self.activations.set_activations(activations, image=self.digit)

    @Slot()
    def _on_canvas_drawing_changed(self) -> None:
        raw = self.canvas.image()
        digit = preprocess_digit(raw, ink="white")
        if not digit.any():
            self.digit = None
            self._show_preview(digit)
            self.show_result(None, None)
            self.digit_changed.emit(None)
            return
        self.digit = digit
        self._show_preview(digit)
        self.digit_changed.emit(digit)

    @Slot(int)
    def _on_width_spin_changed(self, value: int) -> None:
        self.canvas.set_stroke_width(value)
