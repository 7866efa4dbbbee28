"""``keras.backend``: the few calls tutorials make (``image_data_format``,
``clear_session``)."""

from __future__ import annotations

__all__ = ["image_data_format", "clear_session", "floatx"]


def image_data_format() -> str:
    """``"channels_last"``: arrays go in as Keras loads them, ``(N, H, W, C)``
    (convlab converts them to NCHW inside)."""
    return "channels_last"


def floatx() -> str:
    return "float32"


def clear_session() -> None:
    """Nothing to clear: convlab keeps no global graph."""
