"""Training speed and memory: convlab against an equivalent PyTorch model.

    .venv/bin/python benchmarks/bench_train.py [--data PATH] [--images 12800] \\
        [--steps 10] [--repeat 1]

Measures, each in its own fresh process (``torch.set_num_threads(2)`` for torch):

* LeNet-5 time per 60,000 images at batch 128 (Adam), extrapolated from ``--images``
  images after a warm-up (target: convlab <= 1.3x torch);
* the Keras-tutorial CNN's step time at batch 128 on 28x28x1, median of ``--steps``
  steps (target: <= 1.3x torch, issue 14);
* the same CNN on CIFAR-10's shape (32x32x3, batch 64; random images and labels):
  step time, target <= 1.3x torch;
* VGG16 without its top at 32x32x3, batch 32: forward (inference) time, target
  <= 1.5x torch;
* for those three rows, the peak resident memory of the child process that timed
  them (``VmHWM``: imports, data and the steps), target below torch's;
* convlab's peak resident memory while training LeNet-5 on the full training set
  (60 steps), measured in a fresh subprocess (``VmHWM``, else
  ``resource.getrusage``; target: <= 400 MB), and torch's the same way.

Prints a Markdown table. The machine may be shared: with ``--repeat``, each repeat runs
convlab's child and torch's back to back, and the table gives the medians of both and
the median of the per-pair ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "mnist"
BATCH = 128


def load(data: str):
    from convlab.data.mnist import load_mnist

    return load_mnist(data if Path(data).is_dir() else "bundled")


# ------------------------------------------------------------------------------ convlab


def convlab_epoch_seconds(x, y, images: int) -> float:
    from convlab.nn.presets import lenet5
    from convlab.train import train_events

    model = lenet5(seed=0)
    for _ in train_events(
        model, x[: 2 * BATCH], y[: 2 * BATCH], batch_size=BATCH, epochs=1
    ):
        pass  # warm-up: JIT cache load, allocator
    start = time.perf_counter()
    for _ in train_events(model, x[:images], y[:images], batch_size=BATCH, epochs=1):
        pass
    return (time.perf_counter() - start) * 60_000 / images


def convlab_step_ms(x, y, steps: int) -> float:
    from convlab.nn.presets import keras_tutorial

    model = keras_tutorial(seed=0)
    xb = model.prepare(x[:BATCH])
    yb = y[:BATCH].astype(np.int64)
    times = []
    for i in range(steps + 2):
        start = time.perf_counter()
        model.train_step(xb, yb)
        if i >= 2:
            times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


# ------------------------------------------------------------------------------ torch


def torch_lenet():
    import torch
    from torch import nn

    return torch, nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )


def _torch_keras_net(nn, channels: int, flat: int):
    """The Keras tutorial CNN (Conv32 same, Conv32, pool, Conv64 same, Conv64, pool,
    Dense 512, Dense 10) in torch, for ``channels`` input planes; ``flat`` is the
    Flatten size (1600 for 28x28, 2304 for 32x32)."""
    return nn.Sequential(
        nn.Conv2d(channels, 32, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Dropout(0.25),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(64, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Dropout(0.25),
        nn.Flatten(),
        nn.Linear(flat, 512),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(512, 10),
    )


def torch_keras():
    import torch
    from torch import nn

    return torch, _torch_keras_net(nn, 1, 1600)


def torch_train(torch, net, x, y):
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    for start in range(0, len(x), BATCH):
        xb = torch.from_numpy(
            x[start : start + BATCH].astype(np.float32) / 255
        ).unsqueeze(1)
        yb = torch.from_numpy(y[start : start + BATCH].astype(np.int64))
        opt.zero_grad()
        loss_fn(net(xb), yb).backward()
        opt.step()


def torch_epoch_seconds(x, y, images: int) -> float:
    torch, lenet = torch_lenet()
    torch_train(torch, lenet, x[: 2 * BATCH], y[: 2 * BATCH])
    start = time.perf_counter()
    torch_train(torch, lenet, x[:images], y[:images])
    return (time.perf_counter() - start) * 60_000 / images


def torch_step_ms(x, y, steps: int) -> float:
    torch, keras = torch_keras()
    opt = torch.optim.Adam(keras.parameters(), lr=1e-3)
    xb = torch.from_numpy(x[:BATCH].astype(np.float32) / 255).unsqueeze(1)
    yb = torch.from_numpy(y[:BATCH].astype(np.int64))
    times = []
    for i in range(steps + 2):
        start = time.perf_counter()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(keras(xb), yb).backward()
        opt.step()
        if i >= 2:
            times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


# ---------------------------------------------- CIFAR-shape CNN, VGG16 (issue 14)

CIFAR_BATCH, VGG_BATCH = 64, 32


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM), MB."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        with open("/proc/self/status") as f:
            status = f.read().split("VmHWM:")[1]
        peak = int(status.split()[0]) / 1024
    except (OSError, IndexError):
        pass
    return peak


def _median_ms(fn, steps: int) -> float:
    times = []
    for i in range(steps + 2):
        start = time.perf_counter()
        fn()
        if i >= 2:  # warm-up: cache load, allocator
            times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def _random_images(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 32, 32, 3), dtype=np.float32)  # NHWC, as Keras reads CIFAR-10
    return x, rng.integers(0, 10, n).astype(np.int64)


def convlab_cifar_ms(steps: int) -> list[float]:
    from convlab.nn import Adam, Sequential
    from convlab.nn.presets import get_preset

    # the preset's layers (Keras's CIFAR-10 tutorial CNN) for a 32x32x3 input
    layers = get_preset("keras").layers()
    model = Sequential(layers, seed=0)
    model.build((32, 32, 3))  # channels last, as Keras reads CIFAR-10
    model.compile(optimizer=Adam(1e-3), loss="sparse_categorical_crossentropy")
    x, y = _random_images(CIFAR_BATCH)
    xb = model.prepare(x)
    return [_median_ms(lambda: model.train_step(xb, y), steps), _peak_mb()]


def torch_cifar_ms(steps: int) -> list[float]:
    import torch
    from torch import nn

    net = _torch_keras_net(nn, 3, 64 * 6 * 6)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x, y = _random_images(CIFAR_BATCH)
    xb = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    yb = torch.from_numpy(y)

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xb), yb).backward()
        opt.step()

    return [_median_ms(step, steps), _peak_mb()]


def convlab_vgg_ms(steps: int) -> list[float]:
    from convlab.nn.applications import vgg16

    model = vgg16(include_top=False, input_shape=(32, 32, 3), seed=0)
    xb = model.prepare(_random_images(VGG_BATCH)[0])
    return [_median_ms(lambda: model.predict_step(xb), steps), _peak_mb()]


def torch_vgg_ms(steps: int) -> list[float]:
    import torch
    from torch import nn

    layers: list = []
    channels = 3
    for filters, convs in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        for _ in range(convs):
            layers += [nn.Conv2d(channels, filters, 3, padding=1), nn.ReLU()]
            channels = filters
        layers.append(nn.MaxPool2d(2))
    net = nn.Sequential(*layers).eval()
    x = _random_images(VGG_BATCH)[0]
    xb = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))

    def forward():
        with torch.no_grad():
            net(xb)

    return [_median_ms(forward, steps), _peak_mb()]


# ------------------------------------------------------------------------------ memory

_RSS_CHILD = r"""
import json, resource, sys
sys.path.insert(0, {root!r})
import numpy as np
from convlab.data.mnist import load_mnist
data = load_mnist({data!r})
x, y = data.x_train, data.y_train
if {framework!r} == "convlab":
    from convlab.nn.presets import lenet5
    from convlab.train import train_events
    model = lenet5()
    steps = {steps}
    for _ in train_events(model, x, y, batch_size=128, epochs=1, steps_per_epoch=steps):
        pass
else:
    import torch
    torch.set_num_threads(2)
    sys.path.insert(0, {bench!r})
    from bench_train import torch_lenet, torch_train
    _, lenet = torch_lenet()
    torch_train(torch, lenet, x[: 128 * {steps}], y[: 128 * {steps}])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
try:  # VmHWM belongs to this process image alone (ru_maxrss survives exec on Linux)
    status = open("/proc/self/status").read().split("VmHWM:")[1]
    peak = int(status.split()[0]) / 1024
except (OSError, IndexError):
    pass
print(json.dumps(peak))
"""


def peak_rss_mb(framework: str, data: str, steps: int = 60) -> float:
    code = _RSS_CHILD.format(
        root=str(ROOT),
        data=data if Path(data).is_dir() else "bundled",
        framework=framework,
        steps=steps,
        bench=str(Path(__file__).parent),
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return float(result.stdout.strip().splitlines()[-1])


_KINDS = {
    "convlab-epoch": lambda x, y, a: convlab_epoch_seconds(x, y, a.images),
    "torch-epoch": lambda x, y, a: torch_epoch_seconds(x, y, a.images),
    "convlab-step": lambda x, y, a: convlab_step_ms(x, y, a.steps),
    "torch-step": lambda x, y, a: torch_step_ms(x, y, a.steps),
    "convlab-cifar": lambda x, y, a: convlab_cifar_ms(a.steps),
    "torch-cifar": lambda x, y, a: torch_cifar_ms(a.steps),
    "convlab-vgg": lambda x, y, a: convlab_vgg_ms(a.steps),
    "torch-vgg": lambda x, y, a: torch_vgg_ms(a.steps),
}


def timed_in_child(kind: str, data: str, images: int, steps: int):
    """Run one measurement in a fresh interpreter.

    Separate processes keep the two frameworks' thread pools apart: with torch imported
    first, its libgomp starts with spinning worker threads that starve numba's and
    OpenBLAS's on 2 cores (measured: a LeNet-5 step 77 ms instead of 19 ms).
    """
    result = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            kind,
            "--data",
            data,
            "--images",
            str(images),
            "--steps",
            str(steps),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_child(args: argparse.Namespace) -> int:
    if args.child.startswith("torch"):
        import torch

        torch.set_num_threads(2)
    data = load(args.data)
    print(json.dumps(_KINDS[args.child](data.x_train, data.y_train, args)))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--images", type=int, default=12_800)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument(
        "--repeat", type=int, default=1, help="median over this many runs"
    )
    parser.add_argument("--child", choices=sorted(_KINDS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_child(args)

    # memory first, while this process is small: a child inherits the parent's ru_maxrss
    rss = peak_rss_mb("convlab", args.data), peak_rss_mb("torch", args.data)

    import torch

    data = load(args.data)
    print(
        f"data: {data.source}, {len(data.x_train):,} training images; "
        f"torch {torch.__version__}, 2 threads; each measurement in its own process"
    )

    def paired(c_kind: str, t_kind: str) -> tuple[float, float, float]:
        """Medians of convlab's and torch's figures and of the per-pair ratios, the two
        children of a pair run back to back so a noisy spell hits both."""
        pairs = [
            (
                timed_in_child(c_kind, args.data, args.images, args.steps),
                timed_in_child(t_kind, args.data, args.images, args.steps),
            )
            for _ in range(args.repeat)
        ]
        for c, t in pairs:
            print(f"  {c_kind}: {c:.3f}  {t_kind}: {t:.3f}  ratio {c / t:.2f}")
        return (
            statistics.median(c for c, _ in pairs),
            statistics.median(t for _, t in pairs),
            statistics.median(c / t for c, t in pairs),
        )

    rows = []
    c, t, ratio = paired("convlab-epoch", "torch-epoch")
    rows.append(
        (
            "LeNet-5 epoch (60,000 images, batch 128)",
            f"{c:.1f} s",
            f"{t:.1f} s",
            ratio,
            1.3,
        )
    )
    c, t, ratio = paired("convlab-step", "torch-step")
    rows.append(
        ("Keras-tutorial step (batch 128)", f"{c:.0f} ms", f"{t:.0f} ms", ratio, 1.3)
    )
    for name, kind, target in (
        ("CIFAR-10-shape CNN step (32x32x3, batch 64)", "cifar", 1.3),
        ("VGG16 forward (32x32x3, batch 32, no top)", "vgg", 1.5),
    ):
        pairs = [
            (
                timed_in_child(f"convlab-{kind}", args.data, args.images, args.steps),
                timed_in_child(f"torch-{kind}", args.data, args.images, args.steps),
            )
            for _ in range(args.repeat)
        ]
        for (c, cm), (t, tm) in pairs:
            print(
                f"  {kind}: convlab {c:.1f} ms {cm:.0f} MB, "
                f"torch {t:.1f} ms {tm:.0f} MB"
            )
        c = statistics.median(p[0][0] for p in pairs)
        t = statistics.median(p[1][0] for p in pairs)
        ratio = statistics.median(p[0][0] / p[1][0] for p in pairs)
        rows.append((name, f"{c:.0f} ms", f"{t:.0f} ms", ratio, target))
        cm = statistics.median(p[0][1] for p in pairs)
        tm = statistics.median(p[1][1] for p in pairs)
        rows.append(
            (
                f"  peak RSS of that child ({kind})",
                f"{cm:.0f} MB",
                f"{tm:.0f} MB",
                cm / tm,
                "below torch",
            )
        )
    c, t = rss
    rows.append(
        ("Peak RSS training LeNet-5", f"{c:.0f} MB", f"{t:.0f} MB", c / t, None)
    )

    print("\n| measure | convlab | torch | ratio | target |")
    print("|---|---|---|---|---|")
    for name, cv, tv, ratio, target in rows:
        if isinstance(target, str):
            goal = target
        else:
            goal = f"<= {target}x" if target else "convlab <= 400 MB"
        print(f"| {name} | {cv} | {tv} | {ratio:.2f}x | {goal} |")
    print(
        json.dumps({name: [cv, tv, round(ratio, 2)] for name, cv, tv, ratio, _ in rows})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
