"""A Keras-shaped face of convlab: replace ``keras`` by ``convlab.keras`` in a
tutorial's imports (``import keras`` by ``from convlab import keras``) and it runs on
convlab.

The modules mirror Keras's: :mod:`.models`, :mod:`.layers`, :mod:`.optimizers`,
:mod:`.losses`, :mod:`.utils`, :mod:`.datasets`, :mod:`.callbacks`,
:mod:`.preprocessing.image`. Everything here is a re-export or an argument
translation (``lr=`` -> ``learning_rate=``); the implementation is convlab.nn's,
convlab.data's and kernels'. Keras 2 spellings work and say, once, with a
:class:`Keras2Warning`, what the modern spelling is.
"""

from __future__ import annotations

from . import (
    applications,
    backend,
    callbacks,
    datasets,
    layers,
    losses,
    models,
    optimizers,
    preprocessing,
    utils,
)
from ._compat import Keras2Warning
from .layers import Input
from .models import Model, Sequential

__all__ = [
    "Keras2Warning",
    "Input",
    "Model",
    "Sequential",
    "applications",
    "backend",
    "callbacks",
    "datasets",
    "layers",
    "losses",
    "models",
    "optimizers",
    "preprocessing",
    "utils",
]
