"""Compile every kernel once, on tiny inputs.

With ``cache=True`` the first process pays the compile (seconds per parallel kernel) and
writes machine code to the per-user cache; later processes load it in well under a
second. The GUI calls :func:`warmup` on a worker thread at start-up so the first slider
drag never waits on a compile.
"""

from __future__ import annotations

import numpy as np

__all__ = ["warmup"]


def _conv() -> None:
    from .conv import conv2d, conv2d_backward
    from .padding import pad2d, pad2d_backward

    x = np.zeros((2, 2, 5, 5), np.float32)
    w = np.zeros((3, 2, 3, 3), np.float32)
    # stride 1 and stride 2 take the same kernels with different plane counts; an odd
    # filter count exercises the single-filter tail; reflect goes through the index maps
    for stride, mode in ((1, "zeros"), (2, "reflect")):
        out = conv2d(x, w, np.zeros(3, np.float32), stride, 1, padding_mode=mode)
        conv2d_backward(out, x, w, stride, 1, padding_mode=mode)
    # 3x3 stride 1 with >= 8 channels and filters: the Winograd pass and its adjoint
    x8 = np.zeros((1, 8, 4, 4), np.float32)
    w8 = np.zeros((8, 8, 3, 3), np.float32)
    conv2d_backward(conv2d(x8, w8, None, 1, 1), x8, w8, 1, 1)
    pad2d_backward(pad2d(x, 1, "reflect"), 1, "reflect")


def warmup() -> None:
    """Compile every kernel (convolution, padding, pooling, activations) on tiny inputs.

    Safe to call from a worker thread, and cheap once the cache is warm.

    >>> warmup()
    """
    from . import activations, pooling

    _conv()
    pooling._warmup()
    activations._warmup()
