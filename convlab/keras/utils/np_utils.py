"""``keras.utils.np_utils``: Keras 2's home of ``to_categorical``."""

from __future__ import annotations

from convlab.nn.data_adapter import to_categorical

__all__ = ["to_categorical"]
