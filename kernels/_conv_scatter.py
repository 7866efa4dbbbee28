"""The input gradient by the formula's own scatter, for weights that are not finite.

The flipped-kernel convolution would multiply its zero padding by inf and report NaN
where the formula (and PyTorch) has none. Slow, and only taken for such weights.
"""

from __future__ import annotations

import numpy as np

from ._jit import njit_parallel, prange


@njit_parallel
def _grad_input_scatter(g, w, sh, sw, dh, dw, gxp):
    """gxp (N, C, HP, WP), the gradient of the padded input, by the formula's own
    scatter: ``gxp[n, c, oy*sh + ky*dh, ox*sw + kx*dw] += w[f, c, ky, kx] * g[n, f, oy,
    ox]``. Slow; for weights that are not finite, where the flipped-kernel convolution
    would multiply its zero padding by inf and report NaN the formula does not have."""
    n_batch, n_filters, oh, ow = g.shape
    channels, kh, kw = w.shape[1], w.shape[2], w.shape[3]
    for nc in prange(n_batch * channels):
        n = nc // channels
        c = nc % channels
        dst = gxp[n, c]
        dst[:, :] = 0.0
        for f in range(n_filters):
            for ky in range(kh):
                for kx in range(kw):
                    wt = w[f, c, ky, kx]
                    for oy in range(oh):
                        row = dst[oy * sh + ky * dh]
                        src = g[n, f, oy]
                        for ox in range(ow):
                            row[ox * sw + kx * dw] += wt * src[ox]


def grad_input_padded(g, w, x_shape, pads, stride, dilation):
    """The gradient of the padded input, (N, C, HP, WP); the caller crops or folds
    the padding."""
    n_batch, channels, in_h, in_w = x_shape
    top, bottom, left, right = pads
    gxp = np.empty(
        (n_batch, channels, in_h + top + bottom, in_w + left + right), np.float32
    )
    _grad_input_scatter(g, w, *stride, *dilation, gxp)
    return gxp
