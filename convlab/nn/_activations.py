"""Element-wise activations used inside layers: forward and backward side by side.

Each backward takes the activation's *output* ``a`` (not its input), so a layer keeps
one array per activation: ``relu'(z) = [a > 0]``, ``sigmoid' = a (1 - a)``,
``tanh' = 1 - a^2``.
Softmax works over axis 1 (classes for ``(N, K)``, channels for ``(N, C, H, W)``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from kernels._warmup import ops  # kernels, or NumPy while they compile

ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax")


def check_activation(value: object, name: str = "activation") -> str:
    """``None`` -> ``"linear"``; otherwise one of :data:`ACTIVATIONS`
    (case-insensitive)."""
    if value is None:
        return "linear"
    if isinstance(value, str) and value.lower() in ACTIVATIONS:
        return value.lower()
    raise ValueError(
        f"`{name}` must be None or one of {', '.join(repr(a) for a in ACTIVATIONS)}. "
        f"Received: {name}={value!r}"
    )


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over axis 1, shifted by the maximum so ``exp`` cannot overflow."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


def log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # 1 / (1 + exp(-z)) overflows for z << 0; tanh form is stable everywhere
    return (np.float32(0.5) * (np.tanh(np.float32(0.5) * z) + np.float32(1.0))).astype(
        np.float32, copy=False
    )


def _linear_backward(grad: np.ndarray, a: np.ndarray) -> np.ndarray:
    return grad


def _relu(z: np.ndarray) -> np.ndarray:
    return ops.relu(z)


def _relu_backward(grad: np.ndarray, a: np.ndarray) -> np.ndarray:
    return ops.relu_backward(grad, a)  # a > 0 exactly where z > 0


def _sigmoid_backward(grad: np.ndarray, a: np.ndarray) -> np.ndarray:
    return grad * a * (np.float32(1.0) - a)


def _tanh_backward(grad: np.ndarray, a: np.ndarray) -> np.ndarray:
    return grad * (np.float32(1.0) - a * a)


def _softmax_backward(grad: np.ndarray, a: np.ndarray) -> np.ndarray:
    # Jacobian-vector product of softmax: a * (g - <g, a>)
    return a * (grad - (grad * a).sum(axis=1, keepdims=True))


FORWARD: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda z: z,
    "relu": _relu,
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "softmax": softmax,
}

BACKWARD: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "linear": _linear_backward,
    "relu": _relu_backward,
    "sigmoid": _sigmoid_backward,
    "tanh": _tanh_backward,
    "softmax": _softmax_backward,
}
