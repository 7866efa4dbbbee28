"""Classic ImageNet architectures built from convlab.nn layers: :func:`vgg16`
(Keras's ``VGG16``, layer for layer and name for name) and :func:`alexnet_bn`
(Chainer's ``examples/imagenet/alexbn.py``: AlexNet with batch normalisation).

Weights start at random (Glorot uniform kernels, zero biases, as Keras), or, for
VGG16 with ``weights="imagenet"``, are Keras's published ImageNet weights: the HDF5
file is downloaded on first use (checksum, cache, progress, a clear offline error;
:func:`convlab.data.datasets.fetch_file`) and read by
:mod:`convlab.nn.h5weights` (h5py, the optional ``convlab[h5]`` extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .conv_layers import (
    Conv2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPooling2D,
)
from .core_layers import BatchNormalization, Dense, Dropout, Flatten, ReLU
from .functional import Input, Model, SymbolicTensor

__all__ = [
    "vgg16",
    "alexnet_bn",
    "VGG16_NOTOP_PARAMS",
    "VGG16_WEIGHTS",
    "KERAS_APPLICATIONS_MIRRORS",
    "vgg16_weights_path",
]

#: Keras's count for VGG16(include_top=False)
VGG16_NOTOP_PARAMS = 14_714_688
_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))

#: where Keras's applications download VGG16's weights from (keras/applications/
#: vgg16.py; the second is the original release the first one copies)
KERAS_APPLICATIONS_MIRRORS = [
    "https://storage.googleapis.com/tensorflow/keras-applications/vgg16",
    "https://github.com/fchollet/deep-learning-models/releases/download/v0.1",
]
#: include_top -> (file name, (algorithm, digest)), the file_hash Keras lists
VGG16_WEIGHTS = {
    True: (
        "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
        ("md5", "64373286793e3c8b2b4e3219cbf3544b"),
    ),
    False: (
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        ("md5", "6d6bbae143d832006294945121d1f1fc"),
    ),
}


def vgg16_weights_path(include_top: bool) -> Path:
    """Keras's ImageNet weights for VGG16 (528 MB with the top, 58 MB without),
    downloaded into ``<datasets cache>/models`` on first use and checked against
    Keras's published md5.

    Raises
    ------
    convlab.data.datasets.DatasetDownloadError
        Offline or a wrong checksum: the message says where to put a copy.
    """
    from convlab.data import datasets

    filename, checksum = VGG16_WEIGHTS[bool(include_top)]
    return datasets.fetch_file(
        filename,
        KERAS_APPLICATIONS_MIRRORS,
        checksum,
        datasets.datasets_cache_dir() / "models",
    )


def _check_weights(weights: object, include_top: bool, classes: int) -> None:
    if weights is None:
        return
    if isinstance(weights, str | Path) and weights != "imagenet":
        if Path(weights).is_file():
            return
        raise ValueError(
            "`weights` must be None, 'imagenet' or the path of an existing weight "
            f"file (Keras's rule). Received: weights={weights!r}"
        )
    if weights == "imagenet":
        if include_top and classes != 1000:
            raise ValueError(
                "With weights='imagenet' and include_top=True, `classes` must be "
                "1000 (ImageNet's); for other classes use include_top=False and add "
                f"your own head. Received: classes={classes}"
            )
        return
    raise ValueError(
        "`weights` must be None, 'imagenet' or the path of a weight file. "
        f"Received: weights={weights!r}"
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
    32x32 works. ``pooling``: None, "avg" (GlobalAveragePooling2D) or "max"
    (GlobalMaxPooling2D) when ``include_top`` is False.

    The model is channels-last, as Keras's: it reads ``(N, H, W, 3)`` batches, and
    its Flatten orders rows, columns, channels, as the published weights need.
    ``weights``: None (random), ``"imagenet"`` (Keras's file, see
    :func:`vgg16_weights_path`) or the path of a weight file
    (:meth:`~convlab.nn.Sequential.load_weights`).
    """
    _check_weights(weights, include_top, classes)
    if include_top and input_shape is not None and tuple(input_shape) != (224, 224, 3):
        raise ValueError(
            "With include_top=True, VGG16 takes input_shape=(224, 224, 3) (its Dense "
            "layers are sized for it); use include_top=False for other sizes. "
            f"Received: input_shape={input_shape!r}"
        )
    if pooling not in (None, "avg", "max"):
        raise ValueError(
            f"`pooling` must be None, 'avg' or 'max'. Received: pooling={pooling!r}"
        )
    if input_tensor is None:
        input_tensor = Input(shape=input_shape or (224, 224, 3), name="input_layer")
        input_tensor.channels_last = True  # Keras's architecture, Keras's layout
    inputs = input_tensor
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
    elif pooling == "max":
        x = GlobalMaxPooling2D(name="global_max_pooling2d")(x)
    model = Model(inputs, x, name="vgg16", seed=seed)
    if weights == "imagenet":
        model.load_weights(vgg16_weights_path(include_top))
    elif weights is not None:
        model.load_weights(weights)  # type: ignore[arg-type]
    return model


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
