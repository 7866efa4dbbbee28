"""Core layers: :class:`Flatten`, :class:`Dense`, :class:`Activation`, :class:`ReLU`,
:class:`Dropout` and :class:`BatchNormalization` (the conventions are in
:mod:`convlab.nn.layers`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import validation
from .base_layer import KernelBiasLayer, Layer, keras_shape, layout_name, shape_text

__all__ = [
    "InputLayer",
    "Flatten",
    "Dense",
    "Activation",
    "ReLU",
    "Dropout",
    "BatchNormalization",
]


# ======================================================================= Flatten, Dense


class InputLayer(Layer):
    """The identity, standing for the model's input (Keras lists it first in a
    functional model's ``layers``)."""

    base_name = "input_layer"

    def __init__(self, input_shape: object = None, name: str | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return x

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad


class Flatten(Layer):
    """``(N, C, H, W) -> (N, C*H*W)`` in the model's layout's order.

    * ``order="chw"`` (a convlab.nn model, channels-first): channel-major, then rows,
      then columns: output element ``c*H*W + y*W + x`` is input ``[c, y, x]``
      (PyTorch's ``flatten``);
    * ``order="hwc"`` (a channels-last model, Keras's default): rows, then columns,
      then channels: element ``(y*W + x)*C + c`` is ``[c, y, x]``, so a Dense after
      it has Keras's weight layout (what Keras's published weights need).

    ``order=None`` (the default) takes the model's layout when the layer is built:
    ``"hwc"`` for a channels-last model, ``"chw"`` otherwise; the chosen order is
    saved with the model.
    """

    base_name = "flatten"

    def __init__(
        self,
        order: str | None = None,
        input_shape: object = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        if order not in (None, "chw", "hwc"):
            raise ValueError(
                f"`order` must be None, 'chw' or 'hwc'. Received: order={order!r}"
            )
        self.order = order

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if self.order is None:
            self.order = "hwc" if self.channels_last else "chw"
        return (int(np.prod(input_shape)),)

    def _hwc(self, x: np.ndarray) -> bool:
        return self.order == "hwc" and x.ndim == 4

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if training:
            self._x_shape = x.shape
        if self._hwc(x):
            x = x.transpose(0, 2, 3, 1)
        return x.reshape(x.shape[0], -1)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        if self.order == "hwc" and len(self._x_shape) == 4:
            n, c, h, w = self._x_shape
            return np.ascontiguousarray(grad.reshape(n, h, w, c).transpose(0, 3, 1, 2))
        return grad.reshape(self._x_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if self.order is not None:
            config["order"] = self.order
        return config


class Dense(KernelBiasLayer):
    """Fully connected layer: ``a = activation(x @ kernel + bias)``.

    Parameters
    ----------
    units : int
    activation : None, "relu", "sigmoid", "tanh" or "softmax"
    use_bias : bool
    kernel_initializer : str
        ``"auto"``: He uniform for ReLU, Glorot uniform otherwise.
    input_shape : tuple, optional
        ``(features,)``.
    name : str, optional

    Notes
    -----
    The kernel is ``(in_features, units)``. Input must be ``(N, features)``: put a
    :class:`Flatten` between images and a Dense layer.
    """

    base_name = "dense"
    _output_axis = -1

    def __init__(
        self,
        units: int,
        activation: str | None = None,
        use_bias: bool = True,
        kernel_initializer: str = "auto",
        input_shape: object = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self.units = validation.positive_int(units, "units")
        self.activation = validation.check_activation(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = validation.check_initializer(kernel_initializer)
        self._x: np.ndarray | None = None

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 1:
            shown = keras_shape(input_shape, self.channels_last)
            layout = layout_name(self.channels_last) if len(input_shape) == 3 else ""
            raise ValueError(
                f"got input of shape {shape_text(shown)}"
                + (f" ({layout})" if layout else "")
                + "; Dense expects a flat input (None, features): add Flatten() "
                "before it (or GlobalAveragePooling2D() for images)."
            )
        return (self.units,)

    def _kernel_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (input_shape[0], self.units)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        z = x @ self.weight
        if self.use_bias:
            z += self.bias
        if training:
            self._x = x
        return self._activate(z, training)

    def backward_linear(self, grad_z: np.ndarray) -> np.ndarray | None:
        x = self._x
        if x is None:
            raise self._no_forward_error()
        self.grads["kernel"] = x.T @ grad_z  # dL/dW = x^T dL/dz
        if self.use_bias:
            self.grads["bias"] = grad_z.sum(axis=0)
        self._x = self._a = None
        return grad_z @ self.weight.T if self.need_input_grad else None

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": None if self.activation == "linear" else self.activation,
            "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer,
        }


# ========================================================================== activations


class Activation(Layer):
    """An element-wise activation as its own layer: "relu", "sigmoid", "tanh", "softmax"
    (softmax over axis 1: classes, or channels for images)."""

    base_name = "activation"

    def __init__(
        self, activation: str, input_shape: object = None, name: str | None = None
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self.activation = validation.check_activation(activation)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self._activate(x, training)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        grad_x = self._activation_backward(grad)
        self._a = None
        return grad_x

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": self.activation}


class ReLU(Activation):
    """``max(x, 0)``, Keras's ``ReLU()`` layer."""

    base_name = "re_lu"

    def __init__(self, input_shape: object = None, name: str | None = None) -> None:
        super().__init__("relu", input_shape=input_shape, name=name)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["activation"]
        return config


# ============================================================================ Dropout


class Dropout(Layer):
    """Inverted dropout: in training each value is zeroed with probability ``rate`` and
    the survivors scaled by ``1 / (1 - rate)``; in inference the layer is the identity.

    Parameters
    ----------
    rate : float in [0, 1)
    seed : int, optional
        Seeds this layer's own generator. A model's training loop replaces it with one
        derived from the training seed, so a run is reproducible either way.
    """

    base_name = "dropout"

    def __init__(
        self,
        rate: float,
        seed: int | None = None,
        input_shape: object = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self.rate = validation.unit_float(rate, "rate")
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self._mask: np.ndarray | None = None

    def reseed(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        keep = self.rng.random(x.shape, dtype=np.float32) >= np.float32(self.rate)
        self._mask = keep.astype(np.float32)
        self._mask *= np.float32(1.0 / (1.0 - self.rate))
        return x * self._mask

    def backward(self, grad: np.ndarray) -> np.ndarray:
        if self._mask is None:
            return grad
        grad_x = grad * self._mask
        self._mask = None
        return grad_x

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


# =================================================================== BatchNormalization


class BatchNormalization(Layer):
    """Batch normalisation over the channel axis (images) or the feature axis (vectors).

    Training: ``y = gamma * (x - mean_B) / sqrt(var_B + epsilon) + beta`` with the
    batch's mean and (biased) variance per channel, and the moving statistics updated as
    ``moving = momentum * moving + (1 - momentum) * batch``. Inference uses the moving
    statistics. ``gamma``/``beta`` are trainable; ``moving_mean``/``moving_variance``
    are not (Keras counts them as non-trainable parameters).

    Parameters
    ----------
    momentum : float in [0, 1)
    epsilon : float > 0
    """

    base_name = "batch_normalization"

    def __init__(
        self,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        input_shape: object = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self.momentum = validation.momentum_value(momentum)
        self.epsilon = validation.epsilon_value(epsilon)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) not in (1, 3):
            raise ValueError(
                "expects (N, C, H, W) or (N, features). "
                f"Received: {shape_text((None, *input_shape))}"
            )
        return input_shape

    def param_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        c = (int(input_shape[0]),)
        names = ("gamma", "beta", "moving_mean", "moving_variance")
        return dict.fromkeys(names, c)

    def _create_params(
        self, input_shape: tuple[int, ...], rng: np.random.Generator
    ) -> None:
        c = input_shape[0]
        self.params["gamma"] = np.ones(c, np.float32)
        self.params["beta"] = np.zeros(c, np.float32)
        self.state["moving_mean"] = np.zeros(c, np.float32)
        self.state["moving_variance"] = np.ones(c, np.float32)

    @staticmethod
    def _axes_and_view(x: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Axes to reduce over, and the shape that broadcasts a (C,) vector against
        x."""
        if x.ndim == 4:
            return (0, 2, 3), (1, -1, 1, 1)
        return (0,), (1, -1)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        axes, view = self._axes_and_view(x)
        gamma = self.params["gamma"].reshape(view)
        beta = self.params["beta"].reshape(view)
        if not training or not self.trainable:
            # a frozen BatchNormalization runs in inference mode (Keras 2.1.3 and
            # later): moving statistics neither used from the batch nor updated
            mean = self.state["moving_mean"].reshape(view)
            inv_std = 1.0 / np.sqrt(
                self.state["moving_variance"] + np.float32(self.epsilon)
            )
            scale = (gamma * inv_std.reshape(view)).astype(np.float32)
            if training:
                self._frozen_scale, self._x_hat = scale, None
            return (x - mean) * scale + beta
        mean = x.mean(axis=axes, dtype=np.float32)
        centred = x - mean.reshape(view)
        var = np.mean(centred * centred, axis=axes, dtype=np.float32)
        inv_std = (1.0 / np.sqrt(var + np.float32(self.epsilon))).astype(np.float32)
        x_hat = centred
        x_hat *= inv_std.reshape(view)
        m = np.float32(1.0 - self.momentum)
        self.state["moving_mean"] += m * (mean - self.state["moving_mean"])
        self.state["moving_variance"] += m * (var - self.state["moving_variance"])
        self._x_hat, self._inv_std = x_hat, inv_std
        self._frozen_scale = None
        return x_hat * gamma + beta

    def backward(self, grad: np.ndarray) -> np.ndarray:
        if self._frozen_scale is not None:  # frozen: an affine map of the input
            grad_x = grad * self._frozen_scale
            self._frozen_scale = None
            return grad_x
        x_hat = self._x_hat
        if x_hat is None:
            raise self._no_forward_error()
        axes, view = self._axes_and_view(grad)
        m = np.float32(grad.size // grad.shape[1])  # values per channel
        grad_beta = grad.sum(axis=axes, dtype=np.float32)
        grad_gamma = (grad * x_hat).sum(axis=axes, dtype=np.float32)
        self.grads["gamma"], self.grads["beta"] = grad_gamma, grad_beta
        # dx = gamma / sigma * (g - mean(g) - x_hat * mean(g * x_hat))
        scale = (self.params["gamma"] * self._inv_std).reshape(view)
        grad_x = grad - (grad_beta / m).reshape(view)
        grad_x -= x_hat * (grad_gamma / m).reshape(view)
        grad_x *= scale
        self._x_hat = None
        return grad_x

    _x_hat: np.ndarray | None = None
    _frozen_scale: np.ndarray | None = None

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "momentum": self.momentum,
            "epsilon": self.epsilon,
        }
