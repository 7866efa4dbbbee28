"""``keras.applications.vgg16``: ``VGG16`` and ``preprocess_input``."""

from __future__ import annotations

import numpy as np

from convlab.nn.applications import vgg16 as VGG16  # noqa: N812

__all__ = ["VGG16", "preprocess_input"]

#: ImageNet's mean pixel, BGR, as Keras's "caffe" preprocessing subtracts it
_MEAN_BGR = np.array([103.939, 116.779, 123.68], np.float32)


def preprocess_input(x: np.ndarray) -> np.ndarray:
    """Keras's VGG16 preprocessing ("caffe" mode): RGB -> BGR, minus ImageNet's mean
    pixel; ``x (..., 3)`` values 0-255."""
    x = np.asarray(x, np.float32)
    return x[..., ::-1] - _MEAN_BGR
