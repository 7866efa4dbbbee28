"""convlab.nn.data_adapter against plain NumPy: layouts, conversion, split, batches."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convlab.nn.data_adapter import (
    ArrayDataAdapter,
    infer_layout,
    split_validation,
    to_model_input,
)


@pytest.mark.parametrize(
    ("shape", "input_shape", "expected"),
    [
        ((5, 28, 28), None, ("nhw", (1, 28, 28))),
        ((5, 28, 28, 1), None, ("nhwc", (1, 28, 28))),
        ((5, 32, 32, 3), (3, 32, 32), ("nhwc", (3, 32, 32))),
        ((5, 1, 28, 28), None, ("nchw", (1, 28, 28))),
        ((5, 2, 3, 3), None, ("nchw", (2, 3, 3))),  # C=3 but H, W <= 3: NCHW
        ((28, 28), (1, 28, 28), ("hw", (1, 28, 28))),
        ((5, 784), None, ("flat", (784,))),
        ((5, 784), (784,), ("flat", (784,))),
    ],
)
def test_infer_layout(shape, input_shape, expected):
    assert infer_layout(np.zeros(shape, np.float32), input_shape) == expected


def test_infer_layout_errors_name_the_argument():
    with pytest.raises(TypeError, match=r"`x_val` must be a NumPy array\. Received"):
        infer_layout([[1.0]], None, "x_val")
    with pytest.raises(TypeError, match=r"Received: x\.dtype=complex128"):
        infer_layout(np.zeros((2, 3), complex), None)
    with pytest.raises(ValueError, match=r"Received: x\.shape=\(2, 3, 4, 5, 6\)"):
        infer_layout(np.zeros((2, 3, 4, 5, 6)), None)


def _reference_nchw(x: np.ndarray, layout: str) -> np.ndarray:
    """Plain NumPy: reorder axes by hand, scale uint8 by 255, in float64."""
    x64 = x.astype(np.float64) / (255.0 if x.dtype == np.uint8 else 1.0)
    if layout == "hw":
        return x64.reshape(1, 1, *x.shape)
    if layout == "nhw":
        return x64.reshape(x.shape[0], 1, *x.shape[1:])
    if layout == "nhwc":
        return np.moveaxis(x64, 3, 1)
    return x64


@pytest.mark.parametrize("dtype", [np.uint8, np.float64, np.float32, np.int16])
@pytest.mark.parametrize(
    ("shape", "layout"),
    [((3, 6, 5), "nhw"), ((3, 6, 5, 3), "nhwc"), ((3, 2, 6, 5), "nchw"),
     ((6, 5), "hw"), ((3, 7), "flat")],
)  # fmt: skip
def test_to_model_input_matches_numpy(dtype, shape, layout):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, shape).astype(dtype)
    out = to_model_input(x, layout)
    assert out.dtype == np.float32
    assert out.flags.c_contiguous
    np.testing.assert_allclose(out, _reference_nchw(x, layout), rtol=1e-6)


def test_split_validation_takes_the_tail():
    x, y = np.arange(20).reshape(10, 2), np.arange(10)
    xt, yt, xv, yv = split_validation(x, y, 0.25)
    cut = int(10 * 0.75)
    np.testing.assert_array_equal(xt, x[:cut])
    np.testing.assert_array_equal(yv, y[cut:])
    assert len(xt) + len(xv) == 10
    assert len(yt) == len(xt)


def test_split_validation_that_leaves_nothing_is_an_error():
    # 1 - 1e-17 rounds to 1.0: the split keeps everything for training
    with pytest.raises(ValueError, match=r"leaves no validation samples out of 3"):
        split_validation(np.zeros(3), np.zeros(3), 1e-17)
    with pytest.raises(ValueError, match=r"leaves no training samples out of 1"):
        split_validation(np.zeros(1), np.zeros(1), 0.5)


@settings(deadline=None, max_examples=40)
@given(
    n=st.integers(1, 40),
    batch_size=st.integers(1, 16),
    shuffle=st.booleans(),
    steps=st.none() | st.integers(1, 5),
)
def test_batches_follow_the_order(n, batch_size, shuffle, steps):
    rng = np.random.default_rng(n)
    x = rng.integers(0, 256, (n, 4, 4)).astype(np.uint8)
    labels = rng.integers(0, 10, n)
    order = rng.permutation(n) if shuffle else None
    data = ArrayDataAdapter(x, labels, "nhw", batch_size, steps)
    batches = list(data.batches(order))
    want_steps = (
        -(-n // batch_size) if steps is None else min(-(-n // batch_size), steps)
    )
    assert data.steps == len(batches) == want_steps
    index = np.arange(n) if order is None else order
    taken = index[: sum(len(xb) for xb, _ in batches)]
    np.testing.assert_array_equal(
        np.concatenate([yb for _, yb in batches]), labels[taken]
    )
    np.testing.assert_allclose(
        np.concatenate([xb for xb, _ in batches]),
        x[taken][:, None].astype(np.float64) / 255,
        rtol=1e-6,
    )
    assert all(len(xb) == batch_size for xb, _ in batches[:-1])
    if steps is None:  # a full pass sees every sample once
        assert sorted(taken) == list(range(n))


def test_one_image_is_one_batch_and_no_labels_give_none():
    x = np.arange(36, dtype=np.float32).reshape(6, 6)
    data = ArrayDataAdapter(x, None, "hw", 256)
    ((xb, yb),) = list(data.batches())
    assert yb is None
    np.testing.assert_array_equal(xb, x[None, None])
    assert data.num_samples == 1
