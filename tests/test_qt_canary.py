"""Canary: PySide6-Essentials 6.12.0 on Python 3.11 aborts the interpreter
(bool_dealloc) after about 2,000 ``Signal.emit()`` calls. pyproject excludes it; this
test makes sure no installed release brings the crash back unseen. It runs in a
subprocess so that an abort fails this test instead of killing the whole test run."""

from __future__ import annotations

import subprocess
import sys

CANARY = r"""
import os, sys
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

class Source(QObject):
    fired = Signal(bool)
    value = Signal(object)

class Sink(QObject):
    def __init__(self):
        super().__init__()
        self.count = 0
    @Slot(bool)
    def on_fired(self, flag):
        self.count += 1
    @Slot(object)
    def on_value(self, value):
        self.count += 1

app = QCoreApplication(sys.argv)
source, sink = Source(), Sink()
source.fired.connect(sink.on_fired)
source.value.connect(sink.on_value)
for i in range(10_000):
    source.fired.emit(i % 2 == 0)
    source.value.emit({"step": i, "loss": 0.5})
print(sink.count)
"""


def test_twenty_thousand_signal_emits_do_not_crash():
    result = subprocess.run(
        [sys.executable, "-c", CANARY], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, (
        f"interpreter died ({result.returncode}): {result.stderr[-2000:]}"
    )
    assert result.stdout.split()[-1] == "20000"
