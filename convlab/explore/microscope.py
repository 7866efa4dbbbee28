"""The microscope, headless: the numbers behind one output pixel, taken from the same
kernels, the same arrays and the same plan that drew the maps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kernels.padding import pad2d, pad_index_map

from .compute import Result
from .settings import STAGES, Filter

__all__ = ["ConvInspection", "PoolInspection", "inspect_pixel"]


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
    # activation-map (row, col) of the max (FilterMaps.winner)
    winner: tuple[int, int] | None
    divisor: int | None  # for the average
    recomputed: float  # max or average recomputed here from ``values``
    value: float  # the pooled map's value, as drawn
    conv: ConvInspection  # the convolution of the activation cell ``conv_cell``
    conv_cell: tuple[int, int] = (0, 0)  # activation (row, col) that ``conv`` explains


def _activation_formula(name: str, z: float, slope: float) -> str:
    return {
        "none": "z",
        "relu": f"max(0, {z:.4g})",
        "leaky_relu": f"{z:.4g} if > 0 else {slope:g} × {z:.4g}",
        "sigmoid": f"1 / (1 + e^-({z:.4g}))",
        "tanh": f"tanh({z:.4g})",
        "abs": f"|{z:.4g}|",
    }[name]


def _weight(flt: Filter, channels: int, mode: str) -> np.ndarray:
    """The full Conv2D weight ``(1, C, KH, KW)`` a filter stands for."""
    scale = 1.0 / channels if mode == "mean" else 1.0
    return np.repeat((flt.kernel * np.float32(scale))[None, None], channels, axis=1)


def _pads(result: Result, index: int) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
    """The conv and pool pads the maps of filter ``index`` were computed with."""
    if result.plan is not None:
        group = result.plan.group_of(index)
        return group.conv_pads, group.pool_pads
    fm = result.maps[index]  # a Result built by hand
    return fm.conv_pads, fm.pool_pads


def _inspect_conv(result: Result, index: int, row: int, col: int) -> ConvInspection:
    s = result.settings
    flt = s.filters[index]
    fm = result.maps[index]
    x = result.image
    channels, h, w = x.shape
    pads = _pads(result, index)[0]
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
        pads=tuple(pads),  # type: ignore[arg-type]
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
        For an unknown stage, a pixel outside the map, or a ``conv_cell`` outside the
        window or in its padding.
    """
    if stage not in STAGES:
        raise ValueError(
            f"`stage` must be one of {', '.join(map(repr, STAGES))}. "
            f"Received: stage={stage!r}"
        )
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
    top, bottom, left, right = _pads(result, filter_index)[1]  # type: ignore[misc]
    rows = row * psh - top + np.arange(pkh)
    cols = col * psw - left + np.arange(pkw)
    inside_r = (rows >= 0) & (rows < oh)
    inside_c = (cols >= 0) & (cols < ow)
    mask = ~(inside_r[:, None] & inside_c[None, :])
    values = np.full((pkh, pkw), np.nan, np.float64)
    values[np.ix_(inside_r, inside_c)] = act[np.ix_(rows[inside_r], cols[inside_c])]
    value = float(fm.pooled[row, col])  # type: ignore[index]
    if s.pool == "max":
        winner = fm.winner(row, col)
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
