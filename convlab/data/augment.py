"""Keras's ``ImageDataGenerator``: random augmentation, standardisation and batching
of channels-last images ``(N, H, W, C)``, from arrays (:meth:`ImageDataGenerator.flow`)
or class sub-folders (:meth:`ImageDataGenerator.flow_from_directory`).

Semantics follow keras-preprocessing (the code Keras 2 tutorials ran):

* one random transform per image: rotation ``theta`` in degrees, shifts ``tx`` (rows,
  from ``height_shift_range``) and ``ty`` (columns, from ``width_shift_range``; a
  float below 1 is a fraction of the size, otherwise pixels), ``shear`` in degrees,
  zooms ``zx, zy`` drawn independently from ``[1 - z, 1 + z]``; composed as
  ``rotation @ shift @ shear @ zoom`` about the image centre and applied as
  ``scipy.ndimage.affine_transform`` would (:mod:`kernels.affine`, one call per
  batch), then the channel shift, the flips and the brightness;
* then :meth:`ImageDataGenerator.standardize`: ``preprocessing_function``,
  ``rescale``, sample-wise centring and scaling (``+ 1e-6``), feature-wise centring
  and scaling (from :meth:`ImageDataGenerator.fit`) and ZCA whitening (Keras's
  formula: ``U diag(1 / sqrt(S + zca_epsilon)) U^T`` of the data's covariance);
* ``validation_split`` with ``subset="validation"`` takes the *first* fraction of the
  arrays (of each class folder's sorted files), ``"training"`` the rest.

Randomness comes from a NumPy generator seeded by ``seed`` (Keras reseeds NumPy's
global state instead): the same seed gives the same batches.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kernels.affine import FILL_MODES, affine_transform

__all__ = [
    "ImageDataGenerator",
    "NumpyArrayIterator",
    "DirectoryIterator",
    "load_img",
    "img_to_array",
    "array_to_img",
    "IMAGE_EXTENSIONS",
]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".gif")
_COLOR_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
_CLASS_MODES = ("categorical", "binary", "sparse", "input", None)


def _nonneg(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"`{name}` must be a number >= 0. Received: {name}={value!r}")
    return float(value)


def _range_pair(value: object, name: str) -> tuple[float, float] | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return None if value == 0 else (1.0 - value, 1.0 + value)
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int | float) for v in value)
        and value[0] <= value[1]
    ):
        return float(value[0]), float(value[1])
    raise ValueError(
        f"`{name}` must be a float or a pair (low, high) with low <= high. "
        f"Received: {name}={value!r}"
    )


# ------------------------------------------------------------------ images


def load_img(
    path: str | os.PathLike[str],
    grayscale: bool = False,
    color_mode: str = "rgb",
    target_size: tuple[int, int] | None = None,
    interpolation: str = "nearest",
) -> Any:
    """A PIL image in ``color_mode`` ("grayscale", "rgb", "rgba"), resized to
    ``target_size = (height, width)`` with ``interpolation`` when given (Keras's
    ``load_img``; EXIF orientation applied)."""
    from PIL import Image, ImageOps

    if grayscale:
        color_mode = "grayscale"
    if color_mode not in _COLOR_MODES:
        raise ValueError(
            "`color_mode` must be 'grayscale', 'rgb' or 'rgba'. "
            f"Received: color_mode={color_mode!r}"
        )
    methods = {
        "nearest": Image.Resampling.NEAREST,
        "bilinear": Image.Resampling.BILINEAR,
        "bicubic": Image.Resampling.BICUBIC,
        "lanczos": Image.Resampling.LANCZOS,
        "box": Image.Resampling.BOX,
        "hamming": Image.Resampling.HAMMING,
    }
    if interpolation not in methods:
        raise ValueError(
            f"`interpolation` must be one of {', '.join(map(repr, methods))}. "
            f"Received: interpolation={interpolation!r}"
        )
    with Image.open(path) as opened:
        img = ImageOps.exif_transpose(opened).convert(_COLOR_MODES[color_mode])
    if target_size is not None:
        height, width = (int(v) for v in target_size)
        if img.size != (width, height):
            img = img.resize((width, height), methods[interpolation])
    return img


def img_to_array(img: Any, data_format: str | None = None, dtype: Any = "float32"):
    """A PIL image as ``(H, W, C)`` (``"channels_first"``: ``(C, H, W)``) values
    0-255 in ``dtype`` (Keras's ``img_to_array``)."""
    x = np.asarray(img, dtype=dtype)
    if x.ndim == 2:
        x = x[:, :, None]
    if data_format == "channels_first":
        x = x.transpose(2, 0, 1)
    return x


def array_to_img(x: np.ndarray, scale: bool = True) -> Any:
    """``(H, W, C)`` values -> PIL image; ``scale`` stretches min..max to 0..255."""
    from PIL import Image

    x = np.asarray(x, np.float64)
    if scale:
        lo, hi = x.min(), x.max()
        x = (x - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(x)
    x = np.clip(x, 0, 255).astype(np.uint8)
    if x.ndim == 3 and x.shape[2] == 1:
        return Image.fromarray(x[:, :, 0], "L")
    return Image.fromarray(x, "RGBA" if x.shape[2] == 4 else "RGB")


# ------------------------------------------------------------------ the generator


def _zca_matrix(flat: np.ndarray, epsilon: float) -> np.ndarray:
    """Keras's ZCA matrix ``U diag(1 / sqrt(S + epsilon)) U^T`` of the covariance
    ``flat.T @ flat / N`` (``flat``: N samples x D features, float64, centred or not
    as the caller wants), without Keras's SVD of the D x D covariance.

    The covariance is symmetric positive semi-definite, so its SVD is its
    eigendecomposition. With N >= D, ``eigh`` of it (4.7x faster than the SVD).
    With fewer samples than features its rank is at most N: the N x N Gram matrix
    ``flat @ flat.T / N`` has the same non-zero eigenvalues ``s``, with
    eigenvectors ``W``; ``V = flat.T W / sqrt(N s)`` are the covariance's, and every
    direction outside them has eigenvalue 0, hence
    ``I / sqrt(epsilon) + V diag(1 / sqrt(s + epsilon) - 1 / sqrt(epsilon)) V^T``.
    1000 colour 32x32 images (D = 3072), 2 cores: eigh of the covariance 13-23 s,
    the thin SVD of the images 8.5 s, this about 1.5 s. Eigenvalues below 1e-13 of
    the largest count as 0 (their directions are round-off)."""
    n, d = flat.shape
    if n >= d or epsilon <= 0:  # (epsilon 0: Keras's infinities, from eigh too)
        sigma = flat.T @ flat / n
        s, u = np.linalg.eigh(sigma)
        s = np.clip(s, 0.0, None)  # round-off leaves the smallest a little < 0
        return (u * (1.0 / np.sqrt(s[np.newaxis] + epsilon))) @ u.T
    s, w = np.linalg.eigh(flat @ flat.T / n)
    keep = s > max(float(s[-1]), 0.0) * 1e-13
    s, w = s[keep], w[:, keep]
    v = (flat.T @ w) / np.sqrt(n * s)  # (D, rank), orthonormal columns
    base = 1.0 / np.sqrt(epsilon)
    out = (v * (1.0 / np.sqrt(s + epsilon) - base)) @ v.T
    out[np.diag_indices(d)] += base
    return out


class ImageDataGenerator:
    """Keras's ``ImageDataGenerator`` (see the module docstring for the semantics).

    Parameters are Keras's, with Keras's defaults: ``featurewise_center``,
    ``samplewise_center``, ``featurewise_std_normalization``,
    ``samplewise_std_normalization``, ``zca_whitening`` (implies
    ``featurewise_center``, as in Keras), ``zca_epsilon``, ``rotation_range``,
    ``width_shift_range``, ``height_shift_range``, ``brightness_range``,
    ``shear_range``, ``zoom_range``, ``channel_shift_range``, ``fill_mode``, ``cval``,
    ``horizontal_flip``, ``vertical_flip``, ``rescale``, ``preprocessing_function``,
    ``data_format`` (only ``"channels_last"``), ``validation_split``,
    ``interpolation_order`` (0 or 1), ``dtype``.
    """

    def __init__(
        self,
        featurewise_center: bool = False,
        samplewise_center: bool = False,
        featurewise_std_normalization: bool = False,
        samplewise_std_normalization: bool = False,
        zca_whitening: bool = False,
        zca_epsilon: float = 1e-6,
        rotation_range: float = 0,
        width_shift_range: float = 0.0,
        height_shift_range: float = 0.0,
        brightness_range: tuple[float, float] | None = None,
        shear_range: float = 0.0,
        zoom_range: float | tuple[float, float] = 0.0,
        channel_shift_range: float = 0.0,
        fill_mode: str = "nearest",
        cval: float = 0.0,
        horizontal_flip: bool = False,
        vertical_flip: bool = False,
        rescale: float | None = None,
        preprocessing_function: Callable[[np.ndarray], np.ndarray] | None = None,
        data_format: str | None = None,
        validation_split: float = 0.0,
        interpolation_order: int = 1,
        dtype: Any = "float32",
    ) -> None:
        if data_format not in (None, "channels_last"):
            raise ValueError(
                "`data_format` must be 'channels_last' (images (N, H, W, C), as "
                f"Keras loads them). Received: data_format={data_format!r}"
            )
        if fill_mode not in FILL_MODES:
            raise ValueError(
                f"`fill_mode` must be one of {', '.join(map(repr, FILL_MODES))}. "
                f"Received: fill_mode={fill_mode!r}"
            )
        if interpolation_order not in (0, 1):
            raise ValueError(
                "`interpolation_order` must be 0 or 1. "
                f"Received: interpolation_order={interpolation_order!r}"
            )
        if not 0 <= validation_split < 1:
            raise ValueError(
                "`validation_split` must be a float in [0, 1). "
                f"Received: validation_split={validation_split!r}"
            )
        if preprocessing_function is not None and not callable(preprocessing_function):
            raise TypeError(
                "`preprocessing_function` must be a function of one image. Received: "
                "preprocessing_function of type "
                f"{type(preprocessing_function).__name__}"
            )
        self.featurewise_center = bool(featurewise_center or zca_whitening)
        self.samplewise_center = bool(samplewise_center)
        self.featurewise_std_normalization = bool(featurewise_std_normalization)
        self.samplewise_std_normalization = bool(samplewise_std_normalization)
        self.zca_whitening = bool(zca_whitening)
        self.zca_epsilon = _nonneg(zca_epsilon, "zca_epsilon")
        self.rotation_range = _nonneg(rotation_range, "rotation_range")
        self.width_shift_range = _nonneg(width_shift_range, "width_shift_range")
        self.height_shift_range = _nonneg(height_shift_range, "height_shift_range")
        self._shift_is_int = (
            isinstance(width_shift_range, int),
            isinstance(height_shift_range, int),
        )
        self.brightness_range = (
            None
            if brightness_range is None
            else _range_pair(tuple(brightness_range), "brightness_range")
        )
        self.shear_range = _nonneg(shear_range, "shear_range")
        self.zoom_range = _range_pair(zoom_range, "zoom_range") or (1.0, 1.0)
        self.channel_shift_range = _nonneg(channel_shift_range, "channel_shift_range")
        self.fill_mode, self.cval = fill_mode, float(cval)
        self.horizontal_flip, self.vertical_flip = (
            bool(horizontal_flip),
            bool(vertical_flip),
        )
        self.rescale = rescale
        self.preprocessing_function = preprocessing_function
        self.validation_split = float(validation_split)
        self.interpolation_order = int(interpolation_order)
        self.dtype = np.dtype(dtype)
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self.zca_whitening_matrix: np.ndarray | None = None

    # -------------------------------------------------------------- transforms
    def get_random_transform(
        self, img_shape: tuple[int, ...], rng: np.random.Generator | int | None = None
    ) -> dict[str, Any]:
        """Random parameters for one image of ``img_shape`` (H, W, C), Keras's names:
        theta, tx, ty, shear, zx, zy, flip_horizontal, flip_vertical,
        channel_shift_intensity, brightness."""
        rng = (
            rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        )
        h, w = img_shape[0], img_shape[1]
        theta = (
            rng.uniform(-self.rotation_range, self.rotation_range)
            if self.rotation_range
            else 0.0
        )

        def shift(r: float, size: int, is_int: bool) -> float:
            if not r:
                return 0.0
            if is_int:
                return float(rng.integers(-int(r), int(r) + 1))
            value = rng.uniform(-r, r)
            return value * size if r < 1 else value

        tx = shift(self.height_shift_range, h, self._shift_is_int[1])
        ty = shift(self.width_shift_range, w, self._shift_is_int[0])
        shear = (
            rng.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0
        )
        lo, hi = self.zoom_range
        zx, zy = (1.0, 1.0) if lo == 1 and hi == 1 else tuple(rng.uniform(lo, hi, 2))
        return {
            "theta": float(theta),
            "tx": float(tx),
            "ty": float(ty),
            "shear": float(shear),
            "zx": float(zx),
            "zy": float(zy),
            "flip_horizontal": bool(self.horizontal_flip and rng.random() < 0.5),
            "flip_vertical": bool(self.vertical_flip and rng.random() < 0.5),
            "channel_shift_intensity": (
                float(rng.uniform(-self.channel_shift_range, self.channel_shift_range))
                if self.channel_shift_range
                else None
            ),
            "brightness": (
                float(rng.uniform(*self.brightness_range))
                if self.brightness_range
                else None
            ),
        }

    @staticmethod
    def transform_matrix(params: dict[str, Any], h: int, w: int) -> np.ndarray | None:
        """The (2, 3) output-to-input map of ``params`` about the centre of an
        ``h x w`` image (keras-preprocessing's composition
        ``rotation @ shift @ shear @ zoom``), or None for the identity."""
        m = _matrices([params], h, w)[0]
        return None if np.array_equal(m, np.eye(2, 3)) else m

    def random_transforms(
        self, n: int, img_shape: tuple[int, ...], rng: np.random.Generator
    ) -> list[dict[str, Any]]:
        """``n`` draws of :meth:`get_random_transform` (the iterators' path)."""
        return [self.get_random_transform(img_shape, rng) for _ in range(n)]

    def apply_transform_batch(
        self, x: np.ndarray, params: list[dict[str, Any]]
    ) -> np.ndarray:
        """``x (N, H, W, C)`` with ``params[i]`` applied to image ``i``: one affine
        kernel call for the batch, then channel shift, flips, brightness."""
        x = np.array(x, np.float32)  # a copy
        n, h, w, _ = x.shape
        if any(_is_warp(p) for p in params):
            x = affine_transform(
                x,
                _matrices(params, h, w),
                order=self.interpolation_order,
                fill_mode=self.fill_mode,
                cval=self.cval,
            )
        for i, p in enumerate(params):
            xi = x[i]
            if p.get("channel_shift_intensity") is not None:
                lo, hi = xi.min(), xi.max()
                np.clip(xi + np.float32(p["channel_shift_intensity"]), lo, hi, out=xi)
            if p.get("flip_horizontal"):
                xi[...] = xi[:, ::-1]
            if p.get("flip_vertical"):
                xi[...] = xi[::-1]
            if p.get("brightness") is not None:
                xi[...] = _brightness(xi, p["brightness"])
        return x

    def apply_transform(self, x: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        """One image ``(H, W, C)`` transformed by ``params`` (Keras's name)."""
        return self.apply_transform_batch(np.asarray(x)[None], [params])[0]

    def random_transform(self, x: np.ndarray, seed: int | None = None) -> np.ndarray:
        """One image ``(H, W, C)`` with a random transform."""
        return self.apply_transform(x, self.get_random_transform(np.shape(x), seed))

    # -------------------------------------------------------------- standardize
    def standardize(self, x: np.ndarray) -> np.ndarray:
        """Keras's ``standardize`` on one image ``(H, W, C)`` or a batch, in
        place where it can (see the module docstring for the order)."""
        if self.preprocessing_function is not None:
            x = np.asarray(self.preprocessing_function(x), np.float32)
        if self.rescale:
            x = x * np.float32(self.rescale)
        axes = tuple(range(x.ndim - 3, x.ndim))  # per image
        if self.samplewise_center:
            x = x - x.mean(axis=axes, keepdims=True)
        if self.samplewise_std_normalization:
            x = x / (x.std(axis=axes, keepdims=True) + np.float32(1e-6))
        if (
            self.featurewise_center or self.featurewise_std_normalization
        ) and self.mean is None:
            raise ValueError(
                "This ImageDataGenerator uses featurewise_center, "
                "featurewise_std_normalization or zca_whitening, which need the "
                "data's statistics: call datagen.fit(x_train) before flow()."
            )
        if self.featurewise_center:
            x = x - self.mean
        if self.featurewise_std_normalization:
            x = x / (self.std + np.float32(1e-6))
        if self.zca_whitening:
            assert self.zca_whitening_matrix is not None
            shape = x.shape
            flat = x.reshape(-1, int(np.prod(shape[-3:])))
            x = (flat @ self.zca_whitening_matrix).reshape(shape)
        return x.astype(self.dtype, copy=False)

    def fit(
        self,
        x: np.ndarray,
        augment: bool = False,
        rounds: int = 1,
        seed: int | None = None,
    ) -> None:
        """Compute the feature-wise mean, std and ZCA matrix from ``x (N, H, W, C)``
        (``augment``: over ``rounds`` randomly transformed copies), after
        ``rescale``, as Keras does."""
        x = _images(x, "x").astype(np.float64)
        if augment:
            rng = np.random.default_rng(seed)
            copies = [
                self.apply_transform_batch(
                    x, [self.get_random_transform(x.shape[1:], rng) for _ in x]
                )
                for _ in range(int(rounds))
            ]
            x = np.concatenate(copies).astype(np.float64)
        if self.rescale:
            x *= self.rescale
        self.mean = self.std = None
        if self.featurewise_center or self.featurewise_std_normalization:
            self.mean = x.mean(axis=(0, 1, 2)).reshape(1, 1, -1).astype(np.float32)
            x -= self.mean
            self.std = x.std(axis=(0, 1, 2)).reshape(1, 1, -1).astype(np.float32)
            if not self.featurewise_center:
                x += self.mean
            if self.featurewise_std_normalization:
                x /= self.std + 1e-6
        if self.zca_whitening:
            self.zca_whitening_matrix = _zca_matrix(
                x.reshape(len(x), -1), self.zca_epsilon
            ).astype(np.float32)

    # -------------------------------------------------------------- flows
    def flow(
        self,
        x: np.ndarray,
        y: np.ndarray | None = None,
        batch_size: int = 32,
        shuffle: bool = True,
        sample_weight: np.ndarray | None = None,
        seed: int | None = None,
        save_to_dir: str | os.PathLike[str] | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        subset: str | None = None,
    ) -> NumpyArrayIterator:
        """An endless iterator of augmented ``(x_batch, y_batch)`` (``x_batch`` alone
        when ``y`` is None) from arrays ``x (N, H, W, C)``."""
        if sample_weight is not None:
            raise ValueError(
                "`sample_weight` is not supported: convlab does not weight samples. "
                "Received: sample_weight of shape "
                f"{np.shape(sample_weight)}"
            )
        return NumpyArrayIterator(
            x, y, self, batch_size, shuffle, seed, save_to_dir, save_prefix,
            save_format, subset,
        )  # fmt: skip

    def flow_from_directory(
        self,
        directory: str | os.PathLike[str],
        target_size: tuple[int, int] = (256, 256),
        color_mode: str = "rgb",
        classes: list[str] | None = None,
        class_mode: str | None = "categorical",
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        save_to_dir: str | os.PathLike[str] | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        follow_links: bool = False,
        subset: str | None = None,
        interpolation: str = "nearest",
    ) -> DirectoryIterator:
        """An endless iterator over images in ``directory/<class>/...`` (one
        sub-folder per class, sorted names give the class indices)."""
        return DirectoryIterator(
            directory, self, target_size, color_mode, classes, class_mode,
            batch_size, shuffle, seed, save_to_dir, save_prefix, save_format,
            follow_links, subset, interpolation,
        )  # fmt: skip


def _is_warp(p: dict[str, Any]) -> bool:
    return bool(
        p.get("theta", 0)
        or p.get("tx", 0)
        or p.get("ty", 0)
        or p.get("shear", 0)
        or p.get("zx", 1) != 1
        or p.get("zy", 1) != 1
    )


def _matrices(params: list[dict[str, Any]], h: int, w: int) -> np.ndarray:
    """``(N, 2, 3)`` maps for a batch, in closed form: ``rotation @ shift @ shear @
    zoom`` has linear part ``A = R Sh Z`` and translation ``R t``; about the centre
    ``o`` the translation becomes ``o + R t - A o``."""
    get = lambda key, default: np.array(  # noqa: E731
        [float(p.get(key, default)) for p in params]
    )
    theta, shear = np.deg2rad(get("theta", 0)), np.deg2rad(get("shear", 0))
    tx, ty, zx, zy = get("tx", 0), get("ty", 0), get("zx", 1), get("zy", 1)
    c, s = np.cos(theta), np.sin(theta)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)
    zeros = np.zeros_like(theta)
    shear_zoom = np.stack(
        [
            np.stack([zx, -np.sin(shear) * zy], -1),
            np.stack([zeros, np.cos(shear) * zy], -1),
        ],
        -2,
    )
    linear = rot @ shear_zoom
    centre = np.array([h / 2 - 0.5, w / 2 - 0.5])
    shift = (rot @ np.stack([tx, ty], -1)[..., None])[..., 0]
    offset = centre + shift - linear @ centre
    return np.concatenate([linear, offset[..., None]], -1)


def _brightness(x: np.ndarray, factor: float) -> np.ndarray:
    """PIL's ``ImageEnhance.Brightness(factor)`` as Keras applies it: values 0-255
    become integers scaled by ``factor`` and clipped (out-of-range images are
    stretched to 0-255 and back)."""
    lo, hi = float(x.min()), float(x.max())
    stretch = lo < 0 or hi > 255
    v = (x - lo) / (hi - lo) * 255 if stretch and hi > lo else x
    v = np.clip(np.round(np.floor(np.clip(v, 0, 255)) * factor), 0, 255)
    if stretch:
        v = v / 255 * (hi - lo) + lo
    return v.astype(np.float32)


def _images(x: object, what: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 4:
        raise ValueError(
            f"`{what}` must be images (N, height, width, channels), as Keras's "
            "ImageDataGenerator takes them; reshape grey images with "
            f"x.reshape(-1, H, W, 1). Received: {what}.shape={arr.shape}"
        )
    return arr


def _subset(subset: str | None, split: float) -> str | None:
    if subset not in (None, "training", "validation"):
        raise ValueError(
            "`subset` must be 'training', 'validation' or None. "
            f"Received: subset={subset!r}"
        )
    if subset is not None and split == 0:
        raise ValueError(
            f"`subset`={subset!r} needs ImageDataGenerator(validation_split=...) > 0."
        )
    return subset


class _Iterator:
    """Keras's ``Iterator``: ``len()`` batches per epoch, ``next()`` forever,
    ``[i]`` for batch ``i`` of the current order; reshuffled every epoch."""

    def __init__(
        self, n: int, batch_size: int, shuffle: bool, seed: int | None
    ) -> None:
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, int)
            or (batch_size < 1)
        ):
            raise ValueError(
                "`batch_size` must be a positive int. "
                f"Received: batch_size={batch_size!r}"
            )
        if n == 0:
            raise ValueError("There are no samples to iterate over.")
        self.n, self.batch_size, self.shuffle = n, batch_size, bool(shuffle)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.batch_index = 0
        self.total_batches_seen = 0
        self._order = self._new_order()

    def _new_order(self) -> np.ndarray:
        return self.rng.permutation(self.n) if self.shuffle else np.arange(self.n)

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def on_epoch_end(self) -> None:
        self._order = self._new_order()

    def reset(self) -> None:
        self.batch_index = 0

    def __getitem__(self, idx: int) -> Any:
        if not 0 <= idx < len(self):
            raise IndexError(
                f"batch {idx} of an iterator with {len(self)} batches per epoch"
            )
        lo = idx * self.batch_size
        return self._batch(self._order[lo : lo + self.batch_size])

    def __iter__(self) -> _Iterator:
        return self

    def __next__(self) -> Any:
        if self.batch_index >= len(self):
            self.batch_index = 0
            self.on_epoch_end()
        batch = self[self.batch_index]
        self.batch_index += 1
        self.total_batches_seen += 1
        return batch

    def next(self) -> Any:
        """Keras 2's ``it.next()``."""
        return self.__next__()

    def _batch(self, index: np.ndarray) -> Any:  # pragma: no cover
        raise NotImplementedError

    def _augment(self, x: np.ndarray, gen: ImageDataGenerator) -> np.ndarray:
        params = [gen.get_random_transform(x.shape[1:], self.rng) for _ in x]
        return gen.standardize(gen.apply_transform_batch(x, params))

    def _save(self, x: np.ndarray, index: np.ndarray) -> None:
        if self.save_to_dir is None:
            return
        folder = Path(self.save_to_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for image, j in zip(x, index, strict=True):
            token = int(self.rng.integers(1_000_000))
            name = f"{self.save_prefix}_{int(j)}_{token}.{self.save_format}"
            array_to_img(image, scale=True).save(folder / name)

    save_to_dir: str | os.PathLike[str] | None = None
    save_prefix: str = ""
    save_format: str = "png"


class NumpyArrayIterator(_Iterator):
    """:meth:`ImageDataGenerator.flow`'s iterator."""

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray | None,
        generator: ImageDataGenerator,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        save_to_dir: str | os.PathLike[str] | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        subset: str | None = None,
    ) -> None:
        x = _images(x, "x")
        if y is not None and len(y) != len(x):
            raise ValueError(
                "`x` and `y` must hold as many samples. "
                f"Received: x.shape={x.shape}, y.shape={np.shape(y)}"
            )
        subset = _subset(subset, generator.validation_split)
        if subset is not None:
            split = int(len(x) * generator.validation_split)
            part = slice(None, split) if subset == "validation" else slice(split, None)
            x = x[part]
            y = None if y is None else np.asarray(y)[part]
        self.x, self.y = x, None if y is None else np.asarray(y)
        self.image_data_generator = generator
        self.save_to_dir, self.save_prefix = save_to_dir, save_prefix
        self.save_format = save_format
        super().__init__(len(x), batch_size, shuffle, seed)

    def _batch(self, index: np.ndarray) -> Any:
        xb = self._augment(self.x[index], self.image_data_generator)
        self._save(xb, index)
        return xb if self.y is None else (xb, self.y[index])


class DirectoryIterator(_Iterator):
    """:meth:`ImageDataGenerator.flow_from_directory`'s iterator.

    Attributes
    ----------
    class_indices : dict of str to int
    classes : ndarray of int, one per file
    filenames : list of str, relative to ``directory``
    samples, num_classes : int
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        generator: ImageDataGenerator,
        target_size: tuple[int, int] = (256, 256),
        color_mode: str = "rgb",
        classes: list[str] | None = None,
        class_mode: str | None = "categorical",
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        save_to_dir: str | os.PathLike[str] | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        follow_links: bool = False,
        subset: str | None = None,
        interpolation: str = "nearest",
    ) -> None:
        root = Path(directory)
        if not root.is_dir():
            raise ValueError(
                "`directory` must be a folder with one sub-folder of images per class. "
                f"Received: directory={os.fspath(directory)!r} (no such folder)"
            )
        if class_mode not in _CLASS_MODES:
            raise ValueError(
                f"`class_mode` must be one of {', '.join(map(repr, _CLASS_MODES))}. "
                f"Received: class_mode={class_mode!r}"
            )
        if color_mode not in _COLOR_MODES:
            raise ValueError(
                "`color_mode` must be 'grayscale', 'rgb' or 'rgba'. "
                f"Received: color_mode={color_mode!r}"
            )
        subset = _subset(subset, generator.validation_split)
        names, per_class = class_image_files(root, classes, follow_links)
        self.class_indices = {name: i for i, name in enumerate(names)}
        self.num_classes = len(names)
        filenames: list[str] = []
        labels: list[int] = []
        for name, files in zip(names, per_class, strict=True):
            if subset is not None:
                cut = int(len(files) * generator.validation_split)
                files = files[:cut] if subset == "validation" else files[cut:]
            filenames += files
            labels += [self.class_indices[name]] * len(files)
        self.directory, self.filenames = root, filenames
        self.classes = np.array(labels, np.int64)
        self.samples = len(filenames)
        self.target_size = tuple(int(v) for v in target_size)
        self.color_mode, self.class_mode = color_mode, class_mode
        self.interpolation = interpolation
        self.image_shape = (*self.target_size, len(_COLOR_MODES[color_mode]))
        self.image_data_generator = generator
        self.save_to_dir, self.save_prefix = save_to_dir, save_prefix
        self.save_format = save_format
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        super().__init__(self.samples, batch_size, shuffle, seed)

    @property
    def labels(self) -> np.ndarray:
        return self.classes

    def _batch(self, index: np.ndarray) -> Any:
        x = np.stack(
            [
                img_to_array(
                    load_img(
                        self.directory / self.filenames[j],
                        color_mode=self.color_mode,
                        target_size=self.target_size,
                        interpolation=self.interpolation,
                    )
                )
                for j in index
            ]
        )
        xb = self._augment(x, self.image_data_generator)
        self._save(xb, index)
        y = self.classes[index]
        if self.class_mode == "categorical":
            return xb, np.eye(self.num_classes, dtype=np.float32)[y]
        if self.class_mode in ("binary", "sparse"):
            return xb, y.astype(np.float32)
        if self.class_mode == "input":
            return xb, xb.copy()
        return xb


def class_image_files(
    root: Path, classes: list[str] | None = None, follow_links: bool = False
) -> tuple[list[str], list[list[str]]]:
    """The class names (``classes``, or ``root``'s sub-folders sorted) and, per class,
    its image files (by extension, any depth) relative to ``root``, sorted: the walk
    of :meth:`ImageDataGenerator.flow_from_directory` and of the trainer's folder
    reader (:func:`convlab.train.datasets.load_image_folder`)."""
    root = Path(root)
    names = list(classes or sorted(p.name for p in root.iterdir() if p.is_dir()))
    files = [
        sorted(
            str(p.relative_to(root))
            for p in _walk(root / name, follow_links)
            if p.suffix.lower() in IMAGE_EXTENSIONS
        )
        for name in names
    ]
    return names, files


def _walk(folder: Path, follow_links: bool) -> list[Path]:
    found = []
    for dirpath, _dirs, files in os.walk(folder, followlinks=follow_links):
        found += [Path(dirpath) / f for f in files]
    return found
