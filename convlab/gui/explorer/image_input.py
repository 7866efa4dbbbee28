"""The explorer's input image: files, samples, the clipboard, drag and drop, and
the drawing dialog.

What a user opens (Open image, drop, paste, ``--image``) is decoded on the thread pool
(:meth:`ImageInputMixin.open_image_file`): a 39.7-megapixel PNG, inside the reader's
40 MP budget, takes over a second to decode, and the GUI thread must not wait for it.
While it decodes the notice under the input says so; a second open supersedes the
first (its result is dropped); a failure keeps the current image and says why in the
status bar. :meth:`~ImageInputMixin.load_image_file` stays the synchronous form for
scripts and tests.

A mixin of :class:`~.widget.ExplorerWidget`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QVBoxLayout,
)

from convlab.data import images as image_data

from ..workers import Task, describe_exception

_PATTERNS = " ".join("*" + ext for ext in image_data.IMAGE_EXTENSIONS)
IMAGE_FILTER = f"Images ({_PATTERNS});;All files (*)"


def qimage_to_array(image: QImage) -> np.ndarray:
    """A QImage as uint8 ``(H, W, 4)`` RGBA (a copy)."""
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    h, w = rgba.height(), rgba.width()
    buffer = np.frombuffer(rgba.constBits(), np.uint8, count=rgba.sizeInBytes())
    return buffer.reshape(h, rgba.bytesPerLine())[:, : w * 4].reshape(h, w, 4).copy()


def _draw_canvas_class():
    try:
        from convlab.gui.draw_canvas import DrawCanvas
    except ImportError:
        return None
    return DrawCanvas


def _image_job(serial: int, fn, *args: object) -> tuple:  # noqa: ANN001
    """On a pool thread: ``(serial, LoadedImage, None)`` or ``(serial, None, why)``;
    every failure comes back tagged, so a superseded job's error is dropped too."""
    try:
        return serial, fn(*args), None
    except Exception as exc:  # noqa: BLE001 (a reader's bug must not kill the app)
        return serial, None, describe_exception(exc)


class ImageInputMixin:
    """Where :class:`~.widget.ExplorerWidget` gets its input image."""

    _image_serial = 0
    _image_task: Task | None = None
    _image_task_name = ""

    # ---------------------------------------------------------------------- input
    def set_loaded_image(self, loaded: image_data.LoadedImage) -> None:
        if self._image_task is not None:  # an image decoding meanwhile: superseded
            self._image_task = None
            self.image_loading_changed.emit(False)
        self._loaded = loaded
        self._image_changed = True  # the maps on show belong to the old image
        c, h, w = loaded.array.shape
        kind = "RGB" if c == 3 else "greyscale"
        self.input_label.setText(
            f"<b>{loaded.name}</b> — {w}×{h} {kind} (shape {c}×{h}×{w})"
        )
        self.input_view.set_image(loaded.array)
        self._show_notice_of(loaded)
        self.close_microscope()
        self.request_compute()

    # ------------------------------------------------------- decoding off the thread
    def open_image_file(self, path: str | os.PathLike[str]) -> None:
        """Decode ``path`` on the thread pool, then show it (see the module text)."""
        name = Path(path).name
        self._start_image_task(name, image_data.load_image, os.fspath(path))

    def open_image_array(self, array: np.ndarray, name: str) -> None:
        """:meth:`load_array` on the thread pool (a large pasted image is reduced
        there)."""
        self._start_image_task(name, image_data.image_from_array, array, name)

    def image_loading(self) -> bool:
        """An image is being decoded (its result will replace the input)."""
        return self._image_task is not None

    def _start_image_task(self, name: str, fn, *args: object) -> None:  # noqa: ANN001
        self._image_serial += 1
        task = Task(_image_job, self._image_serial, fn, *args)
        task.signals.finished.connect(self._on_image_task_finished)
        self._image_task = task
        self._image_task_name = name
        self.notice_label.setText(f"Opening {name}…")
        self.notice_label.show()
        self.image_loading_changed.emit(True)
        self.status_message.emit(f"Opening {name}…", 0)
        task.start()

    def _on_image_task_finished(self, outcome: tuple) -> None:
        serial, loaded, why = outcome
        if self._image_task is None or serial != self._image_serial:
            return  # superseded by a newer open, a sample, a scene
        name = self._image_task_name
        self._image_task = None
        if why is not None:  # "<path>: reason" -> "reason" (the name is said once)
            head, sep, rest = why.partition(": ")
            if sep and Path(head).name == name:
                why = rest
        self.image_loading_changed.emit(False)
        if loaded is None:  # the current image stays; say why, under it too
            kept = "" if self._loaded is None else f" Showing {self._loaded.name}."
            self.notice_label.setText(f"Could not open {name}: {why}.{kept}")
            self.notice_label.show()
            self.status_message.emit(f"Could not open {name}: {why}", 15000)
            return
        self.set_loaded_image(loaded)
        self.status_message.emit(f"Opened {name}", 4000)

    def _show_notice_of(self, loaded: image_data.LoadedImage | None) -> None:
        if loaded is not None and loaded.downscaled:
            (ow, oh), (_, h, w) = loaded.original_size, loaded.array.shape
            self.notice_label.setText(
                f"Downscaled from {ow}×{oh} to {w}×{h} so the maps stay live."
            )
            self.notice_label.show()
        else:
            self.notice_label.hide()

    def load_image_file(self, path: str | os.PathLike[str]) -> bool:
        """Load an image file now (blocking: scripts and tests; the GUI uses
        :meth:`open_image_file`); on failure say why in the status bar, change
        nothing."""
        try:
            loaded = image_data.load_image(path)
        except (ValueError, OSError) as exc:
            self.status_message.emit(f"Could not open {Path(path).name}: {exc}", 10000)
            return False
        self.set_loaded_image(loaded)
        self.status_message.emit(f"Opened {Path(path).name}", 4000)
        return True

    def load_sample(self, name: str) -> bool:
        try:
            loaded = image_data.load_sample(name)
        except (ValueError, OSError) as exc:
            self.status_message.emit(
                f"Could not open the sample {name!r}: {exc}", 10000
            )
            return False
        self.set_loaded_image(loaded)
        return True

    def load_array(self, array: np.ndarray, name: str) -> bool:
        try:
            loaded = image_data.image_from_array(array, name=name)
        except ValueError as exc:
            self.status_message.emit(f"Could not use that image: {exc}", 10000)
            return False
        self.set_loaded_image(loaded)
        return True

    def open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", "", IMAGE_FILTER)
        if path:
            self.open_image_file(path)

    def paste_image(self) -> bool:
        """Use the clipboard's image (or image file), decoded off the GUI thread;
        False when it holds none."""
        mime = QApplication.clipboard().mimeData()
        if mime is not None and mime.hasImage():
            image = QImage(mime.imageData())
            if not image.isNull():
                self.open_image_array(qimage_to_array(image), "pasted image")
                return True
        if mime is not None and mime.hasUrls():
            for url in mime.urls():
                if url.isLocalFile():
                    self.open_image_file(url.toLocalFile())
                    return True
        self.status_message.emit("The clipboard holds no image.", 5000)
        return False

    def dragEnterEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt)
        mime = event.mimeData()
        if mime.hasImage() or (
            mime.hasUrls() and any(u.isLocalFile() for u in mime.urls())
        ):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt)
        mime = event.mimeData()
        for url in mime.urls():
            if url.isLocalFile():
                self.open_image_file(url.toLocalFile())
                event.acceptProposedAction()
                return
        if mime.hasImage():
            image = QImage(mime.imageData())
            if not image.isNull():
                self.open_image_array(qimage_to_array(image), "dropped image")
            event.acceptProposedAction()

    def _on_samples_menu_triggered(self, action: QAction) -> None:
        self.load_sample(action.data())

    def open_draw_dialog(self) -> None:
        canvas_class = _draw_canvas_class()
        if canvas_class is None:
            self.status_message.emit("Drawing is not available in this build.", 5000)
            return
        dialog = QDialog(self)
        dialog.setWindowTitle("Draw an input")
        layout = QVBoxLayout(dialog)
        canvas = canvas_class()
        canvas.setMinimumSize(280, 280)
        layout.addWidget(canvas, 1)
        layout.addWidget(
            QLabel("Draw with the mouse; the drawing becomes the input image.")
        )
        box = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        clear = box.addButton("Clear", QDialogButtonBox.ButtonRole.ResetRole)
        clear.clicked.connect(canvas.clear)
        box.accepted.connect(dialog.accept)
        box.rejected.connect(dialog.reject)
        layout.addWidget(box)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.load_array(np.asarray(canvas.image(), np.float32), "drawing")
