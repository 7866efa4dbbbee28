"""Classic ImageNet architectures built from convlab.nn layers: :func:`vgg16`
(Keras's ``VGG16``, layer for layer and name for name) and :func:`alexnet_bn`
(Chainer's ``examples/imagenet/alexbn.py``: AlexNet with batch normalisation).

Weights start at random (Glorot uniform kernels, zero biases, as Keras). Keras's
published ImageNet weights are HDF5 files, which convlab does not read yet:
``weights="imagenet"`` says so instead of building a model that only looks trained.
"""

from __future__ import annotations

from typing import Any

from .conv_layers import Conv2D, GlobalAveragePooling2D, MaxPooling2D
from .core_layers import BatchNormalization, Dense, Dropout, Flatten, ReLU
from .functional import Input, Model, SymbolicTensor

__all__ = ["vgg16", "alexnet_bn", "VGG16_NOTOP_PARAMS"]

#: Keras's count for VGG16(include_top=False)
VGG16_NOTOP_PARAMS = 14_714_688
_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


def _weights(weights: object) -> None:
    if weights is None:
        return
    if weights == "imagenet":
        raise ValueError(
            "weights='imagenet' needs Keras's HDF5 weight file, which convlab cannot "
            "read yet: use weights=None (random initial weights) and train, or load "
            "convlab weights with model.load_weights(path). Received: "
            "weights='imagenet'"
        )
    raise ValueError(
        f"`weights` must be None or 'imagenet'. Received: weights={weights!r}"
    )


def vgg16(
    include_top: bool = True,
    weights: object = None,
    input_tensor: SymbolicTensor | None = None,
    input_shape: object = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: str | None = "softmax",
    seed: int | None = None,
) -> Model:
    """Keras's ``VGG16``: 13 3x3 "same" ReLU convolutions in five blocks, each block
    ending in a 2x2 max pooling, then (``include_top``) Flatten and Dense 4096, 4096,
    ``classes``. Layer names are Keras's (``block1_conv1`` ... ``predictions``).

    ``input_shape`` defaults to (224, 224, 3); without the top any size of at least
    32x32 works. ``pooling``: None, "avg" (GlobalAveragePooling2D) when
    ``include_top`` is False.
    """
    _weights(weights)
    if include_top and input_shape is not None and tuple(input_shape) != (224, 224, 3):
        raise ValueError(
            "With include_top=True, VGG16 takes input_shape=(224, 224, 3) (its Dense "
            "layers are sized for it); use include_top=False for other sizes. "
            f"Received: input_shape={input_shape!r}"
        )
    if pooling not in (None, "avg"):
        raise ValueError(
            "`pooling` must be None or 'avg' (convlab has no GlobalMaxPooling2D yet). "
            f"Received: pooling={pooling!r}"
        )
    inputs = (
        input_tensor
        if input_tensor is not None
        else Input(shape=input_shape or (224, 224, 3), name="input_layer")
    )
    x = inputs
    for b, (filters, convs) in enumerate(_BLOCKS, start=1):
        for c in range(1, convs + 1):
            x = Conv2D(
                filters,
                3,
                padding="same",
                activation="relu",
                kernel_initializer="glorot_uniform",
                name=f"block{b}_conv{c}",
            )(x)
        x = MaxPooling2D(2, 2, name=f"block{b}_pool")(x)
    if include_top:
        x = Flatten(name="flatten")(x)
        x = Dense(4096, "relu", kernel_initializer="glorot_uniform", name="fc1")(x)
        x = Dense(4096, "relu", kernel_initializer="glorot_uniform", name="fc2")(x)
        x = Dense(
            classes,
            classifier_activation,
            kernel_initializer="glorot_uniform",
            name="predictions",
        )(x)
    elif pooling == "avg":
        x = GlobalAveragePooling2D(name="global_average_pooling2d")(x)
    return Model(inputs, x, name="vgg16", seed=seed)


def alexnet_bn(
    input_shape: object = (227, 227, 3), classes: int = 1000, seed: int | None = None
) -> Model:
    """AlexNet with batch normalisation after the first two convolutions, as
    Chainer's ``alexbn.py``: conv 96 11x11/4, BN, ReLU, max-pool 3/2; conv 256 5x5
    pad 2, BN, ReLU, pool; conv 384, 384, 256 3x3 pad 1 with ReLU, pool; Dense 4096,
    4096 with ReLU and dropout 0.5; Dense ``classes`` (softmax here, where Chainer
    adds it in the loss)."""
    g: dict[str, Any] = {"kernel_initializer": "glorot_uniform"}
    inputs = Input(shape=input_shape)
    x = Conv2D(96, 11, strides=4, name="conv1", **g)(inputs)
    x = MaxPooling2D(3, 2)(ReLU()(BatchNormalization(name="bn1")(x)))
    x = Conv2D(256, 5, padding=2, name="conv2", **g)(x)
    x = MaxPooling2D(3, 2)(ReLU()(BatchNormalization(name="bn2")(x)))
    x = Conv2D(384, 3, padding=1, activation="relu", name="conv3", **g)(x)
    x = Conv2D(384, 3, padding=1, activation="relu", name="conv4", **g)(x)
    x = Conv2D(256, 3, padding=1, activation="relu", name="conv5", **g)(x)
    x = Flatten()(MaxPooling2D(3, 2)(x))
    x = Dropout(0.5)(Dense(4096, "relu", name="fc6", **g)(x))
    x = Dropout(0.5)(Dense(4096, "relu", name="fc7", **g)(x))
    x = Dense(classes, "softmax", name="fc8", **g)(x)
    return Model(inputs, x, name="alexnet_bn", seed=seed)
