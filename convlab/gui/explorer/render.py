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

from convlab import explore
from convlab.explore import Result, Settings

from .colormaps import colorize_planes, symmetric_levels

__all__ = ["Rendered", "Renderer", "compute_and_render", "warmup"]


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


@dataclass(frozen=True, eq=False)
class Rendered:
    """A :class:`~convlab.explore.Result` and its pixels.

    ``pixels[i][stage]`` is filter ``i``'s map as ``(H, W)`` uint32 ``0xFFRRGGBB``,
    ``scales[i][stage]`` the ``abs_max`` it was coloured with; ``shared`` says whether
    one scale (``shared_max``) was used for every map.
    """

    result: Result
    pixels: tuple[dict[str, np.ndarray], ...]
    scales: tuple[dict[str, float], ...]
    shared: bool
    shared_max: float
    seconds: float


class Renderer:
    """Compute (with a :class:`~convlab.explore.ComputeCache`) and colour on one thread.

    A map whose float array and scale are the ones coloured last time keeps its pixels
    (a pooling change recolours only the pooled maps). One call at a time.
    """

    def __init__(self) -> None:
        self.cache = explore.ComputeCache()
        self._coloured: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def __call__(
        self, image: np.ndarray, settings: Settings, shared: bool = False
    ) -> Rendered:
        start = time.perf_counter()
        result = explore.compute(image, settings, cache=self.cache)
        return self.render(result, shared, start)

    def render(
        self, result: Result, shared: bool, start: float | None = None
    ) -> Rendered:
        """Colour every map of ``result`` (per-map or shared scale)."""
        if start is None:
            start = time.perf_counter()
        shared_max = max(
            (m for g in result.groups for ms in g.abs_max.values() for m in ms),
            default=0.0,
        )
        coloured: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        pixels: list[dict[str, np.ndarray]] = [{} for _ in result.maps]
        scales: list[dict[str, float]] = [{} for _ in result.maps]
        for group in result.groups:
            for stage, stack in group.stacks.items():
                maxima = (
                    [shared_max] * len(group.members)
                    if shared
                    else group.abs_max[stage]
                )
                levels = np.array([symmetric_levels(m) for m in maxima])
                # the same memory (kept alive by the entry, so not reused meanwhile),
                # layout and levels: the same pixels ("none" activation, pool changes)
                key = (_address(stack), stack.shape, stack.strides, levels.tobytes())
                hit = coloured.get(key) or self._coloured.get(key)
                if hit is None:
                    hit = (stack, colorize_planes(stack, levels))
                coloured[key] = hit
                for j, i in enumerate(group.members):
                    pixels[i][stage] = hit[1][j]
                    scales[i][stage] = maxima[j]
        self._coloured = coloured
        return Rendered(
            result,
            tuple(pixels),
            tuple(scales),
            bool(shared),
            shared_max,
            time.perf_counter() - start,
        )


def compute_and_render(
    image: np.ndarray, settings: Settings, shared: bool = False
) -> Rendered:
    """One-off :class:`Renderer` call (no caching between calls)."""
    return Renderer()(image, settings, shared)


def warmup() -> None:
    """Compile every kernel (the trainer's backward passes too) and the colouring.

    Safe on a worker thread. Loading compiled code holds the GIL, so doing it all at
    start-up keeps the first training steps from stalling the GUI (the latency bench
    saw 55 ms event-loop stalls without it, 40 ms with it).
    """
    explore.warmup()  # runs kernels.warmup() too; do not call it again here
    planes = np.zeros((2, 3, 3), np.float32)
    colorize_planes(planes, [(-1.0, 1.0), (-2.0, 2.0)])
