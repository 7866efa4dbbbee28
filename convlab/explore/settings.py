"""The explorer's vocabularies and its one input, the frozen :class:`Settings`.

Every name a control may take is defined once here (padding modes and the largest
kernel side come from :mod:`kernels` and :mod:`convlab.data.filters`, which own them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import kernels
from convlab.data.filters import MAX_KERNEL_SIDE

__all__ = [
    "ACTIVATIONS",
    "POOLS",
    "PADDINGS",
    "PADDING_MODES",
    "CHANNELS",
    "STAGES",
    "MAX_KERNEL_SIDE",
    "Filter",
    "Settings",
    "InvalidSettings",
]

#: The explorer's activations: name -> what the menu shows.
ACTIVATIONS = {
    "none": "None (linear)",
    "relu": "ReLU  max(0, z)",
    "leaky_relu": "Leaky ReLU  z if z > 0 else a·z",
    "sigmoid": "Sigmoid  1 / (1 + e^-z)",
    "tanh": "tanh(z)",
    "abs": "|z|  (absolute value)",
}
#: Pooling kinds: name -> what the menu shows.
POOLS = {"none": "No pooling", "max": "Max pooling", "avg": "Average pooling"}
#: ``Settings.padding`` and ``Settings.pool_padding``.
PADDINGS = ("valid", "same", "explicit")
#: What padded cells contain (PyTorch's ``padding_mode``), as :mod:`kernels` spells it.
PADDING_MODES = kernels.PADDING_MODES
#: ``Settings.channels``: how a 2-D kernel becomes a Conv2D weight on C channels.
CHANNELS = ("mean", "sum")
#: The stages of every filter's maps, in order.
STAGES = ("conv", "activation", "pooled")


@dataclass(frozen=True, eq=False)
class Filter:
    """One filter of the bank: a 2-D kernel ``(KH, KW)`` and a bias."""

    name: str
    kernel: np.ndarray
    bias: float = 0.0

    def __post_init__(self) -> None:
        k = np.array(self.kernel, dtype=np.float32, copy=True)
        side = MAX_KERNEL_SIDE
        if k.ndim != 2 or not (1 <= k.shape[0] <= side and 1 <= k.shape[1] <= side):
            raise ValueError(
                f"`kernel` must be a 2-D array with 1 to {side} rows and columns. "
                f"Received: kernel.shape={k.shape}"
            )
        k.setflags(write=False)
        object.__setattr__(self, "kernel", k)
        object.__setattr__(self, "bias", float(self.bias))


@dataclass(frozen=True, eq=False)
class Settings:
    """Every control of the explorer, as plain values.

    ``padding`` is ``"valid"``, ``"same"`` (Keras) or ``"explicit"``, in which case
    ``explicit_padding = (top, bottom, left, right)`` applies. Pooling padding likewise
    with ``pool_explicit_padding = (pad_h, pad_w)``.
    """

    filters: tuple[Filter, ...] = ()
    stride: tuple[int, int] = (1, 1)
    padding: str = "same"
    explicit_padding: tuple[int, int, int, int] = (1, 1, 1, 1)
    padding_mode: str = "zeros"
    dilation: tuple[int, int] = (1, 1)
    activation: str = "relu"
    negative_slope: float = 0.1
    pool: str = "max"
    pool_size: tuple[int, int] = (2, 2)
    pool_stride: tuple[int, int] = (2, 2)
    pool_padding: str = "valid"
    pool_explicit_padding: tuple[int, int] = (0, 0)
    ceil_mode: bool = False
    channels: str = "mean"

    def conv_padding(self) -> str | tuple[int, int, int, int]:
        """The ``padding`` argument for :func:`kernels.conv2d`."""
        if self.padding == "explicit":
            top, bottom, left, right = self.explicit_padding
            return (top, bottom, left, right)
        return self.padding

    def pool_padding_arg(self) -> str | tuple[int, int]:
        """The ``padding`` argument for the pooling kernels."""
        if self.pool_padding == "explicit":
            pad_h, pad_w = self.pool_explicit_padding
            return (pad_h, pad_w)
        return self.pool_padding


class InvalidSettings(ValueError):
    """Raised by :func:`~convlab.explore.compute` for settings the plan rejects;
    ``problems`` lists ``(control_name, message)``."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(" ".join(message for _, message in problems))
        self.problems = problems
