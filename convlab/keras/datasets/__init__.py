"""``keras.datasets``: ``mnist``, ``fashion_mnist``, ``cifar10``, each with
``load_data()`` (see :mod:`convlab.data.datasets` for where the data comes from)."""

from __future__ import annotations

from . import cifar10, fashion_mnist, mnist

__all__ = ["mnist", "fashion_mnist", "cifar10"]
