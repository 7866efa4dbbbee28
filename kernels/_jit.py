"""The one place for numba options.

Every kernel is compiled with ``cache=True`` (a second launch loads machine code from the
per-user cache set up in ``_cache.py``), ``nogil=True`` (training runs on a worker thread
while the GUI thread calls kernels too) and ``fastmath=False`` (NaN and inf must propagate
as IEEE arithmetic says; ``fastmath`` would let LLVM assume they never occur).

Threading layer: ``parallel=True`` kernels run on numba's OpenMP layer. Under the default
``workqueue`` layer two threads calling a parallel kernel at once abort the process, and
the GUI thread and a training thread do exactly that. ``omp`` is thread-safe and ships with
the numba wheel on Linux; ``tbb`` would be too but is not installed here.
"""

from __future__ import annotations

import os

# GNU OpenMP threads spin after each parallel region by default; on 2 cores they then fight
# OpenBLAS's threads (numpy matmul): measured a LeNet training step 10x slower (relu 7.7 ms
# vs 0.4 ms). Passive waiting must be set before libgomp loads (numba's first parallel call).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402
from numba import config  # noqa: E402

if config.THREADING_LAYER == "default":
    # "safe" would demand tbb; omp is what the wheel links on Linux. On platforms without
    # it numba raises at the first parallel call, which tests catch.
    config.THREADING_LAYER = "omp"

JIT_OPTIONS = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}

njit = numba.njit(**JIT_OPTIONS)
"""Decorator for serial kernels."""

njit_parallel = numba.njit(parallel=True, **JIT_OPTIONS)
"""Decorator for kernels that use ``numba.prange``."""

prange = numba.prange
