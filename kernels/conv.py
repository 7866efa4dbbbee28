"""2-D convolution (cross-correlation, as PyTorch and Keras compute it) and its gradients.

PLACEHOLDER forward: correct but unoptimised. The kernels work (issue 2) replaces the loop
and adds the backward pass behind the same signatures.
"""

from __future__ import annotations

import numpy as np

from . import _checks
from ._jit import njit
from .padding import pad2d
from .shapes import conv2d_output_shape, resolve_padding

__all__ = ["conv2d"]


@njit
def _conv2d_valid(xp, weight, bias, sh, sw, dh, dw, out):
    n_batch, channels = xp.shape[0], xp.shape[1]
    n_filters, _, kh, kw = weight.shape
    oh, ow = out.shape[2], out.shape[3]
    for n in range(n_batch):
        for f in range(n_filters):
            for oy in range(oh):
                for ox in range(ow):
                    acc = bias[f]
                    for c in range(channels):
                        for ky in range(kh):
                            for kx in range(kw):
                                # cross-correlation: no kernel flip
                                acc += weight[f, c, ky, kx] * xp[n, c, oy * sh + ky * dh, ox * sw + kx * dw]
                    out[n, f, oy, ox] = acc


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, padding_mode="zeros"):
    """2-D cross-correlation. See the module docstring of ``kernels``."""
    x4, ndim = _checks.as_nchw(x, "x")
    w = _checks.as_float32(weight, "weight")
    if w.ndim != 4:
        raise ValueError(f"`weight` must have shape (F, C, KH, KW). Received: weight.shape={w.shape}")
    f, c, kh, kw = w.shape
    if x4.shape[1] != c:
        raise ValueError(f"`x` has {x4.shape[1]} channels but `weight` expects {c}.")
    sh, sw = _checks.pair(stride, "stride")
    dh, dw = _checks.pair(dilation, "dilation")
    mode = _checks.padding_mode(padding_mode)
    pads = resolve_padding(padding, x4.shape[2:], (kh, kw), (sh, sw), (dh, dw))
    oh, ow = conv2d_output_shape(x4.shape[2:], (kh, kw), (sh, sw), pads, (dh, dw))
    b = np.zeros(f, np.float32) if bias is None else _checks.as_float32(bias, "bias")
    xp = pad2d(x4, pads, mode) if any(pads) else x4
    out = np.empty((x4.shape[0], f, oh, ow), np.float32)
    _conv2d_valid(xp, w, b, sh, sw, dh, dw, out)
    return out if ndim == 4 else (out[0] if ndim == 3 else out[0])
