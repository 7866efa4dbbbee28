"""Filter presets (checked against their definitions) and bank files (every malformed
case)."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from convlab.data.filters import (
    MAX_ABS_VALUE,
    MAX_BANK_FILTERS,
    MAX_KERNEL_SIDE,
    PRESETS,
    FilterBankError,
    FilterPreset,
    default_bank,
    gabor_kernel,
    get_preset,
    load_bank,
    save_bank,
)


def correlate_same(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Slow, obvious cross-correlation with zero padding, centre at
    (KH // 2, KW // 2)."""
    kh, kw = kernel.shape
    cy, cx = kh // 2, kw // 2
    padded = np.zeros((image.shape[0] + kh - 1, image.shape[1] + kw - 1), np.float64)
    padded[cy : cy + image.shape[0], cx : cx + image.shape[1]] = image
    out = np.zeros(image.shape, np.float64)
    for y in range(image.shape[0]):
        for x in range(image.shape[1]):
            out[y, x] = np.sum(padded[y : y + kh, x : x + kw] * kernel)
    return out


# ----------------------------------------------------------------------------- presets


def test_every_preset_is_valid_and_explained():
    names = [p.name for p in PRESETS]
    assert len(names) == len(set(names))
    for preset in PRESETS:
        assert preset.kernel.dtype == np.float32
        assert min(preset.shape) >= 1
        assert max(preset.shape) <= MAX_KERNEL_SIDE
        assert np.isfinite(preset.kernel).all()
        assert preset.description
        assert "\n" not in preset.description
        assert (
            not preset.kernel.flags.writeable
        )  # shared presets cannot be edited in place


def test_required_presets_exist():
    for name in [
        "identity",
        "box blur 3x3",
        "box blur 5x5",
        "gaussian 3x3",
        "gaussian 5x5",
        "sharpen",
        "laplacian (4-neighbour)",
        "laplacian (8-neighbour)",
        "outline",
        "sobel x",
        "sobel y",
        "prewitt x",
        "prewitt y",
        "scharr x",
        "scharr y",
        "emboss",
        "diagonal edges (45°)",
        "diagonal edges (135°)",
        "LoG 5x5",
        "gabor 0°",
        "gabor 45°",
        "gabor 90°",
        "horizontal lines",
        "vertical lines",
        "motion blur (1x7)",
    ]:
        assert get_preset(name).name  # found, case-insensitively


@pytest.mark.parametrize(
    "name",
    [
        "Sobel x",
        "Sobel y",
        "Prewitt x",
        "Prewitt y",
        "Scharr x",
        "Scharr y",
        "Laplacian (4-neighbour)",
        "Laplacian (8-neighbour)",
        "Outline",
        "LoG 5x5",
        "LoG 9x9 (sigma 1.4)",
        "Gabor 0°",
        "Gabor 45°",
        "Gabor 90°",
        "Horizontal lines",
        "Vertical lines",
        "Diagonal edges (45°)",
        "Diagonal edges (135°)",
        "Forward difference (1x2)",
    ],
)
def test_derivative_filters_sum_to_zero(name):
    assert abs(float(get_preset(name).kernel.sum(dtype=np.float64))) < 1e-6


@pytest.mark.parametrize(
    "name",
    [
        "Box blur 3x3",
        "Box blur 5x5",
        "Gaussian 3x3",
        "Gaussian 5x5",
        "Motion blur (1x7)",
        "Identity",
        "Sharpen",
        "Emboss",
    ],
)
def test_smoothing_filters_sum_to_one(name):
    assert float(get_preset(name).kernel.sum(dtype=np.float64)) == pytest.approx(
        1.0, abs=1e-6
    )


def test_blurs_are_nonnegative_and_gaussians_separable():
    for name in ["Box blur 3x3", "Gaussian 3x3", "Gaussian 5x5", "Motion blur (1x7)"]:
        assert (get_preset(name).kernel >= 0).all()
    g5 = get_preset("Gaussian 5x5").kernel.astype(np.float64)
    assert np.linalg.matrix_rank(g5) == 1
    np.testing.assert_allclose(g5[2], np.array([1, 4, 6, 4, 1]) * 6 / 256, atol=1e-7)


def test_identity_filter_returns_the_image():
    image = np.random.default_rng(0).random((7, 9))
    out = correlate_same(image, get_preset("Identity").kernel)
    np.testing.assert_array_equal(out, image)


def test_sobel_x_is_positive_on_a_dark_to_bright_step():
    image = np.zeros((5, 6))
    image[:, 3:] = 1.0  # brighter to the right
    out = correlate_same(image, get_preset("Sobel x").kernel)
    assert out[2, 2] == 4
    assert out[2, 3] == 4
    assert out[2, 0] == 0  # flat
    out_y = correlate_same(image, get_preset("Sobel y").kernel)
    assert np.all(out_y[1:-1, :] == 0)  # no vertical change inside the image


def test_sobel_y_is_sobel_x_transposed_and_scharr_prewitt_likewise():
    for a, b in [
        ("Sobel x", "Sobel y"),
        ("Scharr x", "Scharr y"),
        ("Prewitt x", "Prewitt y"),
    ]:
        np.testing.assert_array_equal(get_preset(a).kernel.T, get_preset(b).kernel)


def test_gabor_symmetries():
    g0, g45, g90 = (gabor_kernel(9, t) for t in (0.0, 45.0, 90.0))
    # psi = 0: an even function, so symmetric under a half turn.
    for g in (g0, g45, g90):
        np.testing.assert_allclose(g, g[::-1, ::-1], atol=1e-7)
    # 0 degrees: a wave along x, mirror-symmetric both ways; 90 degrees is its
    # transpose.
    np.testing.assert_allclose(g0, g0[:, ::-1], atol=1e-7)
    np.testing.assert_allclose(g0, g0[::-1, :], atol=1e-7)
    np.testing.assert_allclose(g90, g0.T, atol=1e-7)
    # 45 degrees: the wave runs along a diagonal, stripes along the other one.
    np.testing.assert_allclose(g45, g45.T, atol=1e-7)
    assert np.all(np.diag(g45) > 0)  # the centre stripe, top-left to bottom-right
    # Vertical stripes: every column of the 0-degree kernel has one sign pattern along
    # x.
    assert g0[4, 4] > 0
    assert g0[4, 3] < g0[4, 4]


def test_gabor_matches_its_formula():
    size, theta, sigma, lam, gamma = 7, 30.0, 1.5, 3.0, 0.7
    k = gabor_kernel(size, theta, sigma=sigma, wavelength=lam, gamma=gamma)
    expected = np.zeros((size, size))
    t = math.radians(theta)
    for row in range(size):
        for col in range(size):
            x, y = col - 3, -(row - 3)  # y up
            xr = x * math.cos(t) + y * math.sin(t)
            yr = -x * math.sin(t) + y * math.cos(t)
            expected[row, col] = math.exp(
                -(xr**2 + gamma**2 * yr**2) / (2 * sigma**2)
            ) * (math.cos(2 * math.pi * xr / lam))
    expected -= expected.mean()
    expected /= expected[expected > 0].sum()
    np.testing.assert_allclose(k, expected, atol=1e-6)


def test_default_bank():
    bank = default_bank()
    assert len(bank) == 8
    assert all(p.shape == (3, 3) for p in bank)
    assert len({p.name for p in bank}) == 8
    assert "Identity" not in {p.name for p in bank}
    assert default_bank() is not bank  # a fresh list each call


def test_get_preset_unknown_name():
    with pytest.raises(
        ValueError, match=r"`name` must be one of: .*Received: name='sobel z'"
    ):
        get_preset("sobel z")


@pytest.mark.parametrize(
    ("kernel", "match"),
    [
        (np.zeros((16, 3)), r"sides must be 1 to 15. Received: shape 16x3"),
        (np.zeros((0, 3)), r"sides must be 1 to 15. Received: shape 0x3"),
        (np.zeros(3), r"must be 2-D \(KH, KW\). Received: shape \(3,\)"),
        ([[1, np.nan]], r"must hold finite numbers"),
        ([[1, 2], [3]], r"rectangular 2-D array"),
    ],
)
def test_filter_preset_validates_kernel(kernel, match):
    with pytest.raises(ValueError, match=match):
        FilterPreset("bad", kernel, "")


# ----------------------------------------------------------------------------- files


def test_bank_round_trip_is_exact_and_readable(tmp_path):
    bank = [*PRESETS, FilterPreset("Tenth", [[0.1, -0.3], [1e-8, 3.5]], "Odd values")]
    path = tmp_path / "bank.json"
    save_bank(path, bank)
    loaded = load_bank(path)
    assert loaded == bank
    for a, b in zip(loaded, bank, strict=False):
        assert a.kernel.tobytes() == b.kernel.tobytes()  # bit-identical float32
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["format"] == "convlab-filter-bank"
    assert data["version"] == 1
    assert data["filters"][get_names(bank).index("Sobel x")]["kernel"] == [
        [-1, 0, 1],
        [-2, 0, 2],
        [-1, 0, 1],
    ]
    assert "        [-1, 0, 1],\n" in text  # one row per line
    assert "0.1," in text  # shortest float32 form, not 0.10000000149011612
    assert "°" in text  # names stay readable (UTF-8, not \u escapes)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def get_names(bank):
    return [p.name for p in bank]


def test_empty_bank_round_trip(tmp_path):
    path = tmp_path / "empty.json"
    save_bank(path, [])
    assert load_bank(path) == []


def test_save_bank_replaces_atomically_and_rejects_non_presets(tmp_path):
    path = tmp_path / "bank.json"
    save_bank(path, default_bank())
    before = path.read_bytes()
    with pytest.raises(
        TypeError, match=r"`bank` must hold FilterPreset objects.*Received: bank\[1\]"
    ):
        save_bank(path, [default_bank()[0], "Sobel x"])
    assert path.read_bytes() == before  # untouched
    save_bank(path, [get_preset("Identity")])
    assert [p.name for p in load_bank(path)] == ["Identity"]


GOOD_FILTER = {"name": "ok", "description": "", "kernel": [[1, 0], [0, 1]]}


def bank_json(filters=None, **top):
    data = {
        "format": "convlab-filter-bank",
        "version": 1,
        "filters": filters or [GOOD_FILTER],
    }
    data.update(top)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{not json", r"bad\.json: not valid JSON \(.* line 1, column 2\)"),
        ("[1, 2]", r"expected a JSON object"),
        (
            bank_json(format="keras-weights"),
            r"not a convlab filter bank \(\"format\" is 'keras-weights'",
        ),
        (
            json.dumps({"version": 1, "filters": []}),
            r"not a convlab filter bank \(\"format\" is None",
        ),
        (
            bank_json(version=2),
            r"unsupported version 2 \(written by a newer convlab\?\)",
        ),
        (bank_json(version="1"), r"\"version\" must be an integer. Received: '1'"),
        (bank_json(filters={"a": 1}), r"\"filters\" must be a list"),
        (bank_json([GOOD_FILTER, 3]), r"filters\[1\] must be an object"),
        (
            bank_json([{"kernel": [[1]]}]),
            r"filters\[0\]\.name must be a non-empty string",
        ),
        (
            bank_json([{"name": "x", "kernel": [[1]], "description": 5}]),
            r"description must be a string",
        ),
        (bank_json([{"name": "nok"}]), r"filters\[0\] \('nok'\) has no kernel"),
        (
            bank_json([{"name": "e", "kernel": []}]),
            r"kernel \('e'\) must be a non-empty list of rows",
        ),
        (
            bank_json([{"name": "r", "kernel": [[1, 2], [3]]}]),
            r"kernel \('r'\) is not rectangular: row 0 has 2 values, row 1 has 1",
        ),
        (
            bank_json([{"name": "s", "kernel": [[1, "2"]]}]),
            r"kernel \('s'\)\[0\]\[1\] must be a number. Received: '2'",
        ),
        (
            bank_json([{"name": "b", "kernel": [[True]]}]),
            r"\[0\]\[0\] must be a number. Received: True",
        ),
        (
            bank_json([{"name": "n", "kernel": [[1, None]]}]),
            r"must be a number. Received: None",
        ),
        (
            bank_json([{"name": "big", "kernel": [[0] * 16]}]),
            r"has 16 columns; kernels are 1 to 15",
        ),
        (
            bank_json([{"name": "tall", "kernel": [[0]] * 16}]),
            r"has 16 rows; kernels are 1 to 15",
        ),
        (
            bank_json([{"name": "flat", "kernel": [1, 2, 3]}]),
            r"row 0 must be a non-empty list",
        ),
        (
            '{"format": "convlab-filter-bank", "version": 1, '
            '"filters": [{"name": "nan", '
            '"kernel": [[NaN]]}]}',
            r"NaN is not a number JSON allows",
        ),
        (
            bank_json([{"name": "huge", "kernel": [[1e39]]}]),
            r"\[0\]\[0\] must be finite",
        ),
        (
            bank_json([{"name": "huger", "kernel": [[10**400]]}]),
            r"\[0\]\[0\] must be finite",
        ),
    ],
)
def test_load_bank_errors(tmp_path, text, match):
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FilterBankError, match=match):
        load_bank(path)


def test_load_bank_missing_and_binary_files(tmp_path):
    with pytest.raises(FilterBankError, match=r"nope\.json: no such file"):
        load_bank(tmp_path / "nope.json")
    binary = tmp_path / "image.json"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(FilterBankError, match=r"not a text file"):
        load_bank(binary)


def test_load_bank_returns_nothing_partial(tmp_path):
    """One bad filter at the end: an error, not the good ones before it."""
    path = tmp_path / "bank.json"
    path.write_text(
        bank_json([GOOD_FILTER, GOOD_FILTER, {"name": "bad", "kernel": [["x"]]}])
    )
    result = None
    with pytest.raises(FilterBankError, match=r"filters\[2\]"):
        result = load_bank(path)
    assert result is None


# ------------------------------------------------------------ limits and biases (#13)


def test_biases_round_trip(tmp_path):
    bank = [
        FilterPreset("a", [[1.0]], "", 0.25),
        FilterPreset("b", [[1.0, -2.0]], "d", -3.0),
        FilterPreset("c", [[0.0]]),
    ]
    path = tmp_path / "bank.json"
    save_bank(path, bank)
    assert [p.bias for p in load_bank(path)] == [0.25, -3.0, 0.0]
    assert json.loads(path.read_text())["filters"][0]["bias"] == 0.25


def test_bank_file_without_biases_loads_with_zero(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(bank_json([GOOD_FILTER]))
    assert load_bank(path)[0].bias == 0.0


class _Entry:
    """Like the explorer's bank entries: name, kernel, bias, description."""

    def __init__(self, name, kernel, bias=0.0, description=""):
        self.name, self.kernel, self.bias = name, np.asarray(kernel), bias
        self.description = description


def test_save_bank_takes_entries_and_names_the_bad_filter_and_cell(tmp_path):
    path = tmp_path / "bank.json"
    save_bank(path, [_Entry("keep", [[1.0]], 0.5)])
    before = path.read_bytes()
    kernel = np.zeros((3, 3), np.float32)
    kernel[1, 2] = np.float32(1e30)
    with pytest.raises(
        ValueError, match=r"bank\[1\] \('edited'\): .*Received: kernel\[1\]\[2\]=1e\+30"
    ):
        save_bank(path, [_Entry("ok", [[1.0]]), _Entry("edited", kernel)])
    with pytest.raises(ValueError, match=r"bank\[0\] \('b'\): `bias` must be finite"):
        save_bank(path, [_Entry("b", [[1.0]], float("inf"))])
    assert path.read_bytes() == before
    assert load_bank(path)[0].bias == 0.5


def test_kernel_values_over_the_limit_are_refused():
    FilterPreset("edge", [[MAX_ABS_VALUE, -MAX_ABS_VALUE]])
    with pytest.raises(ValueError, match=r"Received: kernel\[0\]\[1\]=1000001$"):
        FilterPreset("over", [[0.0, MAX_ABS_VALUE + 1]])
    with pytest.raises(TypeError, match=r"`bias` must be a number. Received: bias='1'"):
        FilterPreset("s", [[0.0]], "", "1")


def test_more_than_max_filters_is_said_on_load_and_save(tmp_path):
    path = tmp_path / "big.json"
    path.write_text(bank_json([GOOD_FILTER] * (MAX_BANK_FILTERS + 168)))
    with pytest.raises(FilterBankError, match=r"holds 200 filters; a bank holds"):
        load_bank(path)
    path.write_text(bank_json([GOOD_FILTER] * MAX_BANK_FILTERS))
    assert len(load_bank(path)) == MAX_BANK_FILTERS  # every one of them
    with pytest.raises(ValueError, match=r"at most 32 filters. Received: 33"):
        save_bank(path, [FilterPreset("x", [[1.0]])] * 33)


def test_deep_nesting_is_refused_without_recursion(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(FilterBankError, match=r"nested 200,000 deep"):
        load_bank(path)
    # brackets inside strings do not count
    path.write_text(bank_json([{**GOOD_FILTER, "description": "[" * 100}]))
    assert load_bank(path)[0].description == "[" * 100


def test_bank_file_bias_checked(tmp_path):
    path = tmp_path / "b.json"
    path.write_text(bank_json([{**GOOD_FILTER, "bias": 1e40}]))
    with pytest.raises(FilterBankError, match=r"filters\[0\] \('ok'\): `bias` must"):
        load_bank(path)


def test_load_bank_refuses_a_fifo_and_a_folder(tmp_path):
    os.mkfifo(tmp_path / "pipe.json")
    with pytest.raises(FilterBankError, match=r"is a named pipe \(FIFO\)"):
        load_bank(tmp_path / "pipe.json")
    with pytest.raises(FilterBankError, match=r"is a folder"):
        load_bank(tmp_path)
