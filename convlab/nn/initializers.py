"""Weight initialisers (Keras names), drawn from a caller-supplied NumPy ``Generator``.

convlab's default (``kernel_initializer="auto"``) is **He uniform** for layers whose
activation is ReLU and **Glorot uniform** (Keras's default) otherwise: He keeps the
variance of ReLU activations from shrinking layer after layer, which lets the presets
train quickly from the first step. Biases start at zero, as in Keras.

Fan-in and fan-out: for a Dense kernel ``(in, out)`` they are ``in`` and ``out``; for a
convolution kernel ``(F, C, KH, KW)`` they are ``C*KH*KW`` and ``F*KH*KW``.
"""

from __future__ import annotations

import numpy as np

INITIALIZERS = (
    "auto",
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "zeros",
)


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a Dense ``(in, out)`` or convolution ``(F, C, KH, KW)``
    kernel."""
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


def check_initializer(value: object, name: str = "kernel_initializer") -> str:
    if isinstance(value, str) and value in INITIALIZERS:
        return value
    raise ValueError(
        f"`{name}` must be one of {', '.join(repr(i) for i in INITIALIZERS)}. "
        f"Received: {name}={value!r}"
    )


def initialize(
    kind: str,
    shape: tuple[int, ...],
    rng: np.random.Generator,
    activation: str = "linear",
) -> np.ndarray:
    """A float32 array of ``shape`` drawn with initialiser ``kind``.

    >>> w = initialize("he_uniform", (100, 50), np.random.default_rng(0))
    >>> w.dtype, bool(abs(w).max() <= np.sqrt(6 / 100))
    (dtype('float32'), True)
    """
    if kind == "auto":
        kind = "he_uniform" if activation == "relu" else "glorot_uniform"
    fan_in, fan_out = fans(shape)
    if kind == "zeros":
        return np.zeros(shape, np.float32)
    if kind == "glorot_uniform":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-limit, limit, shape)
    elif kind == "he_uniform":
        limit = np.sqrt(6.0 / fan_in)
        w = rng.uniform(-limit, limit, shape)
    elif kind == "glorot_normal":
        w = _truncated_normal(rng, np.sqrt(2.0 / (fan_in + fan_out)), shape)
    elif kind == "he_normal":
        w = _truncated_normal(rng, np.sqrt(2.0 / fan_in), shape)
    else:
        check_initializer(kind)  # raises for unknown names
        raise AssertionError(kind)
    return w.astype(np.float32)


def _truncated_normal(
    rng: np.random.Generator, std: float, shape: tuple[int, ...]
) -> np.ndarray:
    # Keras truncates at 2 standard deviations; 0.8796 restores the requested std
    scale = std / 0.87962566103423978
    w = rng.standard_normal(shape)
    bad = np.abs(w) > 2
    while bad.any():
        w[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(w) > 2
    return w * scale
