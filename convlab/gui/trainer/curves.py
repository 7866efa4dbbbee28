"""Live training curves: loss per step (raw and smoothed) and accuracy per epoch."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Slot
from PySide6.QtWidgets import QGraphicsItem, QVBoxLayout, QWidget

__all__ = ["CurvesView", "GrowingSeries", "style_axes"]

_FONT_PT = 11


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


#: light text on the plots' dark background (pyqtgraph's default grey was too dark
#: to read on a projector)
TEXT_COLOR = "#e6e6e6"
AXIS_COLOR = "#b4b4b4"


def style_axes(plot: pg.PlotItem, labels: dict[str, str], size: int = _FONT_PT) -> None:
    """Readable axes: light labels and tick numbers of ``size`` points."""
    font = pg.QtGui.QFont()
    font.setPointSize(size)
    for side, text in labels.items():
        axis = plot.getAxis(side)
        axis.setPen(pg.mkPen(AXIS_COLOR))
        axis.setTextPen(pg.mkPen(TEXT_COLOR))
        axis.setLabel(text, color=TEXT_COLOR, **{"font-size": f"{size}pt"})
        axis.setTickFont(font)
        # Keep the painted axis (its labels and grid lines) as a pixmap: every curve
        # update repaints the region under the grid, and replaying the axis's drawing
        # there took ~3 ms a time, half the GUI thread while training (LeNet-5, two
        # bundled epochs: 4.2-5.1 s -> 3.3-3.9 s; axis painting 1.2 -> 0.2 s). The
        # cache is redrawn only when the axis itself changes (a new range).
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def _style_plot(plot: pg.PlotItem, title: str, left: str, bottom: str) -> None:
    plot.setTitle(title, size=f"{_FONT_PT + 2}pt", color=TEXT_COLOR)
    style_axes(plot, {"left": left, "bottom": bottom})
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setMenuEnabled(False)


def _marked_line(
    plot: pg.PlotItem, name: str, colour: tuple[int, int, int], symbol: str
) -> pg.PlotDataItem:
    """A 3 px line in ``colour`` with a filled marker of that colour at each point."""
    return plot.plot(
        name=name,
        pen=pg.mkPen(colour, width=3),
        symbol=symbol,
        symbolSize=9,
        symbolBrush=colour,
        symbolPen=None,
    )


class _Hover:
    """A vertical line and a read-out of the nearest point of each curve under the
    mouse."""

    def __init__(
        self,
        plot: pg.PlotItem,
        curves: list[tuple[str, GrowingSeries]],
        fmt: str,
        top: bool = True,
    ) -> None:
        """``top``: the read-out hangs from the plot's top edge, else stands on its
        bottom edge (the side away from the plot's legend)."""
        self.plot, self.curves, self.fmt, self.top = plot, curves, fmt, top
        self.line = pg.InfiniteLine(
            angle=90, movable=False, pen=pg.mkPen((200, 200, 200, 120), width=1)
        )
        self.text = pg.TextItem(
            anchor=(0, 0), color=(230, 230, 230), fill=pg.mkBrush(30, 30, 40, 210)
        )
        font = pg.QtGui.QFont()
        font.setPointSize(_FONT_PT)
        self.text.setFont(font)
        for item in (self.line, self.text):
            item.setZValue(100)
            plot.addItem(item, ignoreBounds=True)
            item.hide()

    def move(self, scene_pos: QPointF) -> None:
        vb = self.plot.vb
        if not self.plot.sceneBoundingRect().contains(scene_pos):
            self.hide()
            return
        point = vb.mapSceneToView(scene_pos)
        lines = []
        best_x = None
        for label, series in self.curves:
            xs, ys = series.view()
            if len(xs) == 0:
                continue
            i = int(np.clip(np.searchsorted(xs, point.x()), 0, len(xs) - 1))
            if i > 0 and abs(xs[i - 1] - point.x()) < abs(xs[i] - point.x()):
                i -= 1
            best_x = xs[i] if best_x is None else best_x
            lines.append(f"{label}: {self.fmt.format(ys[i])}")
        if not lines:
            self.hide()
            return
        lines.insert(0, f"epoch {best_x:.2f}")
        self.line.setPos(best_x)
        self.text.setText("\n".join(lines))
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


class CurvesView(QWidget):
    """Two plots: loss against epochs (every step, and its moving average) and accuracy
    per epoch (training and validation). Call ``add_step``/``add_epoch``; ``refresh``
    pushes the buffers to the plot items (the owner calls it at most ~30 times a
    second)."""

    def __init__(self, parent: QWidget | None = None, smoothing: float = 0.95) -> None:
        super().__init__(parent)
        self.smoothing = smoothing
        self._ema: float | None = None
        self.loss_raw = GrowingSeries()
        self.loss_smooth = GrowingSeries()
        self.acc_train = GrowingSeries(64)
        self.acc_val = GrowingSeries(64)
        self.val_loss = GrowingSeries(64)
        self._dirty = False

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground((25, 25, 32))
        self.loss_plot = self.graphics.addPlot(row=0, col=0)
        self.acc_plot = self.graphics.addPlot(row=0, col=1)
        _style_plot(self.loss_plot, "Loss", "cross-entropy", "epoch")
        _style_plot(self.acc_plot, "Accuracy", "accuracy", "epoch")
        self.acc_plot.setYRange(0, 1, padding=0.02)
        self.acc_plot.getViewBox().setLimits(yMin=-0.05, yMax=1.05)
        for plot, corner in ((self.loss_plot, (-10, 10)), (self.acc_plot, (-10, -10))):
            plot.addLegend(
                offset=corner,
                labelTextSize=f"{_FONT_PT}pt",
                labelTextColor=TEXT_COLOR,
                brush=pg.mkBrush(30, 30, 40, 180),
            )

        self.raw_item = self.loss_plot.plot(
            name="loss (each step)", pen=pg.mkPen((110, 160, 230, 90), width=1)
        )
        self.smooth_item = self.loss_plot.plot(
            name="loss (smoothed)", pen=pg.mkPen((90, 170, 255), width=3)
        )
        self.val_loss_item = self.loss_plot.plot(
            name="validation loss",
            pen=None,
            symbol="o",
            symbolSize=9,
            symbolBrush=(255, 170, 60),
            symbolPen=None,
        )
        acc = self.acc_plot
        self.train_acc_item = _marked_line(acc, "training", (90, 170, 255), "o")
        self.val_acc_item = _marked_line(acc, "validation", (255, 170, 60), "s")

        self._hovers = [
            _Hover(
                self.loss_plot,
                [("loss", self.loss_raw), ("smoothed", self.loss_smooth)],
                "{:.4f}",
                top=False,  # the legend is in the top-right corner
            ),
            _Hover(
                self.acc_plot,
                [("training", self.acc_train), ("validation", self.acc_val)],
                "{:.2%}",
                top=True,  # the legend is in the bottom-right corner
            ),
        ]
        self.graphics.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)

    def set_epoch_span(self, epochs: int) -> None:
        """Fix the x axes to 0..epochs, so the curves grow into a still frame."""
        for plot in (self.loss_plot, self.acc_plot):
            plot.setXRange(0, max(epochs, 1) + 0.08, padding=0.02)

    # -- data --------------------------------------------------------------------------
    def reserve_steps(self, n: int) -> None:
        self.loss_raw.reserve(n)
        self.loss_smooth.reserve(n)

    def add_step(self, epoch_x: float, loss: float) -> None:
        if not np.isfinite(loss):
            return
        self._ema = (
            loss
            if self._ema is None
            else (self.smoothing * self._ema + (1 - self.smoothing) * loss)
        )
        # bias-corrected average would hide the start; the raw curve shows it instead
        self.loss_raw.append(epoch_x, loss)
        self.loss_smooth.append(epoch_x, self._ema)
        self._dirty = True

    def add_epoch(
        self,
        epoch_x: float,
        accuracy: float,
        val_accuracy: float | None,
        val_loss: float | None,
    ) -> None:
        self.acc_train.append(epoch_x, accuracy)
        if val_accuracy is not None and np.isfinite(val_accuracy):
            self.acc_val.append(epoch_x, val_accuracy)
        if val_loss is not None and np.isfinite(val_loss):
            self.val_loss.append(epoch_x, val_loss)
        self._dirty = True

    def clear(self) -> None:
        for series in (
            self.loss_raw,
            self.loss_smooth,
            self.acc_train,
            self.acc_val,
            self.val_loss,
        ):
            series.clear()
        self._ema = None
        self._dirty = True
        self.refresh()

    @Slot()
    @property
    def hovers(self) -> list[_Hover]:
        """The hover read-outs: the loss plot's, then the accuracy plot's."""
        return list(self._hovers)

    def refresh(self) -> None:
        """Push the buffers to the plot items, if anything changed since the last
        call."""
        if not self._dirty:
            return
        self._dirty = False
        self.raw_item.setData(*self.loss_raw.view())
        self.smooth_item.setData(*self.loss_smooth.view())
        self.val_loss_item.setData(*self.val_loss.view())
        self.train_acc_item.setData(*self.acc_train.view())
        self.val_acc_item.setData(*self.acc_val.view())

    @Slot(object)
    def _on_scene_mouse_moved(self, pos: QPointF) -> None:
        for hover in self._hovers:
            hover.move(pos)

    def leaveEvent(self, event) -> None:
        for hover in self._hovers:
            hover.hide()
        super().leaveEvent(event)
