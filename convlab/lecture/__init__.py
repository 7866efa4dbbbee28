"""The lecture path, headless: sliding-window steps, ``.convlab`` scenes and
slide-quality figures (PNG, SVG, GIF/APNG) drawn from the same kernels as the explorer.

* :mod:`convlab.lecture.steps` -- :class:`SlidingWindow`: the ordered, randomly
  accessible steps of one filter's window (per output pixel or per kernel tap).
* :mod:`convlab.lecture.scene` -- :class:`Scene`, :func:`save_scene`,
  :func:`load_scene`, :func:`scene_folder`: a set-up replayed exactly.
* :mod:`convlab.lecture.figures` -- :func:`render` and friends (Pillow and hand-written
  SVG; no Qt), behind ``convlab render SCENE --out FILE``.

Nothing here imports Qt; the GUI calls these functions.
"""

from __future__ import annotations

from .scene import (
    SCENE_FORMAT,
    SCENE_SUFFIX,
    SCENE_VERSION,
    Scene,
    SceneError,
    adjacent_scene,
    load_scene,
    save_scene,
    scene_folder,
)
from .steps import GRANULARITIES, PoolWindow, SlidingWindow, Step

__all__ = [
    "GRANULARITIES",
    "PoolWindow",
    "SlidingWindow",
    "Step",
    "SCENE_FORMAT",
    "SCENE_SUFFIX",
    "SCENE_VERSION",
    "Scene",
    "SceneError",
    "adjacent_scene",
    "load_scene",
    "save_scene",
    "scene_folder",
]
