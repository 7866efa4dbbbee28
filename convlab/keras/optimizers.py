"""``keras.optimizers``: convlab.nn's SGD, Adam and RMSprop, also under their Keras 2
spellings (``lr=``, lowercase ``sgd()`` / ``adam()`` / ``rmsprop()``), each with a
one-line :class:`~convlab.keras.Keras2Warning` naming the modern spelling.
``decay=`` is Keras 2's inverse-time decay (see :mod:`convlab.nn.optimizers`)."""

from __future__ import annotations

from typing import Any

from convlab.nn import optimizers as _nn

from ._compat import note, rename

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "RMSprop",
    "Adadelta",
    "sgd",
    "adam",
    "rmsprop",
    "adadelta",
    "get",
]

Optimizer = _nn.Optimizer


class SGD(_nn.SGD):
    __doc__ = _nn.SGD.__doc__

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **rename("SGD", kwargs, "lr", "learning_rate"))


class Adam(_nn.Adam):
    __doc__ = _nn.Adam.__doc__

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **rename("Adam", kwargs, "lr", "learning_rate"))


class RMSprop(_nn.RMSprop):
    __doc__ = _nn.RMSprop.__doc__

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **rename("RMSprop", kwargs, "lr", "learning_rate"))


class Adadelta(_nn.Adadelta):
    __doc__ = _nn.Adadelta.__doc__

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **rename("Adadelta", kwargs, "lr", "learning_rate"))


def _lowercase(cls: type[_nn.Optimizer]) -> Any:
    name = cls.__name__

    def make(*args: Any, **kwargs: Any) -> _nn.Optimizer:
        modern = "learning_rate=..." if "lr" in kwargs else "..."
        note(
            f"keras.optimizers.{name.lower()}() is Keras 1's spelling; write "
            f"keras.optimizers.{name}({modern})."
        )
        if "lr" in kwargs and "learning_rate" not in kwargs:
            kwargs["learning_rate"] = kwargs.pop("lr")
        return cls(*args, **kwargs)

    make.__name__ = name.lower()
    make.__doc__ = f"Keras 1's lowercase name for :class:`{name}`."
    return make


sgd = _lowercase(SGD)
adam = _lowercase(Adam)
rmsprop = _lowercase(RMSprop)
adadelta = _lowercase(Adadelta)


def get(identifier: object) -> _nn.Optimizer:
    """An optimizer from its name (``"adam"``) or an instance (Keras's ``get``)."""
    return _nn.get_optimizer(identifier)
