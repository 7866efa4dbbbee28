"""Shared by the trainer's GUI tests: a cut of the bundled MNIST, and a recorder of
a widget's status messages."""

from __future__ import annotations

from convlab.data.mnist import MnistData


def subset(data, n_train, n_test):
    return MnistData(
        data.x_train[:n_train],
        data.y_train[:n_train],
        data.x_test[:n_test],
        data.y_test[:n_test],
        source="bundled",
    )


class Messages:
    def __init__(self, widget):
        self.texts: list[str] = []
        widget.status_message.connect(self.on_message)

    def on_message(self, text, _timeout):  # same thread (emitted by the widget)
        self.texts.append(text)
