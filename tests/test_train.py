"""The training generator: event order and values, stopping mid-way, live learning
rate."""

from __future__ import annotations

import numpy as np
import pytest

from convlab.nn import SGD, Dense, Flatten, Sequential
from convlab.nn.presets import tiny
from convlab.train import EpochEvent, FinishedEvent, StepEvent, train_events


def data(n=70, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n)


def test_event_sequence_and_running_means():
    x, y = data(70)
    events = list(
        train_events(tiny(), x, y, batch_size=32, epochs=2, validation_data=data(20, 1))
    )
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["StepEvent"] * 3 + ["EpochEvent"] + ["StepEvent"] * 3 + [
        "EpochEvent",
        "FinishedEvent",
    ]
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert [(s.epoch, s.step, s.steps_per_epoch) for s in steps][:3] == [
        (1, 1, 3),
        (1, 2, 3),
        (1, 3, 3),
    ]
    assert [s.images_seen for s in steps] == [32, 64, 70, 102, 134, 140]
    # the running mean weighs batches by their size (32, 32, 6)
    first = steps[:3]
    expected = (
        first[0].batch_loss * 32 + first[1].batch_loss * 32 + first[2].batch_loss * 6
    ) / 70
    assert first[2].loss == pytest.approx(expected)
    epoch = events[3]
    assert isinstance(epoch, EpochEvent)
    assert epoch.loss == pytest.approx(first[2].loss)
    assert epoch.val_loss is not None
    assert 0 <= epoch.val_accuracy <= 1
    finished = events[-1]
    assert isinstance(finished, FinishedEvent)
    assert not finished.stopped
    assert finished.history.history["loss"] == [events[3].loss, events[7].loss]


def test_closing_the_generator_leaves_a_valid_model(tmp_path):
    x, y = data(200)
    model = tiny()
    gen = train_events(model, x, y, batch_size=16, epochs=3)
    for _ in range(5):
        next(gen)
    gen.close()
    probabilities = model.predict(x[:4])
    assert np.all(np.isfinite(probabilities))
    model.save(tmp_path / "m.npz")
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)  # trains on
    assert len(history.history["loss"]) == 1


def test_learning_rate_is_read_every_step():
    x, y = data(64)
    model = tiny()
    gen = train_events(model, x, y, batch_size=16, epochs=1, shuffle=False)
    next(gen)
    model.optimizer.learning_rate = 1e-30  # effectively frozen from here on
    frozen = [w.copy() for w in model.get_weights()]
    # moment estimates keep changing, but steps of size ~1e-30 do not move float32
    # weights
    *_, event = gen  # run to the end; event is the last one
    assert isinstance(event, FinishedEvent)
    for a, b in zip(frozen, model.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-20)


def test_nan_loss_stops_training():
    x, y = data(64)
    model = Sequential([Flatten(), Dense(10, activation="softmax")], seed=0)
    model.compile(SGD(1e30), "sparse_categorical_crossentropy", ["accuracy"])
    events = list(
        train_events(model, x.astype(np.float32) * 1e30, y, batch_size=8, epochs=2)
    )
    last = events[-1]
    assert isinstance(last, FinishedEvent)
    assert last.stopped
    assert "learning rate" in last.reason


def test_steps_per_epoch_and_determinism():
    x, y = data(100)
    runs = []
    for _ in range(2):
        model = tiny(seed=4)
        events = list(
            train_events(
                model, x, y, batch_size=10, epochs=2, seed=7, steps_per_epoch=3
            )
        )
        assert sum(isinstance(e, StepEvent) for e in events) == 6
        runs.append(model.get_weights())
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"batch_size": 0},
            r"`batch_size` must be a positive int. Received: batch_size=0",
        ),
        ({"epochs": 1.5}, r"Received: epochs=1.5"),
        ({"validation_split": 1.0}, r"Received: validation_split=1.0"),
        ({"seed": -1}, r"Received: seed=-1"),
        ({"validation_data": [1, 2, 3]}, r"`validation_data` must be a tuple"),
    ],
)
def test_argument_errors(kwargs, message):
    x, y = data(10)
    with pytest.raises(ValueError, match=message):
        next(train_events(tiny(), x, y, **{"batch_size": 4, "epochs": 1, **kwargs}))
