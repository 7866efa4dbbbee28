"""Geometry controls (stride, padding, dilation, activation, pooling) with inline
errors, and the panel that shows every stage's output shape with the formula that gives
it."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from convlab import explore
from convlab.explore import Plan, Settings

ERROR_STYLE = "color: #c62828; font-weight: 600;"


def _spin(low: int, high: int, value: int, tip: str, prefix: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    box.setToolTip(tip)
    box.setPrefix(prefix)
    # apply on commit (Enter, focus out, an arrow step): typing "16" once computed
    # and showed a pool of 1 first
    box.setKeyboardTracking(False)
    box.setMinimumWidth(64)
    return box


def _combo(items: dict[str, str], tip: str) -> QComboBox:
    box = QComboBox()
    for key, text in items.items():
        box.addItem(text, key)
    box.setToolTip(tip)
    return box


def _set_combo(box: QComboBox, key: str) -> None:
    index = box.findData(key)
    if index >= 0:
        box.setCurrentIndex(index)


class GeometryPanel(QWidget):
    """Every geometry control, each with an inline error label under it.

    Signals
    -------
    changed(str)
        A control changed; the argument is its control name (as in
        :func:`convlab.explore.validate`).
    """

    changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self._errors: dict[str, QLabel] = {}
        self._fields: dict[str, QWidget] = {}

        # -- convolution
        self.stride_h = _spin(
            1,
            64,
            1,
            "Vertical stride: how many rows the kernel moves "
            "between two outputs. Stride 2 halves the map's height.",
            "↓ ",
        )
        self.stride_w = _spin(
            1,
            64,
            1,
            "Horizontal stride: how many columns the kernel moves between two outputs.",
            "→ ",
        )
        self._row(form, "Stride", "stride", self.stride_h, self.stride_w)

        self.padding = _combo(
            {
                "valid": "valid (none)",
                "same": "same (Keras)",
                "explicit": "explicit per side",
            },
            "valid: the kernel stays inside the image, so the map shrinks by "
            "kernel-1.\n"
            "same: pad so that the output is ceil(input / stride) (Keras/TensorFlow; "
            "the odd extra row/column goes at the bottom/right).\n"
            "explicit: choose each side.",
        )
        self.pad_top = _spin(0, 64, 1, "Rows of padding above the image (top)", "↑ ")
        self.pad_bottom = _spin(
            0, 64, 1, "Rows of padding below the image (bottom)", "↓ "
        )
        self.pad_left = _spin(0, 64, 1, "Columns of padding left of the image", "← ")
        self.pad_right = _spin(0, 64, 1, "Columns of padding right of the image", "→ ")
        pad_box = QWidget()
        pad_layout = QVBoxLayout(pad_box)
        pad_layout.setContentsMargins(0, 0, 0, 0)
        pad_layout.addWidget(self.padding)
        sides = QHBoxLayout()
        for box in (self.pad_top, self.pad_bottom, self.pad_left, self.pad_right):
            sides.addWidget(box)
        pad_layout.addLayout(sides)
        self._row(form, "Padding", "padding", pad_box)

        self.padding_mode = _combo(
            {mode: mode for mode in explore.PADDING_MODES},
            "What the padded cells contain (PyTorch's padding_mode):\nzeros: 0 "
            "(darkens the border of a blur)\n"
            "reflect: mirror without repeating the edge (d c b | a b c d)\n"
            "replicate: repeat the edge (a a | a b c d)\ncircular: wrap around (c d | "
            "a b c d)",
        )
        self._row(form, "Padding mode", "padding_mode", self.padding_mode)

        self.dilation_h = _spin(
            1,
            16,
            1,
            "Vertical dilation: gaps between the kernel's rows. "
            "A 3x3 kernel with dilation 2 covers 5x5 pixels.",
            "↓ ",
        )
        self.dilation_w = _spin(
            1, 16, 1, "Horizontal dilation: gaps between the kernel's columns.", "→ "
        )
        self._row(form, "Dilation", "dilation", self.dilation_h, self.dilation_w)

        self.channels = _combo(
            {
                "mean": "average (kernel / C)",
                "sum": "sum (raw Conv2D)",
            },
            "A Conv2D filter has one kernel slice per input channel and sums them. "
            "Here every slice is your kernel; 'average' divides it by the number of "
            "channels (3 for RGB) so a blur keeps the image's brightness.",
        )
        self._row(form, "Colour channels", "channels", self.channels)

        # -- activation
        self.activation = _combo(
            explore.ACTIVATIONS,
            "Applied to every value of the convolution output. ReLU keeps the positive "
            "answers (where the filter matched) and zeroes the rest.",
        )
        self.slope = QDoubleSpinBox()
        self.slope.setRange(0.0, 1.0)
        self.slope.setSingleStep(0.05)
        self.slope.setDecimals(3)
        self.slope.setValue(0.1)
        self.slope.setPrefix("a = ")
        self.slope.setKeyboardTracking(False)
        self.slope.setToolTip(
            "Leaky ReLU's slope for negative inputs (PyTorch default 0.01)."
        )
        self._row(form, "Activation", "activation", self.activation, self.slope)

        # -- pooling
        self.pool = _combo(
            explore.POOLS,
            "Max pooling keeps the strongest answer in each window (where a feature "
            "is, roughly); average pooling smooths. Both shrink the map.",
        )
        self._row(form, "Pooling", "pool", self.pool)
        self.pool_h = _spin(1, 16, 2, "Pool window height", "↓ ")
        self.pool_w = _spin(1, 16, 2, "Pool window width", "→ ")
        self._row(form, "Pool size", "pool_size", self.pool_h, self.pool_w)
        self.pool_stride_h = _spin(
            1, 16, 2, "Pool stride (vertical); Keras' default is the pool size.", "↓ "
        )
        self.pool_stride_w = _spin(1, 16, 2, "Pool stride (horizontal)", "→ ")
        self._row(
            form, "Pool stride", "pool_stride", self.pool_stride_h, self.pool_stride_w
        )
        self.pool_padding = _combo(
            {"valid": "valid (none)", "same": "same (Keras)", "explicit": "explicit"},
            "Padding for the pooling window. Padded cells never win a max; PyTorch "
            "allows at most half the window.",
        )
        self.pool_pad_h = _spin(0, 8, 0, "Pool padding rows (each side)", "↕ ")
        self.pool_pad_w = _spin(0, 8, 0, "Pool padding columns (each side)", "↔ ")
        self.ceil_mode = QCheckBox("ceil mode")
        self.ceil_mode.setToolTip(
            "PyTorch's ceil_mode: round the output size up, keeping a last partial "
            "window."
        )
        self._row(
            form,
            "Pool padding",
            "pool_padding",
            self.pool_padding,
            self.pool_pad_h,
            self.pool_pad_w,
            self.ceil_mode,
        )

        self._error_general = QLabel()
        self._error_general.setStyleSheet(ERROR_STYLE)
        self._error_general.setWordWrap(True)
        self._error_general.hide()
        self._errors["filters"] = self._error_general
        form.addRow(self._error_general)

        for name, box in self._spinboxes():
            box.valueChanged.connect(lambda _=0, n=name: self._on_control_changed(n))
        for name, box in (
            ("padding", self.padding),
            ("padding_mode", self.padding_mode),
            ("activation", self.activation),
            ("pool", self.pool),
            ("pool_padding", self.pool_padding),
            ("channels", self.channels),
        ):
            box.currentIndexChanged.connect(
                lambda _=0, n=name: self._on_control_changed(n)
            )
        self.ceil_mode.toggled.connect(
            lambda _=False: self._on_control_changed("pool_padding")
        )
        self._sync_enabled()

    # -- building ------------------------------------------------------------------
    def _row(self, form: QFormLayout, label: str, name: str, *widgets: QWidget) -> None:
        field = QWidget()
        column = QVBoxLayout(field)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        row = QHBoxLayout()
        row.setSpacing(4)
        for widget in widgets:
            row.addWidget(widget)
        column.addLayout(row)
        error = QLabel()
        error.setObjectName(f"error_{name}")
        error.setStyleSheet(ERROR_STYLE)
        error.setWordWrap(True)
        error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        error.hide()
        column.addWidget(error)
        self._errors[name] = error
        self._fields[name] = field
        title = QLabel(label)
        title.setToolTip(widgets[0].toolTip())
        form.addRow(title, field)

    def _spinboxes(self) -> list[tuple[str, QSpinBox | QDoubleSpinBox]]:
        return [
            ("stride", self.stride_h),
            ("stride", self.stride_w),
            ("padding", self.pad_top),
            ("padding", self.pad_bottom),
            ("padding", self.pad_left),
            ("padding", self.pad_right),
            ("dilation", self.dilation_h),
            ("dilation", self.dilation_w),
            ("activation", self.slope),
            ("pool_size", self.pool_h),
            ("pool_size", self.pool_w),
            ("pool_stride", self.pool_stride_h),
            ("pool_stride", self.pool_stride_w),
            ("pool_padding", self.pool_pad_h),
            ("pool_padding", self.pool_pad_w),
        ]

    def _on_control_changed(self, name: str) -> None:
        self._sync_enabled()
        self.changed.emit(name)

    def _sync_enabled(self) -> None:
        explicit = self.padding.currentData() == "explicit"
        for box in (self.pad_top, self.pad_bottom, self.pad_left, self.pad_right):
            box.setVisible(explicit)
        self.slope.setVisible(self.activation.currentData() == "leaky_relu")
        pooling = self.pool.currentData() != "none"
        for name in ("pool_size", "pool_stride", "pool_padding"):
            self._fields[name].setEnabled(pooling)
        pool_explicit = self.pool_padding.currentData() == "explicit"
        self.pool_pad_h.setVisible(pool_explicit)
        self.pool_pad_w.setVisible(pool_explicit)

    # -- values --------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """The controls as keyword arguments of :class:`convlab.explore.Settings`."""
        return {
            "stride": (self.stride_h.value(), self.stride_w.value()),
            "padding": self.padding.currentData(),
            "explicit_padding": (
                self.pad_top.value(),
                self.pad_bottom.value(),
                self.pad_left.value(),
                self.pad_right.value(),
            ),
            "padding_mode": self.padding_mode.currentData(),
            "dilation": (self.dilation_h.value(), self.dilation_w.value()),
            "activation": self.activation.currentData(),
            "negative_slope": float(self.slope.value()),
            "pool": self.pool.currentData(),
            "pool_size": (self.pool_h.value(), self.pool_w.value()),
            "pool_stride": (self.pool_stride_h.value(), self.pool_stride_w.value()),
            "pool_padding": self.pool_padding.currentData(),
            "pool_explicit_padding": (self.pool_pad_h.value(), self.pool_pad_w.value()),
            "ceil_mode": self.ceil_mode.isChecked(),
            "channels": self.channels.currentData(),
        }

    def set_values(self, settings: Settings) -> None:
        """Show ``settings`` without emitting :attr:`changed`."""
        widgets = [
            *(box for _, box in self._spinboxes()),
            self.padding,
            self.padding_mode,
            self.activation,
            self.pool,
            self.pool_padding,
            self.channels,
            self.ceil_mode,
        ]
        blockers = [QSignalBlocker(w) for w in widgets]
        self.stride_h.setValue(settings.stride[0])
        self.stride_w.setValue(settings.stride[1])
        _set_combo(self.padding, settings.padding)
        for box, value in zip(
            (self.pad_top, self.pad_bottom, self.pad_left, self.pad_right),
            settings.explicit_padding,
            strict=True,
        ):
            box.setValue(value)
        _set_combo(self.padding_mode, settings.padding_mode)
        self.dilation_h.setValue(settings.dilation[0])
        self.dilation_w.setValue(settings.dilation[1])
        _set_combo(self.activation, settings.activation)
        self.slope.setValue(settings.negative_slope)
        _set_combo(self.pool, settings.pool)
        self.pool_h.setValue(settings.pool_size[0])
        self.pool_w.setValue(settings.pool_size[1])
        self.pool_stride_h.setValue(settings.pool_stride[0])
        self.pool_stride_w.setValue(settings.pool_stride[1])
        _set_combo(self.pool_padding, settings.pool_padding)
        self.pool_pad_h.setValue(settings.pool_explicit_padding[0])
        self.pool_pad_w.setValue(settings.pool_explicit_padding[1])
        self.ceil_mode.setChecked(settings.ceil_mode)
        _set_combo(self.channels, settings.channels)
        del blockers
        self._sync_enabled()

    def check_values(self, settings: Settings) -> list[str]:
        """Why these controls cannot show ``settings`` exactly ([] if they can): a
        value outside a spin box's range or a choice no combo box offers."""
        problems = []
        pairs = {
            "stride": (settings.stride, (self.stride_h, self.stride_w)),
            "explicit_padding": (
                settings.explicit_padding,
                (self.pad_top, self.pad_bottom, self.pad_left, self.pad_right),
            ),
            "dilation": (settings.dilation, (self.dilation_h, self.dilation_w)),
            "negative_slope": ((settings.negative_slope,), (self.slope,)),
            "pool_size": (settings.pool_size, (self.pool_h, self.pool_w)),
            "pool_stride": (
                settings.pool_stride,
                (self.pool_stride_h, self.pool_stride_w),
            ),
            "pool_explicit_padding": (
                settings.pool_explicit_padding,
                (self.pool_pad_h, self.pool_pad_w),
            ),
        }
        for name, (values, boxes) in pairs.items():
            for value, box in zip(values, boxes, strict=True):
                if not box.minimum() <= value <= box.maximum():
                    problems.append(
                        f"`{name}` must be from {box.minimum():g} to "
                        f"{box.maximum():g} here. Received: {name}={values}"
                    )
                    break
        for name, box in (
            ("padding", self.padding),
            ("padding_mode", self.padding_mode),
            ("activation", self.activation),
            ("pool", self.pool),
            ("pool_padding", self.pool_padding),
            ("channels", self.channels),
        ):
            value = getattr(settings, name)
            if box.findData(value) < 0:
                allowed = [box.itemData(i) for i in range(box.count())]
                problems.append(
                    f"`{name}` must be one of {allowed}. Received: {name}={value!r}"
                )
        return problems

    def show_problems(self, problems: list[tuple[str, str]]) -> None:
        """Show each message under its control; hide the labels of valid controls."""
        by_control: dict[str, list[str]] = {}
        for control, message in problems:
            key = control if control in self._errors else "filters"
            by_control.setdefault(key, []).append(message)
        for name, label in self._errors.items():
            messages = by_control.get(name)
            if messages:
                label.setText("⚠ " + "\n⚠ ".join(messages))
                label.setToolTip("\n".join(messages))
                label.show()
            else:
                label.clear()
                label.hide()

    def error_text(self, control: str) -> str:
        """The inline message under ``control`` ('' if none is shown)."""
        label = self._errors[control]
        return label.text() if not label.isHidden() else ""


class ShapesPanel(QTextBrowser):
    """Every stage's output shape with the PyTorch formula, and the conventions table.

    A read-only text view sized to its text once per change, not a word-wrapped QLabel:
    the label's height-for-width made the parent layout lay the rich text out again and
    again, measured 17 ms of GUI-thread time per control change (4 ms here).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.viewport().setAutoFillBackground(False)
        self.setStyleSheet("QTextBrowser { background: transparent; }")
        self.document().setDocumentMargin(2)
        self._html = ""

    def text(self) -> str:
        """The HTML last shown."""
        return self._html

    def setText(self, text: str) -> None:  # noqa: N802 (QLabel-like)
        if text == self._html:
            return
        self._html = text
        self.setHtml(text)
        self._fit_height()

    def _fit_height(self) -> None:
        doc = self.document()
        doc.setTextWidth(self.viewport().width())
        height = int(doc.size().height()) + 2
        if height != self.height():
            self.setFixedHeight(height)

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt)
        super().resizeEvent(event)
        self._fit_height()

    def update_for(
        self, plan: Plan | Settings, image_shape: tuple[int, ...] | None = None
    ) -> None:
        """Show a :class:`~convlab.explore.Plan`'s shapes (or those of settings on an
        image of ``image_shape``)."""
        if not isinstance(plan, Plan):
            plan = explore.plan(plan, image_shape)
        try:
            stages = explore.stage_shapes(plan)
        except (ValueError, IndexError) as exc:
            self.setText(f"<p style='{ERROR_STYLE}'>{html.escape(str(exc))}</p>")
            return
        rows = []
        for stage in stages:
            c, h, w = stage.shape
            shape = f"{c} × {h} × {w}"
            if stage.formula_h == "unchanged":
                formula = "same shape (element-wise)"
            elif stage.name == "input":
                formula = ""
            else:
                formula = (
                    f"{html.escape(stage.formula_h)}<br>{html.escape(stage.formula_w)}"
                )
            rows.append(
                f"<tr><td><b>{html.escape(stage.name)}</b></td>"
                f"<td><b>{shape}</b></td></tr>"
            )
            if formula:
                rows.append(
                    "<tr><td colspan='2' style='padding-left:14px; color:#555'>"
                    f"<span style='font-family:monospace'>{formula}</span></td></tr>"
                )
        text = (
            "<p>PyTorch's formula per axis: floor((n + pad<sub>before</sub> + "
            "pad<sub>after</sub> − dilated kernel) / stride) + 1</p>"
            "<table cellspacing='0' cellpadding='2'>"
            "<tr><th align='left'>stage</th><th align='left'>shape (C × H × "
            "W)</th></tr>" + "".join(rows) + "</table>"
        )
        disagreements = explore.conventions(plan)
        if disagreements:
            # one row per convention, one narrow column per disagreeing axis: the
            # names ("PyTorch ceil_mode") wrap at their spaces in a narrow panel
            # instead of breaking mid-word as six name columns did
            names = [name for name, _ in disagreements[0][2]]
            head = "".join(
                f"<th>{stage}<br>{axis}</th>" for stage, axis, _ in disagreements
            )
            body = ""
            for k, name in enumerate(names):
                cells = ""
                for _, _, items in disagreements:
                    s, first = items[k][1], items[0][1]
                    bold = s != first
                    cells += (
                        f"<td align='center'>{'<b>' if bold else ''}{s}"
                        f"{'</b>' if bold else ''}</td>"
                    )
                body += f"<tr><td>{html.escape(name)}</td>{cells}</tr>"
            text += (
                "<p style='margin-top:8px'><b>Where the frameworks disagree</b> "
                "(same kernel, stride, symmetric padding):</p>"
                f"<table border='1' cellspacing='0' "
                f"cellpadding='3'><tr><th></th>{head}</tr>"
                f"{body}</table>"
            )
        else:
            text += (
                "<p style='margin-top:8px'>PyTorch, Keras and Chainer agree on "
                "these sizes.</p>"
            )
        self.setText(text)
