"""The sliding-window animation of the explorer's selected filter.

A thin view over :class:`convlab.lecture.SlidingWindow`: the panel keeps a step index,
asks the window for that step (built on demand, a few small arrays) and hands it to
:class:`~.animation_canvas.StepCanvas`. Geometry, pads, steps and pooling windows are
never re-derived here. Playback is a QTimer on the GUI thread: a step costs well under
a frame.

Keys (while the panel is shown, routed by :class:`AnimationKeys`): Space plays or
pauses, Right/Left step, and PageDown/PageUp as a presenter clicker sends them. At the
last step PageDown is not consumed: the panel emits :attr:`reached_end` and lets the key
go on (a lecture controller can move to the next scene); PageUp at the first step
likewise emits :attr:`reached_start`.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from convlab.lecture import SlidingWindow

from .animation_canvas import StepCanvas

__all__ = ["AnimationPanel", "AnimationKeys", "SPEED_RANGE", "DEFAULT_SPEED"]

#: Steps per second the speed box allows.
SPEED_RANGE = (0.25, 60.0)
DEFAULT_SPEED = 3.0

_FORWARD = (Qt.Key.Key_Right, Qt.Key.Key_PageDown)
_BACK = (Qt.Key.Key_Left, Qt.Key.Key_PageUp)
_KEYS = (*_FORWARD, *_BACK, Qt.Key.Key_Space, Qt.Key.Key_Home, Qt.Key.Key_End)
#: Where Space/Left/Right/Home/End keep their usual meaning (typing, lists, sliders).
_EDITING = (
    QLineEdit,
    QTextEdit,
    QPlainTextEdit,
    QAbstractSpinBox,
    QComboBox,
    QAbstractItemView,
    QAbstractSlider,
)


def _fmt(v: float) -> str:
    return f"{v:.4g}"


class AnimationPanel(QWidget):
    """Play, step and scrub the sliding window of one filter.

    Signals
    -------
    step_changed(int)
        The step on display changed (its index).
    reached_end()
        Forward was asked at the last step (PageDown there is passed on).
    reached_start()
        Back was asked at the first step.
    playing_changed(bool)
        Playback started or stopped.
    close_requested()
        The close button was pressed.
    """

    step_changed = Signal(int)
    reached_end = Signal()
    reached_start = Signal()
    playing_changed = Signal(bool)
    close_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("animation_panel")
        self._result = None
        self._filter_index = 0
        self._window: SlidingWindow | None = None
        self._index = 0
        self._granularity = "position"
        self._ui_scale = 1.0
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._on_timer_timeout)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 2, 4, 2)
        outer.setSpacing(2)
        head = QHBoxLayout()
        self.title = QLabel("Sliding window")
        self.title.setObjectName("animation_title")
        self.title.setSizePolicy(
            QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred
        )
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.first_button = QToolButton()
        self.first_button.setText("|◀")
        self.first_button.setToolTip("First step (Home)")
        self.back_button = QToolButton()
        self.back_button.setText("◀")
        self.back_button.setToolTip("Step back (Left or PageUp)")
        self.play_button = QPushButton("▶ Play")
        self.play_button.setMinimumWidth(
            self.play_button.fontMetrics().horizontalAdvance("⏸ Pause") + 24
        )
        self.play_button.setToolTip("Play / pause (Space)")
        self.forward_button = QToolButton()
        self.forward_button.setText("▶")
        self.forward_button.setToolTip("Step forward (Right or PageDown)")
        self.last_button = QToolButton()
        self.last_button.setText("▶|")
        self.last_button.setToolTip("Last step (End)")
        for b in (
            self.first_button,
            self.back_button,
            self.play_button,
            self.forward_button,
            self.last_button,
        ):
            # buttons must not take Space/arrows away from the animation
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            head.addWidget(b)
        self.speed = QDoubleSpinBox()
        self.speed.setObjectName("animation_speed")
        self.speed.setRange(*SPEED_RANGE)
        self.speed.setDecimals(2)
        self.speed.setSingleStep(0.5)
        self.speed.setValue(DEFAULT_SPEED)
        self.speed.setSuffix(" steps/s")
        self.speed.setToolTip("Playback speed, in steps per second")
        head.addWidget(self.speed)
        self.taps = QCheckBox("per tap")
        self.taps.setToolTip(
            "One step per kernel tap: watch the running sum grow product by product"
        )
        self.taps.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        head.addWidget(self.taps)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Close the animation")
        close.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        head.addWidget(close)
        outer.addLayout(head)

        scrub_row = QHBoxLayout()
        self.scrub = QSlider(Qt.Orientation.Horizontal)
        self.scrub.setObjectName("animation_scrub")
        self.scrub.setToolTip("Drag to any step")
        self.scrub.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        scrub_row.addWidget(self.scrub, 1)
        self.position_label = QLabel()
        self.position_label.setObjectName("animation_position")
        scrub_row.addWidget(self.position_label)
        scrub_row.addWidget(self.title, 1)
        outer.addLayout(scrub_row)

        self.readout = QLabel()
        self.readout.setObjectName("animation_readout")
        self.readout.setWordWrap(True)
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setSizePolicy(
            QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred
        )
        outer.addWidget(self.readout)

        self.canvas = StepCanvas()
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        # the panel wraps to its width: it never asks the window to widen
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # a scroll bar that came and went would change the width, hence the fit,
        # hence the height, hence the scroll bar (a resize loop)
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.scroll.setWidget(self.canvas)
        self.scroll.setMinimumHeight(80)
        outer.addWidget(self.scroll, 1)
        self.setFocusProxy(self.canvas)
        self.scroll.viewport().installEventFilter(self)

        self.first_button.clicked.connect(self.first)
        self.back_button.clicked.connect(self.step_back)
        self.play_button.clicked.connect(self.toggle_play)
        self.forward_button.clicked.connect(self.step_forward)
        self.last_button.clicked.connect(self.last)
        self.speed.valueChanged.connect(self._on_speed_value_changed)
        self.taps.toggled.connect(self._on_taps_toggled)
        self.scrub.valueChanged.connect(self._on_scrub_value_changed)
        self.canvas.map_clicked.connect(self._on_canvas_map_clicked)
        close.clicked.connect(self.close_requested)
        self._show()

    # -- inputs ------------------------------------------------------------------
    def set_result(self, result, filter_index: int | None = None) -> None:  # noqa: ANN001
        """Animate ``result`` (an :class:`~convlab.explore.Result`), keeping the
        output position on display where it still exists."""
        if filter_index is not None:
            self._filter_index = int(filter_index)
        self._result = result
        self._rebuild()

    def set_filter_index(self, index: int) -> None:
        if index == self._filter_index or index < 0:
            return
        self._filter_index = int(index)
        self._rebuild()

    def set_granularity(self, granularity: str) -> None:
        """``"position"`` or ``"tap"`` (the "per tap" box)."""
        self.taps.setChecked(granularity == "tap")

    def set_ui_scale(self, scale: float) -> None:
        self._ui_scale = float(scale)
        font = QApplication.font()
        self.readout.setFont(font)
        title = self.title.font()
        title.setPointSizeF(font.pointSizeF())
        self.title.setFont(title)
        self.canvas.set_ui_scale(scale)

    def _rebuild(self) -> None:
        result = self._result
        old = self._window
        position = None
        if old is not None and len(old):
            step = old[self._index]
            position = (step.oy, step.ox, step.tap or 0)
        if result is None or not result.maps:
            self._window = None
        else:
            index = min(self._filter_index, len(result.maps) - 1)
            self._window = SlidingWindow(result, index, granularity=self._granularity)
        self.canvas.set_window(self._window)
        self._index = 0
        if self._window is not None and position is not None:
            oy, ox, tap = position
            oh, ow = self._window.output_shape
            # a smaller kernel has fewer taps: keep the last one (the fuzz found tap 4
            # of a 2x2 kernel after a 3x3)
            tap = min(tap, self._window.taps - 1) if self._granularity == "tap" else 0
            self._index = self._window.index_of(min(oy, oh - 1), min(ox, ow - 1), tap)
        self._show()

    # -- state -------------------------------------------------------------------
    def sliding_window(self) -> SlidingWindow | None:
        return self._window

    def index(self) -> int:
        return self._index

    def step_count(self) -> int:
        return 0 if self._window is None else len(self._window)

    def current_step(self):  # noqa: ANN201
        """The :class:`~convlab.lecture.Step` on display (None without a result)."""
        return None if self._window is None else self._window[self._index]

    def is_playing(self) -> bool:
        return self._timer.isActive()

    # -- navigation --------------------------------------------------------------
    def go_to(self, index: int) -> None:
        """Show step ``index`` (clipped to the steps)."""
        n = self.step_count()
        if n == 0:
            return
        index = max(0, min(int(index), n - 1))
        if index == self._index and self.scrub.value() == index:
            return
        self._index = index
        self._show()

    def step_forward(self) -> bool:
        """One step on; at the end emit :attr:`reached_end` and return False."""
        if self._index >= self.step_count() - 1:
            self.reached_end.emit()
            return False
        self.go_to(self._index + 1)
        return True

    def step_back(self) -> bool:
        if self._index <= 0:
            self.reached_start.emit()
            return False
        self.go_to(self._index - 1)
        return True

    def first(self) -> None:
        self.go_to(0)

    def last(self) -> None:
        self.go_to(self.step_count() - 1)

    def jump_to_pixel(self, stage: str, row: int, col: int) -> bool:
        """Show the step that writes output pixel (row, col) of ``stage``; for the
        pooled map, the first real cell of its pooling window. False if outside."""
        win = self._window
        if win is None:
            return False
        try:
            if stage == "pooled":
                pw = win.pool_window(row, col)
                real = ~pw.padded_mask
                r, c = [int(i) for i in divmod(int(real.argmax()), real.shape[1])]
                row, col = int(pw.rows[r]), int(pw.cols[c])
            index = win.index_of(row, col)
        except ValueError:
            return False
        self.go_to(index)
        return True

    # -- playback ----------------------------------------------------------------
    def play(self) -> None:
        if self.step_count() == 0 or self.is_playing():
            return
        if self._index >= self.step_count() - 1:
            self.go_to(0)  # play again from the start
        self._timer.start(self._interval_ms())
        self._show_playing()

    def pause(self) -> None:
        if not self.is_playing():
            return
        self._timer.stop()
        self._show_playing()

    def toggle_play(self) -> None:
        self.pause() if self.is_playing() else self.play()

    def set_speed(self, steps_per_second: float) -> None:
        lo, hi = SPEED_RANGE
        if not lo <= steps_per_second <= hi:
            raise ValueError(
                f"`steps_per_second` must be from {lo:g} to {hi:g}. "
                f"Received: steps_per_second={steps_per_second!r}"
            )
        self.speed.setValue(steps_per_second)

    def _interval_ms(self) -> int:
        return max(1, round(1000.0 / self.speed.value()))

    def _show_playing(self) -> None:
        playing = self.is_playing()
        self.play_button.setText("⏸ Pause" if playing else "▶ Play")
        self.playing_changed.emit(playing)

    # -- keys --------------------------------------------------------------------
    def handle_key(self, key: int) -> bool:
        """Act on one of the animation keys; True if it was consumed (False for
        other keys, and for PageDown/PageUp at the end/start: they go on)."""
        if self._window is None:
            return False
        if key == Qt.Key.Key_Space:
            self.toggle_play()
            return True
        if key in _FORWARD:
            self.pause()
            moved = self.step_forward()
            return moved or key != Qt.Key.Key_PageDown
        if key in _BACK:
            self.pause()
            moved = self.step_back()
            return moved or key != Qt.Key.Key_PageUp
        if key == Qt.Key.Key_Home:
            self.first()
            return True
        if key == Qt.Key.Key_End:
            self.last()
            return True
        return False

    def would_consume(self, key: int) -> bool:
        """Whether :meth:`handle_key` would consume ``key`` (without acting)."""
        if self._window is None or key not in _KEYS:
            return False
        if key == Qt.Key.Key_PageDown:
            return self._index < self.step_count() - 1
        if key == Qt.Key.Key_PageUp:
            return self._index > 0
        return True

    # -- view --------------------------------------------------------------------
    def _show(self) -> None:
        n = self.step_count()
        with QSignalBlocker(self.scrub):
            self.scrub.setRange(0, max(n - 1, 0))
            self.scrub.setValue(self._index)
        self.scrub.setEnabled(n > 0)
        for b in (
            self.first_button,
            self.back_button,
            self.play_button,
            self.forward_button,
            self.last_button,
        ):
            b.setEnabled(n > 0)
        if self._window is None:
            self.title.setText("Sliding window")
            self.position_label.setText("")
            self.readout.setText("")
            self.canvas.set_step(None)
            return
        win = self._window
        step = win[self._index]
        flt = win.settings.filters[win.filter_index]
        oh, ow = win.output_shape
        self.title.setText(
            f"filter {win.filter_index + 1} '{flt.name}', {oh}×{ow} outputs"
        )
        self.position_label.setText(f"step {self._index + 1} / {n}")
        self.readout.setText(self._readout(step))
        self.canvas.set_step(step)
        self.step_changed.emit(self._index)

    def _readout(self, step) -> str:  # noqa: ANN001
        s = self._window.settings
        where = f"y[{step.oy}, {step.ox}]"
        if step.tap is not None and step.tap < step.running.shape[0] - 1:
            ky, kx = step.tap_yx
            return (
                f"<b>{where}</b>: tap ({ky}, {kx}), {step.tap + 1} of "
                f"{step.running.shape[0]}: running Σ x·w = {_fmt(step.partial)}"
            )
        parts = [
            f"<b>{where} = Σ x·w + b = {_fmt(step.total)} + {step.bias:g} = "
            f"<span style='color:#e67800'>{_fmt(step.output)}</span></b>"
        ]
        if s.activation != "none":
            parts.append(
                f"{s.activation}({_fmt(step.output)}) = {_fmt(step.activated)}"
            )
        if s.pool != "none":
            if step.pools:
                pw = step.pools[0]
                what = "max" if pw.kind == "max" else f"mean ÷{pw.divisor}"
                parts.append(
                    f"read by the {pw.kind} pool window of p[{pw.row}, {pw.col}] = "
                    f"{what} = {_fmt(pw.value)}"
                )
            else:
                parts.append("read by no pooling window (dropped by the pooling)")
        return " &nbsp;·&nbsp; ".join(parts)

    # -- slots -------------------------------------------------------------------
    def _on_timer_timeout(self) -> None:
        if self._index >= self.step_count() - 1:
            self.pause()
            return
        self.go_to(self._index + 1)
        if self._index >= self.step_count() - 1:
            self.pause()

    def _on_speed_value_changed(self, _value: float) -> None:
        if self.is_playing():
            self._timer.setInterval(self._interval_ms())

    def _on_taps_toggled(self, on: bool) -> None:
        self._granularity = "tap" if on else "position"
        self._rebuild()

    def _on_scrub_value_changed(self, value: int) -> None:
        self.go_to(value)

    def _on_canvas_map_clicked(self, stage: str, row: int, col: int) -> None:
        self.pause()
        self.jump_to_pixel(stage, row, col)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt)
        if obj is self.scroll.viewport() and event.type() == QEvent.Type.Resize:
            old, new = event.oldSize(), event.size()
            if old.height() != new.height():
                self.canvas.refit()
        return False

    def hideEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt)
        self.pause()
        super().hideEvent(event)


class AnimationKeys(QObject):
    """Routes the animation keys to a shown :class:`AnimationPanel`, wherever the
    focus is in its window (a presenter clicker's PageDown lands on whatever widget
    was clicked last).

    Installed on the application while the panel is visible. Space, Left/Right and
    Home/End stay with widgets where they edit or select (line edits, spin boxes,
    lists, sliders outside the panel); PageDown/PageUp always go to the panel, except
    at the end/start, where they are passed on after :attr:`AnimationPanel.reached_end`
    / ``reached_start``.
    """

    def __init__(self, panel: AnimationPanel) -> None:
        super().__init__(panel)
        self._panel = panel
        self._installed = False
        panel.installEventFilter(self)  # its show/hide switch the routing

    def _routes(self, obj: QObject, key: int) -> bool:
        panel = self._panel
        if key not in _KEYS or not panel.isVisible():
            return False
        focus = QApplication.focusWidget()
        if obj is not focus or not focus.isWidgetType():
            return False  # each key once, at the widget that has the focus
        if focus.window() is not panel.window():
            return False
        if key in (Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
            return True
        inside = focus is panel or panel.isAncestorOf(focus)
        return not isinstance(focus, _EDITING) or (
            inside and not isinstance(focus, QAbstractSpinBox)
        )

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt)
        kind = event.type()
        if obj is self._panel and kind in (QEvent.Type.Show, QEvent.Type.Hide):
            self._install(kind == QEvent.Type.Show)
            return False
        if kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            return False
        key = event.key()
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        if not self._routes(obj, key):
            return False
        if kind == QEvent.Type.ShortcutOverride:
            if self._panel.would_consume(key):
                event.accept()  # the key comes to us as a KeyPress, not a shortcut
                return True
            self._panel.handle_key(key)  # at an end: signal, and let it go on
            return False
        if self._panel.would_consume(key):
            self._panel.handle_key(key)
            return True
        return False

    def _install(self, on: bool) -> None:
        app = QApplication.instance()
        if app is None or on == self._installed:
            return
        if on:
            app.installEventFilter(self)
        else:
            app.removeEventFilter(self)
        self._installed = on
