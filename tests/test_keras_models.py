"""convlab.keras models: fit/evaluate/predict on generators (against the same
batches given as arrays, and against torch), Input and Model(inputs, outputs) for
chains, nested models, and their saving."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from convlab.keras import Keras2Warning
from convlab.keras.layers import (
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Input,
    InputLayer,
    MaxPooling2D,
)
from convlab.keras.models import Model, Sequential, load_model
from convlab.keras.optimizers import SGD

RNG = np.random.default_rng(0)
X = RNG.random((48, 12, 12, 1), dtype=np.float32)
Y = RNG.integers(0, 3, 48)


def _cnn(seed: int = 0) -> Sequential:
    model = Sequential(
        [
            Conv2D(4, 3, activation="relu", input_shape=(12, 12, 1)),
            MaxPooling2D(),
            Flatten(),
            Dense(3, activation="softmax"),
        ],
        seed=seed,
    )
    model.compile(SGD(0.1), "sparse_categorical_crossentropy", ["accuracy"])
    return model


def _batches(x, y, size):
    for lo in itertools.cycle(range(0, len(x), size)):
        yield x[lo : lo + size], y[lo : lo + size]


class _Sequence:
    """A keras.utils.Sequence-like object: len() and [i]."""

    def __init__(self, x, y, size):
        self.x, self.y, self.size = x, y, size

    def __len__(self):
        return len(self.x) // self.size

    def __getitem__(self, i):
        s = slice(i * self.size, (i + 1) * self.size)
        return self.x[s], self.y[s]


def test_fit_on_a_generator_equals_fit_on_the_same_batches_as_arrays():
    by_array = _cnn()
    by_array.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    by_gen = _cnn()
    history = by_gen.fit(
        _batches(X, Y, 16),
        steps_per_epoch=3,
        epochs=2,
        validation_data=_batches(X, Y, 24),
        validation_steps=2,
        verbose=0,
    )
    for a, b in zip(by_array.get_weights(), by_gen.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(history.history["loss"]) == 2
    np.testing.assert_allclose(
        history.history["val_loss"][-1], by_array.evaluate(X, Y)[0], rtol=1e-6
    )


def _Permute(torch, dims):  # noqa: N802
    class Permute(torch.nn.Module):
        def forward(self, x):
            return x.permute(*dims)

    return Permute()


def test_generator_fit_step_matches_torch():
    torch = pytest.importorskip("torch")
    model = _cnn(seed=5)
    w = model.get_weights()
    conv, lin = torch.nn.Conv2d(1, 4, 3), torch.nn.Linear(4 * 5 * 5, 3)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(w[0]))
        conv.bias.copy_(torch.tensor(w[1]))
        lin.weight.copy_(torch.tensor(w[2].T))
        lin.bias.copy_(torch.tensor(w[3]))
    # Keras's Flatten in a channels-last model: rows, columns, then channels
    hwc = _Permute(torch, (0, 2, 3, 1))
    net = torch.nn.Sequential(
        conv, torch.nn.ReLU(), torch.nn.MaxPool2d(2), hwc, torch.nn.Flatten(), lin
    )
    opt = torch.optim.SGD(net.parameters(), 0.1)
    model.fit(_batches(X, Y, 16), steps_per_epoch=3, verbose=0)
    for xb, yb in itertools.islice(_batches(X, Y, 16), 3):
        opt.zero_grad()
        out = net(torch.tensor(xb.transpose(0, 3, 1, 2).copy()))
        torch.nn.functional.cross_entropy(out, torch.tensor(yb)).backward()
        opt.step()
    np.testing.assert_allclose(
        model.layers[3].params["kernel"], lin.weight.detach().numpy().T, atol=1e-5
    )
    np.testing.assert_allclose(
        model.layers[0].params["kernel"], conv.weight.detach().numpy(), atol=1e-5
    )


def test_sequence_like_source_evaluate_predict_and_keras2_aliases():
    model = _cnn()
    seq = _Sequence(X, Y, 16)
    model.fit(seq, epochs=1, verbose=0)  # len() gives the steps
    loss, acc = model.evaluate(seq)
    np.testing.assert_allclose([loss, acc], model.evaluate(X, Y), rtol=1e-6)
    np.testing.assert_array_equal(model.predict(seq), model.predict(X))
    with pytest.warns(Keras2Warning, match=r"write model\.fit\(gen, \.\.\.\)"):
        model.fit_generator(seq, epochs=1, verbose=0)
    with pytest.warns(Keras2Warning, match=r"model\.evaluate\(gen"):
        model.evaluate_generator(seq, steps=2)
    with pytest.warns(Keras2Warning, match=r"model\.predict\(gen"):
        assert model.predict_generator(seq, steps=1).shape == (16, 3)


def test_generator_errors_say_what_to_do():
    model = _cnn()
    with pytest.raises(ValueError, match=r"`steps_per_epoch` is required"):
        model.fit(_batches(X, Y, 16), verbose=0)
    with pytest.raises(ValueError, match=r"`y` must be None when `x` is a generator"):
        model.fit(_batches(X, Y, 16), Y, steps_per_epoch=1, verbose=0)
    with pytest.raises(ValueError, match=r"ran out of data after 3 batches"):
        model.fit(iter([(X[:16], Y[:16])] * 3), steps_per_epoch=4, verbose=0)
    with pytest.raises(ValueError, match=r"`validation_split` only works with arrays"):
        model.fit(_Sequence(X, Y, 16), validation_split=0.2, verbose=0)


# ------------------------------------------------------------------ functional


def test_functional_chain_equals_the_sequential():
    inputs = Input(shape=(12, 12, 1))
    h = Conv2D(4, 3, activation="relu")(inputs)
    h = MaxPooling2D()(h)
    h = Flatten()(h)
    outputs = Dense(3, activation="softmax")(h)
    model = Model(inputs=inputs, outputs=outputs)
    assert [type(layer).__name__ for layer in model.layers] == [
        "InputLayer",
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dense",
    ]
    assert isinstance(model.layers[0], InputLayer)
    assert outputs.shape == (None, 3)
    seq = _cnn()
    model.set_weights(seq.get_weights())
    np.testing.assert_array_equal(model.predict(X), seq.predict(X))
    model.compile(SGD(0.1), "sparse_categorical_crossentropy")
    model.fit(X, Y, epochs=1, shuffle=False, verbose=0)
    seq.fit(X, Y, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_array_equal(model.predict(X), seq.predict(X))


def test_functional_model_seeds_its_layers_and_sequential_accepts_input():
    def build(seed):
        inputs = Input(shape=(8,))
        outputs = Dense(3)(Dense(5)(inputs))
        return Model(inputs, outputs, seed=seed)

    a, b = build(1), build(1)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(build(2).get_weights()[0], a.get_weights()[0])
    seq = Sequential([Input(shape=(8,)), Dense(4), Dense(2)])
    assert len(seq.layers) == 2  # Keras: no InputLayer in a Sequential's layers
    assert seq.output_shape == (None, 2)  # Keras's, with the batch axis
    assert seq.sample_output_shape == (2,)  # convlab's, per sample


def test_non_chain_graphs_get_a_clear_message():
    inputs = Input(shape=(8,))
    a, b = Dense(3)(inputs), Dense(3)(inputs)
    with pytest.raises(ValueError, match=r"one input and one output"):
        Model(inputs, [a, b])
    with pytest.raises(ValueError, match=r"models are chains"):
        Dense(2)([a, b])
    other = Input(shape=(8,))
    with pytest.raises(ValueError, match=r"not computed from `inputs`"):
        Model(other, a)


def test_model_called_on_input_as_transfer_learning_does(tmp_path):
    base = Sequential(
        [Conv2D(4, 3, input_shape=(12, 12, 1)), MaxPooling2D()], name="base"
    )
    base.trainable = False
    inputs = Input(shape=(12, 12, 1))
    h = base(inputs)
    h = Flatten()(h)
    h = Dropout(0.5)(h)
    outputs = Dense(3, activation="softmax")(h)
    model = Model(inputs, outputs, name="transfer")
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    before = base.get_weights()
    model.fit(X, Y, epochs=1, verbose=0)
    for a, b in zip(before, base.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    lines = []
    model.summary(print_fn=lines.append)
    assert "base (Sequential)" in "\n".join(lines)
    assert "Non-trainable params: 40 " in "\n".join(lines)
    model.save(tmp_path / "t.npz")
    loaded = load_model(tmp_path / "t.npz")
    assert type(loaded).__name__ == "Model"
    assert [layer.name for layer in loaded.layers] == [
        layer.name for layer in model.layers
    ]
    assert loaded.layers[1].trainable is False
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


# ------------------------------------------------------------------ layouts


def test_channels_last_whatever_the_channel_count(tmp_path):
    model = Sequential(
        [
            Conv2D(8, 3, input_shape=(10, 12, 4)),  # RGBA-like: 4 channels
            MaxPooling2D(),
            Flatten(),
            Dense(3, activation="softmax"),
        ],
        seed=0,
    )
    assert model.input_shape == (None, 10, 12, 4)  # Keras's, the caller's layout
    assert model.sample_input_shape == (4, 10, 12)  # convlab's internal NCHW
    assert model.output_shape == (None, 3)
    assert model.layers[0].output_shape == (None, 8, 10, 8)
    assert model.layers[1].input_shape == (None, 8, 10, 8)
    x = RNG.random((5, 10, 12, 4), dtype=np.float32)
    nchw = x.transpose(0, 3, 1, 2).copy()
    out = model.predict(x)
    # the same numbers as the layers computing on the NCHW transpose by hand
    h = nchw
    for layer in model.layers:
        h = layer.forward(h)
    np.testing.assert_array_equal(out, h)
    with pytest.raises(
        ValueError, match=r"expected shape=\(None, 10, 12, 4\) \(N, H, W, C\)"
    ):
        model.predict(nchw)
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "(None, 8, 10, 8)" in text  # conv output: H 8, W 10, C 8 (NHWC)
    assert "(None, 4, 5, 8)" in text
    assert "(batch, height, width, channels)" in text
    two = Sequential([Input(shape=(6, 6, 2)), Flatten(), Dense(2)])
    assert two.predict(np.zeros((3, 6, 6, 2), np.float32)).shape == (3, 2)
    model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.channels_last
    np.testing.assert_array_equal(loaded.predict(x), out)


def test_channels_first_when_asked():
    model = Sequential(
        [Conv2D(2, 3, input_shape=(4, 10, 12), data_format="channels_first")]
    )
    assert model.input_shape == (None, 4, 10, 12)
    assert model.output_shape == (None, 2, 8, 10)
    assert model.predict(np.zeros((1, 4, 10, 12), np.float32)).shape == (1, 2, 8, 10)


# ------------------------------------------------------------------ feature cache


def _transfer(seed=0, dropout_in_base=False):
    layers = [Conv2D(4, 3, input_shape=(12, 12, 1)), MaxPooling2D()]
    if dropout_in_base:
        layers.append(Dropout(0.3))
    base = Sequential(layers, name="base", seed=seed)
    base.trainable = False
    model = Sequential(
        [base, Flatten(), Dense(8, activation="relu"), Dense(3, activation="softmax")],
        seed=seed,
    )
    model.compile(SGD(0.1, momentum=0.9), "sparse_categorical_crossentropy", ["acc"])
    return model, base


def test_frozen_base_runs_once_per_fit_and_gives_the_same_numbers(monkeypatch):
    cached, base = _transfer()
    calls = []
    forward = base.forward
    monkeypatch.setattr(
        base,
        "forward",
        lambda x, training=False: calls.append(len(x)) or forward(x, training),
    )
    assert cached.frozen_prefix() == 2  # the base and the Flatten after it
    history = cached.fit(X, Y, batch_size=8, epochs=3, validation_split=0.25, verbose=0)
    assert sum(calls) == len(X)  # 36 training + 12 validation images, once
    plain, _ = _transfer()
    events = plain.fit_events(
        X, Y, batch_size=8, epochs=3, validation_split=0.25, seed=plain.seed,
        cache_frozen=False,
    )  # fmt: skip
    plain_history = [e for e in events if type(e).__name__ == "FinishedEvent"][
        0
    ].history
    for a, b in zip(cached.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert history.history == plain_history.history


def test_no_cache_when_the_base_is_random_or_trainable():
    model, base = _transfer(dropout_in_base=True)
    assert model.frozen_prefix() == 0  # dropout differs in training
    model, base = _transfer()
    base.trainable = True
    assert model.frozen_prefix() == 0
