"""A dependency-free progress line for terminals; it lives in
:mod:`convlab.nn.progress` (``fit`` prints it too) and keeps its names here."""

from __future__ import annotations

from convlab.nn.progress import ProgressLine, format_seconds

__all__ = ["ProgressLine", "format_seconds"]
