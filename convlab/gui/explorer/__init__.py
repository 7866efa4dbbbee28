"""The explorer tab: an image, a filter bank and a geometry in; live feature maps out.

Modules by concept: :mod:`.settings` (widgets -> frozen settings), :mod:`.controls`
(geometry controls with inline errors, output shapes and formulas),
:mod:`.kernel_editor`, :mod:`.filter_bank`, :mod:`.feature_grid` (the maps),
:mod:`.microscope` (the numbers behind one pixel), :mod:`.colormaps`, and :mod:`.widget`
(the tab that puts them together).
"""

from __future__ import annotations

from .widget import ExplorerWidget

__all__ = ["ExplorerWidget"]
