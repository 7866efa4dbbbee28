"""``keras.applications.vgg16``: ``VGG16`` and ``preprocess_input``."""

from __future__ import annotations

from typing import Any

import numpy as np

from convlab.nn.applications import vgg16 as _vgg16

from ..layers import Input

__all__ = ["VGG16", "preprocess_input"]

#: ImageNet's mean pixel, BGR, as Keras's "caffe" preprocessing subtracts it
_MEAN_BGR = np.array([103.939, 116.779, 123.68], np.float32)


def VGG16(  # noqa: N802 (Keras's name)
    include_top: bool = True,
    weights: object = "imagenet",
    input_tensor: Any = None,
    input_shape: object = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: str | None = "softmax",
    seed: int | None = None,
) -> Any:
    """Keras's ``VGG16`` (see :func:`convlab.nn.applications.vgg16`), with Keras's
    default ``weights="imagenet"``: the published weights are downloaded on first use
    (58 MB without the top, 528 MB with it; needs h5py: ``pip install
    "convlab[h5]"``). Shapes are shown as Keras's: ``base.output_shape`` is
    ``(None, 7, 7, 512)`` for 224x224."""
    if input_tensor is None:
        input_tensor = Input(shape=input_shape or (224, 224, 3), name="input_layer")
    return _vgg16(
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        seed=seed,
    )


def preprocess_input(x: np.ndarray) -> np.ndarray:
    """Keras's VGG16 preprocessing ("caffe" mode): RGB -> BGR, minus ImageNet's mean
    pixel; ``x (..., 3)`` values 0-255."""
    x = np.asarray(x, np.float32)
    return x[..., ::-1] - _MEAN_BGR
