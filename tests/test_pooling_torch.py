"""Parity with ``torch.nn.functional``: pooling, ReLU, padding; forward and autograd.

Skipped where torch is not installed; CI installs it.
"""

from __future__ import annotations

import numpy as np
import pytest

import kernels

torch = pytest.importorskip("torch")
F = torch.nn.functional

SHAPES = [(2, 3, 9, 8), (2, 2, 6, 7)]
# kernel, stride, padding (torch's symmetric int/pair), all within the half-window rule
GEOMETRY = [
    (2, None, 0),
    (2, 1, 1),
    (3, 2, 1),
    (3, 1, 0),
    ((3, 2), (2, 1), (1, 1)),
    ((2, 3), 3, (0, 1)),
    (1, 2, 0),
]


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize(("kernel", "stride", "padding"), GEOMETRY, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_max_pool2d_matches_torch(shape, kernel, stride, padding, ceil_mode):
    x = _x(shape)
    tx = torch.from_numpy(x).requires_grad_(True)
    t_out, t_idx = F.max_pool2d(
        tx, kernel, stride, padding, ceil_mode=ceil_mode, return_indices=True
    )
    out, idx = kernels.max_pool2d(x, kernel, stride, padding, ceil_mode)
    np.testing.assert_array_equal(out, t_out.detach().numpy())
    np.testing.assert_array_equal(idx, t_idx.numpy())
    # torch's default, values only
    alone = kernels.max_pool2d(
        x, kernel, stride, padding, ceil_mode, return_indices=False
    )
    t_alone = F.max_pool2d(
        torch.from_numpy(x), kernel, stride, padding, ceil_mode=ceil_mode
    )
    np.testing.assert_array_equal(alone, t_alone.numpy())
    g = _x(out.shape, 1)
    t_out.backward(torch.from_numpy(g))
    np.testing.assert_allclose(
        kernels.max_pool2d_backward(g, idx, x.shape),
        tx.grad.numpy(),
        rtol=1e-6,
        atol=1e-6,
    )


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize(("kernel", "stride", "padding"), GEOMETRY, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_avg_pool2d_matches_torch(
    shape, kernel, stride, padding, ceil_mode, count_include_pad
):
    x = _x(shape)
    tx = torch.from_numpy(x).requires_grad_(True)
    t_out = F.avg_pool2d(
        tx,
        kernel,
        stride,
        padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
    )
    out = kernels.avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad)
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-6, atol=1e-6)
    g = _x(out.shape, 1)
    t_out.backward(torch.from_numpy(g))
    grad = kernels.avg_pool2d_backward(
        g, x.shape, kernel, stride, padding, ceil_mode, count_include_pad
    )
    np.testing.assert_allclose(grad, tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_2x2_fast_paths_are_bitwise_torch():
    x = _x((2, 4, 32, 30))
    tx = torch.from_numpy(x)
    out, idx = kernels.max_pool2d(x, 2)
    t_out, t_idx = F.max_pool2d(tx, 2, return_indices=True)
    assert np.array_equal(out, t_out.numpy())
    assert np.array_equal(idx, t_idx.numpy())
    assert np.array_equal(kernels.avg_pool2d(x, 2), F.avg_pool2d(tx, 2).numpy())


def test_max_pool2d_nan_matches_torch():
    x = _x((1, 2, 6, 6))
    x[0, 0, 0, 0] = x[0, 0, 1, 1] = x[0, 1, 3, 2] = np.nan
    for kernel, stride, padding in [(2, None, 0), (3, 1, 1)]:
        t_out, t_idx = F.max_pool2d(
            torch.from_numpy(x), kernel, stride, padding, return_indices=True
        )
        out, idx = kernels.max_pool2d(x, kernel, stride, padding)
        np.testing.assert_array_equal(out, t_out.numpy())
        np.testing.assert_array_equal(idx, t_idx.numpy())


def test_global_avg_pool2d_matches_torch():
    x = _x((3, 4, 7, 5))
    tx = torch.from_numpy(x).requires_grad_(True)
    t_out = F.adaptive_avg_pool2d(tx, 1)[:, :, 0, 0]
    np.testing.assert_allclose(
        kernels.global_avg_pool2d(x), t_out.detach().numpy(), rtol=1e-6, atol=1e-7
    )
    g = _x((3, 4), 1)
    t_out.backward(torch.from_numpy(g))
    np.testing.assert_allclose(
        kernels.global_avg_pool2d_backward(g, x.shape),
        tx.grad.numpy(),
        rtol=1e-6,
        atol=1e-7,
    )


def test_relu_matches_torch_with_nan_and_signed_zero():
    x = _x((2, 3, 5, 4))
    x[0, 0, 0, :4] = [np.nan, -0.0, 0.0, np.inf]
    x[1, 2, 4, :2] = [-np.inf, np.nan]
    tx = torch.from_numpy(x).requires_grad_(True)
    t_out = torch.relu(tx)
    out = kernels.relu(x)
    np.testing.assert_array_equal(out, t_out.detach().numpy())
    assert np.array_equal(np.signbit(out), np.signbit(t_out.detach().numpy()))
    g = _x(x.shape, 1)
    t_out.backward(torch.from_numpy(g))
    np.testing.assert_array_equal(kernels.relu_backward(g, x), tx.grad.numpy())


def test_other_activations_match_torch():
    from kernels import activations as act

    x = _x((3, 50), 2) * 10
    g = _x((3, 50), 3)
    for ours, ours_backward, theirs, from_output in [
        (act.sigmoid, act.sigmoid_backward, torch.sigmoid, True),
        (act.tanh, act.tanh_backward, torch.tanh, True),
        (
            lambda v: act.leaky_relu(v, 0.2),
            lambda gg, v: act.leaky_relu_backward(gg, v, 0.2),
            lambda t: F.leaky_relu(t, 0.2),
            False,
        ),
    ]:
        tx = torch.from_numpy(x).requires_grad_(True)
        t_out = theirs(tx)
        out = ours(x)
        np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-6, atol=1e-6)
        t_out.backward(torch.from_numpy(g))
        grad = ours_backward(g, out if from_output else x)
        np.testing.assert_allclose(grad, tx.grad.numpy(), rtol=1e-5, atol=1e-6)


TORCH_PAD_MODE = {
    "zeros": "constant",
    "reflect": "reflect",
    "replicate": "replicate",
    "circular": "circular",
}


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    "pads", [(1, 1, 1, 1), (0, 2, 3, 1), (2, 0, 0, 3), (3, 3, 4, 4)], ids=str
)
def test_pad2d_and_backward_match_torch(mode, pads):
    x = _x((2, 3, 5, 6))
    top, bottom, left, right = pads
    tx = torch.from_numpy(x).requires_grad_(True)
    t_out = F.pad(tx, (left, right, top, bottom), mode=TORCH_PAD_MODE[mode])
    out = kernels.pad2d(x, pads, mode)
    np.testing.assert_array_equal(out, t_out.detach().numpy())
    g = _x(out.shape, 1)
    t_out.backward(torch.from_numpy(g))
    np.testing.assert_allclose(
        kernels.pad2d_backward(g, pads, mode), tx.grad.numpy(), rtol=1e-6, atol=1e-6
    )


def test_pad2d_constant_value_matches_torch():
    x = _x((1, 2, 3, 3))
    t_out = F.pad(torch.from_numpy(x), (1, 2, 0, 1), mode="constant", value=-2.5)
    np.testing.assert_array_equal(
        kernels.pad2d(x, (0, 1, 1, 2), "zeros", value=-2.5), t_out.numpy()
    )


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding"),
    [(1, 2, 2, 0), (2, 3, 2, 0), (3, 5, 2, 1), (1, 3, 3, 0)],
)
def test_ceil_mode_window_larger_than_the_input_matches_torch(
    size, kernel, stride, padding
):
    """PyTorch keeps a ceil_mode window that overhangs by less than a stride, even when
    the input is smaller than the window (kernels.shapes used to say "empty")."""
    x = _x((1, 2, size, size))
    t_out, t_idx = F.max_pool2d(
        torch.from_numpy(x),
        kernel,
        stride,
        padding,
        ceil_mode=True,
        return_indices=True,
    )
    out, idx = kernels.max_pool2d(x, kernel, stride, padding, ceil_mode=True)
    np.testing.assert_array_equal(out, t_out.numpy())
    np.testing.assert_array_equal(idx, t_idx.numpy())
    for include in (True, False):
        t_avg = F.avg_pool2d(
            torch.from_numpy(x),
            kernel,
            stride,
            padding,
            ceil_mode=True,
            count_include_pad=include,
        )
        np.testing.assert_allclose(
            kernels.avg_pool2d(x, kernel, stride, padding, True, include),
            t_avg.numpy(),
            rtol=1e-6,
        )
    if size + 2 * padding < kernel:  # at stride 1 the overhang is too large for both
        with pytest.raises(RuntimeError):
            F.max_pool2d(torch.from_numpy(x), kernel, 1, padding, ceil_mode=True)
        with pytest.raises(ValueError, match="Output would be empty"):
            kernels.max_pool2d(x, kernel, 1, padding, ceil_mode=True)
