"""Element-wise activations and their backward passes.

PLACEHOLDER: the kernels work (issue 2) implements these behind the same signatures.
"""

from __future__ import annotations

__all__ = ["relu", "relu_backward"]


def relu(x):
    raise NotImplementedError


def relu_backward(grad_out, x):
    raise NotImplementedError
