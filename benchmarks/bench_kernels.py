"""convlab kernels against PyTorch's CPU kernels, in one process, timed alternately.

Run: ``.venv/bin/python benchmarks/bench_kernels.py [--repeats 15] [--only explorer]``

Both sides get 2 threads (``torch.set_num_threads(2)``; numba uses one per core). Each
row times convlab then torch, alternately, ``repeats`` times after one warm-up call of
each, and prints the medians and their ratio (convlab / torch, lower is better) next to
the target from issue 2. Inputs are created once per row, outside the timing. The torch
reference for ``padding="same"`` applies the asymmetric pads with ``F.pad`` first, as
Keras does; torch's max-pool rows use ``return_indices=True`` because convlab's max
pool always returns the argmax. torch is imported before ``kernels``, so torch's OpenMP
keeps its own defaults (``kernels`` asks for passive OpenMP waiting). Start-up rows run
a fresh interpreter.

This is a benchmark, not a test: timings depend on the machine and on what else runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

try:  # before kernels: see the module docstring
    import torch
    import torch.nn.functional as F
except ImportError:  # the table still shows convlab's own timings
    torch = None

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import kernels  # noqa: E402


def _median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1e3


def alternate(
    ours: Callable[[], object], theirs: Callable[[], object] | None, repeats: int
):
    """Median milliseconds of ``ours`` and ``theirs``, timed in turn.

    A short pause before each call lets the other library's worker threads go idle
    (torch's OpenMP threads spin for a while after each call and would steal a core
    from the next call), so each call is timed on an otherwise idle process.
    """
    ours()
    if theirs is not None:
        theirs()
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeats):
        time.sleep(PAUSE)
        start = time.perf_counter()
        ours()
        a.append(time.perf_counter() - start)
        if theirs is not None:
            time.sleep(PAUSE)
            start = time.perf_counter()
            theirs()
            b.append(time.perf_counter() - start)
    return _median_ms(a), (_median_ms(b) if b else float("nan"))


PAUSE = 0.01  # seconds, between timed calls

ROW = "{:58s} {:>10s} {:>9s} {:>6s} {:>7s}  {}"


class Table:
    def __init__(self) -> None:
        print(ROW.format("row", "convlab ms", "torch ms", "ratio", "target", "ok"))

    def add(
        self, name: str, ours: float | None, theirs: float, target: float | None
    ) -> None:
        if ours is None:
            cells = (name, "n/a", f"{theirs:.2f}", "n/a", _fmt_target(target), "")
        else:
            ratio = ours / theirs if theirs == theirs else float("nan")
            ok = (
                ""
                if target is None or ratio != ratio
                else ("yes" if ratio <= target else "NO")
            )
            cells = (
                name,
                f"{ours:.2f}",
                f"{theirs:.2f}",
                f"{ratio:.2f}",
                _fmt_target(target),
                ok,
            )
        print(ROW.format(*cells))
        sys.stdout.flush()


def _fmt_target(target: float | None) -> str:
    return "" if target is None else f"<={target:g}"


def _torch_same(x, w, stride):
    kh, kw = w.shape[2:]
    top, bottom, left, right = kernels.resolve_padding(
        "same", x.shape[2:], (kh, kw), stride
    )
    return F.conv2d(F.pad(x, (left, right, top, bottom)), w, stride=stride)


def _path(x, w, s):
    return kernels.max_pool2d(kernels.relu(kernels.conv2d(x, w, None, s, "same")), 2)


def _torch_path(xt, wt, s):
    return F.max_pool2d(F.relu(_torch_same(xt, wt, s)), 2)


def explorer(table: Table, repeats: int, rng) -> None:
    for shape, strides, target1 in (
        ((1, 3, 512, 512), (1, 2), 0.8),
        ((1, 1, 1024, 1024), (1,), 0.6),
    ):
        x = rng.random(shape, dtype=np.float32)
        xt = torch.from_numpy(x) if torch else None
        for k in (3, 5, 11):
            w = rng.standard_normal((8, shape[1], k, k)).astype(np.float32)
            wt = torch.from_numpy(w) if torch else None
            for s in strides:
                target = target1 if s == 1 else 1.5
                label = f"{'x'.join(map(str, shape))} 8x{k}x{k} s{s} same"
                ours = partial(kernels.conv2d, x, w, None, s, "same")
                theirs = partial(_torch_same, xt, wt, s) if torch else None
                a, b = alternate(ours, theirs, repeats)
                table.add(f"{label}: conv", a, b, target)
                if shape[1] != 3:
                    continue
                path = partial(_path, x, w, s)
                torch_path = partial(_torch_path, xt, wt, s)
                a, b = alternate(path, torch_path if torch else None, repeats)
                table.add(f"{label}: conv+relu+maxpool2", a, b, target)


def training(table: Table, repeats: int, rng) -> None:
    x = rng.standard_normal((128, 32, 14, 14)).astype(np.float32)
    w = (rng.standard_normal((64, 32, 3, 3)) * 0.1).astype(np.float32)
    b = rng.standard_normal(64).astype(np.float32)
    g = rng.standard_normal((128, 64, 14, 14)).astype(np.float32)
    if torch:
        xt, wt, bt, gt = (torch.from_numpy(v) for v in (x, w, b, g))
        args = ([1, 1], [1, 1], [1, 1], False, [0, 0], 1)

        def t_fwd():
            return F.conv2d(xt, wt, bt, padding=1)

        def t_gin():
            return torch.ops.aten.convolution_backward(
                gt, xt, wt, None, *args, [True, False, False]
            )

        def t_gw():
            return torch.ops.aten.convolution_backward(
                gt, xt, wt, None, *args, [False, True, False]
            )
    else:
        t_fwd = t_gin = t_gw = None
    label = "train 128x32x14x14 * 64x32x3x3 pad 1"
    rows = (
        ("forward", lambda: kernels.conv2d(x, w, b, 1, 1), t_fwd),
        ("grad input", lambda: kernels.conv2d_grad_input(g, x.shape, w, 1, 1), t_gin),
        ("grad weight", lambda: kernels.conv2d_grad_weight(g, x, w.shape, 1, 1), t_gw),
    )
    for name, ours, theirs in rows:
        a, bt_ = alternate(ours, theirs, repeats)
        table.add(f"{label}: {name}", a, bt_, 2.0)


def pooling(table: Table, repeats: int, rng) -> None:
    for shape in ((1, 8, 512, 512), (128, 64, 14, 14)):
        x = rng.standard_normal(shape).astype(np.float32)
        label = f"pool {'x'.join(map(str, shape))} 2x2"
        xt = torch.from_numpy(x) if torch else None
        _, idx = kernels.max_pool2d(x, 2)
        g = rng.standard_normal(
            (shape[0], shape[1], shape[2] // 2, shape[3] // 2)
        ).astype(np.float32)
        gt = torch.from_numpy(g) if torch else None
        t_idx = F.max_pool2d(xt, 2, return_indices=True)[1] if torch else None
        aten = torch.ops.aten if torch else None
        cases = (
            (
                "max fwd",
                partial(kernels.max_pool2d, x, 2),
                partial(F.max_pool2d, xt, 2, return_indices=True) if torch else None,
            ),
            (
                "max bwd",
                partial(kernels.max_pool2d_backward, g, idx, x.shape),
                partial(
                    aten.max_pool2d_with_indices_backward,
                    gt,
                    xt,
                    [2, 2],
                    [2, 2],
                    [0, 0],
                    [1, 1],
                    False,
                    t_idx,
                )
                if torch
                else None,
            ),
            (
                "avg fwd",
                partial(kernels.avg_pool2d, x, 2),
                partial(F.avg_pool2d, xt, 2) if torch else None,
            ),
            (
                "avg bwd",
                partial(kernels.avg_pool2d_backward, g, x.shape, 2),
                partial(
                    aten.avg_pool2d_backward,
                    gt,
                    xt,
                    [2, 2],
                    [2, 2],
                    [0, 0],
                    False,
                    True,
                    None,
                )
                if torch
                else None,
            ),
        )
        for name, ours, theirs in cases:
            a, b = alternate(ours, theirs, repeats)
            table.add(f"{label}: {name}", a, b, 0.3)


_STARTUP = """
import time
start = time.perf_counter()
import numpy as np
import kernels
x = np.random.default_rng(0).random((1, 3, 512, 512), dtype=np.float32)
w = np.ones((8, 3, 3, 3), np.float32)
kernels.conv2d(x, w, None, 1, "same")
print(time.perf_counter() - start)
"""


def _fresh(env: dict[str, str]) -> tuple[float, float]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _STARTUP],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1]), time.perf_counter() - start


def startup(table: Table, repeats: int) -> None:
    env = dict(os.environ)
    _fresh(env)  # make sure the cache holds this version of the kernels
    warm = [_fresh(env) for _ in range(max(3, repeats // 5))]
    inner = statistics.median(w[0] for w in warm) * 1e3
    wall = statistics.median(w[1] for w in warm) * 1e3
    table.add(
        f"start-up, warm cache: import + first conv (process {wall:.0f} ms)",
        inner,
        float("nan"),
        None,
    )
    print(f"{'':58s} target: <= 500 ms -> {'yes' if inner <= 500 else 'NO'}")
    with tempfile.TemporaryDirectory() as empty:
        cold_env = dict(env, NUMBA_CACHE_DIR=empty)
        inner_cold, wall_cold = _fresh(cold_env)
    table.add(
        f"start-up, empty cache: import + first conv (process {wall_cold:.1f} s)",
        inner_cold * 1e3,
        float("nan"),
        None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument(
        "--only",
        choices=("explorer", "training", "pooling", "startup"),
        action="append",
    )
    args = parser.parse_args()
    if torch:
        torch.set_num_threads(2)
    import numba

    print(
        f"numpy {np.__version__}, numba {numba.__version__} ({numba.get_num_threads()} "
        f"threads, layer {numba.config.THREADING_LAYER}), torch "
        f"{torch.__version__ if torch else 'not installed'}; {os.cpu_count()} CPUs; "
        f"medians of {args.repeats}, alternate timing"
    )
    kernels.warmup()
    rng = np.random.default_rng(0)
    table = Table()
    sections = args.only or ["explorer", "training", "pooling", "startup"]
    if "explorer" in sections:
        explorer(table, args.repeats, rng)
    if "training" in sections:
        training(table, args.repeats, rng)
    if "pooling" in sections:
        pooling(table, args.repeats, rng)
    if "startup" in sections:
        startup(table, args.repeats)


if __name__ == "__main__":
    main()
