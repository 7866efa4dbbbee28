"""The ``.convlab`` JSON document: a :class:`Scene` to and from plain JSON values.

:func:`scene_to_json` and :func:`scene_from_json` hold the format described in
:mod:`convlab.lecture.scene` (the embedded lossless PNG and its three encodings, the
settings, the view); reading checks the shape and the type of every field and raises
:class:`SceneError` naming it. No files here: :mod:`convlab.lecture.scene` reads and
writes them, and re-exports both functions.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import io
import json
import math
import warnings
from typing import Any

import numpy as np

from convlab import explore

from .scene_record import (
    _ENCODINGS,
    MAX_CHANNELS,
    MAX_FILTERS,
    MAX_IMAGE_PIXELS,
    SCENE_FORMAT,
    SCENE_VERSION,
    Scene,
    SceneError,
    _is_int,
    _is_number,
)

__all__ = ["scene_from_json", "scene_to_json"]


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
