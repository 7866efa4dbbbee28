"""Which path kernels.conv._plan picks, and that each path computes the formula.

One case per path asserts the plan *and* checks that case against tests/naive.py, so a
"winograd" test cannot silently test the direct path; boundary cases pin every threshold
of kernels.config at the value it was measured at, so moving one fails here first.
"""

from __future__ import annotations

import naive
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import kernels
from kernels import config, conv

MODES = ["zeros", "reflect", "replicate", "circular"]


def _plans(x, w, g, stride, padding, dilation, mode):
    geo = conv._Geometry(x.shape, w.shape, stride, padding, dilation, mode)
    forward = conv._plan(geo, x=x, weight=w)
    backward = conv._plan(geo, x=x, weight=w, grad_out=g)
    return forward.forward, backward.grad_input, backward.grad_weight


def _data(seed, x_shape, w_shape):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, x_shape).astype(np.float32)
    w = rng.uniform(-1, 1, w_shape).astype(np.float32)
    b = rng.uniform(-1, 1, w_shape[0]).astype(np.float32)
    return rng, x, w, b


def _check_against_naive(x, w, b, g, stride, padding, dilation, mode):
    geometry = (stride, padding, dilation, mode)
    with np.errstate(invalid="ignore", over="ignore"):  # poisoned cases make NaN
        out = kernels.conv2d(x, w, b, *geometry)
        ref = naive.conv2d(x, w, b, *geometry)
        gx, gw, gb = kernels.conv2d_backward(g, x, w, *geometry)
        rgx, rgw, rgb = naive.conv2d_grads(g, x, w, *geometry)
        # the single-gradient entry points plan the same way as the combined one
        gx_alone = kernels.conv2d_grad_input(g, x.shape, w, *geometry)
        gw_alone = kernels.conv2d_grad_weight(g, x, w.shape, *geometry)
    # equal_nan (the default): NaN and inf must sit where the formula puts them
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gx, rgx, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gw, rgw, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(gb, rgb, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(gx_alone, gx)
    np.testing.assert_array_equal(gw_alone, gw)


# (id, x shape, weight shape, stride, padding, dilation, mode, poison,
#  expected (forward, grad input, grad weight))
CASES = [
    (
        "winograd",  # 3x3 stride 1, 8 channels and 8 filters, odd edge tiles
        (2, 8, 7, 6),
        (8, 8, 3, 3),
        1,
        1,
        1,
        "zeros",
        None,
        ("winograd", "winograd", "wide"),
    ),
    (
        "winograd-reflect-valid",  # one image: the per-image planes for grad weight
        (1, 8, 6, 7),
        (9, 8, 3, 3),
        1,
        0,
        1,
        "reflect",
        None,
        ("winograd", "winograd", "planes"),
    ),
    (
        "blocks",  # one wide image: each block of rows gathers its own planes
        (1, 2, 9, 515),
        (3, 2, 3, 3),
        1,
        "same",
        1,
        "zeros",
        None,
        ("blocks", "flip-blocks", "planes"),
    ),
    (
        "blocks-row-phases-reflect",  # stride 2 along rows, dilated: 2 row phases
        (1, 2, 13, 520),
        (5, 2, 3, 2),
        (2, 1),
        (1, 2, 0, 3),
        (2, 1),
        "reflect",
        None,
        ("blocks", "flip-blocks", "planes"),
    ),
    (
        "blocks-non-finite-input",  # inf and NaN where the formula puts them
        (2, 4, 5, 513),
        (6, 4, 2, 3),
        1,
        0,
        1,
        "circular",
        "x",
        ("blocks", "flip-blocks", "planes"),
    ),
    (
        "wide-dots",  # LeNet-like: batch of small images, 25 taps
        (3, 1, 8, 8),
        (2, 1, 5, 5),
        1,
        2,
        1,
        "zeros",
        None,
        ("wide", "flip-wide", "dots"),
    ),
    (
        "wide-circular",  # other modes store each padded row whole
        (2, 2, 6, 5),
        (3, 2, 3, 3),
        1,
        "same",
        1,
        "circular",
        None,
        ("wide", "flip-wide", "dots"),
    ),
    (
        "wide-grad-weight",  # >= 64 taps, <= 32 filters, dilated
        (2, 8, 7, 7),
        (3, 8, 3, 3),
        1,
        "same",
        (1, 2),
        "zeros",
        None,
        ("wide", "flip-wide", "wide"),
    ),
    (
        "planes-strided",  # stride 2: the phase planes, and a 72-tap scratch; one image
        (1, 8, 7, 8),
        (3, 8, 3, 3),
        2,
        (0, 1, 2, 1),
        1,
        "replicate",
        None,
        ("planes", "flip-planes", "planes"),
    ),
    (
        "planes-one-image",  # one image is no batch for the wide planes
        (1, 2, 6, 7),
        (3, 2, 2, 3),
        1,
        1,
        2,
        "reflect",
        None,
        ("planes", "flip-planes", "dots"),
    ),
    (
        "flip-winograd",  # stride 2 3x3: grad input is a stride-1 3x3 convolution
        (1, 8, 7, 7),
        (8, 8, 3, 3),
        2,
        1,
        1,
        "zeros",
        None,
        ("planes", "flip-winograd", "planes"),
    ),
    (
        "scatter",  # an inf weight: the formula's scatter for the input gradient
        (2, 2, 6, 6),
        (2, 2, 3, 3),
        2,
        1,
        1,
        "zeros",
        "weight",
        ("planes", "scatter", "dots"),
    ),
    (
        "non-finite-input",  # Winograd's shape, but inf in x: direct paths only
        (2, 8, 6, 6),
        (8, 8, 3, 3),
        1,
        1,
        1,
        "zeros",
        "x",
        ("wide", "winograd", "planes"),  # grad input reads grad_out, not x
    ),
    (
        "gemm",  # a colour first layer: 27 taps, 16 filters, a batch
        (3, 3, 7, 6),
        (16, 3, 3, 3),
        1,
        1,
        1,
        "zeros",
        None,
        ("gemm", "flip-wide", "gemm"),
    ),
    (
        "gemm-reflect-non-finite-input",  # each output sums its own window: inf is fine
        (2, 4, 6, 7),
        (17, 4, 3, 3),
        1,
        "same",
        1,
        "reflect",
        "x",
        ("gemm", "flip-wide", "gemm"),
    ),
    (
        "gemm-non-finite-weight",  # 0 * inf in the padding is NaN, as in the formula
        (2, 1, 6, 6),
        (16, 1, 3, 3),
        1,
        (0, 2, 1, 0),
        1,
        "circular",
        "weight",
        ("gemm", "scatter", "gemm"),
    ),
    (
        "flip-gemm",  # 16 channels to 2 filters: grad input is 2 -> 16, 18 taps
        (2, 16, 5, 6),
        (2, 16, 3, 3),
        1,
        1,
        1,
        "zeros",
        None,
        ("wide", "flip-gemm", "wide"),
    ),
]

# The "wingemm" path's own cases: small shapes with its work thresholds at 0 (the real
# ones need batches too big for naive.py; test_wingemm_from_* pins them, and
# test_conv_torch.py checks training-size layers against torch).
WINGEMM_CASES = [
    (
        "wingemm",  # odd edge tiles on both axes, 9 channels
        (3, 9, 7, 6),
        (8, 9, 3, 3),
        1,
        1,
        1,
        "zeros",
        None,
        ("wingemm", "wingemm", "wingemm"),
    ),
    (
        "wingemm-reflect-asymmetric",  # other modes arrive padded
        (2, 8, 6, 7),
        (10, 8, 3, 3),
        1,
        (1, 2, 0, 1),
        1,
        "reflect",
        None,
        ("wingemm", "wingemm", "wingemm"),
    ),
    (
        "flip-wingemm",  # stride 2: grad input as a stride-1 3x3 convolution
        (2, 8, 9, 8),
        (8, 8, 3, 3),
        2,
        1,
        1,
        "zeros",
        None,
        ("planes", "flip-wingemm", "planes"),
    ),
    (
        "wingemm-non-finite-input",  # inf in x: direct paths, grad input still here
        (2, 8, 6, 6),
        (8, 8, 3, 3),
        1,
        1,
        1,
        "zeros",
        "x",
        ("wide", "wingemm", "planes"),
    ),
]


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "padding", "dilation", "mode", "poison", "paths"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_path_is_planned_and_matches_naive(
    x_shape, w_shape, stride, padding, dilation, mode, poison, paths
):
    rng, x, w, b = _data(len(x_shape) * 7 + w_shape[0], x_shape, w_shape)
    if poison == "weight":
        w[1, 0, 1, 2] = np.inf
    if poison == "x":
        x[1, 3, 2, 4] = np.inf
    with np.errstate(invalid="ignore"):
        out_shape = naive.conv2d(x, w, b, stride, padding, dilation, mode).shape
    g = rng.uniform(-1, 1, out_shape).astype(np.float32)
    assert _plans(x, w, g, stride, padding, dilation, mode) == paths
    _check_against_naive(x, w, b, g, stride, padding, dilation, mode)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "padding", "dilation", "mode", "poison", "paths"),
    [case[1:] for case in WINGEMM_CASES],
    ids=[case[0] for case in WINGEMM_CASES],
)
def test_wingemm_is_planned_and_matches_naive(
    monkeypatch, x_shape, w_shape, stride, padding, dilation, mode, poison, paths
):
    monkeypatch.setattr(config, "WINGEMM_MIN_WORK", 0)
    monkeypatch.setattr(config, "WINGEMM_GRAD_WEIGHT_MIN_WORK", 0)
    test_path_is_planned_and_matches_naive(
        x_shape, w_shape, stride, padding, dilation, mode, poison, paths
    )


def test_every_path_has_a_case():
    """A path added to the dispatch tables needs a case above (and a rule in _plan)."""
    planned = {p for case in CASES + WINGEMM_CASES for p in case[-1]}
    names = set(conv._FORWARD) | set(conv._GRAD_WEIGHT) | set(conv._GRAD_INPUT)
    names |= {conv._FLIP + name for name in conv._FORWARD}
    assert planned == names


def _plan_of(x_shape, w_shape, stride=1, padding=0, dilation=1, mode="zeros"):
    x = np.ones(x_shape, np.float32)
    w = np.ones(w_shape, np.float32)
    geo = conv._Geometry(x_shape, w_shape, stride, padding, dilation, mode)
    g = np.ones((x_shape[0], w_shape[0], *geo.out_hw), np.float32)
    return conv._plan(geo, x=x, weight=w), conv._plan(geo, x=x, weight=w, grad_out=g)


# The thresholds as measured (kernels/config.py says where): each pair sits on either
# side of one, written out here so that a change to config.py shows as a failure.
def test_winograd_needs_eight_channels_and_filters():
    assert _plan_of((1, 8, 6, 6), (8, 8, 3, 3))[0].forward == "winograd"
    assert _plan_of((1, 7, 6, 6), (8, 7, 3, 3))[0].forward == "planes"
    assert _plan_of((1, 8, 6, 6), (7, 8, 3, 3))[0].forward == "planes"
    assert _plan_of((1, 8, 6, 6), (8, 8, 3, 3), dilation=2)[0].forward == "planes"


def test_wingemm_from_524800_tiles_channels_and_filters():
    # 8200 one-tile images x 8 x 8 = 524,800; 6,479 x 9 x 9 = 524,799
    big, small = (8200, 8, 2, 2), (6479, 9, 2, 2)
    for plans, path in (
        (_plan_of(big, (8, 8, 3, 3), padding=1), "wingemm"),
        (_plan_of(small, (9, 9, 3, 3), padding=1), "winograd"),
    ):
        assert (plans[0].forward, plans[1].grad_input) == (path, path)


def test_wingemm_weight_gradient_from_524800_tiles_channels_and_filters():
    big, small = (8200, 8, 2, 2), (6479, 9, 2, 2)
    assert _plan_of(big, (8, 8, 3, 3), padding=1)[1].grad_weight == "wingemm"
    assert _plan_of(small, (9, 9, 3, 3), padding=1)[1].grad_weight != "wingemm"


def test_wide_forward_needs_sixteen_taps_and_at_most_1600_padded_pixels():
    assert _plan_of((2, 1, 4, 4), (1, 1, 4, 4))[0].forward == "wide"  # 16 taps
    assert _plan_of((2, 1, 5, 5), (1, 1, 3, 5))[0].forward == "planes"  # 15 taps
    assert _plan_of((2, 1, 38, 38), (1, 1, 5, 5), padding=1)[0].forward == "wide"
    assert _plan_of((2, 1, 1, 1600), (1, 1, 1, 16))[0].forward == "wide"
    # not wide: a row of 1601 is a wide image for "blocks" (width >= 513)
    assert _plan_of((2, 1, 1, 1601), (1, 1, 1, 16))[0].forward == "blocks"
    assert _plan_of((2, 1, 8, 8), (1, 1, 5, 5), stride=2)[0].forward == "planes"


def test_wide_grad_weight_needs_64_taps_and_at_most_32_filters():
    assert _plan_of((2, 4, 8, 8), (32, 4, 4, 4))[1].grad_weight == "wide"
    assert _plan_of((2, 4, 8, 8), (33, 4, 4, 4))[1].grad_weight == "planes"
    assert _plan_of((2, 7, 8, 8), (4, 7, 3, 3))[1].grad_weight == "dots"  # 63 taps


def test_dots_need_under_64_taps_and_at_most_4096_pixels():
    assert _plan_of((1, 7, 8, 8), (2, 7, 3, 3))[1].grad_weight == "dots"  # 63 taps
    assert _plan_of((1, 4, 8, 8), (2, 4, 4, 4))[1].grad_weight == "planes"  # 64
    assert _plan_of((1, 1, 64, 64), (2, 1, 3, 3))[1].grad_weight == "dots"
    assert _plan_of((1, 1, 17, 241), (2, 1, 3, 3))[1].grad_weight == "planes"  # 4097


def test_gemm_needs_16_filters_at_most_63_taps_and_1024_pixels():
    def both(*args, **kwargs):
        plans = _plan_of(*args, **kwargs)
        return plans[0].forward, plans[1].grad_weight

    gemm = ("gemm", "gemm")
    assert both((2, 3, 32, 32), (16, 3, 3, 3), padding=1) == gemm  # 1,024 pixels
    assert "gemm" not in both((2, 3, 32, 32), (15, 3, 3, 3), padding=1)
    assert both((2, 7, 8, 8), (16, 7, 3, 3)) == gemm  # 63 taps
    assert "gemm" not in both((2, 4, 8, 8), (16, 4, 4, 4))  # 64 taps
    assert "gemm" not in both((2, 1, 33, 32), (16, 1, 1, 1))  # 1,056 pixels
    assert both((2, 1, 32, 32), (16, 1, 1, 1)) == gemm
    assert "gemm" not in both((1, 3, 32, 32), (16, 3, 3, 3), padding=1)  # one image
    assert "gemm" not in both((2, 3, 9, 9), (16, 3, 3, 3), stride=2)
    assert "gemm" not in both((2, 3, 9, 9), (16, 3, 3, 3), dilation=2)


def test_blocks_from_a_plane_width_of_513():
    # plane width = padded width / stride, rounded up; 513 = PLANES_BLOCK // 2 + 1
    assert _plan_of((1, 1, 3, 513), (1, 1, 1, 1))[0].forward == "blocks"
    assert _plan_of((1, 1, 3, 512), (1, 1, 1, 1))[0].forward == "planes"
    assert _plan_of((1, 1, 3, 511), (1, 1, 1, 3), padding=1)[0].forward == "blocks"
    assert _plan_of((1, 1, 4, 1025), (1, 1, 1, 1), stride=2)[0].forward == "blocks"
    assert _plan_of((1, 1, 4, 1024), (1, 1, 1, 1), stride=2)[0].forward == "planes"
    # batches of small images keep their paths
    assert _plan_of((2, 1, 4, 4), (1, 1, 4, 4))[0].forward == "wide"


@pytest.mark.parametrize("kernel", [1, 3, 5, 11])
@pytest.mark.parametrize("stride", [1, (3, 1)])
def test_blocks_split_into_many_blocks_match_naive(kernel, stride):
    """Blocks of a few rows each, so every block boundary re-gathers its halo."""
    rng, x, w, b = _data(kernel, (1, 3, 37, 520), (5, 3, kernel, kernel))
    geo = conv._Geometry(x.shape, w.shape, stride, "same", 1, "zeros")
    assert conv._plan(geo, x=x, weight=w).forward == "blocks"
    np.testing.assert_allclose(
        kernels.conv2d(x, w, b, stride, "same"),
        naive.conv2d(x, w, b, stride, "same"),
        rtol=1e-5,
        atol=1e-4,
    )


def test_plan_names_only_the_passes_its_arrays_feed():
    x = np.ones((1, 1, 4, 4), np.float32)
    w = np.ones((1, 1, 3, 3), np.float32)
    g = np.ones((1, 1, 2, 2), np.float32)
    geo = conv._Geometry(x.shape, w.shape, 1, 0, 1, "zeros")
    assert conv._plan(geo, x=x, weight=w) == conv._Plan("planes", None, None)
    assert conv._plan(geo, weight=w, grad_out=g) == conv._Plan(
        None, "flip-planes", None
    )
    assert conv._plan(geo, x=x, grad_out=g) == conv._Plan(None, None, "dots")
    with pytest.raises(AttributeError):
        conv._plan(geo, x=x, weight=w).forward = "wide"  # frozen


@settings(deadline=None, max_examples=40)
@given(
    data=st.data(),
    n=st.integers(1, 3),
    c=st.sampled_from([1, 2, 8]),
    f=st.sampled_from([1, 3, 8]),
    h=st.integers(3, 7),
    w_=st.integers(3, 7),
    kh=st.integers(1, 3),
    kw=st.integers(1, 3),
    stride=st.sampled_from([1, 2, (1, 2)]),
    dilation=st.sampled_from([1, (2, 1)]),
    mode=st.sampled_from(MODES),
    poison=st.sampled_from([None, None, None, "x", "weight"]),
)
def test_hypothesis_every_plan_matches_naive(
    data, n, c, f, h, w_, kh, kw, stride, dilation, mode, poison
):
    padding = data.draw(
        st.one_of(
            st.sampled_from(["same", "valid", 1]), st.tuples(*[st.integers(0, 2)] * 4)
        )
    )
    pads = naive.pads4(padding, (h, w_), (kh, kw), stride, dilation)
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    assume(h + pads[0] + pads[1] - dh * (kh - 1) - 1 >= 0)
    assume(w_ + pads[2] + pads[3] - dw * (kw - 1) - 1 >= 0)
    if mode == "reflect":
        assume(max(pads[:2]) < h and max(pads[2:]) < w_)
    if mode == "circular":
        assume(max(pads[:2]) <= h and max(pads[2:]) <= w_)
    rng, x, w, b = _data(n * 100 + c * 10 + f, (n, c, h, w_), (f, c, kh, kw))
    if poison == "x":
        x[-1, -1, h // 2, w_ // 2] = np.inf
    if poison == "weight":
        w[-1, -1, kh // 2, kw // 2] = np.inf
    with np.errstate(invalid="ignore"):
        out_shape = naive.conv2d(x, w, b, stride, padding, dilation, mode).shape
    g = rng.uniform(-1, 1, out_shape).astype(np.float32)
    _check_against_naive(x, w, b, g, stride, padding, dilation, mode)


@settings(deadline=None, max_examples=30)
@given(
    n=st.integers(1, 3),
    c=st.integers(8, 10),
    f=st.integers(8, 10),
    h=st.integers(1, 9),
    w_=st.integers(1, 9),
    pads=st.tuples(*[st.integers(0, 2)] * 4),
    mode=st.sampled_from(MODES),
)
def test_hypothesis_wingemm_matches_naive(n, c, f, h, w_, pads, mode):
    """Any 3x3 stride-1 shape through "wingemm" (its work thresholds at 0)."""
    assume(h + pads[0] + pads[1] >= 3 and w_ + pads[2] + pads[3] >= 3)
    if mode == "reflect":
        assume(max(pads[:2]) < h and max(pads[2:]) < w_)
    if mode == "circular":
        assume(max(pads[:2]) <= h and max(pads[2:]) <= w_)
    rng, x, w, b = _data(n * 100 + c * 10 + f, (n, c, h, w_), (f, c, 3, 3))
    out_shape = naive.conv2d(x, w, b, 1, pads, 1, mode).shape
    g = rng.uniform(-1, 1, out_shape).astype(np.float32)
    saved = config.WINGEMM_MIN_WORK, config.WINGEMM_GRAD_WEIGHT_MIN_WORK
    config.WINGEMM_MIN_WORK = config.WINGEMM_GRAD_WEIGHT_MIN_WORK = 0
    try:
        assert _plans(x, w, g, 1, pads, 1, mode) == ("wingemm",) * 3
        _check_against_naive(x, w, b, g, 1, pads, 1, mode)
    finally:
        config.WINGEMM_MIN_WORK, config.WINGEMM_GRAD_WEIGHT_MIN_WORK = saved
