"""Resolve a geometry once: :func:`plan` turns settings and an image shape into a frozen
:class:`Plan` (pads, output sizes and formulas per kernel shape, and the problems) that
validation, compute, the shapes panel, the conventions table and the microscope read.

Nothing here touches an array: a plan costs microseconds, so the GUI makes one on every
control change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# kernels owns the reflect/circular limits (pad2d and conv2d raise with them); the plan
# reports the same rule with the same words instead of restating it
from kernels import check_padding_geometry
from kernels import shapes as _shapes

from .settings import ACTIVATIONS, CHANNELS, PADDING_MODES, PADDINGS, POOLS, Settings

__all__ = ["GroupPlan", "FilterShape", "Plan", "plan", "validate"]

_GEOMETRY = ("stride", "padding", "dilation", "filters")
_POOL_GEOMETRY = ("pool_size", "pool_stride", "pool_padding", "pool")


@dataclass(frozen=True)
class GroupPlan:
    """The geometry of the filters of one kernel shape (computed as one Conv2D).

    ``conv_hw`` is ``None`` when the output would be empty, ``pooled_hw`` when the
    pooling is off or its output would be empty; ``error`` then says why (the kernels'
    words). Formulas are PyTorch's with the numbers filled in, per axis.
    """

    kernel_hw: tuple[int, int]
    members: tuple[int, ...]  # indices into Settings.filters
    conv_pads: tuple[int, int, int, int]  # (top, bottom, left, right)
    conv_hw: tuple[int, int] | None
    conv_formula: tuple[str, str]  # ("H: ...", "W: ...")
    pool_pads: tuple[int, int, int, int] | None = None
    pooled_hw: tuple[int, int] | None = None
    pool_formula: tuple[str, str] | None = None
    error: str | None = None

    def output_hw(self, stage: str) -> tuple[int, int] | None:
        """``(H, W)`` of one stage's maps (``conv``, ``activation`` or ``pooled``)."""
        return self.pooled_hw if stage == "pooled" else self.conv_hw


@dataclass(frozen=True)
class FilterShape:
    """The map sizes of one filter (``None``: no such map)."""

    conv: tuple[int, int] | None
    pooled: tuple[int, int] | None

    def stage(self, name: str) -> tuple[int, int] | None:
        return self.pooled if name == "pooled" else self.conv


@dataclass(frozen=True, eq=False)
class Plan:
    """Settings and an image shape, resolved once. Build it with :func:`plan`.

    ``groups`` holds one :class:`GroupPlan` per kernel shape, in the order the shapes
    first appear in the bank; ``filter_shapes[i]`` is filter ``i``'s map sizes;
    ``problems`` lists ``(control_name, message)`` and is empty when the settings can
    be computed.
    """

    settings: Settings
    image_shape: tuple[int, int, int]  # (C, H, W)
    groups: tuple[GroupPlan, ...]
    filter_groups: tuple[int, ...]  # filter i belongs to groups[filter_groups[i]]
    problems: tuple[tuple[str, str], ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def filter_shapes(self) -> tuple[FilterShape, ...]:
        return tuple(
            FilterShape(self.groups[g].conv_hw, self.groups[g].pooled_hw)
            for g in self.filter_groups
        )

    def group_of(self, filter_index: int) -> GroupPlan:
        """The group that computes filter ``filter_index``."""
        return self.groups[self.filter_groups[filter_index]]

    def stage_sizes(self, stage: str) -> tuple[tuple[int, int], ...]:
        """The distinct ``(H, W)`` of one stage's maps, in bank order (one entry when
        every kernel has the same output size)."""
        sizes: list[tuple[int, int]] = []
        for g in self.filter_groups:
            hw = self.groups[g].output_hw(stage)
            if hw is not None and hw not in sizes:
                sizes.append(hw)
        return tuple(sizes)

    def group_for_kernel(self, kernel_hw: tuple[int, int]) -> GroupPlan:
        """The group of ``kernel_hw``, or the plan a filter of that shape would get."""
        kh, kw = kernel_hw
        for group in self.groups:
            if group.kernel_hw == (kh, kw):
                return group
        _, h, w = self.image_shape
        return _plan_group(self.settings, (h, w), (kh, kw), ())


def _chw(image_shape: Sequence[int]) -> tuple[int, int, int]:
    if len(image_shape) not in (2, 3):
        raise ValueError(
            "`image_shape` must be (C, H, W) or (H, W). "
            f"Received: image_shape={tuple(image_shape)}"
        )
    c = int(image_shape[0]) if len(image_shape) == 3 else 1
    return c, int(image_shape[-2]), int(image_shape[-1])


def _plan_group(
    s: Settings,
    hw: tuple[int, int],
    kernel_hw: tuple[int, int],
    members: tuple[int, ...],
) -> GroupPlan:
    """Resolve one kernel shape's geometry (settings already checked for types)."""
    (h, w), (kh, kw) = hw, kernel_hw
    (sh, sw), (dh, dw) = s.stride, s.dilation
    pads = _shapes.resolve_padding(
        s.conv_padding(), hw, kernel_hw, s.stride, s.dilation
    )
    formula = (
        "H: " + _shapes.size_formula(h, kh, sh, pads[:2], dh),
        "W: " + _shapes.size_formula(w, kw, sw, pads[2:], dw),
    )
    try:
        conv_hw = _shapes.conv2d_output_shape(hw, kernel_hw, s.stride, pads, s.dilation)
    except ValueError as exc:
        return GroupPlan(kernel_hw, members, pads, None, formula, error=str(exc))
    if s.pool == "none":
        return GroupPlan(kernel_hw, members, pads, conv_hw, formula)
    (oh, ow), (ph, pw), (psh, psw) = conv_hw, s.pool_size, s.pool_stride
    try:
        pool_pads = _shapes.resolve_padding(
            s.pool_padding_arg(), conv_hw, s.pool_size, s.pool_stride
        )
        pool_formula = (
            "H: " + _shapes.size_formula(oh, ph, psh, pool_pads[:2], 1, s.ceil_mode),
            "W: " + _shapes.size_formula(ow, pw, psw, pool_pads[2:], 1, s.ceil_mode),
        )
        pooled_hw = _shapes.pool2d_output_shape(
            conv_hw, s.pool_size, s.pool_stride, pool_pads, s.ceil_mode
        )
    except ValueError as exc:
        return GroupPlan(
            kernel_hw,
            members,
            pads,
            conv_hw,
            formula,
            error=f"Pooling the {oh}x{ow} map: {exc}",
        )
    return GroupPlan(
        kernel_hw, members, pads, conv_hw, formula, pool_pads, pooled_hw, pool_formula
    )


def _vocabulary_problems(s: Settings) -> list[tuple[str, str]]:
    """Problems that leave nothing to resolve (unknown names, non-positive ints)."""
    problems = []
    if s.activation not in ACTIVATIONS:
        problems.append(("activation", f"Unknown activation {s.activation!r}."))
    if s.pool not in POOLS:
        problems.append(("pool", f"Unknown pooling {s.pool!r}."))
    if s.padding_mode not in PADDING_MODES:
        problems.append(("padding_mode", f"Unknown padding mode {s.padding_mode!r}."))
    if s.padding not in PADDINGS:
        problems.append(
            (
                "padding",
                f"`padding` must be one of {', '.join(map(repr, PADDINGS))}. "
                f"Received: padding={s.padding!r}",
            )
        )
    if s.pool_padding not in PADDINGS:
        problems.append(
            (
                "pool_padding",
                f"`pool_padding` must be one of {', '.join(map(repr, PADDINGS))}. "
                f"Received: pool_padding={s.pool_padding!r}",
            )
        )
    if s.channels not in CHANNELS:
        problems.append(
            (
                "channels",
                f"`channels` must be 'mean' or 'sum'. Received: {s.channels!r}",
            )
        )
    for name, value in (("stride", s.stride), ("dilation", s.dilation)):
        if len(value) != 2 or min(value) < 1:
            problems.append(
                (
                    name,
                    f"`{name}` must be a pair of positive ints. "
                    f"Received: {name}={value}",
                )
            )
    if s.padding == "explicit" and min(s.explicit_padding) < 0:
        problems.append(("padding", "Padding cannot be negative."))
    if s.pool != "none" and s.pool in POOLS:
        ph, pw = s.pool_size
        if min(ph, pw) < 1 or min(s.pool_stride) < 1:
            problems.append(
                (
                    "pool_size" if min(ph, pw) < 1 else "pool_stride",
                    "Pool size and stride must be >= 1.",
                )
            )
        elif s.pool_padding == "explicit":
            pad_h, pad_w = s.pool_explicit_padding
            if min(pad_h, pad_w) < 0 or pad_h > ph // 2 or pad_w > pw // 2:
                problems.append(
                    (
                        "pool_padding",
                        "Pool padding must be at most half the window (PyTorch's "
                        f"rule): window {ph}x{pw} allows at most ({ph // 2}, "
                        f"{pw // 2}). Received: ({pad_h}, {pad_w}).",
                    )
                )
    return problems


def _empty_output_control(
    s: Settings, group: GroupPlan, hw: tuple[int, int], blame: str | None
) -> str:
    """Where to report an empty convolution output: the control changed last when it
    is a geometry control, else the one most likely to fix it."""
    if blame in _GEOMETRY:
        return blame  # type: ignore[return-value]
    pads = group.conv_pads
    undilated_fits = all(
        _shapes.conv_output_size(n, k, st, (pads[2 * i], pads[2 * i + 1])) > 0
        for i, (n, k, st) in enumerate(zip(hw, group.kernel_hw, s.stride, strict=True))
    )
    return "dilation" if max(s.dilation) > 1 and undilated_fits else "padding"


def plan(
    settings: Settings, image_shape: Sequence[int], *, blame: str | None = None
) -> Plan:
    """Resolve ``settings`` on an image of ``image_shape`` once, without computing.

    Parameters
    ----------
    settings : Settings
    image_shape : (C, H, W) or (H, W)
    blame : str, optional
        The control the user changed last; an empty output is reported next to it when
        it is a geometry control, otherwise next to the control most likely to fix it.

    Returns
    -------
    Plan
        ``problems`` names the controls: ``filters``, ``stride``, ``padding``,
        ``padding_mode``, ``dilation``, ``activation``, ``pool``, ``pool_size``,
        ``pool_stride``, ``pool_padding``, ``channels``.
    """
    s = settings
    chw = _chw(image_shape)
    hw = chw[1:]
    if not s.filters:
        message = "The filter bank is empty: add a filter to see a feature map."
        return Plan(s, chw, (), (), (("filters", message),))
    problems = _vocabulary_problems(s)
    if problems:
        return Plan(s, chw, (), (), tuple(problems))

    members: dict[tuple[int, int], list[int]] = {}
    for i, flt in enumerate(s.filters):
        members.setdefault(flt.kernel.shape, []).append(i)
    groups = tuple(
        _plan_group(s, hw, kernel_hw, tuple(idx)) for kernel_hw, idx in members.items()
    )
    filter_groups = [0] * len(s.filters)
    for g, group in enumerate(groups):
        for i in group.members:
            filter_groups[i] = g

    def add(control: str, message: str) -> None:
        if (control, message) not in problems:
            problems.append((control, message))

    for group in groups:
        try:
            check_padding_geometry(*hw, group.conv_pads, s.padding_mode, "padding")
        except ValueError as exc:
            add("padding" if blame == "padding" else "padding_mode", str(exc))
        if group.conv_hw is None:
            kh, kw = group.kernel_hw
            first = s.filters[group.members[0]].name
            more = len(group.members) - 1
            who = f"'{first}'" + (f" and {more} more" if more else "")
            hint = " Try padding 'same', a smaller kernel or less dilation."
            control = _empty_output_control(s, group, hw, blame)
            add(control, f"Filter {who} ({kh}x{kw}): {group.error}{hint}")
    if not problems:
        for group in sorted(groups, key=lambda g: g.conv_hw or (0, 0)):
            if group.error is not None:
                add(blame if blame in _POOL_GEOMETRY else "pool_size", group.error)
    return Plan(s, chw, groups, tuple(filter_groups), tuple(problems))


def validate(
    settings: Settings, image_shape: Sequence[int], *, blame: str | None = None
) -> list[tuple[str, str]]:
    """The problems of :func:`plan` as a list (empty when the settings are valid)."""
    return list(plan(settings, image_shape, blame=blame).problems)
