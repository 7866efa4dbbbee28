"""Make the shipped scenes of a first lecture (``assets/scenes/*.convlab``).

Run ``python -m convlab.lecture.make_scenes [FOLDER]`` to remake them (default: the
repository's ``assets/scenes``). Every scene is built here from numbers and a bundled
sample photo, so the files can always be regenerated and reviewed as text.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from convlab import explore
from convlab.data.filters import get_preset

from .scene import Scene, save_scene

__all__ = ["lecture_scenes", "main"]

#: The classic demo's 7x7 input (small integers) and 3x3 kernel.
GRID_7 = np.array(
    [
        [3, 3, 2, 1, 0, 1, 2],
        [0, 0, 1, 3, 1, 0, 0],
        [3, 1, 2, 2, 3, 1, 2],
        [2, 0, 0, 2, 2, 3, 1],
        [2, 0, 0, 0, 1, 2, 0],
        [1, 2, 3, 1, 0, 2, 1],
        [0, 1, 2, 3, 1, 1, 3],
    ],
    np.float32,
)
KERNEL_3 = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]], np.float32)


def _plain(**changes: object) -> explore.Settings:
    values: dict[str, object] = {
        "filters": (explore.Filter("kernel", KERNEL_3),),
        "padding": "valid",
        "activation": "none",
        "pool": "none",
    }
    values.update(changes)
    return explore.Settings(**values)  # type: ignore[arg-type]


def _photo(side: int = 96) -> np.ndarray:
    """The bundled cameraman, downscaled with Pillow to ``side`` pixels and kept as
    8-bit values / 255 (so the scene stores it as a small viewable PNG)."""
    from PIL import Image

    from convlab.data.images import get_sample

    with Image.open(get_sample("cameraman").path) as im:
        small = im.convert("L").resize((side, side), Image.Resampling.LANCZOS)
        return np.asarray(small, np.float32)[None] / np.float32(255)


def lecture_scenes() -> dict[str, Scene]:
    """The scenes by file name, in lecture order."""
    rng = np.random.default_rng(2026)
    signed_8 = rng.integers(-3, 4, size=(8, 8)).astype(np.float32)
    bank = tuple(
        explore.Filter(p.name, p.kernel)
        for p in map(get_preset, ["Sobel x", "Sobel y", "Laplacian (4-neighbour)"])
    ) + (explore.Filter("Gaussian 5x5", get_preset("Gaussian 5x5").kernel),)
    return {
        "01-what-a-kernel-does.convlab": Scene(
            GRID_7,
            _plain(),
            title="1. What a kernel does",
            notes="Slide the 3x3 kernel over the 7x7 input: each output is the sum "
            "of the products under the window. 7 - 3 + 1 = 5 outputs a side.",
            step=7,
        ),
        "02-stride.convlab": Scene(
            GRID_7,
            _plain(stride=(2, 2)),
            title="2. Stride: the window jumps",
            notes="Stride 2 skips every other position: floor((7 - 3) / 2) + 1 = 3.",
            step=4,
        ),
        "03-padding-zeros.convlab": Scene(
            GRID_7[:5, :5],
            _plain(padding="same"),
            title="3. Padding keeps the size",
            notes="'same' adds a ring of zeros so the output is 5x5 like the input.",
            step=0,
        ),
        "03b-padding-modes.convlab": Scene(
            GRID_7[:5, :5],
            _plain(padding="same", padding_mode="reflect"),
            title="3b. Padding modes: reflect",
            notes="Reflect copies the cells mirrored at the edge (arrows); try "
            "replicate and circular.",
            step=0,
        ),
        "04-dilation.convlab": Scene(
            np.arange(81, dtype=np.float32).reshape(9, 9) % 5,
            _plain(dilation=(2, 2)),
            title="4. Dilation: a wider view, same weights",
            notes="Dilation 2 spreads the 3x3 taps over a 5x5 area: 9 - 5 + 1 = 5.",
            step=6,
        ),
        "05-pooling.convlab": Scene(
            signed_8,
            _plain(
                filters=(
                    explore.Filter(
                        "edge", np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]]), 0.0
                    ),
                ),
                padding="same",
                activation="relu",
                pool="max",
                pool_size=(2, 2),
                pool_stride=(2, 2),
            ),
            title="5. ReLU, then max pooling",
            notes="Each 2x2 window of the activation keeps its largest value.",
            step=9,
        ),
        "06-filter-bank-on-a-photo.convlab": Scene(
            _photo(),
            explore.Settings(
                filters=bank, padding="same", activation="relu", pool="max"
            ),
            title="6. A filter bank on a photo",
            notes="Four filters, four feature maps: edges across, edges down, "
            "outlines, blur.",
            step=96 * 40 + 40,
            clip_percentile=99.5,
        ),
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(__file__).resolve().parents[2]
    folder = Path(args[0]) if args else root / "assets" / "scenes"
    folder.mkdir(parents=True, exist_ok=True)
    for name, scene in lecture_scenes().items():
        save_scene(folder / name, scene)
        print(f"wrote {folder / name} ({(folder / name).stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
