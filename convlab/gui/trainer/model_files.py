"""The trainer's model files and links: save and open a model (with its saved
optimizer settings), evaluate an opened model on the test images, and send the
learned filters to the explorer.

File > Open model reads, checks and builds the model on the thread pool
(:meth:`~ModelFilesMixin.open_model_file`; a 250 MiB zip bomb once froze the GUI
thread 9.0 s); the GUI thread only sets the built model. A newer open supersedes an
older one, a failed one leaves the current model as it was and says why.
:meth:`~ModelFilesMixin.load_model` is the same in one blocking call, for scripts
and tests.

A mixin of :class:`~.widget.TrainerWidget` (its signals and state are the widget's).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QFileDialog

from convlab.train import engine
from convlab.train.run import RunState
from convlab.train.session import EvaluationEvent, TrainSettings, evaluate_model

from ..workers import Task, describe_exception


def _model_job(serial: int, path: str) -> tuple:
    """On a pool thread: ``(serial, model, specs, None)`` or ``(serial, None, None,
    why)``: the file read, checked and built, nothing of the widget touched."""
    try:
        from convlab.nn import load_model

        model = load_model(path)
        specs = engine.specs_from_model(model)
    except Exception as exc:  # noqa: BLE001 (the message goes to the status bar)
        return serial, None, None, describe_exception(exc)
    return serial, model, specs, None


class ModelFilesMixin:
    """Model files and links of :class:`~.widget.TrainerWidget`."""

    # ============================================================ files and links
    @Slot()
    def _on_save_action_triggered(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save model", "model.npz", "convlab models (*.npz)"
        )
        if path:
            self.save_model(path)

    @Slot()
    def _on_open_action_triggered(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open model", "", "convlab models (*.npz);;All files (*)"
        )
        if path:
            self.open_model_file(path)

    def save_model(self, path: str | Path) -> bool:
        if self.run.model is None:
            self._message("No model to save", 4000)
            return False
        if self.run.state == RunState.TRAINING:
            self._message("Pause or stop training before saving", 4000)
            return False
        try:
            self.run.save(path)
        except Exception as exc:
            self._message(f"Could not save the model: {exc}", 10000)
            return False
        self._saved_model = (self.run.model, self.run.x_done)
        self._message(f"Model saved to {path}", 5000)
        return True

    def has_unsaved_model(self) -> bool:
        """The model was trained (or is training) since it was made, opened or last
        saved: closing would lose that (the main window asks first)."""
        run, saved = self.run, getattr(self, "_saved_model", None)
        if run.model is None:
            return False
        if run.state.running:
            return True
        return run.x_done > 0 and not (
            saved is not None and saved[0] is run.model and saved[1] == run.x_done
        )

    _model_serial = 0
    _model_task: Task | None = None

    def open_model_file(self, path: str | Path) -> bool:
        """Open a saved model on the thread pool, then use it on the GUI thread.

        Returns False (with a status message) when it cannot start: training runs.
        A newer open supersedes this one; a failure leaves the current model."""
        if self.run.state.running:
            self._message("Stop training before opening a model", 4000)
            return False
        self._model_serial += 1
        task = Task(_model_job, self._model_serial, str(path))
        task.signals.finished.connect(self._on_model_task_finished)
        task.model_name = Path(path).name
        self._model_task = task
        self._tasks.add(task)  # kept until it has run, even when superseded
        self._message(f"Opening the model {task.model_name}…", 0)
        self.model_loading_changed.emit(True)
        task.start()
        return True

    def model_loading(self) -> bool:
        """A model file is being read on the thread pool."""
        return self._model_task is not None

    @Slot(object)
    def _on_model_task_finished(self, outcome: tuple) -> None:
        serial, model, specs, why = outcome
        self._forget_finished_tasks()
        if self._model_task is None or serial != self._model_serial:
            return  # superseded by a newer open
        name, self._model_task = self._model_task.model_name, None
        self.model_loading_changed.emit(False)
        if self._closing:
            return
        if model is None:
            self._message(f"Could not open {name}: {why}", 10000)
        elif self.run.state.running:  # training began while the file was read
            self._message(f"Did not open {name}: stop training first", 6000)
        else:
            self._use_model(model, specs, name)

    def load_model(self, path: str | Path) -> bool:
        """Open a saved model in one blocking call (scripts, tests); on any error, a
        status message and nothing changes."""
        if self.run.state.running:
            self._message("Stop training before opening a model", 4000)
            return False
        _, model, specs, why = _model_job(0, str(path))
        if model is None:
            self._message(f"Could not open {Path(path).name}: {why}", 10000)
            return False
        self._use_model(model, specs, Path(path).name)
        return True

    def _use_model(self, model: Any, specs: Any, name: str) -> None:
        """Make a loaded model the trainer's (GUI thread)."""
        self.editor.set_specs(specs, preset="custom")
        self._model_base = name
        self._native_shape = None  # tarch: a file has no native preset input
        self.run.set_model(model, specs, label=name)
        adapted = self.run.adapt_model_to_data()  # tarch: fine-tuning on this data
        settings = self._take_saved_settings(model)
        follows = "" if adapted is None else f"; for this data: {adapted.text()}"
        self._message(
            f"Opened {name}: {len(model.layers)} layers, "
            f"{model.count_params():,} parameters; {settings}{follows}",
            8000,
        )
        self._evaluate_current_model()

    def _take_saved_settings(self, model: Any) -> str:
        """Optimizer and learning rate from the file when it saved them, else the
        defaults; the batch size goes back to the default (a file does not keep it).
        Returns what was set, for the status bar."""
        default = TrainSettings()
        opt = getattr(model, "optimizer", None) if model.compiled else None
        name = type(opt).__name__.lower() if opt is not None else default.optimizer
        lr = float(getattr(opt, "learning_rate", default.learning_rate))
        hp = self.hyper_panel
        if hp.optimizer_combo.findData(name) < 0:
            name, lr = default.optimizer, default.learning_rate
        hp.optimizer_combo.setCurrentIndex(hp.optimizer_combo.findData(name))
        hp.lr_spin.setValue(lr)
        hp.batch_spin.setValue(default.batch_size)
        source = "saved" if opt is not None else "default"
        return (
            f"{source} optimizer {name}, learning rate {lr:g}; batch size "
            f"{default.batch_size}"
        )

    def _evaluate_current_model(self) -> None:
        """The Results for a model as it is (opened from a file): one thread-pool
        task over the test images."""
        run = self.run
        if run.model is None or run.x_test is None or not len(run.x_test):
            return
        self.results.clear(run.model_label, "evaluating the test images...")
        task = Task(evaluate_model, run.model, run.lock, run.x_test, run.y_test)
        task.signals.finished.connect(self._on_evaluation_finished)
        task.signals.failed.connect(self._on_evaluation_failed)
        self._eval_model = run.model
        self._eval_task = task
        self._tasks.add(task)
        task.start()

    def evaluation_pending(self) -> bool:
        return self._eval_task is not None

    @Slot(object)
    def _on_evaluation_finished(self, ev: EvaluationEvent) -> None:
        self._forget_finished_tasks()
        self._eval_task = None
        run = self.run
        # a stale answer (the model changed meanwhile, or training began) is dropped
        if self._closing or run.model is not self._eval_model or run.state.running:
            return
        if len(ev.labels) != len(run.x_test):
            return
        run.record(ev)
        self.results.show_evaluation(ev, run.x_test, f"{run.model_label} as opened")

    @Slot(str)
    def _on_evaluation_failed(self, message: str) -> None:
        self._forget_finished_tasks()
        self._eval_task = None
        self._message(f"Could not evaluate the model: {message}", 8000)

    @Slot()
    def export_filters(self) -> None:
        bank = engine.filter_bank(self.run.model) if self.run.model is not None else []
        if not bank:
            self._message("The model has no Conv2D layer to export", 4000)
            return
        self.filters_exported.emit(bank)
        self._message(f"Sent {len(bank)} learned filters to the explorer", 4000)
