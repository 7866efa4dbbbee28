"""``keras.datasets.mnist``."""

from __future__ import annotations

from convlab.data import datasets as _datasets

__all__ = ["load_data"]


def load_data() -> _datasets.Split:
    """``(x_train, y_train), (x_test, y_test)``: uint8 ``(N, 28, 28)`` and ``(N,)``,
    the full MNIST when it is on this machine, else the bundled subset (a one-line
    note on stderr says which)."""
    return _datasets.load_mnist()
