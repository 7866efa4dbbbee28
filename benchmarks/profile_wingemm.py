"""Stage breakdown of the Winograd-sgemm path (kernels._conv_wingemm), one thread.

Run: ``.venv/bin/python benchmarks/profile_wingemm.py [--inner 20]``

For each training layer on the path, one chunk of the size the path uses, the
median thread-CPU time of each stage (input transform, sgemm, output transform; grad
output transform, transposed sgemm, input-gradient transform; the weight gradient's
long-K sgemm) in ms and in ns per transformed value, and the sgemm's GFLOP/s; then
each whole pass on the batch, one thread (its chunks read the input from memory,
where the stage rows reuse one chunk's), and ``backward`` (both gradients, one
grad_out transform). Not a test: figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kernels import _conv_wingemm as wg  # noqa: E402

LAYERS = (
    ((128, 32, 14, 14), 64, 1),
    ((128, 32, 28, 28), 32, 0),
    ((32, 64, 16, 16), 128, 1),
)


def _time(fn, inner):
    fn()
    samples = []
    for _ in range(inner):
        t0 = time.thread_time_ns()
        fn()
        samples.append((time.thread_time_ns() - t0) / 1e6)
    return statistics.median(samples)


def _layer(rng, n, c, h, w, f, p, inner_calls):
    """The stage rows of one layer (one chunk of the size the path uses)."""
    rows = []
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    oh, ow = h + 2 * p - 2, w + 2 * p - 2
    g = rng.standard_normal((n, f, oh, ow), dtype=np.float32)
    weight = rng.standard_normal((f, c, 3, 3), dtype=np.float32)
    bias = np.zeros(f, np.float32)
    out = np.empty((n, f, oh, ow), np.float32)
    gx = np.empty((n, c, h, w), np.float32)
    th, tw = wg._tile_counts(oh, ow)
    tiles = th * tw
    nb = wg._images_per_chunk(n, tiles, c + f)
    length = nb * tiles
    u = wg._weights(weight)
    u_t = np.ascontiguousarray(u.transpose(0, 2, 1))
    vb, v = wg._staggered(c, length)
    tb, t = wg._staggered(length, c)
    mb, m = wg._staggered(f, length)
    zb, z = wg._staggered(f, length)
    sb, s = wg._staggered(c, length)
    d_u = np.empty((16, f, c), np.float32)
    stages = {
        "input_tiles": (
            lambda: wg._input_tiles(x, 0, nb, p, p, th, tw, vb),
            16 * c * length,
        ),
        "input_tiles V^T": (
            lambda: wg._input_tiles_strided(x, 0, nb, p, p, th, tw, tb, 1, c),
            16 * c * length,
        ),
        "fwd sgemm": (lambda: np.matmul(u, v, out=m), None),
        "output_tiles": (
            lambda: wg._output_tiles(mb, nb, bias, th, tw, out, 0),
            16 * f * length,
        ),
        "grad_tiles": (
            lambda: wg._grad_tiles(g, 0, nb, th, tw, zb),
            16 * f * length,
        ),
        "gi sgemm": (lambda: np.matmul(u_t, z, out=s), None),
        "input_grad_tiles": (
            lambda: wg._input_grad_tiles(sb, nb, th, tw, p, p, gx, 0),
            16 * c * length,
        ),
        "gw sgemm Z V^T": (
            lambda: np.matmul(z, v.transpose(0, 2, 1), out=d_u),
            None,
        ),
        "gw sgemm on V^T": (lambda: np.matmul(z, t, out=d_u), None),
    }
    label = f"{n}x{c}x{h}x{w}->{f} p{p} chunk {nb} img ({length} tiles)"
    for name, (fn, values) in stages.items():
        ms = _time(fn, inner_calls)
        flop = 2 * 16 * f * c * length
        extra = (
            f"{ms * 1e6 / values:6.2f} ns/value"
            if values
            else f"{flop / ms / 1e6:6.1f} GFLOP/s"
        )
        # per whole batch: chunks = n / nb
        rows.append((label, name, ms, ms * n / nb, extra))
    one = (1, 1)
    pads = (p,) * 4
    partial = np.empty((1, f, c * 9), np.float32)
    passes = {
        "pass forward": lambda: wg.forward(
            x, weight, bias, pads, one, one, "zeros", out
        ),
        "pass grad input": lambda: wg.grad_input(
            g, weight, x.shape, pads, one, one, "zeros"
        ),
        "pass grad weight": lambda: wg.grad_weight(
            g, x, pads, one, one, "zeros", (3, 3), partial
        ),
        "pass backward": lambda: wg.backward(g, weight, x, pads, "zeros", partial),
    }
    for name, fn in passes.items():
        ms = _time(fn, max(3, inner_calls // 4))
        rows.append((f"{n}x{c}x{h}x{w}->{f} p{p} whole batch", name, ms, ms, ""))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inner", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    numba.set_num_threads(1)  # one worker: the passes run their chunks in turn
    with wg.one_thread_blas():
        for (n, c, h, w), f, p in LAYERS:
            rows += _layer(rng, n, c, h, w, f, p, args.inner)
    print(f"{'layer':44s} {'stage':18s} {'chunk ms':>9s} {'batch ms':>9s}  rate")
    for label, name, ms, batch, extra in rows:
        print(f"{label:44s} {name:18s} {ms:9.3f} {batch:9.2f}  {extra}")


if __name__ == "__main__":
    main()
