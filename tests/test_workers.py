"""The worker thread helpers: throttled batches, pause/stop between items, failures as
signals."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QObject, Slot  # noqa: E402

from convlab.gui.workers import GeneratorWorker, Task  # noqa: E402


class Recorder(QObject):
    """Lives in the GUI thread, as real receivers must."""

    def __init__(self):
        super().__init__()
        self.batches: list[list] = []
        self.failures: list[str] = []
        self.finished: list[bool] = []
        self.results: list = []
        self.threads: set = set()

    @Slot(list)
    def on_batch(self, batch):
        self.threads.add(threading.get_ident())
        self.batches.append(list(batch))

    @Slot(str)
    def on_failed(self, message):
        self.failures.append(message)

    @Slot(bool)
    def on_finished(self, stopped):
        self.finished.append(stopped)

    @Slot(object)
    def on_result(self, result):
        self.threads.add(threading.get_ident())
        self.results.append(result)


def _wait_for(qtbot, received: list, timeout: int = 5000) -> None:
    """Wait until the recorder's own slot has run. qtbot.waitSignal can return first:
    its blocker is a plain callable, notified in the emitting thread, while the
    recorder's queued slot still waits in the GUI thread's event queue."""
    qtbot.waitUntil(lambda: bool(received), timeout=timeout)


def _connect(worker, rec):
    worker.yielded.connect(rec.on_batch)
    worker.failed.connect(rec.on_failed)
    worker.finished.connect(rec.on_finished)


def test_all_items_arrive_in_order_and_throttled(qtbot):
    def fast():
        yield from range(5000)

    rec = Recorder()
    worker = GeneratorWorker(fast, max_rate=30)
    _connect(worker, rec)
    worker.start()
    _wait_for(qtbot, rec.finished, 10_000)
    assert worker.wait(5000)
    items = [i for batch in rec.batches for i in batch]
    assert items == list(range(5000))
    # 5,000 items, yet only a handful of emissions: the GUI queue never floods
    assert len(rec.batches) < 100
    assert rec.finished == [False]
    assert rec.threads == {threading.get_ident()}  # slots ran in the GUI thread


def test_stop_closes_generator_promptly(qtbot):
    closed = threading.Event()

    def endless():
        try:
            while True:
                time.sleep(0.001)
                yield 1
        finally:
            closed.set()

    rec = Recorder()
    worker = GeneratorWorker(endless)
    _connect(worker, rec)
    worker.start()
    qtbot.waitUntil(lambda: bool(rec.batches), timeout=5000)
    started = time.perf_counter()
    worker.stop()
    _wait_for(qtbot, rec.finished)
    assert time.perf_counter() - started < 1.0
    assert closed.is_set()
    assert rec.finished == [True]
    assert worker.wait(2000)


def test_pause_holds_the_generator_and_resume_continues(qtbot):
    produced = []

    def counting():
        for i in range(10_000):
            produced.append(i)
            time.sleep(0.0005)
            yield i

    rec = Recorder()
    worker = GeneratorWorker(counting)
    _connect(worker, rec)
    worker.start()
    qtbot.waitUntil(lambda: len(produced) > 10, timeout=5000)
    worker.pause()
    assert worker.paused
    # no sleeps: the worker reports when the pause has taken effect
    qtbot.waitUntil(lambda: worker.parked, timeout=5000)
    held = len(produced)
    # everything produced before the pause reaches the GUI thread, nothing after it
    qtbot.waitUntil(lambda: sum(map(len, rec.batches)) == held, timeout=5000)
    assert worker.parked
    assert len(produced) == held
    assert [i for b in rec.batches for i in b] == produced
    worker.resume()
    qtbot.waitUntil(lambda: not worker.parked, timeout=5000)
    qtbot.waitUntil(lambda: len(produced) > held + 20, timeout=5000)
    worker.stop()
    _wait_for(qtbot, rec.finished)


def test_generator_exception_becomes_failed_signal(qtbot):
    def broken():
        yield 1
        raise ValueError("`batch_size` must be positive. Received: batch_size=0")

    rec = Recorder()
    worker = GeneratorWorker(broken)
    _connect(worker, rec)
    worker.start()
    _wait_for(qtbot, rec.finished)
    assert rec.failures == ["`batch_size` must be positive. Received: batch_size=0"]
    assert [i for b in rec.batches for i in b] == [1]
    assert rec.finished == [False]


def test_task_reports_result_and_failure(qtbot):
    rec = Recorder()
    ok = Task(sum, [1, 2, 3])
    ok.signals.finished.connect(rec.on_result)
    ok.start()
    _wait_for(qtbot, rec.results)
    assert rec.results == [6]

    bad = Task(int, "seven")
    bad.signals.failed.connect(rec.on_failed)
    bad.start()
    _wait_for(qtbot, rec.failures)
    assert "invalid literal" in rec.failures[-1]


def test_dropping_a_running_worker_does_not_abort(qtbot):
    """Qt aborts if a running QThread is destroyed; the worker keeps itself alive until
    done."""
    done = threading.Event()

    def short():
        for i in range(20):
            time.sleep(0.005)
            yield i
        done.set()

    worker = GeneratorWorker(short)
    worker.start()
    del worker
    qtbot.waitUntil(done.is_set, timeout=5000)
    qtbot.wait(100)  # the keeper releases it after the thread has finished
