"""Slide-quality figures of a scene, conv_arithmetic style, without Qt.

A figure is first laid out as a list of plain primitives in *figure units* (one unit is
one pixel at ``scale=1``): :class:`Rect` (grid cells; ``hatch`` for padding),
:class:`Text` (the numbers), :class:`Line` (arrows) and :class:`Raster` (feature maps
as images). Two small backends draw the same list: Pillow for PNG/GIF/APNG at an
integer ``scale`` (every length multiplied, so ``scale=2`` is exactly twice the size),
and hand-written SVG (cells are ``<rect>``, numbers ``<text>``, arrows ``<line>`` and
``<path>``; maps are embedded PNG ``<image>`` with pixelated rendering).

Two layouts, chosen by the size of the padded input:

* **numbers** (padded input at most :data:`NUMBERS_MAX_SIDE` cells a side, e.g. the
  classic 7x7 demo or the 28x28 MNIST digit): the padded input grid with every value
  (padding hatched; for reflect/replicate/circular an arrow from the input cell each
  padding cell under the window copies), the kernel window laid on it with its weights,
  the kernel, the output grid being written, the activation and pooled grids, and the
  equation of the current step;
* **maps** (a photo): the input image and, per filter, its kernel (numbers) and its
  conv / activation / pooled maps as images, in the scene's colour map and scale.

All numbers come from :func:`convlab.explore.compute` and
:class:`convlab.lecture.SlidingWindow`: the same tested kernels as the explorer.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

from convlab._files import atomic_write

# F401: limits and style constants, importable from here as before (not in __all__)
from .figure_animation import (
    MAX_FRAMES,  # noqa: F401
    TARGET_FRAMES,  # noqa: F401
    animation_frames,
    default_every,
)
from .figure_layout import (
    MAX_MAP_ROWS,  # noqa: F401
    NUMBERS_MAX_SIDE,
    _check_filter,
    build_figure,
)
from .figure_model import (
    FAINT,  # noqa: F401
    FONT,  # noqa: F401
    GAP,  # noqa: F401
    HATCH,  # noqa: F401
    INK,  # noqa: F401
    MARGIN,  # noqa: F401
    MAX_SCALE,
    MAX_WIDTH,  # noqa: F401
    POOL,  # noqa: F401
    RGB,  # noqa: F401
    ROW_GAP,  # noqa: F401
    SMALL,  # noqa: F401
    SOURCE,  # noqa: F401
    TITLE,  # noqa: F401
    WHITE,  # noqa: F401
    WINDOW,  # noqa: F401
    Figure,
    Line,
    Raster,
    Rect,
    Text,
    _check_scale,
)
from .figure_png import figure_to_image
from .figure_svg import figure_to_svg
from .scene import Scene

__all__ = [
    "FORMATS",
    "NUMBERS_MAX_SIDE",
    "MAX_SCALE",
    "Figure",
    "Rect",
    "Text",
    "Line",
    "Raster",
    "build_figure",
    "figure_to_image",
    "figure_to_svg",
    "render_png",
    "render_svg",
    "animation_frames",
    "default_every",
    "check_output",
    "render",
]

#: Output formats by file suffix.
FORMATS = (".png", ".svg", ".gif", ".apng")
FRAME_MS = 400


# ---------------------------------------------------------------------- public


def render_png(scene: Scene, *, scale: int = 1, filter_index: int | None = None) -> Any:
    """The scene's figure as a Pillow RGB image (no GUI selection frames)."""
    _check_scale(scale)
    return figure_to_image(build_figure(scene, filter_index=filter_index), scale)


def render_svg(scene: Scene, *, filter_index: int | None = None) -> str:
    """The scene's figure as SVG text."""
    return figure_to_svg(build_figure(scene, filter_index=filter_index))


def check_output(out: str | os.PathLike[str]) -> tuple[Path, str]:
    """Check, before anything is drawn, that ``out`` has a known suffix and can be
    written (a temporary file is created and removed next to it).

    Returns ``(path, suffix)``; raises ``ValueError`` saying what is wrong.
    """
    path = Path(out).expanduser()
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"`out` must end in one of {', '.join(FORMATS)}. Received: out={str(out)!r}"
        )
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"The output folder does not exist: {folder}")
    if path.is_dir():
        raise ValueError(f"The output is a folder: {path}")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"The output is not writable: {path}")
    try:  # os.access says yes to root everywhere, even on /proc: really try
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".convlab-render-"):
            pass
    except OSError as exc:
        raise ValueError(
            f"The output folder is not writable: {folder} ({exc.strerror})"
        ) from None
    return path, suffix


def render(
    scene: Scene,
    out: str | os.PathLike[str],
    *,
    scale: int = 1,
    filter_index: int | None = None,
    every: int | None = None,
) -> Path:
    """Render ``scene`` to ``out``, the format from its suffix (:data:`FORMATS`).

    ``.png``/``.svg``: the scene's figure; ``.gif``/``.apng``: the animation (see
    :func:`animation_frames`). The output path is checked before anything is drawn
    and written atomically.

    Raises
    ------
    ValueError
        For an unknown suffix, a missing or unwritable output folder, a bad
        ``scale``/``filter_index``/``every``; ``explore.InvalidSettings`` for a scene
        whose geometry does not compute.
    """
    path, suffix = check_output(out)
    _check_scale(scale)
    _check_filter(scene, filter_index)
    if suffix == ".svg":
        data = render_svg(scene, filter_index=filter_index).encode("utf-8")
    elif suffix == ".png":
        buffer = io.BytesIO()
        render_png(scene, scale=scale, filter_index=filter_index).save(buffer, "PNG")
        data = buffer.getvalue()
    else:
        frames = animation_frames(
            scene, scale=scale, filter_index=filter_index, every=every
        )
        durations = [FRAME_MS * 2] + [FRAME_MS] * (len(frames) - 2) + [FRAME_MS * 5]
        if suffix == ".gif":
            fmt, extra = "GIF", {"optimize": False}
        else:
            fmt, extra = "PNG", {"default_image": False}
        buffer = io.BytesIO()
        frames[0].save(
            buffer,
            fmt,
            save_all=True,
            append_images=frames[1:],
            duration=durations,
            loop=0,
            **extra,
        )
        data = buffer.getvalue()
    with atomic_write(path) as handle:
        handle.write(data)
    return path
