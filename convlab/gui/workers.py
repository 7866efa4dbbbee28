"""Running slow work off the GUI thread.

Two shapes of work, two tools:

* :class:`Task` runs one function on Qt's global thread pool (a JIT warm-up, a large
  image's feature maps, loading a file) and reports ``finished(result)`` or
  ``failed(message)``.
* :class:`GeneratorWorker` runs a generator on its own ``QThread`` (training) and
  forwards what it yields in batches, at most ``max_rate`` batches a second, so a fast
  loop cannot flood the GUI's event queue (unthrottled, 37,700 queued events once left
  the GUI 9 s behind a Stop). Pause, resume and stop take effect between two yields;
  stop closes the generator, so its ``finally`` blocks run on the worker thread and the
  model it trains stays valid.

Only data crosses threads: connect these signals to *methods of QObjects that live in
the GUI thread*. A signal connected to a lambda or a plain function runs that code in
the worker thread even with a queued connection, and pyqtgraph touched from there
crashes the process.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import (
    QObject,
    QRunnable,
    QThread,
    QThreadPool,
    QTimer,
    Signal,
    Slot,
)


def describe_exception(exc: BaseException) -> str:
    """A one-line message for the status bar: the exception's own text, typed if it is
    bare."""
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, (ValueError, TypeError, OSError)):
        return text
    return f"{type(exc).__name__}: {text}"


class _TaskSignals(QObject):
    """Signals of a :class:`Task`: ``finished(object)``, ``failed(str)``."""

    finished = Signal(object)
    failed = Signal(str)


class Task(QRunnable):
    """Run ``fn(*args, **kwargs)`` on the global thread pool.

    Signals (on ``task.signals``): ``finished(result)``, ``failed(message)``. Create the
    task on the GUI thread (its signals object then lives there), connect, then
    :meth:`start`.
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.signals = _TaskSignals()
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self.setAutoDelete(False)  # the caller may keep a reference and read .signals

    def run(self) -> None:  # runs on a pool thread
        try:
            result = self._fn(*self._args, **self._kwargs)
        except (
            Exception
        ) as exc:  # a worker's exception becomes a signal, never a dead app
            traceback.print_exc()
            self._emit(self.signals.failed, describe_exception(exc))
        else:
            self._emit(self.signals.finished, result)

    @staticmethod
    def _emit(signal, value: object) -> None:
        # The receiver side may have been deleted (the app is quitting while this task
        # ran): then there is nobody left to tell.
        with contextlib.suppress(RuntimeError):
            signal.emit(value)

    def start(self) -> Task:
        QThreadPool.globalInstance().start(self)
        return self


class _Keeper(QObject):
    """Holds running workers until their thread has ended, so dropping the last
    reference to a running worker cannot destroy its QThread mid-run (Qt aborts the
    process if it does)."""

    def __init__(self) -> None:
        super().__init__()
        self.live: set[GeneratorWorker] = set()

    @Slot()
    def release_finished(self) -> None:
        for worker in [w for w in self.live if w._thread.isFinished()]:
            worker._thread.wait()
            self.live.discard(worker)


_keeper: _Keeper | None = None


class GeneratorWorker(QObject):
    """Run a generator on a dedicated thread, forwarding its items in throttled batches.

    Signals
    -------
    yielded(list)
        The items yielded since the last emission, in order. Emitted at most
        ``max_rate`` times a second; an item for which ``urgent(item)`` is true flushes
        at once.
    failed(str)
        The generator raised; the message is one line.
    finished(bool)
        The thread is done; ``True`` if it was stopped, ``False`` if the generator ran
        out or failed. Always emitted last, after any final ``yielded``.
    """

    yielded = Signal(list)
    failed = Signal(str)
    finished = Signal(bool)

    def __init__(
        self,
        make_generator: Callable[[], Iterator[Any]],
        *,
        max_rate: float = 30.0,
        urgent: Callable[[Any], bool] | None = None,
    ) -> None:
        super().__init__()
        self._make_generator = make_generator
        self._interval = 1.0 / max_rate
        self._urgent = urgent or (lambda item: False)
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._parked = threading.Event()  # set while the thread waits for resume()
        self._thread = QThread()
        self._thread.setObjectName("convlab-worker")
        self.moveToThread(self._thread)
        self._thread.started.connect(self._run)

    # -- control, from the GUI thread ------------------------------------------------
    def start(self) -> None:
        global _keeper
        if _keeper is None:
            _keeper = _Keeper()  # created on the GUI thread, where start() is called
        _keeper.live.add(self)
        self._thread.finished.connect(_keeper.release_finished)
        self._thread.start()

    def stop(self) -> None:
        """Ask the generator to stop after its current item (also un-pauses)."""
        self._stop.set()
        self._resume.set()

    def pause(self) -> None:
        self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    @property
    def parked(self) -> bool:
        """The pause has taken effect: the generator is held between two items and
        everything it yielded before has been emitted."""
        return self._parked.is_set()

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, msecs: int = 10_000) -> bool:
        """Block until the thread has ended; ``True`` if it did within ``msecs``."""
        return self._thread.wait(msecs)

    # -- the worker thread -------------------------------------------------------------
    @Slot()
    def _run(self) -> None:
        stopped = False
        pending: list[Any] = []
        last_emit = time.perf_counter()
        generator = None
        try:
            generator = self._make_generator()
            for item in generator:
                pending.append(item)
                now = time.perf_counter()
                if self._urgent(item) or now - last_emit >= self._interval:
                    self.yielded.emit(pending)
                    pending, last_emit = [], now
                if not self._resume.is_set():
                    if pending:
                        self.yielded.emit(pending)
                        pending = []
                    self._parked.set()
                    self._resume.wait()
                    self._parked.clear()
                if self._stop.is_set():
                    stopped = True
                    break
        except Exception as exc:
            traceback.print_exc()
            if pending:
                self.yielded.emit(pending)
                pending = []
            self.failed.emit(describe_exception(exc))
        finally:
            if generator is not None and hasattr(generator, "close"):
                try:
                    generator.close()
                except Exception as exc:  # a failing cleanup must still end the thread
                    self.failed.emit(describe_exception(exc))
            if pending:
                self.yielded.emit(pending)
            self.finished.emit(stopped)
            self._thread.quit()


class LatestTask(QObject):
    """A preview that follows its controls: :meth:`request` (re)starts a debounce;
    when it ends, ``make()`` builds a :class:`Task` (or returns None: nothing to do)
    and starts it. One runs at a time: a request while one runs runs ``make()`` again
    once the owner calls :meth:`done` from the task's finished or failed slot, so the
    latest settings win."""

    def __init__(
        self, parent: QObject, interval_ms: int, make: Callable[[], Task | None]
    ) -> None:
        super().__init__(parent)
        self._make = make
        self.task: Task | None = None
        self._again = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(int(interval_ms))
        self._timer.timeout.connect(self._on_timer_timeout)

    def request(self) -> None:
        self._timer.start()

    @Slot()
    def _on_timer_timeout(self) -> None:
        if self.task is not None:
            self._again = True
            return
        self.task = self._make()
        if self.task is not None:
            self.task.start()

    def done(self) -> None:
        """The task ended: run the latest request, if one came meanwhile."""
        self.task = None
        if self._again:
            self._again = False
            self._on_timer_timeout()

    def busy(self) -> bool:
        return self.task is not None or self._timer.isActive()
