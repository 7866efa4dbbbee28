"""The trainer's preprocessing: augmentation per training batch and a normaliser fit
on the training split, both from plain settings dicts (``TrainSettings.augment``,
``TrainSettings.normalise``), both run by :class:`convlab.data.augment.
ImageDataGenerator` (the engine ``convlab.keras`` uses; nothing is computed twice).

No Qt here. Conventions:

* images enter as uint8 NCHW ``(N, C, H, W)`` (the trainer's arrays); the generator
  works channels-last in pixel units 0-255, as Keras does, so an augmented batch is
  ``gen.apply_transform_batch`` of the NHWC view, and the model's input is that
  divided by 255 (no normaliser) or ``gen.standardize`` with ``rescale=1/255``
  (a normaliser), back in NCHW float32;
* randomness: batch ``step`` of epoch ``epoch`` draws its transforms from
  ``np.random.default_rng([seed, 2, epoch, step])`` (:func:`batch_rng`) and epoch
  ``epoch``'s order from ``default_rng([seed, 3, epoch])``: a run is reproducible,
  and a Stop then Start draws new transforms for the new epochs;
* a normaliser's statistics (feature-wise mean and std, the ZCA matrix) are fit on
  the first ``fit_images`` (default 1000) images of the training part (after the
  validation hold-out), exactly as ``ImageDataGenerator(rescale=1/255, ...).fit`` on
  them would; the same normaliser then prepares validation, test and probe images;
* a model trained with a normaliser remembers it: :func:`attach` stores its record
  (config and arrays) as ``model.preprocessing``, which ``convlab.nn.saving`` writes
  into the model file and reads back, and every evaluation and probe in
  :mod:`convlab.train.session` goes through :func:`model_input`.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from convlab.data.augment import ImageDataGenerator

__all__ = [
    "AUGMENT_DEFAULTS",
    "NORMALISE_DEFAULTS",
    "Augmenter",
    "NormalisePreview",
    "Normaliser",
    "TrainingBatches",
    "TrainingInput",
    "attach",
    "batch_rng",
    "fit_normaliser",
    "model_input",
    "model_normaliser",
    "normalise_preview",
    "prepare",
    "zca_filters",
]

#: ImageDataGenerator's augmentation arguments and Keras's defaults (the keys an
#: ``augment`` dict may hold)
AUGMENT_DEFAULTS: dict[str, Any] = {
    "rotation_range": 0.0,
    "width_shift_range": 0.0,
    "height_shift_range": 0.0,
    "shear_range": 0.0,
    "zoom_range": 0.0,
    "horizontal_flip": False,
    "vertical_flip": False,
    "brightness_range": None,
    "channel_shift_range": 0.0,
    "fill_mode": "nearest",
    "cval": 0.0,
}

#: the standardisation arguments (and ``fit_images``, how many training images the
#: statistics come from) a ``normalise`` dict may hold
NORMALISE_DEFAULTS: dict[str, Any] = {
    "samplewise_center": False,
    "samplewise_std_normalization": False,
    "featurewise_center": False,
    "featurewise_std_normalization": False,
    "zca_whitening": False,
    "zca_epsilon": 1e-6,
    "fit_images": 1000,
}

_RECORD_KIND = "convlab.normaliser"


def _settings(settings: object, defaults: dict[str, Any], name: str) -> dict:
    if not isinstance(settings, dict):
        raise TypeError(
            f"`{name}` must be a dict of ImageDataGenerator arguments. "
            f"Received: {name} of type {type(settings).__name__}"
        )
    unknown = sorted(set(settings) - set(defaults))
    if unknown:
        raise ValueError(
            f"`{name}` takes the keys {', '.join(defaults)}. "
            f"Received: {name} with {', '.join(map(repr, unknown))}"
        )
    return {**defaults, **settings}


def batch_rng(seed: int, epoch: int, step: int) -> np.random.Generator:
    """The random stream of training batch ``step`` of ``epoch`` (both 1-based)."""
    return np.random.default_rng([int(seed), 2, int(epoch), int(step)])


def _nhwc(x: np.ndarray) -> np.ndarray:
    """``(N, C, H, W)`` (or grey ``(N, H, W)``) as a channels-last view."""
    x = np.asarray(x)
    if x.ndim == 3:
        return x[:, :, :, None]
    if x.ndim != 4:
        raise ValueError(
            "`x` must be images (N, C, H, W) or grey images (N, H, W). "
            f"Received: x.shape={x.shape}"
        )
    return x.transpose(0, 2, 3, 1)


def _nchw(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2), np.float32)


# ------------------------------------------------------------------ augmentation


class Augmenter:
    """Random augmentation from ImageDataGenerator's arguments.

    Parameters
    ----------
    settings : dict
        Keys of :data:`AUGMENT_DEFAULTS` (others are refused); values are checked by
        ImageDataGenerator.
    """

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = _settings(settings, AUGMENT_DEFAULTS, "augment")
        self.generator = ImageDataGenerator(**self.settings)

    def transform(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``x (N, C, H, W)`` (uint8 or pixel values) under one random draw per image
        from ``rng``: float32 ``(N, C, H, W)`` in pixel units (0-255)."""
        xs = _nhwc(x)
        gen = self.generator
        params = gen.random_transforms(len(xs), xs.shape[1:], rng)
        return _nchw(gen.apply_transform_batch(xs, params))

    def draws(self, image: np.ndarray, n: int, seed: int) -> np.ndarray:
        """``n`` random draws of one image ``(C, H, W)``: ``(n, C, H, W)`` float32
        pixel values (the Augment tab's preview)."""
        image = np.asarray(image)
        batch = np.broadcast_to(image, (int(n), *image.shape))
        return self.transform(batch, np.random.default_rng(int(seed)))


# ------------------------------------------------------------------ normalisation


class Normaliser:
    """Sample-wise / feature-wise centring and std normalisation and ZCA whitening,
    as ``ImageDataGenerator(rescale=1/255, ...).standardize`` applies them.

    Build one with :func:`fit_normaliser` (or :meth:`from_record`); ``needs_fit`` says
    whether the settings use training statistics.
    """

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = _settings(settings, NORMALISE_DEFAULTS, "normalise")
        fit_images = self.settings["fit_images"]
        if (
            isinstance(fit_images, bool)
            or not isinstance(fit_images, int | np.integer)
            or fit_images < 1
        ):
            raise ValueError(
                "`fit_images` must be a positive int (how many training images the "
                f"statistics come from). Received: fit_images={fit_images!r}"
            )
        kwargs = {k: v for k, v in self.settings.items() if k != "fit_images"}
        self.generator = ImageDataGenerator(rescale=1.0 / 255.0, **kwargs)
        #: images the statistics came from (0 before a fit)
        self.fitted_on = 0

    @property
    def needs_fit(self) -> bool:
        g = self.generator
        return bool(g.featurewise_center or g.featurewise_std_normalization)

    @property
    def active(self) -> bool:
        """Anything to do at all (all switches off is the identity after /255)."""
        g = self.generator
        return self.needs_fit or g.samplewise_center or g.samplewise_std_normalization

    @property
    def zca_matrix(self) -> np.ndarray | None:
        """``(D, D)`` float32, D = H*W*C in channels-last order, or None."""
        return self.generator.zca_whitening_matrix

    def fit(self, x: np.ndarray) -> Normaliser:
        """Statistics from ``x (N, C, H, W)`` uint8 (all of it: pick the subset
        first)."""
        if self.needs_fit:
            self.generator.fit(_nhwc(x))
        self.fitted_on = len(x)
        return self

    def apply(self, x: np.ndarray) -> np.ndarray:
        """``x (N, C, H, W)`` in pixel units (uint8 or float 0-255) -> the model's
        float32 NCHW input."""
        return _nchw(self.generator.standardize(_nhwc(x).astype(np.float32)))

    # -- the record a model file keeps
    def to_record(self) -> dict[str, Any]:
        """``{"config": JSON-able dict, "arrays": {name: float32 array}}``."""
        g = self.generator
        arrays = {
            name: np.asarray(value, np.float32)
            for name, value in (
                ("mean", g.mean),
                ("std", g.std),
                ("zca", g.zca_whitening_matrix),
            )
            if value is not None
        }
        config = {k: _plain(v) for k, v in self.settings.items()}
        return {
            "config": {"kind": _RECORD_KIND, "settings": config,
                       "fitted_on": int(self.fitted_on)},
            "arrays": arrays,
        }  # fmt: skip

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Normaliser:
        """The normaliser :meth:`to_record` described; ValueError if malformed."""
        try:
            config, arrays = record["config"], record["arrays"]
            if config.get("kind") != _RECORD_KIND:
                raise ValueError(f"kind {config.get('kind')!r}")
            norm = cls(dict(config["settings"]))
            g = norm.generator
            for name, attr in (
                ("mean", "mean"),
                ("std", "std"),
                ("zca", "zca_whitening_matrix"),
            ):
                if name in arrays:
                    setattr(g, attr, np.asarray(arrays[name], np.float32))
            if norm.needs_fit and (g.mean is None or g.std is None):
                raise ValueError("feature-wise statistics missing")
            if g.zca_whitening and g.zca_whitening_matrix is None:
                raise ValueError("ZCA matrix missing")
            norm.fitted_on = int(config.get("fitted_on", 0))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(
                "`record` must be a normaliser record (config and arrays, as "
                f"Normaliser.to_record writes it). Received: a record that fails: {exc}"
            ) from None
        return norm

    def describe(self) -> str:
        """One line for the UI: what is applied."""
        g = self.generator
        parts = []
        if g.samplewise_center:
            parts.append("sample-wise centring")
        if g.samplewise_std_normalization:
            parts.append("sample-wise std")
        if g.featurewise_center and not g.zca_whitening:
            parts.append("feature-wise centring")
        if g.featurewise_std_normalization:
            parts.append("feature-wise std")
        if g.zca_whitening:
            parts.append(f"ZCA (epsilon {g.zca_epsilon:g})")
        text = ", ".join(parts) or "none (pixels / 255)"
        if self.needs_fit and self.fitted_on:
            text += f"; statistics from {self.fitted_on:,} training images"
        return text


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    return value


_cache_lock = threading.Lock()
_last_fit: tuple[tuple, Normaliser] | None = None


def fit_normaliser(settings: dict[str, Any], x_train: np.ndarray) -> Normaliser:
    """A :class:`Normaliser` for ``settings`` fit on the first ``fit_images`` images
    of ``x_train (N, C, H, W)`` uint8.

    The last fit is kept (keyed by the settings and a hash of the images), so the
    Normalise tab's preview and the run that follows share one ZCA decomposition
    (3072x3072 for 32x32 colour images takes seconds)."""
    global _last_fit
    norm = Normaliser(settings)
    x = np.asarray(x_train)[: norm.settings["fit_images"]]
    if not norm.needs_fit:
        return norm.fit(x)
    key = (
        tuple(sorted((k, repr(v)) for k, v in norm.settings.items())),
        x.shape,
        str(x.dtype),
        hashlib.blake2b(np.ascontiguousarray(x).data, digest_size=16).hexdigest(),
    )
    with _cache_lock:
        if _last_fit is not None and _last_fit[0] == key:
            return Normaliser.from_record(_last_fit[1].to_record())
    norm.fit(x)
    with _cache_lock:
        _last_fit = (key, norm)
    return Normaliser.from_record(norm.to_record())


def prepare(x: np.ndarray, normaliser: Normaliser | None) -> np.ndarray:
    """Pixel values ``x (N, C, H, W)`` -> the model's float32 input: normalised, or
    divided by 255."""
    if normaliser is not None and normaliser.active:
        return normaliser.apply(x)
    return np.divide(x, np.float32(255.0), dtype=np.float32)


def attach(model: Any, normaliser: Normaliser | None) -> None:
    """Make ``model`` remember ``normaliser`` (None: forget any): its record goes into
    ``model.preprocessing``, which the model file keeps."""
    if normaliser is None or not normaliser.active:
        model.preprocessing = None
    else:
        model.preprocessing = normaliser.to_record()
    model._convlab_normaliser = None  # the parsed record, rebuilt on demand


def model_normaliser(model: Any) -> Normaliser | None:
    """The normaliser ``model`` was trained with (None if it has none)."""
    record = getattr(model, "preprocessing", None)
    if not record:
        return None
    cached = getattr(model, "_convlab_normaliser", None)
    if cached is not None and cached[0] is record:
        return cached[1]
    norm = Normaliser.from_record(record)
    model._convlab_normaliser = (record, norm)
    return norm


def model_input(model: Any, x: np.ndarray) -> np.ndarray:
    """``x`` as ``model`` takes it: unchanged for a model without a normaliser (the
    engine scales uint8 itself); otherwise normalised, reading uint8 as pixel values
    and floats as the engine does, in [0, 1]."""
    norm = model_normaliser(model)
    if norm is None:
        return x
    x = np.asarray(x)
    pixels = x if x.dtype == np.uint8 else x.astype(np.float32) * np.float32(255.0)
    return norm.apply(pixels)


# ------------------------------------------------------------------ training input


class TrainingBatches:
    """Endless ``(x, y)`` batches for ``fit_events``: each epoch a new order, each
    batch augmented (if an augmenter) and prepared (:func:`prepare`).

    ``len()`` is the batches per epoch; epoch and step numbers are 1-based, as the
    training loop's events count them."""

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        seed: int = 0,
        augmenter: Augmenter | None = None,
        normaliser: Normaliser | None = None,
        shuffle: bool = True,
    ) -> None:
        if len(x) == 0:
            raise ValueError("`x` is empty: there is nothing to train on.")
        self.x, self.y = x, np.asarray(y)
        self.batch_size, self.seed = int(batch_size), int(seed)
        self.augmenter, self.normaliser = augmenter, normaliser
        self.shuffle = shuffle
        self.epoch, self.step = 1, 0
        self._order = self._new_order()

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def _new_order(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(len(self.x))
        return np.random.default_rng([self.seed, 3, self.epoch]).permutation(
            len(self.x)
        )

    def batch(self, epoch: int, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch ``step`` of ``epoch`` (the current epoch's order)."""
        lo = (step - 1) * self.batch_size
        index = self._order[lo : lo + self.batch_size]
        xb = self.x[index]
        if self.augmenter is not None:
            xb = self.augmenter.transform(xb, batch_rng(self.seed, epoch, step))
        return prepare(xb, self.normaliser), self.y[index]

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return self

    def __next__(self) -> tuple[np.ndarray, np.ndarray]:
        if self.step >= len(self):
            self.epoch += 1
            self.step = 0
            self._order = self._new_order()
        self.step += 1
        return self.batch(self.epoch, self.step)


class TrainingInput:
    """What ``train_events`` gets for one run with ``augment`` / ``normalise``
    settings (``settings`` has ``augment, normalise, batch_size, seed,
    validation_split``).

    Without either, :attr:`args` / :attr:`kwargs` pass the arrays through with the
    validation split (the engine's own path). With either, the validation images are
    held out here (the last ``validation_split``, Keras's rule), the normaliser is
    fit on the training part, and the training images come as
    :class:`TrainingBatches`; call :meth:`fit_events` first (it yields
    ``(done, total, what)`` progress while the statistics are fit).
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, settings: Any) -> None:
        self.x, self.y, self.settings = x, np.asarray(y), settings
        aug = getattr(settings, "augment", None)
        norm = getattr(settings, "normalise", None)
        self.augmenter = Augmenter(aug) if aug is not None else None
        self.normaliser: Normaliser | None = (
            Normaliser(norm) if norm is not None else None
        )
        self.active = self.augmenter is not None or self.normaliser is not None
        split = float(settings.validation_split)
        if self.active and split > 0:
            from convlab.nn.data_adapter import split_validation

            self.x_fit, self.y_fit, self.x_val, self.y_val = split_validation(
                x, self.y, split
            )
        else:
            self.x_fit, self.y_fit, self.x_val, self.y_val = x, self.y, None, None

    def fit_events(self) -> Iterator[tuple[int, int, str]]:
        norm = self.normaliser
        if norm is None or not norm.needs_fit:
            return
        n = min(norm.settings["fit_images"], len(self.x_fit))
        what = (
            "fitting ZCA whitening on"
            if norm.generator.zca_whitening
            else ("fitting the normalisation on")
        )
        yield 0, n, what
        self.normaliser = fit_normaliser(norm.settings, self.x_fit)
        yield n, n, what

    @property
    def args(self) -> tuple[Any, Any]:
        if not self.active:
            return self.x, self.y
        s = self.settings
        return (
            TrainingBatches(
                self.x_fit, self.y_fit, s.batch_size, s.seed,
                self.augmenter, self.normaliser,
            ),
            None,
        )  # fmt: skip

    @property
    def kwargs(self) -> dict[str, Any]:
        s = self.settings
        if not self.active:
            return {"validation_split": s.validation_split, "shuffle": True}
        if self.x_val is None:
            return {}
        return {"validation_data": (prepare(self.x_val, self.normaliser), self.y_val)}


def zca_filters(
    normaliser: Normaliser, input_shape: tuple[int, int, int], count: int = 16
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Rows of the ZCA matrix as images: ``(filters (k, C, H, W) float32, [(row,
    col), ...])`` for ``k <= count`` pixels on a grid over the image (the centre
    among them). Each is the filter whitening computes at that pixel (first channel:
    for colour images the row of the red value): a centre-surround kernel."""
    zca = normaliser.zca_matrix
    if zca is None:
        raise ValueError(
            "`normaliser` has no ZCA matrix: fit it with zca_whitening=True first. "
            "Received: zca_whitening=False or an unfitted normaliser"
        )
    c, h, w = (int(v) for v in input_shape)
    if zca.shape != (c * h * w, c * h * w):
        raise ValueError(
            f"`input_shape` must match the ZCA matrix {zca.shape}. "
            f"Received: input_shape={tuple(input_shape)}"
        )
    side = max(1, int(math.isqrt(int(count))))
    # the middle half: MNIST's border pixels are always 0 (no variance, no filter)
    rows = np.unique(np.linspace(h * 0.25, h * 0.75, side).round().astype(int))
    cols = np.unique(np.linspace(w * 0.25, w * 0.75, side).round().astype(int))
    positions = [(int(r), int(q)) for r in rows for q in cols]
    centre = (h // 2, w // 2)
    if centre not in positions:
        positions[len(positions) // 2] = centre
    positions = positions[: int(count)]
    index = [(r * w + q) * c for r, q in positions]  # channels-last flat index
    filters = zca[index].reshape(len(index), h, w, c).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(filters, np.float32), positions


@dataclass
class NormalisePreview:
    """What the Normalise tab shows: the fit normaliser, ``before`` (pixel values)
    and ``after`` (model input) of a few samples ``(k, C, H, W)`` float32, the ZCA
    filters and their pixel positions (empty without ZCA), and the fit's seconds."""

    normaliser: Normaliser
    before: np.ndarray
    after: np.ndarray
    filters: np.ndarray
    positions: list[tuple[int, int]]
    seconds: float


def normalise_preview(
    settings: dict[str, Any], x_train: np.ndarray, samples: int = 6, filters: int = 16
) -> NormalisePreview:
    """Fit ``settings`` on ``x_train (N, C, H, W)`` uint8 (its first ``fit_images``,
    as a run does; the fit is shared with the run through :func:`fit_normaliser`'s
    cache) and normalise its first ``samples`` images (call on a worker thread)."""
    t0 = time.perf_counter()
    x = np.asarray(x_train)
    if x.ndim == 3:
        x = x[:, None]
    norm = fit_normaliser(settings, x)
    seconds = time.perf_counter() - t0
    before = np.asarray(x[:samples], np.float32)
    after = prepare(x[:samples], norm)
    if norm.zca_matrix is not None:
        bank, positions = zca_filters(norm, x.shape[1:], filters)
    else:
        bank, positions = np.zeros((0, *x.shape[1:]), np.float32), []
    return NormalisePreview(norm, before, after, bank, positions, seconds)
