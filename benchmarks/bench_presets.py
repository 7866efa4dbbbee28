"""Training speed of the trainer's presets at their native input, as multiply-adds per
second: where ``convlab.train.specs.MACS_PER_SECOND`` (the time-per-epoch estimate of
the Model tab) comes from, beside PyTorch on the same layers.

    .venv/bin/python benchmarks/bench_presets.py [--repeat 1] [--steps 2]

One training step (forward, backward, Adam) on random images, after a warm-up step,
median of ``--steps`` steps; each framework in its own fresh process, back to back
(``_paired.py``; ``torch.set_num_threads(2)``). The rate counts a step as three forward
passes' multiply-adds per image (``specs.epoch_estimate``'s rule), from the shape-only
layer table. VGG16 at 224x224 is left out: one step of its 138M weights takes minutes
here; the estimate extrapolates from AlexNet-BN, the nearest in layer sizes.

Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

#: (preset, batch)
ROWS = (("tiny", 64), ("keras", 64), ("animal", 32), ("alexnet_bn", 16))


def _check(name: str):
    from convlab.train import engine
    from convlab.train.specs import check_stack

    specs = engine.preset_specs(name)
    shape = engine.preset_input_shape(name)
    return specs, shape, check_stack(specs, shape, specs[-1]["units"])


def convlab_step(name: str, batch: int, steps: int) -> float:
    from convlab.nn import Adam
    from convlab.train import engine

    specs, shape, _ = _check(name)
    model = engine.build_model(specs, 0, shape)
    model.compile(optimizer=Adam(1e-3), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.random((batch, *shape), dtype=np.float32)
    y = rng.integers(0, specs[-1]["units"], batch)
    model.train_step(x, y)  # warm-up: JIT cache load, allocator
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        model.train_step(x, y)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def torch_step(name: str, batch: int, steps: int) -> float:
    import torch
    from torch import nn

    torch.set_num_threads(2)
    specs, shape, _ = _check(name)
    layers: list[nn.Module] = []
    c = shape[0]
    flat = False
    for s in specs:
        kind = s["type"]
        act = s.get("activation", "none")
        if kind == "Conv2D":
            pad = s["padding"]
            pad = "same" if pad == "same" else (0 if pad == "valid" else pad)
            layers.append(
                nn.Conv2d(c, s["filters"], s["kernel_size"], s["strides"], pad)
            )
            c = s["filters"]
        elif kind == "MaxPooling2D":
            layers.append(nn.MaxPool2d(s["pool_size"], s["strides"] or None))
        elif kind == "BatchNormalization":
            layers.append(nn.BatchNorm2d(c) if not flat else nn.BatchNorm1d(c))
        elif kind == "ReLU":
            layers.append(nn.ReLU())
        elif kind == "Flatten":
            layers.append(nn.Flatten())
            flat = True
        elif kind == "Dropout":
            layers.append(nn.Dropout(s["rate"]))
        elif kind == "Dense":
            layers.append(nn.LazyLinear(s["units"]))
        if kind in ("Conv2D", "Dense") and act == "relu":
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    x = torch.rand((batch, *shape))
    y = torch.randint(0, specs[-1]["units"], (batch,))
    model(x)  # the lazy layers' shapes
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step() -> None:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def child(framework: str, steps: int) -> None:
    step = convlab_step if framework == "convlab" else torch_step
    print(json.dumps({name: 1000 * step(name, batch, steps) for name, batch in ROWS}))


def main() -> None:
    from _paired import median_of, median_ratio, paired

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--child", choices=("convlab", "torch"))
    args = parser.parse_args()
    if args.child:
        child(args.child, args.steps)
        return
    from convlab.train.specs import MACS_PER_SECOND

    rounds = paired(
        __file__,
        ("convlab", "torch"),
        ["--steps", str(args.steps)],
        args.repeat,
        log=lambda text: print(text, file=sys.stderr),
    )
    print(
        "| preset (input, batch) | M mult-adds/image | convlab ms/step | GMAC/s |"
        " torch ms/step | GMAC/s | convlab/torch |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, batch in ROWS:
        _, shape, check = _check(name)
        work = 3 * check.total_macs * batch / 1e9  # G multiply-adds per step
        ms = {fw: median_of(rounds, fw, name) for fw in ("convlab", "torch")}
        ratio = median_ratio(rounds, "convlab", "torch", name)
        size = f"{shape[1]}x{shape[2]}x{shape[0]}"
        print(
            f"| {name} ({size}, {batch}) | {check.total_macs / 1e6:,.1f} "
            f"| {ms['convlab']:,.0f} | {work / ms['convlab'] * 1e3:.2f} "
            f"| {ms['torch']:,.0f} | {work / ms['torch'] * 1e3:.2f} | {ratio:.2f}x |"
        )
    print(f"\nspecs.MACS_PER_SECOND = {MACS_PER_SECOND / 1e9:.1f} G")


if __name__ == "__main__":
    main()
