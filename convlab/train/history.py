"""The trainer's run history, without Qt: what the curves show and the CSV holds.

A :class:`RunRecord` is one model's training from its first Start until the model
changes (fresh weights, a preset, an edit, an opened file): every step's loss and
accuracy at its place on the x axis (epochs, fractional), and every epoch's training
means and validation metrics. Stop then Start on the same model continues the same
record. :class:`RunHistory` keeps the last ``keep`` records for the comparison overlay
(the oldest is dropped first; the open record never is), each with a label (preset,
optimizer, learning rate, augmentation), a colour and a visible flag, and writes them
all as one CSV text (:meth:`RunHistory.to_csv`; the GUI writes it through
:func:`convlab._files.atomic_write`, which ``convlab.train`` does not import).

:func:`smooth` is TensorBoard's scalar smoothing (a debiased exponential moving
average), vectorised in blocks so that re-smoothing 20,000 steps when the slider moves
stays within a frame.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_KEEP",
    "DEFAULT_SMOOTHING",
    "MAX_SMOOTHING",
    "PALETTE",
    "EpochPoint",
    "RunHistory",
    "RunRecord",
    "run_label",
    "smooth",
]

#: TensorBoard's default smoothing weight
DEFAULT_SMOOTHING = 0.6
#: the slider's top: at 1.0 the average would never move from its start
MAX_SMOOTHING = 0.99
#: how many runs the comparison overlay keeps
DEFAULT_KEEP = 5
#: one row per step, in this order
CSV_COLUMNS = ("run", "epoch", "step", "loss", "accuracy", "val_loss", "val_accuracy")
#: run colours, bright enough on the plots' dark background and told apart by hue
PALETTE: tuple[tuple[int, int, int], ...] = (
    (90, 170, 255),  # blue
    (255, 170, 60),  # orange
    (110, 210, 120),  # green
    (240, 110, 170),  # pink
    (235, 225, 80),  # yellow
    (175, 140, 255),  # violet
    (80, 215, 215),  # cyan
    (240, 95, 80),  # red
)

_BLOCK = 256


def _check_weight(weight: float) -> float:
    if isinstance(weight, bool) or not isinstance(weight, (int, float, np.floating)):
        raise TypeError(
            f"`weight` must be a number in [0, {MAX_SMOOTHING}]. Received: "
            f"weight={weight!r}"
        )
    w = float(weight)
    if not 0.0 <= w <= MAX_SMOOTHING:
        raise ValueError(
            f"`weight` must be in [0, {MAX_SMOOTHING}]. Received: weight={weight!r}"
        )
    return w


@functools.lru_cache(maxsize=8)
def _powers(w: float) -> tuple[np.ndarray, np.ndarray]:
    """``P[j, i] = w ** (j - i)`` below the diagonal (0 above) and ``w ** (j + 1)``
    for one block."""
    k = np.arange(_BLOCK)
    lag = k[:, None] - k[None, :]
    powers = np.where(lag >= 0, w ** np.maximum(lag, 0).astype(np.float64), 0.0)
    return powers, w ** (k + 1.0)


def _ema_blocks(values: np.ndarray, w: float, last: float, count: int) -> np.ndarray:
    """``last_t = w * last_{t-1} + (1 - w) * v_t`` from ``last`` (the state after
    ``count`` values), divided by the debias ``1 - w ** (count + t)``; finite
    ``values`` only. A block of B values is one (B, B) matrix product with the powers
    of ``w``, so no Python loop runs per value."""
    n = len(values)
    out = np.empty(n, np.float64)
    if n == 0:
        return out
    powers, carry = _powers(w)
    for start in range(0, n, _BLOCK):
        block = values[start : start + _BLOCK]
        m = len(block)
        s = (1.0 - w) * (powers[:m, :m] @ block) + carry[:m] * last
        out[start : start + m] = s
        last = float(s[-1])
    t = np.arange(count + 1, count + n + 1, dtype=np.float64)
    return out / (1.0 - w**t)


def smooth(values: Any, weight: float = DEFAULT_SMOOTHING) -> np.ndarray:
    """TensorBoard's smoothing of a scalar curve: a debiased exponential moving
    average with ``weight`` in [0, 0.99] (0: the raw curve).

    ``last = weight * last + (1 - weight) * v`` from ``last = 0``, shown as
    ``last / (1 - weight ** n)`` after the n-th finite value; the division undoes the
    pull towards 0 at the start, so the first point is the first value itself. A
    non-finite value is passed through (NaN or inf) and does not change the average.

    Parameters
    ----------
    values : array_like, shape (N,)
    weight : float

    Returns
    -------
    ndarray, shape (N,), float64

    Examples
    --------
    >>> smooth([1.0, 0.0], 0.5).tolist()  # (0.5 * 1) / 0.5, (0.25 * 1) / 0.75
    [1.0, 0.3333333333333333]
    """
    w = _check_weight(weight)
    v = np.asarray(values, np.float64).reshape(-1)
    out = v.copy()
    finite = np.isfinite(v)
    if w > 0 and finite.any():
        out[finite] = _ema_blocks(v[finite], w, 0.0, 0)
    return out


class _Smoothed:
    """The smoothed copy of a growing column, extended as values arrive."""

    def __init__(self) -> None:
        self.weight = -1.0
        self.done = 0  # values of the column already smoothed
        self.last = 0.0  # the average's state after them (finite values only)
        self.count = 0  # finite values among them
        self.values = np.empty(0, np.float64)

    def get(self, column: np.ndarray, weight: float) -> np.ndarray:
        if weight != self.weight or len(column) < self.done:
            self.weight, self.done, self.last, self.count = weight, 0, 0.0, 0
            self.values = np.empty(0, np.float64)
        new = column[self.done :]
        if len(new):
            fresh = new.astype(np.float64, copy=True)
            finite = np.isfinite(fresh)
            f = fresh[finite]
            if weight > 0 and len(f):
                s = _ema_blocks(f, weight, self.last, self.count)
                # undo the debias of the last one to carry the raw state on
                self.last = float(s[-1] * (1.0 - weight ** (self.count + len(f))))
                fresh[finite] = s
            self.count += len(f)
            self.values = np.concatenate([self.values, fresh])
            self.done = len(column)
        return self.values


class _Columns:
    """Float64 columns preallocated and doubled when full; ``view(name)`` is the
    filled part."""

    def __init__(self, names: tuple[str, ...], capacity: int = 1024) -> None:
        self._data = {name: np.empty(capacity, np.float64) for name in names}
        self.n = 0

    def reserve(self, capacity: int) -> None:
        for name, old in self._data.items():
            if capacity > len(old):
                new = np.empty(capacity, np.float64)
                new[: self.n] = old[: self.n]
                self._data[name] = new

    def append(self, **values: float) -> None:
        if self.n == len(next(iter(self._data.values()))):
            self.reserve(2 * self.n)
        for name, value in values.items():
            self._data[name][self.n] = value
        self.n += 1

    def view(self, name: str) -> np.ndarray:
        return self._data[name][: self.n]


@dataclass(frozen=True)
class EpochPoint:
    """One finished epoch of a record: ``x`` on the axis (epochs), its number
    counted across Starts, the step it ended on (``step``, counted in the record),
    training means and, with a validation split, validation metrics (NaN without)."""

    x: float
    epoch: int
    step: int
    loss: float
    accuracy: float
    val_loss: float
    val_accuracy: float


def _float(value: Any) -> float:
    return float("nan") if value is None else float(value)


class RunRecord:
    """One run: steps (``x``, ``step``, ``loss``, ``accuracy``, each batch's own
    values) and epochs (:class:`EpochPoint`). Made by :meth:`RunHistory.begin`."""

    def __init__(self, run_id: int, label: str) -> None:
        self.run_id = run_id
        #: what was trained, one part per Start whose settings differed
        self.segments: list[str] = [label]
        self.colour = PALETTE[(run_id - 1) % len(PALETTE)]
        self.visible = True
        self.epochs: list[EpochPoint] = []
        self._steps = _Columns(("x", "step", "loss", "accuracy"))
        self._smoothed = {"loss": _Smoothed(), "accuracy": _Smoothed()}

    @property
    def label(self) -> str:
        """``"run 3: tiny · adam lr 0.001"``; later Starts with other settings are
        added after an arrow."""
        return f"run {self.run_id}: " + " → ".join(self.segments)

    @property
    def n_steps(self) -> int:
        return self._steps.n

    def reserve(self, steps: int) -> None:
        self._steps.reserve(steps)

    def add_step(self, x: float, loss: float, accuracy: float = float("nan")) -> int:
        """Record a step at ``x`` (epochs); returns its number in the record
        (1-based, counted across Starts)."""
        step = self._steps.n + 1
        self._steps.append(
            x=float(x), step=step, loss=_float(loss), accuracy=_float(accuracy)
        )
        return step

    def add_epoch(
        self,
        x: float,
        epoch: int,
        loss: float,
        accuracy: float,
        val_loss: float | None = None,
        val_accuracy: float | None = None,
    ) -> EpochPoint:
        point = EpochPoint(
            float(x),
            int(epoch),
            self._steps.n,
            _float(loss),
            _float(accuracy),
            _float(val_loss),
            _float(val_accuracy),
        )
        self.epochs.append(point)
        return point

    def column(self, name: str) -> np.ndarray:
        """A step column: ``"x"``, ``"step"``, ``"loss"`` or ``"accuracy"``."""
        return self._steps.view(name)

    def smoothed(self, name: str, weight: float) -> np.ndarray:
        """:func:`smooth` of the ``"loss"`` or ``"accuracy"`` column, kept and
        extended as steps arrive (equal to ``smooth(column(name), weight)``)."""
        return self._smoothed[name].get(self.column(name), _check_weight(weight))

    def validation(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``x``, ``val_loss``, ``val_accuracy`` of the epochs that had
        validation."""
        points = [p for p in self.epochs if np.isfinite(p.val_loss)]
        x = np.array([p.x for p in points], np.float64)
        return (
            x,
            np.array([p.val_loss for p in points], np.float64),
            np.array([p.val_accuracy for p in points], np.float64),
        )

    def rows(self) -> list[tuple[Any, ...]]:
        """The CSV rows (without the header): one per step, the epoch's validation
        on the step that ended it; an epoch without steps gets a row of its own."""
        by_step: dict[int, EpochPoint] = {p.step: p for p in self.epochs}
        x, step = self.column("x"), self.column("step")
        loss, acc = self.column("loss"), self.column("accuracy")
        out: list[tuple[Any, ...]] = []
        for i in range(self.n_steps):
            p = by_step.pop(int(step[i]), None)
            out.append(
                (
                    self.label,
                    float(x[i]),
                    int(step[i]),
                    float(loss[i]),
                    float(acc[i]),
                    float("nan") if p is None else p.val_loss,
                    float("nan") if p is None else p.val_accuracy,
                )
            )
        for p in by_step.values():  # epochs that ended before any step (none today)
            out.append(
                (self.label, p.x, p.step, float("nan"), float("nan"), p.val_loss,
                 p.val_accuracy)
            )  # fmt: skip
        return out


def _short_model(model: str) -> str:
    """'the "tiny" preset (fresh weights, seed 0)' -> 'tiny'; 'the edited layers'
    -> 'edited layers'; a file name stays."""
    quoted = re.search(r'"([^"]+)"', model)
    if quoted:
        return quoted.group(1)
    text = re.sub(r"\s*\(.*\)\s*$", "", model.strip())
    return re.sub(r"^the\s+", "", text) or "model"


def run_label(model: str, settings: Any) -> str:
    """A run's label: the model (a preset's name, "edited layers", a file), the
    optimizer and learning rate, the batch size, and "augmented" when
    ``settings.augment`` is set (the field may not exist yet)."""
    parts = [
        _short_model(model),
        f"{settings.optimizer} lr {settings.learning_rate:g}",
        f"batch {settings.batch_size}",
    ]
    if getattr(settings, "augment", None):
        parts.append("augmented")
    if getattr(settings, "normalise", None):
        parts.append("normalised")
    return " · ".join(parts)


def _csv_number(value: Any) -> str:
    if isinstance(value, float):
        return "" if not np.isfinite(value) else repr(value)
    return str(value)


class RunHistory:
    """The last ``keep`` runs, oldest first; ``current`` is the open one (steps go
    there) or None between a model change and the next Start."""

    def __init__(self, keep: int = DEFAULT_KEEP) -> None:
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise ValueError(f"`keep` must be an int >= 1. Received: keep={keep!r}")
        self.keep = keep
        self.runs: list[RunRecord] = []
        self.current: RunRecord | None = None
        self._next_id = 1

    def begin(self, label: str) -> RunRecord:
        """A Start: continue the open record (adding ``label`` if it differs from
        the last one) or open a new one, dropping the oldest beyond ``keep``."""
        run = self.current
        if run is not None:
            if run.segments[-1] != label:
                run.segments.append(label)
            return run
        run = RunRecord(self._next_id, label)
        self._next_id += 1
        self.runs.append(run)
        self.current = run
        while len(self.runs) > self.keep:
            self.runs.pop(0)
        return run

    def end(self) -> None:
        """The model changed: the open record is closed (kept for the overlay if it
        has steps, else dropped)."""
        run = self.current
        self.current = None
        if run is not None and run.n_steps == 0 and not run.epochs:
            self.runs.remove(run)

    def get(self, run_id: int) -> RunRecord:
        for run in self.runs:
            if run.run_id == run_id:
                return run
        known = [r.run_id for r in self.runs]
        raise KeyError(f"No run {run_id} (kept: {known}). Received: run_id={run_id!r}")

    def remove(self, run_id: int) -> None:
        """Forget a run; removing the open one closes it (the next Start opens a new
        record)."""
        run = self.get(run_id)
        self.runs.remove(run)
        if run is self.current:
            self.current = None

    def set_visible(self, run_id: int, visible: bool) -> None:
        self.get(run_id).visible = bool(visible)

    @property
    def focus(self) -> RunRecord | None:
        """The run drawn in full (raw curve behind the smoothed one): the open one,
        else the newest."""
        return self.current or (self.runs[-1] if self.runs else None)

    def to_csv(self) -> str:
        """Every kept run, oldest first, one row per step (:data:`CSV_COLUMNS`;
        ``epoch`` is the x position in epochs, ``step`` counts the run's steps; an
        empty cell is a missing value)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for run in self.runs:
            for row in run.rows():
                writer.writerow([_csv_number(v) for v in row])
        return out.getvalue()
