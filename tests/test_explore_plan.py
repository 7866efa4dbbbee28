"""convlab.explore.plan: the geometry resolved once, checked against the kernels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convlab._memory
import kernels
from convlab import explore
from convlab.explore import Filter, Settings

# every name of the old single-module explore.__all__ still imports from the package
OLD_NAMES = [
    "ACTIVATIONS",
    "POOLS",
    "PADDINGS",
    "PADDING_MODES",
    "Filter",
    "Settings",
    "FilterMaps",
    "Result",
    "Stage",
    "Group",
    "ConvInspection",
    "PoolInspection",
    "InvalidSettings",
    "validate",
    "compute",
    "stage_shapes",
    "conventions",
    "inspect_pixel",
    "activate",
    "warmup",
    "ComputeCache",
    "reuse_freed_memory",
]


def test_old_names_are_re_exported():
    for name in OLD_NAMES:
        assert name in explore.__all__
        assert getattr(explore, name) is not None
    assert explore.reuse_freed_memory is convlab._memory.reuse_freed_memory
    assert explore.PADDING_MODES == kernels.PADDING_MODES


def _bank(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(
        Filter(f"f{i}", rng.normal(size=s).astype(np.float32), bias=0.5)
        for i, s in enumerate(shapes)
    )


def _kernel_outputs(x, s):
    """Each filter's (conv, pooled) shapes from direct kernels calls, or None when a
    kernel refuses the geometry (not via convlab.explore)."""
    out = []
    for flt in s.filters:
        weight = np.repeat(flt.kernel[None, None], x.shape[0], axis=1)
        try:
            conv = kernels.conv2d(
                x[None],
                weight,
                None,
                stride=s.stride,
                padding=s.conv_padding(),
                dilation=s.dilation,
                padding_mode=s.padding_mode,
            )[0]
            pooled = None
            if s.pool != "none":
                pool = kernels.avg_pool2d if s.pool == "avg" else kernels.max_pool2d
                pooled = pool(
                    conv, s.pool_size, s.pool_stride, s.pool_padding_arg(), s.ceil_mode
                )
                pooled = pooled[0] if s.pool == "max" else pooled
        except ValueError:
            return None
        out.append((conv.shape[1:], None if pooled is None else pooled.shape[1:]))
    return out


pairs = st.tuples(st.integers(1, 3), st.integers(1, 3))
kernel_shapes = st.lists(
    st.tuples(st.integers(1, 5), st.integers(1, 5)), min_size=1, max_size=4
)


@st.composite
def geometries(draw):
    pool_size = draw(pairs)
    return dict(
        stride=draw(pairs),
        padding=draw(st.sampled_from(explore.PADDINGS)),
        explicit_padding=draw(st.tuples(*[st.integers(0, 4)] * 4)),
        padding_mode=draw(st.sampled_from(explore.PADDING_MODES)),
        dilation=draw(st.tuples(st.integers(1, 2), st.integers(1, 2))),
        pool=draw(st.sampled_from(tuple(explore.POOLS))),
        pool_size=pool_size,
        pool_stride=draw(pairs),
        pool_padding=draw(st.sampled_from(explore.PADDINGS)),
        pool_explicit_padding=(
            draw(st.integers(0, pool_size[0] // 2)),
            draw(st.integers(0, pool_size[1] // 2)),
        ),
        ceil_mode=draw(st.booleans()),
    )


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    hw=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    shapes=kernel_shapes,
    geometry=geometries(),
)
def test_plan_agrees_with_the_kernels(hw, shapes, geometry):
    x = np.random.default_rng(0).random((2, *hw), dtype=np.float32)
    s = Settings(filters=_bank(shapes), **geometry)
    p = explore.plan(s, x.shape)
    direct = _kernel_outputs(x, s)
    # the plan refuses exactly what a kernel would refuse
    assert p.ok == (direct is not None), p.problems
    if not p.ok:
        with pytest.raises(explore.InvalidSettings):
            explore.compute(x, s)
        return
    for group in p.groups:
        kernel_hw = group.kernel_hw
        assert group.conv_pads == kernels.resolve_padding(
            s.conv_padding(), hw, kernel_hw, s.stride, s.dilation
        )
        if s.pool != "none":
            assert group.pool_pads == kernels.resolve_padding(
                s.pool_padding_arg(), group.conv_hw, s.pool_size, s.pool_stride
            )
        assert group.conv_formula[0].endswith(f"= {group.conv_hw[0]}")
        assert group.conv_formula[1].endswith(f"= {group.conv_hw[1]}")
    result = explore.compute(x, s)
    assert result.plan is not None
    for i, (fm, shape) in enumerate(zip(result.maps, p.filter_shapes, strict=True)):
        assert fm.conv.shape == shape.conv == direct[i][0]
        pooled = None if fm.pooled is None else fm.pooled.shape
        assert pooled == shape.pooled == direct[i][1]
        assert fm.conv_pads == p.group_of(i).conv_pads
    stages = explore.stage_shapes(s, x.shape)
    for group in p.groups:
        listed = [st_ for st_ in stages if st_.kernel_hw == group.kernel_hw]
        assert listed[0].shape == (len(group.members), *group.conv_hw)
        if s.pool != "none":
            assert listed[-1].shape == (len(group.members), *group.pooled_hw)


def test_mixed_kernel_sizes_give_per_filter_shapes():
    s = Settings(filters=_bank([(3, 3), (5, 5), (3, 3)]), padding="valid")
    p = explore.plan(s, (1, 28, 28))
    assert [f.conv for f in p.filter_shapes] == [(26, 26), (24, 24), (26, 26)]
    assert [f.pooled for f in p.filter_shapes] == [(13, 13), (12, 12), (13, 13)]
    assert p.stage_sizes("conv") == ((26, 26), (24, 24))
    assert p.group_of(1).kernel_hw == (5, 5)
    stages = explore.stage_shapes(s, (1, 28, 28))
    shapes = {st_.name: st_.shape for st_ in stages}
    # the shapes panel lists every kernel shape with its own filter count and size
    assert shapes["conv 3x3"] == (2, 26, 26)
    assert shapes["conv 5x5"] == (1, 24, 24)
    assert shapes["max pool 2x2, 5x5"] == (1, 12, 12)
    result = explore.compute(np.zeros((28, 28), np.float32), s)
    assert [m.conv.shape for m in result.maps] == [(26, 26), (24, 24), (26, 26)]


def test_reflect_and_circular_limits_are_the_kernels():
    """One rule: the plan reports the padding-mode limit with the kernels' own words."""
    x = np.zeros((1, 1, 6, 6), np.float32)
    for mode, pads in (("reflect", (6, 0, 0, 0)), ("circular", (0, 0, 7, 0))):
        with pytest.raises(ValueError, match="padding") as raised:
            kernels.pad2d(x, pads, mode)
        s = Settings(
            filters=_bank([(3, 3)]),
            padding="explicit",
            explicit_padding=pads,
            padding_mode=mode,
        )
        problems = explore.validate(s, x.shape[1:])
        assert problems == [("padding_mode", str(raised.value))]
        assert explore.validate(s, x.shape[1:], blame="padding")[0][0] == "padding"
    # at the limit both accept: reflect up to H - 1, circular up to H
    for mode, pad in (("reflect", 5), ("circular", 6)):
        s = Settings(
            filters=_bank([(1, 1)]),
            padding="explicit",
            explicit_padding=(pad, pad, 0, 0),
            padding_mode=mode,
        )
        assert explore.validate(s, (1, 6, 6)) == []
        kernels.pad2d(x, (pad, pad, 0, 0), mode)


def test_conventions_use_the_resolved_pool_pads():
    # a 7x7 map, 3x3 pool, stride 2, "same": pads (1, 1) -> 4 rows, as the map has
    s = Settings(
        filters=_bank([(1, 1)]),
        padding="valid",
        pool="max",
        pool_size=(3, 3),
        pool_stride=(2, 2),
        pool_padding="same",
    )
    result = explore.compute(np.zeros((7, 7), np.float32), s)
    assert result.maps[0].pooled.shape == (4, 4)
    rows = explore.conventions(s, (1, 7, 7))
    pool_h = dict(next(items for stage, axis, items in rows if stage == "pool"))
    assert pool_h["PyTorch (floor)"] == 4
    assert pool_h['Keras "valid"'] == 3


@pytest.mark.parametrize(
    ("settings_kw", "shape", "control", "text"),
    [
        ({"padding": "valid", "dilation": (2, 2)}, (1, 6, 6), "dilation", "empty"),
        ({"padding": "valid"}, (1, 4, 4), "padding", "Output would be empty"),
        ({"pool_size": (9, 9), "pool_stride": (1, 1)}, (1, 6, 6), "pool_size", "9x9"),
        ({"stride": (0, 1)}, (1, 6, 6), "stride", r"Received: stride=(0, 1)"),
        ({"activation": "gelu"}, (1, 6, 6), "activation", "'gelu'"),
        ({"padding": "full"}, (1, 6, 6), "padding", "Received: padding='full'"),
        (
            {"pool_padding": "explicit", "pool_explicit_padding": (2, 0)},
            (1, 6, 6),
            "pool_padding",
            "at most half the window",
        ),
    ],
)
def test_problems_name_the_control(settings_kw, shape, control, text):
    s = Settings(filters=_bank([(5, 5)]), **settings_kw)
    p = explore.plan(s, shape)
    assert not p.ok
    assert p.problems[0][0] == control
    assert text in p.problems[0][1]
    with pytest.raises(explore.InvalidSettings) as raised:
        explore.compute(np.zeros(shape, np.float32), s)
    assert raised.value.problems == list(p.problems)


def test_empty_bank_is_a_filters_problem_and_the_panel_still_previews():
    p = explore.plan(Settings(filters=()), (3, 8, 8))
    assert p.problems[0][0] == "filters"
    stages = explore.stage_shapes(p)
    assert [st_.shape for st_ in stages[:2]] == [(3, 8, 8), (0, 8, 8)]


def test_inspect_pixel_rejects_an_unknown_stage():
    result = explore.compute(np.zeros((5, 5), np.float32), Settings(_bank([(3, 3)])))
    with pytest.raises(ValueError, match=r"Received: stage='pool'"):
        explore.inspect_pixel(result, 0, "pool", 0, 0)
