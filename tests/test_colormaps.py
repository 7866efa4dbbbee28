"""convlab.colormaps against independent references: CIE L* computed from sRGB for
"uniform" and "monotone" claims, an explicit numpy percentile for the robust range,
and hand-made images (a thin edge beside an outlier)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from convlab import colormaps as cm


def lightness(rgb: np.ndarray) -> np.ndarray:
    """CIE L* (D65) of uint8 sRGB colours, written out from the sRGB and CIELAB
    definitions."""
    c = np.asarray(rgb, np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    y = linear @ np.array([0.2126, 0.7152, 0.0722])
    f = np.where(y > (6 / 29) ** 3, np.cbrt(y), y / (3 * (6 / 29) ** 2) + 4 / 29)
    return 116 * f - 16


def test_names_labels_and_tables():
    assert {"grey", "diverging", "viridis"} <= set(cm.NAMES)
    assert {"cividis", "magma"} & set(cm.NAMES)
    assert set(cm.LABELS) == set(cm.NAMES)
    for name in cm.NAMES:
        table = cm.lut(name)
        assert table.shape == (256, 3)
        assert table.dtype == np.uint8


def test_unknown_name_is_named_in_the_error():
    with pytest.raises(ValueError, match=r"`name` must be one of .*name='jet'"):
        cm.lut("jet")
    with pytest.raises(ValueError, match=r"Received: name='jet'"):
        cm.to_rgb(np.zeros((2, 2)), "jet", 0.0, 1.0)


def test_grey_is_black_to_white_never_inverted():
    table = cm.lut("grey").astype(int)
    assert tuple(table[0]) == (0, 0, 0)
    assert tuple(table[-1]) == (255, 255, 255)
    assert (table[:, 0] == table[:, 1]).all()
    assert (table[:, 1] == table[:, 2]).all()
    assert (np.diff(table[:, 0]) >= 0).all()
    # a brighter pixel is drawn brighter
    rgb = cm.to_rgb(np.array([[0.1, 0.9]]), "grey", 0.0, 1.0)
    assert rgb[0, 1, 0] > rgb[0, 0, 0]


@pytest.mark.parametrize("name", ["grey", "viridis", "cividis", "magma"])
def test_sequential_maps_have_monotone_lightness(name):
    if name not in cm.NAMES:
        pytest.skip(f"{name} not provided")
    lum = lightness(cm.lut(name))
    assert (np.diff(lum) > -0.3).all()  # rounding to uint8 only
    assert lum[-1] - lum[0] > 60  # and a wide range of it


def test_viridis_is_close_to_perceptually_uniform():
    # L* over 16-entry steps (single entries differ by less than uint8 rounding)
    steps = np.diff(lightness(cm.lut("viridis"))[::16])
    assert steps.min() > 0.5 * steps.mean()
    assert steps.max() < 1.6 * steps.mean()


def test_diverging_is_symmetric_with_white_centre_and_dark_ends():
    table = cm.lut("diverging")
    lum = lightness(table)
    # white-ish centre, dark saturated ends, blue low and red high
    assert lum[128] > 95
    assert lum[0] < 25
    assert lum[255] < 25
    assert table[0, 2] > table[0, 0]  # blue
    assert table[255, 0] > table[255, 2]  # red
    # lightness symmetric about the centre and rising towards it from both ends
    np.testing.assert_allclose(lum[:128], lum[255:127:-1], atol=6)
    assert (np.diff(lum[:128]) > -0.3).all()
    assert (np.diff(lum[128:]) < 0.3).all()
    # zero on a symmetric range is the centre entry exactly
    rgb = cm.to_rgb(np.zeros((1, 1)), "diverging", -3.0, 3.0)
    assert tuple(rgb[0, 0]) == tuple(table[128])


def test_diverging_hues_stay_apart_for_deuteranopes():
    # Machado et al. 2009 deuteranopia matrix (severity 1) on linear RGB: the two
    # ends must remain distinguishable (blue vs. red become blue vs. yellow-brown).
    machado = np.array(
        [[0.367322, 0.860646, -0.227968],
         [0.280085, 0.672501, 0.047413],
         [-0.011820, 0.042940, 0.968881]]
    )  # fmt: skip
    table = cm.lut("diverging").astype(np.float64) / 255
    linear = np.where(table <= 0.04045, table / 12.92, ((table + 0.055) / 1.055) ** 2.4)
    seen = np.clip(linear @ machado.T, 0, 1)
    low, high = seen[30], seen[225]
    assert low[2] - low[0] > 0.1  # still bluish
    assert high[0] - high[2] > 0.05  # still warm


def test_limits_signed_symmetric_and_unsigned_range():
    v = np.array([[0.0, -2.0], [1.0, 0.5]])
    assert cm.limits(v, signed=True) == (-2.0, 2.0)
    assert cm.limits(np.abs(v), signed=False) == (0.0, 2.0)
    assert cm.limits(v + 5, signed=False) == (3.0, 6.0)


def test_percentile_clip_makes_a_thin_edge_stand_out():
    # a 64x64 image: a one-pixel vertical edge of strength 1, and three hot
    # pixels of 50 (an artefact at the border of a padded map)
    img = np.zeros((64, 64))
    img[:, 32] = 1.0
    img[:, 33] = -1.0
    img[0, :3] = 50.0
    lo, hi = cm.limits(img, signed=True)
    assert (lo, hi) == (-50.0, 50.0)
    plain = cm.to_rgb(img, "diverging", lo, hi)
    lo, hi = cm.limits(img, signed=True, clip_percentile=99.0)
    assert hi == pytest.approx(np.percentile(np.abs(img), 99.0))
    assert (lo, hi) == (-hi, hi)
    robust = cm.to_rgb(img, "diverging", lo, hi)
    l_plain = lightness(plain[10, 32])
    l_robust = lightness(robust[10, 32])
    # unclipped the edge is a pale tint of the white background; clipped it is dark
    assert lightness(plain[10, 10]) - l_plain < 5
    assert l_robust < 30
    # and the outliers saturate instead of setting the scale
    assert tuple(robust[0, 0]) == tuple(cm.lut("diverging")[255])


def test_percentile_clip_unsigned_uses_both_tails():
    rng = np.random.default_rng(0)
    v = rng.uniform(0.2, 0.8, size=(50, 50))
    v[0, 0], v[1, 1] = -100.0, 100.0
    lo, hi = cm.limits(v, signed=False, clip_percentile=99.0)
    want = np.percentile(v, [1.0, 99.0])
    assert (lo, hi) == pytest.approx(tuple(want))


def test_percentile_clip_falls_back_when_it_would_empty_the_range():
    img = np.zeros((100, 100))
    img[5, 5] = 2.0  # one pixel in 10,000: the 99.5th percentile of |v| is 0
    assert cm.limits(img, signed=True, clip_percentile=99.5) == (-2.0, 2.0)
    assert cm.limits(img, signed=False, clip_percentile=99.5) == (0.0, 2.0)


@pytest.mark.parametrize("bad", [10.0, 100.5, -1])
def test_percentile_out_of_range_is_named(bad):
    with pytest.raises(ValueError, match=rf"Received: clip_percentile={bad!r}"):
        cm.limits(np.ones((2, 2)), signed=True, clip_percentile=bad)


def test_non_finite_and_constant_inputs_give_valid_ranges():
    nan = np.full((3, 3), np.nan)
    assert cm.limits(nan, signed=True) == (-1.0, 1.0)
    assert cm.limits(nan, signed=False) == (0.0, 1.0)
    assert cm.limits(np.array([[np.inf, -np.inf]]), signed=True) == (-1.0, 1.0)
    assert cm.limits(np.zeros((4, 4)), signed=True) == (-1.0, 1.0)
    assert cm.limits(np.zeros((4, 4)), signed=False) == (0.0, 1.0)
    assert cm.limits(np.full((4, 4), 3.0), signed=True) == (-3.0, 3.0)
    lo, hi = cm.limits(np.full((4, 4), 3.0), signed=False)
    assert lo < 3.0 < hi
    mixed = np.array([[np.nan, 1.0], [np.inf, -4.0]])
    assert cm.limits(mixed, signed=True) == (-4.0, 4.0)
    assert cm.limits(mixed, signed=False, clip_percentile=99) == pytest.approx(
        tuple(np.percentile([1.0, -4.0], [1.0, 99.0]))
    )


def test_to_rgb_non_finite_and_saturation():
    v = np.array([[np.nan, np.inf, -np.inf, 10.0, -10.0]])
    for name in cm.NAMES:
        rgb = cm.to_rgb(v, name, -1.0, 1.0)
        table = cm.lut(name)
        assert tuple(rgb[0, 0]) == cm.nan_colour(name)
        assert tuple(rgb[0, 1]) == tuple(table[255])
        assert tuple(rgb[0, 2]) == tuple(table[0])
        assert tuple(rgb[0, 3]) == tuple(table[255])
        assert tuple(rgb[0, 4]) == tuple(table[0])
    # NaN never passes for a value of the grey map
    grey = {tuple(c) for c in cm.lut("grey")}
    assert cm.nan_colour("grey") not in grey


def test_to_rgb_rejects_bad_ranges_and_shapes():
    with pytest.raises(ValueError, match=r"Received: lo=1.0, hi=1.0"):
        cm.to_rgb(np.zeros((2, 2)), "grey", 1.0, 1.0)
    with pytest.raises(ValueError, match=r"Received: lo=nan"):
        cm.to_rgb(np.zeros((2, 2)), "grey", float("nan"), 1.0)
    with pytest.raises(ValueError, match=r"values.shape=\(2, 2, 2\)"):
        cm.to_rgb(np.zeros((2, 2, 2)), "grey", 0.0, 1.0)


@settings(deadline=None, max_examples=60)
@given(
    values=arrays(np.float64, (5, 7), elements=st.floats(-1e6, 1e6)),
    name=st.sampled_from(cm.NAMES),
)
def test_to_rgb_is_the_nearest_table_entry(values, name):
    lo, hi = cm.limits(values, signed=cm.is_signed(values))
    assert np.isfinite([lo, hi]).all()
    assert lo < hi
    rgb = cm.to_rgb(values, name, lo, hi)
    # reference: the fraction along the range, scaled to 256 equal bins
    frac = (values - lo) / (hi - lo)
    index = np.clip(np.floor(frac * 255 + 0.5), 0, 255).astype(int)
    want = cm.lut(name)[index]
    # the same entry or its neighbour on a rounding tie
    close = np.abs(rgb.astype(int) - want.astype(int)).max(axis=-1) <= 12
    assert close.all()


def test_defaults():
    assert cm.default_for(True) == "diverging"
    assert cm.default_for(False) == "grey"
    assert cm.is_signed(np.array([0.0, -1e-3]))
    assert not cm.is_signed(np.array([0.0, 2.0, np.nan, -np.inf]))


def test_is_signed_with_a_fraction():
    photo = np.linspace(0.0, 1.0, 1000)
    photo[:50] = -0.1  # small negative overshoots (a sharpened photo): 1% of |v|
    assert cm.is_signed(photo)
    assert not cm.is_signed(photo, cm.SIGNED_FRACTION)
    edges = np.linspace(-1.0, 1.0, 1000)
    assert cm.is_signed(edges, cm.SIGNED_FRACTION)
    with pytest.raises(ValueError, match=r"Received: min_fraction=1.5"):
        cm.is_signed(edges, 1.5)


def test_a_subnormal_range_still_colours_without_warnings():
    """A map of values around 1e-311 (found by hypothesis): 255 / range overflows,
    so the arithmetic divides first; 0 stays at the centre, the ends at the ends."""
    v = np.array([[0.0, 2.2e-311, -2.2e-311, 0.0]])
    lo, hi = cm.limits(v, signed=True)
    index, nan = cm.lut_index(v, lo, hi)
    assert nan is None
    assert index.tolist() == [[128, 255, 0, 128]]


@pytest.mark.parametrize(
    "kind", ["normal", "relu", "ties", "image", "two_values", "sorted"]
)
@pytest.mark.parametrize("n", [5, 1000, 70_000, 262_144])
def test_percentiles_are_numpys_exactly(kind, n):
    """The sample-window selection gives numpy's percentiles (linear, float64) for
    maps big and small: ReLU zeros, long runs of ties, image structure."""
    rng = np.random.default_rng(n)
    if kind == "normal":
        v = rng.standard_normal(n)
    elif kind == "relu":
        v = np.maximum(rng.standard_normal(n), 0)
    elif kind == "ties":
        v = rng.integers(0, 4, n).astype(np.float64)
    elif kind == "image":  # smooth rows with a few bright edges
        side = int(np.sqrt(n)) + 1
        v = np.sin(np.linspace(0, 20, side))[:, None] * np.linspace(0, 1, side)
        v = v.ravel()[:n].copy()
        v[:: max(1, n // 50)] = 9.0
    elif kind == "two_values":
        v = np.where(np.arange(n) < n * 0.99, 0.0, 1.0)
    else:
        v = np.sort(rng.standard_normal(n))
    for values in (v, v.astype(np.float32)):
        for qs in ([98.0], [2.0, 98.0], [50.0, 100.0], [0.0, 99.5]):
            want = np.percentile(values.astype(np.float64), qs)
            got = cm._percentiles(values, qs)
            assert got == pytest.approx(list(want), rel=1e-12, abs=1e-300)


def test_percentiles_exact_when_the_sample_misses(monkeypatch):
    """A sample whose window misses the ranks falls back to the full partition."""
    rng = np.random.default_rng(3)
    v = rng.standard_normal(100_000)
    monkeypatch.setattr(cm, "SELECT_DIRECT", 10)
    real_sort = np.sort
    # a sample shifted far below the data: its window holds none of the top ranks
    monkeypatch.setattr(cm.np, "sort", lambda a, *k, **kw: real_sort(a) - 100.0)
    got = cm._percentiles(v, [98.0])
    assert got == pytest.approx(list(np.percentile(v, [98.0])), rel=1e-12)
