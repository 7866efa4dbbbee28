"""Slow, obviously-correct references for the convolution kernels (float64 numpy), and
central finite differences.

Nothing here imports ``kernels``: "same" padding, the padded input and the fold-back of
the padding's gradient are all computed independently, with ``np.pad``.
"""

from __future__ import annotations

import numpy as np

NP_MODE = {
    "zeros": "constant",
    "reflect": "reflect",
    "replicate": "edge",
    "circular": "wrap",
}


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's "same": output ceil(size / stride); the odd extra pad goes after."""
    out = -(-size // stride)
    effective = dilation * (kernel - 1) + 1
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def pads4(padding, in_hw, kernel_hw, stride, dilation) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) for any padding argument conv2d accepts."""
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        return same_pads(in_hw[0], kernel_hw[0], sh, dh) + same_pads(
            in_hw[1], kernel_hw[1], sw, dw
        )
    if isinstance(padding, int):
        return (padding,) * 4
    if len(padding) == 2:
        return (padding[0], padding[0], padding[1], padding[1])
    return tuple(padding)


def pad(x, pads, mode):
    top, bottom, left, right = pads
    return np.pad(
        np.asarray(x, np.float64),
        ((0, 0), (0, 0), (top, bottom), (left, right)),
        mode=NP_MODE[mode],
    )


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, padding_mode="zeros"):
    """out[n, f, oy, ox] = bias[f] + sum(window(n, oy, ox) * weight[f]), per pixel."""
    x = np.asarray(x, np.float64)
    weight = np.asarray(weight, np.float64)
    n_batch, _, height, width = x.shape
    n_filters, _, kh, kw = weight.shape
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    xp = pad(
        x, pads4(padding, (height, width), (kh, kw), stride, dilation), padding_mode
    )
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    oh = (xp.shape[2] - span_h) // sh + 1
    ow = (xp.shape[3] - span_w) // sw + 1
    out = np.zeros((n_batch, n_filters, oh, ow))
    for n in range(n_batch):
        for f in range(n_filters):
            for oy in range(oh):
                for ox in range(ow):
                    y, x0 = oy * sh, ox * sw
                    window = xp[n, :, y : y + span_h : dh, x0 : x0 + span_w : dw]
                    # cross-correlation: the kernel is not flipped
                    out[n, f, oy, ox] = np.sum(window * weight[f])
            if bias is not None:
                out[n, f] += bias[f]
    return out


def conv2d_grads(
    grad_out, x, weight, stride=1, padding=0, dilation=1, padding_mode="zeros"
):
    """(grad_x, grad_weight, grad_bias) of sum(conv2d(...) * grad_out), by loops.

    The gradient lands on the padded input first; each padded cell is then added to the
    input cell it copied, found by padding an array of cell numbers the same way.
    """
    x = np.asarray(x, np.float64)
    weight = np.asarray(weight, np.float64)
    grad_out = np.asarray(grad_out, np.float64)
    n_batch, channels, height, width = x.shape
    n_filters, _, kh, kw = weight.shape
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    pads = pads4(padding, (height, width), (kh, kw), stride, dilation)
    xp = pad(x, pads, padding_mode)
    gxp = np.zeros_like(xp)
    gw = np.zeros_like(weight)
    _, _, oh, ow = grad_out.shape
    for n in range(n_batch):
        for f in range(n_filters):
            for oy in range(oh):
                for ox in range(ow):
                    g = grad_out[n, f, oy, ox]
                    for c in range(channels):
                        for ky in range(kh):
                            for kx in range(kw):
                                iy, ix = oy * sh + ky * dh, ox * sw + kx * dw
                                gxp[n, c, iy, ix] += g * weight[f, c, ky, kx]
                                gw[f, c, ky, kx] += g * xp[n, c, iy, ix]
    top, bottom, left, right = pads
    cells = np.arange(height * width, dtype=np.float64).reshape(1, 1, height, width)
    if padding_mode == "zeros":
        source = np.pad(
            cells, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=-1
        )[0, 0]
    else:
        source = pad(cells, pads, padding_mode)[0, 0]
    gx = np.zeros_like(x)
    for py in range(source.shape[0]):
        for px in range(source.shape[1]):
            s = int(source[py, px])
            if s >= 0:
                gx[:, :, s // width, s % width] += gxp[:, :, py, px]
    return gx, gw, grad_out.sum(axis=(0, 2, 3))


def central_difference(f, array, eps, indices=None):
    """Central finite differences of the scalar ``f()`` with respect to entries of
    ``array``, which ``f`` reads and which is perturbed in place and restored: every
    entry, or only the flat ``indices`` given (the rest stay 0). Float64 result of the
    array's shape. The one finite-difference helper of the suite."""
    grad = np.zeros(array.shape, np.float64)
    flat, gflat = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size) if indices is None else indices:
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def numeric_grad(f, x, g, eps):
    """Central finite differences of ``sum(g * f(x))`` with respect to each entry of
    ``x`` (float64, contiguous; perturbed in place and restored)."""
    return central_difference(lambda: np.sum(g * f(x)), x, eps).astype(x.dtype)
