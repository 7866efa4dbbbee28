"""Live training curves: loss and accuracy per step (raw, faint, behind their smoothed
curve) with validation at each evaluation, a smoothing slider, the last runs overlaid
for comparison and exports (PNG, SVG, CSV).

The data is a headless :class:`~convlab.train.history.RunHistory`; this view draws it.
The open run (the model being trained) is drawn in full in its colour; the other kept
runs as their smoothed curves and validation points, each in its own colour, shown or
hidden from the list under the plots.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import (
    QBuffer,
    QIODevice,
    QPointF,
    QRectF,
    QSize,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QFontMetrics, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from convlab._files import atomic_write
from convlab.train.history import (
    DEFAULT_KEEP,
    DEFAULT_SMOOTHING,
    MAX_SMOOTHING,
    RunHistory,
    RunRecord,
)

__all__ = [
    "CURVE_FORMATS",
    "CurvesView",
    "GrowingSeries",
    "image_png_bytes",
    "style_axes",
]

_FONT_PT = 11
#: what :meth:`CurvesView.export` writes, by file suffix
CURVE_FORMATS = (".png", ".svg", ".csv")
#: the exported PNG's width in pixels (the height keeps the plots' aspect)
EXPORT_WIDTH = 1600


class GrowingSeries:
    """x/y buffers preallocated and doubled when full; ``view()`` is the filled part."""

    def __init__(self, capacity: int = 4096) -> None:
        self.x = np.empty(capacity, np.float64)
        self.y = np.empty(capacity, np.float64)
        self.n = 0

    def reserve(self, capacity: int) -> None:
        if capacity > len(self.x):
            for name in ("x", "y"):
                old = getattr(self, name)
                new = np.empty(capacity, np.float64)
                new[: self.n] = old[: self.n]
                setattr(self, name, new)

    def append(self, x: float, y: float) -> None:
        if self.n == len(self.x):
            self.reserve(2 * len(self.x))
        self.x[self.n] = x
        self.y[self.n] = y
        self.n += 1

    def clear(self) -> None:
        self.n = 0

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[: self.n], self.y[: self.n]


class _Series:
    """A read-only (x, y) pair with GrowingSeries's ``n`` and ``view()``."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y, self.n = x, y, len(x)

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x, self.y


_EMPTY = np.empty(0, np.float64)

#: light text on the plots' dark background (pyqtgraph's default grey was too dark
#: to read on a projector)
TEXT_COLOR = "#e6e6e6"
AXIS_COLOR = "#b4b4b4"
BACKGROUND = (25, 25, 32)


def plot_points(points: float, ui_scale: float) -> float:
    """A plot's text size for the UI scale: ``points`` at 1, growing a little less
    than the widgets' text (at 2, presentation view, 1.6 times: the axes keep room
    for the curves on a 1280x720 projector)."""
    return points * (1.0 + 0.6 * (float(ui_scale) - 1.0))


def style_axes(
    plot: pg.PlotItem, labels: dict[str, str], size: float = _FONT_PT
) -> None:
    """Readable axes: light labels and tick numbers of ``size`` points."""
    font = pg.QtGui.QFont()
    font.setPointSizeF(size)
    for side, text in labels.items():
        axis = plot.getAxis(side)
        axis.setPen(pg.mkPen(AXIS_COLOR))
        axis.setTextPen(pg.mkPen(TEXT_COLOR))
        axis.setLabel(text, color=TEXT_COLOR, **{"font-size": f"{size:.3g}pt"})
        axis.setTickFont(font)
        # Keep the painted axis (its labels and grid lines) as a pixmap: every curve
        # update repaints the region under the grid, and replaying the axis's drawing
        # there took ~3 ms a time, half the GUI thread while training (LeNet-5, two
        # bundled epochs: 4.2-5.1 s -> 3.3-3.9 s; axis painting 1.2 -> 0.2 s). The
        # cache is redrawn only when the axis itself changes (a new range).
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def _style_plot(
    plot: pg.PlotItem, title: str, left: str, bottom: str, ui_scale: float = 1.0
) -> None:
    size = plot_points(_FONT_PT, ui_scale)
    plot.setTitle(title, size=f"{size + 2:.3g}pt", color=TEXT_COLOR)
    style_axes(plot, {"left": left, "bottom": bottom}, size)
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setMenuEnabled(False)


def image_png_bytes(image) -> bytes:
    """A QImage or QPixmap as PNG file bytes."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError("Qt could not encode the image as PNG")
    return bytes(buffer.data())


def write_file(path: str | os.PathLike[str], data: bytes) -> None:
    """``data`` into ``path`` through :func:`atomic_write`: all or nothing."""
    with atomic_write(path) as handle:
        handle.write(data)


def _faint(colour: tuple[int, int, int]) -> tuple[int, int, int, int]:
    return (*colour, 80)


class _RunItems:
    """The plot items of one overlaid (not open) run: smoothed loss and accuracy, and
    validation points joined by a dashed line."""

    def __init__(self, loss_plot: pg.PlotItem, acc_plot: pg.PlotItem) -> None:
        self.loss = loss_plot.plot()
        self.acc = acc_plot.plot()
        self.val_loss = loss_plot.plot()
        self.val_acc = acc_plot.plot()
        self.plots = (loss_plot, acc_plot, loss_plot, acc_plot)

    @property
    def items(self) -> tuple[pg.PlotDataItem, ...]:
        return (self.loss, self.acc, self.val_loss, self.val_acc)

    def style(self, colour: tuple[int, int, int]) -> None:
        for item in (self.loss, self.acc):
            item.setPen(pg.mkPen(colour, width=2))
        for item in (self.val_loss, self.val_acc):
            item.setPen(pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine))
            item.setSymbol("s")
            item.setSymbolSize(7)
            item.setSymbolBrush(colour)
            item.setSymbolPen(None)

    def remove(self) -> None:
        for plot, item in zip(self.plots, self.items, strict=True):
            plot.removeItem(item)


class _Hover:
    """A vertical line and a read-out, under the mouse, of the nearest point of each
    curve (``lines()`` gives them as ``(label, x, y, step)`` series)."""

    def __init__(self, plot: pg.PlotItem, lines, fmt: str, top: bool = True) -> None:
        """``top``: the read-out hangs from the plot's top edge, else stands on its
        bottom edge (the side away from the plot's legend)."""
        self.plot, self.lines, self.fmt, self.top = plot, lines, fmt, top
        self.line = pg.InfiniteLine(
            angle=90, movable=False, pen=pg.mkPen((200, 200, 200, 120), width=1)
        )
        self.text = pg.TextItem(
            anchor=(0, 0), color=(230, 230, 230), fill=pg.mkBrush(30, 30, 40, 210)
        )
        self.set_point_size(_FONT_PT)
        for item in (self.line, self.text):
            item.setZValue(100)
            plot.addItem(item, ignoreBounds=True)
            item.hide()

    def set_point_size(self, size: float) -> None:
        font = pg.QtGui.QFont()
        font.setPointSizeF(size)
        self.text.setFont(font)

    def move(self, scene_pos: QPointF) -> None:
        vb = self.plot.vb
        if not self.plot.sceneBoundingRect().contains(scene_pos):
            self.hide()
            return
        point = vb.mapSceneToView(scene_pos)
        lines = []
        best_x = best_step = None
        for label, xs, ys, steps, colour in self.lines():
            if len(xs) == 0:
                continue
            i = int(np.clip(np.searchsorted(xs, point.x()), 0, len(xs) - 1))
            if i > 0 and abs(xs[i - 1] - point.x()) < abs(xs[i] - point.x()):
                i -= 1
            if best_x is None:
                best_x = xs[i]
                best_step = None if steps is None else int(steps[i])
            name = html.escape(label)
            if colour is not None:  # a kept run: its name in its colour
                name = f'<span style="color: #{bytes(colour).hex()}">{name}</span>'
            lines.append(f"{name}: {self.fmt.format(ys[i])}")
        if best_x is None:
            self.hide()
            return
        step = "" if best_step is None else f" · step {best_step}"
        lines.insert(0, f"epoch {best_x:.2f}{step}")
        self.line.setPos(best_x)
        self.text.setHtml("<br>".join(lines))
        (x0, x1), (y0, y1) = vb.viewRange()
        # keep the read-out inside the plot: flip to the left half past the middle
        anchor_x = 1 if point.x() > (x0 + x1) / 2 else 0
        self.text.setAnchor((anchor_x, 0 if self.top else 1))
        self.text.setPos(point.x(), y1 if self.top else y0)
        self.line.show()
        self.text.show()

    def hide(self) -> None:
        self.line.hide()
        self.text.hide()


def _swatch(colour: tuple[int, int, int], size: int = 14) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(*colour))
    return QIcon(pixmap)


class CurvesView(QWidget):
    """Loss and accuracy against epochs, every step of the open run and the kept runs
    for comparison. ``begin_run(label)`` at each Start, ``add_step``/``add_epoch`` as
    events arrive, ``end_run()`` when the model changes; ``refresh`` pushes the data to
    the plot items (the owner calls it at most ~30 times a second).

    Signals
    -------
    export_requested(str)
        The user asked to export the curves: ``"png"``, ``"svg"`` or ``"csv"``.
    runs_changed()
        A run was begun, ended, removed, shown or hidden.
    """

    export_requested = Signal(str)
    runs_changed = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        smoothing: float = DEFAULT_SMOOTHING,
        keep: int = DEFAULT_KEEP,
    ) -> None:
        super().__init__(parent)
        self.history = RunHistory(keep)
        self.smoothing = float(smoothing)
        self._label = "run"
        self._dirty = False
        self._overlays: dict[int, _RunItems] = {}
        self._x_span = 1.0

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(BACKGROUND)
        self.loss_plot = self.graphics.addPlot(row=0, col=0)
        self.acc_plot = self.graphics.addPlot(row=0, col=1)
        _style_plot(self.loss_plot, "Loss", "cross-entropy", "epoch")
        _style_plot(self.acc_plot, "Accuracy", "accuracy", "epoch")
        self.acc_plot.setYRange(0, 1, padding=0.02)
        self.acc_plot.getViewBox().setLimits(yMin=-0.05, yMax=1.05)
        for plot, corner in ((self.loss_plot, (-10, 10)), (self.acc_plot, (-10, -10))):
            plot.addLegend(
                offset=corner,
                labelTextSize=f"{_FONT_PT - 2}pt",
                verSpacing=-6,
                labelTextColor=TEXT_COLOR,
                brush=pg.mkBrush(30, 30, 40, 180),
            )
        # the open run: raw steps faint behind the smoothed curve, validation points
        self.raw_item = self.loss_plot.plot(name="each step")
        self.smooth_item = self.loss_plot.plot(name="smoothed")
        self.val_loss_item = self.loss_plot.plot(name="validation")
        self.acc_raw_item = self.acc_plot.plot(name="each step")
        self.acc_smooth_item = self.acc_plot.plot(name="smoothed")
        self.val_acc_item = self.acc_plot.plot(name="validation")
        for item in (self.raw_item, self.acc_raw_item):
            item.setZValue(-1)
        for item in (self.smooth_item, self.acc_smooth_item):
            item.setZValue(2)
        for item in (self.val_loss_item, self.val_acc_item):
            item.setZValue(3)
        self._style_focus(RunRecord(1, "").colour)

        self._hovers = [
            _Hover(
                self.loss_plot,
                lambda: self._hover_lines("loss"),
                "{:.4f}",
                top=False,  # the legend is in the top-right corner
            ),
            _Hover(
                self.acc_plot,
                lambda: self._hover_lines("accuracy"),
                "{:.2%}",
                top=True,  # the legend is in the bottom-right corner
            ),
        ]
        self.graphics.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)

        # -- the row above the plots: smoothing and export
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, round(MAX_SMOOTHING * 100))
        self.smoothing_slider.setValue(round(self.smoothing * 100))
        self.smoothing_slider.setMaximumWidth(180)
        self.smoothing_slider.setToolTip(
            "Smoothing of the step curves, as TensorBoard's: each point is a moving "
            "average weighting the previous average by this much (0: raw). The raw "
            "steps stay faint behind."
        )
        self.smoothing_slider.valueChanged.connect(self._on_smoothing_slider_changed)
        self.smoothing_label = QLabel(f"{self.smoothing:.2f}")
        self.smoothing_label.setMinimumWidth(32)
        self.export_button = QToolButton()
        self.export_button.setText("Export curves")
        self.export_button.setToolTip(
            "Save the curves as a PNG image or SVG drawing, or every kept run's "
            "steps as CSV"
        )
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        for fmt, text in (
            ("png", "As PNG image..."),
            ("svg", "As SVG drawing..."),
            ("csv", "Steps as CSV table..."),
        ):
            menu.addAction(text).triggered.connect(
                lambda _checked=False, f=fmt: self.export_requested.emit(f)
            )
        self.export_button.setMenu(menu)
        self.note = QLabel("")  # the last export's result
        self.note.setWordWrap(False)
        top = QHBoxLayout()
        top.setContentsMargins(4, 0, 4, 0)
        top.addWidget(QLabel("Smoothing"))
        top.addWidget(self.smoothing_slider)
        top.addWidget(self.smoothing_label)
        top.addWidget(self.note, 1)
        top.addWidget(self.export_button)

        # -- the row under the plots: the kept runs
        self.runs_list = QListWidget()
        self.runs_list.setFlow(QListView.Flow.LeftToRight)
        self.runs_list.setWrapping(True)
        self.runs_list.setResizeMode(QListView.ResizeMode.Adjust)
        self.runs_list.setIconSize(QSize(14, 14))
        self.runs_list.setSpacing(1)
        self.runs_list.setToolTip(
            f"The last {keep} runs (a run: one model from fresh weights, over all its "
            "Starts). Tick to overlay a run on the curves; select and Remove to forget "
            "it."
        )
        self._fit_runs_height()
        self.runs_list.itemChanged.connect(self._on_runs_list_item_changed)
        self.runs_list.itemSelectionChanged.connect(self._on_runs_selection_changed)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Forget the selected run")
        self.remove_button.setEnabled(False)
        self.remove_button.clicked.connect(self.remove_selected)
        runs_title = QLabel("Runs")
        runs_title.setStyleSheet("font-weight: bold;")
        runs = QHBoxLayout()
        runs.setContentsMargins(4, 0, 4, 0)
        runs.addWidget(runs_title)
        runs.addWidget(self.runs_list, 1)
        self.runs_hint = QLabel(
            "Each Start trains the current run; Reset weights, a preset, an edit or "
            "an opened model begin the next. The last runs stay here to compare."
        )
        self.runs_hint.setWordWrap(True)
        self.runs_hint.setStyleSheet("color: palette(mid);")
        runs.addWidget(self.runs_hint, 1)
        runs.addWidget(self.remove_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.graphics, 1)
        layout.addLayout(runs)
        self._sync_runs()

    # -- runs --------------------------------------------------------------------------
    def begin_run(self, label: str) -> RunRecord:
        """A Start: continue the open run or open a new one labelled ``label``."""
        self._label = label
        opened = self.history.current is None
        run = self.history.begin(label)
        if opened:
            self._style_focus(run.colour)
        self._sync_runs()
        return run

    def end_run(self) -> None:
        """The model changed: the open run joins the overlay (if it has steps)."""
        self.history.end()
        self._sync_runs()

    def clear(self) -> None:
        """A new model: the open run ends (kept for comparison), nothing is open."""
        self.end_run()

    def remove_run(self, run_id: int) -> None:
        self.history.remove(run_id)
        self._sync_runs()

    @Slot()
    def remove_selected(self) -> None:
        for item in self.runs_list.selectedItems():
            self.history.remove(int(item.data(Qt.ItemDataRole.UserRole)))
        self._sync_runs()

    def set_run_visible(self, run_id: int, visible: bool) -> None:
        self.history.set_visible(run_id, visible)
        self._sync_runs()

    def _sync_runs(self) -> None:
        """Plot items and list entries follow the history's runs."""
        current = self.history.current
        kept = {r.run_id: r for r in self.history.runs if r is not current}
        for run_id in list(self._overlays):
            if run_id not in kept:
                self._overlays.pop(run_id).remove()
        for run_id, run in kept.items():
            if run_id not in self._overlays:
                items = _RunItems(self.loss_plot, self.acc_plot)
                items.style(run.colour)
                self._overlays[run_id] = items
        with contextlib.ExitStack() as stack:
            stack.callback(self.runs_list.blockSignals, False)
            self.runs_list.blockSignals(True)
            self.runs_list.clear()
            for run in reversed(self.history.runs):  # newest first
                text = run.label + (" (this model)" if run is current else "")
                item = QListWidgetItem(_swatch(run.colour), text)
                item.setData(Qt.ItemDataRole.UserRole, run.run_id)
                item.setFlags(
                    Qt.ItemFlag.ItemIsEnabled
                    | Qt.ItemFlag.ItemIsSelectable
                    | Qt.ItemFlag.ItemIsUserCheckable
                )
                item.setCheckState(
                    Qt.CheckState.Checked if run.visible else Qt.CheckState.Unchecked
                )
                item.setToolTip(run.label)
                self.runs_list.addItem(item)
        self.remove_button.setEnabled(False)
        self._fit_runs_height()
        empty = not self.history.runs
        self.runs_list.setVisible(not empty)
        self.runs_hint.setVisible(empty)
        self._dirty = True
        self.refresh()
        self.runs_changed.emit()

    def _fit_runs_height(self) -> None:
        """The kept runs' list as high as its rows (1 to 3; it scrolls past them):
        three empty rows took 40 px from the plots at 2x in 1280x720."""
        rows = min(3, max(1, len(self.history.runs)))
        line = QFontMetrics(QApplication.font()).height() + 4
        self.runs_list.setMaximumHeight(rows * line + 8)

    def set_ui_scale(self, scale: float) -> None:
        """Titles, axes, legends and the hover read-out follow the UI scale (the
        presentation view's 2x), as the widgets' text does."""
        self._fit_runs_height()
        size = plot_points(_FONT_PT, scale)
        for plot, title in ((self.loss_plot, "Loss"), (self.acc_plot, "Accuracy")):
            left = plot.getAxis("left").labelText
            bottom = plot.getAxis("bottom").labelText
            _style_plot(plot, title, left, bottom, scale)
            # the legend grows less: it sits on the curves
            legend_size = f"{plot_points(_FONT_PT - 2, min(scale, 1.5)):.3g}pt"
            plot.legend.setLabelTextSize(legend_size)  # for the labels added later
            for _sample, label in plot.legend.items:  # setAttr alone redraws none
                label.setText(label.text, size=legend_size)
        for hover in self._hovers:
            hover.set_point_size(size)

    def _style_focus(self, colour: tuple[int, int, int]) -> None:
        self.raw_item.setPen(pg.mkPen(_faint(colour), width=1))
        self.acc_raw_item.setPen(pg.mkPen(_faint(colour), width=1))
        self.smooth_item.setPen(pg.mkPen(colour, width=3))
        self.acc_smooth_item.setPen(pg.mkPen(colour, width=3))
        for item in (self.val_loss_item, self.val_acc_item):
            item.setPen(pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine))
            item.setSymbol("s")
            item.setSymbolSize(9)
            item.setSymbolBrush(colour)
            item.setSymbolPen(pg.mkPen("w", width=1))

    @Slot(QListWidgetItem)
    def _on_runs_list_item_changed(self, item: QListWidgetItem) -> None:
        run_id = int(item.data(Qt.ItemDataRole.UserRole))
        self.history.set_visible(run_id, item.checkState() == Qt.CheckState.Checked)
        self._dirty = True
        self.refresh()
        self.runs_changed.emit()

    @Slot()
    def _on_runs_selection_changed(self) -> None:
        self.remove_button.setEnabled(bool(self.runs_list.selectedItems()))

    # -- smoothing ---------------------------------------------------------------------
    def set_smoothing(self, weight: float) -> None:
        """TensorBoard-style smoothing weight in [0, 0.99] for the step curves."""
        w = float(weight)
        if not 0.0 <= w <= MAX_SMOOTHING:
            raise ValueError(
                f"`weight` must be in [0, {MAX_SMOOTHING}]. Received: weight={weight!r}"
            )
        self.smoothing = w
        with contextlib.ExitStack() as stack:
            stack.callback(self.smoothing_slider.blockSignals, False)
            self.smoothing_slider.blockSignals(True)
            self.smoothing_slider.setValue(round(w * 100))
        self.smoothing_label.setText(f"{w:.2f}")
        self._dirty = True
        self.refresh()

    @Slot(int)
    def _on_smoothing_slider_changed(self, value: int) -> None:
        self.set_smoothing(value / 100.0)

    def set_epoch_span(self, epochs: int) -> None:
        """Fix the x axes to 0..epochs (or the longest kept run), so the curves grow
        into a still frame."""
        self._x_span = float(max(epochs, 1))
        self._apply_x_span()

    def _apply_x_span(self) -> None:
        longest = max(
            (float(r.column("x")[-1]) for r in self.history.runs if r.n_steps),
            default=0.0,
        )
        span = max(self._x_span, np.ceil(longest))
        for plot in (self.loss_plot, self.acc_plot):
            plot.setXRange(0, span + 0.08, padding=0.02)

    # -- data --------------------------------------------------------------------------
    def _open_run(self) -> RunRecord:
        run = self.history.current
        if run is None:  # steps without a Start (a test, a removed open run)
            run = self.begin_run(self._label)
        return run

    def reserve_steps(self, n: int) -> None:
        self._open_run().reserve(n)

    def add_step(self, epoch_x: float, loss: float, accuracy: float = np.nan) -> None:
        """A step of the open run: its batch loss and accuracy at ``epoch_x``."""
        self._open_run().add_step(epoch_x, loss, accuracy)
        self._dirty = True

    def add_epoch(
        self,
        epoch_x: float,
        accuracy: float,
        val_accuracy: float | None,
        val_loss: float | None,
        loss: float = np.nan,
        epoch: int | None = None,
    ) -> None:
        """An epoch of the open run ended at ``epoch_x``: its training means and
        validation metrics (None without a validation split)."""
        run = self._open_run()
        number = len(run.epochs) + 1 if epoch is None else epoch
        run.add_epoch(epoch_x, number, loss, accuracy, val_loss, val_accuracy)
        self._dirty = True

    @property
    def loss_raw(self) -> _Series:
        """The open run's loss per step (``.n``, ``.view()``)."""
        run = self.history.current
        if run is None:
            return _Series(_EMPTY, _EMPTY)
        return _Series(run.column("x"), run.column("loss"))

    @property
    def loss_smooth(self) -> _Series:
        run = self.history.current
        if run is None:
            return _Series(_EMPTY, _EMPTY)
        return _Series(run.column("x"), run.smoothed("loss", self.smoothing))

    @property
    def train_acc_item(self) -> pg.PlotDataItem:
        """The open run's smoothed training accuracy (per step)."""
        return self.acc_smooth_item

    @property
    def hovers(self) -> list[_Hover]:
        """The hover read-outs: the loss plot's, then the accuracy plot's."""
        return list(self._hovers)

    def _hover_lines(self, name: str):
        """(label, x, y, steps, colour) for the hover: the open run's step, smoothed
        and validation values, then each shown kept run's smoothed value (with its
        colour; finite values only)."""
        out = []
        current = self.history.current
        val_index = 1 if name == "loss" else 2
        raw_label = "loss" if name == "loss" else "training"
        if current is not None and current.visible:
            x, steps = current.column("x"), current.column("step")
            out.append((raw_label, x, current.column(name), steps, None))
            smoothed = current.smoothed(name, self.smoothing)
            out.append(("smoothed", x, smoothed, steps, None))
            val = current.validation()
            out.append(("validation", val[0], val[val_index], None, None))
        for run in reversed(self.history.runs):
            if run is current or not run.visible:
                continue
            out.append(
                (
                    f"run {run.run_id}",
                    run.column("x"),
                    run.smoothed(name, self.smoothing),
                    run.column("step"),
                    run.colour,
                )
            )
        finite = []
        for label, x, y, steps, colour in out:
            ok = np.isfinite(y)
            steps = None if steps is None else steps[ok]
            finite.append((label, x[ok], y[ok], steps, colour))
        return finite

    def refresh(self) -> None:
        """Push the runs to the plot items, if anything changed since the last
        call."""
        if not self._dirty:
            return
        self._dirty = False
        w = self.smoothing
        current = self.history.current
        focus = (
            (self.raw_item, self.smooth_item, self.val_loss_item),
            (self.acc_raw_item, self.acc_smooth_item, self.val_acc_item),
        )
        if current is not None and current.visible:
            x = current.column("x")
            vx, vloss, vacc = current.validation()
            for (raw, smoothed, val), name, vy in zip(
                focus, ("loss", "accuracy"), (vloss, vacc), strict=True
            ):
                y = current.column(name)
                ok = np.isfinite(y)
                raw.setData(x[ok], y[ok])
                smoothed.setData(x[ok], current.smoothed(name, w)[ok])
                val.setData(vx, vy)
        else:
            for group in focus:
                for item in group:
                    item.setData(_EMPTY, _EMPTY)
        for run in self.history.runs:
            items = self._overlays.get(run.run_id)
            if items is None:
                continue
            for item in items.items:
                item.setVisible(run.visible)
            if not run.visible:
                continue
            x = run.column("x")
            vx, vloss, vacc = run.validation()
            for item, name in ((items.loss, "loss"), (items.acc, "accuracy")):
                y = run.smoothed(name, w)
                ok = np.isfinite(y)
                item.setData(x[ok], y[ok])
            items.val_loss.setData(vx, vloss)
            items.val_acc.setData(vx, vacc)

    @Slot(object)
    def _on_scene_mouse_moved(self, pos: QPointF) -> None:
        for hover in self._hovers:
            hover.move(pos)

    def leaveEvent(self, event) -> None:
        for hover in self._hovers:
            hover.hide()
        super().leaveEvent(event)

    # -- export ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _export_legend(self) -> Iterator[None]:
        """For an exported figure: no hover, and the loss legend names every shown
        run by its colour (on screen the list under the plots does)."""
        for hover in self._hovers:
            hover.hide()
        self.refresh()
        legend = self.loss_plot.legend
        added = []
        current = self.history.current
        for run in self.history.runs:
            if not run.visible:
                continue
            item = (
                self.smooth_item
                if run is current
                else self._overlays[run.run_id].loss
                if run.run_id in self._overlays
                else None
            )
            if item is None:
                continue
            sample = pg.PlotDataItem(pen=item.opts["pen"])
            legend.addItem(sample, run.label)
            added.append(sample)
        try:
            yield
        finally:
            for sample in added:
                legend.removeItem(sample)

    def render_png(self, width: int = EXPORT_WIDTH) -> bytes:
        """Both plots as PNG bytes, ``width`` pixels wide."""
        from pyqtgraph.exporters import ImageExporter

        with self._export_legend():
            exporter = ImageExporter(self.graphics.ci)
            exporter.parameters()["width"] = int(width)
            exporter.parameters()["background"] = QColor(*BACKGROUND)
            image = exporter.export(toBytes=True)
        return image_png_bytes(image)

    def render_svg(self) -> bytes:
        """Both plots as an SVG document (UTF-8 bytes): the scene painted into Qt's
        SVG generator, so lines and text stay vector. (pyqtgraph 0.14's own
        SVGExporter failed here on the "Z" that Qt 6 ends a closed path with.)"""
        from PySide6.QtSvg import QSvgGenerator

        with self._export_legend():
            rect = self.graphics.ci.sceneBoundingRect()
            buffer = QBuffer()
            buffer.open(QIODevice.OpenModeFlag.WriteOnly)
            generator = QSvgGenerator()
            generator.setOutputDevice(buffer)
            generator.setSize(QSize(round(rect.width()), round(rect.height())))
            generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
            generator.setTitle("convlab training curves")
            painter = QPainter(generator)
            painter.fillRect(
                QRectF(0, 0, rect.width(), rect.height()), QColor(*BACKGROUND)
            )
            self.graphics.scene().render(
                painter, QRectF(0, 0, rect.width(), rect.height()), rect
            )
            painter.end()
        # items with no points yet paint an empty path, which SVG readers call
        # invalid path data
        return re.sub(rb'<path[^>]*\sd=""\s*/>\s*', b"", bytes(buffer.data()))

    def export(self, path: str | os.PathLike[str]) -> Path:
        """Write the curves to ``path`` by its suffix: ``.png`` (image), ``.svg``
        (drawing) or ``.csv`` (every kept run, one row per step). All or nothing
        (:func:`~convlab._files.atomic_write`).

        Raises
        ------
        ValueError
            Another suffix.
        OSError
            The file cannot be written (:class:`~convlab._files.FileAccessError`
            names it); an existing file is left as it was.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in CURVE_FORMATS:
            raise ValueError(
                f"`path` must end in one of {', '.join(CURVE_FORMATS)}. Received: "
                f"path={str(path)!r}"
            )
        if suffix == ".csv":
            write_file(path, self.history.to_csv().encode("utf-8"))
            return path
        data = self.render_png() if suffix == ".png" else self.render_svg()
        write_file(path, data)
        return path
