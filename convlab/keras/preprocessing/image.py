"""``keras.preprocessing.image``: convlab.data.augment's ImageDataGenerator,
load_img, img_to_array and array_to_img."""

from __future__ import annotations

from convlab.data.augment import (
    DirectoryIterator,
    ImageDataGenerator,
    NumpyArrayIterator,
    array_to_img,
    img_to_array,
    load_img,
)

__all__ = [
    "ImageDataGenerator",
    "NumpyArrayIterator",
    "DirectoryIterator",
    "load_img",
    "img_to_array",
    "array_to_img",
]
