"""Presentation settings: the UI scale, the high-contrast theme, where they are kept.

The scale multiplies the application font (every widget that does not set its own
font follows it; the explorer scales its own sizes from the same number), so text,
table rows, map titles and the microscope grow together. The high-contrast theme is a
black-and-white palette with a yellow highlight and thicker focus frames, for
projectors that wash out greys.

Settings live in an INI file (``QSettings`` in ``IniFormat``): the user's, or the file
named by the environment variable ``CONVLAB_SETTINGS`` (tests point it, or pass their
own ``QSettings``, at a temporary path so they never touch the user's file).
"""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QWidget

SCALE_MIN = 1.0
SCALE_MAX = 2.5
SCALE_STEP = 0.25
SETTINGS_ENV = "CONVLAB_SETTINGS"

KEY_SCALE = "view/ui_scale"
KEY_HIGH_CONTRAST = "view/high_contrast"
KEY_COLORMAPS = "view/colormap_"  # + "maps" / "input" / "microscope"
KEY_ROBUST = "view/robust_contrast"

HIGH_CONTRAST_STYLE = """
QWidget { color: #ffffff; background-color: #000000; }
QToolTip { color: #000000; background-color: #ffff00; border: 1px solid #ffffff; }
QPushButton, QComboBox, QSpinBox, QDoubleSpinBox, QLineEdit, QTabBar::tab {
    border: 2px solid #ffffff; padding: 2px 6px; background-color: #000000;
}
QPushButton:focus, QComboBox:focus, QSpinBox:focus, QDoubleSpinBox:focus,
QLineEdit:focus { border: 3px solid #ffff00; }
QTabBar::tab:selected { background-color: #ffff00; color: #000000; }
QGroupBox { border: 2px solid #ffffff; margin-top: 1.2em; }
QGroupBox::title { subcontrol-origin: margin; left: 6px; }
QMenu::item:selected, QMenuBar::item:selected {
    background-color: #ffff00; color: #000000;
}
QHeaderView::section { color: #ffffff; background-color: #202020; }
QTableWidget { gridline-color: #ffffff; }
QCheckBox::indicator {
    width: 0.9em; height: 0.9em; border: 2px solid #ffffff; background: #000000;
}
QCheckBox::indicator:checked { background: #ffff00; }
"""

_defaults: dict[str, object] = {}


def clamp_scale(scale: float) -> float:
    """A UI scale within [SCALE_MIN, SCALE_MAX], rounded to the step."""
    try:
        s = float(scale)
    except (TypeError, ValueError):
        return SCALE_MIN
    if s != s:  # NaN
        return SCALE_MIN
    s = round(s / SCALE_STEP) * SCALE_STEP
    return min(max(s, SCALE_MIN), SCALE_MAX)


def check_scale(scale: float) -> float:
    """``scale`` if it is a number in range, else a ValueError naming it."""
    try:
        s = float(scale)
    except (TypeError, ValueError):
        s = float("nan")
    if not (SCALE_MIN <= s <= SCALE_MAX):
        raise ValueError(
            f"`scale` must be a number in [{SCALE_MIN:g}, {SCALE_MAX:g}]. "
            f"Received: scale={scale!r}"
        )
    return s


def _remember_defaults(app: QApplication) -> None:
    if not _defaults:
        _defaults["font"] = QFont(app.font())
        _defaults["palette"] = QPalette(app.palette())
        _defaults["style"] = app.styleSheet()


def base_point_size(app: QApplication | None = None) -> float:
    """The application font's size at UI scale 1."""
    app = app or QApplication.instance()
    _remember_defaults(app)
    size = _defaults["font"].pointSizeF()  # type: ignore[attr-defined]
    return size if size > 0 else 9.0


#: :func:`relative_font` factors: headline figures (12 pt beside the usual 9 pt), and
#: hints and read-outs (11 pt)
BIG_FONT, HINT_FONT = 1.3, 1.2
#: the explorer's hover read-out: 11 pt beside the usual 9
HOVER_FONT = 11.0 / 9.0

#: a widget property: its text is this many times the application font's size
FONT_FACTOR = "convlabFontFactor"


def relative_font(widget: QWidget, factor: float = 1.0, bold: bool = False) -> None:
    """Text of ``widget`` ``factor`` times the application font, bold or not, kept
    so through UI scale changes (a style sheet's ``font-size: 11pt`` stays 11 pt in
    presentation view, and any own style sheet froze the size: see
    :func:`apply_scale`)."""
    app = QApplication.instance()
    font = QFont(widget.font())
    font.setBold(bold)
    if factor != 1.0:
        widget.setProperty(FONT_FACTOR, float(factor))
        font.setPointSizeF(app.font().pointSizeF() * factor)
        widget.setFont(font)
        return
    only_weight = QFont()  # the size stays the parent's, and follows it
    only_weight.setBold(bold)
    widget.setFont(only_weight)


def apply_scale(
    scale: float, app: QApplication | None = None, root: QWidget | None = None
) -> None:
    """Set the application font to ``scale`` times its start-up size; in ``root``
    (a window) and its children, widgets with their own style sheet and
    :func:`relative_font` sizes follow."""
    app = app or QApplication.instance()
    _remember_defaults(app)
    font = QFont(_defaults["font"])  # type: ignore[arg-type]
    size = base_point_size(app) * check_scale(scale)
    font.setPointSizeF(size)
    app.setFont(font)
    widgets = [] if root is None else [root, *root.findChildren(QWidget)]
    if app.styleSheet():
        # widgets styled by a sheet keep their old font until they are polished
        # again (measured: a QPushButton stayed at 9 pt after the font went to 18
        # pt). Re-polishing root's widgets one by one gives the same fonts as
        # setting the application's sheet again, which re-parses it and polishes
        # every widget of the process: 92 against 508 ms for the main window's 900
        # widgets in the high-contrast theme (its fuzz test stalled 2.2 s in CI on
        # one Ctrl+=)
        if root is None:
            app.setStyleSheet(app.styleSheet())
        else:
            style = app.style()
            for widget in widgets:
                style.unpolish(widget)
                style.polish(widget)
    # root's children, not app.allWidgets(): wrapping every widget of the process,
    # windows already closed among them, crashed PySide6 in the tests
    for widget in widgets:
        factor = widget.property(FONT_FACTOR)
        if factor:
            own = QFont(widget.font())
            own.setPointSizeF(size * float(factor))
            widget.setFont(own)
        elif widget.styleSheet():
            # the same for a widget's own sheet, even a colour alone (measured: a
            # bold title and a red error label stayed at 9 pt beside 18 pt text)
            widget.setStyleSheet(widget.styleSheet())


def high_contrast_palette() -> QPalette:
    palette = QPalette()
    black, white, yellow = QColor("#000000"), QColor("#ffffff"), QColor("#ffff00")
    for role, colour in (
        (QPalette.ColorRole.Window, black),
        (QPalette.ColorRole.WindowText, white),
        (QPalette.ColorRole.Base, black),
        (QPalette.ColorRole.AlternateBase, QColor("#202020")),
        (QPalette.ColorRole.Text, white),
        (QPalette.ColorRole.Button, black),
        (QPalette.ColorRole.ButtonText, white),
        (QPalette.ColorRole.BrightText, yellow),
        (QPalette.ColorRole.Highlight, yellow),
        (QPalette.ColorRole.HighlightedText, black),
        (QPalette.ColorRole.ToolTipBase, yellow),
        (QPalette.ColorRole.ToolTipText, black),
        (QPalette.ColorRole.Link, QColor("#80d8ff")),
    ):
        palette.setColor(role, colour)
    return palette


def apply_high_contrast(on: bool, app: QApplication | None = None) -> None:
    """Switch the black-and-white high-contrast theme on or off."""
    app = app or QApplication.instance()
    _remember_defaults(app)
    if on:
        app.setPalette(high_contrast_palette())
        app.setStyleSheet(str(_defaults["style"]) + HIGH_CONTRAST_STYLE)
    else:
        app.setPalette(_defaults["palette"])  # type: ignore[arg-type]
        app.setStyleSheet(str(_defaults["style"]))


def restore_defaults(app: QApplication | None = None) -> None:
    """Scale 1 and the normal theme (tests restore the shared QApplication)."""
    app = app or QApplication.instance()
    if _defaults:
        apply_high_contrast(False, app)
        app.setFont(_defaults["font"])  # type: ignore[arg-type]


def settings() -> QSettings:
    """Where convlab remembers its view settings (see the module docstring)."""
    path = os.environ.get(SETTINGS_ENV)
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, "convlab", "convlab"
    )


def read_bool(store: QSettings, key: str, default: bool = False) -> bool:
    value = store.value(key, default)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
