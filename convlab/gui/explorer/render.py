"""Feature maps -> ready-to-draw pixels, on the worker thread (no Qt calls here).

Colouring 24 maps of 512x512 on the GUI thread (pyqtgraph's levels + lookup table at
paint time) cost about 12 ms a redraw. Here each float map becomes one ``uint32`` per
pixel, ``0xFFRRGGBB``, which is exactly a ``QImage.Format_RGB32`` row: the GUI thread
wraps it without a copy and paints it. The float arrays stay the source of truth (hover,
microscope, export, tests); these pixels are only their picture.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from convlab import colormaps as cm
from convlab import explore
from convlab.explore import Result, Settings

from .colormaps import (
    AUTO,
    colorize_planes,
    levels_for,
    plane_range,
    resolve,
    symmetric_levels,
)

__all__ = ["Rendered", "Renderer", "compute_and_render", "warmup"]


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


@dataclass(frozen=True, eq=False)
class Rendered:
    """A :class:`~convlab.explore.Result` and its pixels.

    ``pixels[i][stage]`` is filter ``i``'s map as ``(H, W)`` uint32 ``0xFFRRGGBB``,
    coloured with the map ``names[i][stage]`` on the display range
    ``levels[i][stage]``; ``shared`` says whether one range was used for every map.
    ``colormap`` is the choice (``"auto"`` or a map name) and ``clip_percentile`` the
    robust-contrast clip (None: off) they were made with.
    """

    result: Result
    pixels: tuple[dict[str, np.ndarray], ...]
    levels: tuple[dict[str, tuple[float, float]], ...]
    names: tuple[dict[str, str], ...]
    shared: bool
    seconds: float
    colormap: str = AUTO
    clip_percentile: float | None = None

    @property
    def scales(self) -> tuple[dict[str, float], ...]:
        """max(|lo|, |hi|) of every map's range."""
        return tuple(
            {s: max(abs(lo), abs(hi)) for s, (lo, hi) in lv.items()}
            for lv in self.levels
        )


class Renderer:
    """Compute (with a :class:`~convlab.explore.ComputeCache`) and colour on one thread.

    A map whose float array, colour map and range are the ones coloured last time
    keeps its pixels (a pooling change recolours only the pooled maps). One call at a
    time.
    """

    def __init__(self) -> None:
        self.cache = explore.ComputeCache()
        self._coloured: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def __call__(
        self,
        image: np.ndarray,
        settings: Settings,
        shared: bool = False,
        colormap: str = AUTO,
        clip_percentile: float | None = None,
    ) -> Rendered:
        start = time.perf_counter()
        # NumPy until the explorer's kernels are compiled: maps on a first launch
        # without waiting for numba (kernels._warmup)
        result = explore.compute(image, settings, cache=self.cache, backend="auto")
        return self.render(result, shared, start, colormap, clip_percentile)

    def render(
        self,
        result: Result,
        shared: bool,
        start: float | None = None,
        colormap: str = AUTO,
        clip_percentile: float | None = None,
    ) -> Rendered:
        """Colour every map of ``result`` (per-map or shared range).

        With ``colormap="auto"`` a map holding a negative value is drawn diverging
        (symmetric about 0) and a non-negative one greyscale; with a shared range
        the whole result is signed if any map is.
        """
        if start is None:
            start = time.perf_counter()
        resolve(colormap, True)  # check the choice before any work
        stacks = [
            (group, stage, stack)
            for group in result.groups
            for stage, stack in group.stacks.items()
        ]
        ranges = {
            (id(stack), j): plane_range(stack[j])
            for _, _, stack in stacks
            for j in range(len(stack))
        }
        # negatives beyond a few overshoots: the auto choice is diverging
        signed = {
            (id(stack), j): ranges[(id(stack), j)][0] < 0
            and cm.is_signed(stack[j], cm.SIGNED_FRACTION)
            for _, _, stack in stacks
            for j in range(len(stack))
        }
        shared_levels: tuple[float, float] | None = None
        shared_name = ""
        if shared:
            shared_name = resolve(colormap, any(signed.values()))
            if clip_percentile is None:
                lo = min((r[0] for r in ranges.values()), default=0.0)
                hi = max((r[1] for r in ranges.values()), default=0.0)
                values = np.array([lo, hi])
            else:
                values = np.concatenate([s.ravel() for _, _, s in stacks] or [[]])
            shared_levels = levels_for(values, shared_name, clip_percentile)
        coloured: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        pixels: list[dict[str, np.ndarray]] = [{} for _ in result.maps]
        levels: list[dict[str, tuple[float, float]]] = [{} for _ in result.maps]
        names: list[dict[str, str]] = [{} for _ in result.maps]
        for group, stage, stack in stacks:
            plane_names, plane_levels = [], []
            for j in range(len(group.members)):
                if shared_levels is not None:
                    plane_names.append(shared_name)
                    plane_levels.append(shared_levels)
                    continue
                lo, hi = ranges[(id(stack), j)]
                name = resolve(colormap, signed[(id(stack), j)])
                if clip_percentile is None:
                    if name == "diverging":
                        # explore's abs_max: the largest finite |value|
                        lv = symmetric_levels(group.abs_max[stage][j])
                    else:
                        lv = cm.limits(np.array([lo, hi]), signed=False)
                else:
                    lv = levels_for(stack[j], name, clip_percentile)
                plane_names.append(name)
                plane_levels.append(lv)
            lv_array = np.array(plane_levels, np.float64)
            # the same memory (kept alive by the entry, so not reused meanwhile),
            # layout, maps and levels: the same pixels ("none" activation, pool
            # changes)
            key = (
                _address(stack),
                stack.shape,
                stack.strides,
                lv_array.tobytes(),
                tuple(plane_names),
            )
            hit = coloured.get(key) or self._coloured.get(key)
            if hit is None:
                hit = (stack, colorize_planes(stack, lv_array, names=plane_names))
            coloured[key] = hit
            for j, i in enumerate(group.members):
                pixels[i][stage] = hit[1][j]
                levels[i][stage] = plane_levels[j]
                names[i][stage] = plane_names[j]
        self._coloured = coloured
        return Rendered(
            result,
            tuple(pixels),
            tuple(levels),
            tuple(names),
            bool(shared),
            time.perf_counter() - start,
            colormap,
            clip_percentile,
        )


def compute_and_render(
    image: np.ndarray,
    settings: Settings,
    shared: bool = False,
    colormap: str = AUTO,
    clip_percentile: float | None = None,
) -> Rendered:
    """One-off :class:`Renderer` call (no caching between calls)."""
    return Renderer()(image, settings, shared, colormap, clip_percentile)


def warmup(progress=None) -> None:
    """Compile every kernel, the explorer's first, then the trainer's backward passes.

    ``progress(done, total, name)`` is called before each step and at the end (see
    :func:`kernels.warmup`). Runs as a background warm-up: a trainer that needs its
    kernels now (``kernels._warmup.prioritize``) goes first between two steps. Safe on
    a worker thread. Loading compiled code holds the GIL, so doing it all at start-up
    keeps the first training steps from stalling the GUI (the latency bench saw 55 ms
    event-loop stalls without it, 40 ms with it).
    """
    from kernels import _warmup

    _warmup.warmup(progress, background=True)
