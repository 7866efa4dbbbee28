"""pad2d against np.pad, pad2d_backward as its exact adjoint, and the error messages."""

from __future__ import annotations

import naive_pooling as naive
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kernels
from kernels import pad2d, pad2d_backward, pad_index_map

MODES = ["zeros", "reflect", "replicate", "circular"]
PADS = [0, 1, (2, 1), (0, 2, 3, 1), (3, 0, 1, 0), (4, 3, 2, 4)]  # reflect: < 5


def _as4(padding):
    if isinstance(padding, int):
        return (padding,) * 4
    if len(padding) == 2:
        return (padding[0], padding[0], padding[1], padding[1])
    return padding


@pytest.mark.parametrize("padding", PADS, ids=str)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(2, 3, 5, 6), (6, 7), (2, 6, 5)], ids=str)
def test_pad2d_matches_np_pad(shape, mode, padding):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    out = pad2d(x, padding, mode)
    np.testing.assert_array_equal(out, naive.pad2d(x, _as4(padding), mode))
    assert out.dtype == np.float32
    assert out.ndim == x.ndim


def test_pad2d_constant_value():
    out = pad2d(np.ones((2, 2)), (1, 0, 0, 1), "zeros", value=7.0)
    np.testing.assert_array_equal(out, [[7, 7, 7], [1, 1, 7], [1, 1, 7]])


@pytest.mark.parametrize("padding", PADS, ids=str)
@pytest.mark.parametrize("mode", MODES)
def test_backward_is_the_adjoint(mode, padding):
    """<pad(x), g> == <x, pad_backward(g)> for random x and g (float64 sums)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
    out = pad2d(x, padding, mode)
    g = rng.standard_normal(out.shape).astype(np.float32)
    lhs = np.sum(out.astype(np.float64) * g)
    back = pad2d_backward(g, padding, mode)
    assert back.shape == x.shape
    rhs = np.sum(x.astype(np.float64) * back)
    assert lhs == pytest.approx(rhs, rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("mode", MODES)
def test_backward_equals_transposed_matrix(mode):
    """The gradient by the definition: pad each basis vector, read the matrix, "
    "transpose."""
    h, w, pads = 4, 3, (2, 1, 0, 2)
    basis = np.eye(h * w).reshape(h * w, h, w)
    matrix = np.stack([naive.pad2d(b, pads, mode).ravel() for b in basis], axis=1)
    g = np.random.default_rng(2).standard_normal((h + 3, w + 2))
    expected = (matrix.T @ g.ravel()).reshape(h, w)
    np.testing.assert_allclose(
        pad2d_backward(g, pads, mode), expected, rtol=1e-5, atol=1e-5
    )


@settings(deadline=None, max_examples=40)
@given(
    h=st.integers(1, 7),
    w=st.integers(1, 7),
    mode=st.sampled_from(MODES),
    frac=st.tuples(*[st.floats(0, 1)] * 4),
    seed=st.integers(0, 1000),
)
def test_hypothesis_pad_and_adjoint(h, w, mode, frac, seed):
    limit_h = {"zeros": 4, "reflect": h - 1, "replicate": 4, "circular": h}[mode]
    limit_w = {"zeros": 4, "reflect": w - 1, "replicate": 4, "circular": w}[mode]
    pads = (
        round(frac[0] * limit_h),
        round(frac[1] * limit_h),
        round(frac[2] * limit_w),
        round(frac[3] * limit_w),
    )
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2, h, w)).astype(np.float32)
    out = pad2d(x, pads, mode)
    np.testing.assert_array_equal(out, naive.pad2d(x, pads, mode))
    g = rng.standard_normal(out.shape).astype(np.float32)
    lhs = np.sum(out.astype(np.float64) * g)
    rhs = np.sum(x.astype(np.float64) * pad2d_backward(g, pads, mode))
    assert lhs == pytest.approx(rhs, rel=1e-5, abs=1e-5)


def test_pad_index_map_by_hand():
    assert pad_index_map(4, 3, 3, "reflect").tolist() == [3, 2, 1, 0, 1, 2, 3, 2, 1, 0]
    assert pad_index_map(1, 2, 1, "replicate").tolist() == [0, 0, 0, 0]
    assert pad_index_map(2, 2, 2, "circular").tolist() == [0, 1, 0, 1, 0, 1]


def test_backward_folds_reflected_gradient_by_hand():
    # reflect (0, 0, 2, 0) on [a, b, c] gives [c, b, a, b, c]: b and c receive twice
    np.testing.assert_array_equal(
        pad2d_backward(np.ones((1, 5)), (0, 0, 2, 0), "reflect"), [[1, 2, 2]]
    )


X = np.zeros((1, 1, 3, 4), np.float32)


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        (
            lambda: pad2d(X, 3, "reflect"),
            ValueError,
            r"Reflect padding must be smaller than the input along each axis: "
            r"padding=\(top 3, "
            r"bottom 3, left 3, right 3\) on input 3x4 allows at most 2 rows "
            r"and 3 columns",
        ),
        (
            lambda: pad2d(X, (0, 0, 4, 0), "reflect"),
            ValueError,
            r"at most 2 rows and 3 columns",
        ),
        (
            lambda: pad2d(X, (4, 0, 0, 0), "circular"),
            ValueError,
            r"Circular padding can wrap at most once.*at most 3 rows and 4 columns",
        ),
        (lambda: pad2d(X, -1), ValueError, r"non-negative ints\. Received: padding=-1"),
        (lambda: pad2d(X, (1, -2)), ValueError, r"Received: padding=\(1, -2\)"),
        (lambda: pad2d(X, (1, 2, 3)), ValueError, r"Received: padding=\(1, 2, 3\)"),
        (lambda: pad2d(X, 1.5), TypeError, r"Received: padding=1\.5"),
        (
            lambda: pad2d(X, "same"),
            ValueError,
            r"`padding` for pad2d must be an int, a pair or a 4-tuple; 'same' "
            r"and 'valid' depend "
            r"on a kernel .*Received: padding='same'",
        ),
        (
            lambda: pad2d(X, 1, "mirror"),
            ValueError,
            r"`mode` must be one of 'zeros', 'reflect', 'replicate', "
            r"'circular'\. Received: mode='mirror'",
        ),
        (
            lambda: pad2d(np.zeros((1, 1, 0, 3)), 1, "replicate"),
            ValueError,
            r"needs a non-empty input",
        ),
        (
            lambda: pad2d(np.zeros(3), 1),
            ValueError,
            r"`x` must have shape .*Received: x\.shape=\(3,\)",
        ),
        (
            lambda: pad2d_backward(np.zeros((1, 1, 2, 2)), 2),
            ValueError,
            r"smaller than the padding",
        ),
        (
            lambda: pad2d_backward(np.zeros((1, 1, 5, 5)), "same"),
            ValueError,
            r"`padding` must be numeric for pad2d_backward\. Received: padding='same'",
        ),
        (
            lambda: pad2d_backward(np.zeros((1, 1, 5, 5)), 2, "reflect"),
            ValueError,
            r"Reflect padding must be smaller than the input",
        ),
    ],
)
def test_errors(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_zero_padding_is_a_copy():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = pad2d(x, 0, "reflect")
    np.testing.assert_array_equal(out, x)
    out[0, 0] = 99
    assert x[0, 0] == 0


# ------------------------------------------------------------- argument checks (#13)


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"padding": b"same"}, TypeError, r"`padding` must be .*padding=b'same'"),
        ({"padding": bytearray(4)}, TypeError, r"`padding` must be"),
        ({"padding": 2**63}, ValueError, r"`padding` must be at most 2,147,483,647"),
        ({"padding": (0, 2**31)}, ValueError, r"`padding` must be at most"),
        ({"padding": 2**30}, ValueError, r"`padding` would make an output of"),
        ({"padding": 1, "value": None}, TypeError, r"`value` must be a real number"),
        ({"padding": 1, "value": "0"}, TypeError, r"`value` must be a real number"),
        ({"padding": 1, "value": True}, TypeError, r"`value` must be a real number"),
        ({"padding": 1, "value": float("nan")}, ValueError, r"`value` must not be NaN"),
    ],
)
def test_pad2d_rejects_bad_arguments_naming_them(kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        pad2d(np.ones((1, 1, 3, 3), np.float32), **kwargs)


def test_pad2d_fill_beyond_float32_is_infinite_not_a_warning():
    out = pad2d(np.zeros((1, 1), np.float32), 1, value=-1e300)
    assert out[0, 0] == -np.inf
    assert out[1, 1] == 0.0


def test_pad2d_backward_rejects_a_huge_pad():
    with pytest.raises(ValueError, match="`padding` must be at most"):
        pad2d_backward(np.ones((1, 1, 3, 3), np.float32), 2**63)


def _refusal(call) -> str | None:
    try:
        call()
    except ValueError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_check_padding_geometry_refuses_exactly_what_pad2d_refuses(mode):
    """The public rule and the kernel agree, word for word: one statement of the
    reflect/circular limits (the explorer's plan calls the rule without padding)."""
    x = np.zeros((1, 1, 3, 4), np.float32)
    refused = 0
    for pads in [(0, 0, 0, 0), (2, 2, 3, 3), (3, 0, 0, 0), (0, 0, 4, 0), (0, 4, 0, 0)]:
        by_kernel = _refusal(lambda p=pads: pad2d(x, p, mode))
        by_rule = _refusal(
            lambda p=pads: kernels.check_padding_geometry(3, 4, p, mode, "padding")
        )
        assert by_rule == by_kernel
        refused += by_rule is not None
    assert refused == {"zeros": 0, "replicate": 0, "reflect": 3, "circular": 1}[mode]
