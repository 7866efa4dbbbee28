"""``convlab`` / ``python -m convlab``: the app, or a headless subcommand.

``convlab`` alone opens the window; ``convlab SCENE.convlab`` (or a folder of scenes:
its first) opens it in the window. ``convlab train|evaluate|summary|render ...`` run
headless and never import Qt (the GUI is imported lazily, only when it is asked for).
"""

from __future__ import annotations

import sys

# "render" was missing here: `python -m convlab render ...` reached the GUI's parser
SUBCOMMANDS = ("train", "evaluate", "summary", "render")


def main(argv: list[str] | None = None) -> int:
    from convlab._threads import hold_one_blas_thread

    hold_one_blas_thread()  # see convlab/_threads.py
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in SUBCOMMANDS:
        from convlab.cli import main as cli_main

        return cli_main(args)
    from convlab.gui.app import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
