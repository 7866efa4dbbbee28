"""``keras.datasets.cifar10``."""

from __future__ import annotations

from convlab.data import datasets as _datasets

__all__ = ["load_data"]


def load_data() -> _datasets.Split:
    """``(x_train, y_train), (x_test, y_test)``: uint8 ``(N, 32, 32, 3)`` and
    ``(N, 1)``, from CIFAR-10's binary archive downloaded on first use
    (checksummed; never unpickled)."""
    return _datasets.load_cifar10()
