"""Dependencies point one way: kernels <- convlab (headless) <- convlab.gui.

Checked in a fresh interpreter, because this test process has long since imported Qt.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _headless_modules() -> list[str]:
    import convlab

    names = ["kernels", "convlab", "convlab.__main__"]
    for info in pkgutil.walk_packages(convlab.__path__, "convlab."):
        if info.name == "convlab.gui" or info.name.startswith("convlab.gui."):
            continue
        names.append(info.name)
    return names


def _loaded_after_import(modules: list[str]) -> list[str]:
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_headless_packages_load_no_qt():
    modules = _headless_modules()
    # the walk really found the headless packages (else this test checks nothing)
    for expected in (
        "convlab.nn",
        "convlab.train",
        "convlab.train.run",
        "convlab.train.session",
        "convlab.train.engine",
        "convlab.train.specs",
        "convlab.data.mnist",
        "convlab.cli",
    ):
        assert expected in modules
    loaded = _loaded_after_import(modules)
    offenders = [
        m for m in loaded if m.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6")
    ]
    assert offenders == [], f"headless import pulled in Qt: {offenders[:5]}"


def test_trainer_run_model_loads_no_qt():
    """The trainer's state, session and specs import (and run) without Qt: the GUI's
    trainer tab is a view of them, not their owner."""
    import convlab.train

    modules = ["convlab.train"] + [
        info.name
        for info in pkgutil.walk_packages(convlab.train.__path__, "convlab.train.")
    ]
    assert "convlab.train.run" in modules
    loaded = _loaded_after_import(modules)
    assert [m for m in loaded if m.split(".")[0] in ("PySide6", "pyqtgraph")] == []
    assert "convlab.train.run" in loaded  # the check really imported it


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "convlab" / "train").glob("*.py")),
    ids=lambda p: p.name,
)
def test_train_source_has_no_qt_import(path):
    text = path.read_text()
    for forbidden in ("PySide6", "pyqtgraph", "convlab.gui"):
        assert forbidden not in text, f"{path.name} mentions {forbidden!r}"


def test_kernels_import_nothing_from_convlab():
    loaded = _loaded_after_import(["kernels"])
    assert [m for m in loaded if m.split(".")[0] == "convlab"] == []
    assert "numba" in loaded  # sanity: the check really imported the kernels


def test_gui_import_does_load_qt():
    """The check above can fail: importing the GUI really does load PySide6."""
    loaded = _loaded_after_import(["convlab.gui.workers"])
    assert "PySide6.QtCore" in loaded


@pytest.mark.parametrize(
    "path", sorted((ROOT / "kernels").glob("*.py")), ids=lambda p: p.name
)
def test_kernels_source_has_no_qt_or_convlab_import(path):
    text = path.read_text()
    for forbidden in (
        "import PySide6",
        "from PySide6",
        "pyqtgraph",
        "from convlab",
        "import convlab",
    ):
        assert forbidden not in text, f"{path.name} mentions {forbidden!r}"
