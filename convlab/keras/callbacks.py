"""``keras.callbacks``: the ``History`` that ``fit`` returns."""

from __future__ import annotations

from convlab.nn import History

__all__ = ["History"]
