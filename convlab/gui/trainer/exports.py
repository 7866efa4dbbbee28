"""The trainer's exports: the curves (PNG, SVG, CSV), the confusion matrix and the
galleries (PNG), each from a menu entry or a button, written whole or not at all
(:func:`convlab._files.atomic_write`), with the outcome said in the status bar and
next to the button that asked."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QPoint, QRect, QSize, Qt, Slot
from PySide6.QtGui import QAction, QColor, QFont, QImage, QKeySequence, QPainter
from PySide6.QtWidgets import QFileDialog, QLabel, QMenu, QWidget

from .curves import CurvesView, image_png_bytes, write_file
from .predictions import DigitGallery

__all__ = ["TrainerExports", "confusion_png", "galleries_png"]

_FILTERS = {
    "png": "PNG image (*.png)",
    "svg": "SVG drawing (*.svg)",
    "csv": "CSV table (*.csv)",
}


def confusion_png(view: QWidget, scale: float = 2.0) -> bytes:
    """The confusion matrix view (title, matrix, hint) drawn at ``scale`` times its
    size on screen, as PNG bytes."""
    size = view.size()
    image = QImage(
        QSize(round(size.width() * scale), round(size.height() * scale)),
        QImage.Format.Format_RGB32,
    )
    image.fill(view.palette().window().color())
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(scale, scale)
    view.render(painter, QPoint(0, 0))
    painter.end()
    return image_png_bytes(image)


def _gallery_height(gallery: DigitGallery, columns: int, tile: QSize, width: int):
    rows = -(-gallery.list.count() // columns) if gallery.list.count() else 0
    return rows * tile.height()


def galleries_png(galleries: list[DigitGallery], columns: int = 8) -> bytes:
    """Every tile of the ``galleries`` (not only those scrolled into view): each
    gallery's title, then its images with their captions, ``columns`` a row, as PNG
    bytes."""
    grid = max((g.list.gridSize() for g in galleries), key=lambda s: s.width())
    tile = QSize(grid.width() + 8, grid.height() + 6)
    width = max(columns * tile.width() + 24, 480)
    font = QFont()
    font.setPointSize(11)
    title_font = QFont(font)
    title_font.setBold(True)
    title_h = 3 * 22  # up to three wrapped lines
    height = 12 + sum(
        title_h + _gallery_height(g, columns, tile, width) + 16 for g in galleries
    )
    image = QImage(QSize(width, max(height, 40)), QImage.Format.Format_RGB32)
    image.fill(QColor(250, 250, 250))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QColor(20, 20, 20))
    y = 12
    for gallery in galleries:
        painter.setFont(title_font)
        painter.drawText(
            QRect(12, y, width - 24, title_h),
            int(Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap),
            gallery.title.text(),
        )
        y += title_h
        painter.setFont(font)
        icon_size = gallery.list.iconSize()
        for i in range(gallery.list.count()):
            item = gallery.list.item(i)
            col, row = i % columns, i // columns
            x0, y0 = 12 + col * tile.width(), y + row * tile.height()
            pixmap = item.icon().pixmap(icon_size)
            painter.drawPixmap(x0 + (tile.width() - pixmap.width()) // 2, y0, pixmap)
            painter.drawText(
                QRect(x0, y0 + pixmap.height() + 2, tile.width(), 20),
                int(Qt.AlignmentFlag.AlignHCenter),
                item.text(),
            )
        y += _gallery_height(gallery, columns, tile, width) + 16
    painter.end()
    return image_png_bytes(image)


class TrainerExports(QObject):
    """The export actions of a trainer: ``curves_action`` (Ctrl+Shift+X, a file
    dialog whose type chooses PNG, SVG or CSV), ``confusion_action`` and
    ``galleries_action`` (PNG). ``export_*(path)`` write without asking (tests,
    scripts) and return an error sentence ("" on success)."""

    def __init__(
        self,
        parent: QWidget,
        curves: CurvesView,
        confusion: QWidget,
        galleries: list[DigitGallery],
        message: Callable[[str, int], None],
        results_note: QLabel | None = None,
    ) -> None:
        super().__init__(parent)
        self._parent, self.curves, self.confusion = parent, curves, confusion
        self.galleries = galleries
        self._message = message
        self.results_note = results_note
        self.folder = str(Path.home())
        curves.export_requested.connect(self._on_curves_export_requested)
        self.curves_action = self._action(
            "Export &curves...",
            self._on_curves_action_triggered,
            "Ctrl+Shift+X",
            "Save the loss and accuracy curves as PNG or SVG, or the runs as CSV",
        )
        self.confusion_action = self._action(
            "Export confusion &matrix as PNG...",
            self.ask_confusion,
            None,
            "Save the Results tab's confusion matrix as a PNG image",
        )
        self.galleries_action = self._action(
            "Export &galleries as PNG...",
            self.ask_galleries,
            None,
            "Save the Results tab's example and cell galleries as a PNG image",
        )

    def _action(self, text: str, slot, shortcut: str | None, tip: str) -> QAction:
        action = QAction(text, self._parent)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.triggered.connect(slot)
        self._parent.addAction(action)
        return action

    def add_to_menu(self, menu: QMenu) -> None:
        menu.addSeparator()
        for action in (
            self.curves_action,
            self.confusion_action,
            self.galleries_action,
        ):
            menu.addAction(action)

    # -- asking for a file -------------------------------------------------------------
    def _ask(self, title: str, name: str, formats: list[str]) -> str:
        filters = ";;".join(_FILTERS[f] for f in formats)
        path, chosen = QFileDialog.getSaveFileName(
            self._parent, title, os.path.join(self.folder, name), filters
        )
        if not path:
            return ""
        if not Path(path).suffix:
            fmt = next((f for f in formats if _FILTERS[f] == chosen), formats[0])
            path += f".{fmt}"
        self.folder = str(Path(path).parent)
        return path

    @Slot()
    def _on_curves_action_triggered(self) -> None:
        # its own slot: QAction.triggered's `checked` must not reach `fmt`
        self.ask_curves("png")

    def ask_curves(self, fmt: str = "png") -> None:
        """A file dialog for the curves, ``fmt`` ("png", "svg", "csv") first."""
        if fmt not in _FILTERS:
            raise ValueError(
                f"`fmt` must be one of {sorted(_FILTERS)}. Received: fmt={fmt!r}"
            )
        formats = [fmt] + [f for f in ("png", "svg", "csv") if f != fmt]
        path = self._ask("Export the curves", f"curves.{fmt}", formats)
        if path:
            self.export_curves(path)

    @Slot(str)
    def _on_curves_export_requested(self, fmt: str) -> None:
        self.ask_curves(fmt)

    @Slot()
    def ask_confusion(self) -> None:
        path = self._ask("Export the confusion matrix", "confusion.png", ["png"])
        if path:
            self.export_confusion(path)

    @Slot()
    def ask_galleries(self) -> None:
        path = self._ask("Export the galleries", "galleries.png", ["png"])
        if path:
            self.export_galleries(path)

    # -- writing -----------------------------------------------------------------------
    def _report(self, what: str, path: str, error: Exception | None, note) -> str:
        if error is None:
            text = f"Saved {what} to {path}"
            self._message(text, 6000)
            if note is not None:
                note.setText(f"saved {Path(path).name}")
                note.setStyleSheet("")
                note.setToolTip(text)
            return ""
        text = f"Could not save {what}: {error}"
        self._message(text, 15000)
        if note is not None:
            note.setText(f"not saved: {error}")
            note.setStyleSheet("color: #e57373;")
            note.setToolTip(text)
        return text

    def export_curves(self, path: str | os.PathLike[str]) -> str:
        """The curves to ``path`` (.png, .svg or .csv)."""
        try:
            self.curves.export(path)
        except (OSError, ValueError) as exc:
            return self._report("the curves", str(path), exc, self.curves.note)
        return self._report("the curves", str(path), None, self.curves.note)

    def export_confusion(self, path: str | os.PathLike[str]) -> str:
        try:
            write_file(path, confusion_png(self.confusion))
        except OSError as exc:
            return self._report(
                "the confusion matrix", str(path), exc, self.results_note
            )
        return self._report("the confusion matrix", str(path), None, self.results_note)

    def export_galleries(self, path: str | os.PathLike[str]) -> str:
        try:
            write_file(path, galleries_png(self.galleries))
        except OSError as exc:
            return self._report("the galleries", str(path), exc, self.results_note)
        return self._report("the galleries", str(path), None, self.results_note)
