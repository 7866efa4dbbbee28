"""Shared test set-up: headless Qt, and where the full MNIST lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# GUI tests render offscreen: no display needed, same pixels in CI as on a laptop.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
FULL_MNIST = Path(
    os.environ.get("CONVLAB_MNIST_DIR", ROOT.parent / "shared" / "data" / "mnist")
)
MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


@pytest.fixture(scope="session")
def full_mnist_dir() -> Path:
    """The folder holding the full MNIST; skips (saying why) when it is not there."""
    missing = [name for name in MNIST_FILES if not (FULL_MNIST / name).exists()]
    if missing:
        pytest.skip(
            f"full MNIST not found at {FULL_MNIST} (missing {', '.join(missing)})"
        )
    return FULL_MNIST


@pytest.fixture(autouse=True)
def _private_gui_settings(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's real convlab settings (UI scale, theme,
    colour maps): every test gets its own settings file."""
    folder = tmp_path_factory.mktemp("settings")
    monkeypatch.setenv("CONVLAB_SETTINGS", str(folder / "convlab.ini"))


@pytest.fixture(scope="session", autouse=True)
def _compiled_kernels():
    """Compile every kernel once, before the first test (from the cache when warm).

    On an empty cache the compiles would otherwise happen inside whichever test first
    needs a kernel, and numba holds the GIL while it compiles: a GUI test waiting on a
    hover or a redraw then waits on a compile of tens of seconds. Compiling up front
    moves that time, it adds none."""
    import kernels

    kernels.warmup()
