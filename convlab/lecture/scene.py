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

import json
import os
import stat
from pathlib import Path

from convlab._files import atomic_write

from .folder import adjacent_scene, scene_folder
from .scene_json import scene_from_json, scene_to_json
from .scene_record import (
    COLOR_SCALES,
    MAX_CHANNELS,  # noqa: F401 (importable from here as before; not in __all__)
    MAX_FILTERS,
    MAX_IMAGE_PIXELS,
    MAX_TRAINER_DEPTH,  # noqa: F401
    MAX_TRAINER_NODES,  # noqa: F401
    SCENE_FORMAT,
    SCENE_SUFFIX,
    SCENE_VERSION,
    STAGES,
    Scene,
    SceneError,
)

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

#: Largest scene file read (a 1024x1024 RGB float32 image is ~17 MB of base64).
MAX_SCENE_BYTES = 32 * 1024 * 1024


# --------------------------------------------------------------------------- files


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
