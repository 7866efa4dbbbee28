"""Where numba keeps compiled kernels.

This module must run before numba is first imported (``kernels/__init__`` imports it
first). numba's own cache fails at import when the install directory is read-only, and
it keeps a stale compiled result after an edit to a jitted helper in *another* file (its
key is the file of the calling function). A per-user directory whose name carries the
numba version and a hash of every kernels source file avoids both: any edit to any
kernel file starts a fresh cache.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _source_hash() -> str:
    digest = hashlib.sha1()
    for path in sorted(_HERE.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _user_cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "convlab" / "numba"


def configure() -> str | None:
    """Set ``NUMBA_CACHE_DIR`` unless the user already chose one; return the dir."""
    if "NUMBA_CACHE_DIR" in os.environ:
        return os.environ["NUMBA_CACHE_DIR"]
    try:
        from importlib.metadata import version

        numba_version = version("numba")
    except Exception:  # metadata missing: still keep caches apart by source hash
        numba_version = "unknown"
    path = _user_cache_root() / f"numba-{numba_version}-{_source_hash()}"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # no writable home: numba falls back to its default behaviour
    os.environ["NUMBA_CACHE_DIR"] = str(path)
    return str(path)
