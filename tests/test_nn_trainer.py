"""The Trainer mixin's per-step API and fit_events against a plain NumPy softmax
regression (the same steps written out by hand, in float64)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from convlab.nn import SGD, Dense, EpochEvent, FinishedEvent, Sequential, StepEvent
from convlab.train import train_events

FEATURES, CLASSES = 6, 4


def _model(lr: float = 0.5, seed: int = 3) -> Sequential:
    model = Sequential(
        [Dense(CLASSES, activation="softmax", input_shape=(FEATURES,))], seed=seed
    )
    model.compile(
        optimizer=SGD(learning_rate=lr),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, FEATURES)).astype(np.float32), rng.integers(
        0, CLASSES, n
    )


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _np_loss_acc(w, b, x, y) -> tuple[float, float]:
    p = _softmax(x.astype(np.float64) @ w + b)
    loss = -np.log(p[np.arange(len(y)), y]).mean()
    return float(loss), float((p.argmax(axis=1) == y).mean())


def _np_sgd_step(w, b, x, y, lr):
    """One plain SGD step of softmax regression; returns loss, accuracy, w, b."""
    loss, acc = _np_loss_acc(w, b, x, y)
    p = _softmax(x.astype(np.float64) @ w + b)
    onehot = np.eye(CLASSES)[y]
    grad_z = (p - onehot) / len(y)
    return loss, acc, w - lr * x.T @ grad_z, b - lr * grad_z.sum(axis=0)


def _weights(model: Sequential) -> tuple[np.ndarray, np.ndarray]:
    layer = model.layers[0]
    return layer.weight.astype(np.float64), layer.bias.astype(np.float64)


def test_train_step_is_one_sgd_step():
    model = _model()
    x, y = _data(10)
    w, b = _weights(model)
    for _ in range(3):
        loss, acc = model.train_step(x, y)
        want_loss, want_acc, w, b = _np_sgd_step(w, b, x, y, 0.5)
        assert loss == pytest.approx(want_loss, rel=1e-5)
        assert acc == pytest.approx(want_acc)
        np.testing.assert_allclose(model.layers[0].weight, w, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(model.layers[0].bias, b, rtol=1e-4, atol=1e-6)


def test_test_step_and_predict_step_change_nothing():
    model = _model()
    x, y = _data(9)
    w, b = _weights(model)
    loss, acc = model.test_step(x, y)
    want_loss, want_acc = _np_loss_acc(w, b, x, y)
    assert loss == pytest.approx(want_loss, rel=1e-5)
    assert acc == pytest.approx(want_acc)
    np.testing.assert_allclose(
        model.predict_step(x), _softmax(x.astype(np.float64) @ w + b), rtol=1e-5
    )
    np.testing.assert_array_equal(model.layers[0].weight, w.astype(np.float32))


def test_softmax_logits_are_the_pre_softmax_values():
    model = _model()
    x, y = _data(5)
    w, b = _weights(model)
    assert model.layers[0].softmax_logits is None
    model.compute_gradients(x, y)
    np.testing.assert_allclose(
        model.layers[0].softmax_logits, x.astype(np.float64) @ w + b, rtol=1e-5
    )
    assert Dense(3, activation="relu").softmax_logits is None


@pytest.mark.parametrize("batch_size", [1, 4, 256])
def test_evaluate_is_the_mean_over_all_samples(batch_size):
    model = _model()
    x, y = _data(11)
    loss, acc = model.evaluate(x, y, batch_size=batch_size)
    want_loss, want_acc = _np_loss_acc(*_weights(model), x, y)
    assert loss == pytest.approx(want_loss, rel=1e-5)
    assert acc == pytest.approx(want_acc)


def test_fit_events_trains_on_the_documented_batches():
    """Shuffling is ``default_rng([seed, 0]).permutation(n)`` per epoch, batches are
    consecutive slices of it, the last ``validation_split`` is held out before."""
    n, batch, epochs, seed = 23, 5, 2, 7
    x, y = _data(n, seed=1)
    model = _model(lr=0.3)
    w, b = _weights(model)
    events = list(
        model.fit_events(
            x, y, batch_size=batch, epochs=epochs, validation_split=0.2, seed=seed
        )
    )
    cut = int(n * 0.8)
    xt, yt, xv, yv = x[:cut], y[:cut], x[cut:], y[cut:]
    rng = np.random.default_rng([seed, 0])
    steps = [e for e in events if isinstance(e, StepEvent)]
    ends = [e for e in events if isinstance(e, EpochEvent)]
    k = 0
    for epoch in range(epochs):
        order = rng.permutation(cut)
        losses, sizes = [], []
        for lo in range(0, cut, batch):
            index = order[lo : lo + batch]
            loss, _, w, b = _np_sgd_step(w, b, xt[index], yt[index], 0.3)
            assert steps[k].batch_loss == pytest.approx(loss, rel=1e-4)
            assert steps[k].epoch == epoch + 1
            losses.append(loss)
            sizes.append(len(index))
            k += 1
        assert ends[epoch].loss == pytest.approx(np.average(losses, weights=sizes))
        val_loss, val_acc = _np_loss_acc(w, b, xv, yv)
        assert ends[epoch].val_loss == pytest.approx(val_loss, rel=1e-4)
        assert ends[epoch].val_accuracy == pytest.approx(val_acc)
    assert k == len(steps) == epochs * -(-cut // batch)
    assert isinstance(events[-1], FinishedEvent)
    assert not events[-1].stopped
    assert events[-1].history.history["val_loss"] == [e.val_loss for e in ends]
    np.testing.assert_allclose(model.layers[0].weight, w, rtol=1e-4, atol=1e-6)


def test_train_events_is_fit_events():
    x, y = _data(30)
    a, b = _model(), _model()
    kwargs = {"batch_size": 8, "epochs": 2, "seed": 5, "steps_per_epoch": 3}
    ea = [e for e in train_events(a, x, y, **kwargs) if isinstance(e, StepEvent)]
    eb = [e for e in b.fit_events(x, y, **kwargs) if isinstance(e, StepEvent)]
    assert [e.batch_loss for e in ea] == [e.batch_loss for e in eb]
    assert len(ea) == 6
    np.testing.assert_array_equal(a.layers[0].weight, b.layers[0].weight)


def test_fit_events_checks_on_first_next():
    model = Sequential([Dense(2, input_shape=(3,))])
    gen = model.fit_events(np.zeros((2, 3)), np.zeros(2, int))  # nothing checked yet
    with pytest.raises(RuntimeError, match=r"You must call `compile\(\)` before `fit"):
        next(gen)
    gen = _model().fit_events(*_data(4), batch_size=0)
    with pytest.raises(ValueError, match=r"Received: batch_size=0"):
        next(gen)


def test_nn_does_not_import_train():
    code = (
        "import sys, convlab.nn, convlab.nn.trainer, convlab.nn.model;"
        "print(sorted(m for m in sys.modules if m.startswith('convlab.train')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
