"""``keras.preprocessing``: :mod:`.image`."""

from __future__ import annotations

from . import image

__all__ = ["image"]
