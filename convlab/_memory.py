"""How convlab asks glibc's allocator to keep large freed blocks (next to
:mod:`convlab._threads`, the other process-wide tuning).

Every feature map is a fresh 1 MB array (a stack of 8 is 8 MB). By default glibc hands
blocks that large back to the OS when freed, so the next compute page-faults on every
page it writes; and each thread (the pool's, numba's OpenMP threads) gets its own arena,
whose freed memory the next thread does not reuse. Measured per redraw of a 512x512 RGB
image with 8 filters: 13.7 ms -> 7.4 ms of compute, and ~1,200 page faults -> 0 when the
compute alternates between pool threads. Costs: up to 128 MB of freed memory stays with
the process, and all threads share one arena (a lock; convlab makes few, large
allocations).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["reuse_freed_memory"]

_TUNED = False


def reuse_freed_memory() -> bool:
    """Let glibc keep freed large blocks for reuse instead of unmapping them.

    Called once by the GUI (see the module notes for the measurement); returns whether
    the allocator was tuned (glibc only). Calling it again is free.
    """
    global _TUNED
    if _TUNED:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold, m_arena_max = -1, -3, -8
        ok = libc.mallopt(m_mmap_threshold, 32 * 1024 * 1024) == 1
        ok = libc.mallopt(m_trim_threshold, 128 * 1024 * 1024) == 1 and ok
        ok = libc.mallopt(m_arena_max, 1) == 1 and ok
    except (OSError, AttributeError):
        return False
    _TUNED = ok
    return ok
