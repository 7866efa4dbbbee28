"""Sequential: whole-model gradients, learning, determinism, summary numbers, layouts,
errors."""

from __future__ import annotations

import numpy as np
import pytest
from naive import central_difference

from convlab.nn import (
    SGD,
    Adam,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPooling2D,
    Sequential,
)
from convlab.nn.presets import PRESETS, keras_tutorial, lenet5, tiny


def small_model(seed=0):
    model = Sequential(
        [
            Conv2D(3, 3, padding="same", activation="relu", input_shape=(7, 7, 1)),
            BatchNormalization(),
            MaxPooling2D(2),
            Conv2D(4, 2, activation="tanh"),
            Flatten(),
            Dense(6, activation="relu"),
            BatchNormalization(),
            Dense(3, activation="softmax"),
        ],
        seed=seed,
    )
    model.compile(
        optimizer=SGD(0.1), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def test_whole_model_gradients_match_finite_differences():
    model = small_model()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 1, 7, 7)).astype(np.float32)
    y = np.array([0, 1, 2, 1, 0])

    def loss():
        out = model._forward(x, training=True)
        return model.loss_and_gradient(out, y)[0]

    model.compute_gradients(x, y)
    analytic = {
        (layer.name, k): g.copy()
        for layer in model.layers
        for k, g in layer.grads.items()
    }
    checked = 0
    for layer in model.layers:
        for key, param in layer.params.items():
            picks = rng.choice(param.size, size=min(param.size, 12), replace=False)
            numerics = central_difference(loss, param, 1e-3, picks).reshape(-1)
            for i in picks:
                numeric = numerics[i]
                got = analytic[(layer.name, key)].reshape(-1)[i]
                assert got == pytest.approx(numeric, rel=2e-2, abs=3e-4), (
                    layer.name,
                    key,
                    i,
                )
                checked += 1
    assert checked > 60


@pytest.mark.parametrize(
    "loss", ["sparse_categorical_crossentropy", "categorical_crossentropy"]
)
def test_overfits_64_samples(loss):
    rng = np.random.default_rng(0)
    x = rng.random((64, 12, 12), dtype=np.float32)
    labels = rng.integers(0, 10, 64)
    y = labels if loss.startswith("sparse") else np.eye(10, dtype=np.float32)[labels]
    model = Sequential(
        [
            Conv2D(8, 3, activation="relu"),
            MaxPooling2D(2),
            Flatten(),
            Dense(64, activation="relu"),
            Dense(10, activation="softmax"),
        ],
        seed=0,
    )
    model.compile(optimizer=Adam(0.01), loss=loss, metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=40, verbose=0, seed=0)
    assert history.history["accuracy"][-1] == 1.0
    loss_value, accuracy = model.evaluate(x, y)
    assert accuracy == 1.0
    assert loss_value < history.history["loss"][0] / 10


def test_same_seed_same_weights_and_training():
    a, b, c = lenet5(seed=5), lenet5(seed=5), lenet5(seed=6)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, 40)
    models = [keras_tutorial(seed=1), keras_tutorial(seed=1)]  # has dropout
    for model in models:
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, seed=3)
    for wa, wb in zip(models[0].get_weights(), models[1].get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


def _conv(k, cin, f):
    return (k * k * cin + 1) * f


def _dense(n_in, n_out):
    return (n_in + 1) * n_out


def test_summary_parameter_counts_match_the_formulas():
    # lenet5: 28 -same-> 28 -pool-> 14 -conv5-> 10 -pool-> 5: 16*5*5 = 400 features
    lenet = [
        _conv(5, 1, 6),
        0,
        _conv(5, 6, 16),
        0,
        0,
        _dense(400, 120),
        _dense(120, 84),
        _dense(84, 10),
    ]
    # keras: 28 -same-> 28 -valid-> 26 -pool-> 13 -same-> 13 -valid-> 11 -pool-> 5:
    # 64*5*5
    keras = [
        _conv(3, 1, 32),
        _conv(3, 32, 32),
        0,
        0,
        _conv(3, 32, 64),
        _conv(3, 64, 64),
        0,
        0,
        0,
        _dense(1600, 512),
        0,
        _dense(512, 10),
    ]
    # tiny: 28 -> 26 -> 13 -> 11 -> 5: 16*5*5
    small = [_conv(3, 1, 8), 0, _conv(3, 8, 16), 0, 0, _dense(400, 10)]
    for model, expected in (
        (lenet5(), lenet),
        (keras_tutorial(), keras),
        (tiny(), small),
    ):
        assert [row.params for row in model.summary_rows()] == expected
        lines = []
        model.summary(print_fn=lines.append)
        text = "\n".join(lines)
        assert f"Total params: {sum(expected):,} (" in text
        assert f"Trainable params: {sum(expected):,} (" in text
        assert "Non-trainable params: 0 (" in text
    assert sum(keras) == 889_834
    assert sum(lenet) == 61_706


def test_summary_counts_batchnorm_moving_stats_as_non_trainable():
    model = Sequential([Conv2D(4, 3, input_shape=(8, 8, 1)), BatchNormalization()])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert [r.params for r in model.summary_rows()] == [40, 16]
    assert "Total params: 56 (" in text
    assert "Trainable params: 48 (" in text
    assert "Non-trainable params: 8 (" in text
    assert model.summary_rows()[0].output_shape == (None, 4, 6, 6)


def test_input_layouts_give_identical_predictions():
    model = tiny()
    rng = np.random.default_rng(0)
    nhw = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    reference = model.predict(nhw)
    np.testing.assert_array_equal(model.predict(nhw[..., None]), reference)
    np.testing.assert_array_equal(model.predict(nhw[:, None]), reference)
    np.testing.assert_array_equal(
        model.predict(nhw.astype(np.float32) / 255), reference
    )
    # one image: another batch size may sum in another order (BLAS blocking)
    np.testing.assert_allclose(
        model.predict(nhw[2])[0], reference[2], rtol=1e-5, atol=1e-7
    )
    np.testing.assert_allclose(reference.sum(axis=1), 1, rtol=1e-5)


def test_activations_lists_every_layer():
    model = lenet5()
    x = np.zeros((2, 28, 28), np.float32)
    acts = model.activations(x)
    assert [name for name, _ in acts] == [layer.name for layer in model.layers]
    assert [a.shape[1:] for _, a in acts] == [
        layer.output_shape for layer in model.layers
    ]
    np.testing.assert_array_equal(acts[-1][1], model.predict(x))


def test_validation_split_takes_the_end_and_history_has_keras_keys():
    rng = np.random.default_rng(0)
    x = rng.random((50, 10, 10), dtype=np.float32)
    y = rng.integers(0, 10, 50)
    model = Sequential([Flatten(), Dense(10, activation="softmax")], seed=0)
    model.compile("sgd", "sparse_categorical_crossentropy", ["accuracy"])
    history = model.fit(x, y, epochs=2, validation_split=0.2, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.epoch == [0, 1]
    assert history.history["val_loss"][-1] == pytest.approx(
        model.evaluate(x[40:], y[40:])[0]
    )


def test_sgd_and_adam_follow_keras_update_rules():
    w = np.array([1.0, -2.0], np.float32)
    g = np.array([0.5, 0.25], np.float32)
    sgd = SGD(learning_rate=0.1, momentum=0.9)
    sgd.apply_gradients([(g, w)])
    sgd.apply_gradients([(g, w)])
    v1 = -0.1 * g
    v2 = 0.9 * v1 - 0.1 * g
    np.testing.assert_allclose(w, np.array([1.0, -2.0]) + v1 + v2, rtol=1e-6)

    w = np.array([1.0, -2.0], np.float32)
    adam = Adam(learning_rate=0.01)
    adam.apply_gradients([(g, w)])
    # first step: m = 0.1 g, v = 0.001 g^2, alpha = lr sqrt(0.001) / 0.1
    m, v = 0.1 * g, 0.001 * g * g
    expected = np.array([1.0, -2.0]) - 0.01 * np.sqrt(0.001) / 0.1 * m / (
        np.sqrt(v) + 1e-7
    )
    np.testing.assert_allclose(w, expected, rtol=1e-6)


def test_model_matches_torch_after_a_few_sgd_steps():
    torch = pytest.importorskip("torch")
    model = Sequential(
        [
            Conv2D(4, 3, activation="relu", input_shape=(10, 10, 1)),
            MaxPooling2D(2),
            Flatten(),
            Dense(10, activation="softmax"),
        ],
        seed=0,
    )
    model.compile(SGD(0.1, momentum=0.9), "sparse_categorical_crossentropy")
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(64, 10),
    )
    with torch.no_grad():
        net[0].weight.copy_(torch.from_numpy(model.layers[0].weight))
        net[0].bias.copy_(torch.from_numpy(model.layers[0].bias))
        net[4].weight.copy_(torch.from_numpy(model.layers[3].weight.T.copy()))
        net[4].bias.copy_(torch.from_numpy(model.layers[3].bias))
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(0)
    x = rng.random((8, 1, 10, 10), dtype=np.float32)
    y = rng.integers(0, 10, 8)
    for _ in range(3):
        model.train_step(x, y)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(
            net(torch.from_numpy(x)), torch.from_numpy(y)
        ).backward()
        opt.step()
    np.testing.assert_allclose(
        model.predict(x),
        torch.softmax(net(torch.from_numpy(x)), 1).detach().numpy(),
        atol=1e-5,
    )


# ---------------------------------------------------------------------------- errors


def test_fit_before_compile():
    model = Sequential([Flatten(), Dense(10, activation="softmax")])
    with pytest.raises(
        RuntimeError, match=r"You must call `compile\(\)` before `fit\(\)`"
    ):
        model.fit(np.zeros((4, 28, 28)), np.zeros(4, int), verbose=0)


def test_wrong_label_shapes():
    model = tiny()
    x = np.zeros((4, 28, 28), np.uint8)
    with pytest.raises(
        ValueError,
        match=r"expects integer labels of shape \(4,\). Received: y.shape=\(4, 10\)",
    ):
        model.fit(x, np.zeros((4, 10)), verbose=0)
    with pytest.raises(ValueError, match=r"Labels must be in \[0, 9\]"):
        model.evaluate(x, np.array([0, 1, 2, 10]))
    model.compile("adam", "categorical_crossentropy", ["accuracy"])
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy'"):
        model.fit(x, np.zeros(4, int), verbose=0)


def test_input_shape_mismatch_names_the_layer():
    model = tiny()
    with pytest.raises(
        ValueError,
        match=r'Input of layer "conv2d" \(Conv2D\) is incompatible.*'
        r"expected shape=\(None, 1, 28, 28\).*found shape=\(3, 1, 20, 20\)",
    ):
        model.predict(np.zeros((3, 20, 20)))


def test_compile_and_add_errors():
    model = Sequential()
    with pytest.raises(ValueError, match=r"Received: optimizer='adagrad'"):
        model.compile("adagrad", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"Received: loss='mse'"):
        model.compile("adam", "mse")
    with pytest.raises(ValueError, match=r"Received: metrics=\['mae'\]"):
        model.compile("adam", "categorical_crossentropy", metrics=["mae"])
    with pytest.raises(TypeError, match=r"Received: layer of type str"):
        model.add("dense")
    with pytest.raises(
        ValueError,
        match=r"`learning_rate` must be a float > 0. Received: learning_rate=0",
    ):
        Adam(0)
    with pytest.raises(ValueError, match="not yet been built"):
        Sequential([Dense(3)]).summary()


def test_dropout_only_active_in_training():
    model = Sequential(
        [Flatten(input_shape=(4, 4)), Dropout(0.5), Dense(3, activation="softmax")]
    )
    x = np.ones((2, 4, 4), np.float32)
    np.testing.assert_array_equal(model.predict(x), model.predict(x))


def test_presets_registry():
    assert set(PRESETS) == {"lenet5", "keras", "tiny", "animal", "alexnet_bn", "vgg16"}
    for preset in PRESETS.values():
        if preset.input_chw == (1, 28, 28):  # VGG16 would allocate 553 MB here
            assert preset.build().compiled
