"""From the caller's arrays to the model's batches: layouts, labels, batching,
shuffling and the validation split (Keras 3 keeps these in its data adapters).

Layouts
-------
Image batches come in three layouts and are converted, batch by batch, to float32
NCHW (:func:`to_model_input`); :func:`infer_layout` says which one an array is in:

* ``"nhw"``: ``(N, H, W)`` grey images (MNIST as loaded), read as ``(N, 1, H, W)``;
* ``"nhwc"``: ``(N, H, W, C)`` with ``C`` 1 or 3 and ``H, W > 3`` (Keras's habit);
* ``"nchw"``: anything else of rank 4 (PyTorch's layout, used inside);
* ``"hw"``: one image ``(H, W)``, for a model that takes images;
* ``"flat"``: ``(N, D)`` feature vectors.

``uint8`` arrays are pixel values and are scaled to ``[0, 1]``; other dtypes are used
as they are. Batches are converted one at a time, so ``x`` may stay uint8.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .validation import is_int, real_array

__all__ = [
    "LAYOUTS",
    "ArrayDataAdapter",
    "GeneratorDataAdapter",
    "is_batch_source",
    "infer_layout",
    "is_channels_last",
    "sample_shape",
    "split_validation",
    "to_categorical",
    "to_model_input",
]

LAYOUTS = ("flat", "hw", "nhw", "nhwc", "nchw")


def is_channels_last(dims: tuple[int, ...]) -> bool:
    """True for a per-sample ``(H, W, C)`` with ``C`` in (1, 3) and ``H, W > 3``."""
    return len(dims) == 3 and dims[2] in (1, 3) and dims[0] > 3 and dims[1] > 3


def sample_shape(shape: object, name: str = "input_shape") -> tuple[int, ...]:
    """Per-sample shape (no batch axis) -> convlab's internal ``(C, H, W)`` or ``(D,)``.

    The rule, the same one :func:`infer_layout` applies to batches:

    * ``(D,)`` stays a feature vector;
    * ``(H, W)`` is a grey image: ``(1, H, W)``;
    * ``(H, W, C)`` with ``C`` 1 or 3 and ``H, W > 3`` is Keras's channels-last habit:
      ``(C, H, W)``;
    * any other ``(A, B, C)`` is already ``(C, H, W)``.

    >>> sample_shape((28, 28)), sample_shape((28, 28, 1)), sample_shape((1, 28, 28))
    ((1, 28, 28), (1, 28, 28), (1, 28, 28))
    >>> sample_shape((32, 32, 3)), sample_shape((784,))
    ((3, 32, 32), (784,))
    """
    if (
        not isinstance(shape, tuple | list)
        or not 1 <= len(shape) <= 3
        or not all(is_int(v) and v > 0 for v in shape)
    ):
        raise ValueError(
            f"`{name}` must be a tuple of 1 to 3 positive ints such as (28, 28, 1), "
            f"(1, 28, 28), (28, 28) or (784,). Received: {name}={shape!r}"
        )
    dims = tuple(int(v) for v in shape)
    if len(dims) == 1:
        return dims
    if len(dims) == 2:
        return (1, *dims)
    if is_channels_last(dims):
        return (dims[2], dims[0], dims[1])
    return dims


def infer_layout(
    x: object,
    input_shape: tuple[int, ...] | None,
    what: str = "x",
    channels_last: bool = False,
) -> tuple[str, tuple[int, ...]]:
    """How to read ``x`` for a model with per-sample ``input_shape`` (``None`` when
    not built yet): ``(layout, per-sample shape in the model's layout)``.

    The caller compares the per-sample shape with its own; this function only reads
    ``x``. ``channels_last`` (a model declared in Keras's layout, such as
    ``convlab.keras``'s) reads every rank-4 batch as ``(N, H, W, C)``, whatever ``C``.

    >>> infer_layout(np.zeros((5, 28, 28, 1), np.uint8), None)
    ('nhwc', (1, 28, 28))
    >>> infer_layout(np.zeros((28, 28)), (1, 28, 28))
    ('hw', (1, 28, 28))
    """
    x = real_array(x, what)
    images = input_shape is None or len(input_shape) == 3
    if x.ndim == 2 and images and input_shape is not None:
        return "hw", (1, *x.shape)
    if x.ndim == 2:
        return "flat", tuple(x.shape[1:])
    if x.ndim == 3:
        return "nhw", (1, *x.shape[1:])
    if x.ndim == 4 and (channels_last or is_channels_last(x.shape[1:])):
        return "nhwc", (x.shape[3], x.shape[1], x.shape[2])
    if x.ndim == 4:
        return "nchw", tuple(x.shape[1:])
    raise ValueError(
        f"`{what}` must be images (N, H, W), (N, H, W, C) or (N, C, H, W), "
        "or vectors "
        f"(N, features). Received: {what}.shape={x.shape}"
    )


def to_model_input(xb: np.ndarray, layout: str) -> np.ndarray:
    """One batch in ``layout`` -> float32 C-contiguous NCHW (or (N, D)) model input,
    uint8 scaled to [0, 1].

    The layout is fixed with views first, so the one conversion also makes the batch
    contiguous (an NHWC uint8 batch is copied once, not twice).

    >>> to_model_input(np.full((1, 2, 2), 255, np.uint8), "nhw").shape
    (1, 1, 2, 2)
    """
    if layout == "hw":
        xb = xb[None, None]
    elif layout == "nhw":
        xb = xb[:, None]
    elif layout == "nhwc":
        xb = xb.transpose(0, 3, 1, 2)
    if xb.dtype == np.uint8:  # as x / 255 would
        return np.divide(xb, np.float32(255.0), dtype=np.float32, order="C")
    return xb.astype(np.float32, order="C", copy=False)


def to_categorical(
    y: object, num_classes: int | None = None, dtype: object = "float32"
) -> np.ndarray:
    """Integer class labels -> one-hot rows (Keras's ``to_categorical``).

    ``y`` of shape ``(N,)`` (or ``(N, 1)``) gives ``(N, num_classes)``;
    ``num_classes`` defaults to ``max(y) + 1``.

    >>> to_categorical([0, 2, 1]).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.size and (
        not (np.issubdtype(labels.dtype, np.integer) or np.all(np.mod(labels, 1) == 0))
        or labels.min() < 0
    ):
        raise ValueError(
            "`y` must hold non-negative integer class labels. "
            f"Received: y from {labels.min()} to {labels.max()}, dtype={labels.dtype}"
        )
    labels = labels.astype(np.int64)
    largest = int(labels.max()) + 1 if labels.size else 0
    if num_classes is None:
        num_classes = largest
    elif not is_int(num_classes) or num_classes < max(largest, 1):
        raise ValueError(
            f"`num_classes` must be an int > every label (at least {max(largest, 1)}). "
            f"Received: num_classes={num_classes!r}"
        )
    onehot = np.zeros((*labels.shape, int(num_classes)), dtype=np.dtype(dtype))
    np.put_along_axis(onehot, labels[..., None], 1, axis=-1)
    return onehot


def split_validation(
    x: np.ndarray, labels: np.ndarray, validation_split: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_val, y_val)``: the last ``validation_split`` of the
    samples held out, before any shuffling (Keras's rule). Views, not copies.

    >>> xt, yt, xv, yv = split_validation(np.arange(10), np.arange(10), 0.2)
    >>> xt.tolist(), xv.tolist()
    ([0, 1, 2, 3, 4, 5, 6, 7], [8, 9])
    """
    split_at = int(len(x) * (1.0 - float(validation_split)))
    if split_at == 0 or split_at == len(x):
        raise ValueError(
            f"`validation_split`={validation_split} leaves "
            f"{'no training' if split_at == 0 else 'no validation'} samples "
            f"out of {len(x)}."
        )
    return x[:split_at], labels[:split_at], x[split_at:], labels[split_at:]


class ArrayDataAdapter:
    """Arrays ``x`` (in ``layout``) and checked ``labels`` served as model-ready
    ``(xb, yb)`` batches.

    Parameters
    ----------
    x : ndarray
        Samples in ``layout`` (see the module docstring); a ``"hw"`` image is one
        batch of one.
    labels : ndarray or None
        Already checked by the loss (``Sequential.check_labels``); ``None`` for
        prediction, when the batches are ``(xb, None)``.
    layout : str
        One of :data:`LAYOUTS`, from :func:`infer_layout`.
    batch_size : int
    steps : int, optional
        At most this many batches per pass (``steps_per_epoch``).

    Attributes
    ----------
    num_samples, steps : int
        Samples in ``x``; batches per pass.
    """

    def __init__(
        self,
        x: np.ndarray,
        labels: np.ndarray | None,
        layout: str,
        batch_size: int,
        steps: int | None = None,
    ) -> None:
        self.x, self.labels, self.layout = x, labels, layout
        self.batch_size = int(batch_size)
        self.num_samples = 1 if layout == "hw" else len(x)
        self.steps = math.ceil(self.num_samples / self.batch_size)
        if steps is not None:
            self.steps = min(self.steps, steps)

    def batch_bounds(self, step: int) -> tuple[int, int]:
        """``(lo, hi)`` sample positions of 0-based batch ``step``."""
        lo = step * self.batch_size
        return lo, min(lo + self.batch_size, self.num_samples)

    def batches(
        self, order: np.ndarray | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        """One pass: ``steps`` batches ``(xb, yb)``, in ``order`` (a permutation of the
        sample indices, from the caller's generator) or in sequence."""
        if self.layout == "hw":
            yield to_model_input(self.x, self.layout), self.labels
            return
        for step in range(self.steps):
            lo, hi = self.batch_bounds(step)
            index = order[lo:hi] if order is not None else slice(lo, hi)
            yb = self.labels[index] if self.labels is not None else None
            yield to_model_input(self.x[index], self.layout), yb


def is_batch_source(x: object) -> bool:
    """True for what :class:`GeneratorDataAdapter` serves: an iterator or generator
    (``next()``) or a Keras ``Sequence``-like object (``len()`` and ``[i]``), not an
    array."""
    if isinstance(x, np.ndarray | list | tuple | dict | str):
        return False
    return hasattr(x, "__next__") or (
        hasattr(x, "__getitem__") and hasattr(x, "__len__")
    )


class GeneratorDataAdapter:
    """Batches from a generator, an iterator (such as ``ImageDataGenerator.flow``)
    or a ``Sequence``-like object, converted one at a time as arrays are.

    Parameters
    ----------
    source : iterator or Sequence-like
        Yields ``(x, y)`` (or ``(x, y, sample_weight)``, whose weights are refused)
        for training and evaluation, ``x`` or ``(x, ...)`` for prediction.
    steps : int or None
        Batches per pass; ``None`` takes ``len(source)`` when it has one.
    prepare : callable
        ``prepare(xb, what) -> float32 model input`` (checks the layout).
    check_labels : callable or None
        ``check_labels(yb, n) -> labels``; ``None`` for prediction.
    what : str
        The argument's name in messages (``"x"``, ``"validation_data"``).
    """

    def __init__(
        self,
        source: Any,
        steps: int | None,
        prepare: Callable[[np.ndarray, str], np.ndarray],
        check_labels: Callable[[object, int], np.ndarray] | None,
        what: str = "x",
        steps_name: str = "steps_per_epoch",
    ) -> None:
        self.source, self.prepare, self.check = source, prepare, check_labels
        self.what = what
        self.indexed = not hasattr(source, "__next__")
        if steps is None:
            try:
                steps = len(source)
            except TypeError:
                raise ValueError(
                    f"`{steps_name}` is required when `{what}` is a generator with no "
                    f"length: how many batches make an epoch? Received: "
                    f"{steps_name}=None"
                ) from None
        self.steps = int(steps)
        self.num_samples = 0  # unknown: the source shuffles, not the loop

    def _next(self, step: int) -> Any:
        if self.indexed:
            return self.source[step % len(self.source)]
        try:
            return next(self.source)
        except StopIteration:
            raise ValueError(
                f"`{self.what}` ran out of data after {step} batches of the "
                f"{self.steps} asked for. Give a smaller steps count, or a generator "
                "that loops forever (ImageDataGenerator.flow does)."
            ) from None

    def batches(
        self, order: np.ndarray | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        """One pass of ``steps`` batches ``(xb, yb)`` (``order`` is ignored)."""
        for step in range(self.steps):
            item = self._next(step)
            if self.check is None:
                xb = item[0] if isinstance(item, tuple | list) else item
                yield self.prepare(np.asarray(xb), self.what), None
                continue
            if not isinstance(item, tuple | list) or len(item) not in (2, 3):
                raise ValueError(
                    f"`{self.what}` must yield (x, y) batches. Received: an item of "
                    f"type {type(item).__name__}"
                )
            if len(item) == 3 and item[2] is not None:
                raise ValueError(
                    f"`{self.what}` yielded (x, y, sample_weight): convlab does not "
                    "weight samples; yield (x, y)."
                )
            xb = np.asarray(item[0])
            yield self.prepare(xb, self.what), self.check(item[1], len(xb))
