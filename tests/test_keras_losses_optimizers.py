"""Adadelta, binary_crossentropy (with Keras's binary accuracy) and
GlobalMaxPooling2D against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

from convlab import keras
from convlab import nn as cnn
from convlab.keras.layers import Dense, GlobalAveragePooling2D, GlobalMaxPooling2D
from convlab.keras.models import Sequential

RNG = np.random.default_rng(23)


def _torch():
    return pytest.importorskip("torch")


# ------------------------------------------------------------------ Adadelta


def test_adadelta_defaults_are_keras_2s():
    opt = keras.optimizers.Adadelta()
    assert (opt.learning_rate, opt.rho, opt.epsilon) == (1.0, 0.95, 1e-7)
    with pytest.warns(keras.Keras2Warning, match=r"write `learning_rate=0\.5`"):
        assert keras.optimizers.Adadelta(lr=0.5).learning_rate == 0.5
    with pytest.warns(keras.Keras2Warning, match=r"Adadelta\("):
        assert isinstance(keras.optimizers.adadelta(), cnn.Adadelta)
    assert isinstance(cnn.optimizers.get_optimizer("adadelta"), cnn.Adadelta)
    with pytest.raises(ValueError, match=r"Received: rho=1\.5"):
        cnn.Adadelta(rho=1.5)


@pytest.mark.parametrize(("lr", "decay"), [(1.0, 0.0), (0.5, 0.01)])
def test_adadelta_matches_torch(lr, decay):
    torch = _torch()
    w0 = RNG.standard_normal((4, 5)).astype(np.float32)
    grads = [RNG.standard_normal((4, 5)).astype(np.float32) for _ in range(6)]
    w = w0.copy()
    opt = cnn.Adadelta(learning_rate=lr, decay=decay)
    wt = torch.tensor(w0.copy(), requires_grad=True)
    topt = torch.optim.Adadelta([wt], lr=lr, rho=0.95, eps=1e-7)
    for t, g in enumerate(grads):
        opt.apply_gradients([(g, w)])
        for group in topt.param_groups:  # Keras 2's inverse-time decay
            group["lr"] = lr / (1 + decay * t)
        wt.grad = torch.tensor(g)
        topt.step()
        np.testing.assert_allclose(w, wt.detach().numpy(), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ binary CE


@pytest.mark.parametrize("from_logits", [False, True])
def test_binary_crossentropy_value_and_gradient_match_torch(from_logits):
    torch = _torch()
    out = RNG.standard_normal((6, 2)).astype(np.float32) * 3
    if not from_logits:
        out = 1 / (1 + np.exp(-out))
        out[0, 0] = 1.0  # saturated: clipped as Keras, zero slope
    y = RNG.integers(0, 2, (6, 2)).astype(np.float32)
    loss = cnn.BinaryCrossentropy(from_logits=from_logits)
    value, grad = loss.value_and_grad(out, y)
    t = torch.tensor(out.astype(np.float64), requires_grad=True)
    if from_logits:
        ref = torch.nn.functional.binary_cross_entropy_with_logits(
            t, torch.tensor(y, dtype=torch.float64)
        )
    else:
        # Keras clips in float32: to [1e-7, float32(1 - 1e-7)]
        lo, hi = float(np.float32(1e-7)), float(np.float32(1 - 1e-7))
        ref = torch.nn.functional.binary_cross_entropy(
            t.clamp(lo, hi), torch.tensor(y, dtype=torch.float64)
        )
    ref.backward()
    np.testing.assert_allclose(value, ref.item(), rtol=1e-6)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-5, atol=1e-7)
    per = keras.losses.binary_crossentropy(y, out, from_logits=from_logits)
    np.testing.assert_allclose(per.mean(), ref.item(), rtol=1e-5)


def test_binary_labels_are_checked():
    loss = cnn.BinaryCrossentropy()
    assert loss.check_labels(np.array([0, 1, 1]), 3, 1).shape == (3, 1)
    with pytest.raises(ValueError, match=r"between 0 and 1\. Received: values from"):
        loss.check_labels(np.array([0, 2, 1]), 3, 1)
    with pytest.raises(
        ValueError, match=r"shape \(3,\) or \(3, 1\).*y\.shape=\(3, 2\)"
    ):
        loss.check_labels(np.zeros((3, 2)), 3, 1)


def test_sigmoid_model_trains_as_torch_and_reports_binary_accuracy():
    torch = _torch()
    x = RNG.standard_normal((16, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    model = Sequential(
        [Dense(4, activation="relu", input_shape=(5,)), Dense(1, activation="sigmoid")],
        seed=7,
    )
    model.compile(
        keras.optimizers.SGD(learning_rate=0.5),
        "binary_crossentropy",
        metrics=["accuracy"],
    )
    k1, b1, k2, b2 = model.get_weights()
    l1, l2 = torch.nn.Linear(5, 4), torch.nn.Linear(4, 1)
    with torch.no_grad():
        for lin, k, b in ((l1, k1, b1), (l2, k2, b2)):
            lin.weight.copy_(torch.tensor(k.T))
            lin.bias.copy_(torch.tensor(b))
    net = torch.nn.Sequential(l1, torch.nn.ReLU(), l2, torch.nn.Sigmoid())
    topt = torch.optim.SGD(net.parameters(), 0.5)
    for _ in range(3):
        model.train_step(model.prepare(x), model.check_labels(y, len(x)))
        topt.zero_grad()
        torch.nn.functional.binary_cross_entropy(
            net(torch.tensor(x))[:, 0], torch.tensor(y)
        ).backward()
        topt.step()
    np.testing.assert_allclose(
        model.layers[1].params["kernel"], l2.weight.detach().numpy().T, atol=1e-5
    )
    p = model.predict(x)
    loss, accuracy = model.evaluate(x, y)
    assert accuracy == np.mean((p[:, 0] > 0.5) == (y == 1))  # Keras's binary accuracy
    with torch.no_grad():
        ref = torch.nn.functional.binary_cross_entropy(
            net(torch.tensor(x))[:, 0], torch.tensor(y)
        )
    np.testing.assert_allclose(loss, ref.item(), rtol=1e-4)


# ------------------------------------------------------------------ global pooling


def test_global_max_pooling_matches_torch():
    torch = _torch()
    x = RNG.standard_normal((3, 4, 5, 6)).astype(np.float32)
    layer = cnn.GlobalMaxPooling2D()
    layer.build((4, 5, 6))
    assert layer.sample_output_shape == (4,)
    xt = torch.tensor(x, requires_grad=True)
    ref = torch.amax(xt, dim=(2, 3))
    out = layer.forward(x, training=True)
    np.testing.assert_array_equal(out, ref.detach().numpy())
    np.testing.assert_array_equal(layer.forward(x), out)
    g = RNG.standard_normal((3, 4)).astype(np.float32)
    (ref * torch.tensor(g)).sum().backward()
    np.testing.assert_array_equal(layer.backward(g), xt.grad.numpy())


def test_global_pooling_layers_in_the_keras_face():
    inputs = keras.Input(shape=(6, 7, 3))
    assert GlobalMaxPooling2D()(inputs).shape == (None, 3)
    assert GlobalAveragePooling2D()(inputs).shape == (None, 3)
    model = Sequential([GlobalMaxPooling2D(input_shape=(6, 7, 3)), Dense(2)])
    x = RNG.random((2, 6, 7, 3), dtype=np.float32)
    k, b = model.get_weights()
    np.testing.assert_allclose(
        model.predict(x), x.max(axis=(1, 2)) @ k + b, rtol=1e-5, atol=1e-6
    )
    from convlab.keras.applications import VGG16

    base = VGG16(
        weights=None, include_top=False, input_shape=(32, 32, 3), pooling="max"
    )
    assert base.layers[-1].name == "global_max_pooling2d"
    assert base.output_shape == (None, 512)
    with pytest.raises(ValueError, match=r"Received: pooling='min'"):
        VGG16(weights=None, include_top=False, pooling="min")
