"""The explorer's computation, headless: one image, a filter bank, a geometry -> feature
maps.

Data flows one way: the GUI turns its widgets into a frozen :class:`Settings`, calls
:func:`validate` (inline messages, no compute) and :func:`compute` (on a worker thread),
and shows the :class:`Result`. :func:`inspect_pixel` explains one output pixel with
numbers taken from the same kernels and the same arrays that drew the maps (the
"microscope").

Every filter is a 2-D kernel ``(KH, KW)``. On an image with ``C`` channels it becomes a
Conv2D weight ``(1, C, KH, KW)``: the kernel in every channel slice, divided by ``C``
when ``channels="mean"`` (so a blur keeps the image's range) or not when
``channels="sum"`` (what a Conv2D with identical slices computes). The sum over channels
is the Conv2D sum.

This module never imports Qt.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import kernels
from kernels import shapes as _shapes
from kernels.padding import pad2d, pad_index_map

__all__ = [
    "ACTIVATIONS",
    "POOLS",
    "PADDINGS",
    "PADDING_MODES",
    "Filter",
    "Settings",
    "FilterMaps",
    "Result",
    "Stage",
    "Group",
    "ConvInspection",
    "PoolInspection",
    "InvalidSettings",
    "validate",
    "compute",
    "stage_shapes",
    "conventions",
    "inspect_pixel",
    "activate",
    "warmup",
    "ComputeCache",
    "reuse_freed_memory",
]

ACTIVATIONS = {
    "none": "None (linear)",
    "relu": "ReLU  max(0, z)",
    "leaky_relu": "Leaky ReLU  z if z > 0 else a·z",
    "sigmoid": "Sigmoid  1 / (1 + e^-z)",
    "tanh": "tanh(z)",
    "abs": "|z|  (absolute value)",
}
POOLS = {"none": "No pooling", "max": "Max pooling", "avg": "Average pooling"}
PADDINGS = ("valid", "same", "explicit")
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
STAGES = ("conv", "activation", "pooled")


@dataclass(frozen=True, eq=False)
class Filter:
    """One filter of the bank: a 2-D kernel ``(KH, KW)`` and a bias."""

    name: str
    kernel: np.ndarray
    bias: float = 0.0

    def __post_init__(self) -> None:
        k = np.array(self.kernel, dtype=np.float32, copy=True)
        if k.ndim != 2 or not (1 <= k.shape[0] <= 15 and 1 <= k.shape[1] <= 15):
            raise ValueError(
                "`kernel` must be a 2-D array with 1 to 15 rows and columns. "
                f"Received: kernel.shape={k.shape}"
            )
        k.setflags(write=False)
        object.__setattr__(self, "kernel", k)
        object.__setattr__(self, "bias", float(self.bias))


@dataclass(frozen=True, eq=False)
class Settings:
    """Every control of the explorer, as plain values.

    ``padding`` is ``"valid"``, ``"same"`` (Keras) or ``"explicit"``, in which case
    ``explicit_padding = (top, bottom, left, right)`` applies. Pooling padding likewise
    with ``pool_explicit_padding = (pad_h, pad_w)``.
    """

    filters: tuple[Filter, ...] = ()
    stride: tuple[int, int] = (1, 1)
    padding: str = "same"
    explicit_padding: tuple[int, int, int, int] = (1, 1, 1, 1)
    padding_mode: str = "zeros"
    dilation: tuple[int, int] = (1, 1)
    activation: str = "relu"
    negative_slope: float = 0.1
    pool: str = "max"
    pool_size: tuple[int, int] = (2, 2)
    pool_stride: tuple[int, int] = (2, 2)
    pool_padding: str = "valid"
    pool_explicit_padding: tuple[int, int] = (0, 0)
    ceil_mode: bool = False
    channels: str = "mean"

    def conv_padding(self) -> str | tuple[int, int, int, int]:
        """The ``padding`` argument for :func:`kernels.conv2d`."""
        return (
            tuple(self.explicit_padding) if self.padding == "explicit" else self.padding
        )

    def pool_padding_arg(self) -> str | tuple[int, int]:
        """The ``padding`` argument for the pooling kernels."""
        if self.pool_padding == "explicit":
            return tuple(self.pool_explicit_padding)
        return self.pool_padding


class InvalidSettings(ValueError):
    """Raised by :func:`compute` for settings :func:`validate` rejects; ``problems``
    lists ``(control_name, message)``."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(" ".join(message for _, message in problems))
        self.problems = problems


@dataclass(frozen=True, eq=False)
class FilterMaps:
    """The three stages of one filter, plus what is needed to explain them."""

    name: str
    conv: np.ndarray  # (OH, OW) float32
    activated: np.ndarray  # (OH, OW) float32 (the same array as conv for "none")
    pooled: np.ndarray | None  # (PH, PW) float32
    indices: np.ndarray | None  # (PH, PW) int64, max pooling only: h * OW + w into conv
    conv_pads: tuple[int, int, int, int]
    pool_pads: tuple[int, int, int, int] | None
    abs_max: dict[str, float] = field(default_factory=dict)

    def stage(self, name: str) -> np.ndarray | None:
        return {"conv": self.conv, "activation": self.activated, "pooled": self.pooled}[
            name
        ]


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
    """What :func:`compute` returns: the settings and image it used and every filter's
    maps."""

    settings: Settings
    image: np.ndarray  # (C, H, W) float32
    maps: tuple[FilterMaps, ...]
    seconds: float
    groups: tuple[Group, ...] = ()


# ----------------------------------------------------------------------------- helpers


def _as_chw(image: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(image, dtype=np.float32)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(
            f"`image` must have shape (C, H, W) or (H, W). Received: {x.shape}"
        )
    return x


def _hw(image_shape: Sequence[int]) -> tuple[int, int]:
    return int(image_shape[-2]), int(image_shape[-1])


def activate(z: np.ndarray, name: str, negative_slope: float = 0.1) -> np.ndarray:
    """Apply the named activation (see :data:`ACTIVATIONS`) with kernels' functions."""
    if name == "none":
        return z
    if name == "relu":
        return kernels.relu(z)
    if name == "leaky_relu":
        return kernels.leaky_relu(z, float(negative_slope))
    if name == "sigmoid":
        return kernels.sigmoid(z)
    if name == "tanh":
        return kernels.tanh(z)
    if name == "abs":
        return np.abs(z)
    raise ValueError(
        f"`activation` must be one of {', '.join(map(repr, ACTIVATIONS))}. "
        f"Received: activation={name!r}"
    )


def _activation_formula(name: str, z: float, slope: float) -> str:
    return {
        "none": "z",
        "relu": f"max(0, {z:.4g})",
        "leaky_relu": f"{z:.4g} if > 0 else {slope:g} × {z:.4g}",
        "sigmoid": f"1 / (1 + e^-({z:.4g}))",
        "tanh": f"tanh({z:.4g})",
        "abs": f"|{z:.4g}|",
    }[name]


# -------------------------------------------------------------------------- validation


def _mode_problem(
    mode: str, pads: tuple[int, int, int, int], hw: tuple[int, int]
) -> str | None:
    top, bottom, left, right = pads
    h, w = hw
    if mode == "reflect" and (max(top, bottom) >= h or max(left, right) >= w):
        return (
            f"Reflect padding must be smaller than the input: {max(top, bottom)} rows "
            f"/ {max(left, right)} columns of padding on a {h}x{w} input (at most "
            f"{h - 1} / {w - 1}). Use 'replicate' or 'circular', or less padding."
        )
    if mode == "circular" and (max(top, bottom) > h or max(left, right) > w):
        return (
            f"Circular padding can wrap at most once: {max(top, bottom)} rows / "
            f"{max(left, right)} columns on a {h}x{w} input."
        )
    return None


def validate(
    settings: Settings, image_shape: Sequence[int], *, blame: str | None = None
) -> list[tuple[str, str]]:
    """Check a geometry without computing anything.

    Parameters
    ----------
    settings : Settings
    image_shape : (C, H, W) or (H, W)
    blame : str, optional
        The control the user changed last; an empty output is reported next to it when
        it is a geometry control, otherwise next to the control most likely to fix it.

    Returns
    -------
    list of (control_name, message)
        Empty when the settings are valid. Control names: ``filters``, ``stride``,
        ``padding``, ``padding_mode``, ``dilation``, ``activation``, ``pool``,
        ``pool_size``,
        ``pool_stride``, ``pool_padding``, ``channels``.
    """
    problems: list[tuple[str, str]] = []

    def add(control: str, message: str) -> None:
        if (control, message) not in problems:
            problems.append((control, message))

    if not settings.filters:
        add("filters", "The filter bank is empty: add a filter to see a feature map.")
        return problems
    if settings.activation not in ACTIVATIONS:
        add("activation", f"Unknown activation {settings.activation!r}.")
    if settings.pool not in POOLS:
        add("pool", f"Unknown pooling {settings.pool!r}.")
    if settings.padding_mode not in PADDING_MODES:
        add("padding_mode", f"Unknown padding mode {settings.padding_mode!r}.")
    if settings.channels not in ("mean", "sum"):
        add(
            "channels",
            f"`channels` must be 'mean' or 'sum'. Received: {settings.channels!r}",
        )
    for name, value in (("stride", settings.stride), ("dilation", settings.dilation)):
        if len(value) != 2 or min(value) < 1:
            add(
                name,
                f"`{name}` must be a pair of positive ints. Received: {name}={value}",
            )
    if settings.padding == "explicit" and min(settings.explicit_padding) < 0:
        add("padding", "Padding cannot be negative.")
    if problems:
        return problems

    hw = _hw(image_shape)
    geometry = ("stride", "padding", "dilation", "filters")
    pool_geometry = ("pool_size", "pool_stride", "pool_padding", "pool")
    conv_shapes: list[tuple[int, int]] = []
    by_shape: dict[tuple[int, int], list[str]] = {}
    for flt in settings.filters:
        by_shape.setdefault(flt.kernel.shape, []).append(flt.name)
    for (kh, kw), names in by_shape.items():
        who = f"'{names[0]}'" + (
            f" and {len(names) - 1} more" if len(names) > 1 else ""
        )
        pads = _shapes.resolve_padding(
            settings.conv_padding(), hw, (kh, kw), settings.stride, settings.dilation
        )
        mode_problem = _mode_problem(settings.padding_mode, pads, hw)
        if mode_problem:
            add("padding_mode" if blame != "padding" else "padding", mode_problem)
        try:
            conv_shapes.append(
                _shapes.conv2d_output_shape(
                    hw, (kh, kw), settings.stride, pads, settings.dilation
                )
            )
        except ValueError as exc:
            if blame in geometry:
                control = blame
            elif max(settings.dilation) > 1 and all(
                _shapes.conv_output_size(n, k, s, (pads[2 * i], pads[2 * i + 1])) > 0
                for i, (n, k, s) in enumerate(
                    zip(hw, (kh, kw), settings.stride, strict=True)
                )
            ):
                control = "dilation"
            else:
                control = "padding"
            hint = " Try padding 'same', a smaller kernel or less dilation."
            add(control, f"Filter {who} ({kh}x{kw}): {exc}{hint}")
    if problems or settings.pool == "none":
        return problems

    ph, pw = settings.pool_size
    if min(ph, pw) < 1 or min(settings.pool_stride) < 1:
        add(
            "pool_size" if min(ph, pw) < 1 else "pool_stride",
            "Pool size and stride must be >= 1.",
        )
        return problems
    if settings.pool_padding == "explicit":
        pad_h, pad_w = settings.pool_explicit_padding
        if pad_h > ph // 2 or pad_w > pw // 2:
            add(
                "pool_padding",
                f"Pool padding must be at most half the window (PyTorch's rule): "
                f"window {ph}x{pw} allows at most ({ph // 2}, {pw // 2}). "
                f"Received: ({pad_h}, {pad_w}).",
            )
            return problems
    for conv_hw in sorted(set(conv_shapes)):
        try:
            _shapes.pool2d_output_shape(
                conv_hw,
                (ph, pw),
                settings.pool_stride,
                settings.pool_padding_arg(),
                settings.ceil_mode,
            )
        except ValueError as exc:
            control = blame if blame in pool_geometry else "pool_size"
            add(control, f"Pooling the {conv_hw[0]}x{conv_hw[1]} map: {exc}")
    return problems


# ----------------------------------------------------------------------------- compute


def _weight(flt: Filter, channels: int, mode: str) -> np.ndarray:
    scale = 1.0 / channels if mode == "mean" else 1.0
    return np.repeat((flt.kernel * np.float32(scale))[None, None], channels, axis=1)


def _abs_max(planes: np.ndarray) -> list[float]:
    """The largest finite ``|value|`` of each ``(H, W)`` plane of ``planes (P, H, W)``
    (0.0 for a plane without one). NaN and +-inf are left out: they saturate colours."""
    if planes.size == 0:
        return [0.0] * planes.shape[0]
    flat = planes.reshape(planes.shape[0], -1)
    # two SIMD reductions, no temporary |x| array: ~10x faster than a loop over |v|
    top = np.maximum(flat.max(axis=1), -flat.min(axis=1)).astype(np.float64)
    for p in np.flatnonzero(~np.isfinite(top)):
        finite = flat[p][np.isfinite(flat[p])]
        top[p] = float(np.abs(finite).max()) if finite.size else 0.0
    return top.tolist()


class ComputeCache:
    """The intermediate arrays of the last :func:`compute`, reused when unchanged.

    A pooling change does not redo the convolution; a colour-scale change redoes
    nothing. Entries are keyed on every setting that affects them (the image by
    identity) and only the newest entry per stage and kernel shape is kept. Arrays are
    shared between the results that use them: treat them as read-only. One compute at a
    time per cache.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, tuple[int, int]], tuple[Any, Any]] = {}
        self._source: object = None  # the caller's image object
        self._image: np.ndarray | None = None  # it as float32 (C, H, W)
        self._mixed: tuple[str, np.ndarray] | None = None
        self.hits = 0
        self.misses = 0

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
            self.hits += 1
            return entry[1]
        self.misses += 1
        return None

    def put(self, stage: str, shape: tuple[int, int], key: tuple, value: Any) -> None:
        self._entries[(stage, shape)] = (key, value)


def _mix_channels(x: np.ndarray, channels: str) -> np.ndarray:
    if x.shape[0] == 1:
        return x
    if channels == "mean":
        return x.mean(axis=0, keepdims=True, dtype=np.float32)
    return x.sum(axis=0, keepdims=True, dtype=np.float32)


_TUNED = False


def reuse_freed_memory() -> bool:
    """Let glibc keep freed large blocks for reuse instead of unmapping them.

    Every map is a fresh 1 MB array (a stack of 8 is 8 MB). By default glibc hands
    blocks that large back to the OS when freed, so the next compute page-faults on
    every page it writes; and each thread (the pool's, numba's OpenMP threads) gets its
    own arena, whose freed memory the next thread does not reuse. Measured per redraw of
    a 512x512 RGB image with 8 filters: 13.7 ms -> 7.4 ms of compute, and ~1,200 page
    faults -> 0 when the compute alternates between pool threads. Costs: up to 128 MB of
    freed memory stays with the process, and all threads share one arena (a lock;
    convlab makes few, large allocations). Called once by the GUI; returns whether the
    allocator was tuned (glibc only).
    """
    global _TUNED
    if _TUNED:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold, m_arena_max = -1, -3, -8
        ok = libc.mallopt(m_mmap_threshold, 32 * 1024 * 1024) == 1
        ok = libc.mallopt(m_trim_threshold, 128 * 1024 * 1024) == 1 and ok
        ok = libc.mallopt(m_arena_max, 1) == 1 and ok
    except (OSError, AttributeError):
        return False
    _TUNED = ok
    return ok


def compute(
    image: np.ndarray, settings: Settings, *, cache: ComputeCache | None = None
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

    Returns
    -------
    Result

    Raises
    ------
    InvalidSettings
        When :func:`validate` reports a problem (nothing is computed).
    """
    start = time.perf_counter()
    if cache is None:
        cache = ComputeCache()
    x = cache.image(image)
    problems = validate(settings, x.shape)
    if problems:
        raise InvalidSettings(problems)
    _, h, w = x.shape
    # Every channel slice of a filter is the same kernel (divided by C for "mean"), so
    # by linearity the Conv2D sum over channels is one convolution of the channel mean
    # (sum): C times less work, equal up to float32 rounding. The microscope shows the
    # per-channel products of the full Conv2D weight, and checks their sum against the
    # map.
    mixed = cache.mixed(settings.channels)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, flt in enumerate(settings.filters):
        groups.setdefault(flt.kernel.shape, []).append(i)
    maps: list[FilterMaps | None] = [None] * len(settings.filters)
    result_groups = []
    conv_args = (
        settings.stride,
        settings.conv_padding(),
        settings.dilation,
        settings.padding_mode,
        settings.channels,
    )
    slope = settings.negative_slope if settings.activation == "leaky_relu" else None
    pool_args = {
        "kernel_size": settings.pool_size,
        "stride": settings.pool_stride,
        "padding": settings.pool_padding_arg(),
        "ceil_mode": settings.ceil_mode,
    }
    for (kh, kw), members in groups.items():
        shape = (kh, kw)
        key: tuple = (
            tuple(settings.filters[i].kernel.tobytes() for i in members),
            tuple(settings.filters[i].bias for i in members),
            conv_args,
        )
        conv_entry = cache.get("conv", shape, key)
        if conv_entry is None:
            weight = np.stack([settings.filters[i].kernel[None] for i in members])
            bias = np.array([settings.filters[i].bias for i in members], np.float32)
            conv = kernels.conv2d(
                mixed[None],
                weight,
                bias,
                stride=settings.stride,
                padding=settings.conv_padding(),
                dilation=settings.dilation,
                padding_mode=settings.padding_mode,
            )
            conv_entry = (conv, _abs_max(conv[0]))
            cache.put("conv", shape, key, conv_entry)
        conv, conv_max = conv_entry

        key = (key, settings.activation, slope)
        act_entry = cache.get("activation", shape, key)
        if act_entry is None:
            act = activate(conv, settings.activation, settings.negative_slope)
            act_max = conv_max if act is conv else _abs_max(act[0])
            act_entry = (act, act_max)
            cache.put("activation", shape, key, act_entry)
        act, act_max = act_entry

        pooled = indices = None
        pool_pads = None
        pool_max = [0.0] * len(members)
        if settings.pool != "none":
            key = (key, settings.pool, tuple(pool_args.items()))
            pool_entry = cache.get("pooled", shape, key)
            if pool_entry is None:
                if settings.pool == "max":
                    pooled, indices = kernels.max_pool2d(act, **pool_args)
                else:
                    pooled = kernels.avg_pool2d(act, **pool_args)
                pool_entry = (pooled, indices, _abs_max(pooled[0]))
                cache.put("pooled", shape, key, pool_entry)
            pooled, indices, pool_max = pool_entry
            pool_pads = _shapes.resolve_padding(
                settings.pool_padding_arg(),
                conv.shape[2:],
                settings.pool_size,
                settings.pool_stride,
            )
        pads = _shapes.resolve_padding(
            settings.conv_padding(),
            (h, w),
            (kh, kw),
            settings.stride,
            settings.dilation,
        )
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
                indices=None if indices is None else indices[0, j],
                conv_pads=pads,
                pool_pads=pool_pads,
                abs_max={
                    "conv": conv_max[j],
                    "activation": act_max[j],
                    "pooled": pool_max[j],
                },
            )
    return Result(
        settings,
        x,
        tuple(maps),  # type: ignore[arg-type]
        time.perf_counter() - start,
        tuple(result_groups),
    )


def warmup() -> None:
    """Compile every kernel the explorer uses (tiny inputs; safe on a worker thread)."""
    x = np.random.default_rng(0).random((3, 9, 9), dtype=np.float32)
    flt = (
        Filter("w", np.ones((3, 3), np.float32)),
        Filter("v", np.ones((2, 3), np.float32)),
    )
    for pool in ("max", "avg", "none"):
        for activation in ACTIVATIONS:
            compute(x, Settings(filters=flt, pool=pool, activation=activation))
    compute(
        x,
        Settings(
            filters=flt,
            padding="explicit",
            padding_mode="reflect",
            pool_size=(3, 3),
            pool_stride=(1, 1),
        ),
    )
    kernels.warmup()


# ------------------------------------------------------------------- shapes and
# formulas


@dataclass(frozen=True)
class Stage:
    """One stage's output shape and the formula per axis that gives it."""

    name: str
    shape: tuple[int, int, int]  # (C, H, W)
    formula_h: str
    formula_w: str


def stage_shapes(
    settings: Settings,
    image_shape: Sequence[int],
    kernel_hw: tuple[int, int] | None = None,
) -> list[Stage]:
    """Input, conv, activation and pooling shapes for one kernel size (default: the
    first filter's), with the PyTorch formula filled in. Raises ``ValueError`` on empty
    output."""
    c = int(image_shape[0]) if len(image_shape) == 3 else 1
    h, w = _hw(image_shape)
    f = len(settings.filters)
    if kernel_hw is None:
        kernel_hw = settings.filters[0].kernel.shape if settings.filters else (3, 3)
    kh, kw = kernel_hw
    sh, sw = settings.stride
    dh, dw = settings.dilation
    pads = _shapes.resolve_padding(
        settings.conv_padding(), (h, w), (kh, kw), (sh, sw), (dh, dw)
    )
    oh, ow = _shapes.conv2d_output_shape((h, w), (kh, kw), (sh, sw), pads, (dh, dw))
    stages = [
        Stage("input", (c, h, w), f"H = {h}", f"W = {w}"),
        Stage(
            f"conv {kh}x{kw}",
            (f, oh, ow),
            "H: " + _shapes.size_formula(h, kh, sh, pads[:2], dh),
            "W: " + _shapes.size_formula(w, kw, sw, pads[2:], dw),
        ),
        Stage(
            f"activation ({settings.activation})", (f, oh, ow), "unchanged", "unchanged"
        ),
    ]
    if settings.pool != "none":
        ph, pw = settings.pool_size
        psh, psw = settings.pool_stride
        ppads = _shapes.resolve_padding(
            settings.pool_padding_arg(), (oh, ow), (ph, pw), (psh, psw)
        )
        qh, qw = _shapes.pool2d_output_shape(
            (oh, ow), (ph, pw), (psh, psw), ppads, settings.ceil_mode
        )
        stages.append(
            Stage(
                f"{settings.pool} pool {ph}x{pw}",
                (f, qh, qw),
                "H: "
                + _shapes.size_formula(oh, ph, psh, ppads[:2], 1, settings.ceil_mode),
                "W: "
                + _shapes.size_formula(ow, pw, psw, ppads[2:], 1, settings.ceil_mode),
            )
        )
    return stages


def conventions(
    settings: Settings,
    image_shape: Sequence[int],
    kernel_hw: tuple[int, int] | None = None,
) -> list[tuple[str, str, list[tuple[str, int]]]]:
    """Where the frameworks' output-size conventions disagree for this geometry.

    Returns a list of ``(stage, axis, [(convention, size), ...])`` for the convolution
    and pooling axes whose conventions do not all agree (symmetric padding as PyTorch's
    ``padding=p``: the top/left amount).
    """
    h, w = _hw(image_shape)
    if kernel_hw is None:
        kernel_hw = settings.filters[0].kernel.shape if settings.filters else (3, 3)
    pads = _shapes.resolve_padding(
        settings.conv_padding(), (h, w), kernel_hw, settings.stride, settings.dilation
    )
    rows = []
    for axis, n, k, s, d, p in (
        ("H", h, kernel_hw[0], settings.stride[0], settings.dilation[0], pads[0]),
        ("W", w, kernel_hw[1], settings.stride[1], settings.dilation[1], pads[2]),
    ):
        items = [
            (c.name, c.size) for c in _shapes.output_size_conventions(n, k, s, p, d)
        ]
        if len({size for _, size in items}) > 1:
            rows.append(("conv", axis, items))
    if settings.pool != "none":
        try:
            conv_hw = _shapes.conv2d_output_shape(
                (h, w), kernel_hw, settings.stride, pads, settings.dilation
            )
        except ValueError:
            return rows
        pp = (
            settings.pool_explicit_padding
            if settings.pool_padding == "explicit"
            else (0, 0)
        )
        for i, axis in enumerate("HW"):
            items = [
                (c.name, c.size)
                for c in _shapes.output_size_conventions(
                    conv_hw[i], settings.pool_size[i], settings.pool_stride[i], pp[i]
                )
            ]
            if len({size for _, size in items}) > 1:
                rows.append(("pool", axis, items))
    return rows


# ----------------------------------------------------------------------------
# microscope


@dataclass(frozen=True, eq=False)
class ConvInspection:
    """The numbers behind one convolution output pixel ``(row, col)`` of one filter."""

    filter_index: int
    name: str
    row: int
    col: int
    padded: np.ndarray  # (C, Hp, Wp) the padded input the kernel slid over
    pads: tuple[int, int, int, int]
    padding_mode: str
    origin: tuple[int, int]  # top-left of the window in padded coordinates
    step: tuple[int, int]  # dilation
    window: np.ndarray  # (C, KH, KW) input values under the kernel
    padded_mask: np.ndarray  # (KH, KW) True where the cell lies in the padding
    source_rows: np.ndarray  # (KH,) input row each window row reads (-1: constant zero)
    source_cols: np.ndarray  # (KW,)
    weight: np.ndarray  # (C, KH, KW)
    products: np.ndarray  # (C, KH, KW)
    channel_sums: np.ndarray  # (C,)
    total: float  # sum of products (float64)
    bias: float
    pre_activation: float  # the conv map's value at (row, col), as drawn
    activation: str
    activation_formula: str
    activated: float  # the activation map's value, as drawn


@dataclass(frozen=True, eq=False)
class PoolInspection:
    """The numbers behind one pooled pixel: the window over the activation map."""

    kind: str  # "max" or "avg"
    row: int
    col: int
    # (PKH,) activation-map rows of the window (may be outside: padding)
    rows: np.ndarray
    cols: np.ndarray  # (PKW,)
    values: np.ndarray  # (PKH, PKW) activation values, NaN for padded cells
    padded_mask: np.ndarray  # (PKH, PKW)
    # activation-map (row, col) of the max (from indices)
    winner: tuple[int, int] | None
    divisor: int | None  # for the average
    recomputed: float  # max or average recomputed here from ``values``
    value: float  # the pooled map's value, as drawn
    conv: ConvInspection  # the convolution of the activation cell ``conv_cell``
    conv_cell: tuple[int, int] = (0, 0)  # activation (row, col) that ``conv`` explains


def _inspect_conv(result: Result, index: int, row: int, col: int) -> ConvInspection:
    s = result.settings
    flt = s.filters[index]
    fm = result.maps[index]
    x = result.image
    channels, h, w = x.shape
    pads = fm.conv_pads
    padded = pad2d(x[None], pads, s.padding_mode)[0] if any(pads) else x
    kh, kw = flt.kernel.shape
    sh, sw = s.stride
    dh, dw = s.dilation
    y0, x0 = row * sh, col * sw
    ys = y0 + dh * np.arange(kh)
    xs = x0 + dw * np.arange(kw)
    window = padded[:, ys][:, :, xs]
    weight = _weight(flt, channels, s.channels)[0]
    products = window.astype(np.float64) * weight.astype(np.float64)
    in_y = ys - pads[0]
    in_x = xs - pads[2]
    mask = ((in_y < 0) | (in_y >= h))[:, None] | ((in_x < 0) | (in_x >= w))[None, :]
    row_map = pad_index_map(h, pads[0], pads[1], s.padding_mode)
    col_map = pad_index_map(w, pads[2], pads[3], s.padding_mode)
    z = float(fm.conv[row, col])
    return ConvInspection(
        filter_index=index,
        name=flt.name,
        row=row,
        col=col,
        padded=padded,
        pads=pads,
        padding_mode=s.padding_mode,
        origin=(int(y0), int(x0)),
        step=(dh, dw),
        window=window,
        padded_mask=mask,
        source_rows=row_map[ys],
        source_cols=col_map[xs],
        weight=weight,
        products=products,
        channel_sums=products.sum(axis=(1, 2)),
        total=float(products.sum()),
        bias=flt.bias,
        pre_activation=z,
        activation=s.activation,
        activation_formula=_activation_formula(s.activation, z, s.negative_slope),
        activated=float(fm.activated[row, col]),
    )


def inspect_pixel(
    result: Result,
    filter_index: int,
    stage: str,
    row: int,
    col: int,
    *,
    conv_cell: tuple[int, int] | None = None,
) -> ConvInspection | PoolInspection:
    """Explain one output pixel of ``result``.

    Parameters
    ----------
    result : Result
    filter_index : int
    stage : "conv", "activation" or "pooled"
    row, col : int
        Pixel of that stage's map.
    conv_cell : (row, col), optional
        For a pooled pixel: the activation-map cell of its window whose convolution
        to explain. Default: the winner (max) or the window's first real cell (average).

    Returns
    -------
    ConvInspection for ``conv``/``activation``, PoolInspection for ``pooled``.

    Raises
    ------
    ValueError
        For a pixel outside the map, or a ``conv_cell`` outside the window or in its
        padding.
    """
    fm = result.maps[filter_index]
    array = fm.stage(stage)
    if array is None:
        raise ValueError(
            f"Filter {filter_index} has no {stage!r} map (pooling is off)."
        )
    if not (0 <= row < array.shape[0] and 0 <= col < array.shape[1]):
        raise ValueError(
            f"Pixel ({row}, {col}) is outside the {array.shape[0]}x{array.shape[1]} "
            "map."
        )
    if stage != "pooled":
        return _inspect_conv(result, filter_index, row, col)

    s = result.settings
    act = fm.activated
    oh, ow = act.shape
    pkh, pkw = s.pool_size
    psh, psw = s.pool_stride
    top, bottom, left, right = fm.pool_pads  # type: ignore[misc]
    rows = row * psh - top + np.arange(pkh)
    cols = col * psw - left + np.arange(pkw)
    inside_r = (rows >= 0) & (rows < oh)
    inside_c = (cols >= 0) & (cols < ow)
    mask = ~(inside_r[:, None] & inside_c[None, :])
    values = np.full((pkh, pkw), np.nan, np.float64)
    values[np.ix_(inside_r, inside_c)] = act[np.ix_(rows[inside_r], cols[inside_c])]
    value = float(fm.pooled[row, col])  # type: ignore[index]
    if s.pool == "max":
        flat = int(fm.indices[row, col])  # type: ignore[index]
        winner = (flat // ow, flat % ow)
        divisor = None
        recomputed = float(np.nanmax(values))
        default = winner
    else:
        winner = None
        if s.pool_padding == "same":
            divisor = int((~mask).sum())
        else:
            # PyTorch: padded zeros count, but a ceil-mode window is clipped to the
            # padded input
            r_end = min(row * psh - top + pkh, oh + bottom)
            c_end = min(col * psw - left + pkw, ow + right)
            divisor = int((r_end - (row * psh - top)) * (c_end - (col * psw - left)))
        recomputed = float(np.nansum(values) / divisor)
        first = np.argwhere(~mask)[0]
        default = (int(rows[first[0]]), int(cols[first[1]]))
    if conv_cell is None:
        cell = default
    else:
        cell = (int(conv_cell[0]), int(conv_cell[1]))
        in_window = cell[0] in rows[inside_r] and cell[1] in cols[inside_c]
        if not in_window:
            raise ValueError(
                "`conv_cell` must be a cell of the pooling window that is not padding "
                f"(rows {int(rows[0])}..{int(rows[-1])}, cols {int(cols[0])}.."
                f"{int(cols[-1])} of the {oh}x{ow} activation map). "
                f"Received: conv_cell={conv_cell}"
            )
    conv = _inspect_conv(result, filter_index, *cell)
    return PoolInspection(
        kind=s.pool,
        row=row,
        col=col,
        rows=rows,
        cols=cols,
        values=values,
        padded_mask=mask,
        winner=winner,
        divisor=divisor,
        recomputed=recomputed,
        value=value,
        conv=conv,
        conv_cell=cell,
    )
