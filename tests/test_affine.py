"""kernels.affine against scipy.ndimage.affine_transform's own output (a fixture it
wrote: scipy 1.17.1 is not in the venv) and against a slow NumPy reference written
from scipy's documented boundary rules, plus exact cases and hypothesis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.affine import FILL_MODES, affine_transform

FIXTURE = Path(__file__).with_name("affine_scipy_1_17.npz")


def naive_affine(x, matrix, order, mode, cval):
    """One pixel at a time: the source point, scipy's boundary rule for it, then
    the nearest sample or a bilinear blend of the (edge-extended) neighbours."""
    n_img, h, w, ch = x.shape
    out = np.empty_like(x, dtype=np.float64)

    def inside(v, size):
        # the documented extension of each mode, for a coordinate v on one axis
        if 0 <= v <= size - 1:
            return v
        if mode == "constant":
            return None
        if size == 1:
            return 0.0
        if mode == "nearest":
            return min(max(v, 0.0), size - 1.0)
        if mode == "wrap":  # period size - 1: first and last sample overlap
            if v < 0:  # scipy's ni_interpolation.c: an exact multiple lands on the end
                return v + (size - 1) * (int(-v / (size - 1)) + 1)
            return v % (size - 1)
        period = 2 * size  # reflect about -0.5 and size - 0.5
        v = (v + 0.5) % period - 0.5
        return v if v <= size - 0.5 else period - 1 - v

    for n in range(n_img):
        a = matrix[n] if matrix.ndim == 3 else matrix
        for r in range(h):
            for c in range(w):
                sr = inside(a[0, 0] * r + a[0, 1] * c + a[0, 2], h)
                sc = inside(a[1, 0] * r + a[1, 1] * c + a[1, 2], w)
                if sr is None or sc is None:
                    out[n, r, c] = cval
                    continue
                if order == 0:
                    ir = int(np.clip(np.floor(sr + 0.5), 0, h - 1))
                    ic = int(np.clip(np.floor(sc + 0.5), 0, w - 1))
                    out[n, r, c] = x[n, ir, ic]
                    continue
                r0, c0 = int(np.floor(sr)), int(np.floor(sc))
                fr, fc = sr - r0, sc - c0
                value = np.zeros(ch)
                for dr, wr in ((0, 1 - fr), (1, fr)):
                    for dc, wc in ((0, 1 - fc), (1, fc)):
                        rr = min(max(r0 + dr, 0), h - 1)
                        cc = min(max(c0 + dc, 0), w - 1)
                        value += wr * wc * x[n, rr, cc]
                out[n, r, c] = value
    return out.astype(np.float32)


@pytest.mark.parametrize("mode", FILL_MODES)
@pytest.mark.parametrize("order", [0, 1])
def test_matches_scipy_output(mode, order):
    data = np.load(FIXTURE, allow_pickle=False)
    got = affine_transform(
        data["x"], data["matrix"], order=order, fill_mode=mode, cval=-0.5
    )
    np.testing.assert_allclose(got, data[f"{mode}_{order}"], atol=1e-6)


@pytest.mark.parametrize("mode", FILL_MODES)
@pytest.mark.parametrize("order", [0, 1])
def test_matches_naive_reference(mode, order):
    rng = np.random.default_rng(3)
    x = rng.random((5, 6, 9, 3)).astype(np.float32)
    matrix = np.zeros((5, 2, 3))
    for n in range(5):
        theta = rng.uniform(-2, 2)
        rot = np.array(
            [[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]
        )
        matrix[n, :, :2] = rot @ np.diag(rng.uniform(0.5, 2.5, 2))
        matrix[n, :, 2] = rng.uniform(-20, 20, 2)
    got = affine_transform(x, matrix, order=order, fill_mode=mode, cval=0.3)
    np.testing.assert_allclose(
        got, naive_affine(x, matrix, order, mode, 0.3), atol=1e-5
    )


@settings(deadline=None, max_examples=40)
@given(
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    coefs=st.lists(st.floats(-3, 3), min_size=6, max_size=6),
    mode=st.sampled_from(FILL_MODES),
    order=st.sampled_from([0, 1]),
)
def test_hypothesis_against_naive(h, w, coefs, mode, order):
    x = np.random.default_rng(h * 7 + w).random((1, h, w, 2)).astype(np.float32)
    matrix = np.array(coefs).reshape(2, 3)
    got = affine_transform(x, matrix, order=order, fill_mode=mode, cval=-1.0)
    want = naive_affine(x, np.broadcast_to(matrix, (1, 2, 3)), order, mode, -1.0)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_identity_and_integer_shift_are_exact():
    x = np.random.default_rng(0).random((2, 5, 4, 1)).astype(np.float32)
    eye = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    np.testing.assert_array_equal(affine_transform(x, eye), x)
    left = np.array([[1.0, 0, 0], [0, 1.0, 1.0]])  # output column c reads c + 1
    out = affine_transform(x, left, fill_mode="nearest")
    np.testing.assert_array_equal(out[:, :, :3], x[:, :, 1:])
    np.testing.assert_array_equal(out[:, :, 3], x[:, :, 3])


def test_errors_name_the_argument():
    x = np.zeros((1, 3, 3, 1), np.float32)
    eye = np.eye(2, 3)
    with pytest.raises(ValueError, match=r"Received: x\.shape=\(3, 3\)"):
        affine_transform(np.zeros((3, 3)), eye)
    with pytest.raises(ValueError, match=r"Received: matrix\.shape=\(3, 3\)"):
        affine_transform(x, np.eye(3))
    with pytest.raises(ValueError, match=r"Received: fill_mode='mirror'"):
        affine_transform(x, eye, fill_mode="mirror")
    with pytest.raises(ValueError, match=r"Received: order=3"):
        affine_transform(x, eye, order=3)


def test_reflect_just_below_zero_is_not_taken_for_outside():
    """A source column of -4e-132 (found by hypothesis) reflects to -1.0 + 4e-132,
    which is -1.0 in float64: the edge pixel, not the "constant" sentinel."""
    x = np.array([[[[1.0], [2.0]]]], np.float32)  # (1, 1, 2, 1)
    matrix = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, -4.3069499734777865e-132]])
    got = affine_transform(x, matrix, order=0, fill_mode="reflect", cval=-1.0)
    np.testing.assert_array_equal(got, naive_affine(x, matrix[None], 0, "reflect", -1))
    assert got[0, 0, 0, 0] == 1.0
