"""SGD, Adam, RMSprop and Adadelta with Keras's names, defaults and update rules;
updates are in place.

``learning_rate`` is read at every step, so it can be changed while a model trains
(the GUI's slider does that).

SGD (Keras)::

    velocity = momentum * velocity - learning_rate * g
    w += velocity                         (nesterov: w += momentum * velocity - lr * g)

Adam (Keras 3)::

    m += (1 - beta_1) * (g - m);   v += (1 - beta_2) * (g^2 - v)
    w -= learning_rate * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)

RMSprop (Keras 3; ``rho=0.9``, ``epsilon=1e-7``)::

    v = rho * v + (1 - rho) * g^2
    increment = learning_rate * g / sqrt(v + epsilon)     (epsilon *inside* the root)
    w -= increment                  (momentum: b = momentum * b + increment; w -= b)

Adadelta (Zeiler; ``rho=0.95``, ``epsilon=1e-7``, ``learning_rate=1.0``)::

    a = rho * a + (1 - rho) * g^2
    update = g * sqrt(d + epsilon) / sqrt(a + epsilon)
    w -= learning_rate * update
    d = rho * d + (1 - rho) * update^2

The rule is Keras's (2 and 3) and PyTorch's. Defaults: ``rho`` 0.95 and ``epsilon``
1e-7 are tf.keras 2.x's; ``learning_rate`` 1.0 is standalone Keras 2.x's (the
``Adadelta()`` the Keras 2 MNIST tutorial trains with), where tf.keras 2.x and
Keras 3 default to 0.001, with which that tutorial barely moves in 12 epochs.

PyTorch's ``RMSprop`` puts epsilon *outside* the root (``g / (sqrt(v) + eps)``) and
defaults to ``alpha=0.99, eps=1e-8``; the two agree to float32 precision once ``v`` is
well above epsilon, and differ for gradients near zero.

Every optimiser also takes ``decay`` (Keras 2's inverse-time decay, which Keras 3
replaced by schedules): step ``t`` (0-based) uses
``learning_rate / (1 + decay * t)``. The default 0 changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .validation import non_negative_float, positive_float, unit_float

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "RMSprop",
    "Adadelta",
    "get_optimizer",
    "OPTIMIZERS",
]


class Optimizer:
    """Base class: ``apply_gradients(zip(grads, variables))`` updates ``variables`` in
    place."""

    def __init__(self, learning_rate: float, decay: float = 0.0) -> None:
        self.learning_rate = learning_rate
        self.decay = non_negative_float(decay, "decay")
        self.iterations = 0
        self._slots: dict[int, tuple[np.ndarray, ...]] = {}

    @property
    def learning_rate(self) -> float:
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._learning_rate = positive_float(value, "learning_rate")

    def current_learning_rate(self) -> float:
        """The rate the next step uses: ``learning_rate / (1 + decay * iterations)``."""
        if self.decay == 0.0:
            return self.learning_rate
        return self.learning_rate / (1.0 + self.decay * self.iterations)

    def slot_arrays(self) -> list[np.ndarray]:
        """Every state array (velocities, moments) in creation order, for saving."""
        return [array for entry in self._slots.values() for array in entry[1:]]

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
        lr = np.float32(self.current_learning_rate())
        self.iterations += 1
        for grad, var in grads_and_vars:
            self._update(var, grad, lr)

    def _update(self, var: np.ndarray, grad: np.ndarray, lr: np.float32) -> None:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"learning_rate": self.learning_rate}
        if self.decay:
            config["decay"] = self.decay
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum."""

    def __init__(
        self,
        learning_rate: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        decay: float = 0.0,
    ) -> None:
        super().__init__(learning_rate, decay)
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
        decay: float = 0.0,
    ) -> None:
        super().__init__(learning_rate, decay)
        self.beta_1 = unit_float(beta_1, "beta_1")
        self.beta_2 = unit_float(beta_2, "beta_2")
        self.epsilon = positive_float(epsilon, "epsilon")

    def apply_gradients(
        self, grads_and_vars: Iterable[tuple[np.ndarray, np.ndarray]]
    ) -> None:
        t = self.iterations + 1
        self._alpha = np.float32(
            self.current_learning_rate()
            * np.sqrt(1.0 - self.beta_2**t)
            / (1.0 - self.beta_1**t)
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


class RMSprop(Optimizer):
    """RMSprop (Hinton), Keras's defaults and update (see the module docstring for
    where PyTorch's differs)."""

    def __init__(
        self,
        learning_rate: float = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        decay: float = 0.0,
    ) -> None:
        super().__init__(learning_rate, decay)
        self.rho = unit_float(rho, "rho")
        self.momentum = unit_float(momentum, "momentum")
        self.epsilon = positive_float(epsilon, "epsilon")
        self.centered = bool(centered)

    def _update(self, var: np.ndarray, grad: np.ndarray, lr: np.float32) -> None:
        v, mean_g, buf = self._slot(var, 3)
        v *= np.float32(self.rho)
        v += np.float32(1.0 - self.rho) * (grad * grad)
        denominator = v + np.float32(self.epsilon)
        if self.centered:
            mean_g *= np.float32(self.rho)
            mean_g += np.float32(1.0 - self.rho) * grad
            denominator -= mean_g * mean_g
        increment = lr * grad / np.sqrt(denominator)
        if self.momentum > 0.0:
            buf *= np.float32(self.momentum)
            buf += increment
            var -= buf
        else:
            var -= increment

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012), Keras 2's defaults (see the module docstring for the
    rule and where the defaults come from)."""

    def __init__(
        self,
        learning_rate: float = 1.0,
        rho: float = 0.95,
        epsilon: float = 1e-7,
        decay: float = 0.0,
    ) -> None:
        super().__init__(learning_rate, decay)
        self.rho = unit_float(rho, "rho")
        self.epsilon = positive_float(epsilon, "epsilon")

    def _update(self, var: np.ndarray, grad: np.ndarray, lr: np.float32) -> None:
        accum_grad, accum_update = self._slot(var, 2)
        rho, eps = np.float32(self.rho), np.float32(self.epsilon)
        accum_grad *= rho
        accum_grad += (np.float32(1.0) - rho) * (grad * grad)
        update = grad * np.sqrt(accum_update + eps) / np.sqrt(accum_grad + eps)
        var -= lr * update
        accum_update *= rho
        accum_update += (np.float32(1.0) - rho) * (update * update)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adam": Adam,
    "rmsprop": RMSprop,
    "adadelta": Adadelta,
}


def get_optimizer(optimizer: object) -> Optimizer:
    """``"sgd"``/``"adam"``/``"rmsprop"`` (Keras defaults) or an :class:`Optimizer`
    instance."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]()
    raise ValueError(
        "`optimizer` must be 'sgd', 'adam', 'rmsprop', 'adadelta' or an optimizer "
        "instance such as "
        f"Adam(learning_rate=1e-3). Received: optimizer={optimizer!r}"
    )
