"""The sliding window as animation frames (Pillow images), for GIF and APNG.

:func:`animation_frames` and :func:`default_every` are re-exported from
:mod:`convlab.lecture.figures`.
"""

from __future__ import annotations

import math
from typing import Any

from .figure_layout import _check_filter, build_figure
from .figure_model import (
    _check_scale,
)
from .figure_png import figure_to_image
from .scene import Scene
from .steps import SlidingWindow

__all__ = ["animation_frames", "default_every"]

#: Target number of animation frames when ``every`` is not given.
TARGET_FRAMES = 60
#: Most frames an animation may have (a 96x96 photo at every=1 would be 9,216).
MAX_FRAMES = 400


def default_every(positions: int) -> int:
    """Every how many output positions a frame is drawn: about
    :data:`TARGET_FRAMES` frames."""
    return max(1, math.ceil(positions / TARGET_FRAMES))


def animation_frames(
    scene: Scene,
    *,
    scale: int = 1,
    filter_index: int | None = None,
    every: int | None = None,
) -> list[Any]:
    """The sliding window as frames: an empty output first, then one frame every
    ``every`` output positions (with the scene's ``granularity="tap"``, every tap of
    those positions), ending on the complete output. At least 4 frames whenever the
    output has 2 positions or more (tiny outputs are shown tap by tap)."""
    _check_scale(scale)
    if every is not None and (
        isinstance(every, bool) or not isinstance(every, int) or every < 1
    ):
        raise ValueError(f"`every` must be a positive int. Received: every={every!r}")
    result = scene.compute()
    index = _check_filter(scene, filter_index)
    granularity = scene.granularity
    probe = SlidingWindow(result, index)
    positions = len(probe)
    if positions * 1 < 4:
        granularity = "tap"
    window = SlidingWindow(result, index, granularity=granularity)
    per = len(window) // positions
    step_every = every or default_every(positions)
    count = (math.ceil(positions / step_every) + 1) * per + 2
    if count > MAX_FRAMES:
        least = math.ceil(positions / max(1, MAX_FRAMES // per - 3))
        raise ValueError(
            f"`every` must give at most {MAX_FRAMES} frames: {positions:,} output "
            f"positions{' x ' + str(per) + ' taps' if per > 1 else ''} need "
            f"every >= {least}. Received: every={every}"
        )
    picks: list[int] = []
    for first in probe.position_steps(step_every):
        picks.extend(first * per + t for t in range(per))
    scene_for = scene.replace(granularity=granularity)
    plan: list[tuple[int, int | None]] = [(0, 0)]
    for i in picks:
        position = i // per
        plan.append((i, position + (1 if (i % per) == per - 1 else 0)))
    plan.append((-1, None))
    figures = [
        build_figure(scene_for, filter_index=index, step=i, written=done, result=result)
        for i, done in plan
    ]
    # one size for every frame (the equation lines differ in length)
    width = max(f.width for f in figures)
    height = max(f.height for f in figures)
    for f in figures:
        f.width, f.height = width, height
    return [figure_to_image(f, scale) for f in figures]
