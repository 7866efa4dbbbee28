"""How convlab shares the cores between numba's kernels and numpy's BLAS.

Two thread pools run a training step: numba's OpenMP threads (the conv, pooling and
activation kernels) and OpenBLAS's threads (numpy's ``@`` in Dense layers). Measured
on the 2-core development machine (a VM), LeNet-5, batch 128:

* OpenMP threads that sleep as soon as a kernel ends (``OMP_WAIT_POLICY=PASSIVE``,
  what :mod:`kernels` sets when nothing else is asked for) cost 60-90 us to wake at
  every parallel kernel, about 20 times a step: a step took 13-15 ms.
* Threads that spin a little before sleeping (``GOMP_SPINCOUNT``) start the next kernel
  at once, but while they spin they take the core OpenBLAS's second thread needs, and
  each matmul waits for them: 24 ms at 10,000 spins, 84 ms at 100,000.
* Spinning OpenMP threads with OpenBLAS held to one thread: 9.4-10 ms. The Dense layers
  of these models are small enough for one thread (the Keras tutorial's 1600 x 512
  layer too: its step went from 270-340 ms to 210-235 ms).
* Since the sgemm Winograd path (``kernels._conv_wingemm``) runs its sums on two
  Python worker threads of its own, a spinning OpenMP thread takes a core from them
  after every numba kernel: the Keras-tutorial step (4 convolutions, three on that
  path) took 292-334 ms at 100,000 spins, 200-233 ms at 1,000 (0 and 10,000 alike
  within the noise), load 2.0-2.5 on 2 cores, medians of 6 steps, 3 rounds; LeNet-5
  the same at both (15-19 ms).

So :func:`configure_openmp` (called when :mod:`convlab` is imported, before numba
starts OpenMP) asks for 1,000 spins, a few microseconds, unless ``GOMP_SPINCOUNT``
or ``OMP_WAIT_POLICY`` is already set; and :func:`one_blas_thread` holds OpenBLAS to
one thread while a model trains (a whole ``train_events`` run) or predicts. The
``convlab`` command (app and CLI) holds it for the whole process
(:func:`hold_one_blas_thread`), so the limit is not switched around every step. A
script that imports only :mod:`kernels` keeps passive threads, the safe choice next to
its own matmuls.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SPIN_COUNT = "1000"


def configure_openmp() -> None:
    """Let numba's OpenMP threads spin briefly between kernels (see the module notes).

    Has an effect only before numba's first parallel kernel loads libgomp, and never
    overrides a policy the user set.
    """
    if "GOMP_SPINCOUNT" in os.environ:
        return
    jit = sys.modules.get("kernels._jit")  # imported first: its default is not a choice
    if "OMP_WAIT_POLICY" in os.environ and not getattr(
        jit, "PASSIVE_BY_DEFAULT", False
    ):
        return
    os.environ["GOMP_SPINCOUNT"] = SPIN_COUNT


_lock = threading.Lock()
_depth = 0
_saved: list[tuple[Any, int]] = []
_pools: list[Any] | None = None
_held: Any = None


class _OpenBLAS:
    """OpenBLAS's own process-wide ``openblas_set_num_threads``, called directly.

    threadpoolctl (>= 3.6) lets only the first Python thread that limited a pthreads
    OpenBLAS change it again while that thread lives; a prediction on the GUI thread
    would then leave a training thread unable to set the limit. Our refcount already
    keeps the calls consistent, so the library's own setter is used.
    """

    def __init__(self, dynlib: Any, prefix: str, suffix: str) -> None:
        self._get = getattr(dynlib, f"{prefix}openblas_get_num_threads{suffix}")
        self._set = getattr(dynlib, f"{prefix}openblas_set_num_threads{suffix}")

    def get_num_threads(self) -> int:
        return int(self._get())

    def set_num_threads(self, n: int) -> None:
        self._set(n)


def _blas_pools() -> list[Any]:
    """Objects with get_num_threads()/set_num_threads(n), one per BLAS numpy loaded."""
    global _pools
    if _pools is None:
        import numpy  # noqa: F401  (loads OpenBLAS before threadpoolctl looks)
        from threadpoolctl import ThreadpoolController

        pools: list[Any] = []
        for lib in ThreadpoolController().select(user_api="blas").lib_controllers:
            pool = lib
            if lib.internal_api == "openblas":
                for prefix, suffix in itertools.product(
                    ("", "scipy_"), ("", "64_", "_64")
                ):
                    if hasattr(lib.dynlib, f"{prefix}openblas_set_num_threads{suffix}"):
                        pool = _OpenBLAS(lib.dynlib, prefix, suffix)
                        break
            pools.append(pool)
        _pools = pools
    return _pools


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Hold numpy's BLAS to one thread inside the block (re-entrant, thread-safe).

    The first block to enter sets the limit and the last to leave restores what was
    there, whichever threads they run on, so a prediction on the GUI thread cannot
    lift the limit under a training step running on a worker.
    """
    global _depth
    with _lock:
        if _depth == 0:
            for pool in _blas_pools():
                _saved.append((pool, pool.get_num_threads()))
                pool.set_num_threads(1)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for pool, n in _saved:
                    pool.set_num_threads(n)
                _saved.clear()


def hold_one_blas_thread() -> None:
    """Hold numpy's BLAS to one thread for the rest of the process.

    The ``convlab`` command calls it (the app and the headless subcommands), so the
    limit is set once and never switched back and forth around every training step
    and prediction: each switch makes OpenBLAS resize its thread pool, and rapid
    switching next to BLAS calls from other threads is a known source of stalls.
    """
    global _held
    if _held is None:
        _held = one_blas_thread()
        _held.__enter__()
