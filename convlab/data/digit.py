"""Turn a drawn digit into the 28x28 image an MNIST model expects (headless, no Qt).

MNIST's digits were made this way (LeCun, Cortes and Burges): the writer's ink was
size-normalised to fit a 20x20 box, keeping its aspect ratio, with anti-aliasing (hence
the grey levels), then placed in a 28x28 field so that its centre of mass lies at the
field's centre. A digit drawn on a large canvas must go through the same steps, or a
model trained on MNIST sees something it never saw (a digit touching the border, or
off-centre) and guesses badly.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["preprocess_digit", "FIELD", "BOX"]

#: Side of MNIST's images.
FIELD = 28
#: Side of the box the ink is scaled to fit.
BOX = 20


def _as_unit_image(image: object) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim != 2:
        raise ValueError(
            "`image` must be a 2-D array (H, W). "
            f"Received: image with shape {getattr(arr, 'shape', None)}"
        )
    if arr.size == 0:
        raise ValueError(
            f"`image` must not be empty. Received: image with shape {arr.shape}"
        )
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype == bool:
        return arr.astype(np.float32)
    if not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"`image` must hold numbers. Received: dtype={arr.dtype}")
    out = np.nan_to_num(arr.astype(np.float32), nan=0.0)
    return np.clip(out, 0.0, 1.0)


def _ink_is_white(img: np.ndarray) -> bool:
    """Guess the polarity from the border: paper fills most of a drawing's edge."""
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    return float(np.median(border)) < 0.5


def preprocess_digit(
    image: object, *, ink: str = "auto", threshold: float = 0.1
) -> np.ndarray:
    """The 28x28 image a model trained on MNIST expects, from a drawing of any size.

    Steps, as MNIST was made: crop to the ink's bounding box; scale it (anti-aliased,
    aspect ratio kept) so its longer side is 20 pixels; paste it into a black 28x28
    field so that its centre of mass (in pixel-index coordinates, row and column) lies
    at (14, 14) to within half a pixel, shifting by whole pixels; the ink never leaves
    the field.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Float in [0, 1] (values outside are clipped) or uint8 in [0, 255].
    ink : {"auto", "white", "black"}
        ``"white"``: white ink on black, as MNIST; ``"black"``: dark ink on white paper
        (inverted first); ``"auto"``: decided from the border's median.
    threshold : float
        Pixels brighter than ``threshold * max`` count as ink for the bounding box.

    Returns
    -------
    ndarray, shape (28, 28), float32
        White ink on black in [0, 1]; all zeros when there is no ink.

    Raises
    ------
    ValueError
        ``image`` is not 2-D, or ``ink``/``threshold`` are not allowed values.

    Examples
    --------
    >>> canvas = np.zeros((100, 60), np.float32)
    >>> canvas[10:90, 20:40] = 1.0          # a tall bar, off-centre
    >>> digit = preprocess_digit(canvas)
    >>> digit.shape, digit.dtype
    ((28, 28), dtype('float32'))
    >>> rows = np.flatnonzero(digit.max(axis=1) > 0.5)
    >>> int(rows[0]), int(rows[-1])         # 20 rows tall
    (4, 23)
    """
    if ink not in ("auto", "white", "black"):
        raise ValueError(
            f'`ink` must be "auto", "white" or "black". Received: ink={ink!r}'
        )
    if not 0.0 <= float(threshold) < 1.0:
        raise ValueError(
            f"`threshold` must be in [0, 1). Received: threshold={threshold!r}"
        )
    img = _as_unit_image(image)
    if ink == "black" or (ink == "auto" and not _ink_is_white(img)):
        img = 1.0 - img
    out = np.zeros((FIELD, FIELD), np.float32)
    peak = float(img.max())
    if peak <= 1e-3:
        return out
    rows = np.flatnonzero(img.max(axis=1) > threshold * peak)
    cols = np.flatnonzero(img.max(axis=0) > threshold * peak)
    crop = img[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    scale = BOX / max(h, w)
    new_h = max(1, min(BOX, round(h * scale)))
    new_w = max(1, min(BOX, round(w * scale)))
    # Area-averaging when shrinking (the anti-aliasing MNIST's grey edges come from);
    # bicubic when a tiny drawing is enlarged. Mode "F" keeps float precision.
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BICUBIC
    small = np.asarray(
        Image.fromarray(np.ascontiguousarray(crop, np.float32), mode="F").resize(
            (new_w, new_h), resample
        ),
        dtype=np.float32,
    )
    small = np.clip(small, 0.0, 1.0)
    mass = float(small.sum())
    if mass <= 0.0:
        return out
    ys, xs = np.indices(small.shape)
    cy = float((ys * small).sum()) / mass
    cx = float((xs * small).sum()) / mass
    centre = FIELD / 2
    top = min(max(int(np.round(centre - cy)), 0), FIELD - new_h)
    left = min(max(int(np.round(centre - cx)), 0), FIELD - new_w)
    out[top : top + new_h, left : left + new_w] = small
    return out
