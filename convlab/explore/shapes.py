"""What the shapes panel shows, read off a :class:`~convlab.explore.Plan`: every
stage's output shape with its formula, and where the frameworks' conventions disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kernels import shapes as _shapes

from .planning import GroupPlan, Plan, plan
from .settings import Settings

__all__ = ["Stage", "stage_shapes", "conventions"]

_DEFAULT_KERNEL = (3, 3)  # what an empty bank's panel previews


@dataclass(frozen=True)
class Stage:
    """One stage's output shape and the formula per axis that gives it.

    ``kernel_hw`` is the kernel shape of the filters the stage belongs to (``None`` for
    the input).
    """

    name: str
    shape: tuple[int, int, int]  # (C, H, W)
    formula_h: str
    formula_w: str
    kernel_hw: tuple[int, int] | None = None


def _as_plan(settings: Settings | Plan, image_shape: Sequence[int] | None) -> Plan:
    if isinstance(settings, Plan):
        return settings
    if image_shape is None:
        raise ValueError("`image_shape` is needed with settings (not with a plan).")
    return plan(settings, image_shape)


def _groups(p: Plan, kernel_hw: tuple[int, int] | None) -> list[GroupPlan]:
    if kernel_hw is not None:
        return [p.group_for_kernel(kernel_hw)]
    if p.groups:
        return list(p.groups)
    if p.problems and p.settings.filters:
        raise ValueError(" ".join(message for _, message in p.problems))
    return [p.group_for_kernel(_DEFAULT_KERNEL)]


def stage_shapes(
    settings: Settings | Plan,
    image_shape: Sequence[int] | None = None,
    kernel_hw: tuple[int, int] | None = None,
) -> list[Stage]:
    """Input, conv, activation and pooling shapes with the PyTorch formula filled in.

    One conv/activation/pooling triple per kernel shape of the bank (``F`` counts the
    filters of that shape), or only ``kernel_hw``'s. Takes a plan, or settings and an
    image shape. Raises ``ValueError`` on empty output.
    """
    p = _as_plan(settings, image_shape)
    s = p.settings
    c, h, w = p.image_shape
    stages = [Stage("input", (c, h, w), f"H = {h}", f"W = {w}")]
    groups = _groups(p, kernel_hw)
    for group in groups:
        if group.conv_hw is None or (s.pool != "none" and group.pooled_hw is None):
            raise ValueError(group.error)
        kh, kw = group.kernel_hw
        f = len(group.members)
        oh, ow = group.conv_hw
        tag = "" if len(groups) == 1 else f", {kh}x{kw}"
        stages.append(
            Stage(f"conv {kh}x{kw}", (f, oh, ow), *group.conv_formula, (kh, kw))
        )
        stages.append(
            Stage(
                f"activation ({s.activation}){tag}",
                (f, oh, ow),
                "unchanged",
                "unchanged",
                (kh, kw),
            )
        )
        if s.pool != "none":
            ph, pw = s.pool_size
            qh, qw = group.pooled_hw  # type: ignore[misc]
            pool_h, pool_w = group.pool_formula  # type: ignore[misc]
            stages.append(
                Stage(
                    f"{s.pool} pool {ph}x{pw}{tag}",
                    (f, qh, qw),
                    pool_h,
                    pool_w,
                    (kh, kw),
                )
            )
    return stages


def conventions(
    settings: Settings | Plan,
    image_shape: Sequence[int] | None = None,
    kernel_hw: tuple[int, int] | None = None,
) -> list[tuple[str, str, list[tuple[str, int]]]]:
    """Where the frameworks' output-size conventions disagree for this geometry.

    Returns a list of ``(stage, axis, [(convention, size), ...])`` for the convolution
    and pooling axes whose conventions do not all agree, with the plan's pads
    (symmetric padding as PyTorch's ``padding=p``: the top/left amount). Stages are
    ``conv`` and ``pool``, or ``conv 5x5`` / ``pool (5x5)`` when the bank mixes kernel
    shapes (one set of rows per shape; ``kernel_hw`` picks one).
    """
    p = _as_plan(settings, image_shape)
    s = p.settings
    if kernel_hw is None and not p.groups and p.settings.filters:
        return []
    groups = _groups(p, kernel_hw)
    rows = []
    for group in groups:
        kh, kw = group.kernel_hw
        mixed = len(groups) > 1
        conv_name = f"conv {kh}x{kw}" if mixed else "conv"
        pool_name = f"pool ({kh}x{kw})" if mixed else "pool"
        _, h, w = p.image_shape
        pads = group.conv_pads
        for axis, n, k, st, d, pad in (
            ("H", h, kh, s.stride[0], s.dilation[0], pads[0]),
            ("W", w, kw, s.stride[1], s.dilation[1], pads[2]),
        ):
            items = [
                (c.name, c.size)
                for c in _shapes.output_size_conventions(n, k, st, pad, d)
            ]
            if len({size for _, size in items}) > 1:
                rows.append((conv_name, axis, items))
        if s.pool == "none" or group.conv_hw is None or group.pool_pads is None:
            continue
        ppads = group.pool_pads
        for i, axis in enumerate("HW"):
            items = [
                (c.name, c.size)
                for c in _shapes.output_size_conventions(
                    group.conv_hw[i], s.pool_size[i], s.pool_stride[i], ppads[2 * i]
                )
            ]
            if len({size for _, size in items}) > 1:
                rows.append((pool_name, axis, items))
    return rows
