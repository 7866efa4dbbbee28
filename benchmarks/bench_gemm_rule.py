"""Where the GEMM path (kernels._conv_gemm) beats the existing conv path, per shape.

Run: ``.venv/bin/python benchmarks/bench_gemm_rule.py [--set training|grid|all]
[--repeats 5]``

For each shape and op (forward, grad input, grad weight) it times, in turn in one
process (both are convlab; torch is not imported): the public ``kernels.conv2d`` /
``conv2d_grad_input`` / ``conv2d_grad_weight`` and the GEMM path under three thread
policies:

* ``g1``: numba-parallel im2col, OpenBLAS held to 1 thread (what the training loop's
  ``one_blas_thread`` gives);
* ``g2``: numba-parallel im2col, OpenBLAS at 2 threads;
* ``w2``: 2 worker threads, each with a serial im2col and a 1-thread sgemm on its own
  images (``workers=2``; OpenBLAS held to 1 thread).

Figures are the *minimum* of ``--repeats`` calls after a warm-up (on a shared machine
the minimum is the closest to an uncontended run; the medians are printed too), and
the speed-up ``existing / best GEMM policy``. This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import kernels  # noqa: E402
from kernels import _conv_gemm  # noqa: E402

TRAINING = [
    ((128, 32, 14, 14), 64, 3, 1),
    ((128, 32, 28, 28), 32, 3, 0),
    ((128, 3, 32, 32), 32, 3, 1),
    ((32, 64, 16, 16), 128, 3, 1),
]


def grid():
    for n in (1, 16, 128):
        for c in (1, 3, 16, 64):
            for size in (14, 32, 64):
                f = max(8, min(64, 2 * c))
                if n * c * size * size > 128 * 16 * 32 * 32:  # keep each call < ~1 s
                    continue
                yield ((n, c, size, size), f, 3, 1)


def _time(fn, repeats):
    fn()
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("training", "grid", "all"), default="all")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    shapes = []
    if args.set in ("training", "all"):
        shapes += TRAINING
    if args.set in ("grid", "all"):
        shapes += list(grid())
    rng = np.random.default_rng(0)
    kernels.warmup()
    print(
        f"{'shape':34s} {'op':11s} {'existing':>9s} {'g1':>8s} {'g2':>8s} {'w2':>8s}"
        f" {'speed-up':>8s} best  (min ms; medians in brackets)"
    )
    for shape, n_filters, k, pad in shapes:
        measure(shape, n_filters, k, pad, rng, args.repeats)


def _ops(x, w, g, pad):
    pads, one = (pad,) * 4, (1, 1)
    return {
        "forward": (
            lambda: kernels.conv2d(x, w, None, 1, pad),
            lambda wk: _conv_gemm.conv2d_gemm(x, w, None, pads, one, one, workers=wk),
        ),
        "grad input": (
            lambda: kernels.conv2d_grad_input(g, x.shape, w, 1, pad),
            lambda wk: _conv_gemm.conv2d_grad_input_gemm(
                g, x.shape, w, pads, one, one, workers=wk
            ),
        ),
        "grad weight": (
            lambda: kernels.conv2d_grad_weight(g, x, w.shape, 1, pad),
            lambda wk: _conv_gemm.conv2d_grad_weight_gemm(
                g, x, w.shape, pads, one, one, workers=wk
            ),
        ),
    }


def measure(shape, n_filters, k, pad, rng, repeats) -> None:
    from threadpoolctl import threadpool_limits

    x = rng.standard_normal(shape).astype(np.float32)
    w = (rng.standard_normal((n_filters, shape[1], k, k)) * 0.1).astype(np.float32)
    oh, ow = shape[2] + 2 * pad - k + 1, shape[3] + 2 * pad - k + 1
    g = rng.standard_normal((shape[0], n_filters, oh, ow)).astype(np.float32)
    label = f"{'x'.join(map(str, shape))}->{n_filters} {k}x{k} p{pad}"
    for op, (existing, gemm) in _ops(x, w, g, pad).items():
        with threadpool_limits(1, user_api="blas"):
            t_old = _time(existing, repeats)
            t_g1 = _time(lambda gemm=gemm: gemm(1), repeats)
            t_w2 = _time(lambda gemm=gemm: gemm(2), repeats)
        with threadpool_limits(2, user_api="blas"):
            t_g2 = _time(lambda gemm=gemm: gemm(1), repeats)
        mins = [min(t) * 1e3 for t in (t_old, t_g1, t_g2, t_w2)]
        meds = [statistics.median(t) * 1e3 for t in (t_old, t_g1, t_g2, t_w2)]
        best = int(np.argmin(mins[1:]))
        print(
            f"{label:34s} {op:11s}"
            + "".join(f" {m:8.2f}" for m in mins)
            + f" {mins[0] / mins[1 + best]:8.2f} {('g1', 'g2', 'w2')[best]:4s}"
            + "  ["
            + " ".join(f"{m:.1f}" for m in meds)
            + "]"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
