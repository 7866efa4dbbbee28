"""Layers with Keras names and arguments, each with ``forward`` and ``backward`` side
by side.

Conventions
-----------
* Internally every image tensor is float32 **NCHW** ``(N, C, H, W)``; shapes without the
  batch axis (``input_shape``, ``output_shape``) are ``(C, H, W)`` or ``(features,)``.
* ``input_shape=`` accepts Keras's habit too; see :func:`sample_shape`.
* ``forward(x, training)`` keeps what ``backward`` needs only when ``training`` is true;
  ``backward(grad)`` returns the gradient for the layer's input and stores parameter
  gradients in ``layer.grads`` (same keys as ``layer.params``).
* Trainable arrays live in ``layer.params`` (``"kernel"``, ``"bias"``, ``"gamma"``,
  ``"beta"``); non-trainable ones (BatchNormalization's moving statistics) in
  ``layer.state``. Optimisers update them in place, so references stay valid.
* Layouts: a Conv2D kernel is ``(filters, in_channels, KH, KW)`` (PyTorch's layout;
  Keras stores ``(KH, KW, in, filters)``); a Dense kernel is ``(in_features, units)`` as
  in Keras.
* :class:`Flatten` flattens NCHW in C order: channel-major, then rows, then columns
  (Keras flattens NHWC, so a Dense after Flatten sees the same numbers in another order;
  the parameter count is the same).
"""

from __future__ import annotations

import numbers
from typing import Any, ClassVar

import numpy as np

import kernels
from kernels import _checks

from . import _activations as act
from .initializers import check_initializer, initialize
from .optimizers import _unit

__all__ = [
    "Layer",
    "Conv2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalAveragePooling2D",
    "Flatten",
    "Dense",
    "Activation",
    "ReLU",
    "Dropout",
    "BatchNormalization",
    "sample_shape",
    "LAYER_CLASSES",
]


_is_int = _checks._is_int


def _positive_int(value: object, name: str) -> int:
    """``value`` as an int, or the Keras-style ValueError naming ``name``."""
    if not _is_int(value) or value < 1:
        raise ValueError(f"`{name}` must be a positive int. Received: {name}={value!r}")
    return int(value)


def sample_shape(shape: object, name: str = "input_shape") -> tuple[int, ...]:
    """Per-sample shape (no batch axis) -> convlab's internal ``(C, H, W)`` or ``(D,)``.

    The rule, the same one :meth:`Sequential.fit` applies to image batches:

    * ``(D,)`` stays a feature vector;
    * ``(H, W)`` is a grey image: ``(1, H, W)``;
    * ``(H, W, C)`` with ``C`` 1 or 3 and ``H, W > 3`` is Keras's channels-last habit:
      ``(C, H, W)``;
    * any other ``(A, B, C)`` is already ``(C, H, W)``.

    >>> sample_shape((28, 28)), sample_shape((28, 28, 1)), sample_shape((1, 28, 28))
    ((1, 28, 28), (1, 28, 28), (1, 28, 28))
    >>> sample_shape((32, 32, 3)), sample_shape((784,))
    ((3, 32, 32), (784,))
    """
    if (
        not isinstance(shape, tuple | list)
        or not 1 <= len(shape) <= 3
        or not all(_is_int(v) and v > 0 for v in shape)
    ):
        raise ValueError(
            f"`{name}` must be a tuple of 1 to 3 positive ints such as (28, 28, 1), "
            f"(1, 28, 28), (28, 28) or (784,). Received: {name}={shape!r}"
        )
    dims = tuple(int(v) for v in shape)
    if len(dims) == 1:
        return dims
    if len(dims) == 2:
        return (1, *dims)
    if is_channels_last(dims):
        return (dims[2], dims[0], dims[1])
    return dims


def is_channels_last(dims: tuple[int, ...]) -> bool:
    """True for a per-sample ``(H, W, C)`` with ``C`` in (1, 3) and ``H, W > 3``."""
    return len(dims) == 3 and dims[2] in (1, 3) and dims[0] > 3 and dims[1] > 3


def shape_text(shape: tuple[int | None, ...]) -> str:
    """A shape as Keras prints it, ``None`` for the batch: ``(None, 6, 28, 28)``."""
    return "(" + ", ".join("None" if v is None else str(v) for v in shape) + ")"


class Layer:
    """Base class: name, shapes, parameters, config; subclasses add the maths.

    Attributes
    ----------
    name : str or None
        Set by the model (``conv2d``, ``conv2d_1``, ...) when not given.
    input_shape, output_shape : tuple of int or None
        Per sample, internal layout; known once built.
    params, grads, state : dict of str to ndarray
        Trainable arrays, their gradients after ``backward``, non-trainable arrays.
    """

    base_name: ClassVar[str] = "layer"
    #: activation applied at the end of ``forward`` ("linear" for none)
    activation: str = "linear"

    def __init__(self, *, name: str | None = None, input_shape: object = None) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"`name` must be a non-empty str. Received: name={name!r}")
        self.name = name
        self.declared_input_shape = (
            None if input_shape is None else sample_shape(input_shape)
        )
        self.input_shape: tuple[int, ...] | None = None
        self.output_shape: tuple[int, ...] | None = None
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}
        self.built = False
        #: False for the first trainable layer of a model: its input gradient is never
        #: used
        self.need_input_grad = True
        self._a: np.ndarray | None = None  # activation output, kept for backward
        self._z: np.ndarray | None = None  # pre-softmax logits, kept for a fused loss

    # ------------------------------------------------------------------ building
    def build(
        self, input_shape: tuple[int, ...], rng: np.random.Generator | None = None
    ) -> None:
        """Check ``input_shape`` (per sample), compute the output shape, create
        parameters."""
        input_shape = tuple(int(v) for v in input_shape)
        try:
            output_shape = self.compute_output_shape(input_shape)
        except ValueError as exc:
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}): {exc}'
            ) from None
        self.input_shape = input_shape
        self.output_shape = output_shape
        self._create_params(
            input_shape, rng if rng is not None else np.random.default_rng(0)
        )
        self.built = True

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape

    def _create_params(
        self, input_shape: tuple[int, ...], rng: np.random.Generator
    ) -> None:
        pass

    def _require_images(self, input_shape: tuple[int, ...]) -> None:
        if len(input_shape) != 3:
            raise ValueError(
                "expects images (N, channels, height, width). Received: input shape "
                f"{shape_text((None, *input_shape))}"
            )

    # ------------------------------------------------------------------ maths
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> np.ndarray | None:
        raise NotImplementedError

    def _no_forward_error(self) -> RuntimeError:
        return RuntimeError(
            f'Layer "{self.name}": backward() needs a forward(x, training=True) first.'
        )

    def _activate(self, z: np.ndarray, training: bool) -> np.ndarray:
        a = act.FORWARD[self.activation](z)
        if training:
            self._a = a
            self._z = z if self.activation == "softmax" else None
        return a

    def _activation_backward(self, grad: np.ndarray) -> np.ndarray:
        if self._a is None:
            raise self._no_forward_error()
        return act.BACKWARD[self.activation](grad, self._a)

    def backward_linear(self, grad_z: np.ndarray) -> np.ndarray | None:
        """Backward from the gradient w.r.t. the pre-activation (used by fused
        losses)."""
        return grad_z

    # ------------------------------------------------------------------ weights
    @property
    def trainable_count(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def count_params(self) -> int:
        """Trainable plus non-trainable parameters, as Keras counts them."""
        return self.trainable_count + int(sum(s.size for s in self.state.values()))

    @property
    def weights(self) -> dict[str, np.ndarray]:
        """All arrays, Keras's order: trainable then non-trainable."""
        return {**self.params, **self.state}

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the arrays in Keras's order (``[kernel, bias]``, ``[gamma, beta,
        moving_mean, moving_variance]``); Conv2D kernels in (F, C, KH, KW) layout."""
        return [w.copy() for w in self.weights.values()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Copy ``weights`` (the order and shapes of :meth:`get_weights`) into the
        layer."""
        current = self.weights
        if len(weights) != len(current):
            raise ValueError(
                f'Layer "{self.name}" expects {len(current)} weight arrays '
                f"({', '.join(current)}). Received: {len(weights)} arrays"
            )
        arrays = [np.asarray(w) for w in weights]
        for (key, dest), src in zip(current.items(), arrays, strict=True):
            if src.shape != dest.shape:
                raise ValueError(
                    f'Layer "{self.name}": weight "{key}" '
                    f"must have shape {dest.shape}. "
                    f"Received: shape {src.shape}"
                )
        for dest, src in zip(current.values(), arrays, strict=True):
            dest[...] = (
                src  # in place: optimiser state and outside references stay valid
            )

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"name": self.name}
        if self.declared_input_shape is not None:
            config["input_shape"] = list(self.declared_input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(
            f"{k}={v!r}" for k, v in self.get_config().items() if k != "name"
        )
        return f"{type(self).__name__}({args})" + (
            f" name={self.name!r}" if self.name else ""
        )


# ============================================================================ Conv2D


def _padding_arg(padding: object) -> object:
    spec = _checks.padding_spec(padding)
    return spec if isinstance(spec, str) else tuple(spec)


class _KernelBiasLayer(Layer):
    """Shared by Conv2D and Dense: ``params["kernel"]`` (initialised by
    ``kernel_initializer``), an optional zero ``params["bias"]`` the size of the
    kernel's output axis, and ``backward`` through the activation into
    ``backward_linear``."""

    kernel_initializer: str
    use_bias: bool
    #: the kernel axis of the outputs (filters, units): the bias has that size
    _output_axis: ClassVar[int]

    def _kernel_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        raise NotImplementedError

    def _create_params(
        self, input_shape: tuple[int, ...], rng: np.random.Generator
    ) -> None:
        shape = self._kernel_shape(input_shape)
        self.params["kernel"] = initialize(
            self.kernel_initializer, shape, rng, self.activation
        )
        if self.use_bias:
            self.params["bias"] = np.zeros(shape[self._output_axis], np.float32)

    @property
    def weight(self) -> np.ndarray:
        return self.params["kernel"]

    @property
    def bias(self) -> np.ndarray | None:
        return self.params.get("bias")

    def backward(self, grad: np.ndarray) -> np.ndarray | None:
        return self.backward_linear(self._activation_backward(grad))


class Conv2D(_KernelBiasLayer):
    """2-D convolution (cross-correlation), Keras's ``Conv2D``, computed by ``kernels``.

    Parameters
    ----------
    filters : int
        Number of output channels ``F``.
    kernel_size : int or (kh, kw)
    strides : int or (sh, sw)
    padding : "valid", "same", or a convlab extra
        The convlab extras: int, (ph, pw), (top, bottom, left, right).
        ``"same"`` follows TensorFlow: output ``ceil(H / stride)``, odd extra row/column
        at the bottom/right.
    activation : None, "relu", "sigmoid", "tanh" or "softmax"
    use_bias : bool
    dilation_rate : int or (dh, dw)
    kernel_initializer : str
        ``"auto"`` (He uniform for ReLU, else Glorot uniform;
        see :mod:`convlab.nn.initializers`).
    input_shape : tuple, optional
        Per sample, e.g. ``(28, 28, 1)`` or ``(1, 28, 28)``; see :func:`sample_shape`.
    name : str, optional
    padding_mode : "zeros", "reflect", "replicate" or "circular"
        A convlab extra (PyTorch's argument): what the padding holds.

    Attributes
    ----------
    weight : ndarray, shape (F, C, KH, KW), float32
        The kernel (``params["kernel"]``), PyTorch's layout.
    bias : ndarray, shape (F,), float32, or None
    """

    base_name = "conv2d"
    _output_axis = 0

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, int],
        strides: int | tuple[int, int] = 1,
        padding: str | int | tuple[int, ...] = "valid",
        activation: str | None = None,
        use_bias: bool = True,
        dilation_rate: int | tuple[int, int] = 1,
        kernel_initializer: str = "auto",
        input_shape: object = None,
        name: str | None = None,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self.filters = _positive_int(filters, "filters")
        self.kernel_size = _checks.pair(kernel_size, "kernel_size")
        self.strides = _checks.pair(strides, "strides")
        self.padding = _padding_arg(padding)
        self.activation = act.check_activation(activation)
        self.use_bias = bool(use_bias)
        self.dilation_rate = _checks.pair(dilation_rate, "dilation_rate")
        self.kernel_initializer = check_initializer(kernel_initializer)
        self.padding_mode = _checks.padding_mode(padding_mode)
        self._x: np.ndarray | None = None

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        self._require_images(input_shape)
        oh, ow = kernels.conv2d_output_shape(
            input_shape[1:],
            self.kernel_size,
            self.strides,
            self.padding,
            self.dilation_rate,
        )
        return (self.filters, oh, ow)

    def _kernel_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (self.filters, input_shape[0], *self.kernel_size)

    def _geometry(self) -> dict[str, Any]:
        return {
            "stride": self.strides,
            "padding": self.padding,
            "dilation": self.dilation_rate,
            "padding_mode": self.padding_mode,
        }

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        z = kernels.conv2d(x, self.weight, self.bias, **self._geometry())
        if training:
            self._x = x
        return self._activate(z, training)

    def backward_linear(self, grad_z: np.ndarray) -> np.ndarray | None:
        if self._x is None:
            raise self._no_forward_error()
        grad_x, grad_w, grad_b = kernels.conv2d_backward(
            grad_z,
            self._x,
            self.weight,
            **self._geometry(),
            need_input_grad=self.need_input_grad,
        )
        self.grads["kernel"] = grad_w
        if self.use_bias:
            self.grads["bias"] = grad_b
        self._x = self._a = None  # free the batch's activations early
        return grad_x

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding
            if isinstance(self.padding, str)
            else list(self.padding),
            "activation": None if self.activation == "linear" else self.activation,
            "use_bias": self.use_bias,
            "dilation_rate": list(self.dilation_rate),
            "kernel_initializer": self.kernel_initializer,
            "padding_mode": self.padding_mode,
        }


# ============================================================================ pooling


class _Pooling2D(Layer):
    def __init__(
        self,
        pool_size: int | tuple[int, int] = 2,
        strides: int | tuple[int, int] | None = None,
        padding: str = "valid",
        input_shape: object = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self.pool_size = _checks.pair(pool_size, "pool_size")
        self.strides = (
            self.pool_size if strides is None else _checks.pair(strides, "strides")
        )
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise ValueError(
                f"`padding` must be 'valid' or 'same'. Received: padding={padding!r}"
            )
        self.padding = padding.lower()
        self._x_shape: tuple[int, ...] | None = None
        self._indices: np.ndarray | None = None

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        self._require_images(input_shape)
        oh, ow = kernels.pool2d_output_shape(
            input_shape[1:], self.pool_size, self.strides, self.padding
        )
        return (input_shape[0], oh, ow)

    def _check_cached(self) -> tuple[int, ...]:
        if self._x_shape is None:
            raise self._no_forward_error()
        return self._x_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
        }


class MaxPooling2D(_Pooling2D):
    """Max pooling, Keras's
    ``MaxPooling2D(pool_size=2, strides=None, padding="valid")``.

    ``strides=None`` means ``strides = pool_size``. Backward sends each output's
    gradient to the input that won (``kernels.max_pool2d`` indices).
    """

    base_name = "max_pooling2d"

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        out, indices = kernels.max_pool2d(x, self.pool_size, self.strides, self.padding)
        if training:
            self._x_shape, self._indices = x.shape, indices
        return out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        grad_x = kernels.max_pool2d_backward(grad, self._indices, self._check_cached())
        self._x_shape = None
        return grad_x


class AveragePooling2D(_Pooling2D):
    """Average pooling, Keras's ``AveragePooling2D``; with ``"same"`` the padded cells
    are left out of each average (TensorFlow's behaviour)."""

    base_name = "average_pooling2d"

    def _args(self) -> dict[str, Any]:
        return {
            "stride": self.strides,
            "padding": self.padding,
            "count_include_pad": False,
        }

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if training:
            self._x_shape = x.shape
        return kernels.avg_pool2d(x, self.pool_size, **self._args())

    def backward(self, grad: np.ndarray) -> np.ndarray:
        grad_x = kernels.avg_pool2d_backward(
            grad, self._check_cached(), self.pool_size, **self._args()
        )
        self._x_shape = None
        return grad_x


class GlobalAveragePooling2D(Layer):
    """Mean over height and width: ``(N, C, H, W) -> (N, C)``."""

    base_name = "global_average_pooling2d"

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        self._require_images(input_shape)
        return (input_shape[0],)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if training:
            self._x_shape = x.shape
        return kernels.global_avg_pool2d(x)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return kernels.global_avg_pool2d_backward(grad, self._x_shape)


# ======================================================================= Flatten, Dense


class Flatten(Layer):
    """``(N, C, H, W) -> (N, C*H*W)`` in C order: channel-major, then rows, then
    columns.

    Output element ``c*H*W + y*W + x`` is input ``[c, y, x]``.
    """

    base_name = "flatten"

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (int(np.prod(input_shape)),)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if training:
            self._x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad.reshape(self._x_shape)


class Dense(_KernelBiasLayer):
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
        self.units = _positive_int(units, "units")
        self.activation = act.check_activation(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = check_initializer(kernel_initializer)
        self._x: np.ndarray | None = None

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 1:
            raise ValueError(
                "expects a flat input (N, features) "
                f"but received {shape_text((None, *input_shape))} "
                "from the previous layer; add Flatten() before it."
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
        self.activation = act.check_activation(activation)

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
        self.rate = _unit(rate, "rate")
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self._mask: np.ndarray | None = None

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
        if not isinstance(momentum, numbers.Real) or not 0.0 <= float(momentum) < 1.0:
            raise ValueError(
                f"`momentum` must be a float in [0, 1). Received: momentum={momentum!r}"
            )
        if not isinstance(epsilon, numbers.Real) or not float(epsilon) > 0.0:
            raise ValueError(
                f"`epsilon` must be a float > 0. Received: epsilon={epsilon!r}"
            )
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) not in (1, 3):
            raise ValueError(
                "expects (N, C, H, W) or (N, features). "
                f"Received: {shape_text((None, *input_shape))}"
            )
        return input_shape

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
        if not training:
            mean = self.state["moving_mean"].reshape(view)
            inv_std = 1.0 / np.sqrt(
                self.state["moving_variance"] + np.float32(self.epsilon)
            )
            return (x - mean) * (gamma * inv_std.reshape(view)) + beta
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
        return x_hat * gamma + beta

    def backward(self, grad: np.ndarray) -> np.ndarray:
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

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "momentum": self.momentum,
            "epsilon": self.epsilon,
        }


LAYER_CLASSES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (
        Conv2D,
        MaxPooling2D,
        AveragePooling2D,
        GlobalAveragePooling2D,
        Flatten,
        Dense,
        Activation,
        ReLU,
        Dropout,
        BatchNormalization,
    )
}
