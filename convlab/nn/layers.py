"""Layers with Keras names and arguments, each with ``forward`` and ``backward`` side
by side.

Conventions
-----------
* Internally every image tensor is float32 **NCHW** ``(N, C, H, W)``; shapes without the
  batch axis (``sample_input_shape``, ``sample_output_shape``, and ``input_shape``,
  ``output_shape`` of a convlab.nn layer) are ``(C, H, W)`` or ``(features,)``. Layers
  of the Keras face show ``input_shape``/``output_shape`` as Keras does, with the batch
  axis in the model's layout: ``(None, H, W, C)``.
* ``input_shape=`` accepts Keras's habit too; see :func:`sample_shape`.
* ``forward(x, training)`` keeps what ``backward`` needs only when ``training`` is true;
  ``backward(grad)`` returns the gradient for the layer's input and stores parameter
  gradients in ``layer.grads`` (same keys as ``layer.params``).
* Trainable arrays live in ``layer.params`` (``"kernel"``, ``"bias"``, ``"gamma"``,
  ``"beta"``); non-trainable ones (BatchNormalization's moving statistics) in
  ``layer.state``. Optimisers update them in place, so references stay valid.
* Layouts: a Conv2D kernel is ``(filters, in_channels, KH, KW)`` (PyTorch's layout;
  Keras stores ``(KH, KW, in, filters)``); a Dense kernel is ``(in_features, units)`` as
  in Keras.
* :class:`Flatten` follows the model's layout: channel-major (C, H, W) in a
  channels-first model, as PyTorch; rows, columns, then channels (H, W, C) in a
  channels-last one, as Keras, so a Dense after it has Keras's weight layout.
"""

from __future__ import annotations

from .base_layer import KernelBiasLayer, Layer, shape_text
from .conv_layers import (
    AveragePooling2D,
    Conv2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPooling2D,
)
from .core_layers import (
    Activation,
    BatchNormalization,
    Dense,
    Dropout,
    Flatten,
    InputLayer,
    ReLU,
)
from .data_adapter import is_channels_last, sample_shape

__all__ = [
    "Layer",
    "KernelBiasLayer",
    "InputLayer",
    "Conv2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "Flatten",
    "Dense",
    "Activation",
    "ReLU",
    "Dropout",
    "BatchNormalization",
    "sample_shape",
    "is_channels_last",
    "shape_text",
    "LAYER_CLASSES",
]

#: class name -> class, for loading saved models
LAYER_CLASSES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (
        InputLayer,
        Conv2D,
        MaxPooling2D,
        AveragePooling2D,
        GlobalAveragePooling2D,
        GlobalMaxPooling2D,
        Flatten,
        Dense,
        Activation,
        ReLU,
        Dropout,
        BatchNormalization,
    )
}
