"""The microscope: every number behind one output pixel, from the arrays that drew the
maps."""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QGraphicsRectItem,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from convlab.explore import ACTIVATIONS, ConvInspection, PoolInspection

from .colormaps import image_rgb

PAD_BRUSH = QBrush(QColor(255, 138, 128), Qt.BrushStyle.BDiagPattern)
WINNER_BG = QColor("#ffd54f")
EXPLAINED_BG = QColor("#b3e5fc")
CHANNEL_NAMES = {1: ["grey"], 3: ["R", "G", "B"]}
VIEW_HEIGHT = 210  # px at UI scale 1
COMPACT_COLUMNS = 5  # wider kernels get compact numbers in a smaller font
COMPACT_FONT = 0.82  # 11 pt -> 9 pt at UI scale 1


def fmt(value: float, digits: int = 4) -> str:
    """Readable number: ``digits`` significant digits, no '-0', no exponent noise."""
    value = float(value)
    if not np.isfinite(value):
        return "pad" if np.isnan(value) else str(value)
    if abs(value) < 5e-7:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.2e}"
    return f"{value:.{digits}g}"


def compact_fmt(value: float) -> str:
    """3 significant digits, exponents without padding zeros ("-4.6e-5")."""
    text = fmt(value, 3)
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{float(mantissa):.2g}e{int(exponent)}"
    return text


def _table(name: str) -> QTableWidget:
    table = QTableWidget()
    table.setObjectName(name)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.horizontalHeader().setSectionResizeMode(
        QHeaderView.ResizeMode.ResizeToContents
    )
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.setSizeAdjustPolicy(QAbstractItemView.SizeAdjustPolicy.AdjustToContents)
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    # narrow cells: nine columns of "-0.1235" fit beside the maps at 1280 px
    table.setStyleSheet("QTableWidget::item { padding: 0px 1px; }")
    table.horizontalHeader().setMinimumSectionSize(8)
    return table


def table_width(table: QTableWidget) -> int:
    """The width a table needs to show every column without scrolling."""
    header = table.horizontalHeader()
    columns = sum(
        max(header.sectionSize(c), table.sizeHintForColumn(c))
        for c in range(table.columnCount())
    )
    # + a few pixels the header's own margins take (measured: 2 at 9 columns)
    slack = 6
    return (
        columns
        + table.verticalHeader().sizeHint().width()
        + 2 * table.frameWidth()
        + slack
    )


def fill_table(
    table: QTableWidget,
    values: np.ndarray,
    *,
    row_labels: list[str] | None = None,
    col_labels: list[str] | None = None,
    padded: np.ndarray | None = None,
    pad_tips: np.ndarray | None = None,
    highlight: tuple[int, int] | None = None,
) -> None:
    rows, cols = values.shape
    # wide kernels: 3 significant digits and short exponents, so a 9x9 kernel's
    # tables fit beside the maps at 1280 px; the tooltip keeps 6 digits
    compact = cols > COMPACT_COLUMNS
    table.setRowCount(rows)
    table.setColumnCount(cols)
    table.setVerticalHeaderLabels(row_labels or [str(i) for i in range(rows)])
    table.setHorizontalHeaderLabels(col_labels or [str(i) for i in range(cols)])
    for r in range(rows):
        for c in range(cols):
            value = values[r, c]
            item = QTableWidgetItem(compact_fmt(value) if compact else fmt(value))
            item.setToolTip(fmt(value, 6))
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            if padded is not None and padded[r, c]:
                item.setBackground(PAD_BRUSH)
                item.setToolTip(pad_tips[r, c] if pad_tips is not None else "padding")
                font = item.font()
                font.setItalic(True)
                item.setFont(font)
            if highlight == (r, c):
                item.setBackground(QBrush(WINNER_BG))
                font = item.font()
                font.setBold(True)
                item.setFont(font)
                item.setToolTip("the winner (from max_pool2d's indices)")
            table.setItem(r, c, item)


class MicroscopePanel(QWidget):
    """Shows a :class:`~convlab.explore.ConvInspection` or :class:`PoolInspection`.

    Signals
    -------
    close_requested()
        The close button was pressed.
    pool_cell_clicked(int, int)
        A real (not padded) cell of the pooling table was clicked: its activation-map
        (row, col), whose convolution the owner should explain.
    animate_requested()
        "Animate from here" was pressed: the owner plays the sliding window from the
        inspected pixel.
    """

    close_requested = Signal()
    pool_cell_clicked = Signal(int, int)
    animate_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._inspection: ConvInspection | PoolInspection | None = None
        self._ui_scale = 1.0
        self._colormap = "grey"
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF(), 11.0))
        self.setFont(font)
        self._table_font = QFont(font)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        head = QHBoxLayout()
        self.title = QLabel()
        self.title.setObjectName("microscope_title")
        title_font = QFont(font)
        title_font.setPointSizeF(font.pointSizeF() + 2)
        title_font.setBold(True)
        self.title.setFont(title_font)
        self._title_font = title_font
        self.title.setWordWrap(True)
        head.addWidget(self.title, 1)
        close = QPushButton("✕")
        close.setToolTip("Close the microscope (Esc)")
        close.setFixedWidth(32)
        close.clicked.connect(self.close_requested)
        head.addWidget(close)
        outer.addLayout(head)
        # its own row: beside the title it would take the tables' width
        self.animate_button = QPushButton("▶ Animate from here")
        self.animate_button.setObjectName("microscope_animate")
        self.animate_button.setToolTip(
            "Animate the sliding window, starting at this pixel (Ctrl+Shift+A "
            "animates the selected filter from its first output)"
        )
        self.animate_button.clicked.connect(self.animate_requested)
        outer.addWidget(self.animate_button, 0, Qt.AlignmentFlag.AlignLeft)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        # wrap text to the panel's width instead of scrolling sideways
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer.addWidget(scroll, 1)
        self.scroll = scroll
        body = QWidget()
        scroll.setWidget(body)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)

        self.view_widget = pg.GraphicsLayoutWidget()
        self.view_widget.setBackground("#202124")
        self.view_widget.setFixedHeight(VIEW_HEIGHT)
        self.view = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.view_widget.addItem(self.view)
        self.padded_image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.padded_image)
        self.bounds = QGraphicsRectItem()
        bounds_pen = QPen(QColor("#80cbc4"))
        bounds_pen.setCosmetic(True)
        bounds_pen.setWidthF(1.5)
        bounds_pen.setStyle(Qt.PenStyle.DashLine)
        self.bounds.setPen(bounds_pen)
        self.bounds.setZValue(5)
        self.view.addItem(self.bounds)
        self._cell_items: list[QGraphicsRectItem] = []
        layout.addWidget(self.view_widget)
        self.view_caption = QLabel()
        self.view_caption.setWordWrap(True)
        layout.addWidget(self.view_caption)

        channel_row = QHBoxLayout()
        self.channel_label = QLabel("Channel:")
        self.channel = QComboBox()
        self.channel.setToolTip(
            "A Conv2D filter has one kernel slice per input channel; "
            "the output sums the products of every channel."
        )
        channel_row.addWidget(self.channel_label)
        channel_row.addWidget(self.channel)
        channel_row.addStretch(1)
        layout.addLayout(channel_row)

        self.inputs = _table("microscope_inputs")
        self.weights = _table("microscope_weights")
        self.products = _table("microscope_products")
        for caption, table in (
            ("Input x under the kernel (hatched: padding)", self.inputs),
            ("Weights w (this channel's kernel slice)", self.weights),
            ("Products x · w", self.products),
        ):
            label = QLabel(f"<b>{caption}</b>")
            label.setWordWrap(True)
            layout.addWidget(label)
            layout.addWidget(table)

        self.summary = QLabel()
        self.summary.setObjectName("microscope_summary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        layout.addWidget(self.summary)

        self.pool_label = QLabel()
        self.pool_label.setWordWrap(True)
        self.pool_label.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.pool_label)
        self.pool_table = _table("microscope_pool")
        layout.addWidget(self.pool_table)
        layout.addStretch(1)

        self.channel.currentIndexChanged.connect(self._on_channel_changed)
        self.pool_table.cellClicked.connect(self._on_pool_table_cell_clicked)

    # -- public --------------------------------------------------------------------
    def set_ui_scale(self, scale: float) -> None:
        """Scale the panel's text, tables and picture together (presentation view)."""
        self._ui_scale = float(scale)
        base = QApplication.font().pointSizeF()
        font = QFont(self.font())
        font.setPointSizeF(max(base, 9.0 * scale) * 11.0 / 9.0)
        self.setFont(font)
        title = QFont(font)
        title.setPointSizeF(font.pointSizeF() + 2)
        title.setBold(True)
        self.title.setFont(title)
        self._table_font = QFont(font)
        for table in self.tables():
            self._style_table(table)
        self.view_widget.setFixedHeight(round(VIEW_HEIGHT * min(scale, 1.5)))

    def set_colormap(self, name: str) -> None:
        """The colour map of the padded-input picture (a greyscale input)."""
        self._colormap = name
        if self._inspection is not None:
            conv = (
                self._inspection.conv
                if isinstance(self._inspection, PoolInspection)
                else self._inspection
            )
            self._show_view(conv)

    def _style_table(self, table: QTableWidget) -> None:
        """The panel's font, a size smaller for a wide kernel (compact numbers)."""
        font = QFont(self._table_font)
        if table.columnCount() > COMPACT_COLUMNS:
            font.setPointSizeF(font.pointSizeF() * COMPACT_FONT)
        if font != table.font():
            table.setFont(font)
            table.horizontalHeader().setFont(font)
            table.verticalHeader().setFont(font)
        table.resizeColumnsToContents()
        table.resizeRowsToContents()

    def tables(self) -> list[QTableWidget]:
        return [self.inputs, self.weights, self.products, self.pool_table]

    def wanted_width(self) -> int:
        """The width at which no table scrolls sideways (the owner sizes the pane)."""
        margins = self.layout().contentsMargins()
        scrollbar = self.scroll.verticalScrollBar().sizeHint().width()
        widest = max(
            (table_width(t) for t in self.tables() if not t.isHidden()), default=0
        )
        return max(widest, 240) + margins.left() + margins.right() + scrollbar + 8

    def inspection(self) -> ConvInspection | PoolInspection | None:
        return self._inspection

    def show_inspection(self, inspection: ConvInspection | PoolInspection) -> None:
        self._inspection = inspection
        conv = inspection.conv if isinstance(inspection, PoolInspection) else inspection
        channels = conv.window.shape[0]
        names = CHANNEL_NAMES.get(channels, [str(c) for c in range(channels)])
        previous = self.channel.currentIndex()
        self.channel.blockSignals(True)
        self.channel.clear()
        self.channel.addItems([f"{n} (channel {c})" for c, n in enumerate(names)])
        self.channel.setCurrentIndex(previous if 0 <= previous < channels else 0)
        self.channel.blockSignals(False)
        self.channel.setVisible(channels > 1)
        self.channel_label.setVisible(channels > 1)
        self._show_view(conv)
        self._show_tables(conv)
        self._show_summary(conv)
        self._show_pool(inspection if isinstance(inspection, PoolInspection) else None)

    def table_values(self, which: str) -> np.ndarray:
        """The numbers a table shows, parsed back (tests read what the user reads)."""
        table = {
            "inputs": self.inputs,
            "weights": self.weights,
            "products": self.products,
            "pool": self.pool_table,
        }[which]
        out = np.full((table.rowCount(), table.columnCount()), np.nan)
        for r in range(table.rowCount()):
            for c in range(table.columnCount()):
                text = table.item(r, c).text()
                if text != "pad":
                    out[r, c] = float(text)
        return out

    # -- internals -----------------------------------------------------------------
    def _on_pool_table_cell_clicked(self, r: int, c: int) -> None:
        ins = self._inspection
        if not isinstance(ins, PoolInspection) or ins.padded_mask[r, c]:
            return
        self.pool_cell_clicked.emit(int(ins.rows[r]), int(ins.cols[c]))

    def _on_channel_changed(self, _index: int) -> None:
        if self._inspection is not None:
            conv = (
                self._inspection.conv
                if isinstance(self._inspection, PoolInspection)
                else self._inspection
            )
            self._show_tables(conv)

    def _show_view(self, ins: ConvInspection) -> None:
        self.padded_image.setImage(
            image_rgb(np.nan_to_num(ins.padded), self._colormap),
            levels=(0, 255),
            autoLevels=False,
        )
        top, bottom, left, right = ins.pads
        hp, wp = ins.padded.shape[1:]
        self.bounds.setRect(QRectF(left, top, wp - left - right, hp - top - bottom))
        for item in self._cell_items:
            self.view.removeItem(item)
        self._cell_items = []
        y0, x0 = ins.origin
        dh, dw = ins.step
        kh, kw = ins.weight.shape[1:]
        pen = QPen(QColor("#ffd54f"))
        pen.setCosmetic(True)
        pen.setWidthF(2.0)
        pad_fill = QBrush(QColor(255, 82, 82, 110))
        if kh * kw <= 400:
            for ky in range(kh):
                for kx in range(kw):
                    cell = QGraphicsRectItem(QRectF(x0 + kx * dw, y0 + ky * dh, 1, 1))
                    cell.setPen(pen)
                    if ins.padded_mask[ky, kx]:
                        cell.setBrush(pad_fill)
                    cell.setZValue(10)
                    self.view.addItem(cell)
                    self._cell_items.append(cell)
        span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
        margin = max(3, span_h // 2, span_w // 2)
        self.view.setRange(
            QRectF(x0 - margin, y0 - margin, span_w + 2 * margin, span_h + 2 * margin),
            padding=0,
        )
        n_pad = int(ins.padded_mask.sum())
        pad_text = (
            f"{n_pad} of the {kh * kw} cells lie in the {ins.padding_mode} padding "
            "(red); dashed: the image's border."
            if n_pad
            else "The window lies inside the image (dashed: the image's border)."
        )
        self.view_caption.setText(
            f"Padded input (padding top {top}, bottom {bottom}, left {left}, right "
            f"{right}); yellow: the {kh}×{kw} window"
            + (f" with dilation {dh}×{dw}" if (dh, dw) != (1, 1) else "")
            + f" at padded row {y0}, col {x0}. {pad_text}"
        )

    def _pad_tips(self, ins: ConvInspection) -> np.ndarray:
        kh, kw = ins.padded_mask.shape
        tips = np.empty((kh, kw), dtype=object)
        for r in range(kh):
            for c in range(kw):
                sr, sc = int(ins.source_rows[r]), int(ins.source_cols[c])
                if ins.padding_mode == "zeros" or sr < 0 or sc < 0:
                    tips[r, c] = "padding: a constant zero"
                else:
                    tips[r, c] = (
                        f"padding ({ins.padding_mode}): a copy of input row {sr}, col "
                        f"{sc}"
                    )
        return tips

    def _show_tables(self, ins: ConvInspection) -> None:
        c = max(self.channel.currentIndex(), 0)
        rows = [f"{int(r)}" if r >= 0 else "pad" for r in ins.source_rows]
        cols = [f"{int(x)}" if x >= 0 else "pad" for x in ins.source_cols]
        tips = self._pad_tips(ins)
        fill_table(
            self.inputs,
            ins.window[c],
            row_labels=rows,
            col_labels=cols,
            padded=ins.padded_mask,
            pad_tips=tips,
        )
        fill_table(self.weights, ins.weight[c])
        fill_table(
            self.products, ins.products[c], padded=ins.padded_mask, pad_tips=tips
        )
        for table in (self.inputs, self.weights, self.products):
            self._style_table(table)
        self.inputs.setToolTip(
            "Row/column headers: the input row/column each cell reads "
            "('pad' for a constant zero)."
        )

    def _show_summary(self, ins: ConvInspection) -> None:
        channels = ins.window.shape[0]
        names = CHANNEL_NAMES.get(channels, [str(c) for c in range(channels)])
        kh, kw = ins.weight.shape[1:]
        self.title.setText(
            f"Filter {ins.filter_index + 1} “{html.escape(ins.name)}”, conv pixel "
            f"(row {ins.row}, col {ins.col})"
        )
        per_channel = ""
        if channels > 1:
            per_channel = " = " + " + ".join(
                f"{fmt(s)} <span style='color:gray'>({n})</span>"
                for s, n in zip(ins.channel_sums, names, strict=True)
            )
        z = ins.total + ins.bias
        agrees = abs(z - ins.pre_activation) <= 1e-4 * max(1.0, abs(z))
        check = (
            "✓ the same, up to float32 rounding"
            if agrees
            else "✗ differs — please report this"
        )
        act_name = ACTIVATIONS[ins.activation].split("  ")[0]
        lines = [
            f"<b>Σ x·w</b> over {channels}×{kh}×{kw} = {channels * kh * kw} products"
            f"{per_channel} = <b>{fmt(ins.total, 6)}</b>",
            f"+ bias {fmt(ins.bias)} → <b>z = {fmt(z, 6)}</b>",
            f"The convolution map shows <b>{fmt(ins.pre_activation, 6)}</b> ({check}).",
            f"<b>{html.escape(act_name)}</b>: {html.escape(ins.activation_formula)} = "
            f"<b>{fmt(ins.activated, 6)}</b> (the activation map's value)",
        ]
        self.summary.setText(
            "<p style='line-height:140%'>" + "<br>".join(lines) + "</p>"
        )

    def _show_pool(self, ins: PoolInspection | None) -> None:
        if ins is None:
            self.pool_label.hide()
            self.pool_table.hide()
            return
        pkh, pkw = ins.values.shape
        r0, c0 = int(ins.rows[0]), int(ins.cols[0])
        where = (
            f"activation rows {r0}…{int(ins.rows[-1])}, cols {c0}…{int(ins.cols[-1])}"
        )
        cr, cc = ins.conv_cell
        if ins.kind == "max":
            wr, wc = ins.winner  # type: ignore[misc]
            text = (
                f"<b>Max pool</b> {pkh}×{pkw} window over {where}: the winner is "
                f"<b>row {wr}, col {wc}</b> = <b>{fmt(ins.recomputed, 6)}</b> "
                "(from max_pool2d's indices; the pooled map shows "
                f"{fmt(ins.value, 6)})."
            )
            highlight = (wr - r0, wc - c0)
            which = "the winner's" if (cr, cc) == (wr, wc) else f"cell ({cr}, {cc})'s"
        else:
            total = float(np.nansum(ins.values))
            text = (
                f"<b>Average pool</b> {pkh}×{pkw} window over {where}: sum "
                f"{fmt(total, 6)} / {ins.divisor} = <b>{fmt(ins.recomputed, 6)}</b> "
                f"(the pooled map shows {fmt(ins.value, 6)})."
            )
            highlight = None
            which = f"cell ({cr}, {cc})'s"
        text += (
            f" The convolution above is {which}: click a cell of the table to see "
            "another's."
        )
        self.title.setText(
            f"{self.title.text()}<br><span style='font-weight:normal'>→ pooled pixel "
            f"(row {ins.row}, col {ins.col})</span>"
        )
        self.pool_label.setText(text)
        fill_table(
            self.pool_table,
            ins.values,
            row_labels=[str(int(r)) if r >= 0 else "pad" for r in ins.rows],
            col_labels=[str(int(c)) if c >= 0 else "pad" for c in ins.cols],
            padded=ins.padded_mask,
            highlight=highlight,
        )
        self._style_table(self.pool_table)
        explained = self.pool_table.item(cr - r0, cc - c0)
        if explained is not None and (cr - r0, cc - c0) != highlight:
            explained.setBackground(QBrush(EXPLAINED_BG))
            explained.setToolTip("the cell whose convolution is shown above")
        self.pool_label.show()
        self.pool_table.show()
