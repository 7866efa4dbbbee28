"""SGD and Adam with Keras's names, defaults and update rules; updates are in place.

``learning_rate`` is read at every step, so it can be changed while a model trains
(the GUI's slider does that).

SGD (Keras)::

    velocity = momentum * velocity - learning_rate * g
    w += velocity                         (nesterov: w += momentum * velocity - lr * g)

Adam (Keras 3)::

    m += (1 - beta_1) * (g - m);   v += (1 - beta_2) * (g^2 - v)
    w -= learning_rate * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .validation import positive_float, unit_float

__all__ = ["Optimizer", "SGD", "Adam", "get_optimizer", "OPTIMIZERS"]


class Optimizer:
    """Base class: ``apply_gradients(zip(grads, variables))`` updates ``variables`` in
    place."""

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = learning_rate
        self.iterations = 0
        self._slots: dict[int, tuple[np.ndarray, ...]] = {}

    @property
    def learning_rate(self) -> float:
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._learning_rate = positive_float(value, "learning_rate")

    def _slot(self, var: np.ndarray, count: int) -> tuple[np.ndarray, ...]:
        # keyed by identity; the variable itself is kept so its id cannot be reused
        entry = self._slots.get(id(var))
        if entry is None or entry[0] is not var:
            entry = (var, *(np.zeros_like(var) for _ in range(count)))
            self._slots[id(var)] = entry
        return entry[1:]

    def apply_gradients(
        self, grads_and_vars: Iterable[tuple[np.ndarray, np.ndarray]]
    ) -> None:
        self.iterations += 1
        lr = np.float32(self.learning_rate)
        for grad, var in grads_and_vars:
            self._update(var, grad, lr)

    def _update(self, var: np.ndarray, grad: np.ndarray, lr: np.float32) -> None:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {"learning_rate": self.learning_rate}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum."""

    def __init__(
        self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False
    ) -> None:
        super().__init__(learning_rate)
        self.momentum = unit_float(momentum, "momentum")
        self.nesterov = bool(nesterov)

    def _update(self, var: np.ndarray, grad: np.ndarray, lr: np.float32) -> None:
        if self.momentum == 0.0:
            var -= lr * grad
            return
        (velocity,) = self._slot(var, 1)
        mu = np.float32(self.momentum)
        velocity *= mu
        velocity -= lr * grad
        if self.nesterov:
            var += mu * velocity - lr * grad
        else:
            var += velocity

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "momentum": self.momentum,
            "nesterov": self.nesterov,
        }


class Adam(Optimizer):
    """Adam (Kingma and Ba), Keras's defaults."""

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
    ) -> None:
        super().__init__(learning_rate)
        self.beta_1 = unit_float(beta_1, "beta_1")
        self.beta_2 = unit_float(beta_2, "beta_2")
        self.epsilon = positive_float(epsilon, "epsilon")

    def apply_gradients(
        self, grads_and_vars: Iterable[tuple[np.ndarray, np.ndarray]]
    ) -> None:
        t = self.iterations + 1
        self._alpha = np.float32(
            self.learning_rate * np.sqrt(1.0 - self.beta_2**t) / (1.0 - self.beta_1**t)
        )
        super().apply_gradients(grads_and_vars)

    def _update(self, var: np.ndarray, grad: np.ndarray, lr: np.float32) -> None:
        m, v = self._slot(var, 2)
        m += np.float32(1.0 - self.beta_1) * (grad - m)
        v += np.float32(1.0 - self.beta_2) * (grad * grad - v)
        step = np.sqrt(v)
        step += np.float32(self.epsilon)
        np.divide(m, step, out=step)
        step *= self._alpha
        var -= step

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam}


def get_optimizer(optimizer: object) -> Optimizer:
    """``"sgd"``/``"adam"`` (Keras defaults) or an :class:`Optimizer` instance."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]()
    raise ValueError(
        "`optimizer` must be 'sgd', 'adam' or an optimizer instance such as "
        f"Adam(learning_rate=1e-3). Received: optimizer={optimizer!r}"
    )
