"""preprocess_digit: a drawing becomes the 28x28 image MNIST's authors would have
made."""

from __future__ import annotations

import numpy as np
import pytest

from convlab.data.digit import preprocess_digit


def _centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    ys, xs = np.indices(img.shape)
    mass = img.sum()
    return float((ys * img).sum() / mass), float((xs * img).sum() / mass)


def _ink_box(img: np.ndarray, level: float = 0.05) -> tuple[int, int]:
    rows = np.flatnonzero(img.max(axis=1) > level)
    cols = np.flatnonzero(img.max(axis=0) > level)
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def test_square_in_a_corner_is_centred_and_fits_20x20():
    canvas = np.zeros((280, 280), np.float32)
    canvas[10:110, 150:250] = 1.0  # a 100x100 square, top right
    out = preprocess_digit(canvas)
    assert out.shape == (28, 28)
    assert out.dtype == np.float32
    cy, cx = _centre_of_mass(out)
    assert abs(cy - 14) <= 0.5
    assert abs(cx - 14) <= 0.5
    assert _ink_box(out) == (20, 20)
    assert out.min() >= 0.0
    assert out.max() <= 1.0


def test_aspect_ratio_is_kept():
    canvas = np.zeros((300, 300), np.float32)
    canvas[50:250, 100:200] = 1.0  # 200 tall, 100 wide
    out = preprocess_digit(canvas)
    assert _ink_box(out) == (20, 10)
    cy, cx = _centre_of_mass(out)
    assert abs(cy - 14) <= 0.5
    assert abs(cx - 14) <= 0.5


def test_lopsided_ink_is_centred_by_mass_not_by_box():
    canvas = np.zeros((200, 200), np.float32)
    canvas[0:100, 0:30] = 1.0
    canvas[0:100, 30:100] = (
        0.2  # faint right part: the mass sits left of the box centre
    )
    out = preprocess_digit(canvas)
    cy, cx = _centre_of_mass(out)
    assert abs(cx - 14) <= 0.5
    rows = np.flatnonzero(out.max(axis=0) > 0.05)
    box_centre = (rows[0] + rows[-1]) / 2
    assert box_centre > 14.5  # the box moved right so the mass is central


def test_dark_ink_on_white_paper_is_detected_and_inverted():
    white_on_black = np.zeros((140, 140), np.float32)
    white_on_black[30:110, 60:80] = 1.0
    auto = preprocess_digit(1.0 - white_on_black)
    explicit = preprocess_digit(1.0 - white_on_black, ink="black")
    np.testing.assert_allclose(auto, preprocess_digit(white_on_black), atol=1e-6)
    np.testing.assert_allclose(explicit, auto, atol=1e-6)


def test_uint8_input_matches_float_input():
    canvas = np.zeros((100, 100), np.uint8)
    canvas[20:80, 40:60] = 255
    np.testing.assert_allclose(
        preprocess_digit(canvas), preprocess_digit(canvas / 255.0), atol=1e-6
    )


def test_blank_canvas_gives_zeros():
    assert not preprocess_digit(np.zeros((50, 50))).any()


def test_enlarged_mnist_digits_come_back_as_themselves():
    """An MNIST digit blown up 10x and run through the pipeline is MNIST's digit
    again."""
    from convlab.data.mnist import load_mnist

    data = load_mnist("bundled")
    correlations = []
    for digit in data.x_test[:40]:
        orig = digit.astype(np.float32) / 255.0
        big = np.kron(orig, np.ones((10, 10), np.float32))
        out = preprocess_digit(big)
        correlations.append(np.corrcoef(orig.ravel(), out.ravel())[0, 1])
    assert np.median(correlations) > 0.9


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"image": np.zeros((2, 3, 4))},
            r"`image` must be a 2-D array.*shape \(2, 3, 4\)",
        ),
        (
            {"image": np.zeros((5, 5)), "ink": "red"},
            r"`ink` must be.*Received: ink='red'",
        ),
        ({"image": np.zeros((5, 5)), "threshold": 1.5}, r"Received: threshold=1.5"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        preprocess_digit(**kwargs)
