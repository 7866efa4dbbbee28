"""kernels.colour: the explorer's one-pass colouring and the percentile window,
against the NumPy arithmetic they replace (convlab.colormaps.lut_index, masks)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convlab import colormaps as cm
from kernels import _warmup
from kernels.colour import lut_planes, value_window


def _reference(planes, levels, tables, nans):
    out = np.empty(planes.shape, np.uint32)
    for p in range(planes.shape[0]):
        index, nan = cm.lut_index(planes[p], *levels[p])
        out[p] = tables[p][index]
        if nan is not None:
            out[p][nan] = nans[p]
    return out


def _tables(n, rng):
    return rng.integers(0, 2**32, (n, 256), dtype=np.uint32)


@settings(deadline=None, max_examples=60)
@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 40), st.integers(1, 700)),
    seed=st.integers(0, 2**32 - 1),
    span=st.floats(1e-30, 1e30),
    centre=st.floats(-1e3, 1e3),
)
def test_lut_planes_gives_lut_index_entries(shape, seed, span, centre):
    rng = np.random.default_rng(seed)
    planes = (centre + span * rng.standard_normal(shape)).astype(np.float32)
    flat = planes.reshape(-1)
    specials = [np.nan, np.inf, -np.inf, 0.0, centre, centre + span, -np.float32(3e38)]
    for v in specials[: flat.size]:
        flat[rng.integers(0, flat.size)] = v
    levels = np.array(
        [sorted([centre - span * rng.random(), centre + span * rng.random()])
         for _ in range(shape[0])]
    )  # fmt: skip
    levels[:, 1] = np.maximum(levels[:, 1], np.nextafter(levels[:, 0], np.inf))
    tables = _tables(shape[0], rng)
    nans = rng.integers(0, 2**32, shape[0], dtype=np.uint32)
    out = np.empty(shape, np.uint32)
    got = lut_planes(planes, levels, tables, nans, out)
    assert got is out
    np.testing.assert_array_equal(out, _reference(planes, levels, tables, nans))


def test_lut_planes_on_the_rounding_boundaries():
    """Values that land exactly on an entry's edge, and past the chunk size."""
    lo, hi = -2.0, 2.0
    t = np.arange(-3.0, 260.0, 0.5)  # entries and their halves, both ends beyond
    v = ((t - 128.0) * (hi - lo) / 255.0).astype(np.float32)
    planes = np.tile(v, 100)[None, None, :]  # 52,600 values: several chunks
    tables = np.arange(256, dtype=np.uint32)[None] * 3 + 1
    out = np.empty(planes.shape, np.uint32)
    lut_planes(planes, [[lo, hi]], tables, np.array([7], np.uint32), out)
    np.testing.assert_array_equal(
        out, _reference(planes, [[lo, hi]], tables, np.array([7], np.uint32))
    )
    assert out.min() == 1
    assert out.max() == 3 * 255 + 1


def test_lut_planes_rejects_what_it_cannot_take():
    planes = np.zeros((1, 2, 2), np.float32)
    out = np.empty((1, 2, 2), np.uint32)
    tables, nans = np.zeros((1, 256), np.uint32), np.zeros(1, np.uint32)
    with pytest.raises(ValueError, match=r"`planes` must be a C-contiguous float32"):
        lut_planes(planes.astype(np.float64), [[0, 1]], tables, nans, out)
    with pytest.raises(ValueError, match=r"`levels` must be finite.*Received"):
        lut_planes(planes, [[1.0, 1.0]], tables, nans, out)
    with pytest.raises(ValueError, match=r"`levels`"):
        lut_planes(planes, [[0.0, 2e-311]], tables, nans, out)  # 255/range overflows
    with pytest.raises(ValueError, match=r"`out` must be a writeable"):
        lut_planes(planes, [[0.0, 1.0]], tables, nans, out[:, :1])


@settings(deadline=None, max_examples=60)
@given(
    n=st.integers(0, 3000),
    seed=st.integers(0, 2**32 - 1),
    bounds=st.tuples(st.floats(-3, 3), st.floats(-3, 3)),
    ties=st.booleans(),
)
def test_value_window_is_the_masks_and_count(n, seed, bounds, ties):
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(n).astype(np.float32)
    if ties:
        values = np.round(values).astype(np.float32)
    lo, hi = np.float32(min(bounds)), np.float32(max(bounds))
    out = np.full(n, np.nan, np.float32)
    below, count = value_window(values, lo, hi, out)
    assert below == np.count_nonzero(values < lo)
    np.testing.assert_array_equal(out[:count], values[(values >= lo) & (values <= hi)])
    b, c = value_window(values, -np.inf, np.inf, out)
    assert (b, c) == (0, n)
    with pytest.raises(ValueError, match=r"`values` must be a 1-D float32"):
        value_window(values.astype(np.float64), lo, hi, out)


@pytest.mark.parametrize("compiled", [True, False])
def test_colorize_planes_and_percentiles_with_and_without_the_kernels(
    compiled, monkeypatch
):
    """The explorer's colouring and robust contrast give the same pixels and the
    same limits on NumPy (a first launch, before the step is compiled)."""
    from convlab.gui.explorer.colormaps import colorize_planes

    _warmup.warmup(groups=["explorer"])
    if not compiled:
        real = _warmup.is_done
        monkeypatch.setattr(
            _warmup, "is_done", lambda step: step != cm.COLOUR_STEP and real(step)
        )
    rng = np.random.default_rng(5)
    planes = rng.standard_normal((3, 300, 301)).astype(np.float32)
    planes[1] = np.maximum(planes[1], 0)  # ReLU: a run of zeros
    planes[2, ::7] = np.nan
    levels = np.array([[-2.0, 2.0], [0.0, 1.5], [-1.0, 3.0]])
    names = ["diverging", "grey", "magma"]
    pixels = colorize_planes(planes, levels, names=names)
    from convlab.gui.explorer.colormaps import _argb

    tables = np.stack([_argb(n)[0] for n in names])
    nans = np.array([_argb(n)[1] for n in names], np.uint32)
    np.testing.assert_array_equal(pixels, _reference(planes, levels, tables, nans))
    for p in range(2):
        for signed in (True, False):
            got = cm.limits(planes[p], signed=signed, clip_percentile=98.0)
            finite = planes[p].astype(np.float64).ravel()
            if signed:
                m = np.percentile(np.abs(finite), 98.0)
                want = (-m, m)
            else:
                want = tuple(np.percentile(finite, [2.0, 98.0]))
            if want[1] > want[0]:
                assert got == pytest.approx(want, rel=1e-12)
