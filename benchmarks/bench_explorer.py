"""Explorer redraw latency: a control's change -> the view holds the new arrays.

512x512 RGB image (the bundled astronaut), the default bank (8 filters, 3x3), ReLU, 2x2 max
pool. After warm-up, each step changes one control the way a user does (``setValue`` /
``setCurrentIndex`` on the real widget, which emits the same signals as a click) and times
until the grid's ImageItems hold the new result (``maps_displayed``). A second figure adds
the repaint of the grid (the pixels on screen), measured with a synchronous ``repaint()``.

Usage::

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_explorer.py [--steps 120]

The budget is one frame (16 ms). Timings are noisy on a shared machine: medians are reported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

BUDGET_MS = 16.0


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=120)
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from convlab.gui.app import create_application

    app = create_application()
    from convlab.gui.main_window import MainWindow

    window = MainWindow()
    window.resize(1500, 950)
    window.show()
    explorer = window.explorer
    explorer.load_sample("astronaut")

    def settle(timeout: float = 600.0) -> None:
        deadline = time.perf_counter() + timeout
        while not explorer.is_up_to_date():
            if time.perf_counter() > deadline:
                raise SystemExit("timed out waiting for the explorer")
            app.processEvents()

    settle()
    image = explorer.image()
    assert image.shape == (3, 512, 512), image.shape
    assert len(explorer.result().maps) == 8

    g = explorer.geometry
    changes = [
        ("stride 1->2", lambda: g.stride_h.setValue(2)),
        ("stride 2->1", lambda: g.stride_h.setValue(1)),
        ("padding mode reflect", lambda: g.padding_mode.setCurrentIndex(1)),
        ("padding mode zeros", lambda: g.padding_mode.setCurrentIndex(0)),
        ("pool avg", lambda: g.pool.setCurrentIndex(g.pool.findData("avg"))),
        ("pool max", lambda: g.pool.setCurrentIndex(g.pool.findData("max"))),
        ("padding valid", lambda: g.padding.setCurrentIndex(g.padding.findData("valid"))),
        ("padding same", lambda: g.padding.setCurrentIndex(g.padding.findData("same"))),
    ]
    # warm-up: every change once (JIT, pyqtgraph caches)
    for _, change in changes * 2:
        change()
        settle()
        explorer.grid.viewport().repaint()

    latencies: list[float] = []
    with_paint: list[float] = []
    computes: list[float] = []
    per_change: dict[str, list[float]] = {name: [] for name, _ in changes}
    for step in range(args.steps):
        name, change = changes[step % len(changes)]
        t0 = time.perf_counter()
        change()
        settle()
        t1 = time.perf_counter()
        explorer.grid.viewport().repaint()
        t2 = time.perf_counter()
        latencies.append((t1 - t0) * 1000)
        with_paint.append((t2 - t0) * 1000)
        computes.append(explorer.result().seconds * 1000)
        per_change[name].append((t1 - t0) * 1000)
        QApplication.processEvents()

    med, p90 = statistics.median(latencies), _percentile(latencies, 90)
    print(f"explorer redraw, 512x512 RGB, 8 filters 3x3, ReLU, pooling; {args.steps} changes")
    print(f"  change -> view holds new arrays: median {med:.1f} ms, p90 {p90:.1f} ms "
          f"(budget {BUDGET_MS:.0f} ms: {'OK' if med <= BUDGET_MS else 'OVER'})")
    print(f"    of which compute (worker):     median {statistics.median(computes):.1f} ms")
    print(f"  ... plus the grid's repaint:      median {statistics.median(with_paint):.1f} ms, "
          f"p90 {_percentile(with_paint, 90):.1f} ms")
    for name, values in per_change.items():
        print(f"    {name:<22} median {statistics.median(values):6.1f} ms")
    print(f"  cores: {os.cpu_count()} (shared machine: timings are noisy)")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
