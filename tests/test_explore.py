"""convlab.explore (headless) against direct kernels calls and plain numpy."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kernels
from convlab import explore
from convlab.explore import Filter, Settings


def _filters(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(
        Filter(f"f{i}", rng.normal(size=s).astype(np.float32), bias=float(rng.normal()))
        for i, s in enumerate(shapes)
    )


def _image(c=3, h=13, w=11, seed=1):
    return np.random.default_rng(seed).random((c, h, w), dtype=np.float32)


def _naive_conv(x, kernel, bias, stride, pads, dilation, mode, channels):
    """Padding with numpy, then the sum written out (independent of kernels.conv2d)."""
    numpy_mode = {
        "zeros": "constant",
        "reflect": "reflect",
        "replicate": "edge",
        "circular": "wrap",
    }[mode]
    top, bottom, left, right = pads
    xp = np.pad(
        x.astype(np.float64), ((0, 0), (top, bottom), (left, right)), mode=numpy_mode
    )
    c = x.shape[0]
    w = kernel.astype(np.float64) / (c if channels == "mean" else 1)
    kh, kw = kernel.shape
    (sh, sw), (dh, dw) = stride, dilation
    oh = (xp.shape[1] - (dh * (kh - 1) + 1)) // sh + 1
    ow = (xp.shape[2] - (dw * (kw - 1) + 1)) // sw + 1
    out = np.zeros((oh, ow))
    for oy in range(oh):
        for ox in range(ow):
            window = xp[
                :,
                oy * sh : oy * sh + dh * (kh - 1) + 1 : dh,
                ox * sw : ox * sw + dw * (kw - 1) + 1 : dw,
            ]
            out[oy, ox] = (window * w[None]).sum() + bias
    return out


@pytest.mark.parametrize(
    ("padding", "explicit", "mode", "stride", "dilation"),
    [
        ("same", (1, 1, 1, 1), "zeros", (1, 1), (1, 1)),
        ("valid", (0, 0, 0, 0), "zeros", (2, 1), (1, 1)),
        ("explicit", (2, 0, 1, 3), "reflect", (1, 2), (1, 1)),
        ("explicit", (1, 2, 2, 1), "replicate", (2, 2), (2, 1)),
        ("same", (0, 0, 0, 0), "circular", (3, 2), (1, 2)),
    ],
)
def test_conv_stage_matches_naive_sum(padding, explicit, mode, stride, dilation):
    x = _image()
    settings = Settings(
        filters=_filters((3, 3), (2, 3)),
        stride=stride,
        padding=padding,
        explicit_padding=explicit,
        padding_mode=mode,
        dilation=dilation,
        pool="none",
        activation="none",
    )
    result = explore.compute(x, settings)
    for flt, fm in zip(settings.filters, result.maps, strict=True):
        pads = kernels.resolve_padding(
            settings.conv_padding(), x.shape[1:], flt.kernel.shape, stride, dilation
        )
        expected = _naive_conv(
            x, flt.kernel, flt.bias, stride, pads, dilation, mode, "mean"
        )
        np.testing.assert_allclose(fm.conv, expected, rtol=1e-5, atol=1e-5)
        assert np.shares_memory(fm.activated, fm.conv)  # "none" draws the same array


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("relu", lambda z: np.maximum(z, 0)),
        ("leaky_relu", lambda z: np.where(z > 0, z, 0.1 * z)),
        ("sigmoid", lambda z: 1 / (1 + np.exp(-z))),
        ("tanh", np.tanh),
        ("abs", np.abs),
    ],
)
def test_activations(name, reference):
    x = _image(1)
    result = explore.compute(
        x, Settings(filters=_filters((3, 3)), activation=name, pool="none")
    )
    fm = result.maps[0]
    np.testing.assert_allclose(
        fm.activated, reference(fm.conv.astype(np.float64)), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("pool", ["max", "avg"])
@pytest.mark.parametrize(
    ("size", "stride", "padding", "explicit", "ceil_mode"),
    [
        ((2, 2), (2, 2), "valid", (0, 0), False),
        ((3, 2), (2, 1), "explicit", (1, 1), True),
        ((3, 3), (2, 2), "same", (0, 0), False),
    ],
)
def test_pool_stage_matches_kernels_and_inspection(
    pool, size, stride, padding, explicit, ceil_mode
):
    x = _image()
    settings = Settings(
        filters=_filters((3, 3)),
        pool=pool,
        pool_size=size,
        pool_stride=stride,
        pool_padding=padding,
        pool_explicit_padding=explicit,
        ceil_mode=ceil_mode,
    )
    result = explore.compute(x, settings)
    fm = result.maps[0]
    args = dict(
        kernel_size=size,
        stride=stride,
        padding=settings.pool_padding_arg(),
        ceil_mode=ceil_mode,
    )
    if pool == "max":
        expected, indices = kernels.max_pool2d(fm.activated, **args)
        np.testing.assert_array_equal(fm.indices, indices)
    else:
        expected = kernels.avg_pool2d(fm.activated, **args)
    np.testing.assert_array_equal(fm.pooled, expected)
    # every pooled pixel: the microscope's recomputation agrees with the drawn value
    for r in range(fm.pooled.shape[0]):
        for c in range(fm.pooled.shape[1]):
            ins = explore.inspect_pixel(result, 0, "pooled", r, c)
            assert ins.value == fm.pooled[r, c]
            assert ins.recomputed == pytest.approx(
                float(fm.pooled[r, c]), rel=1e-5, abs=1e-6
            )
            if pool == "max":
                wr, wc = ins.winner
                assert fm.activated[wr, wc] == fm.pooled[r, c]
                assert (ins.conv.row, ins.conv.col) == (wr, wc)


def test_max_pool_winner_by_hand():
    # one 4x4 map whose maxima are known: identity kernel, no activation
    x = np.array([[[1, 5, 0, 2], [3, 4, 9, 1], [0, 0, 1, 1], [7, 0, 1, 8]]], np.float32)
    settings = Settings(
        filters=(Filter("id", np.ones((1, 1))),),
        padding="valid",
        activation="none",
        pool="max",
    )
    result = explore.compute(x, settings)
    np.testing.assert_array_equal(result.maps[0].pooled, [[5, 9], [7, 8]])
    assert explore.inspect_pixel(result, 0, "pooled", 0, 1).winner == (1, 2)
    assert explore.inspect_pixel(result, 0, "pooled", 1, 0).winner == (3, 0)


def test_conv_inspection_numbers():
    x = _image(3, 9, 8)
    settings = Settings(
        filters=_filters((3, 3), (3, 2)),
        padding="same",
        padding_mode="reflect",
        stride=(2, 1),
        dilation=(1, 2),
        activation="leaky_relu",
        pool="none",
    )
    result = explore.compute(x, settings)
    for index in (0, 1):
        flt = settings.filters[index]
        kh, kw = flt.kernel.shape
        for row, col in [
            (0, 0),
            (2, 3),
            (
                result.maps[index].conv.shape[0] - 1,
                result.maps[index].conv.shape[1] - 1,
            ),
        ]:
            ins = explore.inspect_pixel(result, index, "conv", row, col)
            top, bottom, left, right = ins.pads
            xp = np.pad(x, ((0, 0), (top, bottom), (left, right)), mode="reflect")
            window = xp[:, row * 2 : row * 2 + kh, col : col + 2 * (kw - 1) + 1 : 2]
            np.testing.assert_array_equal(ins.window, window)
            np.testing.assert_allclose(ins.products, window * flt.kernel / 3, rtol=1e-6)
            assert ins.total + ins.bias == pytest.approx(
                float(result.maps[index].conv[row, col]), rel=1e-5, abs=1e-5
            )
            z = ins.pre_activation
            assert ins.activated == pytest.approx(
                z if z > 0 else 0.1 * z, rel=1e-6, abs=1e-7
            )
            rows = row * 2 + np.arange(kh) - top
            cols = col + 2 * np.arange(kw) - left
            expected_mask = ((rows < 0) | (rows >= 9))[:, None] | (
                (cols < 0) | (cols >= 8)
            )[None]
            np.testing.assert_array_equal(ins.padded_mask, expected_mask)


def test_corner_pixel_marks_zero_padding():
    x = _image(1, 5, 5)
    result = explore.compute(
        x, Settings(filters=_filters((3, 3)), padding="same", pool="none")
    )
    ins = explore.inspect_pixel(result, 0, "conv", 0, 0)
    np.testing.assert_array_equal(ins.padded_mask[0], [True, True, True])
    np.testing.assert_array_equal(ins.padded_mask[:, 0], [True, True, True])
    assert not ins.padded_mask[1:, 1:].any()
    assert (ins.window[0][ins.padded_mask] == 0).all()
    assert list(ins.source_rows) == [-1, 0, 1]


def test_channels_sum_vs_mean():
    x = _image(3)
    flt = _filters((3, 3))
    mean = explore.compute(x, Settings(filters=flt, channels="mean", pool="none"))
    total = explore.compute(x, Settings(filters=flt, channels="sum", pool="none"))
    b = flt[0].bias
    np.testing.assert_allclose(
        total.maps[0].conv - b, 3 * (mean.maps[0].conv - b), rtol=1e-5, atol=1e-5
    )


def test_validate_reports_next_to_the_control():
    shape = (1, 6, 6)
    flt = _filters((5, 5))
    assert explore.validate(Settings(filters=flt), shape) == []
    problems = explore.validate(
        Settings(filters=flt, padding="valid", dilation=(2, 2)), shape
    )
    assert [c for c, _ in problems] == ["dilation"]
    assert "Output would be empty" in problems[0][1]
    problems = explore.validate(
        Settings(filters=flt, padding="valid", stride=(2, 2), dilation=(2, 2)),
        shape,
        blame="stride",
    )
    assert [c for c, _ in problems] == ["stride"]
    problems = explore.validate(
        Settings(
            filters=flt,
            padding="explicit",
            explicit_padding=(6, 0, 0, 0),
            padding_mode="reflect",
        ),
        shape,
    )
    assert problems[0][0] == "padding_mode"
    assert "Reflect padding must be smaller" in problems[0][1]
    problems = explore.validate(Settings(filters=flt, pool_size=(7, 7)), shape)
    assert problems[0][0] == "pool_size"
    problems = explore.validate(
        Settings(filters=flt, pool_padding="explicit", pool_explicit_padding=(2, 0)),
        shape,
    )
    assert problems[0][0] == "pool_padding"
    assert "at most half the window" in problems[0][1]
    assert explore.validate(Settings(filters=()), shape)[0][0] == "filters"


def test_compute_refuses_invalid_settings():
    with pytest.raises(explore.InvalidSettings, match="Output would be empty") as info:
        explore.compute(
            _image(1, 4, 4), Settings(filters=_filters((5, 5)), padding="valid")
        )
    assert info.value.problems[0][0] == "padding"


def test_filter_checks_kernel_shape():
    with pytest.raises(ValueError, match=r"Received: kernel.shape=\(16, 3\)"):
        Filter("big", np.zeros((16, 3)))


def test_stage_shapes_and_conventions():
    settings = Settings(
        filters=_filters((3, 3)),
        padding="valid",
        stride=(2, 2),
        pool="max",
        pool_size=(2, 2),
        pool_stride=(2, 2),
    )
    stages = explore.stage_shapes(settings, (3, 7, 7))
    assert [s.shape for s in stages] == [(3, 7, 7), (1, 3, 3), (1, 3, 3), (1, 1, 1)]
    assert stages[1].formula_h == "H: floor((7 + 0 + 0 - 3) / 2) + 1 = 3"
    rows = explore.conventions(settings, (3, 7, 7))
    conv_h = dict(
        next(items for stage, axis, items in rows if (stage, axis) == ("conv", "H"))
    )
    assert conv_h['Keras "same"'] == 4
    assert conv_h["PyTorch (floor)"] == 3


def test_avg_pool_inspection_explains_the_chosen_cell():
    x = _image(3, 9, 8)
    settings = Settings(
        filters=_filters((3, 3)),
        pool="avg",
        pool_size=(3, 2),
        pool_stride=(3, 2),
        activation="relu",
    )
    result = explore.compute(x, settings)
    fm = result.maps[0]
    default = explore.inspect_pixel(result, 0, "pooled", 1, 2)
    assert default.conv_cell == (3, 4)  # the window's first real cell
    ins = explore.inspect_pixel(result, 0, "pooled", 1, 2, conv_cell=(5, 5))
    assert ins.conv_cell == (5, 5)
    assert (ins.conv.row, ins.conv.col) == (5, 5)
    assert ins.conv.pre_activation == fm.conv[5, 5]
    # the numbers are this cell's: window of x around (5, 5) with "same" zero padding
    window = x[:, 4:7, 4:7].astype(np.float64)
    z = (window * settings.filters[0].kernel / 3).sum() + settings.filters[0].bias
    assert ins.conv.total + ins.conv.bias == pytest.approx(z, rel=1e-5)
    assert ins.recomputed == default.recomputed  # the pooled value does not change
    with pytest.raises(ValueError, match=r"Received: conv_cell=\(2, 4\)"):
        explore.inspect_pixel(result, 0, "pooled", 1, 2, conv_cell=(2, 4))


def test_cache_reuses_unchanged_stages_and_matches_a_fresh_compute():
    x = _image(3, 12, 10)
    cache = explore.ComputeCache()
    base = Settings(filters=_filters((3, 3), (3, 3), (2, 3)), pool="max")
    first = explore.compute(x, base, cache=cache)
    pooled_avg = replace(base, pool="avg")
    second = explore.compute(x, pooled_avg, cache=cache)
    fresh = explore.compute(x, pooled_avg)
    for a, b, c in zip(first.maps, second.maps, fresh.maps, strict=True):
        assert np.shares_memory(a.conv, b.conv)  # the convolution was not redone
        assert not np.shares_memory(a.pooled, b.pooled)
        for stage in ("conv", "activation", "pooled"):
            np.testing.assert_array_equal(b.stage(stage), c.stage(stage))
            assert b.abs_max[stage] == c.abs_max[stage]
    strided = explore.compute(x, replace(base, stride=(2, 1)), cache=cache)
    assert strided.maps[0].conv.shape == (6, 10)
    np.testing.assert_array_equal(
        strided.maps[0].conv,
        explore.compute(x, replace(base, stride=(2, 1))).maps[0].conv,
    )
    # a new image object (even with equal values) is never served from the cache
    other = explore.compute(x.copy() + 1, base, cache=cache)
    assert not np.shares_memory(other.maps[0].conv, first.maps[0].conv)


def test_abs_max_skips_non_finite_values():
    x = _image(1, 6, 6)
    x[0, 2, 2] = np.nan
    x[0, 4, 4] = np.inf
    result = explore.compute(
        x,
        Settings(
            filters=(Filter("id", np.ones((1, 1))),), pool="none", activation="none"
        ),
    )
    finite = x[0][np.isfinite(x[0])]
    assert result.maps[0].abs_max["conv"] == pytest.approx(float(np.abs(finite).max()))


def _address(a):
    return a.__array_interface__["data"][0]


def test_cache_computes_into_buffers_nothing_else_holds():
    """A slider move recomputes into the memory of a result nobody holds any more,
    never into one still referenced (a result, or a single view of one map)."""
    x = _image(3, 14, 12)
    cache = explore.ComputeCache()
    settings = Settings(filters=_filters((3, 3), (3, 3)), pool="max")
    moved = [
        replace(settings, filters=_filters((3, 3), (3, 3), seed=k)) for k in (1, 2, 3)
    ]
    first = explore.compute(x, settings, cache=cache)
    addresses = {s: _address(first.groups[0].stacks[s]) for s in first.groups[0].stacks}
    second = explore.compute(x, moved[0], cache=cache)  # `first` still held
    for stage, stack in second.groups[0].stacks.items():
        assert not np.shares_memory(stack, first.groups[0].stacks[stage])
    del first
    third = explore.compute(x, moved[1], cache=cache)  # `second` still held
    for stage, stack in third.groups[0].stacks.items():
        assert _address(stack) == addresses[stage]  # the first result's memory
        assert not np.shares_memory(stack, second.groups[0].stacks[stage])
    # the values are a fresh compute's, and the maps are views of the stacks
    fresh = explore.compute(x, moved[1])
    for got, want in zip(third.maps, fresh.maps, strict=True):
        for stage in ("conv", "activation", "pooled"):
            np.testing.assert_array_equal(got.stage(stage), want.stage(stage))
            assert got.abs_max[stage] == want.abs_max[stage]
    # one view of one map keeps its whole stack from being reused
    kept = second.maps[1].activated
    kept_values = kept.copy()
    del second
    fourth = explore.compute(x, moved[2], cache=cache)
    assert not np.shares_memory(fourth.groups[0].stacks["activation"], kept)
    np.testing.assert_array_equal(kept, kept_values)


def test_cache_keeps_at_most_two_buffers_per_stage():
    x = _image(1, 9, 9)
    cache = explore.ComputeCache()
    held = [
        explore.compute(
            x, Settings(filters=_filters((3, 3), seed=k), pool="max"), cache=cache
        )
        for k in range(4)
    ]
    for stage in ("conv", "activation", "pooled"):
        assert len(cache._buffers[(stage, (3, 3))]) == cache.KEEP
    assert all(r.maps[0].conv.shape == (9, 9) for r in held)


def test_max_pool_winners_are_not_computed_with_the_maps(monkeypatch):
    """compute() asks max_pool2d for values only; FilterMaps.winner finds a pooled
    pixel's winner from its window, as kernels.max_pool2d's indices say, with ties,
    NaN (the last one wins) and -inf; indices are computed on first use."""
    calls = []
    pool = kernels.max_pool2d

    def spy(*args, **kwargs):
        calls.append(kwargs.get("return_indices", True))
        return pool(*args, **kwargs)

    monkeypatch.setattr(kernels, "max_pool2d", spy)
    rng = np.random.default_rng(4)
    values = np.array([0, 1, 1, np.nan, -np.inf, 2], np.float32)
    x = values[rng.integers(0, len(values), (1, 11, 13))]
    for size, stride, padding, explicit, ceil_mode in [
        ((2, 2), (2, 2), "valid", (0, 0), False),
        ((3, 2), (2, 1), "explicit", (1, 1), True),
        ((3, 3), (2, 2), "same", (0, 0), False),
        ((3, 3), (1, 1), "valid", (0, 0), False),
    ]:
        settings = Settings(
            filters=(Filter("id", np.ones((1, 1))),),
            padding="valid",
            activation="none",
            pool="max",
            pool_size=size,
            pool_stride=stride,
            pool_padding=padding,
            pool_explicit_padding=explicit,
            ceil_mode=ceil_mode,
        )
        calls.clear()
        fm = explore.compute(x, settings).maps[0]
        assert calls == [False]
        _, want = pool(
            fm.activated, size, stride, settings.pool_padding_arg(), ceil_mode
        )
        np.testing.assert_array_equal(fm.indices, want)  # computed on demand
        assert calls == [False, True]
        ow = fm.activated.shape[1]
        for r in range(want.shape[0]):
            for c in range(want.shape[1]):
                assert fm.winner(r, c) == divmod(int(want[r, c]), ow)
    no_pool = explore.compute(x, replace(settings, pool="avg")).maps[0]
    assert no_pool.indices is None
    with pytest.raises(ValueError, match=r"no max pooling"):
        no_pool.winner(0, 0)


@settings(deadline=None, max_examples=60)
@given(
    seed=st.integers(0, 2**16),
    palette=st.sampled_from(
        [
            [-1.0, -2.5, -0.0],  # nothing positive: ReLU makes 0
            [np.nan, np.inf, -np.inf],  # nothing finite in the convolution
            [np.nan, -np.inf, -3.0],
            [np.inf, 2.0, -7.0, 0.5],
            [3.0, -0.0, np.nan, 1e-30],
        ]
    ),
)
def test_relu_abs_max_equals_the_activation_maps_own(seed, palette):
    """The ReLU map's largest finite |value| is derived from the convolution's
    extremes (its 265 MB at 4K are not read again): the same number as reading it."""
    values = np.array(palette, np.float32)
    x = values[np.random.default_rng(seed).integers(0, len(values), (1, 5, 6))]
    s = Settings(filters=(Filter("id", np.ones((1, 1))),), pool="none")
    fm = explore.compute(x, s).maps[0]
    np.testing.assert_array_equal(fm.conv, x[0])  # the identity, NaN and inf kept
    act = np.where(x[0] < 0, 0.0, x[0])
    finite = act[np.isfinite(act)]
    want = float(np.abs(finite).max()) if finite.size else 0.0
    assert fm.abs_max["activation"] == want
