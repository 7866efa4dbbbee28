"""``keras.applications``: ``VGG16`` (also as ``vgg16.VGG16``) and convlab's
``AlexNetBN`` (Chainer's AlexNet with batch normalisation); see
:mod:`convlab.nn.applications`."""

from __future__ import annotations

from convlab.nn.applications import alexnet_bn as AlexNetBN  # noqa: N812

from . import vgg16
from .vgg16 import VGG16

__all__ = ["VGG16", "AlexNetBN", "vgg16"]
