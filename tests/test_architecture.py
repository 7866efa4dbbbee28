"""Dependencies point one way: kernels <- convlab (headless) <- convlab.gui.

Checked in a fresh interpreter, because this test process has long since imported Qt.
"""

from __future__ import annotations

import ast
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


# ------------------------------------------------------------------ the package graph

#: Which packages each package may import (besides the standard library and third-party
#: packages). The README's Architecture section describes the same table.
ALLOWED = {
    "kernels": set(),
    "convlab._files": set(),
    "convlab._threads": set(),
    "convlab._memory": set(),
    "convlab.colormaps": {"kernels"},
    "convlab.data": {"convlab._files", "kernels"},
    "convlab.nn": {"kernels", "convlab._files", "convlab._threads", "convlab.data"},
    "convlab.train": {"convlab.nn", "convlab.data", "kernels", "convlab._threads"},
    "convlab.keras": {"convlab.nn", "convlab.data", "convlab.train", "kernels"},
    "convlab.explore": {"kernels", "convlab.data", "convlab._memory"},
    "convlab.lecture": {
        "kernels",
        "convlab.explore",
        "convlab.colormaps",
        "convlab.data",
        "convlab._files",
    },
    "convlab.cli": {
        "convlab.data",
        "convlab.nn",
        "convlab.train",
        "convlab.explore",
        "convlab.lecture",
        "convlab._files",
        "convlab._threads",
    },
    "convlab": {"convlab._threads"},
}


def _package_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "kernels":
        return "kernels"
    if parts[0] != "convlab":
        return None
    return "convlab" if len(parts) == 1 else f"convlab.{parts[1]}"


def _imports_of(path: Path, module: str) -> set[str]:
    """Every module ``path`` imports, absolute or relative, at any depth of the file."""
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if path.name != "__init__.py":
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
                found.add(name)
                # `from . import x` / `from convlab import colormaps`: x is a module
                found.update(f"{name}.{a.name}" for a in node.names)
            else:
                found.add(node.module or "")
                found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def _package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    files = sorted((ROOT / "convlab").rglob("*.py")) + sorted(
        (ROOT / "kernels").glob("*.py")
    )
    for path in files:
        rel = path.relative_to(ROOT).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        source = _package_of(module)
        for name in _imports_of(path, module):
            target = _package_of(name)
            if target and target != source:
                graph.setdefault(source, set()).add(target)
    return graph


def test_package_graph_follows_the_layering():
    graph = _package_graph()
    assert "convlab.nn" in graph  # the walk found the packages
    assert "convlab.explore" in graph
    offenders = {}
    for source, targets in graph.items():
        if source.startswith("convlab.gui") or source == "convlab.__main__":
            continue  # the GUI and the entry point may import any headless package
        allowed = ALLOWED.get(source)
        assert allowed is not None, f"{source} is not in the layering table"
        # `import convlab` alone (its __init__: thread policy) is no package dependency
        extra = targets - allowed - {"convlab"}
        if extra:
            offenders[source] = sorted(extra)
    assert offenders == {}


def test_nn_never_imports_train():
    assert "convlab.train" not in _package_graph().get("convlab.nn", set())


def test_package_graph_check_can_fail(tmp_path):
    """The walk really sees a forbidden import (else the test above checks nothing)."""
    bad = tmp_path / "bad.py"
    bad.write_text("from convlab.train import train_events\nfrom ..gui import x\n")
    names = _imports_of(bad, "convlab.nn.bad")
    assert "convlab.train" in {_package_of(n) for n in names}
    assert "convlab.gui" in {_package_of(n) for n in names}
