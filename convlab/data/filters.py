"""Filter presets, each with a one-line lesson, and filter banks saved as readable JSON.

Convention: kernels are applied as a Conv2D applies them, by *cross-correlation* (no
flip): ``out[y, x] = sum(kernel[i, j] * image[y + i - ci, x + j - cj])``. So "Sobel x"
below, ``[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]``, is positive where the image gets
brighter from left to right. (Textbooks that convolve write it mirrored.)

A bank file looks like::

    {
      "format": "convlab-filter-bank",
      "version": 1,
      "filters": [
        {
          "name": "Sobel x",
          "description": "...",
          "kernel": [
            [-1, 0, 1],
            [-2, 0, 2],
            [-1, 0, 1]
          ]
        }
      ]
    }
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from convlab._files import atomic_write

__all__ = [
    "BANK_FORMAT",
    "BANK_VERSION",
    "MAX_KERNEL_SIDE",
    "PRESETS",
    "FilterBankError",
    "FilterPreset",
    "default_bank",
    "gabor_kernel",
    "gaussian_kernel",
    "get_preset",
    "laplacian_of_gaussian_kernel",
    "load_bank",
    "save_bank",
]

BANK_FORMAT = "convlab-filter-bank"
BANK_VERSION = 1
MAX_KERNEL_SIDE = 15
_MAX_BANK_BYTES = 8 * 1024 * 1024
_FLOAT32_MAX = float(np.finfo(np.float32).max)


class FilterBankError(ValueError):
    """A filter-bank file is unreadable or malformed (the message says where)."""


def _check_kernel(kernel: object, what: str) -> np.ndarray:
    """A float32, read-only, finite (KH, KW) array with sides 1..MAX_KERNEL_SIDE."""
    try:
        array = np.array(kernel, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(
            f"`{what}` must be a rectangular 2-D array of numbers. Received: {kernel!r}"
        ) from None
    if array.ndim != 2:
        raise ValueError(
            f"`{what}` must be 2-D (KH, KW). Received: shape {array.shape}"
        )
    kh, kw = array.shape
    if not (1 <= kh <= MAX_KERNEL_SIDE and 1 <= kw <= MAX_KERNEL_SIDE):
        raise ValueError(
            f"`{what}` sides must be 1 to {MAX_KERNEL_SIDE}. Received: shape {kh}x{kw}"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"`{what}` must hold finite numbers. Received: NaN or inf")
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class FilterPreset:
    """A named kernel with a one-line explanation.

    Attributes
    ----------
    name : str
    kernel : ndarray, shape (KH, KW), float32
        Read-only (presets are shared): ``preset.kernel.copy()`` to edit.
    description : str
        One line: what it does and why.
    """

    name: str
    kernel: np.ndarray
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(
                f"`name` must be a non-empty str. Received: name={self.name!r}"
            )
        if not isinstance(self.description, str):
            raise ValueError(
                f"`description` must be a str. Received: "
                f"description={self.description!r}"
            )
        object.__setattr__(self, "kernel", _check_kernel(self.kernel, "kernel"))

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.kernel.shape[0]), int(self.kernel.shape[1])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FilterPreset):
            return NotImplemented
        return (
            self.name == other.name
            and self.description == other.description
            and self.kernel.shape == other.kernel.shape
            and bool(np.array_equal(self.kernel, other.kernel))
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        kh, kw = self.shape
        return f"FilterPreset({self.name!r}, {kh}x{kw})"


# ----------------------------------------------------------------------------- formulas


def gaussian_kernel(size: int, sigma: float) -> np.ndarray:
    """A normalised (sums to 1) ``size x size`` Gaussian,
    ``exp(-r^2 / (2 sigma^2))``."""
    r = np.arange(size) - (size - 1) / 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2.0 * sigma**2))
    return (g / g.sum()).astype(np.float32)


def laplacian_of_gaussian_kernel(size: int, sigma: float) -> np.ndarray:
    """Negative Laplacian of a Gaussian ("Mexican hat"), zero-sum, centre = positive.

    ``-(1 - r^2 / (2 sigma^2)) exp(-r^2 / (2 sigma^2))`` up to scale, made to sum to 0
    (so flat regions give 0), scaled so the positive weights sum to 1.
    """
    r = np.arange(size) - (size - 1) / 2
    r2 = r[:, None] ** 2 + r[None, :] ** 2
    k = (1.0 - r2 / (2.0 * sigma**2)) * np.exp(-r2 / (2.0 * sigma**2))
    k -= k.mean()
    return (k / k[k > 0].sum()).astype(np.float32)


def gabor_kernel(
    size: int = 9,
    theta_deg: float = 0.0,
    *,
    sigma: float = 2.0,
    wavelength: float = 4.0,
    gamma: float = 0.5,
    psi: float = 0.0,
) -> np.ndarray:
    """A real Gabor kernel: a cosine wave under a Gaussian envelope, zero-sum.

    ``g(x, y) = exp(-(x'^2 + gamma^2 y'^2) / (2 sigma^2))
    cos(2 pi x' / wavelength + psi)``
    with ``x' = x cos(theta) + y sin(theta)``, ``y' = -x sin(theta) + y cos(theta)``,
    ``x`` to the right and ``y`` up on screen (rows run down, so row index = -y).
    ``theta`` is the direction of the wave: 0 makes vertical stripes, 90 horizontal
    ones, 45 stripes running from top-left to bottom-right. The mean is subtracted, so a
    flat region gives 0, and the result is scaled so its positive weights sum to 1.

    Parameters
    ----------
    size : int
        Kernel side (odd, so the kernel has a centre).
    theta_deg : float
        Direction of the wave, degrees counter-clockwise on screen from the x axis.
    sigma : float
        Width of the Gaussian envelope, pixels.
    wavelength : float
        Period of the cosine, pixels.
    gamma : float
        Aspect ratio of the envelope (< 1: elongated along the stripes).
    psi : float
        Phase offset, radians (0: symmetric, even kernel; pi/2: odd, edge-like).
    """
    half = (size - 1) / 2
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) - half
    theta = math.radians(theta_deg)
    # Screen y points down: negate it so positive angles turn counter-clockwise on
    # screen.
    xr = x * math.cos(theta) - y * math.sin(theta)
    yr = x * math.sin(theta) + y * math.cos(theta)
    envelope = np.exp(-(xr**2 + gamma**2 * yr**2) / (2.0 * sigma**2))
    k = envelope * np.cos(2.0 * math.pi * xr / wavelength + psi)
    k -= k.mean()
    return (k / k[k > 0].sum()).astype(np.float32)


# ----------------------------------------------------------------------------- presets


def _p(name: str, kernel: object, description: str) -> FilterPreset:
    return FilterPreset(name, np.asarray(kernel, dtype=np.float32), description)


_GAUSS5 = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256.0

#: The preset library, in menu order.
PRESETS: list[FilterPreset] = [
    _p(
        "Identity",
        [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
        "Copies the input: a single 1 in the centre picks out the pixel itself.",
    ),
    _p(
        "Box blur 3x3",
        np.full((3, 3), 1 / 9),
        "Each output is the plain average of a 3x3 window: blurs and removes fine "
        "noise.",
    ),
    _p(
        "Box blur 5x5",
        np.full((5, 5), 1 / 25),
        "A wider average (5x5): stronger blur; note the blocky look of equal weights.",
    ),
    _p(
        "Gaussian 3x3",
        np.outer([1, 2, 1], [1, 2, 1]) / 16.0,
        "Weighted average, centre counts most ([1 2 1] x [1 2 1] / 16): a smooth blur.",
    ),
    _p(
        "Gaussian 5x5",
        _GAUSS5,
        "Binomial approximation of a Gaussian (sigma about 1): smooth blur without "
        "blocks.",
    ),
    _p(
        "Sharpen",
        [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
        "Identity plus a Laplacian: boosts each pixel against its neighbours (crisper "
        "edges).",
    ),
    _p(
        "Laplacian (4-neighbour)",
        [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
        "Second derivative: 0 on flat areas and ramps, large on edges and dots, any "
        "direction.",
    ),
    _p(
        "Laplacian (8-neighbour)",
        [[1, 1, 1], [1, -8, 1], [1, 1, 1]],
        "Laplacian that also counts the diagonals: more isotropic, stronger response.",
    ),
    _p(
        "Outline",
        [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
        "Centre minus all 8 neighbours (a negated Laplacian): bright outlines on "
        "black.",
    ),
    _p(
        "Sobel x",
        [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
        "Horizontal gradient, smoothed vertically: positive where it gets brighter to "
        "the right.",
    ),
    _p(
        "Sobel y",
        [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
        "Vertical gradient: positive where the image gets brighter downwards "
        "(horizontal edges).",
    ),
    _p(
        "Prewitt x",
        [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
        "Horizontal gradient with equal row weights: like Sobel x, a little noisier.",
    ),
    _p(
        "Prewitt y",
        [[-1, -1, -1], [0, 0, 0], [1, 1, 1]],
        "Vertical gradient with equal column weights: finds horizontal edges.",
    ),
    _p(
        "Scharr x",
        [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]],
        "Horizontal gradient tuned for rotation invariance: better edge angles than "
        "Sobel.",
    ),
    _p(
        "Scharr y",
        [[-3, -10, -3], [0, 0, 0], [3, 10, 3]],
        "Vertical gradient, Scharr weights (3, 10, 3): horizontal edges.",
    ),
    _p(
        "Emboss",
        [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
        "Gradient towards the bottom right plus the image: looks like raised relief.",
    ),
    _p(
        "Diagonal edges (45°)",
        [[-2, -1, 0], [-1, 0, 1], [0, 1, 2]],
        "Sobel turned 45°: answers edges running bottom-left to top-right (/).",
    ),
    _p(
        "Diagonal edges (135°)",
        [[0, -1, -2], [1, 0, -1], [2, 1, 0]],
        "Sobel turned 135°: answers edges running top-left to bottom-right (\\).",
    ),
    _p(
        "LoG 5x5",
        [
            [0, 0, -1, 0, 0],
            [0, -1, -2, -1, 0],
            [-1, -2, 16, -2, -1],
            [0, -1, -2, -1, 0],
            [0, 0, -1, 0, 0],
        ],
        "Laplacian of Gaussian (Mexican hat): smooth, then find blobs and edges; sums "
        "to 0.",
    ),
    _p(
        "LoG 9x9 (sigma 1.4)",
        laplacian_of_gaussian_kernel(9, 1.4),
        "Mexican hat from the formula, sigma 1.4: answers blobs about 4 px across.",
    ),
    _p(
        "Gabor 0°",
        gabor_kernel(9, 0.0),
        "A wave along x under a Gaussian (lambda 4 px, sigma 2): answers vertical "
        "bars, texture.",
    ),
    _p(
        "Gabor 45°",
        gabor_kernel(9, 45.0),
        "Gabor with its wave along 45°: answers stripes running top-left to "
        "bottom-right (\\).",
    ),
    _p(
        "Gabor 90°",
        gabor_kernel(9, 90.0),
        "Gabor with its wave along y: answers horizontal bars; first CNN layers learn "
        "such filters.",
    ),
    _p(
        "Horizontal lines",
        [[-1, -1, -1], [2, 2, 2], [-1, -1, -1]],
        "A bright row between dark rows: answers thin horizontal lines, not wide "
        "edges.",
    ),
    _p(
        "Vertical lines",
        [[-1, 2, -1], [-1, 2, -1], [-1, 2, -1]],
        "A bright column between dark ones: answers thin vertical lines.",
    ),
    _p(
        "Motion blur (1x7)",
        np.full((1, 7), 1 / 7),
        "Averages 7 pixels in a row: the smear of a camera moving sideways; a 1x7 "
        "kernel.",
    ),
    _p(
        "Forward difference (1x2)",
        [[-1, 1]],
        "Right pixel minus left: the smallest gradient; an even width has no centre "
        "pixel.",
    ),
]


def _key(name: str) -> str:
    return " ".join(name.lower().replace("_", " ").replace("-", " ").split())


def get_preset(name: str) -> FilterPreset:
    """The preset called ``name`` (case, ``_``, ``-`` and extra spaces ignored)."""
    wanted = _key(name)
    for preset in PRESETS:
        if _key(preset.name) == wanted:
            return preset
    names = ", ".join(p.name for p in PRESETS)
    raise ValueError(f"`name` must be one of: {names}. Received: name={name!r}")


#: Names of the explorer's first bank: eight 3x3 filters (fast, and each teaches a
#: lesson).
DEFAULT_BANK_NAMES: tuple[str, ...] = (
    "Sobel x",
    "Sobel y",
    "Diagonal edges (45°)",
    "Laplacian (4-neighbour)",
    "Gaussian 3x3",
    "Sharpen",
    "Emboss",
    "Horizontal lines",
)


def default_bank() -> list[FilterPreset]:
    """The explorer's first filter bank: 8 presets, all 3x3 (a new list each call)."""
    return [get_preset(name) for name in DEFAULT_BANK_NAMES]


# ----------------------------------------------------------------------------- files


def _number(value: np.float32) -> int | float:
    """The shortest JSON number that reads back as the same float32."""
    as_float = float(str(value))  # numpy prints the shortest float32 round-trip form
    return (
        int(as_float) if as_float.is_integer() and abs(as_float) < 2**53 else as_float
    )


def _bank_text(bank: Sequence[FilterPreset]) -> str:
    entries = []
    for preset in bank:
        rows = ",\n".join(
            "        " + json.dumps([_number(v) for v in row]) for row in preset.kernel
        )
        entries.append(
            "    {\n"
            f'      "name": {json.dumps(preset.name, ensure_ascii=False)},\n'
            '      "description": '
            f"{json.dumps(preset.description, ensure_ascii=False)},\n"
            '      "kernel": [\n'
            f"{rows}\n"
            "      ]\n"
            "    }"
        )
    body = ",\n".join(entries)
    filters = f"[\n{body}\n  ]" if entries else "[]"
    return (
        "{\n"
        f'  "format": "{BANK_FORMAT}",\n'
        f'  "version": {BANK_VERSION},\n'
        f'  "filters": {filters}\n'
        "}\n"
    )


def save_bank(path: str | os.PathLike[str], bank: Iterable[FilterPreset]) -> None:
    """Write ``bank`` as readable JSON (one kernel row per line), atomically.

    The text goes to a temporary file in the same folder, then ``os.replace`` puts it in
    place: a crash never leaves a half-written bank.

    Raises
    ------
    TypeError
        An item of ``bank`` is not a :class:`FilterPreset`.
    """
    bank = list(bank)
    for i, preset in enumerate(bank):
        if not isinstance(preset, FilterPreset):
            raise TypeError(
                f"`bank` must hold FilterPreset objects. Received: bank[{i}]={preset!r}"
            )
    text = _bank_text(bank)
    with atomic_write(path) as handle:
        handle.write(text.encode("utf-8"))


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _parse_kernel(raw: object, where: str) -> np.ndarray:
    if not isinstance(raw, list) or not raw:
        raise FilterBankError(f"{where} must be a non-empty list of rows")
    if len(raw) > MAX_KERNEL_SIDE:
        raise FilterBankError(
            f"{where} has {len(raw)} rows; kernels are 1 to {MAX_KERNEL_SIDE} per side"
        )
    width = None
    for r, row in enumerate(raw):
        if not isinstance(row, list) or not row:
            raise FilterBankError(
                f"{where} row {r} must be a non-empty list of numbers"
            )
        if width is None:
            width = len(row)
        elif len(row) != width:
            raise FilterBankError(
                f"{where} is not rectangular: row 0 has {width} values, row {r} has "
                f"{len(row)}"
            )
        for c, value in enumerate(row):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise FilterBankError(
                    f"{where}[{r}][{c}] must be a number. Received: {value!r}"
                )
            try:
                finite = math.isfinite(value) and abs(float(value)) <= _FLOAT32_MAX
            except OverflowError:  # an int too large for a float
                finite = False
            if not finite:
                raise FilterBankError(
                    f"{where}[{r}][{c}] must be finite (within float32 range). "
                    f"Received: {value!r}"
                )
    assert width is not None
    if width > MAX_KERNEL_SIDE:
        raise FilterBankError(
            f"{where} has {width} columns; kernels are 1 to {MAX_KERNEL_SIDE} per side"
        )
    return np.array(raw, dtype=np.float32)


def load_bank(path: str | os.PathLike[str]) -> list[FilterPreset]:
    """Read a bank written by :func:`save_bank` (or by hand), validating everything.

    Returns
    -------
    list of FilterPreset
        All the filters, or nothing: any problem raises before anything is returned.

    Raises
    ------
    FilterBankError
        Unreadable file, invalid JSON, wrong ``format`` tag or ``version``, or a filter
        without a name, with a non-rectangular, empty, oversized (> 15) or non-finite
        kernel; the message names the file and the place.
    """
    path = Path(path)
    name = path.name
    try:
        if path.stat().st_size > _MAX_BANK_BYTES:
            raise FilterBankError(f"{name}: too large for a filter bank (over 8 MB)")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FilterBankError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise FilterBankError(
            f"{name}: not a text file (expected UTF-8 JSON)"
        ) from None
    except OSError as err:
        raise FilterBankError(
            f"{path}: cannot be read ({err.strerror or err})"
        ) from err
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise FilterBankError(
            f"{name}: not valid JSON ({err.msg} at line {err.lineno}, column "
            f"{err.colno})"
        ) from None
    except ValueError as err:  # NaN / Infinity
        raise FilterBankError(f"{name}: {err}") from None
    if not isinstance(data, dict):
        raise FilterBankError(f'{name}: expected a JSON object with a "format" key')
    if data.get("format") != BANK_FORMAT:
        raise FilterBankError(
            f'{name}: not a convlab filter bank ("format" is {data.get("format")!r}, '
            f"expected {BANK_FORMAT!r})"
        )
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise FilterBankError(
            f'{name}: "version" must be an integer. Received: {version!r}'
        )
    if version != BANK_VERSION:
        newer = " (written by a newer convlab?)" if version > BANK_VERSION else ""
        raise FilterBankError(
            f"{name}: unsupported version {version}{newer}; this convlab reads version "
            f"{BANK_VERSION}"
        )
    filters = data.get("filters")
    if not isinstance(filters, list):
        raise FilterBankError(f'{name}: "filters" must be a list of filters')
    bank = []
    for i, entry in enumerate(filters):
        where = f"{name}: filters[{i}]"
        if not isinstance(entry, dict):
            raise FilterBankError(f"{where} must be an object with name and kernel")
        title = entry.get("name")
        if not isinstance(title, str) or not title.strip():
            raise FilterBankError(f"{where}.name must be a non-empty string")
        description = entry.get("description", "")
        if not isinstance(description, str):
            raise FilterBankError(f"{where}.description must be a string")
        if "kernel" not in entry:
            raise FilterBankError(f"{where} ({title!r}) has no kernel")
        kernel = _parse_kernel(entry["kernel"], f"{where}.kernel ({title!r})")
        bank.append(FilterPreset(title, kernel, description))
    return bank
