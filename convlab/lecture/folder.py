"""The scenes of a folder, in lecture order (PageUp / PageDown in the explorer).

:func:`scene_folder` and :func:`adjacent_scene` are re-exported from
:mod:`convlab.lecture.scene`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .scene_record import SCENE_SUFFIX, SceneError

__all__ = ["adjacent_scene", "scene_folder"]


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
