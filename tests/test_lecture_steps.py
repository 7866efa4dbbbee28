"""The sliding-window steps against compute's maps and an independent numpy padding."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convlab import explore
from convlab.lecture import SlidingWindow

# numpy's own padding, independent of kernels.pad2d
NP_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge"}
NP_MODES["circular"] = "wrap"


def _np_pad(image: np.ndarray, pads: tuple[int, int, int, int], mode: str):
    top, bottom, left, right = pads
    return np.pad(image, ((0, 0), (top, bottom), (left, right)), mode=NP_MODES[mode])


def _check_all_steps(result: explore.Result, index: int) -> None:
    steps = SlidingWindow(result, index)
    fm = result.maps[index]
    flt = result.settings.filters[index]
    oh, ow = fm.conv.shape
    assert len(steps) == oh * ow
    padded = _np_pad(result.image, fm.conv_pads, result.settings.padding_mode)
    c, h, w = result.image.shape
    divide = c if result.settings.channels == "mean" else 1
    all_windows = []
    if fm.pooled is not None:
        qh, qw = fm.pooled.shape
        all_windows = [
            steps.pool_window(py, px) for py in range(qh) for px in range(qw)
        ]
    for k, step in enumerate(steps):
        assert (step.oy, step.ox) == divmod(k, ow)
        # the window's values: numpy's padding, sampled with stride and dilation
        ys = step.oy * result.settings.stride[0] + result.settings.dilation[0] * (
            np.arange(flt.kernel.shape[0])
        )
        xs = step.ox * result.settings.stride[1] + result.settings.dilation[1] * (
            np.arange(flt.kernel.shape[1])
        )
        np.testing.assert_array_equal(step.values, padded[:, ys][:, :, xs])
        # padding cells are those outside the input; they copy their source cell
        outside = ((ys - fm.conv_pads[0] < 0) | (ys - fm.conv_pads[0] >= h))[
            :, None
        ] | ((xs - fm.conv_pads[2] < 0) | (xs - fm.conv_pads[2] >= w))[None, :]
        np.testing.assert_array_equal(step.padded_mask, outside)
        for i in range(len(ys)):
            for j in range(len(xs)):
                sr, sc = step.source_rows[i], step.source_cols[j]
                if sr < 0 or sc < 0:
                    assert result.settings.padding_mode == "zeros"
                    assert step.padded_mask[i, j]
                    assert np.all(step.values[:, i, j] == 0)
                else:
                    np.testing.assert_array_equal(
                        step.values[:, i, j], result.image[:, sr, sc]
                    )
        # the sum: an independent float64 dot product, and compute's map value
        expected = float(
            (step.values.astype(np.float64) * flt.kernel.astype(np.float64)).sum()
            / divide
        )
        # (the weight kernel / C is rounded to float32 once: 1e-7 relative per term)
        scale = float(np.abs(step.products).sum()) + abs(flt.bias) + 1.0
        assert abs(step.total - expected) <= 1e-6 * scale
        assert abs(step.total + step.bias - float(fm.conv[step.oy, step.ox])) <= (
            2e-6 * scale
        )
        assert step.output == float(fm.conv[step.oy, step.ox])
        assert step.activated == float(fm.activated[step.oy, step.ox])
        # the pooling windows that read (oy, ox): found by brute force
        readers = [
            (pw.row, pw.col)
            for pw in all_windows
            if step.oy in pw.rows[~pw.padded_mask.all(axis=1)]
            and step.ox in pw.cols[~pw.padded_mask.all(axis=0)]
        ]
        assert sorted((p.row, p.col) for p in step.pools) == sorted(readers)
    for pw in all_windows:
        assert pw.recomputed == pytest.approx(pw.value, rel=1e-5, abs=1e-6)


def _filters(kh: int, kw: int, seed: int) -> tuple[explore.Filter, ...]:
    rng = np.random.default_rng(seed)
    return (
        explore.Filter("a", rng.standard_normal((kh, kw)).astype(np.float32), 0.25),
        explore.Filter("b", rng.standard_normal((kh, kw)).astype(np.float32), -1.5),
    )


def test_doc_example_and_classic_7x7():
    image = np.arange(49, dtype=np.float32).reshape(7, 7)
    kernel = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]], np.float32)
    s = explore.Settings(
        filters=(explore.Filter("k", kernel),),
        padding="valid",
        activation="none",
        pool="none",
    )
    result = explore.compute(image, s)
    steps = SlidingWindow(result, 0)
    assert len(steps) == 25
    # hand-computed: window rows 0..2, cols 0..2 of arange(49)
    window = image[:3, :3]
    assert steps[0].total == float((window * kernel).sum())
    assert steps[-1].index == 24
    assert steps[steps.index_of(4, 4)].total == float((image[4:, 4:] * kernel).sum())
    _check_all_steps(result, 0)


def test_tap_granularity_running_sum():
    image = np.random.default_rng(1).random((3, 6, 5)).astype(np.float32)
    s = explore.Settings(filters=_filters(3, 2, 1), stride=(2, 1), pool="avg")
    result = explore.compute(image, s)
    per_tap = SlidingWindow(result, 1, granularity="tap")
    per_pos = SlidingWindow(result, 1)
    assert len(per_tap) == len(per_pos) * 6
    i = per_tap.index_of(1, 2, tap=0)
    steps = [per_tap[i + t] for t in range(6)]
    assert [st_.tap for st_ in steps] == list(range(6))
    assert steps[-1].partial == steps[-1].total == per_pos[per_pos.index_of(1, 2)].total
    # each tap adds its products (summed over channels)
    prev = 0.0
    for step in steps:
        ky, kx = step.tap_yx
        added = float(step.products[:, ky, kx].sum())
        assert step.partial == pytest.approx(prev + added, rel=1e-12, abs=1e-12)
        prev = step.partial


def test_random_access_and_errors():
    image = np.random.default_rng(2).random((8, 8)).astype(np.float32)
    s = explore.Settings(filters=_filters(3, 3, 2))
    steps = SlidingWindow(explore.compute(image, s), 0)
    assert steps[-1].index == len(steps) - 1
    assert steps[-len(steps)].index == 0
    assert steps.position_steps(10)[-1] == len(steps) - 1
    assert len(steps.position_steps(1)) == len(steps)
    with pytest.raises(IndexError, match=r"Received: index=64"):
        steps[64]
    with pytest.raises(TypeError, match=r"`index` must be an int"):
        steps[1.5]
    with pytest.raises(ValueError, match=r"Received: filter_index=2"):
        SlidingWindow(steps.result, 2)
    with pytest.raises(ValueError, match=r"Received: granularity='pixel'"):
        SlidingWindow(steps.result, 0, granularity="pixel")
    with pytest.raises(ValueError, match=r"Received: \(8, 0\)"):
        steps.index_of(8, 0)
    with pytest.raises(ValueError, match=r"Received: every=0"):
        steps.position_steps(0)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    ("padding", "stride", "dilation", "kernel"),
    [
        ("same", (1, 1), (1, 1), (3, 3)),
        ("same", (2, 2), (1, 1), (4, 4)),  # asymmetric "same": extra at bottom/right
        ("same", (1, 2), (2, 1), (2, 3)),
        ("explicit", (2, 1), (1, 2), (3, 3)),
        ("valid", (3, 2), (2, 2), (2, 2)),
    ],
)
def test_geometries(mode, padding, stride, dilation, kernel):
    image = np.random.default_rng(3).random((2, 9, 8)).astype(np.float32)
    s = explore.Settings(
        filters=_filters(*kernel, 3),
        stride=stride,
        padding=padding,
        explicit_padding=(2, 1, 0, 3),
        padding_mode=mode,
        dilation=dilation,
        pool="max",
        pool_size=(2, 3),
        pool_stride=(1, 2),
        ceil_mode=True,
        channels="sum",
    )
    result = explore.compute(image, s)
    assert any(result.maps[0].conv_pads) or padding == "valid"
    for index in range(2):
        _check_all_steps(result, index)


@settings(
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    c=st.sampled_from([1, 3]),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.sampled_from(["valid", "same", "explicit"]),
    explicit=st.tuples(*[st.integers(0, 3)] * 4),
    mode=st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
    pool=st.sampled_from(["none", "max", "avg"]),
    pool_size=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    pool_stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    pool_padding=st.sampled_from(["valid", "same", "explicit"]),
    pool_pad=st.tuples(st.integers(0, 1), st.integers(0, 1)),
    ceil_mode=st.booleans(),
    activation=st.sampled_from(sorted(explore.ACTIVATIONS)),
    seed=st.integers(0, 2**16),
)
def test_hypothesis_geometries(
    h,
    w,
    c,
    kh,
    kw,
    stride,
    dilation,
    padding,
    explicit,
    mode,
    pool,
    pool_size,
    pool_stride,
    pool_padding,
    pool_pad,
    ceil_mode,
    activation,
    seed,
):
    image = np.random.default_rng(seed).standard_normal((c, h, w)).astype(np.float32)
    s = explore.Settings(
        filters=_filters(kh, kw, seed),
        stride=stride,
        padding=padding,
        explicit_padding=explicit,
        padding_mode=mode,
        dilation=dilation,
        activation=activation,
        pool=pool,
        pool_size=pool_size,
        pool_stride=pool_stride,
        pool_padding=pool_padding,
        pool_explicit_padding=pool_pad,
        ceil_mode=ceil_mode,
    )
    assume(not explore.validate(s, image.shape))
    result = explore.compute(image, s)
    _check_all_steps(result, seed % 2)
