"""The training window: build a CNN, train it on MNIST, watch it learn, draw a digit.

:class:`TrainerWidget` is the tab the main window embeds: a thin view of a Qt-free
:class:`convlab.train.run.TrainerRun` (state, data, model, counters, results; the specs,
the mapping to convlab.nn and the training session live in ``convlab.train`` too).
Modules, one concept each: ``controls`` (data, hyperparameters, run buttons),
``panels`` (Training, Activations and Results tabs), ``model_editor`` (presets, layer
list, summary), ``curves``, ``filters_view``, ``activations_view``, ``confusion``,
``predictions``, ``draw_panel``.
"""

from __future__ import annotations

from .widget import TrainerWidget

__all__ = ["TrainerWidget"]
