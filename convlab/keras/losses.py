"""``keras.losses``: convlab.nn's cross-entropies (classes and functions)."""

from __future__ import annotations

from convlab.nn.losses import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    categorical_crossentropy,
    get_loss,
    sparse_categorical_crossentropy,
)

__all__ = [
    "BinaryCrossentropy",
    "binary_crossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "get",
]

get = get_loss
