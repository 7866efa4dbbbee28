"""Explorer redraw latency: a control's change -> the view holds the new arrays.

512x512 RGB image (the bundled astronaut), the default bank (8 filters, 3x3), ReLU, 2x2
max pool, window 1500x950. After warm-up, each step changes one control the way a user
does (``setValue`` / ``setCurrentIndex`` on the real widget, which emits the same
signals as a click) and the GUI thread then sits in its event loop, as in the app, until
the grid's items hold the new arrays and pixels (``maps_displayed``). Then the grid is
repainted synchronously (``viewport().repaint()``: the pixels on screen) and the
remaining paint events are processed (labels, shapes panel).

Usage::

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_explorer.py \
        [--steps 160]

The budget is one frame (16 ms) from the change to the view holding the new arrays.
Timings are noisy on a shared machine: medians and 90th percentiles, with the load
average.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# this checkout's convlab, not whichever one the environment installed
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

BUDGET_MS = 16.0


def _load() -> str:
    try:
        with open("/proc/loadavg") as handle:
            return " ".join(handle.read().split()[:3])
    except OSError:
        return "n/a"


def _row(name: str, values: list[float], budget: float | None) -> str:
    med = statistics.median(values)
    p90 = float(np.percentile(np.asarray(values), 90))
    verdict = ""
    if budget is not None:
        verdict = f"{budget:6.0f}   {'OK' if med <= budget else 'OVER'}"
    return f"  {name:<44} {med:8.1f} {p90:8.1f}   {verdict}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=160)
    args = parser.parse_args(argv)

    from PySide6.QtCore import QEventLoop, QObject, QTimer, Slot

    from convlab.gui.app import create_application

    app = create_application()
    from convlab.gui.main_window import MainWindow

    window = MainWindow()
    window.resize(1500, 950)
    window.show()
    explorer = window.explorer
    explorer.load_sample("astronaut")

    class Waiter(QObject):
        """Quits its event loop once the explorer shows the newest settings."""

        def __init__(self) -> None:
            super().__init__()
            self.loop = QEventLoop()
            explorer.maps_displayed.connect(self.on_maps_displayed)

        @Slot(object)
        def on_maps_displayed(self, _result: object) -> None:
            if explorer.is_up_to_date():
                self.loop.quit()

        def wait(self, timeout_ms: int = 600_000) -> None:
            if explorer.is_up_to_date():
                return
            timer = QTimer.singleShot(timeout_ms, self.loop.quit)  # noqa: F841
            self.loop.exec()
            if not explorer.is_up_to_date():
                raise SystemExit("timed out waiting for the explorer")

    waiter = Waiter()
    waiter.wait()
    image = explorer.image()
    assert image.shape == (3, 512, 512), image.shape
    assert len(explorer.result().maps) == 8

    g = explorer.geometry

    def pick(combo, value):  # noqa: ANN001, ANN202
        return lambda: combo.setCurrentIndex(combo.findData(value))

    changes = [
        ("stride 1->2", lambda: g.stride_h.setValue(2)),
        ("stride 2->1", lambda: g.stride_h.setValue(1)),
        ("padding mode reflect", pick(g.padding_mode, "reflect")),
        ("padding mode zeros", pick(g.padding_mode, "zeros")),
        ("pool avg", pick(g.pool, "avg")),
        ("pool max", pick(g.pool, "max")),
        ("padding valid", pick(g.padding, "valid")),
        ("padding same", pick(g.padding, "same")),
    ]
    grid_view = explorer.grid.viewport()
    # warm-up: every change twice (JIT, pyqtgraph and Qt caches)
    for _, change in changes * 2:
        change()
        waiter.wait()
        grid_view.repaint()
        app.processEvents()

    load_before = _load()
    held: list[float] = []
    painted: list[float] = []
    repaint: list[float] = []
    everything: list[float] = []
    computes: list[float] = []
    colours: list[float] = []
    per_change: dict[str, list[float]] = {name: [] for name, _ in changes}
    for step in range(args.steps):
        name, change = changes[step % len(changes)]
        t0 = time.perf_counter()
        change()
        waiter.wait()
        t1 = time.perf_counter()
        grid_view.repaint()
        t2 = time.perf_counter()
        app.processEvents()  # the other widgets' pending paints (labels, shapes)
        t3 = time.perf_counter()
        held.append((t1 - t0) * 1000)
        repaint.append((t2 - t1) * 1000)
        painted.append((t2 - t0) * 1000)
        everything.append((t3 - t0) * 1000)
        per_change[name].append((t1 - t0) * 1000)
        # (an explorer without rendered(), e.g. an older checkout, colours on paint)
        rendered = getattr(explorer, "rendered", lambda: None)()
        computes.append(explorer.result().seconds * 1000)
        if rendered is not None:
            colours.append((rendered.seconds - rendered.result.seconds) * 1000)
    load_after = _load()

    print(
        f"explorer redraw: 512x512 RGB, 8 filters 3x3, ReLU, 2x2 max pool, window "
        f"1500x950; {args.steps} control changes"
    )
    print(f"  {'stage (ms)':<44} {'median':>8} {'p90':>8}   budget")
    print(_row("worker: compute (conv, activation, pool)", computes, None))
    if colours:
        print(_row("worker: colour maps -> RGB32 pixels", colours, None))
    print(_row("change -> view holds the new arrays", held, BUDGET_MS))
    print(_row("grid repaint (synchronous)", repaint, None))
    print(_row("change -> grid repainted", painted, None))
    print(_row("change -> all pending paints done", everything, None))
    print("  per change (change -> view holds the new arrays):")
    for name, values in per_change.items():
        print(_row(f"  {name}", values, BUDGET_MS))
    print(
        f"  cores: {os.cpu_count()}; load average {load_before} (start) -> "
        f"{load_after} (end); the machine is shared, timings are noisy"
    )
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
