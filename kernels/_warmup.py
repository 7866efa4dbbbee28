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
Start) hold the background warm-up between two steps once the explorer's are done, so
it does not queue behind it on numba's compiler lock. Paths no step names
(``"scatter"``, a non-finite weight's input gradient) compile on first use.

While a thread's kernels compile it may compute with stand-ins instead: inside
:func:`stand_ins`, :data:`ops` on *that thread* calls the table's function for each name
the table holds (the trainer's first steps on a first launch run on NumPy twins,
``convlab/explore/fallback.py``); everywhere else :data:`ops` is ``kernels`` itself.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "GROUPS",
    "Step",
    "is_done",
    "is_warm",
    "ops",
    "prioritize",
    "stand_ins",
    "steps",
    "warmup",
]

GROUPS = ("explorer", "training", "other")


class Step(NamedTuple):
    """One unit of compile work: ``run()`` calls kernels on tiny inputs.

    ``default_model``: the trainer's default model ("tiny") needs it for its first
    training step (``tests/test_cold_start.py`` checks that these and the explorer's
    steps leave that step nothing to compile)."""

    name: str
    group: str
    run: Callable[[], None]
    default_model: bool = False


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


def _conv_forward_blocks() -> None:
    from .conv import conv2d

    # a photo's width (config.BLOCKS_MIN_WIDTH): "blocks"
    conv2d(np.zeros((1, 1, 3, 600), np.float32), np.zeros((3, 1, 3, 3), np.float32))


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


def _conv_first_layer() -> None:
    from .conv import conv2d, conv2d_backward

    # a network's first layer (no input gradient), one channel, few taps, a batch: the
    # dots weight gradient and the bias gradient, without the wide forward
    x = np.zeros((2, 1, 6, 6), np.float32)
    w = np.zeros((3, 1, 3, 3), np.float32)
    conv2d_backward(conv2d(x, w), x, w, need_input_grad=False)


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


def _colour() -> None:
    from .colour import lut_planes

    planes = np.zeros((1, 2, 2), np.float32)
    out = np.empty((1, 2, 2), np.uint32)
    tables = np.zeros((1, 256), np.uint32)
    lut_planes(planes, np.array([[0.0, 1.0]]), tables, np.zeros(1, np.uint32), out)


def _conv_first_layer_sgemm() -> None:
    from .conv import conv2d, conv2d_grad_weight

    # few taps and >= 16 filters on a batch (a colour or grey first layer of 32 or
    # more filters): im2col + sgemm, forward and weight gradient (one loop, ~1 s)
    x = np.zeros((2, 1, 4, 4), np.float32)
    out = conv2d(x, np.zeros((16, 1, 3, 3), np.float32), None, 1, 1)
    conv2d_grad_weight(out, x, (16, 1, 3, 3), 1, 1)


def _conv_winograd_sgemm() -> None:
    """The Winograd path whose channel sums are BLAS sgemm (big training layers)."""
    from . import _conv_wingemm

    _conv_wingemm.warm()


# Order: what the explorer's default first frame uses, then what the trainer's default
# model ("tiny": 1 -> 8 and 8 -> 16 3x3 convolutions, 2x2 max pooling, ReLU) needs
# beyond it, then the rest. CPU seconds of each step on an empty cache (fresh process,
# the steps in this order, 2 cores at load 5): conv forward 11.9, relu 0.3, max pooling
# 2.0, relu backward 0.3, max pooling backward 0.7, conv winograd 17-19 (forward,
# adjoint and the wide weight gradient), conv batch 5.6-6.7, conv backward 0.2, conv
# weight gradient 4.7-5.4, average pooling 1.5, padding 0.2, average pooling backward
# 3.5; 52 s in all. Conv first layer sgemm (one loop; measured alone, load 6): 1.1.
_STEPS: tuple[Step, ...] = (
    Step("conv forward", "explorer", _conv_forward_planes, True),
    # the default 512x512 sample's path too (its padded width, 514, is "blocks"):
    # in the "other" group the explorer compiled it on demand right after switching
    # to the kernels (16.5 s cold at load 4)
    Step("conv forward, wide images", "explorer", _conv_forward_blocks),
    Step("relu", "explorer", _relu, True),
    Step("max pooling", "explorer", _max_pool, True),
    # the explorer's colouring: NumPy until then (convlab/gui/explorer/colormaps.py)
    Step("colour maps", "explorer", _colour),
    Step("relu backward", "training", _activations_backward, True),
    Step("max pooling backward", "training", _max_pool_backward, True),
    Step("conv winograd", "training", _conv_winograd, True),
    Step("conv first layer", "training", _conv_first_layer, True),
    Step("conv winograd sgemm", "training", _conv_winograd_sgemm),
    Step("conv batch", "training", _conv_wide),
    Step("conv backward", "training", _conv_backward_planes),
    Step("conv weight gradient", "training", _conv_weight_gradient_planes),
    Step("conv first layer sgemm", "training", _conv_first_layer_sgemm),
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
    """Hold background :func:`warmup` calls between two steps while inside (past the
    explorer's steps)."""
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
        Before each step past the explorer's, wait while a :func:`prioritize` block
        runs elsewhere. The explorer's steps are the first screen's and cost about
        2 CPU seconds after its conv forward (which the trainer's first pass needs
        too), so they do not wait.

    Safe to call from a worker thread, and cheap once the cache is warm.

    >>> warmup()
    """
    todo = steps(groups)
    total = len(todo)
    for i, step in enumerate(todo):
        if background and step.group != "explorer":
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


# ------------------------------------------------------------------------ stand-ins

_local = threading.local()


@contextlib.contextmanager
def stand_ins(table: Mapping[str, Callable[..., Any]] | None) -> Iterator[None]:
    """Inside, :data:`ops` on this thread calls ``table[name]`` for the names the
    table holds (None or empty: the kernels). Other threads are unaffected; nests."""
    previous = getattr(_local, "table", None)
    _local.table = table or None
    try:
        yield
    finally:
        _local.table = previous


class _Ops:
    """The public functions of ``kernels``, or this thread's :func:`stand_ins`."""

    def __getattr__(self, name: str) -> Any:
        table = getattr(_local, "table", None)
        if table is not None and name in table:
            return table[name]
        import kernels

        return getattr(kernels, name)


ops = _Ops()
"""What a layer calls: ``ops.conv2d(...)`` is ``kernels.conv2d(...)`` unless this
thread runs inside :func:`stand_ins`."""
