"""The scene record: :class:`Scene`, its limits and its checks.

A :class:`Scene` checks every field when it is made (and again on
:meth:`Scene.replace`), so a scene in memory is always one that can be saved and
replayed. The file format is in :mod:`convlab.lecture.scene_json`, the files in
:mod:`convlab.lecture.scene`; everything public here is re-exported from there.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convlab import explore

__all__ = [
    "SCENE_FORMAT",
    "SCENE_VERSION",
    "SCENE_SUFFIX",
    "MAX_IMAGE_PIXELS",
    "MAX_FILTERS",
    "COLOR_SCALES",
    "STAGES",
    "Scene",
    "SceneError",
]

SCENE_FORMAT = "convlab-scene"
SCENE_VERSION = 1
SCENE_SUFFIX = ".convlab"
#: Largest image, ``H * W`` per channel plane.
MAX_IMAGE_PIXELS = 1024 * 1024
MAX_CHANNELS = 4
MAX_FILTERS = 256
#: Limits of the trainer's free-form dict.
MAX_TRAINER_DEPTH = 32
MAX_TRAINER_NODES = 100_000
#: "symmetric": (-m, m) around 0; "auto": the map's own range; "fixed": ``limits``.
COLOR_SCALES = ("symmetric", "auto", "fixed")
STAGES = ("conv", "activation", "pooled")
_GRANULARITIES = ("position", "tap")
_ENCODINGS = ("unorm8", "uint8", "float32")


class SceneError(ValueError):
    """A scene file that cannot be read: broken, too large, a newer version, or a field
    of the wrong type (the message names the file and the field)."""


# ------------------------------------------------------------------------ the record


def _check_json_safe(value: Any, where: str, depth: int, budget: list[int]) -> Any:
    """A detached copy of ``value`` if it is JSON-safe, else a TypeError naming it."""
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError(
            f"`trainer` may hold at most {MAX_TRAINER_NODES:,} values. "
            f"Received more at {where}"
        )
    if depth > MAX_TRAINER_DEPTH:
        raise ValueError(
            f"`trainer` may nest at most {MAX_TRAINER_DEPTH} levels. "
            f"Received deeper at {where}"
        )
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(
                f"`{where}` must be a finite number. Received: {where}={value!r}"
            )
        return float(value)
    if isinstance(value, (list, tuple)):
        return [
            _check_json_safe(v, f"{where}[{i}]", depth + 1, budget)
            for i, v in enumerate(value)
        ]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(
                    f"`{where}` keys must be str. Received: key {k!r} "
                    f"(type {type(k).__name__})"
                )
            out[k] = _check_json_safe(v, f"{where}[{k!r}]", depth + 1, budget)
        return out
    raise TypeError(
        f"`{where}` must hold only None, bool, int, float, str, list and dict. "
        f"Received: type {type(value).__name__}"
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return _is_int(value) or isinstance(value, (float, np.floating))


@dataclass(frozen=True, eq=False)
class Scene:
    """One lecture set-up.

    Attributes
    ----------
    image : ndarray, shape (C, H, W), float32
        Read-only; ``(H, W)`` is accepted and becomes ``(1, H, W)``.
    settings : convlab.explore.Settings
        The filter bank (with biases) and the whole geometry.
    title, notes : str
        For the slide and the teacher.
    filter_index : int
        The selected filter.
    pixel : (stage, row, col) or None
        The selected output pixel (``stage`` in :data:`STAGES`).
    zoom : float
        View zoom (> 0); ``center`` the view's centre ``(x, y)`` in image pixels.
    step : int
        Animation position (a :class:`~convlab.lecture.SlidingWindow` index with
        ``granularity``).
    colormap : str
        A name of ``convlab.colormaps.NAMES``.
    color_scale : str
        One of :data:`COLOR_SCALES`; ``color_limits`` is ``(lo, hi)`` for ``"fixed"``;
        ``clip_percentile`` as ``convlab.colormaps.limits`` takes it.
    trainer : dict
        The trainer's model and settings: any JSON-safe dict (str keys; None, bool,
        int, finite float, str, list, dict values). Stored as a detached copy.

    Raises
    ------
    TypeError, ValueError
        Naming the attribute and the value received.
    """

    image: np.ndarray
    settings: explore.Settings
    title: str = ""
    notes: str = ""
    filter_index: int = 0
    pixel: tuple[str, int, int] | None = None
    zoom: float = 1.0
    center: tuple[float, float] | None = None
    step: int = 0
    granularity: str = "position"
    colormap: str = "diverging"
    color_scale: str = "symmetric"
    color_limits: tuple[float, float] | None = None
    clip_percentile: float | None = None
    trainer: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        x = np.array(self.image, dtype=np.float32, copy=True)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or not 1 <= x.shape[0] <= MAX_CHANNELS or 0 in x.shape:
            raise ValueError(
                f"`image` must have shape (C, H, W) with 1 to {MAX_CHANNELS} channels, "
                f"or (H, W). Received: image.shape={np.shape(self.image)}"
            )
        if x.shape[1] * x.shape[2] > MAX_IMAGE_PIXELS:
            raise ValueError(
                f"`image` may have at most {MAX_IMAGE_PIXELS:,} pixels per channel. "
                f"Received: {x.shape[1]}x{x.shape[2]}"
            )
        x.setflags(write=False)
        object.__setattr__(self, "image", x)
        if not isinstance(self.settings, explore.Settings):
            raise TypeError(
                "`settings` must be a convlab.explore.Settings. "
                f"Received: type {type(self.settings).__name__}"
            )
        n = len(self.settings.filters)
        if n > MAX_FILTERS:
            raise ValueError(
                f"`settings.filters` may hold at most {MAX_FILTERS} filters. "
                f"Received: {n}"
            )
        for name in ("title", "notes", "colormap"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(
                    f"`{name}` must be a str. Received: {name}={getattr(self, name)!r}"
                )
        if not _is_int(self.filter_index) or not 0 <= self.filter_index < max(n, 1):
            raise ValueError(
                f"`filter_index` must be an int from 0 to {max(n - 1, 0)}. "
                f"Received: filter_index={self.filter_index!r}"
            )
        object.__setattr__(self, "filter_index", int(self.filter_index))
        if self.pixel is not None:
            p = self.pixel
            if not (
                isinstance(p, (tuple, list))
                and len(p) == 3
                and p[0] in STAGES
                and _is_int(p[1])
                and _is_int(p[2])
                and p[1] >= 0
                and p[2] >= 0
            ):
                raise ValueError(
                    "`pixel` must be None or (stage, row, col) with stage in "
                    f"{STAGES} and row, col >= 0. Received: pixel={p!r}"
                )
            object.__setattr__(self, "pixel", (p[0], int(p[1]), int(p[2])))
        if not _is_number(self.zoom) or not 0 < float(self.zoom) < 1e4:
            raise ValueError(
                f"`zoom` must be a number in (0, 10000). Received: zoom={self.zoom!r}"
            )
        object.__setattr__(self, "zoom", float(self.zoom))
        for name in ("center", "color_limits"):
            value = getattr(self, name)
            if value is None:
                continue
            if not (
                isinstance(value, (tuple, list))
                and len(value) == 2
                and all(_is_number(v) and math.isfinite(v) for v in value)
            ):
                raise ValueError(
                    f"`{name}` must be None or a pair of finite numbers. "
                    f"Received: {name}={value!r}"
                )
            object.__setattr__(self, name, (float(value[0]), float(value[1])))
        if self.color_limits is not None and not (
            self.color_limits[0] < self.color_limits[1]
        ):
            raise ValueError(
                "`color_limits` must be (lo, hi) with lo < hi. "
                f"Received: color_limits={self.color_limits!r}"
            )
        if not _is_int(self.step) or self.step < 0:
            raise ValueError(
                f"`step` must be an int >= 0. Received: step={self.step!r}"
            )
        object.__setattr__(self, "step", int(self.step))
        if self.granularity not in _GRANULARITIES:
            raise ValueError(
                f"`granularity` must be one of {_GRANULARITIES}. "
                f"Received: granularity={self.granularity!r}"
            )
        if self.color_scale not in COLOR_SCALES:
            raise ValueError(
                f"`color_scale` must be one of {COLOR_SCALES}. "
                f"Received: color_scale={self.color_scale!r}"
            )
        if self.color_scale == "fixed" and self.color_limits is None:
            raise ValueError(
                "`color_limits` must be given when color_scale='fixed'. "
                "Received: color_limits=None"
            )
        cp = self.clip_percentile
        if cp is not None:
            if not _is_number(cp) or not 50.0 <= float(cp) <= 100.0:
                raise ValueError(
                    "`clip_percentile` must be None or a number in [50, 100]. "
                    f"Received: clip_percentile={cp!r}"
                )
            object.__setattr__(self, "clip_percentile", float(cp))
        if not isinstance(self.trainer, dict):
            raise TypeError(
                "`trainer` must be a dict. "
                f"Received: type {type(self.trainer).__name__}"
            )
        trainer = _check_json_safe(self.trainer, "trainer", 0, [MAX_TRAINER_NODES])
        object.__setattr__(self, "trainer", trainer)

    def compute(self) -> explore.Result:
        """``explore.compute(self.image, self.settings)``."""
        return explore.compute(self.image, self.settings)

    def replace(self, **changes: Any) -> Scene:
        """A copy with some attributes changed (checked again)."""
        return dataclasses.replace(self, **changes)
