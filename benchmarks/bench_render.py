"""Figure rendering: median warm time to render each shipped scene's PNG.

Each scene is loaded once and rendered once to warm up (numba kernels from the cache,
fonts), then ``--repeat`` times: load is not timed, ``figures.render_png`` plus the
PNG encode is. The SVG and the GIF (default frames: about 60) are timed alongside
for reference. Target: under 2 s per PNG.

Usage::

    .venv/bin/python benchmarks/bench_render.py [--repeat 5] [--scale 2]

Timings are noisy on a shared machine: medians with the load average.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from convlab.lecture import figures  # noqa: E402
from convlab.lecture.scene import load_scene, scene_folder  # noqa: E402

TARGET_S = 2.0


def _load() -> str:
    try:
        with open("/proc/loadavg") as handle:
            return " ".join(handle.read().split()[:3])
    except OSError:
        return "n/a"


def _median(fn, repeat: int) -> float:  # noqa: ANN001
    fn()  # warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args()
    print(f"load average {_load()}; scale {args.scale}; median of {args.repeat}")
    header = f"{'scene':<34} {'PNG s':>7} {'target':>7} {'SVG s':>7} {'GIF s':>8}"
    print(header)
    print("-" * len(header))
    worst = 0.0
    for path in scene_folder(ROOT / "assets" / "scenes"):
        scene = load_scene(path)

        def png(scene=scene) -> None:
            image = figures.render_png(scene, scale=args.scale)
            image.save(io.BytesIO(), "PNG")

        def svg(scene=scene) -> None:
            figures.render_svg(scene)

        def gif(scene=scene) -> None:
            frames = figures.animation_frames(scene, scale=args.scale)
            frames[0].save(io.BytesIO(), "GIF", save_all=True, append_images=frames[1:])

        t_png = _median(png, args.repeat)
        t_svg = _median(svg, args.repeat)
        t_gif = _median(gif, max(1, args.repeat // 3))
        worst = max(worst, t_png)
        print(
            f"{path.stem:<34} {t_png:>7.3f} {TARGET_S:>7.1f} {t_svg:>7.3f} "
            f"{t_gif:>8.2f}"
        )
    verdict = "within" if worst < TARGET_S else "OVER"
    print(f"slowest PNG {worst:.3f} s: {verdict} the {TARGET_S:g} s target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
