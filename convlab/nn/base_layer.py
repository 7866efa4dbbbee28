"""The layer base classes: :class:`Layer` (name, shapes, parameters, config) and
:class:`KernelBiasLayer` (a kernel, an optional bias and an activation: Conv2D and
Dense). The conventions are in :mod:`convlab.nn.layers`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from . import _activations as act
from . import validation
from .data_adapter import sample_shape
from .initializers import initialize

__all__ = ["Layer", "KernelBiasLayer", "shape_text", "keras_shape"]


def shape_text(shape: tuple[int | None, ...]) -> str:
    """A shape as Keras prints it, ``None`` for the batch: ``(None, 6, 28, 28)``."""
    return "(" + ", ".join("None" if v is None else str(v) for v in shape) + ")"


def keras_shape(sample: tuple[int, ...], channels_last: bool) -> tuple[int | None, ...]:
    """A per-sample internal shape ``(C, H, W)`` / ``(D,)`` as Keras shows it: the
    batch axis first, in the caller's layout (``(None, H, W, C)`` for
    channels-last)."""
    if channels_last and len(sample) == 3:
        return (None, sample[1], sample[2], sample[0])
    return (None, *sample)


def layout_name(channels_last: bool) -> str:
    return "channels_last" if channels_last else "channels_first"


class Layer:
    """Base class: name, shapes, parameters, config; subclasses add the maths.

    Attributes
    ----------
    name : str or None
        Set by the model (``conv2d``, ``conv2d_1``, ...) when not given.
    sample_input_shape, sample_output_shape : tuple of int or None
        Per sample, convlab's internal layout (``(C, H, W)`` or ``(features,)``);
        known once built.
    input_shape, output_shape : tuple or None
        The same shapes as the user reads them: for a convlab.nn layer, the
        per-sample internal shape (as before); for a layer of the Keras face
        (``keras_shapes``) Keras's, with the batch axis, in the model's layout:
        ``(None, 100, 100, 32)`` channels-last.
    keras_shapes : bool
        Show ``input_shape``/``output_shape`` as Keras does (set by
        :mod:`convlab.keras`'s layers and by a model holding one).
    channels_last : bool
        The layout of the model the layer is in (set when it is built): Keras's
        shapes and :class:`~convlab.nn.Flatten`'s order follow it.
    params, grads, state : dict of str to ndarray
        Trainable arrays, their gradients after ``backward``, non-trainable arrays.
    trainable : bool
        ``False`` freezes the layer, as in Keras: training leaves its ``params``
        unchanged, ``summary()`` counts them as non-trainable, saving keeps the flag
        (and a frozen :class:`~convlab.nn.BatchNormalization` runs in inference
        mode).
    """

    base_name: ClassVar[str] = "layer"
    #: activation applied at the end of ``forward`` ("linear" for none)
    activation: str = "linear"
    keras_shapes: bool = False
    channels_last: bool = False

    def __init__(self, *, name: str | None = None, input_shape: object = None) -> None:
        self.name = validation.layer_name(name)
        self.declared_input_shape = (
            None if input_shape is None else sample_shape(input_shape)
        )
        self.sample_input_shape: tuple[int, ...] | None = None
        self.sample_output_shape: tuple[int, ...] | None = None
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}
        self.built = False
        self.trainable = True
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
                f'Layer "{self.name or self.base_name}" ({type(self).__name__}): {exc}'
            ) from None
        self.sample_input_shape = input_shape
        self.sample_output_shape = output_shape
        self._create_params(
            input_shape, rng if rng is not None else np.random.default_rng(0)
        )
        self.built = True

    def _shown(self, sample: tuple[int, ...] | None) -> tuple[int | None, ...] | None:
        if sample is None or not self.keras_shapes:
            return sample
        return keras_shape(sample, self.channels_last)

    @property
    def input_shape(self) -> tuple[int | None, ...] | None:
        """See the class docstring: internal per sample, or Keras's for the face."""
        return self._shown(self.sample_input_shape)

    @property
    def output_shape(self) -> tuple[int | None, ...] | None:
        """See the class docstring: internal per sample, or Keras's for the face."""
        return self._shown(self.sample_output_shape)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape

    def _create_params(
        self, input_shape: tuple[int, ...], rng: np.random.Generator
    ) -> None:
        pass

    def param_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        """The shapes ``build(input_shape)`` would give ``weights``, in their order,
        without allocating them (a layer table of VGG16 need not hold its 138M
        weights). Layers that create parameters override it."""
        return {}

    def _require_images(self, input_shape: tuple[int, ...]) -> None:
        if len(input_shape) != 3:
            raise ValueError(
                "expects images (N, channels, height, width). Received: input shape "
                f"{shape_text((None, *input_shape))}"
            )

    def reseed(self, rng: np.random.Generator) -> None:
        """Take ``rng`` for any randomness in training (the training loop passes one
        derived from its seed, so a run repeats bit for bit). Nothing to do here;
        :class:`~convlab.nn.Dropout` keeps it for its masks."""

    def __call__(self, x: Any, training: bool = False) -> Any:
        """On a symbolic tensor (``Input(...)`` or a layer's output): the output
        tensor, for ``Model(inputs, outputs)``. On an array: ``forward`` (the layer is
        built from the array's per-sample shape when it is not built yet)."""
        from .functional import SymbolicTensor, call_symbolic

        if isinstance(x, SymbolicTensor | list | tuple):
            return call_symbolic(self, x)
        x = np.ascontiguousarray(x, np.float32)
        if not self.built:
            self.build(x.shape[1:])
        return self.forward(x, training)

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
            self._z = z if self.activation in ("softmax", "sigmoid") else None
        return a

    def _activation_backward(self, grad: np.ndarray) -> np.ndarray:
        if self._a is None:
            raise self._no_forward_error()
        return act.BACKWARD[self.activation](grad, self._a)

    @property
    def softmax_logits(self) -> np.ndarray | None:
        """The pre-softmax logits of the last ``forward(x, training=True)`` when this
        layer ends in a softmax, else ``None``: what a fused softmax/cross-entropy
        differentiates, sending its gradient to :meth:`backward_linear`."""
        return self._z if self.activation == "softmax" else None

    @property
    def logits(self) -> np.ndarray | None:
        """The pre-activation of the last ``forward(x, training=True)`` when this
        layer ends in a softmax or a sigmoid (what a fused loss differentiates), else
        ``None``."""
        return self._z

    def backward_linear(self, grad_z: np.ndarray) -> np.ndarray | None:
        """Backward from the gradient w.r.t. the pre-activation (used by fused
        losses)."""
        return grad_z

    # ------------------------------------------------------------------ weights
    @property
    def trainable_count(self) -> int:
        """Parameters training updates: 0 for a frozen layer."""
        if not self.trainable:
            return 0
        return int(sum(p.size for p in self.params.values()))

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        return list(self.params.values()) if self.trainable else []

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        frozen = [] if self.trainable else list(self.params.values())
        return frozen + list(self.state.values())

    def count_params(self) -> int:
        """Trainable plus non-trainable parameters, as Keras counts them."""
        return int(sum(w.size for w in self.weights.values()))

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
        if not self.trainable:
            config["trainable"] = False
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        config = dict(config)
        trainable = config.pop("trainable", True)
        layer = cls(**config)
        layer.trainable = bool(trainable)
        return layer

    def __repr__(self) -> str:
        args = ", ".join(
            f"{k}={v!r}"
            for k, v in self.get_config().items()
            if k not in ("name", "trainable")
        )
        return f"{type(self).__name__}({args})" + (
            f" name={self.name!r}" if self.name else ""
        )


class KernelBiasLayer(Layer):
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

    def param_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        shape = self._kernel_shape(tuple(int(v) for v in input_shape))
        shapes = {"kernel": shape}
        if self.use_bias:
            shapes["bias"] = (shape[self._output_axis],)
        return shapes

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
