"""The trainer's run history (convlab.train.history): TensorBoard's smoothing against
its formula written out value by value, the overlay's bounded list of runs, and the
CSV against what was recorded."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convlab.train.history import (
    CSV_COLUMNS,
    RunHistory,
    run_label,
    smooth,
)
from convlab.train.session import TrainSettings


def tensorboard_smooth(values, weight):
    """TensorBoard's scalar smoothing as its dashboard writes it (one value at a
    time, a non-finite value passed through and skipped)."""
    last, num_accum, out = 0.0, 0, []
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        last = last * weight + (1 - weight) * v
        num_accum += 1
        debias = 1.0 - weight**num_accum if weight != 1 else 1.0
        out.append(last / debias)
    return out


finite_or_not = st.one_of(
    st.floats(-1e3, 1e3, allow_nan=False),
    st.sampled_from([float("nan"), float("inf")]),
)


@settings(deadline=None, max_examples=80)
@given(
    values=st.lists(finite_or_not, max_size=700),
    weight=st.sampled_from([0.0, 0.3, 0.6, 0.9, 0.95, 0.99]),
)
def test_smooth_equals_the_formula_value_by_value(values, weight):
    got = smooth(values, weight)
    want = np.array(tensorboard_smooth(values, weight), np.float64)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_smooth_starts_at_the_first_value_and_lags_behind_a_jump():
    values = [1.0] * 5 + [0.0] * 5
    s = smooth(values, 0.6)
    assert s[0] == 1.0  # debiased: no pull towards 0 at the start
    np.testing.assert_allclose(s[:5], 1.0)
    assert 0.0 < s[-1] < s[5] < 1.0
    np.testing.assert_array_equal(smooth(values, 0.0), values)


@pytest.mark.parametrize("weight", [-0.1, 0.995, 1.0])
def test_smooth_refuses_a_weight_out_of_range(weight):
    with pytest.raises(ValueError, match=rf"Received: weight={weight}"):
        smooth([1.0, 2.0], weight)


@settings(deadline=None, max_examples=30)
@given(
    chunks=st.lists(st.lists(finite_or_not, max_size=300), min_size=1, max_size=6),
    weight=st.sampled_from([0.0, 0.6, 0.97]),
)
def test_record_smoothing_grown_in_pieces_equals_smoothing_it_whole(chunks, weight):
    history = RunHistory()
    run = history.begin("a")
    for chunk in chunks:
        for v in chunk:
            run.add_step(run.n_steps / 10, v, 0.5)
        run.smoothed("loss", weight)  # the cache is extended piece by piece
    all_values = [v for chunk in chunks for v in chunk]
    np.testing.assert_allclose(
        run.smoothed("loss", weight),
        tensorboard_smooth(all_values, weight),
        rtol=1e-9,
        atol=1e-9,
    )


def _filled(history, label, steps=4, epoch_every=2):
    run = history.begin(label)
    for i in range(steps):
        run.add_step((i + 1) / epoch_every, 2.0 / (i + 1), i / steps)
        if (i + 1) % epoch_every == 0:
            e = (i + 1) // epoch_every
            run.add_epoch(e, e, 1.0 / e, 0.5, 1.1 / e, 0.4 + e / 10)
    history.end()
    return run


def test_overlay_keeps_the_last_n_runs_and_drops_the_oldest():
    history = RunHistory(keep=3)
    runs = [_filled(history, f"r{i}") for i in range(5)]
    assert [r.run_id for r in history.runs] == [3, 4, 5]
    assert history.runs == runs[2:]
    assert [r.label for r in history.runs] == ["run 3: r2", "run 4: r3", "run 5: r4"]
    # each kept run keeps its own colour
    assert len({r.colour for r in history.runs}) == 3
    history.remove(4)
    assert [r.run_id for r in history.runs] == [3, 5]
    history.set_visible(3, False)
    assert not history.get(3).visible
    with pytest.raises(KeyError, match=r"Received: run_id=4"):
        history.get(4)


def test_the_open_run_is_never_dropped_and_continues_across_starts():
    history = RunHistory(keep=2)
    _filled(history, "old")
    run = history.begin("tiny · adam lr 0.001")
    run.add_step(0.5, 1.0, 0.5)
    assert history.begin("tiny · adam lr 0.001") is run  # Stop, then Start again
    assert history.begin("tiny · sgd lr 0.01") is run
    assert run.label == "run 2: tiny · adam lr 0.001 → tiny · sgd lr 0.01"
    assert run.add_step(0.75, 0.9) == 2  # steps counted across Starts
    history.end()
    history.begin("x")
    assert [r.run_id for r in history.runs] == [2, 3]
    assert history.focus is history.current


def test_a_run_without_steps_is_not_kept():
    history = RunHistory()
    history.begin("failed at once")
    history.end()
    assert history.runs == []
    assert history.focus is None


def test_csv_rows_equal_the_recorded_history():
    history = RunHistory()
    a = _filled(history, "tiny · adam lr 0.001 · batch 64", steps=6, epoch_every=3)
    b = _filled(history, "lenet5, with a comma", steps=4, epoch_every=2)
    rows = list(csv.reader(io.StringIO(history.to_csv(), newline="")))
    assert tuple(rows[0]) == CSV_COLUMNS
    rows = rows[1:]
    assert len(rows) == a.n_steps + b.n_steps
    expected = []
    for run in (a, b):
        val = {p.step: p for p in run.epochs}
        for i in range(run.n_steps):
            step = int(run.column("step")[i])
            p = val.get(step)
            expected.append(
                [
                    run.label,
                    float(run.column("x")[i]),
                    step,
                    float(run.column("loss")[i]),
                    float(run.column("accuracy")[i]),
                    None if p is None else p.val_loss,
                    None if p is None else p.val_accuracy,
                ]
            )

    def parse(row):
        num = [None if c == "" else float(c) for c in row[1:]]
        return [row[0], num[0], int(num[1]), *num[2:]]

    assert [parse(r) for r in rows] == expected
    # validation only on the step that ended an epoch: 2 epochs each
    assert sum(r[5] != "" for r in rows) == 4


def test_run_label_names_model_optimizer_rate_and_augmentation():
    s = TrainSettings(optimizer="sgd", learning_rate=0.01, batch_size=32)
    assert run_label('the "lenet5" preset (fresh weights, seed 3)', s) == (
        "lenet5 · sgd lr 0.01 · batch 32"
    )
    assert run_label("the edited layers (fresh weights, seed 0)", s).startswith(
        "edited layers · "
    )

    class Augmented:
        optimizer, learning_rate, batch_size = "adam", 0.001, 64
        augment = {"rotation_range": 10}

    assert run_label("model.npz", Augmented()).endswith("· augmented")


def test_keep_must_be_positive():
    with pytest.raises(ValueError, match=r"Received: keep=0"):
        RunHistory(keep=0)
