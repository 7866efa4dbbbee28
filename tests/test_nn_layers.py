"""Every layer's backward against central finite differences of its forward.

The layers compute in float32; the checks project the output on a fixed random tensor
and do the difference arithmetic in float64, on shapes small enough to perturb every
entry.
"""

from __future__ import annotations

import numpy as np
import pytest
from naive import central_difference

from convlab.nn import (
    Activation,
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    MaxPooling2D,
    ReLU,
)
from convlab.nn.layers import sample_shape

EPS = 1e-2


def _scalar(layer, x, projection, reset=None):
    if reset is not None:
        reset()
    out = layer.forward(x.astype(np.float32), training=True)
    return float(np.sum(out.astype(np.float64) * projection))


def check_layer(layer, x_shape, *, eps=EPS, rtol=2e-3, atol=1e-3, seed=0, reset=None):
    rng = np.random.default_rng(seed)
    layer.build(sample_shape(x_shape[1:]) if len(x_shape) > 2 else x_shape[1:], rng)
    x = rng.standard_normal(x_shape).astype(np.float32)
    if reset is not None:
        reset()
    out = layer.forward(x, training=True)
    projection = rng.standard_normal(out.shape)
    grad_x = layer.backward(projection.astype(np.float32))
    analytic_params = {k: v.copy() for k, v in layer.grads.items()}

    x_work = x.copy()
    numeric_x = central_difference(
        lambda: _scalar(layer, x_work, projection, reset), x_work, eps
    )
    np.testing.assert_allclose(
        grad_x, numeric_x, rtol=rtol, atol=atol, err_msg="input gradient"
    )
    for key, param in layer.params.items():
        numeric = central_difference(
            lambda: _scalar(layer, x, projection, reset), param, eps
        )
        np.testing.assert_allclose(
            analytic_params[key],
            numeric,
            rtol=rtol,
            atol=atol,
            err_msg=f"gradient of {key}",
        )


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"padding": "same"},
        {"strides": 2, "padding": "same"},
        {"strides": (2, 1), "dilation_rate": 1, "kernel_size": (2, 3)},
        {"dilation_rate": 2, "padding": "same"},
        {"padding": "same", "padding_mode": "reflect"},
        {"use_bias": False},
        {"activation": "tanh"},
    ],
)
def test_conv2d_gradients(kwargs):
    args = {"filters": 3, "kernel_size": 3, **kwargs}
    check_layer(Conv2D(**args), (2, 2, 6, 5))


def test_conv2d_relu_gradients():
    # relu is piecewise linear: a small step keeps every output on its side of the kink
    check_layer(Conv2D(3, 3, activation="relu"), (2, 2, 5, 5), eps=1e-3, atol=2e-3)


def test_dense_gradients():
    check_layer(Dense(4), (3, 5))
    check_layer(Dense(4, activation="sigmoid"), (3, 5), eps=1e-3)
    check_layer(Dense(4, activation="softmax"), (3, 5), eps=1e-3)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_max_pooling_gradients(padding):
    check_layer(MaxPooling2D(2, padding=padding), (2, 2, 5, 5), eps=1e-3)
    check_layer(MaxPooling2D(3, strides=2, padding=padding), (1, 2, 6, 6), eps=1e-3)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_average_pooling_gradients(padding):
    check_layer(AveragePooling2D(2, padding=padding), (2, 2, 5, 5))


def test_global_average_pooling_and_flatten_gradients():
    check_layer(GlobalAveragePooling2D(), (2, 3, 4, 5))
    check_layer(Flatten(), (2, 3, 4, 5))


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softmax"])
def test_activation_gradients(name):
    check_layer(Activation(name), (2, 3, 4, 4), eps=1e-3)


def test_relu_layer_gradients():
    check_layer(ReLU(), (2, 7), eps=1e-3)


@pytest.mark.parametrize("shape", [(6, 3, 3, 4), (8, 5)])
def test_batchnorm_gradients(shape):
    layer = BatchNormalization()
    check_layer(layer, shape, eps=1e-3, atol=2e-3)


def test_dropout_gradients_with_a_fixed_mask():
    layer = Dropout(0.5)

    def reset():
        layer.rng = np.random.default_rng(7)

    check_layer(layer, (3, 10), reset=reset)


# ---------------------------------------------------------------------------- behaviour


def test_flatten_order_is_channel_major():
    x = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2)
    out = Flatten().forward(x)
    assert out[1, 4 * 1 + 2 * 1 + 1] == x[1, 1, 1, 1]
    np.testing.assert_array_equal(
        out[0], [x[0, c, i, j] for c in range(3) for i in range(2) for j in range(2)]
    )


def test_dropout_scales_survivors_and_is_identity_in_inference():
    layer = Dropout(0.25, seed=1)
    x = np.ones((200, 50), np.float32)
    out = layer.forward(x, training=True)
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((out == 0).mean() - 0.25) < 0.02
    assert layer.forward(x, training=False) is x


def test_batchnorm_training_normalises_and_updates_moving_stats():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((16, 2, 3, 3)) * 3 + 5).astype(np.float32)
    layer = BatchNormalization(momentum=0.9)
    layer.build((2, 3, 3))
    out = layer.forward(x, training=True)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1, rtol=1e-2)
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(layer.state["moving_mean"], 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(
        layer.state["moving_variance"], 0.9 + 0.1 * var, rtol=1e-5
    )
    inference = layer.forward(x, training=False)
    expected = (x - layer.state["moving_mean"][None, :, None, None]) / np.sqrt(
        layer.state["moving_variance"][None, :, None, None] + 1e-3
    )
    np.testing.assert_allclose(inference, expected, rtol=1e-5, atol=1e-5)


def test_conv2d_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    layer = Conv2D(4, 3, strides=2, padding=1, activation="relu")
    layer.build((3, 9, 9), rng)
    layer.params["bias"][:] = rng.standard_normal(4)
    x = rng.standard_normal((2, 3, 9, 9)).astype(np.float32)
    expected = torch.relu(
        torch.nn.functional.conv2d(
            torch.from_numpy(x),
            torch.from_numpy(layer.weight),
            torch.from_numpy(layer.bias),
            stride=2,
            padding=1,
        )
    ).numpy()
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-5, atol=1e-5)


def test_sample_shape_rule():
    assert sample_shape((28, 28, 1)) == (1, 28, 28)
    assert sample_shape((3, 32, 32)) == (3, 32, 32)
    assert sample_shape((2, 2, 3)) == (2, 2, 3)  # too small to be channels-last
    with pytest.raises(ValueError, match=r"Received: input_shape=\(0, 28\)"):
        sample_shape((0, 28))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: Conv2D(0, 3),
            r"`filters` must be a positive int. Received: filters=0",
        ),
        (lambda: Conv2D(4, (3, 0)), r"kernel_size"),
        (lambda: Conv2D(4, 3, padding="full"), r"Received: padding='full'"),
        (lambda: Conv2D(4, 3, activation="gelu"), r"Received: activation='gelu'"),
        (
            lambda: Conv2D(4, 3, padding_mode="mirror"),
            r"Received: padding_mode='mirror'",
        ),
        (lambda: Dense(-1), r"`units` must be a positive int. Received: units=-1"),
        (
            lambda: Dropout(1.0),
            r"`rate` must be a float in \[0, 1\). Received: rate=1.0",
        ),
        (lambda: MaxPooling2D(2, padding=1), r"`padding` must be 'valid' or 'same'"),
        (lambda: BatchNormalization(momentum=1.5), r"Received: momentum=1.5"),
    ],
)
def test_argument_errors(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_build_errors_name_the_layer():
    layer = Dense(3, name="head")
    with pytest.raises(ValueError, match=r'Layer "head" \(Dense\).*add Flatten\(\)'):
        layer.build((1, 28, 28))
    conv = Conv2D(2, 7, name="big")
    with pytest.raises(
        ValueError, match=r'Layer "big" \(Conv2D\): Output would be empty'
    ):
        conv.build((1, 5, 5))
