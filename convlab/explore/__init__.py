"""The explorer's computation, headless: one image, a filter bank, a geometry -> feature
maps.

Data flows one way: the GUI turns its widgets into a frozen :class:`Settings`, resolves
them once with :func:`plan` (pads, output sizes and formulas per kernel shape, and the
problems :func:`validate` returns, shown inline with no compute), calls :func:`compute`
(on a worker thread) and shows the :class:`Result`, which carries its plan. The shapes
panel (:func:`stage_shapes`, :func:`conventions`) and the microscope
(:func:`inspect_pixel`) read the same plan, so no part re-derives "same".

Modules: :mod:`.settings` (vocabularies, :class:`Filter`, :class:`Settings`),
:mod:`.planning` (:func:`plan`), :mod:`.compute`, :mod:`.shapes` (the shapes panel's
text), :mod:`.microscope`. This package never imports Qt.
"""

from __future__ import annotations

from convlab._memory import reuse_freed_memory

from .compute import ComputeCache, FilterMaps, Group, Result, activate, compute, warmup
from .microscope import ConvInspection, PoolInspection, inspect_pixel
from .planning import FilterShape, GroupPlan, Plan, plan, validate
from .settings import (
    ACTIVATIONS,
    CHANNELS,
    MAX_KERNEL_SIDE,
    PADDING_MODES,
    PADDINGS,
    POOLS,
    STAGES,
    Filter,
    InvalidSettings,
    Settings,
)
from .shapes import Stage, conventions, stage_shapes

__all__ = [
    "ACTIVATIONS",
    "POOLS",
    "PADDINGS",
    "PADDING_MODES",
    "CHANNELS",
    "STAGES",
    "MAX_KERNEL_SIDE",
    "Filter",
    "Settings",
    "FilterMaps",
    "Result",
    "Stage",
    "Group",
    "GroupPlan",
    "FilterShape",
    "Plan",
    "ConvInspection",
    "PoolInspection",
    "InvalidSettings",
    "plan",
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
