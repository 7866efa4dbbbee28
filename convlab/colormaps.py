"""Colour maps for feature maps, kernels and images: numpy only, no Qt.

One vocabulary for every view (the explorer's grid, the microscope, the input, the
headless figure renderer):

- ``"grey"``: black = low, white = high, never inverted. The default for image-like
  and non-negative maps (after ReLU, pooled, a blur), which then look like photos.
- ``"diverging"``: ColorBrewer RdBu reversed, blue = negative, white = 0, red =
  positive, with dark saturated ends. The default for signed maps (a raw conv, an
  edge filter): the sign is the hue and the magnitude the darkness, so a thin edge
  is a dark line on white. RdBu is one of ColorBrewer's colour-blind-safe schemes
  (blue and red stay apart for deuteranopes and protanopes).
- ``"viridis"``, ``"cividis"``, ``"magma"``: perceptually uniform (lightness rises
  steadily from low to high); cividis is optimised for colour-vision deficiency.

Pixels are coloured by :func:`to_rgb` from a display range ``(lo, hi)`` chosen by
:func:`limits`: symmetric about 0 for signed maps (so white always means 0), and
optionally clipped at a percentile of the magnitudes ("robust contrast"), so that a
few extreme pixels do not wash thin edges out to near-white.

Non-finite values: ``+inf`` and ``-inf`` saturate to the ends of the map; ``NaN`` is
drawn in :func:`nan_colour` of the map, mid-grey ``(128, 128, 128)`` where the map
has no neutral grey (diverging, viridis, magma) and magenta ``(255, 0, 255)`` where
it does (grey, cividis), so a NaN never passes for a value.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from kernels import _warmup
from kernels.colour import value_window

#: the warm-up step that compiles :mod:`kernels.colour` (NumPy until then)
COLOUR_STEP = "colour maps"

__all__ = [
    "LABELS",
    "NAMES",
    "SIGNED_FRACTION",
    "default_for",
    "finite_range",
    "is_signed",
    "limits",
    "lut",
    "lut_index",
    "nan_colour",
    "to_rgb",
]

NAMES: tuple[str, ...] = ("grey", "diverging", "viridis", "cividis", "magma")

LABELS: dict[str, str] = {
    "grey": "Greyscale (black low, white high)",
    "diverging": "Diverging blue-white-red (signed, 0 = white)",
    "viridis": "Viridis (perceptually uniform)",
    "cividis": "Cividis (uniform, colour-vision-deficiency safe)",
    "magma": "Magma (perceptually uniform, dark to light)",
}


def _hex(stops: str) -> list[tuple[int, int, int]]:
    """'rrggbb rrggbb ...' as a list of RGB triples."""
    return [tuple(bytes.fromhex(s)) for s in stops.split()]  # type: ignore[misc]


# Control points, evenly spaced on [0, 1] unless positions are given; the 256-entry
# tables interpolate linearly between them. Viridis, cividis and magma are the
# matplotlib maps sampled at 17 points (pyqtgraph ships the same data).
_STOPS: dict[str, tuple[list[float] | None, list[tuple[int, int, int]]]] = {
    "grey": (None, [(0, 0, 0), (255, 255, 255)]),
    # ColorBrewer RdBu, reversed so that negative is blue and positive is red.
    "diverging": (
        [0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0],
        [
            (5, 48, 97),
            (67, 147, 195),
            (209, 229, 240),
            (247, 247, 247),
            (253, 219, 199),
            (214, 96, 77),
            (103, 0, 31),
        ],
    ),
    "viridis": (
        None,
        _hex(
            "440154 481769 472c7a 423f85 3b518b 33628d "
            "2c718e 26818e 21908c 1f9f88 27ad80 3dbc73 "
            "5cc862 81d34c aadc31 d5e219 fde725"
        ),
    ),
    "cividis": (
        None,
        _hex(
            "00204d 002b68 05366e 2c416c 404d6b 51586c "
            "60646f 6e6f73 7c7b78 8b8779 9b9477 aca174 "
            "bcaf6f cebc67 e0cb5d f2da4f ffea46"
        ),
    ),
    "magma": (
        None,
        _hex(
            "000004 090721 1c1046 35106a 50127b 691c81 "
            "822581 9b2e7f b63679 cf406f e55063 f4695c "
            "fb8761 fea571 fec287 fde0a1 fcfdbf"
        ),
    ),
}

_NAN_MID_GREY = (128, 128, 128)
_NAN_MAGENTA = (255, 0, 255)
_NAN: dict[str, tuple[int, int, int]] = {
    "grey": _NAN_MAGENTA,
    "diverging": _NAN_MID_GREY,
    "viridis": _NAN_MID_GREY,
    "cividis": _NAN_MAGENTA,
    "magma": _NAN_MID_GREY,
}


def _check_name(name: str) -> str:
    if name not in _STOPS:
        raise ValueError(
            f"`name` must be one of {', '.join(NAMES)}. Received: name={name!r}"
        )
    return name


@cache
def _lut(name: str) -> np.ndarray:
    positions, colours = _STOPS[name]
    rgb = np.asarray(colours, np.float64)
    xp = np.linspace(0.0, 1.0, len(rgb)) if positions is None else np.asarray(positions)
    t = np.linspace(0.0, 1.0, 256)
    table = np.stack([np.interp(t, xp, rgb[:, k]) for k in range(3)], axis=1)
    out = np.rint(table).astype(np.uint8)
    out.flags.writeable = False
    return out


def lut(name: str) -> np.ndarray:
    """The 256-colour table of a map.

    Parameters
    ----------
    name : str
        One of :data:`NAMES`.

    Returns
    -------
    ndarray, shape (256, 3), uint8
        Read-only; entry 0 is the low end, 255 the high end.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`NAMES`.
    """
    return _lut(_check_name(name))


def nan_colour(name: str) -> tuple[int, int, int]:
    """The RGB colour :func:`to_rgb` draws NaN in for map ``name`` (see the module
    docstring)."""
    return _NAN[_check_name(name)]


def default_for(signed: bool) -> str:
    """The default map: ``"diverging"`` for a signed map, ``"grey"`` for a
    non-negative or image-like one."""
    return "diverging" if signed else "grey"


def is_signed(values: np.ndarray, min_fraction: float = 0.0) -> bool:
    """Whether a map is signed (then it wants a diverging, symmetric scale).

    Parameters
    ----------
    values : array_like, float
    min_fraction : float in [0, 1), optional
        Signed when the negative values carry more than this fraction of the total
        ``sum(|value|)`` of the finite values. 0 (the default): any negative value.
        :data:`SIGNED_FRACTION` treats an image-like map with a few negative
        overshoots (a sharpened photo) as non-negative, so it is drawn greyscale
        like the photo it is.
    """
    if not (0.0 <= float(min_fraction) < 1.0):
        raise ValueError(
            f"`min_fraction` must be in [0, 1). Received: min_fraction={min_fraction!r}"
        )
    finite, lo, _ = finite_range(values)
    if finite.size == 0 or not lo < 0:
        return False
    negative = -float(np.minimum(finite, 0).sum(dtype=np.float64))
    return negative > min_fraction * float(np.abs(finite).sum(dtype=np.float64))


def finite_range(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The finite entries of ``values`` as a flat float array, with their min and max
    (``(empty, 0.0, 0.0)`` without any). float32 and float64 stay as they are (no
    copy when all are finite: the explorer's maps), anything else becomes float64."""
    a = np.asarray(values)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    flat = a.reshape(-1)
    if flat.size == 0:
        return flat, 0.0, 0.0
    lo, hi = float(flat.min()), float(flat.max())
    if np.isfinite(lo) and np.isfinite(hi):
        return flat, lo, hi  # a NaN or an inf would have shown in the min or the max
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return flat, 0.0, 0.0
    return flat, float(flat.min()), float(flat.max())


#: maps up to this many values are partitioned whole; bigger ones through a sample
SELECT_DIRECT = 16384


def _sample(values: np.ndarray) -> np.ndarray:
    """A sorted random sample of ~8,192 of 1-D ``values`` (fixed seed: the same work
    each time): every 32nd pixel of a map follows its structure and missed the
    window 1 time in 3."""
    picks = np.random.default_rng(values.size).integers(0, values.size, 8192)
    return np.sort(values[picks])


def _window(
    values: np.ndarray, lo_bound: float, hi_bound: float, lo_open: bool, hi_open: bool
) -> tuple[int, np.ndarray]:
    """How many ``values`` are below ``lo_bound`` and those in [lo_bound, hi_bound]
    (an open end bounds nothing)."""
    if values.dtype == np.float32 and _warmup.is_done(COLOUR_STEP):
        # one compiled pass instead of NumPy's two masks, a count and a gather
        out = np.empty(values.size, np.float32)
        below, count = value_window(
            values,
            -np.inf if lo_open else lo_bound,
            np.inf if hi_open else hi_bound,
            out,
        )
        return below, out[:count]
    below = 0 if lo_open else int(np.count_nonzero(values < lo_bound))
    if lo_open and hi_open:
        return below, values
    if lo_open:
        return below, values[values <= hi_bound]
    if hi_open:
        return below, values[values >= lo_bound]
    return below, values[(values >= lo_bound) & (values <= hi_bound)]


def _order_statistics(
    values: np.ndarray, ks: list[int], sample: np.ndarray | None = None
) -> dict[int, float]:
    """The exact ``k``-th smallest of 1-D finite ``values`` for each k in ``ks``
    (close ranks, as a percentile's two neighbours are).

    A partition of all 262,144 values of a 512x512 map took 2.5 ms, 24 of them a
    frame. Instead: the ranks' neighbourhood in a sorted sample (:func:`_sample`,
    or ``sample``; plus and minus 6 standard deviations of a sample rank) bounds a
    window of values; one pass counts those below it and gathers those in it, and
    the window alone is partitioned. If the ranks fall outside the window (an
    unlucky sample), the whole array is partitioned: the result is exact either
    way."""
    n = values.size
    if n <= SELECT_DIRECT:
        part = np.partition(values, ks)
        return {k: float(part[k]) for k in ks}
    if sample is None:
        sample = _sample(values)
    m = sample.size
    q = min(ks) / n  # a sample rank's spread: binomial, sqrt(m q (1 - q))
    slack = int(6 * np.sqrt(m * q * (1 - q))) + 16
    lo_rank = max(0, min(ks) * m // n - slack)
    hi_rank = min(m - 1, max(ks) * m // n + slack)
    # the sample's ends bound nothing: the data may reach past them
    lo_open, hi_open = lo_rank == 0, hi_rank == m - 1
    lo_bound, hi_bound = sample[lo_rank], sample[hi_rank]
    if not lo_open and lo_bound == hi_bound:  # a run of ties (a ReLU map's zeros)
        below = int(np.count_nonzero(values < lo_bound))
        ties = int(np.count_nonzero(values == lo_bound))
        if all(below <= k < below + ties for k in ks):
            return {k: float(lo_bound) for k in ks}
    below, inside = _window(values, lo_bound, hi_bound, lo_open, hi_open)
    if all(below <= k < below + inside.size for k in ks):
        part = np.partition(inside, [k - below for k in ks])
        return {k: float(part[k - below]) for k in ks}
    part = np.partition(values, ks)
    return {k: float(part[k]) for k in ks}


def _percentiles(values: np.ndarray, qs: list[float]) -> list[float]:
    """``np.percentile(values, qs)`` (linear interpolation, in float64) of 1-D
    finite float ``values``, ``qs`` in [0, 100], by :func:`_order_statistics` (one
    sample for all)."""
    n = values.size
    ranks = [q / 100.0 * (n - 1) for q in qs]
    sample = _sample(values) if n > SELECT_DIRECT else None
    stats: dict[int, float] = {}
    for r in ranks:  # each percentile's two neighbours: a narrow window each
        k = int(np.floor(r))
        stats.update(_order_statistics(values, sorted({k, min(k + 1, n - 1)}), sample))
    out = []
    for r in ranks:
        k = int(np.floor(r))
        lo, hi = stats[k], stats[min(k + 1, n - 1)]
        out.append(lo + (hi - lo) * (r - k))
    return out


SIGNED_FRACTION = 0.2
"""Negatives carrying over 20% of a map's ``sum(|value|)`` make it signed (see
:func:`is_signed`). Measured on the 7 bundled samples with the default 3x3 bank:
Sobel, diagonal, Laplacian and line maps 41-55%; sharpen 0-7% and emboss 3-15% on
the photos (29% and 41% on the binary digit); blur 0%."""


def _check_percentile(clip_percentile: float | None) -> float | None:
    if clip_percentile is None:
        return None
    p = float(clip_percentile)
    if not (50.0 <= p <= 100.0):
        raise ValueError(
            "`clip_percentile` must be None or a number in [50, 100]. "
            f"Received: clip_percentile={clip_percentile!r}"
        )
    return p


def limits(
    values: np.ndarray, *, signed: bool, clip_percentile: float | None = None
) -> tuple[float, float]:
    """The display range ``(lo, hi)`` of a map, always finite with ``lo < hi``.

    Parameters
    ----------
    values : array_like, float
        The map (any shape); non-finite entries are ignored.
    signed : bool
        True: symmetric ``(-m, m)`` with ``m`` the largest ``|value|``, so 0 is the
        centre of a diverging map. False: ``(min, max)``.
    clip_percentile : float in [50, 100], optional
        Robust contrast: ``m`` (signed), or ``max`` and ``min`` (unsigned), become
        that percentile of the finite ``|values|`` (unsigned: the ``p`` and
        ``100 - p`` percentiles of the values), so a few extreme pixels saturate and
        thin edges stand out. Where the clip would leave an empty range (the map is
        nearly all one value) the unclipped range is used.

    Returns
    -------
    (float, float)
        A map with no finite value gives ``(-1, 1)`` if signed, else ``(0, 1)``. A
        constant signed map ``c`` gives ``(-|c|, |c|)`` (``(-1, 1)`` for 0); a
        constant unsigned map gives ``(0, 1)`` for 0, else the range from 0 to
        ``2c`` (drawn mid-scale).

    Examples
    --------
    >>> limits([[0.0, -2.0], [1.0, 0.5]], signed=True)
    (-2.0, 2.0)
    >>> limits([[0.0, 2.0], [1.0, 0.5]], signed=False)
    (0.0, 2.0)
    """
    p = _check_percentile(clip_percentile)
    # the finite values without a float64 copy, the percentiles from a window a
    # sample finds (see _order_statistics)
    finite, lo, hi = finite_range(values)
    if finite.size == 0:
        return (-1.0, 1.0) if signed else (0.0, 1.0)
    if signed:
        m = max(-lo, hi)
        if p is not None:
            (clipped,) = _percentiles(np.abs(finite), [p])
            if clipped > 0:
                m = clipped
        if m <= 0:
            m = 1.0
        return (-m, m)
    if p is not None:
        c_lo, c_hi = _percentiles(finite, [100.0 - p, p])
        if c_hi > c_lo:
            lo, hi = float(c_lo), float(c_hi)
    if hi > lo:
        return (lo, hi)
    if lo == 0:
        return (0.0, 1.0)
    return (min(0.0, 2 * lo), max(0.0, 2 * lo))


def to_rgb(values: np.ndarray, name: str, lo: float, hi: float) -> np.ndarray:
    """A map coloured with map ``name`` on the display range ``(lo, hi)``.

    The nearest of the 256 colours: ``t = (v - mid) * 255 / (hi - lo) + 128``,
    clipped to [0, 255] and truncated (``mid = (lo + hi) / 2``), written about the
    centre so that 0 on a symmetric range lands exactly on entry 128, the white of
    the diverging map. Values outside the range saturate, ``+-inf`` too; NaN is
    :func:`nan_colour`.

    Parameters
    ----------
    values : array_like, shape (H, W), float
    name : str
        One of :data:`NAMES`.
    lo, hi : float
        Finite, ``lo < hi`` (see :func:`limits`).

    Returns
    -------
    ndarray, shape (H, W, 3), uint8

    Examples
    --------
    >>> to_rgb([[-1.0, 0.0, 1.0]], "grey", -1.0, 1.0)[0].tolist()
    [[0, 0, 0], [128, 128, 128], [255, 255, 255]]
    """
    table = lut(name)
    a = np.asarray(values)
    if a.ndim != 2:
        raise ValueError(
            f"`values` must be 2-D (H, W). Received: values.shape={a.shape}"
        )
    index, nan = lut_index(a, lo, hi)
    rgb = table[index]
    if nan is not None:
        rgb[nan] = nan_colour(name)
    return rgb


def lut_index(
    values: np.ndarray, lo: float, hi: float
) -> tuple[np.ndarray, np.ndarray | None]:
    """The table entry of every value (the arithmetic of :func:`to_rgb`).

    Parameters
    ----------
    values : array_like, float, any shape
    lo, hi : float
        Finite, ``lo < hi``.

    Returns
    -------
    index : ndarray, uint8, the shape of ``values``
        NaN entries get 0.
    nan : ndarray of bool or None
        Where ``values`` is NaN (None if nowhere).
    """
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(
            f"`lo` and `hi` must be finite with lo < hi. Received: lo={lo!r}, hi={hi!r}"
        )
    t = np.asarray(values, np.float64) - 0.5 * (lo + hi)
    with np.errstate(over="ignore"):  # a subnormal range: values beyond it clip
        scale = 255.0 / (hi - lo)
        if np.isfinite(scale):
            t *= scale
        else:  # 255 / 2e-311 overflows; dividing first keeps 0 at the centre
            t /= hi - lo
            t *= 255.0
    t += 128.0
    nan = np.isnan(t)
    if nan.any():
        t[nan] = 0.0
    else:
        nan = None
    np.clip(t, 0.0, 255.0, out=t)
    return t.astype(np.uint8), nan
