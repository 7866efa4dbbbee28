"""Training speed on 32x32 colour images (CIFAR-10's shape): convlab against torch.

    .venv/bin/python benchmarks/bench_train_colour.py [--images 2048] [--repeat 5]

Two small CNNs, batch 64, Adam, 10 classes, uint8 images scaled to [0, 1] batch by
batch (as the trainer and ``convlab train --data cifar10`` do):

* ``tiny``: the trainer's tiny preset rebuilt for 3x32x32 (Conv 8 3x3, pool, Conv 16
  3x3, pool, Dense 10), as :meth:`TrainerRun.adapt_model_to_data` builds it;
* ``lenet5``: the LeNet-5 preset rebuilt the same way.

Each framework runs in its own fresh process (torch with ``set_num_threads(2)``), one
round = one convlab child and one torch child back to back (``_paired.py``); the table
gives the medians over rounds of images/s and the median of the per-round ratios.
The data are random (speed does not depend on them): ``--images`` images after a
two-batch warm-up, one epoch, shuffled.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

BATCH = 64
SHAPE = (3, 32, 32)
CLASSES = 10
MODELS = ("tiny", "lenet5")


def _data(images: int):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (images, *SHAPE), dtype=np.uint8)
    y = rng.integers(0, CLASSES, images)
    return x, y


# ------------------------------------------------------------------------------ convlab


def convlab_images_per_second(name: str, x, y) -> float:
    from convlab.nn import Adam
    from convlab.train import engine, train_events

    specs = engine.preset_specs(name)
    specs[-1]["units"] = CLASSES
    model = engine.build_model(specs, seed=0, input_shape=SHAPE)
    model.compile(Adam(1e-3), "sparse_categorical_crossentropy", ["accuracy"])
    warm = 2 * BATCH
    for _ in train_events(model, x[:warm], y[:warm], batch_size=BATCH, epochs=1):
        pass  # JIT cache load, allocator
    start = time.perf_counter()
    for _ in train_events(model, x, y, batch_size=BATCH, epochs=1, shuffle=True):
        pass
    return len(x) / (time.perf_counter() - start)


# ------------------------------------------------------------------------------ torch


def torch_images_per_second(name: str, x, y) -> float:
    import torch
    from torch import nn

    torch.set_num_threads(2)
    torch.manual_seed(0)
    if name == "tiny":
        model = nn.Sequential(
            nn.Conv2d(3, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(16 * 6 * 6, CLASSES),
        )  # fmt: skip
    else:  # lenet5 as convlab's preset: same-padded 5x5, then valid 5x5
        model = nn.Sequential(
            nn.Conv2d(3, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(16 * 6 * 6, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, CLASSES),
        )  # fmt: skip
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()  # softmax + cross-entropy, as convlab's last layer
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))

    def epoch(n: int, order) -> None:
        for start in range(0, n, BATCH):
            idx = order[start : start + BATCH]
            xb = xt[idx].float() / 255.0
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yt[idx])
            loss.backward()
            optimizer.step()

    epoch(2 * BATCH, torch.arange(2 * BATCH))
    order = torch.from_numpy(np.random.default_rng(0).permutation(len(x)))
    start = time.perf_counter()
    epoch(len(x), order)
    return len(x) / (time.perf_counter() - start)


def child(framework: str, images: int) -> None:
    x, y = _data(images)
    fn = convlab_images_per_second if framework == "convlab" else None
    fn = fn or torch_images_per_second
    # _paired's children report milliseconds: here ms per 1,000 images
    print(json.dumps({name: 1e6 / fn(name, x, y) for name in MODELS}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", choices=("convlab", "torch"), default=None)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.images)
        return
    from _paired import median_of, median_ratio, paired

    rounds = paired(
        __file__,
        ("convlab", "torch"),
        ["--images", str(args.images)],
        args.repeat,
        log=lambda text: print(text, file=sys.stderr),
    )
    print(
        f"Training images/s on {SHAPE[0]}x{SHAPE[1]}x{SHAPE[2]} colour images, batch "
        f"{BATCH}, Adam, {args.images:,} images, median of {args.repeat} paired rounds"
    )
    print("| model | convlab img/s | torch img/s | convlab time / torch time |")
    print("|---|---:|---:|---:|")
    for name in MODELS:
        c = 1e6 / median_of(rounds, "convlab", name)
        t = 1e6 / median_of(rounds, "torch", name)
        ratio = median_ratio(rounds, "convlab", "torch", name)
        print(f"| {name} | {c:,.0f} | {t:,.0f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
