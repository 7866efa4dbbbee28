"""Augmentation throughput next to a training step.

    .venv/bin/python benchmarks/bench_augment.py [--repeat 30]

Times, in this one process (convlab only, so no other framework competes for the
cores), the median over ``--repeat`` runs of:

* one augmented batch of 128 MNIST-shaped images (28x28x1, uint8) from
  ``ImageDataGenerator(rotation_range=10, width_shift_range=0.1,
  height_shift_range=0.1, zoom_range=0.1, shear_range=10, rescale=1/255).flow``:
  random parameters, the batch's affine warp (``kernels.affine``) and the
  standardisation;
* the same with ``fill_mode="constant"`` and ``horizontal_flip`` (another kernel
  path);
* one LeNet-5 training step (Adam, batch 128) on the same images.

Prints a Markdown table; the issue's target is augmentation well under one step.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BATCH = 128


def _median_ms(fn, repeat: int) -> float:
    fn()  # warm: compile / load the numba cache
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    from convlab.data.augment import ImageDataGenerator
    from convlab.nn.presets import lenet5

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (4 * BATCH, 28, 28, 1), dtype=np.uint8)
    y = rng.integers(0, 10, len(x))
    common = dict(
        rotation_range=10,
        width_shift_range=0.1,
        height_shift_range=0.1,
        zoom_range=0.1,
        shear_range=10,
        rescale=1 / 255,
    )
    flows = {
        "augment 128 images (nearest fill)": ImageDataGenerator(**common).flow(
            x, y, batch_size=BATCH, seed=0
        ),
        "augment 128 images (constant fill, flips)": ImageDataGenerator(
            **common, fill_mode="constant", horizontal_flip=True
        ).flow(x, y, batch_size=BATCH, seed=0),
    }
    rows = [(name, _median_ms(it.next, args.repeat)) for name, it in flows.items()]
    model = lenet5()
    xb = model.prepare(x[:BATCH])
    yb = model.check_labels(y[:BATCH], BATCH)
    step = _median_ms(lambda: model.train_step(xb, yb), args.repeat)
    rows.append(("LeNet-5 training step, batch 128 (Adam)", step))
    print("| what | median ms | vs one training step |")
    print("|---|---:|---:|")
    for name, ms in rows:
        print(f"| {name} | {ms:.2f} | {ms / step:.2f}x |")


if __name__ == "__main__":
    main()
