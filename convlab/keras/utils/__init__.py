"""``keras.utils``: ``to_categorical`` (and Keras 2's ``np_utils.to_categorical``)."""

from __future__ import annotations

from convlab.nn.data_adapter import to_categorical

from . import np_utils

__all__ = ["to_categorical", "np_utils"]
