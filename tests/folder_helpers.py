"""A synthetic folder of class sub-folders of colour images (the trainer's folder
reader, the CLI's ``--data FOLDER``): six classes of coloured shapes and stripes on
noisy dark backgrounds, each class a different pattern and colour."""

from __future__ import annotations

from pathlib import Path

import numpy as np

CLASSES = (
    "blue_disc",
    "cyan_cross",
    "green_vstripes",
    "magenta_diag",
    "red_hstripes",
    "yellow_square",
)
_COLOURS = {
    "blue_disc": (50, 80, 230),
    "cyan_cross": (40, 210, 220),
    "green_vstripes": (40, 200, 60),
    "magenta_diag": (210, 50, 200),
    "red_hstripes": (220, 40, 40),
    "yellow_square": (230, 210, 40),
}


def pattern(name: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One RGB uint8 (size, size, 3) image of class ``name``."""
    yy, xx = np.mgrid[0:size, 0:size]
    img = np.empty((size, size, 3), np.float64)
    img[:] = rng.integers(0, 90, 3)
    cy, cx = rng.integers(size // 4, 3 * size // 4, 2)
    r = int(rng.integers(size // 6, size // 3 + 1))
    p = max(2, int(rng.integers(size // 10, size // 6 + 2)))
    masks = {
        "red_hstripes": (yy // p) % 2 == 0,
        "green_vstripes": (xx // p) % 2 == 0,
        "blue_disc": (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r,
        "yellow_square": (abs(yy - cy) <= r) & (abs(xx - cx) <= r),
        "magenta_diag": ((yy + xx) // p) % 2 == 0,
        "cyan_cross": (abs(yy - cy) <= max(1, size // 16))
        | (abs(xx - cx) <= max(1, size // 16)),
    }
    img[masks[name]] = np.array(_COLOURS[name]) * rng.uniform(0.7, 1.0)
    img += rng.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_colour_folder(
    root: Path, per_class: int = 50, size: int = 32, seed: int = 0
) -> list[str]:
    """``root/<class>/<i>.png`` for the six classes; returns the class names."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for name in CLASSES:
        folder = Path(root) / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(pattern(name, size, rng)).save(folder / f"{i:03d}.png")
    return list(CLASSES)
