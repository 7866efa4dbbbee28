"""Per-layer, per-pass wall time of one convlab training step (or forward).

    .venv/bin/python benchmarks/profile_step.py [--model keras_tutorial] [--steps 10]

``--model`` names a 28x28x1 preset of :mod:`convlab.nn.presets` (``lenet5``, ...)
or ``vgg16``.

Wraps each layer's ``forward``/``backward``/``backward_linear`` with a timer and
prints the median ms of each over ``--steps`` steps (after two warm-ups), the
rest of the step (loss, optimiser) as one line. ``--model vgg16`` times the forward
of VGG16 at 32x32x3, batch 32.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _wrap(layer, name, times):
    for attr in ("forward", "backward", "backward_linear"):
        fn = getattr(layer, attr, None)
        if fn is None:
            continue

        def timed(*a, _fn=fn, _key=f"{name} {attr}", **k):
            start = time.perf_counter()
            try:
                return _fn(*a, **k)
            finally:
                times[_key].append(time.perf_counter() - start)

        setattr(layer, attr, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="keras_tutorial")
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    from convlab.nn import presets

    rng = np.random.default_rng(0)
    if args.model == "vgg16":
        from convlab.nn.applications import vgg16

        model = vgg16(include_top=False, input_shape=(32, 32, 3), seed=0)
        xb = model.prepare(rng.random((32, 32, 32, 3), dtype=np.float32))
        yb = None
    else:
        model = getattr(presets, args.model)(seed=0)  # a 28x28x1 preset
        xb = model.prepare(rng.random((128, 28, 28, 1), dtype=np.float32))
        yb = rng.integers(0, 10, 128).astype(np.int64)
    times: dict[str, list[float]] = defaultdict(list)
    for i, layer in enumerate(model.layers):
        _wrap(layer, f"{i:2d} {type(layer).__name__}", times)
    totals = []
    for step in range(args.steps + 2):
        if step == 2:
            times.clear()
            totals.clear()
        start = time.perf_counter()
        if yb is None:
            model.predict_step(xb)
        else:
            model.train_step(xb, yb)
        totals.append(time.perf_counter() - start)
    total = 1e3 * statistics.median(totals)
    accounted = 0.0
    for key in sorted(times, key=lambda k: (k.split()[2] != "forward", k)):
        ms = 1e3 * statistics.median(times[key])
        inner = key.endswith("_linear") and key[: -len("_linear")] in times
        accounted += 0.0 if inner else ms  # backward calls backward_linear
        print(f"{key:40s} {ms:8.2f} ms{'  (inside backward)' if inner else ''}")
    print(f"{'rest (loss, optimiser, glue)':40s} {total - accounted:8.2f} ms")
    print(f"{'step':40s} {total:8.2f} ms")


if __name__ == "__main__":
    main()
