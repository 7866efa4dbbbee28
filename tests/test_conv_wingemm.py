"""kernels._conv_wingemm's own choices, each side checked against tests/naive.py.

tests/test_conv_plan.py checks the path as the plan reaches it; here the module's
runners are called directly, so each layout and chunking a shape can take is run on
shapes small enough for the slow reference.
"""

from __future__ import annotations

import naive
import numpy as np
import pytest

from kernels import _conv_wingemm, config

ONE = (1, 1)


def _data(seed, x_shape, w_shape, pads):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, x_shape).astype(np.float32)
    w = rng.uniform(-1, 1, w_shape).astype(np.float32)
    oh = x_shape[2] + pads[0] + pads[1] - 2
    ow = x_shape[3] + pads[2] + pads[3] - 2
    g = rng.uniform(-1, 1, (x_shape[0], w_shape[0], oh, ow)).astype(np.float32)
    return x, w, g


def _grad_weight(g, x, w_shape, pads):
    partial = np.full((1, w_shape[0], w_shape[1] * 9), np.nan, np.float32)
    _conv_wingemm.grad_weight(g, x, pads, ONE, ONE, "zeros", (3, 3), partial)
    return partial[0].reshape(w_shape)


def test_weight_gradient_transposes_v_from_twice_as_many_filters_as_channels():
    assert _conv_wingemm._transposed_v(8, 16)
    assert not _conv_wingemm._transposed_v(8, 15)
    assert not _conv_wingemm._transposed_v(9, 17)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "pads"),
    [
        ((3, 8, 7, 9), (16, 8, 3, 3), (1, 1, 1, 1)),  # V^T, odd edges on both axes
        ((3, 8, 7, 9), (15, 8, 3, 3), (1, 1, 1, 1)),  # V, the same shape
        ((2, 9, 6, 5), (20, 9, 3, 3), (0, 0, 2, 1)),  # V^T, asymmetric pads
    ],
    ids=str,
)
def test_weight_gradient_matches_naive_in_both_layouts(x_shape, w_shape, pads):
    x, w, g = _data(sum(w_shape), x_shape, w_shape, pads)
    transposed = _conv_wingemm._transposed_v(w_shape[1], w_shape[0])
    assert transposed == (w_shape[0] >= 2 * w_shape[1])
    _, ref, _ = naive.conv2d_grads(g, x, w, 1, pads)
    np.testing.assert_allclose(
        _grad_weight(g, x, w.shape, pads), ref, rtol=1e-5, atol=1e-4
    )


@pytest.mark.parametrize("chunk_bytes", [1, 1 << 30], ids=["one-image", "one-chunk"])
def test_every_pass_matches_naive_whatever_the_chunking(monkeypatch, chunk_bytes):
    """A last chunk smaller than the others reuses its group's buffers."""
    monkeypatch.setattr(config, "WINGEMM_CHUNK_BYTES", chunk_bytes)
    monkeypatch.setattr(config, "WINGEMM_MIN_CHUNK_TILES", 1)
    x_shape, w_shape, pads = (5, 8, 6, 7), (16, 8, 3, 3), (1, 1, 1, 1)
    x, w, g = _data(7, x_shape, w_shape, pads)
    b = np.linspace(-1, 1, w_shape[0]).astype(np.float32)
    out = np.empty(g.shape, np.float32)
    _conv_wingemm.forward(x, w, b, pads, ONE, ONE, "zeros", out)
    np.testing.assert_allclose(out, naive.conv2d(x, w, b, 1, 1), rtol=1e-5, atol=1e-5)
    gx = _conv_wingemm.grad_input(g, w, x.shape, pads, ONE, ONE, "zeros")
    rgx, rgw, _ = naive.conv2d_grads(g, x, w, 1, 1)
    np.testing.assert_allclose(gx, rgx, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        _grad_weight(g, x, w.shape, pads), rgw, rtol=1e-5, atol=1e-4
    )
