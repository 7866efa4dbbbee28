"""The sliding window, step by step: what the kernel sees at each output position.

:class:`SlidingWindow` turns one filter of an :class:`convlab.explore.Result` into an
ordered, randomly accessible sequence of :class:`Step` records, row-major over the
convolution's output (``oy`` then ``ox``). With ``granularity="tap"`` every output
position is split into ``KH * KW`` steps, one per kernel tap in row-major ``(ky, kx)``
order, each adding the products of that tap (summed over channels) to the running sum.

Everything is read from the result: the image, the settings, the resolved pads
(``FilterMaps.conv_pads`` / ``pool_pads``) and the maps, so a step explains exactly the
pixel the explorer drew. The window is laid on the padded input once (``kernels.pad2d``
with the scene's padding mode); which input cell each padding cell copies comes from
``kernels.pad_index_map``.

>>> import numpy as np
>>> from convlab import explore
>>> flt = explore.Filter("sum", np.ones((2, 2), np.float32))
>>> s = explore.Settings(filters=(flt,), padding="valid", activation="none",
...                      pool="none")
>>> result = explore.compute(np.arange(9, dtype=np.float32).reshape(3, 3), s)
>>> steps = SlidingWindow(result, 0)
>>> len(steps), steps[0].total, steps[-1].output
(4, 8.0, 24.0)

This module never imports Qt.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

import kernels

__all__ = ["GRANULARITIES", "PoolWindow", "Step", "SlidingWindow"]

#: ``"position"``: one step per output pixel; ``"tap"``: one per kernel tap as well.
GRANULARITIES = ("position", "tap")


@dataclass(frozen=True, eq=False)
class PoolWindow:
    """One pooling window over the activation map (the consumer of a conv output).

    ``rows``/``cols`` are activation-map coordinates and may lie outside the map (pool
    padding); ``values`` holds NaN there. ``value`` is the pooled map's value as
    ``compute`` drew it; ``recomputed`` the max or average recomputed here from
    ``values`` (PyTorch's divisor: padded zeros count, a ceil-mode window is clipped to
    the padded map; with ``"same"`` only real cells count).
    """

    kind: str  # "max" or "avg"
    row: int  # pooled-map pixel
    col: int
    rows: np.ndarray  # (PKH,) int64
    cols: np.ndarray  # (PKW,) int64
    padded_mask: np.ndarray  # (PKH, PKW) bool: True in the pool padding
    values: np.ndarray  # (PKH, PKW) float64, NaN in the padding
    winner: tuple[int, int] | None  # activation (row, col) of the max
    divisor: int | None  # for the average
    recomputed: float
    value: float


@dataclass(frozen=True, eq=False)
class Step:
    """One step of the sliding window.

    Coordinates: ``rows``/``cols`` index the *padded* input (``padded`` of the
    :class:`SlidingWindow`), ``in_rows``/``in_cols`` the input itself (outside
    ``[0, H)`` / ``[0, W)`` in the padding). ``source_rows``/``source_cols`` give the
    input row/column each window row/column copies (-1: a constant zero), so a padding
    cell ``(i, j)`` copies input cell ``(source_rows[i], source_cols[j])``.

    ``products`` are ``values * weight`` in float64 (the Conv2D weight: the kernel in
    every channel, divided by ``C`` for ``channels="mean"``). ``running[t]`` is the sum
    of the products of taps ``0..t`` (row-major ``(ky, kx)``, summed over channels);
    ``partial`` is ``running[tap]`` for a tap step and ``total`` for a position step.
    ``output`` and ``activated`` are the conv and activation maps' values at
    ``(oy, ox)``, as drawn: ``total + bias`` equals ``output`` up to float32 rounding.
    """

    index: int
    oy: int
    ox: int
    tap: int | None  # (ky * KW + kx) for a tap step, None for a position step
    origin: tuple[int, int]  # top-left of the window, padded coordinates
    rows: np.ndarray  # (KH,) int64
    cols: np.ndarray  # (KW,) int64
    in_rows: np.ndarray  # (KH,) int64
    in_cols: np.ndarray  # (KW,) int64
    padded_mask: np.ndarray  # (KH, KW) bool
    source_rows: np.ndarray  # (KH,) int64
    source_cols: np.ndarray  # (KW,) int64
    values: np.ndarray  # (C, KH, KW) float32
    weight: np.ndarray  # (C, KH, KW) float32
    products: np.ndarray  # (C, KH, KW) float64
    running: np.ndarray  # (KH * KW,) float64
    partial: float
    total: float
    bias: float
    output: float
    activated: float
    pools: tuple[PoolWindow, ...]  # the pooling windows that read (oy, ox)

    @property
    def tap_yx(self) -> tuple[int, int] | None:
        """``(ky, kx)`` of a tap step."""
        if self.tap is None:
            return None
        kw = self.cols.shape[0]
        return divmod(self.tap, kw)


class SlidingWindow:
    """The steps of one filter's sliding window over ``result``'s image.

    Parameters
    ----------
    result : convlab.explore.Result
    filter_index : int
        Which filter of ``result.settings.filters``.
    granularity : {"position", "tap"}
        One step per output pixel, or one per kernel tap of every output pixel.

    Raises
    ------
    ValueError
        For a ``filter_index`` outside the bank or an unknown ``granularity``.

    Notes
    -----
    Sequence-like: ``len(steps)``, ``steps[i]`` (negative ``i`` counts from the end),
    iteration, :meth:`index_of` for "jump to the clicked output pixel". Steps are built
    on demand (cheap: a few small arrays), the padded input once.
    """

    def __init__(
        self, result: object, filter_index: int, *, granularity: str = "position"
    ) -> None:
        settings = result.settings  # type: ignore[attr-defined]
        n_filters = len(settings.filters)
        if (
            isinstance(filter_index, bool)
            or not isinstance(filter_index, (int, np.integer))
            or not 0 <= filter_index < n_filters
        ):
            raise ValueError(
                f"`filter_index` must be an int from 0 to {n_filters - 1}. "
                f"Received: filter_index={filter_index!r}"
            )
        if granularity not in GRANULARITIES:
            raise ValueError(
                f"`granularity` must be one of {', '.join(map(repr, GRANULARITIES))}. "
                f"Received: granularity={granularity!r}"
            )
        self.result = result
        self.settings = settings
        self.filter_index = int(filter_index)
        self.granularity = granularity
        flt = settings.filters[self.filter_index]
        fm = result.maps[self.filter_index]  # type: ignore[attr-defined]
        self.maps = fm
        image = np.asarray(result.image, np.float32)  # type: ignore[attr-defined]
        self.image = image
        channels, h, w = image.shape
        self.pads: tuple[int, int, int, int] = tuple(fm.conv_pads)  # type: ignore[assignment]
        top, bottom, left, right = self.pads
        mode = settings.padding_mode
        self.padded = (
            kernels.pad2d(image[None], self.pads, mode)[0] if any(self.pads) else image
        )
        self.row_map = kernels.pad_index_map(h, top, bottom, mode)
        self.col_map = kernels.pad_index_map(w, left, right, mode)
        self.kernel_shape: tuple[int, int] = tuple(flt.kernel.shape)  # type: ignore[assignment]
        scale = 1.0 / channels if settings.channels == "mean" else 1.0
        self.weight = np.repeat(
            (flt.kernel * np.float32(scale))[None], channels, axis=0
        ).astype(np.float32)
        self.bias = float(flt.bias)
        self.output_shape: tuple[int, int] = tuple(fm.conv.shape)  # type: ignore[assignment]
        self.taps = self.kernel_shape[0] * self.kernel_shape[1]
        self._per = self.taps if granularity == "tap" else 1
        self._positions = self.output_shape[0] * self.output_shape[1]
        self._consumers = self._pool_consumers()

    # ------------------------------------------------------------------ sequence

    def __len__(self) -> int:
        return self._positions * self._per

    def __iter__(self) -> Iterator[Step]:
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, index: int) -> Step:
        n = len(self)
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(
                f"`index` must be an int. Received: index={index!r} "
                f"(type {type(index).__name__})"
            )
        i = int(index) + n if index < 0 else int(index)
        if not 0 <= i < n:
            raise IndexError(
                f"`index` must be from {-n} to {n - 1} ({n} steps). "
                f"Received: index={index}"
            )
        position, tap = divmod(i, self._per)
        oy, ox = divmod(position, self.output_shape[1])
        return self._step(i, oy, ox, tap if self.granularity == "tap" else None)

    def index_of(self, oy: int, ox: int, tap: int = 0) -> int:
        """The step index of output pixel ``(oy, ox)`` (and ``tap`` with taps)."""
        oh, ow = self.output_shape
        if not (0 <= oy < oh and 0 <= ox < ow):
            raise ValueError(
                f"`(oy, ox)` must lie in the {oh}x{ow} output. Received: ({oy}, {ox})"
            )
        if not 0 <= tap < self._per:
            raise ValueError(
                f"`tap` must be from 0 to {self._per - 1}. Received: tap={tap}"
            )
        return (oy * ow + ox) * self._per + tap

    def position_steps(self, every: int = 1) -> list[int]:
        """Indices of the first step of every ``every``-th output position, always
        ending on the last position (for animations)."""
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(
                f"`every` must be a positive int. Received: every={every!r}"
            )
        picks = list(range(0, self._positions, every))
        if picks[-1] != self._positions - 1:
            picks.append(self._positions - 1)
        return [p * self._per for p in picks]

    # ------------------------------------------------------------------ building

    def _step(self, index: int, oy: int, ox: int, tap: int | None) -> Step:
        s = self.settings
        kh, kw = self.kernel_shape
        sh, sw = s.stride
        dh, dw = s.dilation
        _, h, w = self.image.shape
        y0, x0 = oy * sh, ox * sw
        rows = y0 + dh * np.arange(kh, dtype=np.int64)
        cols = x0 + dw * np.arange(kw, dtype=np.int64)
        in_rows = rows - self.pads[0]
        in_cols = cols - self.pads[2]
        outside_r = (in_rows < 0) | (in_rows >= h)
        outside_c = (in_cols < 0) | (in_cols >= w)
        mask = outside_r[:, None] | outside_c[None, :]
        values = self.padded[:, rows][:, :, cols]
        products = values.astype(np.float64) * self.weight.astype(np.float64)
        running = np.cumsum(products.sum(axis=0).ravel())
        total = float(running[-1])
        fm = self.maps
        return Step(
            index=index,
            oy=oy,
            ox=ox,
            tap=tap,
            origin=(int(y0), int(x0)),
            rows=rows,
            cols=cols,
            in_rows=in_rows,
            in_cols=in_cols,
            padded_mask=mask,
            source_rows=self.row_map[rows],
            source_cols=self.col_map[cols],
            values=values,
            weight=self.weight,
            products=products,
            running=running,
            partial=total if tap is None else float(running[tap]),
            total=total,
            bias=self.bias,
            output=float(fm.conv[oy, ox]),
            activated=float(fm.activated[oy, ox]),
            pools=tuple(self.pool_window(py, px) for py, px in self._consumers(oy, ox)),
        )

    def _pool_consumers(self):  # noqa: ANN202
        """A function ``(oy, ox) -> [(py, px), ...]``: the pooled pixels whose window
        reads activation cell ``(oy, ox)``."""
        s = self.settings
        fm = self.maps
        if s.pool == "none" or fm.pooled is None:
            return lambda oy, ox: []
        pkh, pkw = s.pool_size
        psh, psw = s.pool_stride
        top, _, left, _ = fm.pool_pads
        qh, qw = fm.pooled.shape

        def axis(o: int, k: int, st: int, pad: int, n: int) -> range:
            # windows p with p*st - pad <= o < p*st - pad + k
            lo = max(0, -(-(o + pad - k + 1) // st))
            hi = min(n - 1, (o + pad) // st)
            return range(lo, hi + 1)

        def consumers(oy: int, ox: int) -> list[tuple[int, int]]:
            return [
                (py, px)
                for py in axis(oy, pkh, psh, top, qh)
                for px in axis(ox, pkw, psw, left, qw)
            ]

        return consumers

    def pool_window(self, row: int, col: int) -> PoolWindow:
        """The pooling window of pooled pixel ``(row, col)``."""
        s = self.settings
        fm = self.maps
        if fm.pooled is None:
            raise ValueError("Pooling is off: there is no pooled map.")
        qh, qw = fm.pooled.shape
        if not (0 <= row < qh and 0 <= col < qw):
            raise ValueError(
                f"`(row, col)` must lie in the {qh}x{qw} pooled map. "
                f"Received: ({row}, {col})"
            )
        act = fm.activated
        oh, ow = act.shape
        pkh, pkw = s.pool_size
        psh, psw = s.pool_stride
        top, bottom, left, right = fm.pool_pads
        r0, c0 = row * psh - top, col * psw - left
        rows = r0 + np.arange(pkh, dtype=np.int64)
        cols = c0 + np.arange(pkw, dtype=np.int64)
        in_r = (rows >= 0) & (rows < oh)
        in_c = (cols >= 0) & (cols < ow)
        mask = ~(in_r[:, None] & in_c[None, :])
        values = np.full((pkh, pkw), np.nan, np.float64)
        values[np.ix_(in_r, in_c)] = act[np.ix_(rows[in_r], cols[in_c])]
        value = float(fm.pooled[row, col])
        if s.pool == "max":
            winner: tuple[int, int] | None = fm.winner(row, col)
            divisor = None
            recomputed = float(np.nanmax(values))
        else:
            winner = None
            if s.pool_padding == "same":
                divisor = int((~mask).sum())
            else:
                r_end = min(r0 + pkh, oh + bottom)
                c_end = min(c0 + pkw, ow + right)
                divisor = int((r_end - r0) * (c_end - c0))
            recomputed = float(np.nansum(values) / divisor)
        return PoolWindow(
            kind=s.pool,
            row=row,
            col=col,
            rows=rows,
            cols=cols,
            padded_mask=mask,
            values=values,
            winner=winner,
            divisor=divisor,
            recomputed=recomputed,
            value=value,
        )
