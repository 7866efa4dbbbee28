"""How late does the GUI's event loop run while the training window trains the Keras
model?

A QTimer asks to fire every 5 ms; each time it fires we record how much later than asked
it came. Training runs on the worker thread (GeneratorWorker over train_events) with
every live view on: curves, filters, the test digit's activations, the confusion matrix
after each epoch. Target (issue 5): worst delay under 50 ms.

Run:  .venv/bin/python benchmarks/bench_gui_latency.py [--seconds 25] [--model keras]
Offscreen by default (QT_QPA_PLATFORM=offscreen), so it also runs in CI or over ssh.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=25.0)
    parser.add_argument("--model", default="keras", choices=("keras", "lenet5", "tiny"))
    parser.add_argument("--interval-ms", type=int, default=5)
    parser.add_argument(
        "--baseline", type=float, default=5.0, help="seconds of idle measurement first"
    )
    parser.add_argument("--screenshot", help="save a PNG of the window mid-training")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QObject, QTimer, Slot

    from convlab.gui.app import create_application
    from convlab.gui.trainer import TrainerWidget

    app = create_application()
    # The app's main window compiles/loads every kernel on a worker at start-up; do the
    # same here, so first-call cache loads (which hold the GIL) are not measured as
    # training latency.
    import kernels

    kernels.warmup()
    widget = TrainerWidget()
    widget.resize(1440, 900)
    widget.show()

    deadline = time.perf_counter() + 60
    while widget.state != "ready" and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.01)
    if widget.state != "ready":
        print("data did not load within 60 s", file=sys.stderr)
        return 1
    index = widget.editor.preset_combo.findData(args.model)
    widget.editor.preset_combo.setCurrentIndex(index)
    widget.editor.preset_combo.activated.emit(index)
    widget.epochs_spin.setValue(50)  # more than we will wait for
    widget.tabs.setCurrentIndex(1)

    class Probe(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.delays: list[float] = []
            self.last = time.perf_counter()
            self.interval = args.interval_ms / 1000

        @Slot()
        def tick(self) -> None:
            now = time.perf_counter()
            self.delays.append(max(0.0, now - self.last - self.interval))
            self.last = now

    probe = Probe()
    timer = QTimer()
    timer.setTimerType(timer.timerType().PreciseTimer)
    timer.setInterval(args.interval_ms)
    timer.timeout.connect(probe.tick)

    # baseline: the same timer with nothing training, to see the machine's own noise
    from PySide6.QtCore import QEventLoop

    idle = QEventLoop()
    QTimer.singleShot(int(args.baseline * 1000), idle.quit)
    probe.last = time.perf_counter()
    timer.start()
    idle.exec()
    timer.stop()
    baseline = np.array(probe.delays) * 1000
    probe.delays = []

    # the first steps include loading the JIT cache: measure from the first curve point
    widget.start_training()
    while widget.curves.loss_raw.n == 0 and time.perf_counter() < deadline + 60:
        app.processEvents()
        time.sleep(0.002)
    loop = QEventLoop()

    class Phases(QObject):
        @Slot()
        def to_activations(self) -> None:
            widget.tabs.setCurrentIndex(2)  # the activations tab, refreshed live

        @Slot()
        def shoot(self) -> None:
            if args.screenshot:
                widget.grab().save(args.screenshot)

    phases = Phases()
    QTimer.singleShot(int(args.seconds * 400), phases.shoot)
    QTimer.singleShot(int(args.seconds * 500), phases.to_activations)
    QTimer.singleShot(int(args.seconds * 1000), loop.quit)
    probe.last = time.perf_counter()
    timer.start()
    loop.exec()  # the real event loop, as in the app
    timer.stop()
    steps = widget.curves.loss_raw.n
    t_stop = time.perf_counter()
    widget.stop_training()
    while widget.is_training() and time.perf_counter() - t_stop < 10:
        app.processEvents()
        time.sleep(0.001)
    stop_ms = (time.perf_counter() - t_stop) * 1000
    widget.shutdown()

    d = np.array(probe.delays) * 1000
    print(
        f"model {args.model}, {args.seconds:.0f} s of training, {steps} steps, "
        f"batch {widget.batch_spin.value()}, {len(d)} timer ticks "
        f"at {args.interval_ms} ms"
    )
    print(
        f"event-loop delay: worst {d.max():.1f} ms, p99 {np.percentile(d, 99):.1f} ms, "
        f"median {np.median(d):.2f} ms (target: worst < 50 ms)"
    )
    print(
        f"idle baseline ({args.baseline:.0f} s, no training): "
        f"worst {baseline.max():.1f} ms, "
        f"p99 {np.percentile(baseline, 99):.1f} ms"
    )
    half = len(d) // 2
    for label, part in (("Training tab", d[:half]), ("Activations tab", d[half:])):
        print(
            f"  {label}: worst {part.max():.1f} ms, "
            f"p99 {np.percentile(part, 99):.1f} ms"
        )
    print(f"stop -> worker finished: {stop_ms:.0f} ms")
    with (
        open("/proc/loadavg")
        if os.path.exists("/proc/loadavg")
        else open(os.devnull) as f
    ):
        load = f.read().split()[:1]
    print(
        f"(2-core machine shared with other jobs, load average {load}: "
        "figures are noisy)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
