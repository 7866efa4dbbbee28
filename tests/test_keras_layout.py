"""Keras's layouts in convlab.keras: ``input_shape``/``output_shape`` with the batch
axis in the caller's layout, Flatten in Keras's (H, W, C) order for a channels-last
model (checked against torch with an explicit permute), and the message for a Dense
on image-shaped input. convlab.nn's own API keeps its per-sample NCHW shapes."""

from __future__ import annotations

import numpy as np
import pytest

from convlab import keras
from convlab import nn as cnn
from convlab.keras.layers import (
    Conv2D,
    Dense,
    Flatten,
    GlobalAveragePooling2D,
    MaxPooling2D,
)
from convlab.keras.models import Model, Sequential

RNG = np.random.default_rng(11)


def _torch():
    return pytest.importorskip("torch")


def test_output_shape_has_the_batch_axis_in_the_callers_layout():
    model = Sequential(
        [
            Conv2D(32, 3, padding="same", input_shape=(100, 100, 3)),
            MaxPooling2D(),
            Flatten(),
            Dense(6, activation="softmax"),
        ]
    )
    assert model.input_shape == (None, 100, 100, 3)
    assert [layer.output_shape for layer in model.layers] == [
        (None, 100, 100, 32),
        (None, 50, 50, 32),
        (None, 80000),
        (None, 6),
    ]
    assert model.layers[1].input_shape == (None, 100, 100, 32)
    assert model.output_shape == (None, 6)
    # convlab's internal shapes stay readable under their own names
    assert model.sample_input_shape == (3, 100, 100)
    assert model.layers[0].sample_output_shape == (32, 100, 100)
    # channels-first when asked: Keras's (None, C, H, W)
    first = Sequential(
        [Conv2D(4, 3, input_shape=(2, 9, 9), data_format="channels_first")]
    )
    assert first.input_shape == (None, 2, 9, 9)
    assert first.output_shape == (None, 4, 7, 7)
    # a functional model and its symbolic tensors
    inputs = keras.Input(shape=(28, 28, 1))
    assert inputs.shape == (None, 28, 28, 1)
    x = Conv2D(8, 3)(inputs)
    assert x.shape == (None, 26, 26, 8)
    fm = Model(inputs, Dense(3)(Flatten()(x)))
    assert fm.input_shape == (None, 28, 28, 1)
    assert fm.layers[1].output_shape == (None, 26, 26, 8)


def test_convlab_nn_keeps_its_per_sample_nchw_shapes():
    model = cnn.Sequential(
        [cnn.Conv2D(4, 3, input_shape=(1, 10, 10)), cnn.Flatten(), cnn.Dense(2)]
    )
    assert model.input_shape == (1, 10, 10)
    assert model.output_shape == (2,)
    assert model.layers[0].output_shape == (4, 8, 8)
    assert model.layers[1].order == "chw"


def test_vgg16_base_output_shape_builds_the_right_top_model():
    from convlab.keras.applications import VGG16

    base = VGG16(weights=None, include_top=False, input_shape=(100, 100, 3), seed=0)
    assert base.output_shape == (None, 3, 3, 512)  # Keras's summary for 100x100
    top = Sequential(
        [
            Flatten(input_shape=base.output_shape[1:]),
            Dense(8, activation="relu"),
            Dense(1, activation="sigmoid"),
        ],
        seed=1,
    )
    assert top.input_shape == (None, 3, 3, 512)
    assert top.layers[1].params["kernel"].shape == (3 * 3 * 512, 8)
    # the bottleneck-features workflow: features saved as NHWC arrays, then the top
    feats = RNG.standard_normal((4, 3, 3, 512)).astype(np.float32)
    k1, b1, k2, b2 = top.get_weights()
    flat = feats.reshape(4, -1)  # NumPy's C order of NHWC: Keras's (H, W, C)
    hidden = np.maximum(flat @ k1 + b1, 0)
    expected = 1 / (1 + np.exp(-(hidden @ k2 + b2)))
    np.testing.assert_allclose(top.predict(feats), expected, rtol=1e-5, atol=1e-6)


def test_base_input_and_output_join_a_top_model_as_keras():
    small = Sequential(
        [
            Conv2D(4, 3, activation="relu", input_shape=(12, 12, 3)),
            MaxPooling2D(),
            Conv2D(6, 3, activation="relu"),
        ],
        seed=2,
    )
    assert small.output_shape == (None, 3, 3, 6)
    top = Sequential([Flatten(input_shape=small.output_shape[1:]), Dense(2)], seed=3)
    model = Model(inputs=small.input, outputs=top(small.output))
    # Keras's layer list: the input, the base's layers, the top model
    assert [type(layer).__name__ for layer in model.layers] == [
        "InputLayer",
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "Sequential",
    ]
    x = RNG.random((5, 12, 12, 3), dtype=np.float32)
    features = small.predict(x)
    assert features.shape == (5, 3, 3, 6)  # predict answers in the caller's layout
    np.testing.assert_allclose(
        model.predict(x), top.predict(features), rtol=1e-5, atol=1e-6
    )


class _Permute:
    def __init__(self, torch, dims):
        class Permute(torch.nn.Module):
            def forward(self, x):
                return x.permute(*dims)

        self.module = Permute()


def test_flatten_order_and_gradients_match_torch_with_an_explicit_permute():
    torch = _torch()
    model = Sequential(
        [Conv2D(3, 2, input_shape=(5, 6, 2)), Flatten(), Dense(4)], seed=4
    )
    kernel, bias, dk, db = model.get_weights()
    conv = torch.nn.Conv2d(2, 3, 2)
    lin = torch.nn.Linear(4 * 5 * 3, 4)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(kernel))
        conv.bias.copy_(torch.tensor(bias))
        lin.weight.copy_(torch.tensor(dk.T))
        lin.bias.copy_(torch.tensor(db))
    net = torch.nn.Sequential(
        conv, _Permute(torch, (0, 2, 3, 1)).module, torch.nn.Flatten(), lin
    )
    x = RNG.random((3, 5, 6, 2), dtype=np.float32)
    xt = torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)
    out = net(xt)
    np.testing.assert_allclose(
        model.predict(x), out.detach().numpy(), rtol=1e-5, atol=1e-6
    )
    # backward through Flatten: the input gradient of a sum of the outputs
    g = RNG.standard_normal((3, 4)).astype(np.float32)
    (out * torch.tensor(g)).sum().backward()
    h = model.prepare(x)
    for layer in model.layers:
        layer.need_input_grad = True
        h = layer.forward(h, training=True)
    grad = g
    for layer in reversed(model.layers):
        grad = layer.backward(grad)
    np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        model.layers[2].grads["kernel"], lin.weight.grad.numpy().T, rtol=1e-4
    )


def test_convlab_nn_flatten_is_torchs_channel_major():
    torch = _torch()
    layer = cnn.Flatten()
    layer.build((3, 4, 5))
    x = RNG.random((2, 3, 4, 5), dtype=np.float32)
    np.testing.assert_array_equal(
        layer.forward(x), torch.flatten(torch.tensor(x), 1).numpy()
    )


def test_a_file_saved_before_flatten_followed_the_layout_keeps_its_order():
    model = Sequential([Conv2D(2, 3, input_shape=(6, 6, 3)), Flatten(), Dense(2)])
    config = model.get_config()
    assert config["layers"][1]["config"]["order"] == "hwc"
    del config["layers"][1]["config"]["order"]  # as written before this change
    old = cnn.Sequential.from_config(config)
    assert old.layers[1].order == "chw"
    assert old.keras_shapes
    assert old.output_shape == (None, 2)


def test_dense_on_image_input_names_the_layer_and_the_users_layout():
    with pytest.raises(
        ValueError,
        match=r'Layer "dense" \(Dense\): got input of shape \(None, 28, 28, 1\) '
        r"\(channels_last\); .*add Flatten\(\) before it",
    ):
        Sequential([Dense(10, input_shape=(28, 28, 1))])
    with pytest.raises(
        ValueError,
        match=r'Layer "dense_1" \(Dense\): got input of shape \(None, 26, 26, 4\) '
        r"\(channels_last\)",
    ):
        Sequential([Conv2D(4, 3, input_shape=(28, 28, 1)), Dense(5, name="dense_1")])
    pooled = MaxPooling2D()(Conv2D(4, 3)(keras.Input(shape=(28, 28, 1))))
    with pytest.raises(ValueError, match=r"\(None, 13, 13, 4\) \(channels_last\)"):
        Dense(3)(pooled)
    with pytest.raises(ValueError, match=r"\(None, 4, 26, 26\) \(channels_first\)"):
        Sequential(
            [
                Conv2D(4, 3, input_shape=(1, 28, 28), data_format="channels_first"),
                Dense(2),
            ]
        )
    # the fix the message names works
    ok = Sequential([Conv2D(4, 3, input_shape=(28, 28, 1)), Flatten(), Dense(2)])
    assert ok.output_shape == (None, 2)
    assert GlobalAveragePooling2D()(keras.Input(shape=(5, 5, 3))).shape == (None, 3)
