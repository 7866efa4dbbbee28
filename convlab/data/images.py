"""Images in, float32 ``(C, H, W)`` in [0, 1] out: files, arrays, and the bundled
samples.

Rules, the same for a file and for an array:

- Grayscale stays one channel (``C = 1``); colour becomes RGB (``C = 3``). A palette
  image whose palette is all grey becomes one channel too.
- Transparency is composited on white (a transparent PNG looks as it does in a browser).
- CMYK, YCbCr, LAB, HSV are converted to RGB.
- 16-bit images (Pillow modes ``I;16*`` and ``I``) are rescaled from 0-65535, not
  clipped to 8 bits as Pillow's ``convert("L")`` would; 32-bit float images (``F``)
  are kept when they lie in [0, 1] and stretched to [0, 1] otherwise.
- EXIF orientation is applied (a phone photo stands upright).
- Only the first frame of an animated GIF/WebP or a multi-page TIFF is read.
- An image larger than ``max_side`` on its longer side is downscaled (Lanczos);
  ``downscaled`` and ``original_size`` say so, for a visible notice.
- Bounded: at most :data:`MAX_DECODED_PIXELS` (40 MP) are decoded, JPEGs at reduced
  scale when ``max_side`` allows; regular files only (see :func:`load_image`).
"""

from __future__ import annotations

import os
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from convlab._files import FileAccessError, open_regular
from convlab.data._assets import assets_dir

__all__ = [
    "MAX_DECODED_PIXELS",
    "MAX_IMAGE_FILE_BYTES",
    "SAMPLES",
    "ImageLoadError",
    "LoadedImage",
    "Sample",
    "get_sample",
    "image_from_array",
    "load_image",
    "load_sample",
]

#: File types the open dialog should offer (Pillow reads them all).
IMAGE_EXTENSIONS: tuple[str, ...] = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".tif",
    ".tiff",
    ".webp",
    ".gif",
)


_EXIF_ORIENTATION = 0x0112

#: The most pixels :func:`load_image` decodes (after a JPEG's reduced-scale decode):
#: 40 megapixels, 160 MB as 8-bit RGBA. A 9000 x 9000 PNG (81 MP) is refused from its
#: header, before any decoding; a 9000 x 9000 JPEG loads (decoded at 1/8 scale).
MAX_DECODED_PIXELS = 40_000_000
#: The largest image file read: 256 MiB (a 40 MP uncompressed RGBA BMP is 160 MB).
MAX_IMAGE_FILE_BYTES = 256 * 1024 * 1024


class ImageLoadError(ValueError):
    """The file is missing, not an image, corrupt, truncated, or too large to decode."""


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """An image ready for the kernels.

    Attributes
    ----------
    array : ndarray, shape (C, H, W), float32
        Values in [0, 1]; ``C`` is 1 (grayscale) or 3 (RGB).
    original_size : tuple of int
        ``(width, height)`` before any downscaling (after EXIF orientation).
    downscaled : bool
        True when the image was shrunk to fit ``max_side``.
    name : str
        The file name (or a label for arrays), for titles.
    path : Path or None
        The file it came from, when it came from a file.
    """

    array: np.ndarray
    original_size: tuple[int, int]
    downscaled: bool
    name: str
    path: Path | None = None

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of :attr:`array`."""
        return int(self.array.shape[2]), int(self.array.shape[1])

    @property
    def channels(self) -> int:
        return int(self.array.shape[0])

    def describe(self) -> str:
        """``"512 x 512, RGB"``, with the original size when downscaled."""
        w, h = self.size
        kind = "grayscale" if self.channels == 1 else "RGB"
        text = f"{w} x {h}, {kind}"
        if self.downscaled:
            ow, oh = self.original_size
            text += f" (downscaled from {ow} x {oh})"
        return text

    def __repr__(self) -> str:
        return f"LoadedImage({self.name!r}, {self.describe()})"


# ----------------------------------------------------------------------------- helpers


def _check_max_side(max_side: int | None) -> None:
    if max_side is not None and (
        isinstance(max_side, bool) or not isinstance(max_side, int) or max_side < 1
    ):
        raise ValueError(
            f"`max_side` must be a positive int or None. Received: "
            f"max_side={max_side!r}"
        )


def _target_size(
    width: int, height: int, max_side: int | None
) -> tuple[int, int] | None:
    if max_side is None or max(width, height) <= max_side:
        return None
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """float (H, W, C+1) with alpha last -> float (H, W, C) over a white background."""
    alpha = rgba[..., -1:]
    return rgba[..., :-1] * alpha + (1.0 - alpha)


def _resize_float(hwc: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Lanczos-resize a float (H, W, C) array channel by channel (Pillow mode F)."""
    from PIL import Image

    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(hwc[..., c]), "F").resize(
                size, Image.Resampling.LANCZOS
            )
        )
        for c in range(hwc.shape[2])
    ]
    return np.clip(np.stack(channels, axis=-1), 0.0, 1.0)


def _to_chw(hwc: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.transpose(hwc, (2, 0, 1)), dtype=np.float32)


def _is_grey(rgb: np.ndarray) -> bool:
    return bool(
        np.array_equal(rgb[..., 0], rgb[..., 1])
        and np.array_equal(rgb[..., 1], rgb[..., 2])
    )


def _pil_to_float(image) -> np.ndarray:  # noqa: ANN001 (PIL.Image.Image)
    """Any Pillow image -> float32 (H, W, 1 or 3) in [0, 1], alpha composited on
    white."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        values = np.asarray(image).astype(np.float64)
        if mode != "I" or (
            values.min(initial=0) >= 0 and values.max(initial=0) <= 65535
        ):
            values = values / 65535.0
        else:  # genuinely 32-bit data: stretch what is there
            lo, hi = values.min(), values.max()
            values = (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)
        return values.astype(np.float32)[..., None]
    if mode == "F":
        values = np.asarray(image, dtype=np.float32)
        finite = values[np.isfinite(values)]
        lo = float(finite.min()) if finite.size else 0.0
        hi = float(finite.max()) if finite.size else 0.0
        values = np.nan_to_num(values, nan=lo, posinf=hi, neginf=lo)
        if lo < 0.0 or hi > 1.0:
            values = (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)
        return values.astype(np.float32)[..., None]
    if mode in ("1", "L"):
        return (np.asarray(image.convert("L"), np.float32) / 255.0)[..., None]
    if mode in ("LA", "La"):
        la = np.asarray(image.convert("LA"), np.float32) / 255.0
        return _composite_on_white(la)
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in image.info
        rgb_mode = "RGBA" if has_alpha else "RGB"
        values = np.asarray(image.convert(rgb_mode), np.float32) / 255.0
        if has_alpha:
            values = _composite_on_white(values)
        return values[..., :1] if _is_grey(values) else values
    if mode in ("RGBA", "RGBa"):
        return _composite_on_white(
            np.asarray(image.convert("RGBA"), np.float32) / 255.0
        )
    return np.asarray(image.convert("RGB"), np.float32) / 255.0


# ----------------------------------------------------------------------------- files


def _budget_error(name: str, size: tuple[int, int], jpeg: bool) -> ImageLoadError:
    w, h = size
    hint = (
        "load it with a smaller max_side, or a smaller copy"
        if jpeg
        else "formats other than JPEG cannot be decoded at reduced scale; a smaller "
        "copy will load"
    )
    return ImageLoadError(
        f"{name}: {w:,} x {h:,} = {w * h / 1e6:.1f} megapixels to decode, more than "
        f"the {MAX_DECODED_PIXELS / 1e6:.0f}-megapixel budget ({hint})"
    )


def _reduction(width: int, height: int, max_side: int | None) -> int:
    """The box-reduction factor that leaves the longer side between ``max_side`` and
    ``2 * max_side`` (Lanczos does the rest), or 1."""
    if max_side is None or max(width, height) <= 2 * max_side:
        return 1
    return -(-max(width, height) // (2 * max_side))


def _reduce_modes(image) -> list[str]:  # noqa: ANN001
    """Conversions before a box average: alpha premultiplied (colour under
    transparent pixels must not bleed) and 16-bit widened to 32-bit ints (Pillow
    cannot reduce ``I;16``; widening keeps the values, clipping would not)."""
    mode = image.mode
    if mode == "1":
        return ["L"]
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in image.info
        return ["RGBA", "RGBa"] if has_alpha else ["RGB"]
    if mode.startswith("I;16"):
        return ["I"]
    if mode == "RGBA":
        return ["RGBa"]
    if mode == "LA":
        return ["La"]
    return []


def _reduce(image, factor: int):  # noqa: ANN001, ANN202 (PIL.Image.Image)
    """Shrink by an integer ``factor`` (box average) before any float conversion.

    When the mode needs converting first (see :func:`_reduce_modes`), it is done in
    strips of rows (a multiple of ``factor``, about 4 MB each), so the memory stays
    at the decoded image plus one strip instead of a second full-size copy.
    """
    from PIL import Image

    if factor <= 1:
        return image
    modes = _reduce_modes(image)
    if not modes:
        return image.reduce(factor)
    width, height = image.size
    rows = max(factor, (4 << 20) // max(1, 4 * width) // factor * factor)
    out = None
    for top in range(0, height, rows):
        part = image.crop((0, top, width, min(height, top + rows)))
        for mode in modes:
            part = part.convert(mode)
        part = part.reduce(factor)
        if out is None:
            out = Image.new(part.mode, (-(-width // factor), -(-height // factor)))
        out.paste(part, (0, top // factor))
    return out


_ORIENT = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE"}
_ORIENT.update({6: "ROTATE_270", 7: "TRANSVERSE", 8: "ROTATE_90"})


def _orient(image, orientation: object):  # noqa: ANN001, ANN202
    """Apply an EXIF orientation (after the reduction: it is cheaper on fewer pixels
    and commutes with the box average)."""
    from PIL import Image

    method = _ORIENT.get(orientation) if isinstance(orientation, int) else None
    return image if method is None else image.transpose(Image.Transpose[method])


def load_image(
    path: str | os.PathLike[str], *, max_side: int | None = 1024
) -> LoadedImage:
    """Read an image file (PNG, JPEG, BMP, TIFF, WebP, GIF: the first frame).

    Bounded: only regular files of at most :data:`MAX_IMAGE_FILE_BYTES` (a FIFO is
    refused without blocking); at most :data:`MAX_DECODED_PIXELS` (40 megapixels)
    are decoded, checked from the header before decoding. A JPEG is decoded at
    1/2, 1/4 or 1/8 scale when ``max_side`` allows (so a large JPEG decodes within
    the budget); other formats are decoded whole, then box-reduced in their 8- or
    16-bit form before the float conversion. With the default ``max_side`` the
    memory above the decoded image is a few tens of MB; the decoded image is at most
    40 MP x 4 bytes (160 MB) for 8-bit RGBA, and a 16-bit image adds its 32-bit
    widening for the reduction (another 160 MB at 40 MP).

    Parameters
    ----------
    path : str or path-like
    max_side : int or None
        Downscale (Lanczos) so that the longer side is at most this; None keeps the
        size.

    Returns
    -------
    LoadedImage
        ``array`` float32 (C, H, W) in [0, 1], ``C`` 1 or 3.

    Raises
    ------
    ImageLoadError
        No such file, permission denied, a folder, pipe or device, a file over the
        size limit, not an image, truncated or corrupt data, more pixels than the
        budget, or a decompression bomb (more pixels than
        ``PIL.Image.MAX_IMAGE_PIXELS``); the message names the file and the reason.
    """
    from PIL import Image, UnidentifiedImageError

    _check_max_side(max_side)
    path = Path(path)
    name = path.name
    try:
        handle = open_regular(path, MAX_IMAGE_FILE_BYTES, "an image file")
    except FileAccessError as err:
        raise ImageLoadError(str(err)) from None
    try:
        with handle, warnings.catch_warnings():
            # Above MAX_IMAGE_PIXELS Pillow only warns; we refuse (it may be a bomb).
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(handle) as image:
                image.seek(0)
                width, height = image.size  # from the header, before any draft()
                jpeg = image.format == "JPEG"
                if max_side is not None and jpeg:
                    # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when that is enough.
                    image.draft(None, (max_side, max_side))
                if image.size[0] * image.size[1] > MAX_DECODED_PIXELS:
                    raise _budget_error(name, image.size, jpeg)
                # after the budget check: a PNG's getexif() decodes the whole image
                orientation = image.getexif().get(_EXIF_ORIENTATION)
                if orientation in (5, 6, 7, 8):
                    width, height = height, width  # rotated by 90 degrees
                image.load()
                factor = _reduction(image.width, image.height, max_side)
                upright = _orient(_reduce(image, factor), orientation)
                hwc = _pil_to_float_resized(
                    upright, _target_size(width, height, max_side)
                )
    except ImageLoadError:
        raise
    except UnidentifiedImageError:
        raise ImageLoadError(
            f"{name}: not an image file Pillow can read (PNG, JPEG, BMP, TIFF, WebP, "
            f"GIF)"
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageLoadError(
            f"{name}: too many pixels to decode safely ({err}). "
            "It may be a decompression bomb; a smaller image will load."
        ) from None
    except MemoryError:
        raise ImageLoadError(
            f"{name}: not enough memory to decode this image; a smaller one will load"
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError, struct.error) as err:
        raise ImageLoadError(
            f"{name}: truncated or corrupt image data ({err})"
        ) from err
    downscaled = _target_size(width, height, max_side) is not None
    return LoadedImage(_to_chw(hwc), (width, height), downscaled, name, path)


def _pil_to_float_resized(image, target: tuple[int, int] | None) -> np.ndarray:  # noqa: ANN001
    """float32 (H, W, C) in [0, 1], resized to ``target`` (width, height) if given."""
    from PIL import Image

    if target is not None and image.size == target:
        target = None
    if target is not None and image.mode in ("1", "L", "RGB"):
        # 8-bit without alpha: let Pillow resize the bytes (fast), then normalise.
        base = image.convert("L") if image.mode == "1" else image
        return _pil_to_float(
            base.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
        )
    values = _pil_to_float(image)
    return values if target is None else _resize_float(values, target)


# ----------------------------------------------------------------------------- arrays


def image_from_array(
    arr: np.ndarray, *, name: str = "image", max_side: int | None = 1024
) -> LoadedImage:
    """Normalise an in-memory image (clipboard, drawing canvas) like :func:`load_image`.

    Parameters
    ----------
    arr : ndarray, shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)
        uint8 (0-255), uint16 (0-65535), bool, or float (values clipped to [0, 1]).
        A fourth channel is alpha, composited on white.
    name : str
        A label for titles.
    max_side : int or None
        Downscale (Lanczos) so that the longer side is at most this.

    Returns
    -------
    LoadedImage
        ``array`` float32 (C, H, W) in [0, 1], ``C`` 1 or 3; ``path`` None.

    Raises
    ------
    ImageLoadError
        Wrong shape, an empty image, an unsupported dtype, or NaN/inf values.

    Examples
    --------
    >>> image_from_array(np.array([[0, 255]], np.uint8)).array
    array([[[0., 1.]]], dtype=float32)
    """
    _check_max_side(max_side)
    arr = np.asarray(arr)
    shape_ok = arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (1, 3, 4))
    if not shape_ok:
        raise ImageLoadError(
            "`arr` must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4). "
            f"Received: shape {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageLoadError(f"`arr` is an empty image. Received: shape {arr.shape}")
    if arr.dtype == np.bool_:
        values = arr.astype(np.float32)
    elif arr.dtype == np.uint8:
        values = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        values = (arr.astype(np.float64) / 65535.0).astype(np.float32)
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ImageLoadError("`arr` holds NaN or infinite values")
        values = np.clip(arr, 0.0, 1.0).astype(np.float32)
    else:
        raise ImageLoadError(
            f"`arr` must be uint8, uint16, bool or float. Received: dtype {arr.dtype}"
        )
    if values.ndim == 2:
        values = values[..., None]
    if values.shape[2] == 4:
        values = _composite_on_white(values)
    height, width = values.shape[:2]
    target = _target_size(width, height, max_side)
    if target is not None:
        values = _resize_float(values, target)
    return LoadedImage(_to_chw(values), (width, height), target is not None, name, None)


# ----------------------------------------------------------------------------- samples


@dataclass(frozen=True)
class Sample:
    """A bundled sample image: ``name`` (key), ``title`` (menu text), ``path``,
    ``credit``."""

    name: str
    title: str
    path: Path
    credit: str


def _samples() -> list[Sample]:
    folder = assets_dir() / "samples"
    skimage = "via scikit-image's skimage/data"
    return [
        Sample(
            "cameraman",
            "Cameraman (photo: edges and textures)",
            folder / "cameraman.png",
            f"Photo by Lav Varshney, CC0 ({skimage}).",
        ),
        Sample(
            "cat",
            "Chelsea the cat (colour)",
            folder / "chelsea_cat.png",
            f"Photo by Stefan van der Walt, CC0 ({skimage}).",
        ),
        Sample(
            "astronaut",
            "Astronaut Eileen Collins (colour face)",
            folder / "astronaut.jpg",
            f"NASA photo, public domain ({skimage}).",
        ),
        Sample(
            "brick",
            "Brick wall (texture)",
            folder / "brick.png",
            f"From CC0Textures (Bricks25), CC0 ({skimage}).",
        ),
        Sample(
            "page",
            "A page of text",
            folder / "page_of_text.png",
            "Generated by convlab (font: Aileron by Sora Sagano, CC0), CC0.",
        ),
        Sample(
            "checkerboard",
            "Checkerboard (8 x 8 squares of 32 px)",
            folder / "checkerboard.png",
            "Generated by convlab, CC0.",
        ),
        Sample(
            "digit",
            "MNIST digit 7 (28 x 28)",
            folder / "mnist_digit_7.png",
            "MNIST, Yann LeCun, Corinna Cortes and Christopher J.C. Burges, CC BY-SA "
            "3.0.",
        ),
    ]


#: The bundled samples; the first is the one the explorer opens on.
SAMPLES: list[Sample] = _samples()


def get_sample(name: str) -> Sample:
    """The :class:`Sample` called ``name`` (see :data:`SAMPLES`)."""
    for sample in SAMPLES:
        if sample.name == name:
            return sample
    names = ", ".join(repr(s.name) for s in SAMPLES)
    raise ValueError(f"`name` must be one of {names}. Received: name={name!r}")


def load_sample(name: str | None = None, *, max_side: int | None = 1024) -> LoadedImage:
    """Load a bundled sample by name (the default sample when ``name`` is None)."""
    sample = SAMPLES[0] if name is None else get_sample(name)
    loaded = load_image(sample.path, max_side=max_side)
    return LoadedImage(
        loaded.array, loaded.original_size, loaded.downscaled, sample.title, sample.path
    )
