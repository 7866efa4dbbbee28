"""Where the bundled assets live (sample images, the MNIST subset, credits).

The folder ``assets/`` sits at the repository root, next to the ``convlab`` package.
``CONVLAB_ASSETS_DIR`` overrides it (for a packaged install that puts them elsewhere).
"""

from __future__ import annotations

import os
from pathlib import Path


def assets_dir() -> Path:
    """Return the folder holding ``mnist/``, ``samples/`` and ``CREDITS.md``."""
    override = os.environ.get("CONVLAB_ASSETS_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "assets"
