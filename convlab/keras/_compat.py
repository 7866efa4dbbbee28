"""Keras 2 spellings: the one warning category and the argument renames."""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["Keras2Warning", "note", "rename"]


from convlab.nn.validation import Keras2Warning


def note(message: str) -> None:
    """Warn once per call site with ``message`` (one line, the modern spelling)."""
    warnings.warn(message, Keras2Warning, stacklevel=3)


def rename(where: str, kwargs: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """``kwargs`` with ``old=`` moved to ``new=`` and a note, if ``old`` is given."""
    if old not in kwargs:
        return kwargs
    if new in kwargs:
        raise TypeError(
            f"{where} got both `{old}` (its Keras 2 name) and `{new}`: give only "
            f"`{new}`. Received: {old}={kwargs[old]!r}, {new}={kwargs[new]!r}"
        )
    kwargs = dict(kwargs)
    kwargs[new] = kwargs.pop(old)
    warnings.warn(
        f"{where}: `{old}=` is Keras 2's name; write `{new}={kwargs[new]!r}`.",
        Keras2Warning,
        stacklevel=4,
    )
    return kwargs
