"""Pooling kernels against the slow references in ``naive_pooling.py``, finite
differences, hand-computed cases and their error messages."""

from __future__ import annotations

import threading

import naive_pooling as naive
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from naive import numeric_grad

import kernels
from kernels import (
    avg_pool2d,
    avg_pool2d_backward,
    global_avg_pool2d,
    global_avg_pool2d_backward,
    max_pool2d,
    max_pool2d_backward,
)

KERNELS = [1, 2, 3, (2, 3), (3, 1)]
STRIDES = [None, 1, 2, 3, (2, 1)]
PADDINGS = [0, 1, (1, 0), (1, 0, 0, 1), "same", "valid"]
SHAPES = [(2, 3, 7, 8), (2, 2, 6, 5), (3, 6, 4, 5)]  # the last: >= 16 planes


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _pads4(padding):
    if isinstance(padding, str):
        return padding
    p = (
        _pair(padding)
        if not (isinstance(padding, tuple) and len(padding) == 4)
        else padding
    )
    return p if len(p) == 4 else (p[0], p[0], p[1], p[1])


def _over_half(kernel, padding):
    if isinstance(padding, str):
        return False
    kh, kw = _pair(kernel)
    top, bottom, left, right = _pads4(padding)
    return max(top, bottom) > kh // 2 or max(left, right) > kw // 2


def _random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _distinct(shape, seed=0):
    """Values at least 0.1 apart: no ties, so max pooling is differentiable."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 + rng.uniform(0, 0.01, n)).reshape(shape)


# ----------------------------------------------------------------------- forward grid


@pytest.mark.parametrize("padding", PADDINGS, ids=str)
@pytest.mark.parametrize("stride", STRIDES, ids=str)
@pytest.mark.parametrize("kernel", KERNELS, ids=str)
def test_forward_matches_reference(kernel, stride, padding):
    k = _pair(kernel)
    s = k if stride is None else _pair(stride)
    pads = _pads4(padding)
    for shape in SHAPES:
        x = _random(shape)
        for ceil_mode in (False, True):
            if _over_half(kernel, padding):
                with pytest.raises(ValueError, match="at most half the pool window"):
                    max_pool2d(x, kernel, stride, padding, ceil_mode)
                continue
            ref_out, ref_idx = naive.max_pool2d(x, k, s, pads, ceil_mode)
            if ref_out.size == 0:
                with pytest.raises(ValueError, match="Output would be empty"):
                    max_pool2d(x, kernel, stride, padding, ceil_mode)
                with pytest.raises(ValueError, match="Output would be empty"):
                    avg_pool2d(x, kernel, stride, padding, ceil_mode)
                continue
            out, idx = max_pool2d(x, kernel, stride, padding, ceil_mode)
            np.testing.assert_array_equal(out, ref_out)
            np.testing.assert_array_equal(idx, ref_idx)
            assert idx.dtype == np.int64
            assert out.shape[2:] == kernels.pool2d_output_shape(
                shape[2:], kernel, stride, padding, ceil_mode
            )
            for include in (True, False):
                ref = naive.avg_pool2d(
                    x.astype(np.float64), k, s, pads, ceil_mode, include
                )
                got = avg_pool2d(x, kernel, stride, padding, ceil_mode, include)
                np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


@settings(deadline=None, max_examples=60)
@given(
    h=st.integers(1, 11),
    w=st.integers(1, 11),
    kh=st.integers(1, 5),
    kw=st.integers(1, 5),
    sh=st.integers(1, 4),
    sw=st.integers(1, 4),
    pad=st.sampled_from(["num", "same", "valid"]),
    frac=st.tuples(*[st.floats(0, 1)] * 4),
    ceil_mode=st.booleans(),
    include=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_hypothesis_geometry(h, w, kh, kw, sh, sw, pad, frac, ceil_mode, include, seed):
    if pad == "num":  # any padding PyTorch's half-window rule allows, asymmetric too
        padding = (
            round(frac[0] * (kh // 2)),
            round(frac[1] * (kh // 2)),
            round(frac[2] * (kw // 2)),
            round(frac[3] * (kw // 2)),
        )
    else:
        padding = pad
    x = _random((2, 2, h, w), seed)
    ref_out, ref_idx = naive.max_pool2d(x, (kh, kw), (sh, sw), padding, ceil_mode)
    if ref_out.size == 0:
        with pytest.raises(ValueError, match="Output would be empty"):
            max_pool2d(x, (kh, kw), (sh, sw), padding, ceil_mode)
        return
    out, idx = max_pool2d(x, (kh, kw), (sh, sw), padding, ceil_mode)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(idx, ref_idx)
    ref = naive.avg_pool2d(
        x.astype(np.float64), (kh, kw), (sh, sw), padding, ceil_mode, include
    )
    got = avg_pool2d(x, (kh, kw), (sh, sw), padding, ceil_mode, include)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    if pad == "same":
        assert out.shape[2:] == (-(-h // sh), -(-w // sw))  # TensorFlow: ceil(n / s)


def test_hand_computed_cases():
    x = np.array([[1, 5, 2, 0], [4, 3, 9, 1], [0, 8, 7, 6], [2, 2, 2, 2]], np.float32)
    out, idx = max_pool2d(x, 2)
    np.testing.assert_array_equal(out, [[5, 9], [8, 7]])
    np.testing.assert_array_equal(idx, [[1, 6], [9, 10]])
    np.testing.assert_array_equal(
        avg_pool2d(x, 2), [[13 / 4, 12 / 4], [12 / 4, 17 / 4]]
    )
    # ceil_mode on 3x3 with a 2x2 window: a partial last window. count_include_pad has
    # nothing to count (no padding), so the divisor is the clipped window.
    y = np.arange(9, dtype=np.float32).reshape(3, 3)
    np.testing.assert_array_equal(max_pool2d(y, 2, ceil_mode=True)[0], [[4, 5], [7, 8]])
    np.testing.assert_array_equal(
        avg_pool2d(y, 2, ceil_mode=True), [[2, 3.5], [6.5, 8]]
    )
    # 3x3 window, stride 2, padding 1 on 2x2: one window, 4 real cells and 5 padded;
    # PyTorch divides by 9 (padding counted) or by 4 (count_include_pad=False)
    z = np.ones((2, 2), np.float32)
    np.testing.assert_allclose(avg_pool2d(z, 3, 2, 1), [[4 / 9]])
    np.testing.assert_allclose(avg_pool2d(z, 3, 2, 1, count_include_pad=False), [[1.0]])


def test_ties_go_to_first_in_scan_order():
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[0, 0, 1, 0] = x[0, 0, 0, 1] = (
        3  # same max twice in the first window: (0, 1) first
    )
    _, idx = max_pool2d(x, 2)
    assert idx[0, 0, 0, 0] == 1
    _, idx = max_pool2d(x, 3, 1, 1)  # general path, padded
    np.testing.assert_array_equal(
        idx, naive.max_pool2d(x, (3, 3), (1, 1), (1, 1, 1, 1))[1]
    )
    _, idx = max_pool2d(
        np.zeros((1, 1, 4, 4)), 2
    )  # all equal: each window's first cell
    np.testing.assert_array_equal(idx[0, 0], [[0, 2], [8, 10]])


@pytest.mark.parametrize(("kernel", "stride", "padding"), [(2, None, 0), (3, 1, 1)])
def test_nan_and_inf_propagate(kernel, stride, padding):
    x = _random((1, 2, 6, 6), 3)
    x[0, 0, 1, 1] = np.nan
    x[0, 0, 0, 0] = np.nan
    x[0, 1, 2, 3] = np.inf
    x[0, 1, 4:, 4:] = -np.inf
    out, idx = max_pool2d(x, kernel, stride, padding)
    ref_out, ref_idx = naive.max_pool2d(
        x, _pair(kernel), _pair(stride or kernel), (padding,) * 4
    )
    np.testing.assert_array_equal(out, ref_out)  # NaN compares equal to NaN here
    np.testing.assert_array_equal(idx, ref_idx)
    assert np.isnan(out[0, 0, 0, 0])
    assert (
        idx[0, 0, 0, 0] == 1 * 6 + 1
    )  # both windows hold (0, 0) and (1, 1): the last NaN
    assert np.isposinf(out[0, 1]).any()
    with np.errstate(invalid="ignore"):  # inf - inf warns only with NUMBA_DISABLE_JIT=1
        avg = avg_pool2d(x, kernel, stride, padding)
    assert np.isnan(avg[0, 0, 0, 0])
    assert np.isposinf(avg[0, 1]).any() or np.isnan(avg[0, 1]).any()


def test_lower_ranks_and_conversions():
    x = _random((2, 6, 7))
    out3, idx3 = max_pool2d(x, 2)
    out4, idx4 = max_pool2d(x[None], 2)
    np.testing.assert_array_equal(out3, out4[0])
    np.testing.assert_array_equal(idx3, idx4[0])
    out2, idx2 = max_pool2d(x[0], 2)
    np.testing.assert_array_equal(out2, out4[0, 0])
    assert out2.shape == idx2.shape == (3, 3)
    assert avg_pool2d(x[0], 3, 1).shape == (4, 5)
    # float64, non-contiguous input are converted
    xt = _random((2, 2, 8, 6)).astype(np.float64).transpose(0, 1, 3, 2)
    np.testing.assert_array_equal(max_pool2d(xt, 2)[0], max_pool2d(xt.copy(), 2)[0])
    assert avg_pool2d(xt, 2).dtype == np.float32
    grad = max_pool2d_backward(out3, idx3, x.shape)
    assert grad.shape == x.shape
    grad2 = avg_pool2d_backward(np.ones((3, 3)), (6, 7), 2)
    assert grad2.shape == (6, 7)


def test_empty_batch_and_channels():
    out, idx = max_pool2d(np.zeros((0, 3, 4, 4)), 2)
    assert out.shape == idx.shape == (0, 3, 2, 2)
    assert avg_pool2d(np.zeros((2, 0, 4, 4)), 2).shape == (2, 0, 2, 2)
    assert max_pool2d_backward(out, idx, (0, 3, 4, 4)).shape == (0, 3, 4, 4)


# ----------------------------------------------------------------------- backward


BACKWARD_GEOMETRY = [
    # kernel, stride, padding, ceil_mode, shape
    (2, None, 0, False, (2, 2, 4, 6)),  # the 2x2 fast path
    (2, None, 0, False, (2, 2, 5, 5)),  # fast path with an uncovered edge
    (2, None, 0, True, (2, 2, 5, 5)),
    (3, 1, 1, False, (2, 2, 5, 4)),  # overlapping windows accumulate
    (3, 2, 1, True, (2, 2, 6, 5)),
    ((2, 3), (2, 1), (1, 0, 0, 1), True, (2, 3, 5, 6)),
    (3, 2, "same", False, (2, 2, 6, 5)),
    (2, 3, "valid", True, (2, 2, 7, 5)),
]


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "ceil_mode", "shape"), BACKWARD_GEOMETRY
)
def test_max_pool_backward_finite_differences(
    kernel, stride, padding, ceil_mode, shape
):
    x = _distinct(shape)
    k, s = _pair(kernel), _pair(stride or kernel)
    out, idx = max_pool2d(x, kernel, stride, padding, ceil_mode)
    g = np.random.default_rng(1).standard_normal(out.shape)

    def f(v):
        return naive.max_pool2d(v, k, s, _pads4(padding), ceil_mode)[0]

    expected = numeric_grad(f, x, g, 1e-3)
    got = max_pool2d_backward(g, idx, x.shape)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        got, naive.max_pool2d_backward(g, idx, x.shape), rtol=1e-6, atol=1e-6
    )


@pytest.mark.parametrize("include", [True, False])
@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "ceil_mode", "shape"), BACKWARD_GEOMETRY
)
def test_avg_pool_backward_finite_differences(
    kernel, stride, padding, ceil_mode, shape, include
):
    x = np.random.default_rng(2).standard_normal(shape)
    k, s = _pair(kernel), _pair(stride or kernel)
    out = avg_pool2d(x, kernel, stride, padding, ceil_mode, include)
    g = np.random.default_rng(3).standard_normal(out.shape)

    def f(v):
        return naive.avg_pool2d(v, k, s, _pads4(padding), ceil_mode, include)

    expected = numeric_grad(f, x, g, 1e-3)
    got = avg_pool2d_backward(g, shape, kernel, stride, padding, ceil_mode, include)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    # the exact adjoint: the transposed matrix of the reference's linear map
    matrix = naive.avg_pool2d_as_matrix(
        shape, k, s, _pads4(padding), ceil_mode, include
    )
    exact = np.einsum("oi,nco->nci", matrix, g.reshape(shape[0], shape[1], -1))
    np.testing.assert_allclose(got.reshape(exact.shape), exact, rtol=1e-5, atol=1e-6)


def test_global_avg_pool_and_backward():
    x = np.random.default_rng(4).standard_normal((3, 2, 5, 4))
    np.testing.assert_allclose(
        global_avg_pool2d(x), x.mean(axis=(2, 3)), rtol=1e-6, atol=1e-7
    )
    g = np.random.default_rng(5).standard_normal((3, 2))
    expected = numeric_grad(lambda v: v.mean(axis=(2, 3)), x, g, 1e-3)
    np.testing.assert_allclose(
        global_avg_pool2d_backward(g, x.shape), expected, rtol=1e-5, atol=1e-6
    )
    assert global_avg_pool2d(x[0]).shape == (2,)
    assert global_avg_pool2d(x[0, 0]).shape == ()
    assert global_avg_pool2d_backward(g[0], x.shape[1:]).shape == (2, 5, 4)
    # one rounding only: 2**20 ones plus a tiny value do not lose the tiny value's share
    big = np.full((1, 1, 1024, 1024), 1.0, np.float32)
    big[0, 0, 0, 0] = 1 + 2**20 * 2**-10
    assert global_avg_pool2d(big)[0, 0] == np.float32(1 + 2**-10)


def test_max_backward_accumulates_overlapping_windows():
    x = np.zeros((1, 1, 3, 3), np.float32)
    x[0, 0, 1, 1] = 1  # the centre wins all four 2x2 windows at stride 1
    out, idx = max_pool2d(x, 2, 1)
    grad = max_pool2d_backward(np.full(out.shape, 0.5), idx, x.shape)
    assert grad[0, 0, 1, 1] == 2.0
    assert grad.sum() == 2.0


def test_kernels_run_from_two_threads_at_once():
    x = _random((2, 4, 32, 32))  # small: the test also runs with NUMBA_DISABLE_JIT=1
    expected = max_pool2d(x, 3, 2, 1)[0]
    results, errors = [], []

    def work():
        try:
            for _ in range(10):
                results.append(np.array_equal(max_pool2d(x, 3, 2, 1)[0], expected))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(results)
    assert len(results) == 20


# ----------------------------------------------------------------------- errors


X = np.zeros((1, 1, 5, 5), np.float32)


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        (
            {"kernel_size": 0},
            ValueError,
            r"`kernel_size` must be a positive int or a pair of positive "
            r"ints\. Received: kernel_size=0",
        ),
        ({"kernel_size": (2, 2, 2)}, ValueError, r"Received: kernel_size=\(2, 2, 2\)"),
        ({"kernel_size": 2.5}, ValueError, r"Received: kernel_size=2\.5"),
        (
            {"kernel_size": 2, "stride": (1, 0)},
            ValueError,
            r"`stride` must be a positive int or a pair of positive ints\. "
            r"Received: stride=\(1, 0\)",
        ),
        ({"kernel_size": 2, "padding": -1}, ValueError, r"Received: padding=-1"),
        (
            {"kernel_size": 2, "padding": "full"},
            ValueError,
            r"`padding` must be 'valid', 'same'.*Received: padding='full'",
        ),
        (
            {"kernel_size": 3, "padding": 2},
            ValueError,
            r"`padding` must be at most half the pool window.*at most 1 rows "
            r"and 1 columns.*"
            r"Received: padding=2",
        ),
        (
            {"kernel_size": (3, 2), "padding": (0, 0, 0, 2)},
            ValueError,
            r"at most 1 rows and 1 columns for kernel_size=\(3, 2\)\)\. "
            r"Received: padding=\(0, 0, 0, 2\)",
        ),
        (
            {"kernel_size": 7, "stride": 1},
            ValueError,
            r"^Output would be empty: input 5x5, pool window 7x7, stride 1, "
            r"padding 0\.$",
        ),
        (
            {"kernel_size": 6},
            ValueError,
            r"^Output would be empty: input 5x5, pool window 6x6, stride 6, "
            r"padding 0\.$",
        ),
        (
            {"kernel_size": 2, "ceil_mode": "yes"},
            TypeError,
            r"`ceil_mode` must be True or False\. Received: ceil_mode='yes'",
        ),
    ],
)
def test_argument_errors(kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        max_pool2d(X, **kwargs)
    with pytest.raises(exc, match=pattern):
        avg_pool2d(X, **kwargs)
    with pytest.raises(exc, match=pattern):
        avg_pool2d_backward(np.zeros((1, 1, 2, 2)), X.shape, **kwargs)


def test_padding_same_puts_the_odd_pad_after():
    # TF "same", 2x2 stride 1 on 5x5: pads (0, 1) per axis, so the windows of the last
    # row and column hang over the bottom/right padding and see real pixels only
    x = np.arange(25, dtype=np.float32).reshape(5, 5)
    out, _ = max_pool2d(x, 2, 1, "same")
    assert out.shape == (5, 5)
    assert out[4, 4] == 24
    assert out[0, 0] == 6
    avg = avg_pool2d(x, 2, 1, "same")
    assert avg[4, 4] == 24
    assert avg[4, 0] == (20 + 21) / 2
    assert avg[0, 0] == (0 + 1 + 5 + 6) / 4


def test_rank_and_backward_errors():
    with pytest.raises(
        ValueError,
        match=(
            r"`x` must have shape \(N, C, H, W\), \(C, H, W\) or \(H, W\)\. "
            r"Received: x\.shape=\(5,\)"
        ),
    ):
        max_pool2d(np.zeros(5), 2)
    with pytest.raises(ValueError, match=r"x\.shape=\(1, 1, 1, 4, 4\)"):
        avg_pool2d(np.zeros((1, 1, 1, 4, 4)), 2)
    with pytest.raises(TypeError, match=r"`count_include_pad` must be True or False"):
        avg_pool2d(X, 2, count_include_pad=None)
    out, idx = max_pool2d(X, 2)
    with pytest.raises(
        ValueError, match=r"`indices` must have the shape of `grad_out`"
    ):
        max_pool2d_backward(out, idx[..., :1], X.shape)
    with pytest.raises(TypeError, match=r"`indices` must be an integer array.*float64"):
        max_pool2d_backward(out, idx.astype(float), X.shape)
    with pytest.raises(
        ValueError, match=r"`indices` must lie in \[0, H \* W\) = \[0, 16\).*1 indices"
    ):
        max_pool2d_backward(out, np.where(idx == idx.max(), 16, idx), (1, 1, 4, 4))
    with pytest.raises(
        ValueError, match=r"`grad_out` must have the rank of x_shape \(4\)"
    ):
        max_pool2d_backward(out[0], idx[0], X.shape)
    with pytest.raises(
        ValueError, match=r"batch and channel sizes of x_shape \(1, 2\)"
    ):
        max_pool2d_backward(out, idx, (1, 2, 5, 5))
    with pytest.raises(
        ValueError,
        match=r"`x_shape` must be a tuple of non-negative ints.*x_shape=\(1, -5, 5\)",
    ):
        max_pool2d_backward(out[0], idx[0], (1, -5, 5))
    with pytest.raises(
        ValueError,
        match=(
            r"`grad_out` must have the pooled shape \(1, 1, 2, 2\) for this "
            r"geometry\. Received: grad_out\.shape=\(1, 1, 3, 2\)"
        ),
    ):
        avg_pool2d_backward(np.zeros((1, 1, 3, 2)), X.shape, 2)
    with pytest.raises(
        ValueError,
        match=(
            r"`grad_out` must have shape \(1, 1\) for x_shape=\(1, 1, 5, "
            r"5\)\. Received: grad_out\.shape=\(1,\)"
        ),
    ):
        global_avg_pool2d_backward(np.zeros(1), X.shape)
    with pytest.raises(ValueError, match=r"non-empty plane"):
        global_avg_pool2d(np.zeros((1, 1, 0, 3)))


@settings(deadline=None, max_examples=80)
@given(
    h=st.integers(1, 8),
    w=st.integers(1, 8),
    k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    s=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    pad=st.sampled_from([0, 1, "same"]),
    ceil_mode=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_hypothesis_ties_nan_and_inf(h, w, k, s, pad, ceil_mode, seed):
    """Few distinct values, NaN and -inf: the winner rule (first maximum, last NaN,
    first cell of an all -inf window) must match the reference cell by cell."""
    if pad == 1 and min(k) < 2:
        pad = 0
    values = np.array([0, 1, 2, np.nan, -np.inf], np.float32)
    rng = np.random.default_rng(seed)
    x = values[rng.choice(5, size=(2, 3, h, w), p=[0.3, 0.3, 0.2, 0.1, 0.1])]
    ref = naive.max_pool2d(
        x, k, s, pad if isinstance(pad, str) else (pad,) * 4, ceil_mode
    )
    if ref[0].size == 0:
        return
    out, idx = max_pool2d(x, k, s, pad, ceil_mode)
    np.testing.assert_array_equal(out, ref[0])
    np.testing.assert_array_equal(idx, ref[1])
    # values only (no index bookkeeping): the same bits, into a fresh or given buffer
    alone = max_pool2d(x, k, s, pad, ceil_mode, return_indices=False)
    np.testing.assert_array_equal(alone.view(np.uint32), out.view(np.uint32))
    buf = np.full(out.shape, 7.0, np.float32)
    assert max_pool2d(x, k, s, pad, ceil_mode, return_indices=False, out=buf) is buf
    np.testing.assert_array_equal(buf.view(np.uint32), out.view(np.uint32))


@pytest.mark.parametrize(("kernel", "stride"), [(2, None), (3, 2)])
def test_values_only_keep_the_last_nan_and_the_first_maximum(kernel, stride):
    """NaNs with different payloads and signed zeros tell which cell won: without
    indices the value must still be the winner's bits (the last NaN in scan order,
    else the first maximum), as with them and as the reference says."""
    rng = np.random.default_rng(11)
    nans = np.array([0x7FC00001, 0x7FC00002, 0xFFC00003], np.uint32).view(np.float32)
    pool = np.concatenate([nans, np.array([0.0, -0.0, 1.0, -1.0], np.float32)])
    x = pool[rng.integers(0, len(pool), (2, 3, 8, 10))]
    out, idx = max_pool2d(x, kernel, stride)
    stride_ = kernel if stride is None else stride
    _, ref_idx = naive.max_pool2d(x, (kernel,) * 2, (stride_,) * 2, (0, 0, 0, 0))
    np.testing.assert_array_equal(idx, ref_idx)
    winners = np.take_along_axis(x.reshape(2, 3, -1), idx.reshape(2, 3, -1), axis=2)
    np.testing.assert_array_equal(
        out.view(np.uint32).ravel(), winners.view(np.uint32).ravel()
    )
    alone = max_pool2d(x, kernel, stride, return_indices=False)
    np.testing.assert_array_equal(alone.view(np.uint32), out.view(np.uint32))


def test_max_pool_out_and_return_indices_errors():
    x = np.ones((1, 2, 4, 6), np.float32)
    out = np.empty((1, 2, 2, 3), np.float32)
    image = x[0, 0]
    got = max_pool2d(image, 2, return_indices=False, out=out[:, :1].copy())
    assert got.shape == (2, 3)
    values, idx = max_pool2d(x, 2, out=out)
    assert values is out
    assert idx.dtype == np.int64
    with pytest.raises(TypeError, match=r"`return_indices` must be True or False"):
        max_pool2d(x, 2, return_indices=1)
    with pytest.raises(ValueError, match=r"Received: out.shape=\(1, 2, 3, 2\)"):
        max_pool2d(x, 2, out=np.empty((1, 2, 3, 2), np.float32))
    with pytest.raises(ValueError, match=r"`out` must not overlap `x`"):
        max_pool2d(x, 2, out=x.reshape(-1)[:12].reshape(1, 2, 2, 3))
    with pytest.raises(TypeError, match=r"`out` must be a float32 ndarray"):
        max_pool2d(x, 2, out=3)
