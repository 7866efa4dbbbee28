"""The explorer's input image: files, samples, the clipboard, drag and drop, and
the drawing dialog.

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


class ImageInputMixin:
    """Where :class:`~.widget.ExplorerWidget` gets its input image."""

    # ---------------------------------------------------------------------- input
    def set_loaded_image(self, loaded: image_data.LoadedImage) -> None:
        self._loaded = loaded
        self._image_changed = True  # the maps on show belong to the old image
        c, h, w = loaded.array.shape
        kind = "RGB" if c == 3 else "greyscale"
        self.input_label.setText(
            f"<b>{loaded.name}</b> — {w}×{h} {kind} (shape {c}×{h}×{w})"
        )
        if loaded.downscaled:
            ow, oh = loaded.original_size
            self.notice_label.setText(
                f"Downscaled from {ow}×{oh} to {w}×{h} so the maps stay live."
            )
            self.notice_label.show()
        else:
            self.notice_label.hide()
        self.input_view.set_image(loaded.array)
        self.close_microscope()
        self.request_compute()

    def load_image_file(self, path: str | os.PathLike[str]) -> bool:
        """Load an image file; on failure say why in the status bar, change nothing."""
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
            self.load_image_file(path)

    def paste_image(self) -> bool:
        mime = QApplication.clipboard().mimeData()
        if mime is not None and mime.hasImage():
            image = QImage(mime.imageData())
            if not image.isNull():
                return self.load_array(qimage_to_array(image), "pasted image")
        if mime is not None and mime.hasUrls():
            for url in mime.urls():
                if url.isLocalFile():
                    return self.load_image_file(url.toLocalFile())
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
                self.load_image_file(url.toLocalFile())
                event.acceptProposedAction()
                return
        if mime.hasImage():
            self.load_array(qimage_to_array(QImage(mime.imageData())), "dropped image")
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
