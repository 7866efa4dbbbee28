"""Compile the kernels one step at a time, on tiny inputs, reporting progress.

With ``cache=True`` the first process pays the compile (seconds to tens of seconds per
parallel kernel on an empty cache) and writes machine code to the per-user cache; later
processes load it in well under a second. numba compiles per signature on first call,
so each step below calls the public functions on inputs that take the paths it names
(:func:`kernels.conv._plan`).

The steps come in groups, in the order a first launch needs them: ``"explorer"`` (the
forward passes the explorer's default first frame uses: conv on one image, ReLU, max
pooling), ``"training"`` (the backward passes and the batch paths) and ``"other"``
(average pooling, padding for the microscope). The explorer uses NumPy for each
operation until its step is done (:func:`is_done`). The GUI
runs :func:`warmup` on a worker thread: the explorer's group first, the training group
behind it; :func:`prioritize` lets a thread that needs a kernel *now* (the trainer's
Start) hold the background warm-up between two steps, so it does not queue behind
it on numba's compiler lock. Paths no step names (``"scatter"``, a non-finite weight's
input gradient) compile on first use.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

import numpy as np

__all__ = ["GROUPS", "Step", "is_done", "is_warm", "prioritize", "steps", "warmup"]

GROUPS = ("explorer", "training", "other")


class Step(NamedTuple):
    """One unit of compile work: ``run()`` calls kernels on tiny inputs."""

    name: str
    group: str
    run: Callable[[], None]


def _conv_forward_planes() -> None:
    from .conv import conv2d

    # one image (the explorer's case): the phase-plane path; stride 2 and reflect go
    # through the same kernels with other index maps; 3 filters hit the 2- and
    # 1-filter tails of the row loop
    x = np.zeros((1, 1, 7, 7), np.float32)
    w = np.zeros((3, 1, 3, 3), np.float32)
    for stride, mode in ((1, "zeros"), (2, "reflect")):
        conv2d(x, w, None, stride, 1, padding_mode=mode)
    # 5 filters: the 4-filter pass too
    conv2d(x, np.zeros((5, 1, 3, 3), np.float32))


def _relu() -> None:
    from .activations import relu

    relu(np.zeros(4, np.float32))


def _max_pool() -> None:
    from .pooling import max_pool2d

    x = np.zeros((1, 1, 4, 4), np.float32)
    max_pool2d(x, 2)  # the 2x2 loop
    max_pool2d(x, 3, 1)  # any window


def _avg_pool() -> None:
    from .pooling import avg_pool2d

    x = np.zeros((1, 1, 4, 4), np.float32)
    avg_pool2d(x, 2)
    avg_pool2d(x, 3, 1)


def _conv_wide() -> None:
    from .conv import conv2d, conv2d_backward

    # a batch of small images with >= 16 taps: wide forward, dots weight gradient,
    # the input gradient as a wide forward over the flipped kernel
    x = np.zeros((2, 2, 5, 5), np.float32)
    w = np.zeros((3, 2, 3, 3), np.float32)
    conv2d_backward(conv2d(x, w, None, 1, 1), x, w, 1, 1)


def _conv_backward_planes() -> None:
    from .conv import conv2d, conv2d_backward

    x = np.zeros((2, 2, 5, 5), np.float32)
    w = np.zeros((3, 2, 3, 3), np.float32)
    out = conv2d(x, w, None, 2, 1, padding_mode="reflect")
    conv2d_backward(out, x, w, 2, 1, 1, "reflect")


def _conv_winograd() -> None:
    from .conv import conv2d, conv2d_backward

    # 3x3 stride 1 with >= 8 channels and filters: Winograd and its adjoint; 72 taps
    # and 8 filters: the wide weight gradient
    x = np.zeros((2, 8, 4, 4), np.float32)
    w = np.zeros((8, 8, 3, 3), np.float32)
    conv2d_backward(conv2d(x, w, None, 1, 1), x, w, 1, 1)


def _conv_weight_gradient_planes() -> None:
    from .conv import conv2d_grad_weight

    # many taps on one image: the planes weight gradient
    x = np.zeros((1, 8, 9, 9), np.float32)
    conv2d_grad_weight(np.zeros((1, 2, 7, 7), np.float32), x, (2, 8, 3, 3))


def _activations_backward() -> None:
    from .activations import relu, relu_backward

    x = np.zeros(4, np.float32)
    relu_backward(x, relu(x))


def _max_pool_backward() -> None:
    from .pooling import max_pool2d, max_pool2d_backward

    x = np.zeros((1, 1, 4, 4), np.float32)
    out, idx = max_pool2d(x, 2)
    max_pool2d_backward(out, idx, x.shape)


def _avg_pool_backward() -> None:
    from .pooling import (
        avg_pool2d,
        avg_pool2d_backward,
        global_avg_pool2d,
        global_avg_pool2d_backward,
    )

    x = np.zeros((1, 1, 4, 4), np.float32)
    for k, s in ((2, None), (3, 1)):
        avg_pool2d_backward(avg_pool2d(x, k, s), x.shape, k, s)
    global_avg_pool2d_backward(global_avg_pool2d(x), x.shape)


def _padding() -> None:
    from .padding import pad2d, pad2d_backward

    x = np.zeros((1, 1, 4, 4), np.float32)
    pad2d_backward(pad2d(x, 1, "reflect"), 1, "reflect")


# Order: what the explorer's default first frame and the trainer's default model
# ("tiny": 3x3 convolutions, max pooling, ReLU) use first, then the rest. Measured on
# an empty cache, one step each (load 5-7 on 2 cores): conv forward 37 s, average
# pooling 50 s, conv winograd 30 s, conv batch 26 s.
_STEPS: tuple[Step, ...] = (
    Step("conv forward", "explorer", _conv_forward_planes),
    Step("relu", "explorer", _relu),
    Step("max pooling", "explorer", _max_pool),
    Step("relu backward", "training", _activations_backward),
    Step("max pooling backward", "training", _max_pool_backward),
    Step("conv winograd", "training", _conv_winograd),
    Step(
        "conv winograd sgemm",
        "training",
        lambda: __import__(f"{__package__}._conv_wingemm", fromlist=["warm"]).warm(),
    ),
    Step("conv batch", "training", _conv_wide),
    Step("conv backward", "training", _conv_backward_planes),
    Step("conv weight gradient", "training", _conv_weight_gradient_planes),
    Step("average pooling", "other", _avg_pool),
    Step("padding", "other", _padding),  # the microscope's pad2d
    Step("average pooling backward", "other", _avg_pool_backward),
)

_lock = threading.Lock()
_done: set[str] = set()
_priority = threading.Condition(_lock)
_priority_holders = 0


def steps(groups: Iterable[str] | None = None) -> list[Step]:
    """The warm-up steps of ``groups`` (default: all, explorer first), in order."""
    wanted = GROUPS if groups is None else tuple(groups)
    for g in wanted:
        if g not in GROUPS:
            raise ValueError(
                f"`groups` must name groups from {GROUPS}. Received: group={g!r}"
            )
    return [s for g in wanted for s in _STEPS if s.group == g]


def is_warm(group: str) -> bool:
    """Whether every step of ``group`` has run in this process."""
    todo = steps([group])
    with _lock:
        return all(s.name in _done for s in todo)


def is_done(step: str) -> bool:
    """Whether the step named ``step`` has run in this process."""
    with _lock:
        return step in _done


@contextlib.contextmanager
def prioritize() -> Iterator[None]:
    """Hold background :func:`warmup` calls between two steps while inside."""
    global _priority_holders
    with _lock:
        _priority_holders += 1
    try:
        yield
    finally:
        with _lock:
            _priority_holders -= 1
            _priority.notify_all()


def warmup(
    progress: Callable[[int, int, str], None] | None = None,
    groups: Iterable[str] | None = None,
    *,
    background: bool = False,
) -> None:
    """Compile the kernels of ``groups`` (default: all) step by step.

    Parameters
    ----------
    progress : callable ``(done, total, name)``, optional
        Called before each step with the steps done so far and the name of the one
        about to run, and once at the end with ``(total, total, "")``: ``done`` rises
        by one each call, from 0 to ``total``.
    groups : iterable of str, optional
        From :data:`GROUPS`.
    background : bool
        Wait between two steps while a :func:`prioritize` block runs elsewhere.

    Safe to call from a worker thread, and cheap once the cache is warm.

    >>> warmup()
    """
    todo = steps(groups)
    total = len(todo)
    for i, step in enumerate(todo):
        if background:
            with _lock:
                _priority.wait_for(lambda: _priority_holders == 0)
        if progress is not None:
            progress(i, total, step.name)
        with _lock:
            if step.name in _done:
                continue
        step.run()
        with _lock:
            _done.add(step.name)
    if progress is not None:
        progress(total, total, "")
