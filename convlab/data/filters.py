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
          "bias": 0,
          "kernel": [
            [-1, 0, 1],
            [-2, 0, 2],
            [-1, 0, 1]
          ]
        }
      ]
    }

Limits, checked on load and on save, with a message naming the filter and the cell:
at most :data:`MAX_BANK_FILTERS` (32) filters, kernels 1 to :data:`MAX_KERNEL_SIDE`
(15) per side, every weight and bias finite with ``|v| <=`` :data:`MAX_ABS_VALUE`
(1e6: a kernel weight of 1e40 shows as inf and turns the maps non-finite), files of at
most 2 MB nested at most 16 deep (a deeper file is refused before ``json`` would
recurse). ``"bias"`` is optional on load (0 when absent: banks written before biases
were saved).
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from convlab._files import FileAccessError, atomic_write, read_bounded

__all__ = [
    "BANK_FORMAT",
    "BANK_VERSION",
    "MAX_ABS_VALUE",
    "MAX_BANK_FILTERS",
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
#: The most filters a bank holds (the explorer shows this many maps).
MAX_BANK_FILTERS = 32
#: The largest magnitude of a weight or bias: far beyond any teaching filter, far
#: below where float32 maps overflow.
MAX_ABS_VALUE = 1e6
#: 32 filters of 15x15 with long descriptions take about 200 KB.
_MAX_BANK_BYTES = 2 * 1024 * 1024
#: A bank is 5 deep ({ "filters": [ { "kernel": [ [ ); a deeper file is not a bank.
_MAX_NESTING = 16


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
    bad = ~np.isfinite(array) | (np.abs(array) > MAX_ABS_VALUE)
    if bad.any():
        r, c = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"`{what}` must hold finite numbers of at most {MAX_ABS_VALUE:g} in size. "
            f"Received: {what}[{r}][{c}]={float(array[r, c]):.7g}"
        )
    array.setflags(write=False)
    return array


def _check_bias(bias: object) -> float:
    if isinstance(bias, bool | np.bool_) or not isinstance(bias, numbers.Real):
        raise TypeError(f"`bias` must be a number. Received: bias={bias!r}")
    try:
        value = float(bias)
    except OverflowError:  # an int too large for a float
        value = math.inf
    if not (math.isfinite(value) and abs(value) <= MAX_ABS_VALUE):
        raise ValueError(
            f"`bias` must be finite and at most {MAX_ABS_VALUE:g} in size. "
            f"Received: bias={bias!r}"
        )
    return value


@dataclass(frozen=True, eq=False)
class FilterPreset:
    """A named kernel with a one-line explanation.

    Attributes
    ----------
    name : str
    kernel : ndarray, shape (KH, KW), float32
        Read-only (presets are shared): ``preset.kernel.copy()`` to edit. Values
        finite, ``|v| <= MAX_ABS_VALUE``.
    description : str
        One line: what it does and why.
    bias : float
        Added to every output of the filter (finite, ``|bias| <= MAX_ABS_VALUE``).
    """

    name: str
    kernel: np.ndarray
    description: str = ""
    bias: float = 0.0

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
        object.__setattr__(self, "bias", _check_bias(self.bias))

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.kernel.shape[0]), int(self.kernel.shape[1])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FilterPreset):
            return NotImplemented
        return (
            self.name == other.name
            and self.description == other.description
            and self.bias == other.bias
            and self.kernel.shape == other.kernel.shape
            and bool(np.array_equal(self.kernel, other.kernel))
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        kh, kw = self.shape
        bias = f", bias={self.bias:g}" if self.bias else ""
        return f"FilterPreset({self.name!r}, {kh}x{kw}{bias})"


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


def _number(value: np.float32 | float) -> int | float:
    """The shortest JSON number that reads back as the same float32."""
    as_float = float(str(value))  # the shortest round-trip form (float32 or float)
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
            f'      "bias": {json.dumps(_number(preset.bias))},\n'
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


def _as_preset(item: object, i: int) -> FilterPreset:
    """A FilterPreset, or anything with ``name`` and ``kernel`` (and optionally
    ``description``, ``bias``) checked as one, the message naming the filter."""
    if isinstance(item, FilterPreset):
        return item
    if not (hasattr(item, "name") and hasattr(item, "kernel")):
        raise TypeError(
            "`bank` must hold FilterPreset objects (or objects with name and kernel). "
            f"Received: bank[{i}]={item!r}"
        )
    try:
        return FilterPreset(
            item.name,  # type: ignore[attr-defined]
            item.kernel,  # type: ignore[attr-defined]
            getattr(item, "description", ""),
            getattr(item, "bias", 0.0),
        )
    except (TypeError, ValueError) as err:
        name = getattr(item, "name", "?")
        raise type(err)(f"bank[{i}] ({name!r}): {err}") from None


def save_bank(path: str | os.PathLike[str], bank: Iterable[object]) -> None:
    """Write ``bank`` as readable JSON (one kernel row per line), atomically.

    Everything is checked before the file is touched; the text then goes through
    :func:`convlab._files.atomic_write` (a temporary in the same folder, fsync, rename):
    a crash never leaves a half-written bank.

    Parameters
    ----------
    path : str or path-like
    bank : iterable of FilterPreset
        Or of objects with ``name``, ``kernel`` and optionally ``description`` and
        ``bias`` (the explorer's bank entries), checked as a FilterPreset is.

    Raises
    ------
    TypeError
        An item of ``bank`` is not a filter.
    ValueError
        More than :data:`MAX_BANK_FILTERS` filters, or a filter with a non-finite or
        too large weight or bias (the message names the filter and the cell).
    OSError
        The file cannot be written (:class:`convlab._files.FileAccessError`); the old
        file is unchanged.
    """
    items = list(bank)
    if len(items) > MAX_BANK_FILTERS:
        raise ValueError(
            f"`bank` must hold at most {MAX_BANK_FILTERS} filters. "
            f"Received: {len(items)} filters"
        )
    presets = [_as_preset(item, i) for i, item in enumerate(items)]
    text = _bank_text(presets)
    with atomic_write(path) as handle:
        handle.write(text.encode("utf-8"))


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _short(value: object) -> str:
    """repr, shortened: a 400-digit int is shown by its size, not its digits."""
    if isinstance(value, int) and abs(value) > 10**15:
        return f"an integer of {len(str(abs(value)))} digits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def _nesting_depth(text: str) -> int:
    """How deep ``[`` and ``{`` nest outside strings (linear, no recursion)."""
    bare = _JSON_STRING.sub('""', text).encode("ascii", "replace")
    codes = np.frombuffer(bare, np.uint8)
    steps = np.isin(codes, (ord("["), ord("{"))).astype(np.int32)
    steps -= np.isin(codes, (ord("]"), ord("}")))
    return int(np.cumsum(steps).max(initial=0))


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
                finite = math.isfinite(value) and abs(float(value)) <= MAX_ABS_VALUE
            except OverflowError:  # an int too large for a float
                finite = False
            if not finite:
                shown = f"{value:.7g}" if isinstance(value, float) else _short(value)
                raise FilterBankError(
                    f"{where}[{r}][{c}] must be finite and at most {MAX_ABS_VALUE:g} "
                    f"in size. Received: {shown}"
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
        Not a regular file (a folder, a pipe: refused without blocking), unreadable,
        over 2 MB, nested over 16 deep, invalid JSON, wrong ``format`` tag or
        ``version``, more than :data:`MAX_BANK_FILTERS` filters, or a filter without
        a name, with a non-rectangular, empty, oversized (> 15) kernel or a weight or
        bias that is not finite or over :data:`MAX_ABS_VALUE`; the message names the
        file and the place.
    """
    path = Path(path)
    name = path.name
    try:
        raw = read_bounded(path, _MAX_BANK_BYTES, "a filter bank (2 MB at most)")
    except FileAccessError as err:
        raise FilterBankError(str(err)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FilterBankError(
            f"{name}: not a text file (expected UTF-8 JSON)"
        ) from None
    depth = _nesting_depth(text)
    if depth > _MAX_NESTING:
        raise FilterBankError(
            f"{name}: nested {depth:,} deep; a filter bank is at most {_MAX_NESTING} "
            "deep (not a filter bank)"
        )
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
    if len(filters) > MAX_BANK_FILTERS:
        raise FilterBankError(
            f"{name}: holds {len(filters):,} filters; a bank holds at most "
            f"{MAX_BANK_FILTERS} (nothing was loaded: split it into smaller banks)"
        )
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
        bias = entry.get("bias", 0)
        try:
            bank.append(FilterPreset(title, kernel, description, bias))
        except (TypeError, ValueError) as err:
            raise FilterBankError(f"{where} ({title!r}): {err}") from None
    return bank
