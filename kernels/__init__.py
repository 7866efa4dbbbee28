"""convlab's compute kernels: convolution, pooling, padding and their backward passes.

Conventions
-----------
* float32, NCHW: ``x (N, C, H, W)``, ``weight (F, C, KH, KW)``, ``bias (F,)``. Other
  dtypes and memory layouts are converted. Where natural an image may be given as
  ``(H, W)`` or ``(C, H, W)``; the docstring of each function says so.
* PyTorch semantics: ``conv2d`` is a cross-correlation (no kernel flip), padding is
  ``int``, ``(pad_h, pad_w)`` or ``(top, bottom, left, right)``, ``padding_mode`` one of
  ``"zeros"``, ``"reflect"``, ``"replicate"``, ``"circular"``.
* Keras conventions too: ``padding="valid"`` or ``"same"`` (TensorFlow semantics, output
  ``ceil(input / stride)``, the odd extra row/column at the bottom/right).
* Every kernel releases the GIL (``nogil``) and may be called from several threads at
  once.
* Bad arguments raise ``ValueError``/``TypeError`` naming the argument, what is allowed
  and what was received, before any compute.

Compiled machine code is cached per user (see ``kernels._cache``); :func:`warmup`
compiles everything on tiny inputs.

>>> import numpy as np, kernels
>>> x = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
>>> kernels.conv2d(x, np.ones((1, 1, 2, 2), np.float32))
array([[[[ 8., 12.],
         [20., 24.]]]], dtype=float32)
"""

from __future__ import annotations

from . import _cache

_cache.configure()  # before numba is imported anywhere below

from ._checks import PADDING_MODES  # noqa: E402
from ._warmup import warmup  # noqa: E402
from .activations import (  # noqa: E402
    leaky_relu,
    leaky_relu_backward,
    relu,
    relu_backward,
    sigmoid,
    sigmoid_backward,
    tanh,
    tanh_backward,
)
from .conv import (  # noqa: E402
    conv2d,
    conv2d_backward,
    conv2d_grad_input,
    conv2d_grad_weight,
)
from .padding import check_padding_geometry, pad2d, pad2d_backward, pad_index_map  # noqa: E402
from .pooling import (  # noqa: E402
    avg_pool2d,
    avg_pool2d_backward,
    global_avg_pool2d,
    global_avg_pool2d_backward,
    max_pool2d,
    max_pool2d_backward,
)
from .shapes import (  # noqa: E402
    Convention,
    conv2d_output_shape,
    conv_output_size,
    output_size_conventions,
    pool2d_output_shape,
    resolve_padding,
    same_padding,
    size_formula,
)

__all__ = [
    "PADDING_MODES",
    "conv2d",
    "conv2d_backward",
    "conv2d_grad_input",
    "conv2d_grad_weight",
    "warmup",
    "relu",
    "relu_backward",
    "leaky_relu",
    "leaky_relu_backward",
    "sigmoid",
    "sigmoid_backward",
    "tanh",
    "tanh_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "global_avg_pool2d",
    "global_avg_pool2d_backward",
    "check_padding_geometry",
    "pad2d",
    "pad2d_backward",
    "pad_index_map",
    "Convention",
    "conv2d_output_shape",
    "conv_output_size",
    "output_size_conventions",
    "pool2d_output_shape",
    "resolve_padding",
    "same_padding",
    "size_formula",
]
