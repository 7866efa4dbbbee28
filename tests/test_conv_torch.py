"""conv2d and its gradients against torch.nn.functional.conv2d and autograd."""

from __future__ import annotations

import numpy as np
import pytest

import kernels

torch = pytest.importorskip("torch")
F = torch.nn.functional

MODES = ["zeros", "reflect", "replicate", "circular"]
TORCH_MODE = {
    "zeros": "constant",
    "reflect": "reflect",
    "replicate": "replicate",
    "circular": "circular",
}
STRIDES = [1, 2, (2, 1), 3]
PADDINGS = [0, 1, (1, 2), (0, 1, 2, 3), "same", "valid"]
DILATIONS = [1, 2, (1, 2)]
KERNELS = [(3, 3), (2, 2), (2, 3), (1, 1)]


def _torch_conv(x, w, b, stride, padding, dilation, mode):
    """Float64 torch: pad with F.pad (every mode, asymmetric too), then a valid conv."""
    top, bottom, left, right = kernels.resolve_padding(
        padding, x.shape[2:], w.shape[2:], stride, dilation
    )
    xp = F.pad(x, (left, right, top, bottom), mode=TORCH_MODE[mode])
    return F.conv2d(xp, w, b, stride=stride, dilation=dilation)


def _check(x, w, b, stride, padding, dilation, mode, seed=0):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    ref = _torch_conv(xt, wt, bt, stride, padding, dilation, mode)
    out = kernels.conv2d(x, w, b, stride, padding, dilation, mode)
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-5, atol=1e-5)
    g = np.random.default_rng(seed).uniform(-1, 1, out.shape).astype(np.float32)
    ref.backward(torch.tensor(g, dtype=torch.float64))
    gx, gw, gb = kernels.conv2d_backward(g, x, w, stride, padding, dilation, mode)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(gb, bt.grad.numpy(), rtol=1e-5, atol=1e-4)


def _data(seed, x_shape, w_shape):
    rng = np.random.default_rng(seed)
    return (
        rng.uniform(-1, 1, x_shape).astype(np.float32),
        rng.uniform(-1, 1, w_shape).astype(np.float32),
        rng.uniform(-1, 1, w_shape[0]).astype(np.float32),
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", PADDINGS, ids=str)
@pytest.mark.parametrize("stride", STRIDES, ids=str)
def test_parity_stride_padding_mode(stride, padding, mode):
    x, w, b = _data(1, (2, 2, 6, 7), (3, 2, 3, 2))
    _check(x, w, b, stride, padding, 1, mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kernel", KERNELS, ids=str)
@pytest.mark.parametrize("dilation", DILATIONS, ids=str)
@pytest.mark.parametrize(
    ("stride", "padding"), [(1, "same"), (2, 1), ((1, 2), (0, 1, 2, 0))]
)
def test_parity_dilation_kernel(dilation, kernel, stride, padding, mode):
    x, w, b = _data(2, (2, 3, 7, 6), (2, 3, *kernel))
    _check(x, w, b, stride, padding, dilation, mode)


@pytest.mark.parametrize("mode", MODES)
def test_parity_kernel_as_large_as_padded_input(mode):
    x, w, b = _data(3, (2, 2, 4, 5), (2, 2, 6, 7))
    _check(x, w, b, 1, 1, 1, mode)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "padding"),
    [
        ((4, 16, 14, 14), (24, 16, 3, 3), 1, 1),  # a training layer, small
        ((1, 3, 64, 80), (8, 3, 5, 5), 1, "same"),  # the explorer, small
        ((1, 3, 64, 80), (8, 3, 11, 11), 2, "same"),
        ((1, 3, 24, 600), (8, 3, 11, 11), 1, "same"),  # a photo's width: "blocks"
        ((1, 3, 24, 600), (8, 3, 3, 3), (2, 1), "same"),
        ((2, 1, 28, 28), (6, 1, 5, 5), 1, 2),  # LeNet's first layer
    ],
    ids=str,
)
def test_parity_realistic_shapes(x_shape, w_shape, stride, padding):
    x, w, b = _data(4, x_shape, w_shape)
    _check(x, w, b, stride, padding, 1, "zeros")


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "padding"),
    [
        ((16, 32, 14, 14), (64, 32, 3, 3), 1),  # issue 14's layers at smaller batches
        ((8, 32, 28, 28), (32, 32, 3, 3), "valid"),
        ((4, 64, 16, 16), (128, 64, 3, 3), 1),
    ],
    ids=str,
)
def test_parity_training_layers_on_the_winograd_sgemm_path(x_shape, w_shape, padding):
    from kernels import conv

    x, w, b = _data(3, x_shape, w_shape)
    geo = conv._Geometry(x_shape, w_shape, 1, padding, 1, "zeros")
    g = np.ones((x_shape[0], w_shape[0], *geo.out_hw), np.float32)
    plan = conv._plan(geo, x=x, weight=w, grad_out=g)
    assert conv._plan(geo, x=x, weight=w).forward == "wingemm"
    assert (plan.grad_input, plan.grad_weight) == ("wingemm", "wingemm")
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    ref = _torch_conv(
        xt, wt, torch.tensor(b, dtype=torch.float64), 1, padding, 1, "zeros"
    )
    out = kernels.conv2d(x, w, b, 1, padding)
    # sums of C * 9 products of values in [-1, 1]: float32 rounding grows with them
    scale = float(np.sqrt(w_shape[1] * 9))
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-5, atol=1e-6 * scale)
    gr = np.random.default_rng(4).uniform(-1, 1, out.shape).astype(np.float32)
    ref.backward(torch.tensor(gr, dtype=torch.float64))
    gx, gw, _ = kernels.conv2d_backward(gr, x, w, 1, padding)
    scale_x = float(np.sqrt(w_shape[0] * 9))
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-5, atol=1e-6 * scale_x)
    scale_w = float(np.sqrt(x_shape[0] * geo.out_hw[0] * geo.out_hw[1]))
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-5, atol=1e-6 * scale_w)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "padding"),
    [
        ((8, 3, 32, 32), (32, 3, 3, 3), 1),  # issue 14's colour first layer, batch 8
        ((6, 1, 28, 28), (32, 1, 3, 3), "valid"),  # the Keras tutorial's first layer
        ((4, 3, 32, 32), (64, 3, 3, 3), 1),  # VGG16's first layer
        ((3, 1, 28, 28), (32, 1, 5, 5), "same"),
    ],
    ids=str,
)
def test_parity_first_layers_on_the_gemm_path(x_shape, w_shape, padding):
    from kernels import conv

    x, w, b = _data(5, x_shape, w_shape)
    geo = conv._Geometry(x_shape, w_shape, 1, padding, 1, "zeros")
    g = np.ones((x_shape[0], w_shape[0], *geo.out_hw), np.float32)
    assert conv._plan(geo, x=x, weight=w).forward == "gemm"
    assert conv._plan(geo, x=x, grad_out=g).grad_weight == "gemm"
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    ref = _torch_conv(
        xt, wt, torch.tensor(b, dtype=torch.float64), 1, padding, 1, "zeros"
    )
    out = kernels.conv2d(x, w, b, 1, padding)
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-5, atol=1e-5)
    gr = np.random.default_rng(6).uniform(-1, 1, out.shape).astype(np.float32)
    ref.backward(torch.tensor(gr, dtype=torch.float64))
    gw = kernels.conv2d_grad_weight(gr, x, w.shape, 1, padding)
    # sums over N * OH * OW products: float32 rounding grows with their count
    scale_w = float(np.sqrt(x_shape[0] * geo.out_hw[0] * geo.out_hw[1]))
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-5, atol=1e-6 * scale_w)
