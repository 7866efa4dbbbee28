"""The training window: build a CNN, train it on MNIST, watch it learn, draw a digit.

:class:`TrainerWidget` is the tab the main window embeds. Modules, one concept each:
``model_editor`` (presets, layer list, summary), ``specs``/``engine`` (editor specs and
the mapping to convlab.nn), ``session`` (what runs on the training thread), ``curves``,
``filters_view``, ``activations_view``, ``confusion``, ``predictions``, ``draw_panel``.
"""

from __future__ import annotations

from .widget import TrainerWidget

__all__ = ["TrainerWidget"]
