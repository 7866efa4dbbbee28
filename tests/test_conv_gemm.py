"""The GEMM convolution path (kernels._conv_gemm) against the slow references.

Forward, grad input and grad weight against ``naive.py`` (float64 loops over the
padded formula) over stride, dilation, asymmetric pads, padding modes and odd shapes;
the im2col buffer cap (batch chunks, row blocks) must not change a result; hypothesis
draws the rest; torch's float64 autograd where installed.
"""

from __future__ import annotations

import naive
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels import _conv_gemm as gemm
from kernels.shapes import resolve_padding

MODES = ["zeros", "reflect", "replicate", "circular"]


def _case(rng, n, c, h, w, f, kh, kw):
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    weight = rng.standard_normal((f, c, kh, kw)).astype(np.float32)
    bias = rng.standard_normal(f).astype(np.float32)
    return x, weight, bias


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _check(
    x, weight, bias, stride, padding, dilation, mode, cap=None, seed=0, workers=1
):
    stride, dilation = _pair(stride), _pair(dilation)
    pads = resolve_padding(padding, x.shape[2:], weight.shape[2:], stride, dilation)
    ref = naive.conv2d(x, weight, bias, stride, pads, dilation, mode)
    out = gemm.conv2d_gemm(x, weight, bias, pads, stride, dilation, mode, cap, workers)
    assert out.dtype == np.float32
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)
    g = np.random.default_rng(seed).standard_normal(ref.shape).astype(np.float32)
    gx_ref, gw_ref, _ = naive.conv2d_grads(g, x, weight, stride, pads, dilation, mode)
    gx = gemm.conv2d_grad_input_gemm(
        g, x.shape, weight, pads, stride, dilation, mode, cap, workers
    )
    gw = gemm.conv2d_grad_weight_gemm(
        g, x, weight.shape, pads, stride, dilation, mode, cap, workers
    )
    assert gx.shape == x.shape
    assert gw.shape == weight.shape
    assert gx.dtype == gw.dtype == np.float32
    np.testing.assert_allclose(gx, gx_ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gw, gw_ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("stride", [1, 2, (2, 1), (1, 3)])
@pytest.mark.parametrize("dilation", [1, 2, (1, 2)])
@pytest.mark.parametrize("padding", [0, 1, (0, 2, 1, 3), "same"])
def test_geometry_against_naive(stride, dilation, padding):
    rng = np.random.default_rng(0)
    x, weight, bias = _case(rng, 2, 3, 9, 8, 4, 3, 2)
    _check(x, weight, bias, stride, padding, dilation, "zeros")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stride", [1, 2])
def test_padding_modes_against_naive(mode, stride):
    rng = np.random.default_rng(1)
    x, weight, bias = _case(rng, 2, 2, 7, 9, 3, 3, 3)
    _check(x, weight, bias, stride, (2, 1, 1, 2), 1, mode)


@pytest.mark.parametrize(
    "shape",
    [
        (1, 1, 1, 1, 1, 1, 1),  # one pixel, one tap
        (3, 1, 5, 13, 2, 5, 1),  # tall kernel, one channel
        (1, 5, 4, 4, 7, 4, 4),  # kernel as large as the image
        (2, 2, 11, 3, 1, 2, 3),  # narrow image, one filter
    ],
)
def test_odd_shapes_against_naive(shape):
    rng = np.random.default_rng(2)
    x, weight, bias = _case(rng, *shape)
    _check(x, weight, bias, 1, 0, 1, "zeros")
    _check(x, weight, None, 1, "same", 1, "zeros")


@pytest.mark.parametrize(
    "cap",
    [1, 4 * 18 * 7 * 2, 4 * 18 * 56 * 2],  # blocks of 1 and 2 rows; 2 images a chunk
)
@pytest.mark.parametrize("mode", ["zeros", "reflect"])
def test_buffer_cap_splits_work_without_changing_results(cap, mode):
    """A cap below one image's buffer takes row blocks (forward and grad weight), a cap
    above it whole-image chunks, with a shorter last chunk: all must agree."""
    rng = np.random.default_rng(3)
    x, weight, bias = _case(rng, 5, 2, 8, 7, 3, 3, 3)  # K = 18 taps, 8x7 outputs
    _check(x, weight, bias, 1, 1, 1, mode, cap=cap)
    _check(x, weight, bias, (2, 1), (1, 0, 2, 1), (1, 2), mode, cap=cap)


@pytest.mark.parametrize("workers", [2, 3])
@pytest.mark.parametrize("cap", [None, 1, 4 * 18 * 56 * 2])
@pytest.mark.parametrize("mode", ["zeros", "replicate"])
def test_worker_threads_against_naive(workers, cap, mode):
    """The thread-pool policy: groups of chunks (or row blocks) on worker threads with
    the serial loops; each group owns its images of grad_x; grad_weight sums the
    groups' partial sums."""
    rng = np.random.default_rng(6)
    x, weight, bias = _case(rng, 5, 2, 8, 7, 3, 3, 3)
    _check(x, weight, bias, 1, 1, 1, mode, cap=cap, workers=workers)
    _check(
        x, weight, bias, (1, 2), (2, 0, 1, 1), (2, 1), mode, cap=cap, workers=workers
    )


def test_row_blocks_and_batch_chunks_match_uncapped():
    rng = np.random.default_rng(4)
    x, weight, bias = _case(rng, 3, 4, 30, 17, 5, 3, 3)
    g = rng.standard_normal((3, 5, 30, 17)).astype(np.float32)
    args = ((1, 1, 1, 1), (1, 1), (1, 1), "zeros")
    whole = gemm.conv2d_gemm(x, weight, bias, *args)
    for cap in (500, 4 * 36 * 17 * 7, 4 * 36 * 510 * 2):
        np.testing.assert_allclose(
            gemm.conv2d_gemm(x, weight, bias, *args, cap=cap),
            whole,
            rtol=1e-5,
            atol=1e-5,  # BLAS may sum in another order for another shape
        )
        np.testing.assert_allclose(
            gemm.conv2d_grad_weight_gemm(g, x, weight.shape, *args, cap=cap),
            gemm.conv2d_grad_weight_gemm(g, x, weight.shape, *args),
            rtol=1e-5,
            atol=1e-4,  # sums of 1,530 products of size ~100 in float32
        )
        np.testing.assert_allclose(
            gemm.conv2d_grad_input_gemm(g, x.shape, weight, *args, cap=cap),
            gemm.conv2d_grad_input_gemm(g, x.shape, weight, *args),
            rtol=1e-5,
            atol=1e-5,
        )


def test_nan_and_inf_propagate_like_the_formula():
    """A NaN pixel poisons exactly the outputs whose window holds it; zero padding is a
    real zero, so an inf weight over a padded cell does not make NaN."""
    x = np.ones((1, 1, 5, 5), np.float32)
    x[0, 0, 2, 2] = np.nan
    w = np.ones((1, 1, 3, 3), np.float32)
    out = gemm.conv2d_gemm(x, w, None, (1, 1, 1, 1), (1, 1), (1, 1))
    expected = np.isnan(naive.conv2d(x, w, None, 1, 1))
    np.testing.assert_array_equal(np.isnan(out), expected)
    assert expected.sum() == 9


def _draw_geometry(data, kh, kw, dilation, mode):
    """An image size near the dilated kernel's span and pads of 0-2 (reflect: less
    than the size), or None when the output would be empty."""
    span_h, span_w = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    h = data.draw(st.integers(max(span_h - 2, 1), span_h + 6), label="h")
    w = data.draw(st.integers(max(span_w - 2, 1), span_w + 6), label="w")
    limit_h = h - 1 if mode == "reflect" else h  # reflect needs pad < size
    limit_w = w - 1 if mode == "reflect" else w
    pads = tuple(
        data.draw(st.integers(0, min(2, limit)), label=name)
        for name, limit in (
            ("top", limit_h),
            ("bottom", limit_h),
            ("left", limit_w),
            ("right", limit_w),
        )
    )
    if h + pads[0] + pads[1] < span_h or w + pads[2] + pads[3] < span_w:
        return None
    return h, w, pads


@settings(deadline=None, max_examples=40)
@given(
    data=st.data(),
    n=st.integers(1, 3),
    c=st.integers(1, 3),
    f=st.integers(1, 4),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    mode=st.sampled_from(MODES),
)
def test_hypothesis_geometry(data, n, c, f, kh, kw, stride, dilation, mode):
    geometry = _draw_geometry(data, kh, kw, dilation, mode)
    if geometry is None:
        return  # empty output: the public wrapper rejects it before any compute
    h, w, pads = geometry
    cap = data.draw(st.sampled_from([None, 1, 4 * c * kh * kw * 3]), label="cap")
    workers = data.draw(st.sampled_from([1, 2]), label="workers")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    x, weight, bias = _case(rng, n, c, h, w, f, kh, kw)
    _check(x, weight, bias, stride, pads, dilation, mode, cap=cap, workers=workers)


@pytest.mark.parametrize(
    ("shape", "stride", "padding", "dilation"),
    [
        ((4, 8, 14, 14, 16, 3, 3), 1, 1, 1),  # a training layer, scaled down
        ((2, 3, 17, 15, 8, 5, 5), 2, "same", 1),
        ((3, 6, 12, 12, 5, 3, 2), (2, 1), (0, 1, 2, 0), (2, 1)),
        ((1, 3, 40, 40, 4, 11, 11), 1, 5, 1),  # the 11x11 explorer filter
    ],
)
def test_torch_parity(shape, stride, padding, dilation):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    rng = np.random.default_rng(5)
    x, weight, bias = _case(rng, *shape)
    s, d = _pair(stride), _pair(dilation)
    pads = resolve_padding(padding, x.shape[2:], weight.shape[2:], s, d)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(weight, dtype=torch.float64, requires_grad=True)
    top, bottom, left, right = pads
    ref = functional.conv2d(
        functional.pad(xt, (left, right, top, bottom)),
        wt,
        torch.tensor(bias, dtype=torch.float64),
        stride=s,
        dilation=d,
    )
    g = rng.standard_normal(tuple(ref.shape)).astype(np.float32)
    ref.backward(torch.tensor(g, dtype=torch.float64))
    out = gemm.conv2d_gemm(x, weight, bias, pads, s, d)
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-4, atol=1e-4)
    gx = gemm.conv2d_grad_input_gemm(g, x.shape, weight, pads, s, d)
    gw = gemm.conv2d_grad_weight_gemm(g, x, weight.shape, pads, s, d)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-4, atol=2e-4)


# ------------------------------------------- the plan's runners (forward, grad_weight)


def _check_runners(x, weight, bias, stride, pads, dilation, mode, n_parts=2):
    """gemm.forward and gemm.grad_weight (the signatures kernels.conv calls) against
    naive.py; any stride and dilation, though the plan sends only stride 1 here."""
    ref = naive.conv2d(x, weight, bias, stride, pads, dilation, mode)
    out = np.full(ref.shape, np.nan, np.float32)  # every element must be written
    gemm.forward(x, weight, bias, pads, stride, dilation, mode, out)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)
    g = np.random.default_rng(1).standard_normal(ref.shape).astype(np.float32)
    _, gw_ref, _ = naive.conv2d_grads(g, x, weight, stride, pads, dilation, mode)
    n_filters = weight.shape[0]
    partial = np.full((n_parts, n_filters, weight[0].size), np.nan, np.float32)
    gemm.grad_weight(g, x, pads, stride, dilation, mode, weight.shape[2:], partial)
    gw = partial.sum(axis=0).reshape(weight.shape)
    np.testing.assert_allclose(gw, gw_ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("chunk_bytes", [1, 4 * 28 * 56 * 2, 1 << 19])
@pytest.mark.parametrize("threads", [1, 2])
def test_runner_chunks_and_workers_do_not_change_results(
    monkeypatch, chunk_bytes, threads
):
    """One image a chunk, two, or the whole batch; one worker or two (the workers'
    sums land in ``partial[0]``, the other rows come back zeroed)."""
    import numba

    from kernels import config

    monkeypatch.setattr(config, "GEMM_CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(7)
    x, weight, bias = _case(rng, 5, 3, 8, 7, 16, 3, 3)
    saved = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        _check_runners(x, weight, bias, (1, 1), (1, 1, 1, 1), (1, 1), "zeros")
        _check_runners(x, weight, bias, (1, 1), (0, 2, 1, 0), (1, 1), "reflect", 3)
    finally:
        numba.set_num_threads(saved)


def test_runners_propagate_nan_and_inf_like_the_formula():
    """Each output sums its own window: an inf pixel makes inf or NaN only where the
    formula does, and an inf weight meets the padding's zeros (NaN) as in naive.py."""
    x = np.ones((2, 1, 5, 5), np.float32)
    x[1, 0, 2, 2] = np.inf
    w = np.ones((16, 1, 3, 3), np.float32)
    w[3, 0, 0, 0] = -np.inf
    bias = np.zeros(16, np.float32)
    with np.errstate(invalid="ignore"):
        _check_runners(x, w, bias, (1, 1), (1, 1, 1, 1), (1, 1), "zeros")


@settings(deadline=None, max_examples=40)
@given(
    data=st.data(),
    n=st.integers(1, 4),
    c=st.integers(1, 3),
    f=st.integers(1, 18),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    mode=st.sampled_from(MODES),
)
def test_hypothesis_runners(data, n, c, f, kh, kw, stride, dilation, mode):
    geometry = _draw_geometry(data, kh, kw, dilation, mode)
    if geometry is None:
        return  # empty output: the public wrapper rejects it before any compute
    h, w, pads = geometry
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    x, weight, bias = _case(rng, n, c, h, w, f, kh, kw)
    _check_runners(x, weight, bias, stride, pads, dilation, mode)


@pytest.mark.parametrize(
    ("h", "w", "kw", "pads"),
    [
        (3, 4, 3, (1, 1, 1, 1)),  # "same": the shifted image rows as one run
        (2, 3, 7, (0, 1, 3, 3)),  # a shift past the image's width, both ways
        (1, 2, 11, (2, 0, 5, 5)),
        (4, 3, 9, (0, 0, 8, 0)),  # all the padding on one side
    ],
)
def test_runners_with_padding_wider_than_the_image(h, w, kw, pads):
    rng = np.random.default_rng(8)
    x, weight, bias = _case(rng, 2, 2, h, w, 16, 1, kw)
    _check_runners(x, weight, bias, (1, 1), pads, (1, 1), "zeros")
    _check_runners(x, weight, bias, (1, 1), pads, (1, 1), "zeros", n_parts=1)
