"""Activations against NumPy references and finite differences; NaN behaviour; "
"errors."""

from __future__ import annotations

import naive_pooling as naive
import numpy as np
import pytest
from naive import numeric_grad

from kernels import activations as act
from kernels import relu, relu_backward


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4, 5), (1, 8, 64, 65)], ids=str)
def test_relu_matches_reference(shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    np.testing.assert_array_equal(relu(x), naive.relu(x))
    g = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    np.testing.assert_array_equal(relu_backward(g, x), np.where(x > 0, g, 0))
    assert relu(x).shape == shape
    assert relu(x).dtype == np.float32


def test_relu_special_values():
    x = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, -1e-45, 1e-45], np.float32)
    out = relu(x)
    np.testing.assert_array_equal(
        out, np.array([np.nan, np.inf, 0, 0, 0, 0, 1e-45], np.float32)
    )
    assert np.isnan(out[0])
    # gradient passes where x is not <= 0 (PyTorch masks x <= 0), so at NaN too
    np.testing.assert_array_equal(relu_backward(np.ones(7), x), [1, 1, 0, 0, 0, 0, 1])
    # a NaN gradient stays where it passes and is dropped where it does not
    g = np.full(7, np.nan, np.float32)
    back = relu_backward(g, x)
    assert np.isnan(back[[0, 1, 6]]).all()
    assert (back[2:6] == 0).all()


def test_relu_converts_and_does_not_modify_input():
    x = np.array([[-1, 2], [3, -4]], np.int64)
    out = relu(x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[0, 2], [3, 0]])
    y = np.random.default_rng(2).standard_normal((4, 6)).T  # non-contiguous float64
    np.testing.assert_array_equal(relu(y), naive.relu(y.astype(np.float32)))
    assert (y < 0).any()
    assert relu(np.zeros((0, 3))).shape == (0, 3)


def test_backward_finite_differences():
    rng = np.random.default_rng(3)
    x = rng.uniform(-3, 3, 24)
    x = x[np.abs(x) > 0.1]  # away from relu's kink
    g = rng.standard_normal(x.shape)
    f64 = {
        "relu": lambda v: np.maximum(v, 0),
        "leaky": lambda v: np.where(v > 0, v, 0.1 * v),
        "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
        "tanh": np.tanh,
    }
    ours = {
        "relu": relu_backward(g, x),
        "leaky": act.leaky_relu_backward(g, x, 0.1),
        "sigmoid": act.sigmoid_backward(g, act.sigmoid(x)),
        "tanh": act.tanh_backward(g, act.tanh(x)),
    }
    for name, f in f64.items():
        np.testing.assert_allclose(
            ours[name],
            numeric_grad(f, x, g, 1e-6),
            rtol=1e-5,
            atol=1e-6,
            err_msg=name,
        )


def test_forward_values():
    x = np.array([-500.0, -2.0, 0.0, 2.0, 500.0])
    np.testing.assert_allclose(
        act.sigmoid(x), [0, 0.11920292, 0.5, 0.88079708, 1], rtol=1e-6, atol=1e-30
    )
    np.testing.assert_allclose(act.tanh(x), np.tanh(x), rtol=1e-6)
    np.testing.assert_allclose(
        act.leaky_relu(x), np.where(x > 0, x, 0.01 * x), rtol=1e-6
    )
    assert np.isnan(act.sigmoid(np.array([np.nan])))[0]


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        (
            lambda: relu_backward(np.ones(3), np.ones(4)),
            ValueError,
            r"`grad_out` must have the shape of `x` \(4,\)\. Received: "
            r"grad_out\.shape=\(3,\)",
        ),
        (
            lambda: act.sigmoid_backward(np.ones((2, 2)), np.ones(4)),
            ValueError,
            r"`grad_out` must have the shape of `out` \(4,\)",
        ),
        (lambda: relu("abc"), TypeError, r"`x` must be an array of numbers"),
        (
            lambda: act.leaky_relu(np.ones(2), "0.1"),
            TypeError,
            r"`negative_slope` must be a number\. Received: negative_slope='0.1'",
        ),
    ],
)
def test_errors(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_relu_out_buffer_and_in_place():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 5, 4)).astype(np.float32)
    x[0, 0, 0, :3] = [np.nan, -0.0, -np.inf]
    want = naive.relu(x)
    out = np.full_like(x, 123.0)
    assert relu(x, out=out) is out
    np.testing.assert_array_equal(out, want)
    assert np.signbit(out[0, 0, 0, 1])  # -0.0 passes, as without out
    y = x.copy()
    assert relu(y, out=y) is y  # in place
    np.testing.assert_array_equal(y, want)
    # a converted input writes into the float32 buffer; the input is left alone
    ints = np.array([[-1, 2], [3, -4]], np.int64)
    buf = np.empty((2, 2), np.float32)
    assert relu(ints, out=buf) is buf
    np.testing.assert_array_equal(buf, [[0, 2], [3, 0]])
    assert ints[0, 0] == -1


def test_relu_out_errors_name_out():
    x = np.ones((3, 4), np.float32)
    with pytest.raises(TypeError, match=r"`out` must be a float32 ndarray"):
        relu(x, out=[0.0] * 12)
    with pytest.raises(
        ValueError, match=r"shape \(3, 4\).*Received: out.shape=\(4, 3\)"
    ):
        relu(x, out=np.empty((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"out.dtype=float64"):
        relu(x, out=np.empty((3, 4)))
    with pytest.raises(ValueError, match=r"C_CONTIGUOUS=False"):
        relu(x, out=np.empty((4, 3), np.float32).T)
    # partly overlapping the input: the loop would read values it already wrote
    flat = np.arange(-6, 7, dtype=np.float32)
    with pytest.raises(ValueError, match=r"`out` must not overlap `x`"):
        relu(flat[:12], out=flat[1:13])
