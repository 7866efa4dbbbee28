"""Convolution -> activation -> pooling for a filter bank, as the plan says.

Every filter is a 2-D kernel ``(KH, KW)``. On an image with ``C`` channels it becomes a
Conv2D weight ``(1, C, KH, KW)``: the kernel in every channel slice, divided by ``C``
when ``channels="mean"`` (so a blur keeps the image's range) or not when
``channels="sum"`` (what a Conv2D with identical slices computes).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import kernels
from kernels import _warmup

from . import fallback
from .planning import Plan, plan
from .settings import ACTIVATIONS, InvalidSettings, Settings

__all__ = [
    "FilterMaps",
    "Group",
    "Result",
    "ComputeCache",
    "BACKENDS",
    "activate",
    "compute",
    "warmup",
]


@dataclass(frozen=True, eq=False)
class FilterMaps:
    """The three stages of one filter, plus what is needed to explain them.

    Max pooling's winners are not computed with the maps (for a 4K photo they were
    133 MB of int64 that no view drew): :meth:`winner` finds one pooled pixel's from
    its window, :attr:`indices` all of them on first use.
    """

    name: str
    conv: np.ndarray  # (OH, OW) float32
    activated: np.ndarray  # (OH, OW) float32 (the same array as conv for "none")
    pooled: np.ndarray | None  # (PH, PW) float32
    conv_pads: tuple[int, int, int, int]  # the plan's, for this filter's kernel shape
    pool_pads: tuple[int, int, int, int] | None
    abs_max: dict[str, float] = field(default_factory=dict)
    # max pooling only: the max_pool2d arguments (kernel_size, stride, padding,
    # ceil_mode) and the backend ("kernels" or "numpy") that pooled
    max_pool: tuple | None = None
    max_pool_backend: str = "kernels"
    _lazy: dict = field(default_factory=dict, repr=False)

    def stage(self, name: str) -> np.ndarray | None:
        return {"conv": self.conv, "activation": self.activated, "pooled": self.pooled}[
            name
        ]

    @property
    def indices(self) -> np.ndarray | None:
        """(PH, PW) int64, max pooling only: ``h * OW + w`` into the activation map of
        each pooled pixel's winner (``kernels.max_pool2d``'s indices), computed on
        first use by the backend that pooled."""
        if self.max_pool is None:
            return None
        if "indices" not in self._lazy:
            ops = fallback if self.max_pool_backend == "numpy" else kernels
            act = self.activated[None, None]
            self._lazy["indices"] = ops.max_pool2d(act, *self.max_pool)[1][0, 0]
        return self._lazy["indices"]

    def winner(self, row: int, col: int) -> tuple[int, int]:
        """Max pooling only: the activation-map ``(row, col)`` whose value pooled
        pixel ``(row, col)`` holds, from its window alone: the first maximum in scan
        order, or the last NaN; padding never wins (``kernels.max_pool2d``'s rule)."""
        if self.max_pool is None or self.pool_pads is None:
            raise ValueError(f"Filter {self.name!r} has no max pooling.")
        (kh, kw), (sh, sw) = self.max_pool[0], self.max_pool[1]
        oh, ow = self.activated.shape
        r0, c0 = row * sh - self.pool_pads[0], col * sw - self.pool_pads[2]
        r_lo, c_lo = max(r0, 0), max(c0, 0)
        window = self.activated[r_lo : min(r0 + kh, oh), c_lo : min(c0 + kw, ow)]
        cells = window.ravel()  # scan order
        nan = np.isnan(cells)
        if nan.any():
            at = len(cells) - 1 - int(np.argmax(nan[::-1]))
        else:
            at = int(np.argmax(cells))  # the first of equal maxima
        return r_lo + at // window.shape[1], c_lo + at % window.shape[1]


@dataclass(frozen=True, eq=False)
class Group:
    """Filters of one kernel shape, computed as one Conv2D: their maps as stacks.

    ``stacks[stage]`` is ``(F, H, W)`` float32 (``stage`` in ``conv``, ``activation``,
    ``pooled``); plane ``j`` is the map of filter ``members[j]`` (the same memory as its
    :class:`FilterMaps` arrays). ``abs_max[stage][j]`` is that plane's largest finite
    ``|value|``.
    """

    members: tuple[int, ...]
    stacks: dict[str, np.ndarray]
    abs_max: dict[str, list[float]]


@dataclass(frozen=True, eq=False)
class Result:
    """What :func:`compute` returns: the settings, image and plan it used and every
    filter's maps."""

    settings: Settings
    image: np.ndarray  # (C, H, W) float32
    maps: tuple[FilterMaps, ...]
    seconds: float
    groups: tuple[Group, ...] = ()
    plan: Plan | None = None


def _as_chw(image: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(image, dtype=np.float32)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(
            f"`image` must have shape (C, H, W) or (H, W). Received: {x.shape}"
        )
    return x


BACKENDS = ("kernels", "numpy", "auto")
"""``compute(backend=...)``: numba kernels, their NumPy twins (:mod:`.fallback`, no
compile), or NumPy until the explorer's kernels are compiled (a first launch)."""


# the warm-up steps after which "auto" takes the kernels for each operation (the
# convolution: one image of any width, "planes" and "blocks")
_STEP = {
    "conv": ("conv forward", "conv forward, wide images"),
    "relu": ("relu",),
    "max": ("max pooling",),
    "avg": ("average pooling",),
}


def _resolve_backend(backend: str, op: str = "conv") -> str:
    if backend == "auto":
        done = all(_warmup.is_done(step) for step in _STEP[op])
        return "kernels" if done else "numpy"
    if backend not in BACKENDS:
        raise ValueError(
            f"`backend` must be one of {', '.join(map(repr, BACKENDS))}. "
            f"Received: backend={backend!r}"
        )
    return backend


# the activations that write into a given buffer (``activate(..., out=)``)
_INTO_BUFFER = frozenset({"relu", "abs"})


def activate(
    z: np.ndarray,
    name: str,
    negative_slope: float = 0.1,
    *,
    backend: str = "kernels",
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Apply the named activation (see :data:`ACTIVATIONS`) with kernels' functions
    (``backend="numpy"``: ReLU by NumPy; the others are NumPy in kernels already).

    ``out``: a float32 buffer of ``z``'s shape that ReLU and abs write into (and
    return); the other activations return a new array and ignore it."""
    if name == "none":
        return z
    if name == "relu":
        if _resolve_backend(backend, "relu") == "numpy":
            return fallback.relu(z, out=out)
        return kernels.relu(z, out=out)
    if name == "leaky_relu":
        return kernels.leaky_relu(z, float(negative_slope))
    if name == "sigmoid":
        return kernels.sigmoid(z)
    if name == "tanh":
        return kernels.tanh(z)
    if name == "abs":
        return np.abs(z, out=out)
    raise ValueError(
        f"`activation` must be one of {', '.join(map(repr, ACTIVATIONS))}. "
        f"Received: activation={name!r}"
    )


def _abs_max(planes: np.ndarray) -> list[float]:
    """The largest finite ``|value|`` of each ``(H, W)`` plane of ``planes (P, H, W)``
    (0.0 for a plane without one). NaN and +-inf are left out: they saturate colours."""
    return _finite_extremes(planes)[0]


def _finite_extremes(planes: np.ndarray) -> tuple[list[float], list[float]]:
    """Per plane: the largest finite ``|value|`` (0.0 without one) and the largest
    finite value (-inf without one)."""
    if planes.size == 0:
        return [0.0] * planes.shape[0], [-np.inf] * planes.shape[0]
    flat = planes.reshape(planes.shape[0], -1)
    # two SIMD reductions, no temporary |x| array: ~10x faster than a loop over |v|
    hi = flat.max(axis=1).astype(np.float64)
    top = np.maximum(hi, -flat.min(axis=1).astype(np.float64))
    for p in np.flatnonzero(~np.isfinite(top)):
        finite = flat[p][np.isfinite(flat[p])]
        top[p] = float(np.abs(finite).max()) if finite.size else 0.0
        hi[p] = float(finite.max()) if finite.size else -np.inf
    return top.tolist(), hi.tolist()


def _relu_abs_max(conv_hi: list[float]) -> list[float]:
    """:func:`_abs_max` of ``relu(conv)`` from the convolution's largest finite values,
    without reading the 265 MB a 4K stack holds again (17 ms, one thread): ReLU keeps
    what is >= 0 (NaN and +inf stay out) and turns the rest, -inf included, into 0."""
    return [max(hi, 0.0) for hi in conv_hi]


def _mix_channels(x: np.ndarray, channels: str) -> np.ndarray:
    if x.shape[0] == 1:
        return x
    if channels == "mean":
        return x.mean(axis=0, keepdims=True, dtype=np.float32)
    return x.sum(axis=0, keepdims=True, dtype=np.float32)


class ComputeCache:
    """The intermediate arrays of the last :func:`compute`, reused when unchanged.

    A pooling change does not redo the convolution; a colour-scale change redoes
    nothing. Entries are keyed on every setting that affects them (the image by
    identity) and only the newest entry per stage and kernel shape is kept. Arrays are
    shared between the results that use them: treat them as read-only. One compute at a
    time per cache.

    A stage that must be recomputed writes into a buffer of an earlier compute that
    nothing references any more (no entry, no result, no view of it), so a live photo
    does not pay for fresh memory on every slider move: a fresh 265 MB stack (8 maps
    of 2160x3840) costs ~22 ms of page faults and zeroing, the convolution itself
    ~50 ms. At most :attr:`KEEP` buffers per stage and kernel shape stay with the
    cache (the one on display and the one being computed).
    """

    KEEP = 2

    def __init__(self) -> None:
        self._entries: dict[tuple[str, tuple[int, int]], tuple[Any, Any]] = {}
        self._buffers: dict[tuple[str, tuple[int, int]], list[np.ndarray]] = {}
        self._source: object = None  # the caller's image object
        self._image: np.ndarray | None = None  # it as float32 (C, H, W)
        self._mixed: tuple[str, np.ndarray] | None = None

    def image(self, source: object) -> np.ndarray:
        """``source`` as float32 ``(C, H, W)``; a new image clears every entry."""
        if self._source is not source or self._image is None:
            self._entries.clear()
            self._mixed = None
            self._image = _as_chw(source)  # type: ignore[arg-type]
            self._source = source
        return self._image

    def mixed(self, channels: str) -> np.ndarray:
        """The channel mean (sum) of the image, computed once per image."""
        if self._mixed is None or self._mixed[0] != channels:
            self._mixed = (channels, _mix_channels(self._image, channels))  # type: ignore[arg-type]
        return self._mixed[1]

    def get(self, stage: str, shape: tuple[int, int], key: tuple) -> Any:
        entry = self._entries.get((stage, shape))
        if entry is not None and entry[0] == key:
            return entry[1]
        return None

    def put(self, stage: str, shape: tuple[int, int], key: tuple, value: Any) -> None:
        self._entries[(stage, shape)] = (key, value)

    def buffer(
        self, stage: str, shape: tuple[int, int], array_shape: tuple[int, ...]
    ) -> np.ndarray:
        """A float32 array of ``array_shape`` to compute ``stage`` into (its values
        are garbage): one this cache made before that is referenced nowhere else, or
        a new one."""
        owned = self._buffers.setdefault((stage, shape), [])
        owned[:] = [b for b in owned if b.shape == array_shape]
        for i in range(len(owned)):
            # 2: the list's own reference and getrefcount's argument. Any entry,
            # result, view (a view holds its base) or pixel cache adds one.
            if sys.getrefcount(owned[i]) == 2:
                return owned[i]
        if len(owned) >= self.KEEP:
            del owned[0]  # still in use elsewhere: freed when its users let go
        owned.append(np.empty(array_shape, np.float32))
        return owned[-1]


def compute(
    image: np.ndarray,
    settings: Settings,
    *,
    cache: ComputeCache | None = None,
    backend: str = "kernels",
) -> Result:
    """Convolution -> activation -> pooling for every filter of ``settings``.

    Filters of the same kernel shape run as one ``kernels.conv2d`` call (one weight
    ``(F, C, KH, KW)``), as a Conv2D layer would.

    Parameters
    ----------
    image : ndarray, shape (C, H, W) or (H, W), float
    settings : Settings
    cache : ComputeCache, optional
        Reuse the stages whose settings did not change since the last call with this
        cache (the same image object, the same filters, ...).
    backend : {"kernels", "numpy", "auto"}
        See :data:`BACKENDS`; "auto" decides per operation (conv, ReLU, max, average
        pooling), by whether its warm-up step is done. Results agree within float32
        rounding; the backend is part of the cache keys, so a change recomputes.

    Returns
    -------
    Result
        With the :class:`~convlab.explore.Plan` whose pads and sizes the maps have.

    Raises
    ------
    InvalidSettings
        When the plan reports a problem (nothing is computed).
    """
    start = time.perf_counter()
    _resolve_backend(backend)  # checked before any work
    use = {op: _resolve_backend(backend, op) for op in _STEP}

    def ops(op: str):
        return fallback if use[op] == "numpy" else kernels

    if cache is None:
        cache = ComputeCache()
    x = cache.image(image)
    the_plan = plan(settings, x.shape)
    if the_plan.problems:
        raise InvalidSettings(list(the_plan.problems))
    # Every channel slice of a filter is the same kernel (divided by C for "mean"), so
    # by linearity the Conv2D sum over channels is one convolution of the channel mean
    # (sum): C times less work, equal up to float32 rounding. The microscope shows the
    # per-channel products of the full Conv2D weight, and checks their sum against the
    # map.
    mixed = cache.mixed(settings.channels)
    maps: list[FilterMaps | None] = [None] * len(settings.filters)
    result_groups = []
    slope = settings.negative_slope if settings.activation == "leaky_relu" else None
    for gp in the_plan.groups:
        shape, members = gp.kernel_hw, gp.members
        # the resolved pads, not the padding setting: a "same" that resolves to the same
        # pads for a new image size reuses nothing, as the image is part of the key
        conv_args = (
            settings.stride,
            gp.conv_pads,
            settings.dilation,
            settings.padding_mode,
            settings.channels,
        )
        key: tuple = (
            use["conv"],
            tuple(settings.filters[i].kernel.tobytes() for i in members),
            tuple(settings.filters[i].bias for i in members),
            conv_args,
        )
        conv_entry = cache.get("conv", shape, key)
        if conv_entry is None:
            weight = np.stack([settings.filters[i].kernel[None] for i in members])
            bias = np.array([settings.filters[i].bias for i in members], np.float32)
            # no problems in the plan: every size is set
            conv_hw: tuple[int, int] = gp.conv_hw  # type: ignore[assignment]
            out = cache.buffer("conv", shape, (1, len(members), *conv_hw))
            conv = ops("conv").conv2d(
                mixed[None],
                weight,
                bias,
                stride=settings.stride,
                padding=gp.conv_pads,
                dilation=settings.dilation,
                padding_mode=settings.padding_mode,
                out=out,
            )
            conv_entry = (conv, *_finite_extremes(conv[0]))
            cache.put("conv", shape, key, conv_entry)
        conv, conv_max, conv_hi = conv_entry

        key = (key, use["relu"], settings.activation, slope)
        act_entry = cache.get("activation", shape, key)
        if act_entry is None:
            into = None
            if settings.activation in _INTO_BUFFER:
                into = cache.buffer("activation", shape, conv.shape)
            act = activate(
                conv,
                settings.activation,
                settings.negative_slope,
                backend=use["relu"],
                out=into,
            )
            if act is conv:
                act_max = conv_max
            elif settings.activation == "relu":
                act_max = _relu_abs_max(conv_hi)
            else:
                act_max = _abs_max(act[0])
            act_entry = (act, act_max)
            cache.put("activation", shape, key, act_entry)
        act, act_max = act_entry

        pooled = max_pool = None
        pool_max = [0.0] * len(members)
        if settings.pool != "none":
            # the setting, not the resolved pads: avg pooling counts padded cells for
            # explicit padding but not for "same" (TensorFlow), so the spec matters
            pool_args = (
                settings.pool_size,
                settings.pool_stride,
                settings.pool_padding_arg(),
                settings.ceil_mode,
            )
            if settings.pool == "max":
                max_pool = pool_args
            key = (key, use[settings.pool], settings.pool, pool_args)
            pool_entry = cache.get("pooled", shape, key)
            if pool_entry is None:
                if settings.pool == "max":
                    # values only: the views that show a winner ask FilterMaps
                    pooled_hw: tuple[int, int] = gp.pooled_hw  # type: ignore[assignment]
                    out = cache.buffer("pooled", shape, (1, len(members), *pooled_hw))
                    pooled = ops("max").max_pool2d(
                        act, *pool_args, return_indices=False, out=out
                    )
                else:
                    pooled = ops("avg").avg_pool2d(act, *pool_args)
                pool_entry = (pooled, _abs_max(pooled[0]))
                cache.put("pooled", shape, key, pool_entry)
            pooled, pool_max = pool_entry
        stacks = {"conv": conv[0], "activation": act[0]}
        maxima = {"conv": conv_max, "activation": act_max}
        if pooled is not None:
            stacks["pooled"] = pooled[0]
            maxima["pooled"] = pool_max
        result_groups.append(Group(tuple(members), stacks, maxima))
        for j, i in enumerate(members):
            maps[i] = FilterMaps(
                name=settings.filters[i].name,
                conv=conv[0, j],
                activated=act[0, j],
                pooled=None if pooled is None else pooled[0, j],
                conv_pads=gp.conv_pads,
                pool_pads=gp.pool_pads,
                abs_max={
                    "conv": conv_max[j],
                    "activation": act_max[j],
                    "pooled": pool_max[j],
                },
                max_pool=max_pool,
                max_pool_backend=use["max"],
            )
    return Result(
        settings,
        x,
        tuple(maps),  # type: ignore[arg-type]
        time.perf_counter() - start,
        tuple(result_groups),
        the_plan,
    )


def warmup(progress=None) -> None:
    """Compile every kernel, the explorer's first (see :func:`kernels.warmup`;
    ``progress(done, total, name)``; safe on a worker thread)."""
    kernels.warmup(progress)
