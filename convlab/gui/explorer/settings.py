"""Widgets -> one frozen :class:`convlab.explore.Settings` (the explorer's only input).

The dataclass itself lives in the headless :mod:`convlab.explore` so that tests and
scripts can build it without Qt; this module converts between it and the GUI's pieces.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from convlab.explore import Filter, Settings

__all__ = ["Settings", "Filter", "build_settings", "filters_from_presets"]


def filters_from_presets(presets: Iterable[Any]) -> tuple[Filter, ...]:
    """``FilterPreset``s (or ``(name, kernel)`` pairs) -> explorer filters."""
    out = []
    for item in presets:
        if isinstance(item, tuple):
            name, kernel = item[0], item[1]
            out.append(Filter(str(name), np.asarray(kernel, np.float32)))
        else:
            out.append(
                Filter(item.name, item.kernel, float(getattr(item, "bias", 0.0)))
            )
    return tuple(out)


def build_settings(
    filters: tuple[Filter, ...], geometry: Mapping[str, Any]
) -> Settings:
    """The frozen settings for a filter bank and the geometry controls' values."""
    return replace(Settings(), filters=tuple(filters), **dict(geometry))
