"""conv2d and its gradients against tests/naive.py, finite differences, hand cases."""

from __future__ import annotations

import zlib

import naive
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import kernels

MODES = ["zeros", "reflect", "replicate", "circular"]
STRIDES = [1, 2, (2, 1), 3]
PADDINGS = [0, 1, (1, 2), (0, 1, 2, 3), "same", "valid"]
DILATIONS = [1, 2, (1, 2)]
# odd, even, rectangular, 1x1
KERNELS = [(3, 3), (2, 2), (2, 3), (1, 1)]


def _data(rng, x_shape, w_shape, bias=True):
    x = rng.uniform(-1, 1, x_shape).astype(np.float32)
    w = rng.uniform(-1, 1, w_shape).astype(np.float32)
    b = rng.uniform(-1, 1, w_shape[0]).astype(np.float32) if bias else None
    return x, w, b


def _check_forward_and_grads(x, w, b, stride, padding, dilation, mode, rng):
    out = kernels.conv2d(x, w, b, stride, padding, dilation, mode)
    ref = naive.conv2d(x, w, b, stride, padding, dilation, mode)
    assert out.dtype == np.float32
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    g = rng.uniform(-1, 1, ref.shape).astype(np.float32)
    gx, gw, gb = kernels.conv2d_backward(g, x, w, stride, padding, dilation, mode)
    rgx, rgw, rgb = naive.conv2d_grads(g, x, w, stride, padding, dilation, mode)
    np.testing.assert_allclose(gx, rgx, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gw, rgw, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(gb, rgb, rtol=1e-5, atol=1e-5)
    # the single-gradient entry points agree with the combined one
    np.testing.assert_array_equal(
        kernels.conv2d_grad_input(g, x.shape, w, stride, padding, dilation, mode), gx
    )
    np.testing.assert_array_equal(
        kernels.conv2d_grad_weight(g, x, w.shape, stride, padding, dilation, mode), gw
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", PADDINGS, ids=str)
@pytest.mark.parametrize("stride", STRIDES, ids=str)
def test_matches_naive_stride_padding_mode(stride, padding, mode):
    rng = np.random.default_rng(zlib.crc32(f"{stride}{padding}{mode}".encode()))
    # rectangular even-width kernel; 3 filters (the 2- and 1-filter tails); C, N = 2
    x, w, b = _data(rng, (2, 2, 6, 7), (3, 2, 3, 2))
    _check_forward_and_grads(x, w, b, stride, padding, 1, mode, rng)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kernel", KERNELS, ids=str)
@pytest.mark.parametrize("dilation", DILATIONS, ids=str)
@pytest.mark.parametrize(
    ("stride", "padding"), [(1, "same"), (2, 1), ((1, 2), (0, 1, 2, 0))]
)
def test_matches_naive_dilation_kernel(dilation, kernel, stride, padding, mode):
    rng = np.random.default_rng(7)
    x, w, b = _data(rng, (2, 3, 7, 6), (2, 3, *kernel))
    _check_forward_and_grads(x, w, b, stride, padding, dilation, mode, rng)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", [0, (1, 2)], ids=str)
def test_kernel_as_large_as_padded_input(padding, mode):
    rng = np.random.default_rng(3)
    pads = naive.pads4(padding, (4, 5), (1, 1), 1, 1)
    kh, kw = 4 + pads[0] + pads[1], 5 + pads[2] + pads[3]
    x, w, b = _data(rng, (2, 2, 4, 5), (2, 2, kh, kw))
    assert kernels.conv2d(x, w, b, 1, padding, 1, mode).shape == (2, 2, 1, 1)
    _check_forward_and_grads(x, w, b, 1, padding, 1, mode, rng)


def test_many_filters_and_taps():
    """More than 8 taps and filters: every branch of the 8-tap, 2-filter loops."""
    rng = np.random.default_rng(5)
    x, w, b = _data(rng, (3, 5, 9, 8), (7, 5, 3, 3))
    _check_forward_and_grads(x, w, b, 1, 1, 1, "zeros", rng)


@pytest.mark.parametrize("n_filters", [9, 33])
@pytest.mark.parametrize("mode", ["zeros", "reflect"])
def test_small_batched_images_grad_weight_both_paths(mode, n_filters):
    """Many taps, small images: wide planes up to 32 filters, per-image planes above."""
    rng = np.random.default_rng(n_filters)
    x, w, b = _data(rng, (3, 8, 6, 7), (n_filters, 8, 3, 3))
    _check_forward_and_grads(x, w, b, 1, 1, 1, mode, rng)


@pytest.mark.parametrize("dilation", [1, (2, 1)], ids=str)
@pytest.mark.parametrize(
    "padding", [2, (0, 3, 1, 0), (3, 0, 0, 2), (1, 1, 4, 1), "same"], ids=str
)
def test_wide_planes_uneven_padding(padding, dilation):
    """Batched small images with many taps take the wide planes: zero padding shares
    one run of zeros between neighbouring images (left and right pads of any sizes,
    one wider than the kernel), and rows of padding are left out of the sums. The
    input gradient (a flipped-kernel convolution padded by the kernel's span) takes
    the same path."""
    rng = np.random.default_rng(19)
    x, w, b = _data(rng, (5, 2, 6, 5), (6, 2, 3, 4))
    _check_forward_and_grads(x, w, b, 1, padding, dilation, "zeros", rng)


@pytest.mark.parametrize("where", ["forward", "grad_input"])
def test_wide_planes_non_finite_weight_meets_padding_as_formula_says(where):
    """Leaving padding rows out must not hide ``0 * inf = NaN`` where the formula has
    it: a forward pass multiplies the padding by the weights, so an inf weight turns
    the output rows that reach into padding into NaN, exactly as in the naive sum."""
    rng = np.random.default_rng(23)
    x, w, b = _data(rng, (4, 2, 6, 6), (3, 2, 3, 3))
    w[1, 0, 0, 1] = np.inf
    with np.errstate(invalid="ignore"):
        if where == "forward":
            out = kernels.conv2d(x, w, b, 1, 1)
            ref = naive.conv2d(x, w, b, 1, 1)
        else:
            g = rng.uniform(-1, 1, (4, 3, 6, 6)).astype(np.float32)
            out = kernels.conv2d_grad_input(g, x.shape, w, 1, 1)
            ref = naive.conv2d_grads(g, x, w, 1, 1)[0]
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(out), np.isinf(ref))
    finite = np.isfinite(ref)
    np.testing.assert_allclose(out[finite], ref[finite], rtol=1e-5, atol=1e-5)
    if where == "forward":
        assert np.isnan(out[:, 1, 0]).all()  # the top row reads the padding row


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("stride", "dilation"), [(1, 1), (2, 1), ((1, 2), (2, 1))])
def test_grad_input_with_non_finite_weight_matches_formula(stride, dilation, mode):
    """The input gradient never multiplies padding: with an inf or NaN weight its
    NaN/inf pattern is the formula's in every mode, stride and dilation."""
    rng = np.random.default_rng(29)
    x, w, _ = _data(rng, (2, 3, 7, 6), (4, 3, 3, 2))
    w[2, 1, 1, 0] = np.inf
    w[0, 0, 2, 1] = np.nan
    out_shape = naive.conv2d(x, np.ones_like(w), None, stride, 1, dilation, mode).shape
    g = rng.uniform(-1, 1, out_shape).astype(np.float32)
    with np.errstate(invalid="ignore"):
        gx = kernels.conv2d_grad_input(g, x.shape, w, stride, 1, dilation, mode)
        ref = naive.conv2d_grads(g, x, w, stride, 1, dilation, mode)[0]
    np.testing.assert_array_equal(np.isnan(gx), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(gx), np.isinf(ref))
    finite = np.isfinite(ref)
    assert finite.any()
    assert not finite.all()
    np.testing.assert_allclose(gx[finite], ref[finite], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", [1, 0, "same", (0, 1, 2, 0)], ids=str)
@pytest.mark.parametrize("hw", [(7, 9), (6, 6)], ids=str)
def test_winograd_layers_match_naive(hw, padding, mode):
    """3x3 stride-1 layers with >= 8 channels and filters take the Winograd path (and
    so does their input gradient); odd sizes leave half-used tiles at the edges."""
    rng = np.random.default_rng(13)
    x, w, b = _data(rng, (2, 8, *hw), (9, 8, 3, 3))
    _check_forward_and_grads(x, w, b, 1, padding, 1, mode, rng)


def test_winograd_shape_with_non_finite_input_keeps_ieee_semantics():
    """Winograd mixes a whole 4x4 patch, which would turn one inf into NaNs around it;
    non-finite inputs take the direct path, so the NaN/inf pattern is the formula's."""
    rng = np.random.default_rng(17)
    x, w, b = _data(rng, (2, 8, 8, 8), (8, 8, 3, 3))
    x[0, 3, 4, 4] = np.inf
    x[1, 5, 0, 6] = np.nan
    with np.errstate(invalid="ignore"):
        out = kernels.conv2d(x, w, b, 1, 1)
        ref = naive.conv2d(x, w, b, 1, 1)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(out), np.isinf(ref))
    assert np.isinf(out[0]).sum() == 9 * 8  # a 3x3 neighbourhood in every filter
    g = rng.uniform(-1, 1, out.shape).astype(np.float32)
    g[1, 2, 3, 3] = np.inf
    with np.errstate(invalid="ignore"):
        gx = kernels.conv2d_grad_input(g, x.shape, w, 1, 1)
        ref_gx = naive.conv2d_grads(g, x, w, 1, 1)[0]
    np.testing.assert_array_equal(np.isinf(gx), np.isinf(ref_gx))
    np.testing.assert_array_equal(np.isnan(gx), np.isnan(ref_gx))
    assert np.isinf(gx[1]).sum() == 9 * 8


@settings(deadline=None, max_examples=60)
@given(
    data=st.data(),
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    f=st.integers(1, 3),
    h=st.integers(1, 7),
    w_=st.integers(1, 7),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    mode=st.sampled_from(MODES),
)
def test_hypothesis_geometry(data, n, c, f, h, w_, kh, kw, stride, dilation, mode):
    padding = data.draw(
        st.one_of(
            st.sampled_from(["same", "valid"]),
            st.tuples(*[st.integers(0, 3)] * 4),
        )
    )
    pads = naive.pads4(padding, (h, w_), (kh, kw), stride, dilation)
    oh = (h + pads[0] + pads[1] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (w_ + pads[2] + pads[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    rng = np.random.default_rng(0)
    x, w, b = _data(rng, (n, c, h, w_), (f, c, kh, kw))
    if oh <= 0 or ow <= 0:
        with pytest.raises(ValueError, match="Output would be empty"):
            kernels.conv2d(x, w, b, stride, padding, dilation, mode)
        return
    if mode == "reflect":
        assume(max(pads[:2]) < h and max(pads[2:]) < w_)
    if mode == "circular":
        assume(max(pads[:2]) <= h and max(pads[2:]) <= w_)
    _check_forward_and_grads(x, w, b, stride, padding, dilation, mode, rng)


# ----------------------------------------------------------------- finite differences


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("stride", "padding", "dilation"),
    [(1, 1, 1), (2, (1, 0, 2, 1), 1), ((1, 2), "same", (2, 1))],
    ids=str,
)
def test_gradients_match_finite_differences(stride, padding, dilation, mode):
    rng = np.random.default_rng(11)
    x = rng.uniform(-1, 1, (2, 2, 5, 4))
    w = rng.uniform(-1, 1, (2, 2, 2, 3))
    b = rng.uniform(-1, 1, 2)
    out = naive.conv2d(x, w, b, stride, padding, dilation, mode)
    g = rng.uniform(-1, 1, out.shape)

    def conv(x_=x, w_=w, b_=b):
        return naive.conv2d(x_, w_, b_, stride, padding, dilation, mode)

    fd_x = naive.numeric_grad(lambda v: conv(x_=v), x, g, 1e-3)
    fd_w = naive.numeric_grad(lambda v: conv(w_=v), w, g, 1e-3)
    fd_b = naive.numeric_grad(lambda v: conv(b_=v), b, g, 1e-3)
    gx, gw, gb = kernels.conv2d_backward(g, x, w, stride, padding, dilation, mode)
    np.testing.assert_allclose(gx, fd_x, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gw, fd_w, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gb, fd_b, rtol=1e-4, atol=1e-4)


def test_need_input_grad_false_skips_it():
    x = np.ones((1, 1, 3, 3), np.float32)
    gx, gw, gb = kernels.conv2d_backward(
        np.ones((1, 1, 2, 2)), x, np.ones((1, 1, 2, 2)), need_input_grad=False
    )
    assert gx is None
    np.testing.assert_array_equal(gw, np.full((1, 1, 2, 2), 4.0))
    np.testing.assert_array_equal(gb, [4.0])


# ------------------------------------------------------------------ hand cases, ranks


def test_hand_computed_same_even_kernel():
    # "same" with a 2x2 kernel pads only the bottom and right (TensorFlow)
    x = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    out = kernels.conv2d(x, np.ones((1, 1, 2, 2)), padding="same")
    np.testing.assert_array_equal(out[0, 0], [[8, 12, 7], [20, 24, 13], [13, 15, 8]])


def test_stride_two_hand_case():
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    out = kernels.conv2d(x, np.ones((1, 1, 2, 2)), stride=2)
    np.testing.assert_array_equal(out[0, 0], [[10, 18], [42, 50]])


def test_image_ranks_are_restored():
    rng = np.random.default_rng(2)
    image = rng.uniform(size=(6, 5)).astype(np.float32)
    one = rng.uniform(size=(1, 1, 3, 3)).astype(np.float32)
    four = rng.uniform(size=(4, 1, 3, 3)).astype(np.float32)
    full = kernels.conv2d(image[None, None], four, padding=1)
    assert kernels.conv2d(image, one, padding=1).shape == (6, 5)
    np.testing.assert_array_equal(kernels.conv2d(image, four, padding=1), full[0])
    chw = rng.uniform(size=(3, 6, 5))
    w3 = rng.uniform(size=(2, 3, 3, 3))
    out = kernels.conv2d(chw, w3)
    assert out.shape == (2, 4, 3)
    np.testing.assert_allclose(
        out, naive.conv2d(chw[None], w3)[0], rtol=1e-5, atol=1e-5
    )


def test_other_dtypes_and_layouts_are_converted():
    rng = np.random.default_rng(4)
    x = rng.uniform(size=(2, 3, 6, 6))  # float64
    w = np.asfortranarray(rng.uniform(size=(2, 3, 3, 3)))
    xt = x.transpose(0, 1, 3, 2)  # not C-contiguous
    out = kernels.conv2d(xt, w, padding="same")
    np.testing.assert_allclose(
        out, naive.conv2d(xt, w, padding="same"), rtol=1e-5, atol=1e-5
    )
    ints = kernels.conv2d(
        np.ones((1, 1, 3, 3), np.int64), np.ones((1, 1, 3, 3), np.int32)
    )
    assert ints.dtype == np.float32
    assert ints[0, 0, 0, 0] == 9


@pytest.mark.parametrize("mode", MODES)
def test_nan_and_inf_propagate(mode):
    rng = np.random.default_rng(9)
    x, w, b = _data(rng, (2, 2, 6, 6), (2, 2, 3, 3))
    x[0, 1, 2, 3] = np.nan
    x[1, 0, 0, 0] = np.inf
    with np.errstate(invalid="ignore"):
        ref = naive.conv2d(x, w, b, 1, "same", 1, mode)
        out = kernels.conv2d(x, w, b, 1, "same", 1, mode)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(out), np.isinf(ref))
    assert np.isnan(out[0]).any()
    assert not np.isfinite(out[1]).all()
    finite = np.isfinite(ref)
    np.testing.assert_allclose(out[finite], ref[finite], rtol=1e-5, atol=1e-5)


def test_inf_weight_times_zero_padding_is_nan():
    """Zero padding is real zeros: inf * 0 = NaN at the border, as the formula says."""
    w = np.ones((1, 1, 3, 3), np.float32)
    w[0, 0, 0, 0] = np.inf
    with np.errstate(invalid="ignore"):
        out = kernels.conv2d(np.ones((1, 1, 3, 3), np.float32), w, padding=1)
        ref = naive.conv2d(np.ones((1, 1, 3, 3)), w.astype(np.float64), padding=1)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    assert np.isnan(out[0, 0, 0, 0])
    assert np.isposinf(out[0, 0, 2, 2])


# --------------------------------------------------------------------- error messages

X = np.zeros((2, 3, 5, 5), np.float32)
W = np.zeros((4, 3, 3, 3), np.float32)


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        (
            {"stride": (1, 0)},
            ValueError,
            r"`stride` must be a positive int .*Received: stride=\(1, 0\)",
        ),
        ({"stride": 0}, ValueError, r"Received: stride=0"),
        ({"stride": 1.5}, (TypeError, ValueError), r"`stride`.*Received: stride=1.5"),
        (
            {"dilation": (0, 1)},
            ValueError,
            r"`dilation` must be .*Received: dilation=\(0, 1\)",
        ),
        ({"padding": -1}, ValueError, r"`padding` must be .*Received: padding=-1"),
        ({"padding": (1, -2)}, ValueError, r"Received: padding=\(1, -2\)"),
        ({"padding": "full"}, ValueError, r"'valid', 'same'.*Received: padding='full'"),
        ({"padding": (1, 2, 3)}, ValueError, r"Received: padding=\(1, 2, 3\)"),
        (
            {"padding_mode": "mirror"},
            ValueError,
            r"`padding_mode` must be one of .*'mirror'",
        ),
        (
            {"padding": 5, "padding_mode": "reflect"},
            ValueError,
            r"Reflect padding must be smaller",
        ),
        (
            {"padding": 6, "padding_mode": "circular"},
            ValueError,
            r"Circular padding can wrap",
        ),
    ],
    ids=str,
)
def test_argument_errors(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        kernels.conv2d(X, W, **kwargs)


def test_empty_output_message():
    with pytest.raises(
        ValueError,
        match=r"Output would be empty: input 5x5, kernel 7x7, stride 1, padding 0\.",
    ):
        kernels.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 7, 7)))
    with pytest.raises(
        ValueError, match=r"Output would be empty: input 5x5, kernel 3x3.*dilation 3"
    ):
        kernels.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), dilation=3)


def test_mismatched_channels_names_both_shapes():
    pattern = (
        r"`x` has 3 channels but `weight` expects 2.*\(2, 3, 5, 5\).*\(4, 2, 3, 3\)"
    )
    with pytest.raises(ValueError, match=pattern):
        kernels.conv2d(X, np.zeros((4, 2, 3, 3)))


def test_zero_size_kernel():
    with pytest.raises(
        ValueError, match=r"non-empty.*Received: weight.shape=\(4, 3, 0, 3\)"
    ):
        kernels.conv2d(X, np.zeros((4, 3, 0, 3)))


def test_bias_shape():
    with pytest.raises(
        ValueError, match=r"`bias` must have shape \(F,\) = \(4,\).*\(3,\)"
    ):
        kernels.conv2d(X, W, np.zeros(3))


@pytest.mark.parametrize(
    ("x", "w", "pattern"),
    [
        (
            np.zeros((1, 1, 1, 5, 5)),
            W,
            r"`x` must have shape .*Received: x.shape=\(1, 1, 1, 5, 5\)",
        ),
        (
            X,
            np.zeros((3, 3, 3)),
            r"`weight` must have shape \(F, C, KH, KW\).*\(3, 3, 3\)",
        ),
    ],
)
def test_rank_errors(x, w, pattern):
    with pytest.raises(ValueError, match=pattern):
        kernels.conv2d(x, w)


def test_non_numeric_input():
    with pytest.raises(TypeError, match=r"`x` must be an array of numbers"):
        kernels.conv2d("image", W)


def test_backward_errors():
    g = np.zeros((2, 4, 3, 3), np.float32)
    with pytest.raises(
        ValueError, match=r"`grad_out` must have .*\(2, 4, 5, 5\).*\(2, 4, 3, 3\)"
    ):
        kernels.conv2d_backward(g, X, W, padding=1)
    with pytest.raises(ValueError, match=r"`x_shape` must be a 4-tuple"):
        kernels.conv2d_grad_input(g, (5, 5), W)
    with pytest.raises(ValueError, match=r"`weight_shape` must be a 4-tuple"):
        kernels.conv2d_grad_weight(g, X, (3, 3))
    with pytest.raises(ValueError, match=r"`x` has 3 channels but `weight` expects 2"):
        kernels.conv2d_grad_weight(g, X, (4, 2, 3, 3))
    with pytest.raises(ValueError, match=r"Received: stride=\(1, 0\)"):
        kernels.conv2d_grad_input(g, X.shape, W, stride=(1, 0))


def test_grad_bias_sums_in_float64_and_keeps_inf_and_nan():
    g = np.full((3, 4, 5, 6), 1e-4, np.float32)
    g[0, 0, 0, 0] = 1e4  # float32 accumulation would drop the small terms
    g[1, 2, 3, 4] = np.inf
    g[2, 3, 0, 1] = np.nan
    x = np.zeros((3, 2, 7, 8), np.float32)
    w = np.zeros((4, 2, 3, 3), np.float32)
    with np.errstate(invalid="ignore"):  # 0 * inf in the weight gradient
        _, _, gb = kernels.conv2d_backward(g, x, w, need_input_grad=False)
    ref = g.astype(np.float64).sum(axis=(0, 2, 3))
    np.testing.assert_allclose(gb[:2], ref[:2].astype(np.float32), rtol=1e-7)
    assert np.isposinf(gb[2])
    assert np.isnan(gb[3])


# ``out=``: every forward path writes into the given buffer, the same bits as without
OUT_CASES = [
    ("planes", (1, 3, 9, 11), (8, 3, 3, 3), 1, "same"),
    ("planes", (1, 1, 10, 7), (3, 1, 2, 3), 2, "valid"),  # stride 2, even kernel
    ("wide", (3, 2, 6, 7), (3, 2, 3, 3), 1, 1),
    ("winograd", (2, 8, 7, 6), (8, 8, 3, 3), 1, 1),
    ("wingemm", (3, 9, 7, 6), (8, 9, 3, 3), 1, 1),
]


@pytest.mark.parametrize(
    ("path", "x_shape", "w_shape", "stride", "padding"),
    OUT_CASES,
    ids=[f"{c[0]}-{c[1]}" for c in OUT_CASES],
)
def test_out_buffer_takes_the_result_on_every_path(
    monkeypatch, path, x_shape, w_shape, stride, padding
):
    from kernels import config, conv

    if path == "wingemm":
        monkeypatch.setattr(config, "WINGEMM_MIN_WORK", 0)
    rng = np.random.default_rng(zlib.crc32(repr(x_shape).encode()))
    x, w, b = _data(rng, x_shape, w_shape)
    geo = conv._Geometry(x.shape, w.shape, stride, padding, 1, "zeros")
    assert conv._plan(geo, x=x, weight=w).forward == path
    want = kernels.conv2d(x, w, b, stride, padding)
    np.testing.assert_allclose(
        want, naive.conv2d(x, w, b, stride, padding, 1, "zeros"), 1e-5, 1e-5
    )
    # garbage in the buffer must not leak into the result
    out = np.full(want.shape, np.nan, np.float32)
    got = kernels.conv2d(x, w, b, stride, padding, out=out)
    assert got is out
    np.testing.assert_array_equal(out, want)
    again = kernels.conv2d(x, w * 2, b, stride, padding, out=out)  # reused
    assert again is out
    np.testing.assert_array_equal(out, kernels.conv2d(x, w * 2, b, stride, padding))


def test_out_buffer_for_lower_rank_input_is_four_dimensional():
    rng = np.random.default_rng(5)
    image = rng.uniform(-1, 1, (6, 5)).astype(np.float32)
    w = rng.uniform(-1, 1, (2, 1, 3, 3)).astype(np.float32)
    out = np.empty((1, 2, 6, 5), np.float32)
    got = kernels.conv2d(image, w, padding="same", out=out)
    assert got.shape == (2, 6, 5)
    assert got.base is out
    np.testing.assert_array_equal(got, kernels.conv2d(image, w, padding="same"))


def test_out_buffer_errors_name_out():
    x = np.ones((1, 2, 5, 5), np.float32)
    w = np.ones((3, 2, 3, 3), np.float32)
    good = np.empty((1, 3, 3, 3), np.float32)
    kernels.conv2d(x, w, out=good)
    with pytest.raises(TypeError, match=r"`out` must be a float32 ndarray .*list"):
        kernels.conv2d(x, w, out=good.tolist())
    with pytest.raises(
        ValueError, match=r"shape \(1, 3, 3, 3\).*Received: out.shape=\(1, 3, 3, 4\)"
    ):
        kernels.conv2d(x, w, out=np.empty((1, 3, 3, 4), np.float32))
    with pytest.raises(ValueError, match=r"Received: out.shape=.*out.dtype=float64"):
        kernels.conv2d(x, w, out=np.empty((1, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"C_CONTIGUOUS=False"):
        kernels.conv2d(x, w, out=np.empty((1, 3, 3, 6), np.float32)[..., ::2])
    read_only = np.empty((1, 3, 3, 3), np.float32)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match=r"WRITEABLE=False"):
        kernels.conv2d(x, w, out=read_only)
    # the output may not be (part of) what the convolution reads, not even exactly x
    x_same = np.ones((1, 3, 5, 5), np.float32)
    w_same = np.ones((3, 3, 3, 3), np.float32)
    with pytest.raises(ValueError, match=r"`out` must not overlap `x`"):
        kernels.conv2d(x_same, w_same, padding=1, out=x_same)
    big = np.ones(200, np.float32)
    with pytest.raises(ValueError, match=r"`out` must not overlap `weight`"):
        kernels.conv2d(
            x, big[:54].reshape(3, 2, 3, 3), out=big[50:77].reshape(good.shape)
        )


def test_an_array_given_as_a_shape_is_named_briefly():
    """The weight passed where ``x_shape`` goes (the arguments swapped): the message
    names the argument and the array's shape, not its 288 values."""
    w = np.ones((32, 32, 3, 3), np.float32)
    g = np.ones((2, 32, 4, 4), np.float32)
    with pytest.raises(ValueError, match=r"Received: x_shape=array of shape") as err:
        kernels.conv2d_grad_input(g, w, w.shape)
    assert "(32, 32, 3, 3)" in str(err.value)
    assert len(str(err.value)) < 300
