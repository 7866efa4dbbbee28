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


def open_trainer(qtbot, data):
    """A shown TrainerWidget (1280x800) on ``data``, seed 0; ``widget.shutdown()``
    when done."""
    from convlab.gui.app import configure_pyqtgraph
    from convlab.gui.trainer import TrainerWidget

    configure_pyqtgraph()
    widget = TrainerWidget(load_data=False)
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    widget.show()
    widget.set_data(data)
    widget.seed_spin.setValue(0)
    return widget


def train(qtbot, widget, timeout=120_000):
    """Start a run and wait for ``training_finished``; its argument."""
    with qtbot.waitSignal(widget.training_finished, timeout=timeout) as blocker:
        widget.start_training()
    return blocker.args[0]
