"""Image layers: :class:`Conv2D` and the pooling layers, computed by ``kernels``
(float32 NCHW; the conventions are in :mod:`convlab.nn.layers`)."""

from __future__ import annotations

from typing import Any

import numpy as np

import kernels
from kernels._warmup import ops  # kernels, or NumPy while they compile

from . import validation
from .base_layer import KernelBiasLayer, Layer

__all__ = [
    "Conv2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
]


class Conv2D(KernelBiasLayer):
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
        self.filters = validation.positive_int(filters, "filters")
        self.kernel_size = validation.pair(kernel_size, "kernel_size")
        self.strides = validation.pair(strides, "strides")
        self.padding = validation.conv_padding(padding)
        self.activation = validation.check_activation(activation)
        self.use_bias = bool(use_bias)
        self.dilation_rate = validation.pair(dilation_rate, "dilation_rate")
        self.kernel_initializer = validation.check_initializer(kernel_initializer)
        self.padding_mode = validation.padding_mode(padding_mode)
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
        z = ops.conv2d(x, self.weight, self.bias, **self._geometry())
        if training:
            self._x = x
        return self._activate(z, training)

    def backward_linear(self, grad_z: np.ndarray) -> np.ndarray | None:
        if self._x is None:
            raise self._no_forward_error()
        grad_x, grad_w, grad_b = ops.conv2d_backward(
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
        self.pool_size = validation.pair(pool_size, "pool_size")
        self.strides = (
            self.pool_size if strides is None else validation.pair(strides, "strides")
        )
        self.padding = validation.pool_padding(padding)
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
        out, indices = ops.max_pool2d(x, self.pool_size, self.strides, self.padding)
        if training:
            self._x_shape, self._indices = x.shape, indices
        return out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        grad_x = ops.max_pool2d_backward(grad, self._indices, self._check_cached())
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
        return ops.avg_pool2d(x, self.pool_size, **self._args())

    def backward(self, grad: np.ndarray) -> np.ndarray:
        grad_x = ops.avg_pool2d_backward(
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
        return ops.global_avg_pool2d(x)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return ops.global_avg_pool2d_backward(grad, self._x_shape)


class GlobalMaxPooling2D(Layer):
    """Maximum over height and width: ``(N, C, H, W) -> (N, C)``, Keras's
    ``GlobalMaxPooling2D``. Backward sends each gradient to the first position that
    holds the maximum (NumPy's ``argmax``; ties are rare in float data)."""

    base_name = "global_max_pooling2d"

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        self._require_images(input_shape)
        return (input_shape[0],)

    _x_shape: tuple[int, ...] | None = None
    _argmax: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        flat = x.reshape(x.shape[0], x.shape[1], -1)
        if not training:
            return flat.max(axis=2)
        self._x_shape = x.shape
        self._argmax = flat.argmax(axis=2)
        return np.take_along_axis(flat, self._argmax[..., None], axis=2)[..., 0]

    def backward(self, grad: np.ndarray) -> np.ndarray:
        if self._x_shape is None or self._argmax is None:
            raise self._no_forward_error()
        n, c, h, w = self._x_shape
        grad_x = np.zeros((n, c, h * w), np.float32)
        np.put_along_axis(grad_x, self._argmax[..., None], grad[..., None], axis=2)
        self._x_shape = self._argmax = None
        return grad_x.reshape(n, c, h, w)
