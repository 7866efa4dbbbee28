"""Argument checks for ``convlab.nn``, in one place.

Each check returns the converted value or raises the Keras-3-style error that names the
argument, what is allowed and what was received::

    ValueError: `batch_size` must be a positive int. Received: batch_size=0

The messages are API (tests match them by regex): change them only on purpose.
Vocabulary checks live beside their vocabulary and are re-exported here:
:func:`check_activation` (:data:`convlab.nn.ACTIVATIONS`) and :func:`check_initializer`.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

from kernels import _checks

from ._activations import check_activation
from .initializers import check_initializer

__all__ = [
    "Keras2Warning",
    "keras2_note",
    "generator_arguments",
    "is_int",
    "pair",
    "padding_mode",
    "positive_int",
    "positive_float",
    "non_negative_float",
    "unit_float",
    "seed_value",
    "layer_instance",
    "layer_name",
    "conv_padding",
    "pool_padding",
    "momentum_value",
    "epsilon_value",
    "metrics_list",
    "verbose_level",
    "validation_pair",
    "real_array",
    "onehot_labels",
    "sparse_labels",
    "predictions_2d",
    "require_compiled",
    "require_built",
    "check_activation",
    "check_initializer",
]

is_int = _checks._is_int


class Keras2Warning(UserWarning):
    """A Keras 2 (or older) spelling that convlab accepts; the message names the
    modern one. Silence with ``warnings.simplefilter("ignore", Keras2Warning)``."""


def keras2_note(old: str, new: str, stacklevel: int = 3) -> None:
    """One line: ``old`` is Keras 2's spelling, write ``new``."""
    warnings.warn(
        f"{old} is Keras 2's spelling; write {new}.", Keras2Warning, stacklevel
    )


def generator_arguments(y: object, validation_split: float) -> None:
    """With a generator as ``x``, ``y`` and ``validation_split`` must be left out."""
    if y is not None:
        raise ValueError(
            "`y` must be None when `x` is a generator or iterator: the labels come "
            f"from it. Received: y of type {type(y).__name__}"
        )
    if validation_split:
        raise ValueError(
            "`validation_split` only works with arrays; with a generator, pass "
            "`validation_data` (another generator, or ImageDataGenerator's "
            "subset='validation'). Received: "
            f"validation_split={validation_split!r}"
        )


#: kernels' own checks, for the layers' geometry arguments
pair = _checks.pair
padding_mode = _checks.padding_mode


def positive_int(value: object, name: str) -> int:
    """``value`` as an int >= 1."""
    if not is_int(value) or value < 1:  # type: ignore[operator]
        raise ValueError(f"`{name}` must be a positive int. Received: {name}={value!r}")
    return int(value)  # type: ignore[call-overload]


def positive_float(value: object, name: str) -> float:
    """``value`` as a float > 0 (bools refused)."""
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not float(value) > 0
    ):
        raise ValueError(f"`{name}` must be a float > 0. Received: {name}={value!r}")
    return float(value)


def non_negative_float(value: object, name: str) -> float:
    """``value`` as a float >= 0 (bools refused)."""
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not float(value) >= 0
    ):
        raise ValueError(f"`{name}` must be a float >= 0. Received: {name}={value!r}")
    return float(value)


def unit_float(value: object, name: str) -> float:
    """``value`` as a float in [0, 1) (bools refused)."""
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not 0 <= float(value) < 1
    ):
        raise ValueError(
            f"`{name}` must be a float in [0, 1). Received: {name}={value!r}"
        )
    return float(value)


def seed_value(value: object, name: str = "seed", *, allow_none: bool = False) -> int:
    """``value`` as a non-negative int (``Sequential(seed=)`` also allows ``None``,
    which the caller resolves before asking)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
        also = " or None" if allow_none else ""
        raise ValueError(
            f"`{name}` must be a non-negative int{also}. Received: {name}={value!r}"
        )
    return int(value)


def layer_instance(layer: object, layer_class: type | tuple[type, ...]) -> None:
    """``Sequential.add``'s argument must be a ``layer_class`` (``Layer``) instance."""
    if not isinstance(layer, layer_class):
        raise TypeError(
            "`layer` must be a convlab.nn layer such as Conv2D(8, 3). "
            f"Received: layer of type {type(layer).__name__}"
        )


def layer_name(value: object) -> str | None:
    """A layer's ``name=``: ``None`` or a non-empty str."""
    if value is not None and (not isinstance(value, str) or not value):
        raise ValueError(f"`name` must be a non-empty str. Received: name={value!r}")
    return value


def conv_padding(padding: object) -> object:
    """Conv2D's ``padding``: "valid"/"same" or the convlab extras (int, pair,
    4-tuple), resolved by ``kernels``."""
    spec = _checks.padding_spec(padding)
    return spec if isinstance(spec, str) else tuple(spec)


def pool_padding(padding: object) -> str:
    """A pooling layer's ``padding``: "valid" or "same" (any case)."""
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(
            f"`padding` must be 'valid' or 'same'. Received: padding={padding!r}"
        )
    return padding.lower()


def momentum_value(momentum: object) -> float:
    """BatchNormalization's ``momentum``: a float in [0, 1) (bools pass, as before).

    An int above 1 is Chainer's habit (``L.BatchNormalization(96)`` takes the channel
    count): the message says so."""
    if is_int(momentum) and momentum > 1:  # type: ignore[operator]
        raise ValueError(
            "`momentum` must be a float in [0, 1). Received: momentum="
            f"{momentum!r}. convlab infers the channel count; Chainer's "
            f"L.BatchNormalization({momentum!r}) is BatchNormalization()"
        )
    if not isinstance(momentum, numbers.Real) or not 0.0 <= float(momentum) < 1.0:
        raise ValueError(
            f"`momentum` must be a float in [0, 1). Received: momentum={momentum!r}"
        )
    return float(momentum)


def epsilon_value(epsilon: object) -> float:
    """BatchNormalization's ``epsilon``: a float > 0."""
    if not isinstance(epsilon, numbers.Real) or not float(epsilon) > 0.0:
        raise ValueError(
            f"`epsilon` must be a float > 0. Received: epsilon={epsilon!r}"
        )
    return float(epsilon)


def metrics_list(metrics: list[str] | None) -> list[str]:
    """``compile(metrics=)``: nothing, or ``["accuracy"]`` / ``["acc"]``."""
    given = list(metrics or [])
    for metric in given:
        if metric not in ("accuracy", "acc", "binary_accuracy"):
            raise ValueError(
                "`metrics` may only hold 'accuracy' (binary accuracy with "
                f"binary_crossentropy). Received: metrics={given!r}"
            )
    return ["accuracy"] if given else []


def verbose_level(verbose: object) -> int:
    """``fit(verbose=)``: 0, 1, 2 or "auto" (which is 1)."""
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(
            f"`verbose` must be 0, 1, 2 or 'auto'. Received: verbose={verbose!r}"
        )
    return int(verbose)  # type: ignore[call-overload]


def validation_pair(validation_data: object) -> tuple[Any, Any]:
    """``validation_data``: a tuple or list ``(x_val, y_val)``."""
    if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
        raise ValueError(
            "`validation_data` must be a tuple (x_val, y_val). "
            f"Received: validation_data of type {type(validation_data).__name__}"
        )
    return validation_data[0], validation_data[1]


def real_array(x: object, what: str = "x") -> np.ndarray:
    """``x`` must already be a NumPy array of real numbers (or bools)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"`{what}` must be a NumPy array. "
            f"Received: {what} of type {type(x).__name__}"
        )
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool) or np.iscomplexobj(x):
        raise TypeError(
            f"`{what}` must hold real numbers. Received: {what}.dtype={x.dtype}"
        )
    return x


def require_compiled(compiled: bool, what: str) -> None:
    """RuntimeError telling how to call ``compile()`` before ``what()``."""
    if not compiled:
        raise RuntimeError(
            f"You must call `compile()` before `{what}()`, e.g. "
            "model.compile(optimizer='adam', "
            "loss='sparse_categorical_crossentropy', "
            "metrics=['accuracy'])."
        )


def require_built(built: bool, what: str) -> None:
    """ValueError telling how to give a model its input shape before ``what()``."""
    if not built:
        raise ValueError(
            "This model has not yet been built, "
            f"so `{what}()` cannot know the shapes. "
            "Give the first layer an `input_shape=` (e.g. (28, 28, 1)), call "
            "`model.build((28, 28, 1))`, or fit/predict once."
        )


def onehot_labels(y: object, n: int, classes: int | None) -> np.ndarray:
    """Labels for ``categorical_crossentropy``: float32 ``(n, classes)``."""
    arr = np.asarray(y)
    if (
        arr.ndim != 2
        or arr.shape[0] != n
        or (classes is not None and arr.shape[1] != classes)
    ):
        want = f"({n}, {classes if classes is not None else 'classes'})"
        hint = (
            " Integer class labels need loss='sparse_categorical_crossentropy'."
            if arr.ndim == 1
            else ""
        )
        raise ValueError(
            f"categorical_crossentropy expects one-hot labels of shape {want}. "
            f"Received: y.shape={arr.shape}.{hint}"
        )
    return np.ascontiguousarray(arr, np.float32)


def binary_labels(y: object, n: int, outputs: int | None) -> np.ndarray:
    """Labels for ``binary_crossentropy``: float32 ``(n, outputs)`` of values in
    [0, 1] (``(n,)`` accepted for one sigmoid output)."""
    arr = np.asarray(y)
    if arr.ndim == 1 and outputs in (None, 1):
        arr = arr[:, None]
    if (
        arr.ndim != 2
        or arr.shape[0] != n
        or (outputs is not None and arr.shape[1] != outputs)
    ):
        want = f"({n},) or ({n}, 1)" if outputs in (None, 1) else f"({n}, {outputs})"
        raise ValueError(
            f"binary_crossentropy expects labels of shape {want} (0 or 1 per "
            f"sigmoid output). Received: y.shape={arr.shape}"
        )
    if arr.dtype.kind not in "biuf":
        raise ValueError(
            "binary_crossentropy expects numeric labels (0 or 1). "
            f"Received: y.dtype={arr.dtype}"
        )
    out = np.ascontiguousarray(arr, np.float32)
    if out.size and not (np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1):
        raise ValueError(
            "binary_crossentropy expects labels between 0 and 1. Received: values "
            f"from {out.min()} to {out.max()}"
        )
    return out


def sparse_labels(y: object, n: int, classes: int | None) -> np.ndarray:
    """Labels for ``sparse_categorical_crossentropy``: int64 ``(n,)`` in
    ``[0, classes)`` (``(n, 1)`` accepted)."""
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or arr.shape[0] != n:
        hint = (
            " One-hot labels need loss='categorical_crossentropy'."
            if arr.ndim == 2
            else ""
        )
        raise ValueError(
            "sparse_categorical_crossentropy expects integer labels "
            f"of shape ({n},). "
            f"Received: y.shape={np.asarray(y).shape}.{hint}"
        )
    if (
        arr.size
        and not np.issubdtype(arr.dtype, np.integer)
        and not np.all(np.mod(arr, 1) == 0)
    ):
        raise ValueError(
            "sparse_categorical_crossentropy expects integer class labels. "
            f"Received: y of dtype {arr.dtype} with non-integer values"
        )
    labels = arr.astype(np.int64)
    if (
        labels.size
        and classes is not None
        and (labels.min() < 0 or labels.max() >= classes)
    ):
        raise ValueError(
            f"Labels must be in [0, {classes - 1}] "
            f"for a model with {classes} outputs. "
            f"Received: labels from {labels.min()} to {labels.max()}"
        )
    return labels


def predictions_2d(y_pred: object) -> np.ndarray:
    """A loss's ``y_pred``: float32 ``(N, classes)``."""
    pred = np.asarray(y_pred, np.float32)
    if pred.ndim != 2:
        raise ValueError(
            "`y_pred` must have shape (N, classes). "
            f"Received: y_pred.shape={pred.shape}"
        )
    return pred
