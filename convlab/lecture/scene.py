"""``.convlab`` scenes: everything needed to replay an explorer set-up exactly.

A scene file is readable, versioned JSON::

    {"format": "convlab-scene", "version": 1,
     "title": "...", "notes": "...",
     "image": {"shape": [C, H, W], "encoding": "unorm8", "png": "<base64>"},
     "filters": [{"name": "...", "kernel": [[...], ...], "bias": 0.0}, ...],
     "settings": {every field of convlab.explore.Settings but filters},
     "selection": {"filter": 0, "pixel": {"stage": "conv", "row": 0, "col": 0}},
     "view": {"zoom": 1.0, "center": [x, y] or null},
     "animation": {"step": 0, "granularity": "position"},
     "colors": {"map": "diverging", "scale": "symmetric", "limits": null,
                "clip_percentile": null},
     "trainer": {free-form JSON the trainer fills}}

The image is an embedded, lossless PNG, with one of three encodings chosen at save time
as the first that gives back the very same float32 bits:

* ``"unorm8"``: 8-bit PNG, value = byte / 255 in float32 (what loading an 8-bit
  image file gives: the PNG is the picture itself);
* ``"uint8"``: 8-bit PNG, value = byte (small integer grids such as the classic 7x7);
* ``"float32"``: any other image: each float32's four little-endian bytes as one RGBA
  pixel (not meant to be looked at, but exact: NaN, -0.0 and all).

Channels: one channel is an ``L`` PNG, three an ``RGB`` PNG; any other count (and every
``float32`` image) stacks the channel planes vertically, ``C * H`` rows. Kernels, biases
and float settings are JSON numbers: a float32 written by ``repr`` reads back to the
same float32. So ``compute(scene.image, scene.settings)`` after :func:`load_scene` gives
the same maps, bit for bit, as before :func:`save_scene`.

:func:`load_scene` is bounded (regular files only, :data:`MAX_SCENE_BYTES`,
:data:`MAX_IMAGE_PIXELS`, JSON shape and types checked) and raises :class:`SceneError`
naming the field; nothing is returned half-loaded. This module never imports Qt.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import io
import json
import math
import os
import re
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from convlab import explore
from convlab._files import atomic_write

__all__ = [
    "SCENE_FORMAT",
    "SCENE_VERSION",
    "SCENE_SUFFIX",
    "MAX_SCENE_BYTES",
    "MAX_IMAGE_PIXELS",
    "MAX_FILTERS",
    "COLOR_SCALES",
    "STAGES",
    "Scene",
    "SceneError",
    "save_scene",
    "load_scene",
    "scene_to_json",
    "scene_from_json",
    "scene_folder",
    "adjacent_scene",
]

SCENE_FORMAT = "convlab-scene"
SCENE_VERSION = 1
SCENE_SUFFIX = ".convlab"
#: Largest scene file read (a 1024x1024 RGB float32 image is ~17 MB of base64).
MAX_SCENE_BYTES = 32 * 1024 * 1024
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


# -------------------------------------------------------------------------- encoding


def _planes(x: np.ndarray, byte_image: np.ndarray) -> tuple[np.ndarray, str]:
    c, h, w = x.shape
    if c == 3:
        return np.ascontiguousarray(byte_image.transpose(1, 2, 0)), "RGB"
    return byte_image.reshape(c * h, w), "L"


def _encode_image(x: np.ndarray) -> dict[str, Any]:
    from PIL import Image

    c, h, w = x.shape
    bits = x.view(np.uint32)
    pixels: np.ndarray | None = None
    encoding = "float32"
    finite = bool(np.isfinite(x).all())
    if finite and x.min() >= 0.0 and x.max() <= 255.0:
        as_int = np.round(x).astype(np.uint8)
        if np.array_equal(as_int.astype(np.float32).view(np.uint32), bits):
            pixels, mode = _planes(x, as_int)
            encoding = "uint8"
        elif x.max() <= 1.0:
            u8 = np.round(x * np.float32(255)).astype(np.uint8)
            back = u8.astype(np.float32) / np.float32(255)
            if np.array_equal(back.view(np.uint32), bits):
                pixels, mode = _planes(x, u8)
                encoding = "unorm8"
    if pixels is None:
        raw = np.ascontiguousarray(x.astype("<f4")).view(np.uint8)
        pixels, mode = raw.reshape(c * h, w, 4), "RGBA"
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode).save(buffer, format="PNG", optimize=False)
    return {
        "shape": [c, h, w],
        "encoding": encoding,
        "png": base64.b64encode(buffer.getvalue()).decode("ascii"),
    }


def _decode_image(raw: Any) -> np.ndarray:
    from PIL import Image

    where = "image"
    _expect(raw, dict, where)
    shape = raw.get("shape")
    if not (
        isinstance(shape, list) and len(shape) == 3 and all(_is_int(v) for v in shape)
    ):
        raise SceneError(
            f"`image.shape` must be [C, H, W], three ints. Received: {shape!r:.80}"
        )
    c, h, w = shape
    if not (1 <= c <= MAX_CHANNELS and h >= 1 and w >= 1):
        raise SceneError(
            f"`image.shape` must have 1 to {MAX_CHANNELS} channels and a non-empty "
            f"size. Received: {shape}"
        )
    if h * w > MAX_IMAGE_PIXELS:
        raise SceneError(
            f"`image` may have at most {MAX_IMAGE_PIXELS:,} pixels per channel. "
            f"Received: {h}x{w}"
        )
    encoding = raw.get("encoding")
    if encoding not in _ENCODINGS:
        raise SceneError(
            f"`image.encoding` must be one of {', '.join(map(repr, _ENCODINGS))}. "
            f"Received: {encoding!r:.80}"
        )
    text = raw.get("png")
    _expect(text, str, "image.png")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise SceneError("`image.png` is not valid base64.") from None
    if encoding == "float32":
        mode, size = "RGBA", (w, c * h)
    elif c == 3:
        mode, size = "RGB", (w, h)
    else:
        mode, size = "L", (w, c * h)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["PNG"]) as png:
                if png.size != size or png.mode != mode:
                    raise SceneError(
                        f"`image.png` must be a {size[0]}x{size[1]} {mode} PNG for "
                        f"shape {shape} and encoding {encoding!r}. Received: a "
                        f"{png.size[0]}x{png.size[1]} {png.mode} image"
                    )
                pixels = np.asarray(png.convert(mode) if png.mode != mode else png)
                pixels = np.array(pixels, copy=True)
    except SceneError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise SceneError(f"`image.png` is not a readable PNG: {exc}") from None
    if encoding == "float32":
        x = pixels.reshape(c * h, w * 4).view("<f4").astype(np.float32)
        return x.reshape(c, h, w)
    planes = (pixels.transpose(2, 0, 1) if c == 3 else pixels.reshape(c, h, w)).astype(
        np.float32
    )
    if encoding == "unorm8":
        planes = planes / np.float32(255)
    return np.ascontiguousarray(planes, np.float32)


# ---------------------------------------------------------------------------- JSON


_SETTINGS_FIELDS = [
    f for f in dataclasses.fields(explore.Settings) if f.name != "filters"
]


def _number(value: float) -> int | float:
    """A float32 or Python float as the JSON number that reads back to it."""
    f = float(value)
    return int(f) if f.is_integer() and abs(f) < 2**53 else f


def scene_to_json(scene: Scene) -> dict[str, Any]:
    """The JSON-ready dict of ``scene`` (what :func:`save_scene` writes)."""
    s = scene.settings
    settings: dict[str, Any] = {}
    for f in _SETTINGS_FIELDS:
        value = getattr(s, f.name)
        settings[f.name] = list(value) if isinstance(value, tuple) else value
    filters = []
    for flt in s.filters:
        kernel = np.asarray(flt.kernel, np.float32)
        if not np.isfinite(kernel).all() or not math.isfinite(flt.bias):
            raise ValueError(
                f"Filter {flt.name!r}: kernels and biases must be finite to be saved. "
                f"Received: a kernel or bias holding NaN or infinity"
            )
        filters.append(
            {
                "name": flt.name,
                "kernel": [[_number(v) for v in row] for row in kernel],
                "bias": _number(flt.bias),
            }
        )
    pixel = None
    if scene.pixel is not None:
        stage, row, col = scene.pixel
        pixel = {"stage": stage, "row": row, "col": col}
    return {
        "format": SCENE_FORMAT,
        "version": SCENE_VERSION,
        "title": scene.title,
        "notes": scene.notes,
        "image": _encode_image(scene.image),
        "filters": filters,
        "settings": settings,
        "selection": {"filter": scene.filter_index, "pixel": pixel},
        "view": {
            "zoom": scene.zoom,
            "center": None if scene.center is None else list(scene.center),
        },
        "animation": {"step": scene.step, "granularity": scene.granularity},
        "colors": {
            "map": scene.colormap,
            "scale": scene.color_scale,
            "limits": None if scene.color_limits is None else list(scene.color_limits),
            "clip_percentile": scene.clip_percentile,
        },
        "trainer": scene.trainer,
    }


_TYPE_NAMES: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}


def _expect(value: Any, kind: type, where: str) -> None:
    if not isinstance(value, kind):
        raise SceneError(
            f"`{where}` must be {_TYPE_NAMES.get(kind, kind.__name__)}. "
            f"Received: {_describe(value)}"
        )


def _describe(value: Any) -> str:
    kind = {dict: "object", list: "list", str: "string", bool: "boolean"}.get(
        type(value), type(value).__name__
    )
    if value is None:
        return "null"
    text = json.dumps(value)
    return f"{kind} {text[:60]}{'...' if len(text) > 60 else ''}"


def _setting(raw: Any, default: Any, where: str) -> Any:
    if isinstance(default, bool):
        if not isinstance(raw, bool):
            raise SceneError(
                f"`{where}` must be true or false. Received: {_describe(raw)}"
            )
        return raw
    if isinstance(default, str):
        _expect(raw, str, where)
        return raw
    if isinstance(default, float):
        if not _is_number(raw) or isinstance(raw, bool):
            raise SceneError(f"`{where}` must be a number. Received: {_describe(raw)}")
        return float(raw)
    if isinstance(default, int):
        if not _is_int(raw):
            raise SceneError(f"`{where}` must be an int. Received: {_describe(raw)}")
        return int(raw)
    if isinstance(default, tuple):
        if not (
            isinstance(raw, list)
            and len(raw) == len(default)
            and all(_is_int(v) for v in raw)
        ):
            raise SceneError(
                f"`{where}` must be a list of {len(default)} ints. "
                f"Received: {_describe(raw)}"
            )
        return tuple(int(v) for v in raw)
    raise SceneError(f"`{where}`: this setting cannot be stored in a scene.")


def _kernel(raw: Any, where: str) -> np.ndarray:
    if not (
        isinstance(raw, list)
        and raw
        and all(isinstance(row, list) and row for row in raw)
        and len({len(row) for row in raw}) == 1
        and all(_is_number(v) for row in raw for v in row)
    ):
        raise SceneError(
            f"`{where}` must be a non-empty rectangular list of lists of numbers. "
            f"Received: {_describe(raw)}"
        )
    return np.array(raw, np.float32)


def scene_from_json(doc: Any) -> Scene:
    """Build a :class:`Scene` from the parsed JSON of a scene file.

    Raises
    ------
    SceneError
        For another format, a newer version, a missing field or one of the wrong
        type (named in the message).
    """
    _expect(doc, dict, "(top level)")
    if doc.get("format") != SCENE_FORMAT:
        raise SceneError(
            f'Not a convlab scene: `format` must be "{SCENE_FORMAT}". '
            f"Received: {_describe(doc.get('format'))}"
        )
    version = doc.get("version")
    if not _is_int(version) or version < 1:
        raise SceneError(
            f"`version` must be a positive int. Received: {_describe(version)}"
        )
    if version > SCENE_VERSION:
        raise SceneError(
            f"This scene was written by a newer convlab (scene version {version}; "
            f"this convlab reads up to version {SCENE_VERSION}). Update convlab to "
            "open it."
        )
    image = _decode_image(doc.get("image"))

    raw_filters = doc.get("filters")
    _expect(raw_filters, list, "filters")
    if len(raw_filters) > MAX_FILTERS:
        raise SceneError(
            f"`filters` may hold at most {MAX_FILTERS} filters. "
            f"Received: {len(raw_filters)}"
        )
    filters = []
    for i, raw in enumerate(raw_filters):
        where = f"filters[{i}]"
        _expect(raw, dict, where)
        name = raw.get("name")
        _expect(name, str, f"{where}.name")
        bias = raw.get("bias", 0.0)
        if not _is_number(bias) or isinstance(bias, bool):
            raise SceneError(
                f"`{where}.bias` must be a number. Received: {_describe(bias)}"
            )
        kernel = _kernel(raw.get("kernel"), f"{where}.kernel")
        try:
            filters.append(explore.Filter(name, kernel, float(bias)))
        except ValueError as exc:
            raise SceneError(f"`{where}`: {exc}") from None

    raw_settings = doc.get("settings", {})
    _expect(raw_settings, dict, "settings")
    known = {f.name for f in _SETTINGS_FIELDS}
    unknown = sorted(set(raw_settings) - known)
    if unknown:
        raise SceneError(
            f"`settings` has fields this convlab does not know: {', '.join(unknown)} "
            "(the scene may need a newer convlab to replay exactly)."
        )
    values: dict[str, Any] = {}
    defaults = explore.Settings()
    for f in _SETTINGS_FIELDS:
        if f.name in raw_settings:
            values[f.name] = _setting(
                raw_settings[f.name], getattr(defaults, f.name), f"settings.{f.name}"
            )
    settings = explore.Settings(filters=tuple(filters), **values)

    def section(name: str) -> dict[str, Any]:
        value = doc.get(name, {})
        _expect(value, dict, name)
        return value

    selection, view = section("selection"), section("view")
    animation, colors = section("animation"), section("colors")
    trainer = doc.get("trainer", {})
    _expect(trainer, dict, "trainer")
    pixel = selection.get("pixel")
    if pixel is not None:
        _expect(pixel, dict, "selection.pixel")
        pixel = (pixel.get("stage"), pixel.get("row"), pixel.get("col"))
    fields = {
        "title": ("title", doc.get("title", "")),
        "notes": ("notes", doc.get("notes", "")),
        "filter_index": ("selection.filter", selection.get("filter", 0)),
        "pixel": ("selection.pixel", pixel),
        "zoom": ("view.zoom", view.get("zoom", 1.0)),
        "center": ("view.center", view.get("center")),
        "step": ("animation.step", animation.get("step", 0)),
        "granularity": (
            "animation.granularity",
            animation.get("granularity", "position"),
        ),
        "colormap": ("colors.map", colors.get("map", "diverging")),
        "color_scale": ("colors.scale", colors.get("scale", "symmetric")),
        "color_limits": ("colors.limits", colors.get("limits")),
        "clip_percentile": ("colors.clip_percentile", colors.get("clip_percentile")),
    }
    kwargs = {name: value for name, (_, value) in fields.items()}
    try:
        return Scene(image=image, settings=settings, trainer=trainer, **kwargs)
    except (TypeError, ValueError) as exc:
        message = str(exc)
        for name, (where, _) in fields.items():
            message = message.replace(f"`{name}`", f"`{where}`")
        raise SceneError(message) from None


# --------------------------------------------------------------------------- files


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no /proc: read it the racy way, and put it back
    os.umask(mask)
    return mask


def save_scene(path: str | os.PathLike[str], scene: Scene) -> None:
    """Write ``scene`` to ``path`` as readable JSON, atomically.

    The file's mode follows the umask (``0o666 & ~umask``), like any file the user
    saves, not the 0600 of a temporary file.

    Raises
    ------
    TypeError
        When ``scene`` is not a :class:`Scene`.
    ValueError
        For a kernel or bias that is not finite (JSON has no NaN).
    OSError
        When the file cannot be written (``path`` keeps its old content).
    """
    if not isinstance(scene, Scene):
        raise TypeError(
            f"`scene` must be a Scene. Received: type {type(scene).__name__}"
        )
    text = json.dumps(scene_to_json(scene), indent=1, allow_nan=False) + "\n"
    data = text.encode("utf-8")
    with atomic_write(path) as handle:
        handle.write(data)
        os.fchmod(handle.fileno(), 0o666 & ~_umask())


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a valid JSON number")


def load_scene(path: str | os.PathLike[str]) -> Scene:
    """Read a scene file written by :func:`save_scene`.

    Raises
    ------
    SceneError
        When ``path`` is not a regular file, is larger than :data:`MAX_SCENE_BYTES`,
        is not UTF-8 JSON, is a newer version, or has a field of the wrong type or
        shape (the message names the file and the field).
    """
    target = Path(path)
    try:
        fd = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise SceneError(f"Cannot open the scene {target}: {exc.strerror}.") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise SceneError(f"Not a regular file: {target}")
    with os.fdopen(fd, "rb") as handle:
        if info.st_size > MAX_SCENE_BYTES:
            raise SceneError(
                f"The scene {target} is {info.st_size:,} bytes; scenes may be at most "
                f"{MAX_SCENE_BYTES:,} bytes."
            )
        data = handle.read(MAX_SCENE_BYTES + 1)
    if len(data) > MAX_SCENE_BYTES:
        raise SceneError(f"The scene {target} grew past {MAX_SCENE_BYTES:,} bytes.")
    try:
        doc = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SceneError(f"The scene {target} is not valid JSON: {exc}") from None
    try:
        return scene_from_json(doc)
    except SceneError as exc:
        raise SceneError(f"{target.name}: {exc}") from None


_DIGITS = re.compile(r"(\d+)")


def _natural_key(path: Path) -> tuple:
    parts = _DIGITS.split(path.name.casefold())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p)


def scene_folder(path: str | os.PathLike[str]) -> list[Path]:
    """The scenes of a folder (or of the folder holding the scene ``path``), in lecture
    order: a natural sort by file name (``2-x`` before ``10-y``, case ignored).

    Raises
    ------
    SceneError
        When the folder cannot be listed.
    """
    folder = Path(path)
    if not folder.is_dir():
        folder = folder.parent
    try:
        entries = [
            entry
            for entry in folder.iterdir()
            if entry.suffix.lower() == SCENE_SUFFIX
            and not entry.name.startswith(".")
            and entry.is_file()
        ]
    except OSError as exc:
        raise SceneError(f"Cannot list the folder {folder}: {exc.strerror}.") from None
    return sorted(entries, key=_natural_key)


def adjacent_scene(path: str | os.PathLike[str], offset: int) -> Path | None:
    """The scene ``offset`` places after ``path`` in :func:`scene_folder` order
    (``-1``: PageUp, ``+1``: PageDown); None past either end."""
    current = Path(path)
    scenes = scene_folder(current)
    names = [p.name for p in scenes]
    if current.name not in names:
        return scenes[0] if scenes and offset > 0 else None
    i = names.index(current.name) + int(offset)
    return scenes[i] if 0 <= i < len(scenes) else None
