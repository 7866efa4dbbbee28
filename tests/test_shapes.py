"""Shape arithmetic against brute-force enumeration of window positions, TensorFlow's
``"same"`` rule, hand-computed conventions, and the error messages."""

from __future__ import annotations

import math

import naive_pooling as naive
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels import (
    Convention,
    conv2d_output_shape,
    conv_output_size,
    output_size_conventions,
    pool2d_output_shape,
    resolve_padding,
    same_padding,
    size_formula,
)


def count_windows(size: int, span: int, stride: int, before: int, after: int) -> int:
    """Brute force: how many windows of ``span`` cells, stepping by ``stride`` from the
    first padded cell, fit in the padded axis."""
    padded = before + size + after
    return sum(
        1
        for start in range(0, padded)
        if start % stride == 0 and start + span <= padded
    )


def count_cover_all(size: int, span: int, stride: int, pad: int) -> int:
    """Chainer's cover_all by enumeration: add windows until every cell is covered."""
    padded = size + 2 * pad
    count, covered = 0, 0
    while covered < padded:
        covered = count * stride + span
        count += 1
    return count


@settings(deadline=None, max_examples=300)
@given(
    size=st.integers(0, 40),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 5),
    before=st.integers(0, 4),
    after=st.integers(0, 4),
    dilation=st.integers(1, 3),
)
def test_conv_output_size_counts_windows(size, kernel, stride, before, after, dilation):
    span = dilation * (kernel - 1) + 1
    expected = count_windows(size, span, stride, before, after)
    assert conv_output_size(size, kernel, stride, (before, after), dilation) == expected
    if before == after:
        assert conv_output_size(size, kernel, stride, before, dilation) == expected


@settings(deadline=None, max_examples=300)
@given(
    size=st.integers(1, 40),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 5),
    frac=st.tuples(st.floats(0, 1), st.floats(0, 1)),
)
def test_ceil_mode_matches_window_enumeration(size, kernel, stride, frac):
    before, after = round(frac[0] * (kernel // 2)), round(frac[1] * (kernel // 2))
    expected = len(
        naive.window_starts(size, kernel, stride, before, after, ceil_mode=True)
    )
    assert (
        conv_output_size(size, kernel, stride, (before, after), ceil_mode=True)
        == expected
    )


def test_ceil_mode_by_hand():
    # torch: 7 -> 4 with 2x2/2 ceil; a window starting in the right padding is dropped
    assert conv_output_size(7, 2, 2, ceil_mode=True) == 4
    # floor((5+2-3)/2)+1 = 3; ceil gives 3 too
    assert conv_output_size(5, 3, 2, 1, ceil_mode=True) == 3
    # ceil(5/2)+1 = 4: the last window starts at 6 < 1 + 6, inside the input
    assert conv_output_size(6, 3, 2, 1, ceil_mode=True) == 4
    # ceil(4/3)+1 = 3, but the third would start at 6 >= 1 + 4, in the right padding
    assert conv_output_size(4, 2, 3, 1, ceil_mode=True) == 2
    # PyTorch keeps a window that overhangs by less than a stride
    assert conv_output_size(1, 2, 2, ceil_mode=True) == 1


@settings(deadline=None, max_examples=300)
@given(
    size=st.integers(1, 50),
    kernel=st.integers(1, 9),
    stride=st.integers(1, 6),
    dilation=st.integers(1, 3),
)
def test_same_padding_is_tensorflows(size, kernel, stride, dilation):
    before, after = same_padding(size, kernel, stride, dilation)
    span = dilation * (kernel - 1) + 1
    out = math.ceil(size / stride)
    # TF: the smallest total padding that gives ceil(size / stride) windows, the odd
    # extra one after
    total = next(
        t
        for t in range(0, 2 * span + 1)
        if count_windows(size, span, stride, 0, t) >= out
    )
    assert before + after == total
    assert after - before in (0, 1)
    assert count_windows(size, span, stride, before, after) == out
    assert (before, after) == naive.tf_same_pads(size, span, stride)


def test_same_padding_by_hand():
    assert same_padding(5, 3) == (1, 1)
    assert same_padding(28, 5) == (2, 2)
    assert same_padding(6, 4) == (1, 2)  # even kernel: the extra at the bottom/right
    assert same_padding(7, 3, 2) == (1, 1)
    assert same_padding(6, 3, 2) == (0, 1)  # TF: (0, 1) where PyTorch users pad 1
    assert same_padding(6, 1, 2) == (0, 0)
    assert same_padding(5, 2, 3) == (0, 0)  # stride > kernel: no padding needed


def test_resolve_padding_forms():
    assert resolve_padding(2, (9, 9), (5, 5)) == (2, 2, 2, 2)
    assert resolve_padding((1, 2), (9, 9), (3, 3)) == (1, 1, 2, 2)
    assert resolve_padding((0, 1, 2, 3), (9, 9), (3, 3)) == (0, 1, 2, 3)
    assert resolve_padding("valid", (9, 9), (3, 3)) == (0, 0, 0, 0)
    assert resolve_padding("SAME", (6, 7), (4, 3), (1, 2)) == (1, 2, 1, 1)
    assert resolve_padding("same", (8, 8), (3, 3), 1, 2) == (2, 2, 2, 2)


def test_output_shapes():
    assert conv2d_output_shape((28, 28), (5, 5)) == (24, 24)
    assert conv2d_output_shape((28, 28), (3, 3), 2, "same") == (14, 14)
    assert conv2d_output_shape((27, 13), (3, 3), (2, 3), "same") == (14, 5)
    assert conv2d_output_shape((10, 10), (3, 3), 1, 0, 2) == (6, 6)
    assert conv2d_output_shape((10, 9), (3, 2), 1, (0, 1, 2, 0)) == (9, 10)
    assert pool2d_output_shape((28, 28), 2) == (14, 14)
    assert pool2d_output_shape((7, 7), 2, ceil_mode=True) == (4, 4)
    assert pool2d_output_shape((7, 7), 3, 2, 1) == (4, 4)
    assert pool2d_output_shape((7, 5), 2, padding="same") == (4, 3)


def test_conventions_list():
    conventions = output_size_conventions(7, 2, 2)
    assert all(isinstance(c, Convention) for c in conventions)
    assert [(c.name, c.size) for c in conventions] == [
        ("PyTorch (floor)", 3),
        ("PyTorch ceil_mode", 4),
        ("Chainer cover_all", 4),
        ('Keras "valid"', 3),
        ('Keras "same"', 4),
    ]
    assert conventions[0].formula == "floor((7 + 0 + 0 - 2) / 2) + 1 = 3"
    assert conventions[-1].formula == "ceil(7 / 2) = 4"


@settings(deadline=None, max_examples=200)
@given(
    size=st.integers(1, 30),
    kernel=st.integers(1, 6),
    stride=st.integers(1, 4),
    pad=st.integers(0, 3),
)
def test_conventions_against_enumeration(size, kernel, stride, pad):
    sizes = {c.name: c.size for c in output_size_conventions(size, kernel, stride, pad)}
    assert sizes["PyTorch (floor)"] == count_windows(size, kernel, stride, pad, pad)
    assert sizes['Keras "valid"'] == count_windows(size, kernel, stride, 0, 0)
    assert sizes['Keras "same"'] == math.ceil(size / stride)
    if size + 2 * pad >= kernel:
        assert sizes["Chainer cover_all"] == count_cover_all(size, kernel, stride, pad)
    if 2 * pad <= kernel:  # where PyTorch's pooling allows the padding at all
        expected = len(
            naive.window_starts(size, kernel, stride, pad, pad, ceil_mode=True)
        )
        assert sizes["PyTorch ceil_mode"] == expected


def test_size_formula_text():
    assert size_formula(28, 5, 1, 2) == "floor((28 + 2 + 2 - 5) / 1) + 1 = 28"
    assert size_formula(7, 2, 2, ceil_mode=True) == "ceil((7 + 0 + 0 - 2) / 2) + 1 = 4"
    assert size_formula(9, 3, 1, (0, 1)) == "floor((9 + 0 + 1 - 3) / 1) + 1 = 8"


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        (
            lambda: conv2d_output_shape((5, 5), (7, 7)),
            ValueError,
            r"^Output would be empty: input 5x5, kernel 7x7, stride 1, padding 0\.$",
        ),
        (
            lambda: conv2d_output_shape((5, 6), (3, 9), (2, 1), (0, 0, 1, 1)),
            ValueError,
            r"^Output would be empty: input 5x6, kernel 3x9, stride \(2, 1\), "
            r"padding \(0, 1\)\.$",
        ),
        (
            lambda: conv2d_output_shape((5, 6), (3, 3), 1, (0, 1, 0, 0), 3),
            ValueError,
            r"^Output would be empty: input 5x6, kernel 3x3, stride 1, padding "
            r"\(top 0, bottom 1, left 0, right 0\), dilation 3\.$",
        ),
        (
            lambda: pool2d_output_shape((3, 3), 4),
            ValueError,
            r"^Output would be empty: input 3x3, pool window 4x4, stride 4, "
            r"padding 0\.$",
        ),
        (
            lambda: conv2d_output_shape((5, 5), (3, 3), (1, 0)),
            ValueError,
            r"^`stride` must be a positive int or a pair of positive ints\. "
            r"Received: stride=\(1, 0\)$",
        ),
        (
            lambda: conv2d_output_shape((5, 5), (3, 3), 1, 0, 0),
            ValueError,
            r"`dilation` must be a positive int.*Received: dilation=0",
        ),
        (
            lambda: conv2d_output_shape((5, 5), (0, 3)),
            ValueError,
            r"`kernel_hw` must be a positive int.*Received: kernel_hw=\(0, 3\)",
        ),
        (
            lambda: conv2d_output_shape((5, 5), (3, 3), 1, "full"),
            ValueError,
            r"Received: padding='full'",
        ),
        (
            lambda: conv2d_output_shape((5, 5), (3, 3), 1, (1, 2, 3)),
            ValueError,
            r"Received: padding=\(1, 2, 3\)",
        ),
        (
            lambda: conv2d_output_shape((5, 5), (3, 3), 1, -1),
            ValueError,
            r"non-negative ints\. Received: padding=-1",
        ),
        (
            lambda: conv2d_output_shape((5, 5), (3, 3), 1.5),
            ValueError,
            r"Received: stride=1\.5",
        ),
        (
            lambda: pool2d_output_shape((5, 5), "2"),
            ValueError,
            r"Received: pool_size='2'",
        ),
    ],
)
def test_error_messages(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
