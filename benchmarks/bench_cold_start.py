"""Cold-start timeline of the GUI: empty vs warm numba cache, each in a fresh process.

    python benchmarks/bench_cold_start.py [--runs 3] [--trainer] [--reference DIR]

Seconds from process start (the parent's clock just before it spawns the child) to:
the window shown, the first feature maps on screen (the explorer's ``maps_displayed``),
the explorer's kernels compiled (``kernels._warmup.is_warm("explorer")``), every
kernel compiled (``MainWindow.kernels_warmed``) and, with ``--trainer``, the default
model's first training step (Start pressed as soon as the data is loaded) and the
moment its training kernels are compiled (the trainer's "training kernels ready").
Each stage prints two columns: wall seconds, and the child's CPU seconds (user + sys
of all its threads, ``resource.getrusage``). Compiling is mostly one thread, so on a
machine shared with other work the CPU column approximates a quiet machine's wall time
(it undercounts where two threads compile or train at once).
"empty" runs get a fresh ``NUMBA_CACHE_DIR`` each; "warm" runs reuse the one the first
empty run filled. Medians of ``--runs`` (1 for empty runs unless ``--empty-runs``).
``--reference DIR`` runs the same timeline in another checkout (the code before a
change) and prints it beside. Run from the repository root; on a shared machine read
the load averages printed with each row.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, os, resource, sys, threading, time
t0 = float(os.environ["COLD_T0"])
trainer_mode = os.environ.get("COLD_TRAINER") == "1"
marks = {}
def mark(name):
    if name not in marks:
        r = resource.getrusage(resource.RUSAGE_SELF)
        marks[name] = (time.time() - t0, r.ru_utime + r.ru_stime)
from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from convlab.gui.app import configure_pyqtgraph
configure_pyqtgraph()
from convlab.gui.main_window import MainWindow
mark("imported")
w = MainWindow()
w.resize(1280, 720)
w.show()
mark("window shown")

class Watch(QObject):
    @Slot(object)
    def maps(self, _r):
        mark("first maps")
        self.check()
    @Slot(bool)
    def warm(self, _ok):
        mark("all kernels compiled")
        self.check()
    @Slot()
    def poll(self):
        from kernels import _warmup
        if _warmup.is_warm("explorer"):
            mark("explorer kernels")
        tr = w.trainer
        if trainer_mode and tr is not None:
            if "start pressed" not in marks and tr.run.data is not None:
                tr.start_training()
                mark("start pressed")
            if "start pressed" in marks and tr.run.run_steps > 0:
                mark("first training step")
            # the trainer's compile passes run on this thread while the first
            # steps train on NumPy (convlab/gui/trainer/warming.py)
            compiling = any(
                t.name == "convlab-training-compile" for t in threading.enumerate()
            )
            if "first training step" in marks and not compiling:
                mark("training kernels")
        self.check()
    def check(self):
        need = ["first maps", "all kernels compiled"]
        if trainer_mode:
            need += ["first training step", "training kernels"]
        if all(n in marks for n in need):
            app.quit()

watch = Watch()
w.explorer.maps_displayed.connect(watch.maps)
w.kernels_warmed.connect(watch.warm)
timer = QTimer()
timer.timeout.connect(watch.poll)
timer.start(20)
QTimer.singleShot(int(os.environ.get("COLD_TIMEOUT", "600")) * 1000, app.quit)
app.exec()
if w.trainer is not None and hasattr(w.trainer, "stop_training"):
    w.trainer.stop_training()
    w.trainer.shutdown()
print("COLD " + json.dumps(marks), flush=True)
os._exit(0)
"""

STAGES = (
    "window shown",
    "first maps",
    "explorer kernels",
    "start pressed",
    "first training step",
    "training kernels",
    "all kernels compiled",
)


def run_once(checkout: Path, cache_dir: str, trainer: bool, timeout: int) -> dict:
    env = dict(os.environ)
    env.update(
        NUMBA_CACHE_DIR=cache_dir,
        QT_QPA_PLATFORM=env.get("QT_QPA_PLATFORM", "offscreen"),
        COLD_TRAINER="1" if trainer else "0",
        COLD_TIMEOUT=str(timeout),
    )
    env.pop("PYTHONPATH", None)
    env["COLD_T0"] = repr(time.time())
    proc = subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout + 120,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("COLD "):
            return json.loads(line[5:])
    raise RuntimeError(f"child failed in {checkout}:\n{proc.stderr[-2000:]}")


def timeline(checkout: Path, args) -> dict[str, dict[str, float | None]]:
    rows: dict[str, list[dict]] = {"empty": [], "warm": []}
    loads: dict[str, list[float]] = {"empty": [], "warm": []}
    warm_dir = None
    for i in range(args.empty_runs):
        d = tempfile.mkdtemp(prefix="convlab-cold-")
        loads["empty"].append(os.getloadavg()[0])
        rows["empty"].append(run_once(checkout, d, args.trainer, args.timeout))
        warm_dir = warm_dir or d
        print(f"  {checkout.name} empty run {i + 1}: {rows['empty'][-1]}", flush=True)
    for i in range(args.runs):
        loads["warm"].append(os.getloadavg()[0])
        rows["warm"].append(run_once(checkout, warm_dir, args.trainer, args.timeout))
        print(f"  {checkout.name} warm run {i + 1}: {rows['warm'][-1]}", flush=True)
    out = {}
    for cache, runs in rows.items():
        med = {}
        for stage in STAGES:
            values = [r[stage] for r in runs if stage in r]
            med[stage] = (
                (
                    statistics.median(v[0] for v in values),
                    statistics.median(v[1] for v in values),
                )
                if values
                else None
            )
        load = statistics.median(loads[cache])
        med["load"] = (load, None)
        out[cache] = med
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="warm runs (median)")
    parser.add_argument("--empty-runs", type=int, default=1)
    parser.add_argument("--trainer", action="store_true")
    parser.add_argument("--reference", type=Path, default=None)
    parser.add_argument("--timeout", type=int, default=600)
    args = parser.parse_args()
    here = Path(__file__).resolve().parent.parent
    checkouts = [here] + ([args.reference.resolve()] if args.reference else [])
    results = {c: timeline(c, args) for c in checkouts}
    print(
        f"\ncores: {os.cpu_count()}, seconds from process start (median): "
        "wall / child CPU (user+sys)"
    )
    head = f"{'stage':<22}" + "".join(
        f"{c.name + ' ' + cache:>20}" for c in checkouts for cache in ("empty", "warm")
    )
    print(head)
    for stage in (*STAGES, "load"):
        cells = []
        for c in checkouts:
            for cache in ("empty", "warm"):
                v = results[c][cache][stage]
                if v is None:
                    text = "-"
                elif v[1] is None:
                    text = f"{v[0]:.1f}"
                else:
                    text = f"{v[0]:.1f} / {v[1]:.1f}"
                cells.append(f"{text:>20}")
        print(f"{stage:<22}" + "".join(cells))


if __name__ == "__main__":
    main()
