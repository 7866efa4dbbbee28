"""kernels._conv_wingemm's vectorised transforms against numpy versions of the formulas.

Each transform is compared value for value (``assert_array_equal``) with a numpy
evaluation in the same order (rows, then columns), over shapes that take each branch
of the loops: planes narrower and wider than one 16-float block, odd output edges,
padding on any side, several images a chunk. Gathering into the (16, C * L) layout
with slack past the end checks that the loops' rounded-up runs write no value of
their own outside it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels import _conv_wingemm as wg


def _patches(x, top, bottom, left, right, th, tw):
    """d (N, C, th, tw, 4, 4): each tile's 4x4 input patch, zeros past the edges."""
    n, c, h, w = x.shape
    plane = np.zeros((n, c, 2 * th + 2, 2 * tw + 2), np.float32)
    hh = min(h, plane.shape[2] - top)
    ww = min(w, plane.shape[3] - left)
    plane[:, :, top : top + hh, left : left + ww] = x[:, :, :hh, :ww]
    d = np.empty((n, c, th, tw, 4, 4), np.float32)
    for i in range(th):
        for j in range(tw):
            d[:, :, i, j] = plane[:, :, 2 * i : 2 * i + 4, 2 * j : 2 * j + 4]
    return d


def _bt(d, axis):
    """B^T along ``axis`` (size 4): [d0 - d2, d1 + d2, d2 - d1, d1 - d3]."""
    d0, d1, d2, d3 = np.moveaxis(d, axis, 0)
    return np.moveaxis(np.stack([d0 - d2, d1 + d2, d2 - d1, d1 - d3]), 0, axis)


def _reference_v(x, pads, th, tw):
    """(16, C, N * T): B^T d B per tile, rows then columns."""
    d = _patches(x, *pads, th, tw)
    v = _bt(_bt(d, -2), -1)  # (N, C, th, tw, 4, 4)
    n, c = x.shape[:2]
    return v.reshape(n, c, th * tw, 16).transpose(3, 1, 0, 2).reshape(16, c, -1)


def _check_input_tiles(x, pads, oh, ow):
    th, tw = wg._tile_counts(oh, ow)
    n, c = x.shape[:2]
    length = n * th * tw
    buf, v = wg._staggered(c, length)
    buf[:] = np.nan
    wg._input_tiles(x, 0, n, pads[0], pads[2], th, tw, buf)
    np.testing.assert_array_equal(v, _reference_v(x, pads, th, tw))


@pytest.mark.parametrize(
    ("x_shape", "pads"),
    [
        ((2, 3, 28, 28), (0, 0, 0, 0)),  # the 28x28 valid layer's geometry
        ((3, 2, 14, 14), (1, 1, 1, 1)),
        ((1, 2, 5, 4), (1, 1, 1, 1)),  # rows shorter than a block
        ((2, 2, 7, 9), (1, 1, 1, 1)),  # odd output edges
        ((2, 1, 6, 21), (0, 0, 2, 1)),  # asymmetric pads, odd width
        ((1, 2, 19, 40), (2, 0, 0, 2)),
    ],
    ids=str,
)
def test_input_transform_matches_numpy(x_shape, pads):
    rng = np.random.default_rng(sum(x_shape))
    x = rng.standard_normal(x_shape, dtype=np.float32)
    oh = x_shape[2] + pads[0] + pads[1] - 2
    ow = x_shape[3] + pads[2] + pads[3] - 2
    _check_input_tiles(x, pads, oh, ow)


@settings(deadline=None, max_examples=25)
@given(
    n=st.integers(1, 3),
    c=st.integers(1, 3),
    h=st.integers(3, 24),
    w=st.integers(3, 40),
    pads=st.tuples(*[st.integers(0, 2)] * 4),
)
def test_input_transform_matches_numpy_any_shape(n, c, h, w, pads):
    x = np.random.default_rng(h * w).standard_normal((n, c, h, w), dtype=np.float32)
    _check_input_tiles(x, pads, h + pads[0] + pads[1] - 2, w + pads[2] + pads[3] - 2)


B_T = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float64)


def _reference_input_grad(s, x_shape, pads, th, tw):
    """The adjoint of the input transform in float64: B S B^T of each tile added
    into its 4x4 patch of the padded plane, the plane's window returned."""
    n, c, h, w = x_shape
    top, _, left, _ = pads
    t = s.astype(np.float64).reshape(4, 4, c, n, th, tw)  # (a, b, c, n, i, j)
    patch = np.einsum("ap,abcnij,bq->cnijpq", B_T, t, B_T)
    plane = np.zeros((c, n, 2 * th + 2, 2 * tw + 2))
    for i in range(th):
        for j in range(tw):
            plane[:, :, 2 * i : 2 * i + 4, 2 * j : 2 * j + 4] += patch[:, :, i, j]
    plane = np.pad(plane, ((0, 0), (0, 0), (0, h), (0, w)))
    return plane[:, :, top : top + h, left : left + w].transpose(1, 0, 2, 3)


def _check_input_grad_tiles(x_shape, pads, seed):
    n, c, h, w = x_shape
    oh, ow = h + pads[0] + pads[1] - 2, w + pads[2] + pads[3] - 2
    th, tw = wg._tile_counts(oh, ow)
    buf, s = wg._staggered(c, n * th * tw)
    buf[:] = np.nan  # the loops' rounded-up runs read past C * L: never used
    s[...] = np.random.default_rng(seed).standard_normal(s.shape, dtype=np.float32)
    gx = np.full(x_shape, np.nan, np.float32)
    wg._input_grad_tiles(buf, n, th, tw, pads[0], pads[2], gx, 0)
    ref = _reference_input_grad(s, x_shape, pads, th, tw)
    np.testing.assert_allclose(gx, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("x_shape", "pads"),
    [
        ((2, 3, 28, 28), (0, 0, 0, 0)),
        ((3, 2, 14, 14), (1, 1, 1, 1)),
        ((1, 2, 5, 4), (1, 1, 1, 1)),
        ((2, 2, 7, 9), (1, 1, 1, 1)),
        ((2, 1, 6, 21), (0, 0, 2, 1)),
        ((1, 2, 19, 40), (2, 0, 0, 2)),
    ],
    ids=str,
)
def test_input_gradient_transform_is_the_adjoint(x_shape, pads):
    _check_input_grad_tiles(x_shape, pads, sum(x_shape))


@settings(deadline=None, max_examples=25)
@given(
    n=st.integers(1, 3),
    c=st.integers(1, 3),
    h=st.integers(3, 24),
    w=st.integers(3, 40),
    pads=st.tuples(*[st.integers(0, 2)] * 4),
)
def test_input_gradient_transform_any_shape(n, c, h, w, pads):
    _check_input_grad_tiles((n, c, h, w), pads, h * w)


def _out_geometry(draw_shape):
    n, f, oh, ow = draw_shape
    th, tw = wg._tile_counts(oh, ow)
    return th, tw, n * th * tw


def _check_output_tiles(n, f, oh, ow, seed):
    th, tw, length = _out_geometry((n, f, oh, ow))
    rng = np.random.default_rng(seed)
    buf, m = wg._staggered(f, length)
    buf[:] = np.nan
    m[...] = rng.standard_normal(m.shape, dtype=np.float32)
    bias = rng.standard_normal(f, dtype=np.float32)
    out = np.full((n + 1, f, oh, ow), np.nan, np.float32)
    wg._output_tiles(buf, n, bias, th, tw, out, 1)
    # A^T m A in the loop's order, per tile: (16, F, N, th, tw) -> (N, F, 2th, 2tw)
    t = m.reshape(16, f, n, th, tw)
    s = [t[c] + t[4 + c] + t[8 + c] for c in range(4)]
    r = [t[4 + c] - t[8 + c] - t[12 + c] for c in range(4)]
    beta = bias[:, None, None, None]
    ref = np.empty((f, n, th, 2, tw, 2), np.float32)
    ref[:, :, :, 0, :, 0] = beta + (s[0] + s[1] + s[2])
    ref[:, :, :, 0, :, 1] = beta + (s[1] - s[2] - s[3])
    ref[:, :, :, 1, :, 0] = beta + (r[0] + r[1] + r[2])
    ref[:, :, :, 1, :, 1] = beta + (r[1] - r[2] - r[3])
    ref = ref.reshape(f, n, 2 * th, 2 * tw)[:, :, :oh, :ow].transpose(1, 0, 2, 3)
    assert np.isnan(out[0]).all()  # images before n0 untouched
    np.testing.assert_array_equal(out[1:], ref)


def _check_grad_tiles(n, f, oh, ow, seed):
    th, tw, length = _out_geometry((n, f, oh, ow))
    g = np.random.default_rng(seed).standard_normal((n + 1, f, oh, ow), np.float32)
    buf, z = wg._staggered(f, length)
    buf[:] = np.nan
    wg._grad_tiles(g, 1, n, th, tw, buf)
    gp = np.zeros((n, f, 2 * th, 2 * tw), np.float32)
    gp[:, :, :oh, :ow] = g[1:]
    g00, g01 = gp[:, :, 0::2, 0::2], gp[:, :, 0::2, 1::2]
    g10, g11 = gp[:, :, 1::2, 0::2], gp[:, :, 1::2, 1::2]
    ref = []
    for r0, r1 in ((g00, g01), (g00 + g10, g01 + g11), (g00 - g10, g01 - g11)):
        ref += [r0, r0 + r1, r0 - r1, -r1]
    d0, d1 = -g10, -g11
    ref += [d0, d0 + d1, d0 - d1, -d1]
    ref = np.stack(ref).transpose(0, 2, 1, 3, 4).reshape(16, f, length)
    np.testing.assert_array_equal(z, ref)


@settings(deadline=None, max_examples=30)
@given(
    n=st.integers(1, 3),
    f=st.integers(1, 3),
    oh=st.integers(1, 30),
    ow=st.integers(1, 30),
)
def test_output_transforms_match_numpy(n, f, oh, ow):
    _check_output_tiles(n, f, oh, ow, oh * ow)
    _check_grad_tiles(n, f, oh, ow, oh * ow)


@pytest.mark.parametrize("shape", [(2, 3, 26, 26), (3, 2, 14, 14), (1, 2, 7, 9)])
def test_output_transforms_match_numpy_on_layer_shapes(shape):
    _check_output_tiles(*shape, sum(shape))
    _check_grad_tiles(*shape, sum(shape))


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "pads", "mode"),
    [
        ((3, 8, 7, 9), (16, 8, 3, 3), (1, 1, 1, 1), "zeros"),  # V^T
        ((3, 8, 7, 9), (15, 8, 3, 3), (1, 1, 1, 1), "zeros"),  # V
        ((2, 9, 6, 5), (9, 9, 3, 3), (0, 2, 2, 1), "reflect"),  # arrives padded
    ],
    ids=str,
)
def test_backward_equals_the_two_passes(monkeypatch, x_shape, w_shape, pads, mode):
    """One grad_out transform for both gradients: the same values, any chunking."""
    from kernels import config

    monkeypatch.setattr(config, "WINGEMM_CHUNK_BYTES", 1)
    monkeypatch.setattr(config, "WINGEMM_MIN_CHUNK_TILES", 1)
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, x_shape).astype(np.float32)
    w = rng.uniform(-1, 1, w_shape).astype(np.float32)
    oh = x_shape[2] + pads[0] + pads[1] - 2
    ow = x_shape[3] + pads[2] + pads[3] - 2
    g = rng.uniform(-1, 1, (x_shape[0], w_shape[0], oh, ow)).astype(np.float32)
    one = (1, 1)
    both = np.full((1, w_shape[0], w_shape[1] * 9), np.nan, np.float32)
    gx = wg.backward(g, w, x, pads, mode, both)
    alone = np.full_like(both, np.nan)
    wg.grad_weight(g, x, pads, one, one, mode, (3, 3), alone)
    gx_alone = wg.grad_input(g, w, x_shape, pads, one, one, mode)
    np.testing.assert_array_equal(gx, gx_alone)
    np.testing.assert_array_equal(both, alone)
    assert gx.shape == x_shape
