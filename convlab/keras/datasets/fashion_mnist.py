"""``keras.datasets.fashion_mnist``."""

from __future__ import annotations

from convlab.data import datasets as _datasets

__all__ = ["load_data"]


def load_data() -> _datasets.Split:
    """``(x_train, y_train), (x_test, y_test)``: uint8 ``(N, 28, 28)`` and ``(N,)``,
    downloaded on first use (checksummed)."""
    return _datasets.load_fashion_mnist()
