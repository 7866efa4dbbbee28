"""Compile the kernels a model's training step needs, pass by pass, with progress.

No Qt here: a generator the training worker runs, so the first Start on an empty kernel
cache says "compiling the training kernels (3 of 12: conv2d_1 backward)" instead of
sitting silently at 0%. On a first launch (the start-up warm-up has not finished the
training kernels) the passes compile on a thread of their own while the session's
steps run on the kernels' NumPy twins (``convlab/explore/fallback.py``, through
``kernels._warmup.stand_ins`` on the worker thread only); from the first step after the
last pass the kernels take over. Measured on an empty cache: the "tiny" model's passes
compile in about 30 CPU seconds, so without the twins its first step came 30-190 s
after launch (quiet to loaded machine); the twins give it within a few seconds of Start.
When the training kernels are already compiled, the passes run inline first, as
before, and every step uses the kernels. Each pass runs one layer of a
*copy* of the model, forward in training mode then backward, on two images of the
training data: the same shapes and finiteness as a real batch, so ``kernels.conv._plan``
picks the same paths and numba compiles exactly the signatures the first step will use.
The model itself (weights, optimiser state, dropout's random stream) is untouched. While
it runs, the application's background warm-up holds between two of its steps
(``kernels._warmup.prioritize``) instead of competing for numba's compiler lock.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from convlab.explore import fallback
from kernels import _warmup

__all__ = [
    "CompileEvent",
    "compute_probe_meanwhile",
    "session_events",
    "training_warmup_events",
]


@dataclass(frozen=True)
class CompileEvent:
    """``done`` of ``total`` passes compiled; ``what`` is the pass about to run."""

    done: int
    total: int
    what: str
    in_numpy: bool = False
    """Training runs on the NumPy twins meanwhile."""

    def text(self) -> str:
        if self.done >= self.total:
            return "training kernels ready"
        meanwhile = "; training in NumPy meanwhile" if self.in_numpy else ""
        return (
            f"compiling the training kernels ({self.done + 1} of {self.total}: "
            f"{self.what}){meanwhile}…"
        )


def session_events(session: Any, *, stand_in: bool | None = None) -> Iterator[Any]:
    """What the training worker runs: the compile passes and ``session.events()``.

    ``stand_in`` (default: whether the start-up warm-up has yet to finish the
    training kernels): compile on a thread and train on the NumPy twins until it ends;
    otherwise the passes first, then the session on the kernels.
    """
    if stand_in is None:
        stand_in = not _warmup.is_warm("training")
    if not stand_in:
        yield from training_warmup_events(session.model, session.x_train, session.lock)
        yield from session.events()
        return
    compiler = _Compiler(session.model, session.x_train, session.lock)
    events = session.events()
    shown = None
    try:
        while True:
            ready = compiler.ready()
            progress = compiler.progress(in_numpy=not ready)
            if progress is not None and progress != shown:
                shown = progress
                yield progress
            with _warmup.stand_ins(None if ready else fallback.TRAINING_TWINS):
                try:
                    event = next(events)
                except StopIteration:
                    break
            yield event
    finally:
        compiler.cancel()
        events.close()


def compute_probe_meanwhile(*args: Any) -> Any:
    """:func:`convlab.train.session.compute_probe` on the NumPy twins until the
    start-up warm-up has compiled the training kernels.

    The probe holds the model's lock while it runs the model: on the kernels, on a
    first launch, that meant through the compile of every forward pass (measured: the
    first training step after Start came 129 s after launch, at load 8, waiting for
    that lock)."""
    from convlab.train.session import compute_probe

    table = None if _warmup.is_warm("training") else fallback.TRAINING_TWINS
    with _warmup.stand_ins(table):
        return compute_probe(*args)


class _Compiler:
    """:func:`training_warmup_events` on a daemon thread; the latest event readable.

    If a pass fails, :meth:`ready` stays False and training stays on the twins (the
    kernels would fail the same way in the step)."""

    def __init__(self, model: Any, x_train: np.ndarray, lock: Any) -> None:
        self._lock = threading.Lock()
        self._latest: CompileEvent | None = None
        self._ready = False
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run,
            args=(model, x_train, lock),
            name="convlab-training-compile",
            daemon=True,
        )
        self._thread.start()

    def _run(self, model: Any, x_train: np.ndarray, lock: Any) -> None:
        try:
            for event in training_warmup_events(model, x_train, lock):
                with self._lock:
                    self._latest = event
                if self._stop.is_set():
                    return
        except Exception:  # noqa: BLE001 - the step reports errors; stay on NumPy
            return
        with self._lock:
            self._ready = True

    def ready(self) -> bool:
        with self._lock:
            return self._ready

    def progress(self, in_numpy: bool) -> CompileEvent | None:
        with self._lock:
            event = self._latest
        if event is None or event.done >= event.total:
            return event
        return CompileEvent(event.done, event.total, event.what, in_numpy)

    def cancel(self) -> None:
        """Stop after the pass compiling now (a compile cannot be interrupted)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()


def training_warmup_events(
    model: Any, x_train: np.ndarray, lock: Any = None
) -> Iterator[CompileEvent]:
    """Yield a :class:`CompileEvent` before each pass and one at the end
    (``done == total``). ``model`` is built or buildable from ``x_train``; ``lock``
    (optional) is held while the model is copied."""
    sample = np.asarray(x_train[: min(2, len(x_train))])
    if len(sample) == 0:
        return
    with _warmup.prioritize():
        with lock if lock is not None else contextlib.nullcontext():
            twin = copy.deepcopy(model)
        x = twin.prepare(sample)
        layers = list(twin.layers)
        first = twin.first_trainable
        backward = list(range(len(layers) - 1, first - 1, -1))
        total = len(layers) + len(backward)
        done = 0
        outputs = []
        for layer in layers:
            yield CompileEvent(done, total, f"{layer.name} forward")
            x = layer.forward(x, True)
            outputs.append(x)
            done += 1
        grad: np.ndarray | None = np.ones_like(outputs[-1]) / outputs[-1].size
        for i in backward:
            yield CompileEvent(done, total, f"{layers[i].name} backward")
            if grad is None:  # the first trainable layer gives none: nothing below
                break
            grad = layers[i].backward(np.ascontiguousarray(grad, np.float32))
            done += 1
        yield CompileEvent(total, total, "")
