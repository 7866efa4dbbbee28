"""A small Keras-style neural-network library on the ``kernels`` package.

>>> from convlab.nn import Sequential, Conv2D, MaxPooling2D, Flatten, Dense
>>> model = Sequential([Conv2D(8, 3, activation="relu", input_shape=(28, 28, 1)),
...                     MaxPooling2D(2), Flatten(), Dense(10, activation="softmax")])
>>> model.output_shape
(10,)

See :mod:`convlab.nn.data_adapter` for the input layouts accepted (NCHW inside, Keras's
NHWC habit understood), :mod:`convlab.nn.layers` for the layers,
:mod:`convlab.nn.trainer` for training (``fit``, ``fit_events`` and the per-batch
steps), :mod:`convlab.nn.validation` for the argument checks,
:mod:`convlab.nn.saving` for the file format and :mod:`convlab.nn.presets` for
ready-made models.
"""

from __future__ import annotations

from ._activations import ACTIVATIONS
from .data_adapter import ArrayDataAdapter
from .events import EpochEvent, FinishedEvent, StepEvent
from .functional import Input, Model, SymbolicTensor
from .layers import (
    Activation,
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    InputLayer,
    Layer,
    MaxPooling2D,
    ReLU,
)
from .losses import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
)
from .model import History, Sequential
from .optimizers import SGD, Adadelta, Adam, Optimizer, RMSprop
from .saving import ModelFileError, load_model
from .trainer import Trainer

__all__ = [
    "ACTIVATIONS",
    "Sequential",
    "Model",
    "Input",
    "InputLayer",
    "SymbolicTensor",
    "History",
    "Trainer",
    "ArrayDataAdapter",
    "StepEvent",
    "EpochEvent",
    "FinishedEvent",
    "Layer",
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
    "SGD",
    "Adam",
    "RMSprop",
    "Adadelta",
    "Optimizer",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "BinaryCrossentropy",
    "load_model",
    "ModelFileError",
]
