"""2-D convolution (cross-correlation, as PyTorch and Keras compute it), and gradients.

This module checks the arguments, resolves the geometry, and lets :func:`_plan` name
the algorithm each pass takes; the algorithms live one per private module, all built
on the 8-tap row loop of :mod:`kernels._conv_rows`:

- ``"planes"`` (:mod:`kernels._conv_planes`): phase planes; any stride, dilation and
  padding mode, the path everything else falls back to;
- ``"blocks"`` (:mod:`kernels._conv_planes`): the same passes for wide images (the
  explorer's photo), each block of output rows gathering its own planes;
- ``"wide"`` (:mod:`kernels._conv_wide`): stride 1, a batch of small images, many
  images per pass of the row loop;
- ``"winograd"`` (:mod:`kernels._conv_winograd`): F(2x2, 3x3) and its exact adjoint for
  3x3 stride-1 layers with >= 8 channels and filters and finite data;
- ``"wingemm"`` (:mod:`kernels._conv_wingemm`): the same transforms with the sums over
  channels as BLAS sgemm, all three passes, for such layers with much work (a
  training batch);
- ``"dots"`` (:mod:`kernels._conv_dots`): the weight gradient as dot products, few
  taps on small finite images;
- ``"gemm"`` (:mod:`kernels._conv_gemm`): im2col and one sgemm per image, forward
  and weight gradient of layers with few taps (a colour or grey first layer) and
  >= 16 filters on a batch of small images;
- ``"scatter"`` (:mod:`kernels._conv_scatter`): the input gradient when a weight is
  not finite.

The gradient with respect to the input is, outside "winograd", "wingemm" and
"scatter", the convolution of ``grad_out`` (with ``stride - 1`` zeros between its
pixels) with the flipped, transposed weights, itself run by a forward path
(``"flip-planes"`` and so on); for ``padding_mode != "zeros"`` the gradient of the
padded input is folded back by :func:`kernels.pad2d_backward`. The thresholds that
choose a path, and the sizes that shape its work items, are in :mod:`kernels.config`
with the measurements behind them.

Parallel loops (``prange``) run over (image, block of rows), over (image, channel) or
over chunks of images, so no two threads write the same element; see ``_jit.py`` for
the threading layer. "wingemm" alone runs on its own worker threads (serial numba
loops, one-thread sgemm each; see its module).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from . import (
    _checks,
    _conv_dots,
    _conv_gemm,
    _conv_planes,
    _conv_scatter,
    _conv_wide,
    _conv_wingemm,
    _conv_winograd,
    config,
)
from ._jit import njit_reassoc_parallel, prange
from .padding import check_padding_geometry, pad2d_backward
from .shapes import _output_hw, resolve_padding

__all__ = ["conv2d", "conv2d_backward", "conv2d_grad_input", "conv2d_grad_weight"]

# Each path's runner, by the name the plan gives it. Forward runners take
# (x4, weight, bias, pads, stride, dilation, mode, out) and fill ``out``; grad-weight
# runners (g, x4, pads, stride, dilation, mode, kernel_hw, partial) fill per-chunk sums;
# grad-input runners (g, w, x_shape, pads, stride, dilation) return the gradient of the
# padded input (at least HP x WP). A new path adds its runner here and its rule to
# _plan.
_FORWARD = {
    "planes": _conv_planes.forward,
    "blocks": _conv_planes.forward_blocks,
    "wide": _conv_wide.forward,
    "winograd": _conv_winograd.forward,
    "wingemm": _conv_wingemm.forward,
    "gemm": _conv_gemm.forward,
}
_GRAD_WEIGHT = {
    "planes": _conv_planes.grad_weight,
    "wide": _conv_wide.grad_weight,
    "dots": _conv_dots.grad_weight,
    "wingemm": _conv_wingemm.grad_weight,
    "gemm": _conv_gemm.grad_weight,
}
_GRAD_INPUT = {
    "scatter": _conv_scatter.grad_input_padded,
    "winograd": _conv_winograd.grad_input_padded,
    "wingemm": _conv_wingemm.grad_input,
}
# these take the padding mode too and return the gradient of x itself
_GRAD_INPUT_UNPADDED = frozenset({"wingemm"})
_FLIP = "flip-"  # grad input as a forward path over the flipped kernel: "flip-planes"


@njit_reassoc_parallel
def _grad_bias(g, out):
    """out[f] = sum of g[:, f] (g: N, F, pixels), accumulated in float64. The sum runs
    in vector lanes (``reassoc``): a different order of float64 additions of float32
    values, and inf or NaN in ``g`` still give inf or NaN."""
    n_batch, n_filters, n_pixels = g.shape
    for f in prange(n_filters):
        total = 0.0
        for n in range(n_batch):
            row = g[n, f]
            for q in range(n_pixels):
                total += np.float64(row[q])
        out[f] = total


# --------------------------------------------------------------------------- checks


class _Geometry:
    """Validated arguments of one convolution."""

    def __init__(self, x_shape, weight_shape, stride, padding, dilation, padding_mode):
        n_filters, channels, kh, kw = weight_shape
        if kh == 0 or kw == 0 or n_filters == 0 or channels == 0:
            raise ValueError(
                "`weight` must have a non-empty shape (F, C, KH, KW) with "
                "F, C, KH, KW >= 1. "
                f"Received: weight.shape={tuple(weight_shape)}"
            )
        if x_shape[1] != channels:
            raise ValueError(
                f"`x` has {x_shape[1]} channels but `weight` expects {channels}: "
                f"x.shape={tuple(x_shape)} (N, C, H, W), "
                f"weight.shape={tuple(weight_shape)} (F, C, KH, KW)."
            )
        self.stride = _checks.pair(stride, "stride")
        self.dilation = _checks.pair(dilation, "dilation")
        self.mode = _checks.padding_mode(padding_mode)
        in_hw = (int(x_shape[2]), int(x_shape[3]))
        self.pads = resolve_padding(
            padding, in_hw, (kh, kw), self.stride, self.dilation
        )
        # arguments checked and resolved above: the size arithmetic alone
        self.out_hw = _output_hw(
            in_hw, (int(kh), int(kw)), self.stride, self.pads, self.dilation
        )
        check_padding_geometry(in_hw[0], in_hw[1], self.pads, self.mode, "padding")
        # One output along an axis reads one window whatever the stride: compute with
        # the smallest stride that still gives one, since the phase planes hold
        # stride_h * stride_w planes (stride 10**6 on 8x8 asked for 7 TiB).
        top, bottom, left, right = self.pads
        self.stride = (
            _one_window_stride(
                self.out_hw[0],
                self.stride[0],
                in_hw[0] + top + bottom,
                kh,
                self.dilation[0],
            ),
            _one_window_stride(
                self.out_hw[1],
                self.stride[1],
                in_hw[1] + left + right,
                kw,
                self.dilation[1],
            ),
        )
        self.x_shape = tuple(int(v) for v in x_shape)
        self.weight_shape = tuple(int(v) for v in weight_shape)


def _one_window_stride(out: int, stride: int, padded: int, k: int, d: int) -> int:
    if out != 1:
        return stride
    return min(stride, max(1, padded - (d * (int(k) - 1) + 1) + 1))


def _weight4(weight: object) -> np.ndarray:
    w = _checks.as_float32(weight, "weight")
    if w.ndim != 4:
        raise ValueError(
            f"`weight` must have shape (F, C, KH, KW). Received: weight.shape={w.shape}"
        )
    return w


def _bias(bias: object, n_filters: int) -> np.ndarray:
    if bias is None:
        return np.zeros(n_filters, np.float32)
    b = _checks.as_float32(bias, "bias")
    if b.shape != (n_filters,):
        raise ValueError(
            f"`bias` must have shape (F,) = ({n_filters},), one value per filter. "
            f"Received: bias.shape={b.shape}"
        )
    return b


def _grad_out4(grad_out: object, expected: tuple[int, int, int, int]) -> np.ndarray:
    g = _checks.as_float32(grad_out, "grad_out")
    if g.shape != expected:
        raise ValueError(
            f"`grad_out` must have the convolution's output shape (N, F, OH, OW) = "
            f"{expected}. Received: grad_out.shape={g.shape}"
        )
    return g


# ------------------------------------------------------------------------------ plan


@dataclass(frozen=True)
class _Plan:
    """The path each pass takes (a name from the table in the module docstring), or
    None for a pass the arrays given to :func:`_plan` do not feed."""

    forward: str | None
    grad_input: str | None
    grad_weight: str | None


class _Finite:
    """Whether the named arrays are all finite, each summed at most once, and only when
    a choice asks (one pass and no boolean temporary; a sum that overflows counts as
    not finite)."""

    def __init__(self, **arrays: np.ndarray | None) -> None:
        self._arrays = arrays
        self._known: dict[str, bool] = {}

    def __call__(self, *names: str) -> bool:
        for name in names:
            if name not in self._known:
                self._known[name] = bool(np.isfinite(self._arrays[name].sum()))
            if not self._known[name]:
                return False
        return True


def _winograd_fits(weight_shape, stride, dilation) -> bool:
    n_filters, channels, kh, kw = weight_shape
    return (
        (kh, kw) == (3, 3)
        and stride == (1, 1)
        and dilation == (1, 1)
        and min(n_filters, channels) >= config.WINOGRAD_MIN_CHANNELS
    )


def _wingemm_work(x_shape, weight_shape, pads) -> int:
    """Tiles x channels x filters of the whole batch (the sgemm stage does 16
    multiply-adds each): the measure of work that picks "wingemm"."""
    n_batch, channels, in_h, in_w = x_shape
    n_filters = weight_shape[0]
    oh = in_h + pads[0] + pads[1] - 2
    ow = in_w + pads[2] + pads[3] - 2
    return n_batch * -(-oh // 2) * -(-ow // 2) * channels * n_filters


def _wide_fits(x_shape, pads, stride) -> bool:
    """Wide planes hold stride-1 batches of small images, padded (not cropped)."""
    n_batch, _, in_h, in_w = x_shape
    hp, wp = in_h + pads[0] + pads[1], in_w + pads[2] + pads[3]
    return (
        stride == (1, 1)
        and n_batch > 1
        and min(pads) >= 0
        and hp * wp <= config.WIDE_MAX_PIXELS
    )


def _gemm_fits(x_shape, weight_shape, pads, stride, dilation) -> bool:
    """im2col + sgemm for few taps, enough filters for a wide sgemm, and a batch of
    small images (each image's buffer stays in cache); any data (no finite rule)."""
    n_batch, channels, in_h, in_w = x_shape
    n_filters, _, kh, kw = weight_shape
    oh = in_h + pads[0] + pads[1] - kh + 1
    ow = in_w + pads[2] + pads[3] - kw + 1
    return (
        stride == (1, 1)
        and dilation == (1, 1)
        and n_batch >= 2
        and n_filters >= config.GEMM_MIN_FILTERS
        and channels * kh * kw <= config.GEMM_MAX_TAPS
        and oh * ow <= config.GEMM_MAX_PIXELS
    )


def _forward_path(x_shape, weight_shape, pads, stride, dilation, finite) -> str:
    """``finite()``: whether the input and the weights are finite (Winograd mixes an
    inf into NaN in outputs that never saw it)."""
    _, channels, kh, kw = weight_shape
    if _winograd_fits(weight_shape, stride, dilation) and finite():
        if _wingemm_work(x_shape, weight_shape, pads) >= config.WINGEMM_MIN_WORK:
            return "wingemm"
        return "winograd"
    if _gemm_fits(x_shape, weight_shape, pads, stride, dilation):
        return "gemm"
    if _wide_fits(x_shape, pads, stride) and channels * kh * kw >= config.WIDE_MIN_TAPS:
        return "wide"
    if -(-(x_shape[3] + pads[2] + pads[3]) // stride[1]) >= config.BLOCKS_MIN_WIDTH:
        return "blocks"  # plane width: one output row per pass
    return "planes"


def _flipped(geo: _Geometry):
    """Geometry of the grad-input convolution: ``grad_out`` with ``stride - 1`` zeros
    between its pixels, the flipped kernel with input and output channels swapped, at
    stride 1; pads may go negative (a crop to the unpadded window, zero padding)."""
    n_batch, channels, in_h, in_w = geo.x_shape
    n_filters, _, kh, kw = geo.weight_shape
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    top, bottom, left, right = geo.pads
    oh, ow = geo.out_hw
    gh, gw = (oh - 1) * sh + 1, (ow - 1) * sw + 1
    span_h, span_w = (kh - 1) * dh, (kw - 1) * dw
    if geo.mode == "zeros":
        pads = (span_h - top, in_h + top - gh, span_w - left, in_w + left - gw)
        out_hw = (in_h, in_w)
    else:
        hp, wp = in_h + top + bottom, in_w + left + right
        pads = (span_h, hp - gh, span_w, wp - gw)
        out_hw = (hp, wp)
    return (n_batch, n_filters, gh, gw), (channels, n_filters, kh, kw), pads, out_hw


def _grad_input_path(geo: _Geometry, finite: _Finite) -> str:
    if not finite("weight"):
        # the flipped-kernel convolution would meet its zero padding with inf: NaN
        return "scatter"
    if _winograd_fits(geo.weight_shape, geo.stride, geo.dilation) and finite(
        "grad_out", "weight"
    ):
        # the exact adjoint of the forward pass
        work = _wingemm_work(geo.x_shape, geo.weight_shape, geo.pads)
        return "wingemm" if work >= config.WINGEMM_MIN_WORK else "winograd"
    g_shape, w_shape, pads, _ = _flipped(geo)
    # grad_out with zeros between its pixels is as finite as grad_out
    path = _forward_path(
        g_shape, w_shape, pads, (1, 1), geo.dilation, lambda: finite("grad_out")
    )
    return _FLIP + path


def _grad_weight_path(geo: _Geometry, finite: _Finite) -> str:
    """The wide and dot paths put zeros against real pixels: finite inputs only."""
    n_filters, channels, kh, kw = geo.weight_shape
    n_taps = channels * kh * kw
    if (
        _winograd_fits(geo.weight_shape, geo.stride, geo.dilation)
        and _wingemm_work(geo.x_shape, geo.weight_shape, geo.pads)
        >= config.WINGEMM_GRAD_WEIGHT_MIN_WORK
        and finite("x", "grad_out")
    ):
        return "wingemm"
    if _gemm_fits(geo.x_shape, geo.weight_shape, geo.pads, geo.stride, geo.dilation):
        return "gemm"
    if (
        _wide_fits(geo.x_shape, geo.pads, geo.stride)
        and n_taps >= config.WIDE_MIN_TAPS
        and n_taps >= config.WIDE_GRAD_WEIGHT_MIN_TAPS
        and n_filters <= config.WIDE_GRAD_WEIGHT_MAX_FILTERS
        and finite("x")
    ):
        return "wide"
    if (
        n_taps < config.DOTS_MAX_TAPS
        and geo.x_shape[2] * geo.x_shape[3] <= config.DOTS_MAX_PIXELS
        and finite("x")
    ):
        return "dots"
    return "planes"


def _plan(
    geo: _Geometry,
    *,
    x: np.ndarray | None = None,
    weight: np.ndarray | None = None,
    grad_out: np.ndarray | None = None,
) -> _Plan:
    """Name the path of each pass the given arrays feed: the forward for ``x`` and
    ``weight`` without ``grad_out``; the input gradient for ``grad_out`` and
    ``weight``; the weight gradient for ``grad_out`` and ``x``.

    The only place a path is chosen: shapes and geometry decide, with the thresholds
    of :mod:`kernels.config`, and where a path needs finite data, the finiteness of
    the arrays (computed once each, only when the choice depends on it).
    """
    finite = _Finite(x=x, weight=weight, grad_out=grad_out)
    forward = grad_input = grad_weight = None
    if x is not None and weight is not None and grad_out is None:
        forward = _forward_path(
            geo.x_shape,
            geo.weight_shape,
            geo.pads,
            geo.stride,
            geo.dilation,
            lambda: finite("x", "weight"),
        )
    if grad_out is not None and weight is not None:
        grad_input = _grad_input_path(geo, finite)
    if grad_out is not None and x is not None:
        grad_weight = _grad_weight_path(geo, finite)
    return _Plan(forward, grad_input, grad_weight)


# --------------------------------------------------------------------------- compute


def _run_conv(path, x4, weight, bias, pads, stride, dilation, mode, out_hw, out=None):
    """Convolution of already-validated float32 arrays by the forward ``path``, into
    ``out`` (checked by the caller) or a new array."""
    if out is None:
        out = np.empty((x4.shape[0], weight.shape[0], *out_hw), np.float32)
    _FORWARD[path](x4, weight, bias, pads, stride, dilation, mode, out)
    return out


def _grad_input(path: str, g, geo: _Geometry, w: np.ndarray) -> np.ndarray:
    top, bottom, left, right = geo.pads
    in_h, in_w = geo.x_shape[2], geo.x_shape[3]
    if path.startswith(_FLIP):
        g_shape, w_shape, pads, out_hw = _flipped(geo)
        sh, sw = geo.stride
        if (sh, sw) == (1, 1):
            gd = g
        else:  # stride - 1 zeros between output pixels
            gd = np.zeros(g_shape, np.float32)
            gd[:, :, ::sh, ::sw] = g
        # flipped kernel, input and output channels swapped: the correlation's adjoint
        w_t = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
        zero_bias = np.zeros(w_shape[0], np.float32)
        forward = path[len(_FLIP) :]
        gxp = _run_conv(
            forward, gd, w_t, zero_bias, pads, (1, 1), geo.dilation, "zeros", out_hw
        )
        if geo.mode == "zeros":
            return gxp  # only the unpadded window was computed
        return pad2d_backward(gxp, geo.pads, geo.mode)
    if path in _GRAD_INPUT_UNPADDED:
        return _GRAD_INPUT[path](
            g, w, geo.x_shape, geo.pads, geo.stride, geo.dilation, geo.mode
        )
    gxp = _GRAD_INPUT[path](g, w, geo.x_shape, geo.pads, geo.stride, geo.dilation)
    if geo.mode == "zeros":
        return np.ascontiguousarray(gxp[:, :, top : top + in_h, left : left + in_w])
    hp, wp = in_h + top + bottom, in_w + left + right
    return pad2d_backward(np.ascontiguousarray(gxp[:, :, :hp, :wp]), geo.pads, geo.mode)


def _grad_weight(path: str, g, x4: np.ndarray, geo: _Geometry) -> np.ndarray:
    n_filters, channels, kh, kw = geo.weight_shape
    n_chunks = max(1, min(x4.shape[0], numba.get_num_threads()))
    partial = np.empty((n_chunks, n_filters, channels * kh * kw), np.float32)
    _GRAD_WEIGHT[path](
        g, x4, geo.pads, geo.stride, geo.dilation, geo.mode, (kh, kw), partial
    )
    return partial.sum(axis=0).reshape(geo.weight_shape)


# --------------------------------------------------------------------------- public API


def conv2d(
    x: object,
    weight: object,
    bias: object = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, int] = 1,
    padding_mode: str = "zeros",
    out: np.ndarray | None = None,
) -> np.ndarray:
    """2-D cross-correlation (no kernel flip), as ``torch.nn.functional.conv2d`` does.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W), (C, H, W) or (H, W)
        Converted to C-contiguous float32. An image (H, W) needs ``C == 1``.
    weight : ndarray, shape (F, C, KH, KW)
        Rectangular kernels are fine.
    bias : ndarray, shape (F,), optional
    stride, dilation : int or (int, int)
    padding : int, (pad_h, pad_w), (top, bottom, left, right), "valid" or "same"
        ``"same"`` follows Keras/TensorFlow: output ``ceil(input / stride)``, the odd
        extra row/column at the bottom/right.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}
    out : ndarray, shape (N, F, OH, OW), float32, C-contiguous, optional
        Where to write the result (always this 4-D shape, whatever the rank of
        ``x``): a buffer kept between calls skips the page faults of a fresh one
        (a 1x8x2160x3840 result is 265 MB). It must not overlap ``x``, ``weight`` or
        ``bias``.

    Returns
    -------
    out : ndarray, shape (N, F, OH, OW), float32
        For an (H, W) or (C, H, W) input the leading axes that were added are dropped:
        (F, OH, OW), or (OH, OW) when F == 1 and x was (H, W). With ``out`` given,
        ``out`` itself (or that view of it).

    Raises
    ------
    ValueError, TypeError
        For a bad argument (``out`` of another shape or dtype, not C-contiguous,
        read-only or overlapping an input) or an empty output, before any compute.

    Examples
    --------
    >>> x = np.arange(9, dtype=np.float32).reshape(3, 3)
    >>> conv2d(x, np.ones((1, 1, 2, 2)))
    array([[ 8., 12.],
           [20., 24.]], dtype=float32)
    >>> conv2d(x, np.ones((1, 1, 3, 3)), padding="same")[0]
    array([ 8., 15., 12.], dtype=float32)
    """
    x4, ndim = _checks.as_nchw(x, "x")
    w = _weight4(weight)
    geo = _Geometry(x4.shape, w.shape, stride, padding, dilation, padding_mode)
    b = _bias(bias, w.shape[0])
    if out is not None:
        shape = (x4.shape[0], w.shape[0], *geo.out_hw)
        _checks.out_buffer(out, shape, {"x": x4, "weight": w, "bias": b})
    path = _plan(geo, x=x4, weight=w).forward
    result = _run_conv(
        path, x4, w, b, geo.pads, geo.stride, geo.dilation, geo.mode, geo.out_hw, out
    )
    return _checks.restore_rank(result, ndim)


def conv2d_grad_input(
    grad_out: object,
    x_shape: tuple[int, int, int, int],
    weight: object,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, int] = 1,
    padding_mode: str = "zeros",
) -> np.ndarray:
    """Gradient of :func:`conv2d` with respect to ``x``.

    Parameters
    ----------
    grad_out : ndarray, shape (N, F, OH, OW)
    x_shape : (N, C, H, W)
    weight : ndarray, shape (F, C, KH, KW)
    stride, padding, dilation, padding_mode : as given to :func:`conv2d`

    Returns
    -------
    grad_x : ndarray, shape (N, C, H, W), float32

    Examples
    --------
    >>> g = np.ones((1, 1, 2, 2), np.float32)
    >>> conv2d_grad_input(g, (1, 1, 3, 3), np.ones((1, 1, 2, 2)))[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]], dtype=float32)
    """
    shape = _checks.shape4(x_shape, "x_shape")
    w = _weight4(weight)
    geo = _Geometry(shape, w.shape, stride, padding, dilation, padding_mode)
    g = _grad_out4(grad_out, (shape[0], w.shape[0], *geo.out_hw))
    return _grad_input(_plan(geo, weight=w, grad_out=g).grad_input, g, geo, w)


def conv2d_grad_weight(
    grad_out: object,
    x: object,
    weight_shape: tuple[int, int, int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, int] = 1,
    padding_mode: str = "zeros",
) -> np.ndarray:
    """Gradient of :func:`conv2d` with respect to ``weight``.

    Parameters
    ----------
    grad_out : ndarray, shape (N, F, OH, OW)
    x : ndarray, shape (N, C, H, W)
    weight_shape : (F, C, KH, KW)
    stride, padding, dilation, padding_mode : as given to :func:`conv2d`

    Returns
    -------
    grad_weight : ndarray, shape (F, C, KH, KW), float32

    Examples
    --------
    >>> x = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    >>> conv2d_grad_weight(np.ones((1, 1, 2, 2)), x, (1, 1, 2, 2))[0, 0]
    array([[ 8., 12.],
           [20., 24.]], dtype=float32)
    """
    x4, _ = _checks.as_nchw(x, "x", allow_lower_rank=False)
    shape = _checks.shape4(weight_shape, "weight_shape")
    geo = _Geometry(x4.shape, shape, stride, padding, dilation, padding_mode)
    g = _grad_out4(grad_out, (x4.shape[0], shape[0], *geo.out_hw))
    return _grad_weight(_plan(geo, x=x4, grad_out=g).grad_weight, g, x4, geo)


def conv2d_backward(
    grad_out: object,
    x: object,
    weight: object,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, int] = 1,
    padding_mode: str = "zeros",
    need_input_grad: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """All gradients of :func:`conv2d`: ``(grad_x or None, grad_weight, grad_bias)``.

    Parameters
    ----------
    grad_out : ndarray, shape (N, F, OH, OW)
    x : ndarray, shape (N, C, H, W)
    weight : ndarray, shape (F, C, KH, KW)
    stride, padding, dilation, padding_mode : as given to :func:`conv2d`
    need_input_grad : bool
        False skips ``grad_x`` (a network's first layer), returning None in its place.

    Returns
    -------
    grad_x : ndarray, shape (N, C, H, W), float32, or None
    grad_weight : ndarray, shape (F, C, KH, KW), float32
    grad_bias : ndarray, shape (F,), float32

    Examples
    --------
    >>> x = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    >>> gx, gw, gb = conv2d_backward(np.ones((1, 1, 2, 2)), x, np.ones((1, 1, 2, 2)))
    >>> gx[0, 0, 1], gw[0, 0, 0]
    (array([2., 4., 2.], dtype=float32), array([ 8., 12.], dtype=float32))
    >>> gb
    array([4.], dtype=float32)
    """
    x4, _ = _checks.as_nchw(x, "x", allow_lower_rank=False)
    w = _weight4(weight)
    geo = _Geometry(x4.shape, w.shape, stride, padding, dilation, padding_mode)
    g = _grad_out4(grad_out, (x4.shape[0], w.shape[0], *geo.out_hw))
    if not isinstance(need_input_grad, bool | np.bool_):
        raise TypeError(
            "`need_input_grad` must be True or False. "
            f"Received: need_input_grad={need_input_grad!r}"
        )
    plan = _plan(geo, x=x4, weight=w if need_input_grad else None, grad_out=g)
    if need_input_grad and plan.grad_input == plan.grad_weight == "wingemm":
        # one grad_out transform serves both gradients
        partial = np.empty((1, w.shape[0], w.shape[1] * 9), np.float32)
        grad_x = _conv_wingemm.backward(g, w, x4, geo.pads, geo.mode, partial)
        grad_weight = partial[0].reshape(w.shape)
    else:
        grad_x = _grad_input(plan.grad_input, g, geo, w) if need_input_grad else None
        grad_weight = _grad_weight(plan.grad_weight, g, x4, geo)
    grad_bias = np.empty(w.shape[0], np.float32)
    # explicit sizes: -1 cannot be inferred for an empty batch
    _grad_bias(g.reshape(g.shape[0], g.shape[1], g.shape[2] * g.shape[3]), grad_bias)
    return grad_x, grad_weight, grad_bias
