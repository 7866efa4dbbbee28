"""The one place for numba options.

Every kernel is compiled with ``cache=True`` (a second launch loads machine code from
the per-user cache set up in ``_cache.py``), ``nogil=True`` (training runs on a worker
thread while the GUI thread calls kernels too), ``fastmath=False`` (NaN and inf must
propagate as IEEE arithmetic says; ``fastmath`` would let LLVM assume they never occur;
``fastmath={"contract"}``, FMA only, measured no faster on the conv loops) and
``error_model="numpy"`` (division by zero gives inf/NaN, no exception check in loops).
The one exception is a long float sum (``conv.py``'s grad-weight dot products and
bias gradient): :data:`njit_reassoc` adds ``fastmath={"reassoc", "nsz"}`` so the sum
runs in vector lanes.

Threading layer: ``parallel=True`` kernels run on numba's OpenMP layer. Under the
default ``workqueue`` layer two threads calling a parallel kernel at once abort the
process, and the GUI thread and a training thread do exactly that. ``omp`` is
thread-safe (``tests/test_threads.py``) and ships with the numba wheel on Linux; ``tbb``
would be too but is not installed here.

Serial or parallel, measured on the 2-core machine during development (conv2d, 1 vs 2
threads, quiet machine): explorer 1x3x512x512 3x3 3.8 -> 1.9 ms, 11x11 31 -> 16.5 ms,
training layer 128x32x14x14 forward 24 -> 12.5 ms, so the conv kernels use ``prange``.
While another process kept one core busy, the 2-thread runs were up to 4x *slower*
than 1 thread (OpenMP's static schedule waits for the descheduled thread): timings on a
shared machine are noisy, and a caller that knows the cores are taken can lower
``numba.set_num_threads`` (it is per calling thread).
"""

from __future__ import annotations

import os

# GNU OpenMP threads spin after each parallel region by default; on 2 cores they then
# fight OpenBLAS's threads (numpy matmul): measured a LeNet training step 10x slower
# (relu 7.7 ms vs 0.4 ms). Passive waiting must be set before libgomp loads (numba's
# first parallel call). It is the safe default next to a script's own matmuls; convlab,
# which holds OpenBLAS to one thread while it trains, asks for brief spinning instead
# (``GOMP_SPINCOUNT`` wins over this; see ``convlab/_threads.py``).
PASSIVE_BY_DEFAULT = "OMP_WAIT_POLICY" not in os.environ
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402
from numba import config  # noqa: E402

if config.THREADING_LAYER == "default":
    # "safe" would demand tbb; omp is what the wheel links on Linux. On platforms
    # without it numba raises at the first parallel call, which tests catch.
    config.THREADING_LAYER = "omp"

JIT_OPTIONS = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}

njit = numba.njit(**JIT_OPTIONS)
"""Decorator for serial kernels."""

njit_parallel = numba.njit(parallel=True, **JIT_OPTIONS)
"""Decorator for kernels that use ``numba.prange``."""

prange = numba.prange

# A float sum only vectorises when LLVM may reassociate it. ``reassoc`` and ``nsz``
# change the summation order (and the sign of an exact zero), never how NaN or inf
# propagate (``nnan``/``ninf`` stay off).
_REASSOC = {**JIT_OPTIONS, "fastmath": {"reassoc", "nsz"}}

njit_reassoc = numba.njit(**_REASSOC)
"""Decorator for serial long sums (see the module notes)."""

njit_reassoc_parallel = numba.njit(parallel=True, **_REASSOC)
"""The same with ``prange``."""
