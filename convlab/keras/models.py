"""``keras.models``: ``Sequential``, ``Model`` (functional, for chains) and
``load_model``, all convlab.nn's."""

from __future__ import annotations

from convlab.nn import Model, Sequential
from convlab.nn.saving import load_model

__all__ = ["Sequential", "Model", "load_model"]
