"""Start-up: one QApplication, pyqtgraph's global options, the main window."""

from __future__ import annotations

import argparse
import os
import sys


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="convlab",
        description="Open the convlab window (explorer and trainer).",
        epilog="Headless: convlab train|evaluate|summary ... (convlab train --help).",
    )
    parser.add_argument(
        "scene",
        nargs="?",
        help="a .convlab scene to open, or a folder of scenes (its first)",
    )
    parser.add_argument("--image", help="open this image instead of the bundled sample")
    parser.add_argument("--tab", choices=("explorer", "trainer"), default="explorer")
    parser.add_argument(
        "--screenshot",
        metavar="PNG",
        help="save a picture of the window once it has drawn, then quit",
    )
    return parser.parse_args(argv)


def configure_pyqtgraph() -> None:
    import pyqtgraph as pg

    # numpy arrays are (row, column) everywhere in convlab: say so once, before any
    # ImageItem exists.
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)


def create_application(argv: list[str] | None = None):
    """The QApplication (existing one reused, as under pytest-qt)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(argv or [sys.argv[0]])
    app.setApplicationName("convlab")
    app.setOrganizationName("convlab")
    configure_pyqtgraph()
    return app


def check_screenshot_path(path: str) -> str:
    """Why ``--screenshot path`` cannot be written ('' if it can): its folder is
    created now, so a folder that cannot be made fails before any window opens."""
    from pathlib import Path

    from convlab._files import check_writable

    folder = Path(path).expanduser().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        return f"cannot create the folder {folder}: {err.strerror or err}"
    try:
        check_writable(path)
    except OSError as err:
        return str(err)
    return ""


def run(argv: list[str]) -> int:
    args = _parse(argv)
    if args.screenshot:
        problem = check_screenshot_path(args.screenshot)
        if problem:
            print(f"convlab: --screenshot: {problem}", file=sys.stderr)
            return 2
    headless = "QT_QPA_PLATFORM" not in os.environ and not os.environ.get("DISPLAY")
    if args.screenshot and headless:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = create_application()
    from convlab.gui.main_window import MainWindow

    window = MainWindow(image_path=args.image, scene_path=args.scene)
    window.select_tab(args.tab)
    window.show()
    if args.screenshot:
        window.save_screenshot_when_ready(args.screenshot, quit_after=True)
    return app.exec()
