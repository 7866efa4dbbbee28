"""Cross-entropy losses, with the softmax fused into the gradient when the model ends
in one.

For logits ``z`` and targets ``y`` (one-hot or class indices), the mean cross-entropy
over a batch of ``N`` is ``-1/N sum_i log softmax(z_i)[y_i]``, computed as
``z - logsumexp(z)`` so it never takes ``log(0)``. Its gradient with respect to ``z`` is
``(softmax(z) - onehot(y)) / N``: simple, bounded, and the reason a model whose last
layer has ``activation="softmax"`` trains through this fused path rather than through
``softmax'`` and ``1 / p`` separately.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import validation
from ._activations import log_softmax, softmax

__all__ = [
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "BinaryCrossentropy",
    "binary_crossentropy",
    "get_loss",
    "LOSSES",
]

_EPS = 1e-7  # Keras's epsilon: probabilities are clipped to [eps, 1 - eps]


class _Crossentropy:
    sparse: bool = False
    name: str = ""

    def __init__(self, from_logits: bool = False) -> None:
        self.from_logits = bool(from_logits)

    def check_labels(self, y: object, n: int, classes: int | None) -> np.ndarray:
        """Validate labels for ``n`` samples; returns int64 (N,) or float32 (N, K)."""
        raise NotImplementedError

    def _targets(self, y: np.ndarray, k: int) -> np.ndarray:
        if not self.sparse:
            return y
        onehot = np.zeros((len(y), k), np.float32)
        onehot[np.arange(len(y)), y] = 1.0
        return onehot

    def from_logits_value_and_grad(
        self, z: np.ndarray, y: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Mean loss and ``dL/dz = (softmax(z) - y) / N`` for logits ``z (N, K)``."""
        n = z.shape[0]
        if self.sparse:
            logp = log_softmax(z.astype(np.float64))
            loss = -logp[np.arange(n), y].mean()
            grad = softmax(z)
            grad[np.arange(n), y] -= 1.0
        else:
            logp = log_softmax(z.astype(np.float64))
            loss = -(y * logp).sum(axis=1).mean()
            grad = softmax(z) - y
        grad /= np.float32(n)
        return float(loss), grad.astype(np.float32, copy=False)

    def from_probs_value_and_grad(
        self, p: np.ndarray, y: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Mean loss and ``dL/dp = -y / (N p)`` for probabilities ``p`` (clipped as
        Keras)."""
        n, k = p.shape
        target = self._targets(y, k)
        clipped = np.clip(p, _EPS, 1.0 - _EPS)
        loss = -(target * np.log(clipped.astype(np.float64))).sum(axis=1).mean()
        grad = -target / clipped / np.float32(n)
        grad[(p < _EPS) | (p > 1.0 - _EPS)] = 0.0  # the clip has zero slope there
        return float(loss), grad.astype(np.float32, copy=False)

    def value_and_grad(
        self, out: np.ndarray, y: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Mean loss and its gradient w.r.t. ``out``: logits when ``from_logits``,
        probabilities otherwise."""
        if self.from_logits:
            return self.from_logits_value_and_grad(out, y)
        return self.from_probs_value_and_grad(out, y)

    def __call__(self, y_true: object, y_pred: object) -> float:
        """Mean loss for labels ``y_true`` and model outputs ``y_pred`` (Keras's call
        order)."""
        pred = validation.predictions_2d(y_pred)
        y = self.check_labels(y_true, pred.shape[0], pred.shape[1])
        return self.value_and_grad(pred, y)[0]

    def get_config(self) -> dict[str, Any]:
        return {"from_logits": self.from_logits}


class CategoricalCrossentropy(_Crossentropy):
    """Cross-entropy for one-hot (or soft) labels of shape ``(N, classes)``."""

    name = "categorical_crossentropy"

    def check_labels(self, y: object, n: int, classes: int | None) -> np.ndarray:
        return validation.onehot_labels(y, n, classes)


class SparseCategoricalCrossentropy(_Crossentropy):
    """Cross-entropy for integer class labels of shape ``(N,)`` (or ``(N, 1)``)."""

    name = "sparse_categorical_crossentropy"
    sparse = True

    def check_labels(self, y: object, n: int, classes: int | None) -> np.ndarray:
        return validation.sparse_labels(y, n, classes)


class BinaryCrossentropy(_Crossentropy):
    """Keras's ``binary_crossentropy`` for sigmoid outputs ``(N, K)`` (usually
    ``K = 1``) and labels 0/1 of shape ``(N,)`` or ``(N, K)``.

    ``-[y log p + (1 - y) log(1 - p)]``, averaged over the K outputs, then over the
    batch. From probabilities, ``p`` is clipped to ``[1e-7, 1 - 1e-7]`` as Keras does;
    from logits ``z`` it is ``max(z, 0) - z y + log(1 + exp(-|z|))``, which never
    overflows. A model ending in ``activation="sigmoid"`` trains through the logits
    (as tf.keras does for a sigmoid output), so a saturated sigmoid still has a
    gradient. ``metrics=["accuracy"]`` is then Keras's binary accuracy: the share of
    outputs where ``p > 0.5`` (``z > 0`` from logits) equals the label.
    """

    name = "binary_crossentropy"
    fused_activation = "sigmoid"

    def check_labels(self, y: object, n: int, classes: int | None) -> np.ndarray:
        return validation.binary_labels(y, n, classes)

    def from_logits_value_and_grad(
        self, z: np.ndarray, y: np.ndarray
    ) -> tuple[float, np.ndarray]:
        z64 = z.astype(np.float64)
        per = np.maximum(z64, 0) - z64 * y + np.log1p(np.exp(-np.abs(z64)))
        grad = (1.0 / (1.0 + np.exp(-z64)) - y) / z.size
        return float(per.mean()), grad.astype(np.float32)

    def from_probs_value_and_grad(
        self, p: np.ndarray, y: np.ndarray
    ) -> tuple[float, np.ndarray]:
        clipped = np.clip(p, _EPS, 1.0 - _EPS).astype(np.float64)
        per = -(y * np.log(clipped) + (1.0 - y) * np.log(1.0 - clipped))
        grad = (-(y / clipped) + (1.0 - y) / (1.0 - clipped)) / p.size
        grad[(p < _EPS) | (p > 1.0 - _EPS)] = 0.0  # the clip has zero slope there
        return float(per.mean()), grad.astype(np.float32)

    def per_sample(self, y: np.ndarray, out: np.ndarray) -> np.ndarray:
        if self.from_logits:
            z = out.astype(np.float64)
            per = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        else:
            p = np.clip(out, _EPS, 1.0 - _EPS).astype(np.float64)
            per = -(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))
        return per.mean(axis=1).astype(np.float32)

    def correct(self, out: np.ndarray, y: np.ndarray) -> float:
        """Keras's ``binary_accuracy`` summed over the batch: per sample, the share
        of outputs whose thresholded value equals the label."""
        predicted = (out > (0.0 if self.from_logits else 0.5)).astype(np.float32)
        share = (predicted == y).mean(axis=1)
        return float(share.sum())


LOSSES = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
}


def categorical_crossentropy(
    y_true: object, y_pred: object, from_logits: bool = False
) -> np.ndarray:
    """Per-sample cross-entropy for one-hot ``y_true`` (Keras's function): float32
    ``(N,)``. Also accepted by ``compile(loss=...)``."""
    return _per_sample(CategoricalCrossentropy(from_logits), y_true, y_pred)


def sparse_categorical_crossentropy(
    y_true: object, y_pred: object, from_logits: bool = False
) -> np.ndarray:
    """Per-sample cross-entropy for integer ``y_true`` (Keras's function): float32
    ``(N,)``. Also accepted by ``compile(loss=...)``."""
    return _per_sample(SparseCategoricalCrossentropy(from_logits), y_true, y_pred)


def binary_crossentropy(
    y_true: object, y_pred: object, from_logits: bool = False
) -> np.ndarray:
    """Per-sample binary cross-entropy, averaged over the outputs (Keras's
    function): float32 ``(N,)``. Also accepted by ``compile(loss=...)``."""
    return _per_sample(BinaryCrossentropy(from_logits), y_true, y_pred)


def _per_sample(loss: _Crossentropy, y_true: object, y_pred: object) -> np.ndarray:
    pred = validation.predictions_2d(y_pred)
    labels = loss.check_labels(y_true, len(pred), pred.shape[1])
    if isinstance(loss, BinaryCrossentropy):
        return loss.per_sample(labels, pred)
    logp = (
        log_softmax(pred.astype(np.float64))
        if loss.from_logits
        else np.log(np.clip(pred, _EPS, 1.0 - _EPS).astype(np.float64))
    )
    target = loss._targets(labels, pred.shape[1])
    return (-(target * logp).sum(axis=1)).astype(np.float32)


def get_loss(loss: object) -> _Crossentropy:
    if isinstance(loss, _Crossentropy):
        return loss
    if isinstance(loss, str) and loss in LOSSES:
        return LOSSES[loss]()
    if callable(loss) and getattr(loss, "__name__", None) in LOSSES:
        return LOSSES[loss.__name__]()  # keras.losses.categorical_crossentropy
    raise ValueError(
        f"`loss` must be one of {', '.join(repr(name) for name in LOSSES)} "
        "or a loss instance. "
        f"Received: loss={loss!r}"
    )
