"""The training loop as a generator of events, consumed by ``fit``, the CLI and the GUI.

Why a generator: the caller decides what to do between steps (print a progress line,
emit a throttled Qt signal, stop). Every ``yield`` happens between optimiser steps, when
every weight, moving statistic and optimiser slot has been updated together, so closing
the generator (``gen.close()``, or simply dropping it) at any point leaves a valid model
that can predict, be saved, or train on.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Iterator

import numpy as np

from convlab._threads import one_blas_thread
from convlab.nn.layers import Dropout, _positive_int
from convlab.nn.model import History, Sequential
from convlab.nn.optimizers import _unit

from .events import EpochEvent, FinishedEvent, StepEvent

__all__ = ["train_events"]

Event = StepEvent | EpochEvent | FinishedEvent


def train_events(
    model: Sequential,
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int = 32,
    epochs: int = 1,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    validation_split: float = 0.0,
    shuffle: bool = True,
    seed: int = 0,
    steps_per_epoch: int | None = None,
) -> Iterator[Event]:
    """Train ``model`` on ``(x, y)``, yielding a :class:`StepEvent` after every batch,
    an :class:`EpochEvent` after every epoch and a :class:`FinishedEvent` at the end.

    Parameters
    ----------
    model : Sequential
        Compiled. Built from ``x`` if it has no input shape yet.
    x, y : ndarray
        Images (any layout :mod:`convlab.nn.model` accepts; uint8 is scaled to [0, 1])
        and labels. Batches are converted one at a time, so ``x`` may stay uint8.
    batch_size, epochs : int
    validation_data : (x_val, y_val), optional
    validation_split : float in [0, 1)
        Fraction held out from the end of ``x`` (before shuffling), when no
        ``validation_data`` is given.
    shuffle : bool
        Reshuffle the training set every epoch.
    seed : int
        Seeds the shuffling and the dropout masks (with the model's own seed for the
        weights, a run is reproducible bit for bit).
    steps_per_epoch : int, optional
        Stop each epoch after this many batches (a quick look, a smoke test).

    Yields
    ------
    StepEvent, EpochEvent, FinishedEvent

    Notes
    -----
    As in any generator, the arguments are checked on the first ``next()``.
    The optimiser's ``learning_rate`` is read at every step, so it can be changed while
    the generator runs.
    """
    model._require_compiled("fit")
    batch_size = _positive_int(batch_size, "batch_size")
    epochs = _positive_int(epochs, "epochs")
    if steps_per_epoch is not None:
        steps_per_epoch = _positive_int(steps_per_epoch, "steps_per_epoch")
    _unit(validation_split, "validation_split")
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative int. Received: seed={seed!r}")
    layout = model._layout(x)
    if len(x) == 0:
        raise ValueError("`x` is empty: there is nothing to train on.")
    labels = model._labels(y, len(x))

    x_val = y_val = None
    if validation_data is not None:
        if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
            raise ValueError(
                "`validation_data` must be a tuple (x_val, y_val). "
                f"Received: validation_data of type {type(validation_data).__name__}"
            )
        x_val = validation_data[0]
        model._layout(x_val, "validation_data[0]")
        y_val = model._labels(validation_data[1], len(x_val))
    elif validation_split > 0:
        split_at = int(len(x) * (1.0 - float(validation_split)))
        if split_at == 0 or split_at == len(x):
            raise ValueError(
                f"`validation_split`={validation_split} leaves "
                f"{'no training' if split_at == 0 else 'no validation'} samples "
                f"out of {len(x)}."
            )
        x, x_val = x[:split_at], x[split_at:]
        labels, y_val = labels[:split_at], labels[split_at:]

    n = len(x)
    steps = math.ceil(n / batch_size)
    if steps_per_epoch is not None:
        steps = min(steps, steps_per_epoch)
    history = History({"batch_size": batch_size, "epochs": epochs, "steps": steps})
    shuffle_rng = np.random.default_rng([int(seed), 0])
    for i, layer in enumerate(model.layers):
        if isinstance(layer, Dropout):
            layer.rng = np.random.default_rng([int(seed), 1, i])

    images_seen = 0
    # one BLAS thread for the whole run, not switched around every step
    # (convlab/_threads.py)
    with one_blas_thread():
        for epoch in range(1, epochs + 1):
            order = shuffle_rng.permutation(n) if shuffle else None
            started = time.perf_counter()
            loss_sum = correct_sum = 0.0
            epoch_images = 0
            for step in range(1, steps + 1):
                lo, hi = (step - 1) * batch_size, min(step * batch_size, n)
                index = order[lo:hi] if order is not None else slice(lo, hi)
                xb = model._convert(x[index], layout)
                yb = labels[index]
                # overflow is reported as a non-finite loss below, not as a warning
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    batch_loss, batch_accuracy = model.train_step(xb, yb)
                size = hi - lo
                epoch_images += size
                images_seen += size
                loss_sum += batch_loss * size
                correct_sum += batch_accuracy * size
                elapsed = max(time.perf_counter() - started, 1e-9)
                if not math.isfinite(batch_loss):
                    yield FinishedEvent(
                        history,
                        stopped=True,
                        reason=f"the loss became {batch_loss} at epoch {epoch}, "
                        f"step {step}: "
                        "try a smaller learning rate",
                    )
                    return
                yield StepEvent(
                    epoch=epoch,
                    step=step,
                    steps_per_epoch=steps,
                    loss=loss_sum / epoch_images,
                    accuracy=correct_sum / epoch_images,
                    images_seen=images_seen,
                    images_per_second=epoch_images / elapsed,
                    batch_loss=batch_loss,
                    batch_accuracy=batch_accuracy,
                    epochs=epochs,
                )
            val_loss = val_accuracy = None
            if x_val is not None:
                val_loss, val_accuracy = model._evaluate_arrays(x_val, y_val)
            logs = {
                "loss": loss_sum / epoch_images,
                "accuracy": correct_sum / epoch_images,
                "val_loss": val_loss,
                "val_accuracy": val_accuracy,
            }
            history.append(epoch - 1, logs)
            yield EpochEvent(
                epoch=epoch,
                loss=logs["loss"],
                accuracy=logs["accuracy"],
                val_loss=val_loss,
                val_accuracy=val_accuracy,
                seconds=time.perf_counter() - started,
            )
        yield FinishedEvent(history, stopped=False)
