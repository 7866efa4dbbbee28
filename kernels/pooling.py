"""Max, average and global-average pooling with their backward passes.

PLACEHOLDER: the kernels work (issue 2) implements these behind the same signatures.
"""

from __future__ import annotations

__all__ = [
    "max_pool2d",
    "max_pool2d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "global_avg_pool2d",
    "global_avg_pool2d_backward",
]


def max_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    raise NotImplementedError


def max_pool2d_backward(grad_out, indices, x_shape):
    raise NotImplementedError


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    raise NotImplementedError


def avg_pool2d_backward(
    grad_out, x_shape, kernel_size, stride=None, padding=0, ceil_mode=False,
    count_include_pad=True,
):
    raise NotImplementedError


def global_avg_pool2d(x):
    raise NotImplementedError


def global_avg_pool2d_backward(grad_out, x_shape):
    raise NotImplementedError
