"""The explorer tab: input, filter bank, kernel editor, geometry, feature maps and
microscope.

Data flow: widgets -> :class:`~convlab.explore.Settings` (frozen) ->
:func:`~convlab.explore.validate` (inline messages) -> on the thread pool, a
:class:`~.render.Renderer` (:func:`~convlab.explore.compute` with a cache, then the maps
coloured to pixels) -> :meth:`FeatureGrid.set_rendered` (existing items, no colouring
on the GUI thread). While a compute runs only the newest settings are remembered; they
start when it finishes (latest settings win).
"""

import os
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QAction, QImage, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from convlab import colormaps as cmaps
from convlab import explore
from convlab._files import atomic_write
from convlab.data import filters as filter_data
from convlab.data import images as image_data
from convlab.explore import Result, Settings

from ..scroll import PanelScrollArea
from ..workers import Task
from .animation import AnimationKeys, AnimationPanel
from .colormaps import (
    AUTO,
    CHOICE_LABELS,
    CHOICE_TIPS,
    CHOICES,
    ROBUST_PERCENTILE,
    to_rgb,
)
from .controls import GeometryPanel, ShapesPanel
from .feature_grid import FeatureGrid, InputView
from .filter_bank import BankEntry, FilterBankPanel
from .kernel_editor import KernelEditor
from .microscope import MicroscopePanel
from .render import Rendered, Renderer
from .settings import build_settings
from .undo import GeometryEdit, KernelEdit

INPUT_HEIGHT = 150  # px at UI scale 1
LEFT_MIN_WIDTH = 250  # px: these three fit a 1024-pixel screen side by side
GRID_MIN_WIDTH = 240
MICROSCOPE_MIN_WIDTH = 240

_PATTERNS = " ".join("*" + ext for ext in image_data.IMAGE_EXTENSIONS)
IMAGE_FILTER = f"Images ({_PATTERNS});;All files (*)"


def atomic_save_npy(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """``np.save`` to a temporary file next to ``path``, then rename over it."""
    path = Path(path)
    if path.suffix != ".npy":
        path = path.with_suffix(".npy")
    with atomic_write(path) as handle:
        np.save(handle, array)


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


class ExplorerWidget(QWidget):
    """The explorer tab.

    Signals
    -------
    status_message(str, int)
        Text for the status bar and a timeout in ms (0: until replaced).
    maps_displayed(object)
        A :class:`~convlab.explore.Result` is now shown by the grid.
    hover_changed(str)
        The value under the cursor, described ('' when over nothing).
    busy_changed(bool)
        A compute started (True) or all computes finished (False).
    display_changed()
        A colour map, the robust-contrast option or the controls' visibility changed
        (the main window remembers them).
    """

    status_message = Signal(str, int)
    maps_displayed = Signal(object)
    hover_changed = Signal(str)
    busy_changed = Signal(bool)
    display_changed = Signal()

    VIEWS = ("maps", "input", "microscope")

    def __init__(
        self, image_path: str | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._loaded: image_data.LoadedImage | None = None
        self._result: Result | None = None
        self._task: Task | None = None
        self._pending: tuple | None = None
        self._renderer = Renderer()
        self._rendered: Rendered | None = None
        explore.reuse_freed_memory()
        self._kernels_ready = False
        self._last_changed: str | None = None
        self._started_at = 0.0
        self._inspected: tuple[int, str, int, int] | None = None
        self._conv_cell: tuple[int, int] | None = None
        self._requested: tuple | None = None
        self._colormaps = {"maps": AUTO, "input": "grey", "microscope": "grey"}
        # on by default: a Sobel map's few strongest pixels otherwise set the scale
        # and leave the edges a pale tint of white
        self._robust = True
        self._ui_scale = 1.0

        self._image_changed = False

        self._build_ui()
        self._build_problem_ui()
        self._build_undo()
        self._build_actions()
        self.geometry.set_values(Settings())
        self._geometry_shown = self.geometry.values()
        self.bank.set_bank(filter_data.default_bank())
        self.undo_stack.clear()
        if image_path:
            if not self.load_image_file(image_path):
                self.load_sample(image_data.SAMPLES[0].name)
        else:
            self.load_sample(image_data.SAMPLES[0].name)

    # ----------------------------------------------------------------------- layout
    def _build_ui(self) -> None:
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        outer.addWidget(splitter)
        self.splitter = splitter

        # left: input + tabs of controls
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        input_box = QGroupBox("Input")
        input_layout = QVBoxLayout(input_box)
        self.input_view = InputView()
        self.input_view.setFixedHeight(INPUT_HEIGHT)
        self.input_view.setToolTip(
            "The input image. Drop a file here, paste one (Ctrl+V) or open one "
            "(Ctrl+O)."
        )
        input_layout.addWidget(self.input_view)
        self.input_label = QLabel()
        self.input_label.setObjectName("input_label")
        self.input_label.setWordWrap(True)
        input_layout.addWidget(self.input_label)
        self.notice_label = QLabel()
        self.notice_label.setObjectName("notice_label")
        self.notice_label.setWordWrap(True)
        self.notice_label.setStyleSheet("color: #e65100;")
        self.notice_label.hide()
        input_layout.addWidget(self.notice_label)
        buttons = QHBoxLayout()
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip(
            "Open an image file (Ctrl+O): PNG, JPEG, BMP, TIFF, WebP, GIF"
        )
        self.sample_button = QPushButton("Samples")
        self.sample_button.setToolTip("Bundled sample images")
        self.draw_button = QPushButton("Draw…")
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.sample_button)
        buttons.addWidget(self.draw_button)
        input_layout.addLayout(buttons)
        left_layout.addWidget(input_box)

        self.control_tabs = QTabWidget()
        geometry_page = QWidget()
        geometry_layout = QVBoxLayout(geometry_page)
        self.geometry = GeometryPanel()
        geometry_layout.addWidget(self.geometry)
        shapes_box = QGroupBox("Output shape of every stage")
        shapes_layout = QVBoxLayout(shapes_box)
        self.shapes = ShapesPanel()
        shapes_layout.addWidget(self.shapes)
        geometry_layout.addWidget(shapes_box)
        geometry_layout.addStretch(1)
        self.control_tabs.addTab(self._scrolled(geometry_page), "Geometry")

        # tight margins: the bank and the whole kernel editor fit at 1500x950 unscrolled
        filters_page = QWidget()
        filters_layout = QVBoxLayout(filters_page)
        filters_layout.setContentsMargins(4, 4, 4, 4)
        bank_box = QGroupBox("Filter bank (one row of maps each)")
        bank_layout = QVBoxLayout(bank_box)
        bank_layout.setContentsMargins(6, 4, 6, 4)
        self.bank = FilterBankPanel(filter_data.PRESETS)
        bank_layout.addWidget(self.bank)
        filters_layout.addWidget(bank_box, 1)
        editor_box = QGroupBox("Kernel of the selected filter")
        editor_layout = QVBoxLayout(editor_box)
        editor_layout.setContentsMargins(6, 4, 6, 4)
        self.editor = KernelEditor()
        editor_layout.addWidget(self.editor)
        filters_layout.addWidget(editor_box, 1)
        self.control_tabs.addTab(self._scrolled(filters_page), "Filters")
        left_layout.addWidget(self.control_tabs, 1)
        left.setMinimumWidth(LEFT_MIN_WIDTH)
        self.left_panel = left
        splitter.addWidget(left)

        # centre: the grid
        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        top_row = QHBoxLayout()
        self.hover_label = QLabel(
            "Hover a map to read its values; click a pixel for the numbers behind it."
        )
        self.hover_label.setObjectName("hover_label")
        font = self.hover_label.font()
        font.setPointSizeF(max(font.pointSizeF(), 11.0))
        self.hover_label.setFont(font)
        # long hover texts must not widen the window: the label takes what is left
        self.hover_label.setSizePolicy(
            QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred
        )
        self.hover_label.setMinimumWidth(40)
        top_row.addWidget(self.hover_label, 1)
        self.show_controls_button = QPushButton("◀ Show controls")
        self.show_controls_button.setToolTip(
            "Bring back the input, geometry and filter controls (Ctrl+H)"
        )
        self.show_controls_button.hide()
        top_row.addWidget(self.show_controls_button)
        self.colormap_combo = QComboBox()
        self.colormap_combo.setObjectName("colormap_combo")
        for i, choice in enumerate(CHOICES):
            short = "Auto" if choice == AUTO else choice.capitalize()
            self.colormap_combo.addItem(short, choice)
            self.colormap_combo.setItemData(
                i,
                f"{CHOICE_LABELS[choice]}: {CHOICE_TIPS[choice]}",
                Qt.ItemDataRole.ToolTipRole,
            )
        self.colormap_combo.setToolTip(
            "Colour map of the feature maps. Auto: a signed map (a raw convolution, "
            "an edge filter) is drawn diverging, blue negative, white 0, red "
            "positive, because its sign is the information; a non-negative map "
            "(after ReLU, pooled, a blur) is drawn greyscale, black to white, so it "
            "looks like the photo it came from."
        )
        top_row.addWidget(self.colormap_combo)
        self.robust_contrast = QCheckBox("Robust")
        self.robust_contrast.setObjectName("robust_contrast")
        self.robust_contrast.setToolTip(
            f"Robust contrast: the scale ends at the {ROBUST_PERCENTILE:g}th "
            "percentile of |value| instead of the maximum, so a few extreme pixels "
            "(often at a padded border) saturate and thin edges stand out."
        )
        self.robust_contrast.setChecked(self._robust)
        top_row.addWidget(self.robust_contrast)
        self.shared_scale = QCheckBox("Shared")
        self.shared_scale.setChecked(False)
        self.shared_scale.setToolTip(
            "Shared colour scale. On: one scale for every map, so you can compare "
            "strengths. Off: each map "
            "uses its own range, so weak maps show their structure. On a diverging "
            "map white is always 0."
        )
        top_row.addWidget(self.shared_scale)
        self.reset_zoom_button = QPushButton("Reset zoom")
        self.reset_zoom_button.setToolTip(
            "Show the whole image and every whole output in every map (Ctrl+R). "
            "Scroll to zoom, drag to pan: all maps follow."
        )
        top_row.addWidget(self.reset_zoom_button)
        # hidden while the microscope is open (its "Animate from here" takes over):
        # at 1280 px this row's width is what a 9x9 microscope needs
        self.animate_button = QPushButton("▶ Animate")
        self.animate_button.setObjectName("animate_button")
        self.animate_button.setToolTip(
            "Animate the sliding window of the selected filter, step by step "
            "(Ctrl+Shift+A; Maps > Animate sliding window). Click a pixel, then "
            "'Animate from here' in the microscope to start there."
        )
        top_row.addWidget(self.animate_button)
        centre_layout.addLayout(top_row)
        self.grid = FeatureGrid()
        self.grid.setMinimumWidth(GRID_MIN_WIDTH)
        # the sliding-window animation shares the centre with the grid (hidden until
        # opened); it scrolls and wraps, so it never widens the window
        self.animation = AnimationPanel()
        self.animation.hide()
        self.animation_keys = AnimationKeys(self.animation)
        self.centre_splitter = QSplitter(Qt.Orientation.Vertical)
        self.centre_splitter.setChildrenCollapsible(False)
        self.centre_splitter.addWidget(self.grid)
        self.centre_splitter.addWidget(self.animation)
        centre_layout.addWidget(self.centre_splitter, 1)
        splitter.addWidget(centre)

        # right: the microscope (hidden until a click)
        self.microscope = MicroscopePanel()
        self.microscope.setMinimumWidth(MICROSCOPE_MIN_WIDTH)
        self.microscope.hide()
        splitter.addWidget(self.microscope)
        splitter.setSizes([430, 1000, 0])
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setStretchFactor(2, 0)

        # connections: every widget signal goes to a method of this (GUI-thread) object
        self.geometry.changed.connect(self._on_geometry_changed)
        self.bank.bank_changed.connect(self._on_bank_changed)
        self.bank.current_changed.connect(self._on_bank_current_changed)
        self.bank.save_requested.connect(self.save_bank_dialog)
        self.bank.load_requested.connect(self.load_bank_dialog)
        self.editor.kernel_edited.connect(self._on_editor_kernel_edited)
        self.editor.bias_edited.connect(self._on_editor_bias_edited)
        self.grid.hovered.connect(self._on_grid_hovered)
        self.grid.pixel_clicked.connect(self._on_grid_pixel_clicked)
        self.microscope.close_requested.connect(self.close_microscope)
        self.microscope.pool_cell_clicked.connect(self._on_microscope_pool_cell_clicked)
        self.shared_scale.toggled.connect(self._on_shared_scale_toggled)
        self.reset_zoom_button.clicked.connect(self.grid.reset_zoom)
        self.colormap_combo.currentIndexChanged.connect(self._on_colormap_combo_changed)
        self.robust_contrast.toggled.connect(self._on_robust_contrast_toggled)
        self.show_controls_button.clicked.connect(self._on_show_controls_clicked)
        self.open_button.clicked.connect(self.open_image_dialog)
        self.draw_button.clicked.connect(self.open_draw_dialog)
        self.animate_button.clicked.connect(self.open_animation)
        self.animation.close_requested.connect(self.close_animation)
        self.microscope.animate_requested.connect(self.animate_from_microscope)

    @staticmethod
    def _scrolled(widget: QWidget) -> QScrollArea:
        area = PanelScrollArea(widget)
        # sideways only when the panel is narrower than its widgets (1024 px screens)
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        return area

    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:  # noqa: ANN001
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        self.actions_by_name: dict[str, QAction] = {
            "open": self._action(
                "&Open image…",
                self.open_image_dialog,
                QKeySequence.StandardKey.Open,
                "Open an image file",
            ),
            "paste": self._action(
                "&Paste image",
                self.paste_image,
                QKeySequence.StandardKey.Paste,
                "Use the image (or image file) on the clipboard as input",
            ),
            "draw": self._action(
                "&Draw an input…",
                self.open_draw_dialog,
                "Ctrl+D",
                "Draw an input image by hand",
            ),
            "save_bank": self._action(
                "&Save filter bank…", self.save_bank_dialog, "Ctrl+Shift+B"
            ),
            "load_bank": self._action(
                "&Load filter bank…", self.load_bank_dialog, "Ctrl+L"
            ),
            "export_grid": self._action(
                "Export grid as &PNG…", self.export_grid_dialog, "Ctrl+E"
            ),
            "export_map": self._action(
                "Export selected &map as PNG…", self.export_map_dialog, "Ctrl+Shift+E"
            ),
            "export_npy": self._action(
                "Export selected map as .&npy…", self.export_npy_dialog, "Ctrl+Shift+N"
            ),
            "export_all_npy": self._action(
                "Export &all maps as .npy…", self.export_all_npy_dialog
            ),
            "undo": self._undo_action,
            "redo": self._redo_action,
            "reset_zoom": self._action(
                "&Reset zoom",
                self.grid.reset_zoom,
                "Ctrl+R",
                "Show the whole input and every whole output",
            ),
            "robust": self._action(
                "R&obust contrast",
                self.robust_contrast.toggle,
                "Ctrl+Shift+K",
                f"Clip each scale at the {ROBUST_PERCENTILE:g}th percentile of |value|",
            ),
            "hide_controls": self._action(
                "&Hide controls",
                self.toggle_controls,
                "Ctrl+H",
                "Hide the input and controls: the maps take the width "
                "(Ctrl+H or the Show controls button brings them back)",
            ),
            "shared": self._action(
                "&Shared colour scale",
                self.shared_scale.toggle,
                "Ctrl+K",
                "Toggle one colour scale for all maps vs one per map",
            ),
            "close_microscope": self._action(
                "Close &microscope", self.close_microscope, "Esc"
            ),
            "animate": self._action(
                "&Animate sliding window",
                self.open_animation,
                "Ctrl+Shift+A",
                "Play, step and scrub the sliding window of the selected filter",
            ),
        }
        self.samples_menu = QMenu("&Samples", self)
        for sample in image_data.SAMPLES:
            action = self.samples_menu.addAction(sample.title)
            action.setToolTip(sample.credit)
            action.setData(sample.name)
        self.samples_menu.triggered.connect(self._on_samples_menu_triggered)
        self.samples_menu.setToolTipsVisible(True)
        self.sample_button.setMenu(self.samples_menu)
        if _draw_canvas_class() is None:
            for widget in (self.actions_by_name["draw"], self.draw_button):
                widget.setEnabled(False)
                widget.setToolTip(
                    "Drawing needs convlab.gui.draw_canvas (not available yet)."
                )
        else:
            self.draw_button.setToolTip("Draw an input by hand (Ctrl+D)")

    def menus(self) -> list[QMenu]:
        """The explorer's menus, for the main window's menu bar."""
        a = self.actions_by_name
        file_menu = QMenu("&Image", self)
        for key in ("open", "paste", "draw"):
            file_menu.addAction(a[key])
        file_menu.addMenu(self.samples_menu)
        file_menu.addSeparator()
        for key in ("export_grid", "export_map", "export_npy", "export_all_npy"):
            file_menu.addAction(a[key])
        filters_menu = QMenu("&Filters", self)
        for key in ("save_bank", "load_bank"):
            filters_menu.addAction(a[key])
        view_menu = QMenu("&Maps", self)
        for key in ("reset_zoom", "shared", "robust", "close_microscope", "animate"):
            view_menu.addAction(a[key])
        view_menu.addSeparator()
        titles = {
            "maps": "Colour map of the &feature maps",
            "input": "Colour map of the &input (greyscale images)",
            "microscope": "Colour map of the &microscope's image",
        }
        for view in self.VIEWS:
            sub = view_menu.addMenu(titles[view])
            sub.setToolTipsVisible(True)
            for choice in CHOICES if view == "maps" else cmaps.NAMES:
                action = sub.addAction(CHOICE_LABELS[choice])
                action.setCheckable(True)
                action.setToolTip(CHOICE_TIPS[choice])
                action.setData((view, choice))
            sub.aboutToShow.connect(self._on_colormap_menu_about_to_show)
            sub.triggered.connect(self._on_colormap_menu_triggered)
        return [file_menu, self.edit_menu(), filters_menu, view_menu]

    # ------------------------------------------------------------ display options
    def colormap(self, view: str) -> str:
        """The colour map choice of ``view`` ("maps", "input" or "microscope")."""
        return self._colormaps[view]

    def set_colormap(self, view: str, choice: str) -> None:
        """Choose the colour map of a view ("auto" only for the feature maps)."""
        if view not in self.VIEWS:
            raise ValueError(
                f"`view` must be one of {', '.join(self.VIEWS)}. "
                f"Received: view={view!r}"
            )
        allowed = CHOICES if view == "maps" else cmaps.NAMES
        if choice not in allowed:
            raise ValueError(
                f"`choice` must be one of {', '.join(allowed)}. "
                f"Received: choice={choice!r}"
            )
        if self._colormaps[view] == choice:
            return
        self._colormaps[view] = choice
        if view == "maps":
            with QSignalBlocker(self.colormap_combo):
                self.colormap_combo.setCurrentIndex(CHOICES.index(choice))
            self.request_compute()  # recolour only: every stage comes from the cache
        elif view == "input":
            self.input_view.set_colormap(choice)
        else:
            self.microscope.set_colormap(choice)
        self.display_changed.emit()

    def robust_contrast_on(self) -> bool:
        return self._robust

    def set_robust_contrast(self, on: bool) -> None:
        """Clip each map's scale at :data:`ROBUST_PERCENTILE` (or not)."""
        self.robust_contrast.setChecked(bool(on))  # -> _on_robust_contrast_toggled

    def controls_visible(self) -> bool:
        return not self.left_panel.isHidden()

    def set_controls_visible(self, visible: bool) -> None:
        """Hide or show the input and control panel (presentation view)."""
        visible = bool(visible)
        if visible == self.controls_visible():
            return
        self.left_panel.setVisible(visible)
        self.show_controls_button.setVisible(not visible)
        self.display_changed.emit()

    def toggle_controls(self) -> None:
        self.set_controls_visible(not self.controls_visible())

    def set_ui_scale(self, scale: float) -> None:
        """Scale the explorer's own sizes (the application font is the main window's):
        map titles, the input view, the microscope."""
        self._ui_scale = float(scale)
        self.grid.set_ui_scale(scale)
        self.microscope.set_ui_scale(scale)
        self.animation.set_ui_scale(scale)
        self.input_view.setFixedHeight(round(INPUT_HEIGHT * min(scale, 1.6)))
        font = QApplication.font()
        font.setPointSizeF(font.pointSizeF() * 11.0 / 9.0)
        self.hover_label.setFont(font)
        if self.microscope.isVisible():
            self._fit_microscope()

    def set_foreground(self, colour: str) -> None:
        """Text colour of the map titles (high-contrast theme)."""
        self.grid.set_foreground(colour)

    def _on_colormap_combo_changed(self, index: int) -> None:
        self.set_colormap("maps", CHOICES[index])

    def _on_robust_contrast_toggled(self, on: bool) -> None:
        self._robust = bool(on)
        self.request_compute()
        self.display_changed.emit()

    def _on_show_controls_clicked(self) -> None:
        self.set_controls_visible(True)

    def _on_colormap_menu_about_to_show(self) -> None:
        menu = self.sender()
        for action in menu.actions():
            view, choice = action.data()
            action.setChecked(self._colormaps[view] == choice)

    def _on_colormap_menu_triggered(self, action: QAction) -> None:
        view, choice = action.data()
        self.set_colormap(view, choice)

    # ----------------------------------------------------------------------- state
    def settings(self) -> Settings:
        """The frozen settings the widgets show now."""
        return build_settings(self.bank.filters(), self.geometry.values())

    def result(self) -> Result | None:
        """The result on display (the last good one)."""
        return self._result

    def image(self) -> np.ndarray | None:
        return None if self._loaded is None else self._loaded.array

    def rendered(self) -> Rendered | None:
        """The result on display with its pixels."""
        return self._rendered

    def is_up_to_date(self) -> bool:
        """The view shows the newest valid settings (nothing running or pending)."""
        shown = self._rendered
        return (
            shown is not None
            and self._task is None
            and self._pending is None
            and self._requested
            == (
                shown.result.settings,
                shown.shared,
                shown.colormap,
                shown.clip_percentile,
            )
        )

    def is_busy(self) -> bool:
        return self._task is not None

    def set_kernels_ready(self) -> None:
        """The JIT warm-up finished: computes may start."""
        self._kernels_ready = True
        self.request_compute()

    # ---------------------------------------------------------------------- compute
    def request_compute(self, changed: str | None = None) -> None:
        """Validate the current settings; compute (latest wins) when they are valid."""
        if self._loaded is None:
            return
        if changed is not None:
            self._last_changed = changed
        settings = self.settings()
        image = self._loaded.array
        plan = explore.plan(settings, image.shape, blame=self._last_changed)
        problems = list(plan.problems)
        self.geometry.show_problems(problems)
        if problems and self._image_changed:
            self._clear_stale_maps(plan)
            return
        if problems:
            self._invalid_shown = True
            self.status_message.emit(
                "Invalid setting (see the message by the control); the maps show the "
                "last valid result.",
                6000,
            )
            return
        if getattr(self, "_invalid_shown", False):
            self._invalid_shown = False
            self.status_message.emit("", 1)
        shared = self.shared_scale.isChecked()
        clip = ROBUST_PERCENTILE if self._robust else None
        colormap = self._colormaps["maps"]
        self._requested = (settings, shared, colormap, clip)
        self._pending = (image, settings, shared, colormap, clip)
        if self._task is None and self._kernels_ready:
            self._start_next()
        else:  # nothing to draw yet: the shapes at least (else they follow the maps)
            self.shapes.update_for(plan)

    def _start_next(self) -> None:
        if self._pending is None:
            return
        image, settings, shared, colormap, clip = self._pending
        self._pending = None
        task = Task(self._renderer, image, settings, shared, colormap, clip)
        task.signals.finished.connect(self._on_compute_finished)
        task.signals.failed.connect(self._on_compute_failed)
        task.image_source = image  # which image this result will belong to
        self._task = task
        self.busy_changed.emit(True)
        task.start()

    def _on_compute_finished(self, rendered: Rendered) -> None:
        source = getattr(self._task, "image_source", None)
        self._task = None
        self._start_next()  # the newest settings first, then draw this one
        if self._loaded is not None and source is self._loaded.array:
            self._show_result(rendered)  # else: computed for the previous image
        if self._task is None:
            self.busy_changed.emit(False)

    def _on_compute_failed(self, message: str) -> None:
        self._task = None
        self._start_next()
        if self._task is None:
            self.busy_changed.emit(False)
        self.status_message.emit(
            f"Could not compute the feature maps: {message}", 10000
        )

    def _show_result(self, rendered: Rendered) -> None:
        result = rendered.result
        self._image_changed = False
        self._show_maps_again()
        self._result = result
        self._rendered = rendered
        self.grid.set_rendered(rendered)
        # the maps first, then the text that describes them (1-2 ms of rich-text layout)
        self.shapes.update_for(result.plan)
        if self._inspected is not None:
            self._refresh_microscope()
        if not self.animation.isHidden():
            self.animation.set_result(result)
        self._after_scene_shown()
        self.maps_displayed.emit(result)

    def wait_until_idle(self, timeout_s: float = 30.0) -> bool:
        """Process events until no compute is running or pending (tests, scripts)."""
        deadline = time.perf_counter() + timeout_s
        app = QApplication.instance()
        while self._task is not None or (
            self._pending is not None and self._kernels_ready
        ):
            if time.perf_counter() > deadline:
                return False
            app.processEvents()
            time.sleep(0.001)
        return True

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

    # ---------------------------------------------------------------------- filters
    def add_filters(self, items: list) -> None:
        """Add ``(name, 2-D kernel)`` pairs (e.g. a trained Conv2D's filters) to the
        bank."""
        for name, kernel in items:
            k = np.asarray(kernel, np.float32)
            if (
                k.ndim == 2
                and min(k.shape) >= 1
                and max(k.shape) <= explore.MAX_KERNEL_SIDE
            ):
                self.bank.add_entry(
                    BankEntry(str(name), k.copy(), 0.0, "Imported filter.")
                )
        self.status_message.emit(f"Added {len(items)} filters to the bank.", 5000)

    def _on_bank_changed(self) -> None:
        self.request_compute("filters")

    def _on_editor_kernel_edited(self, kernel: np.ndarray) -> None:
        entry = self.bank.current_entry()
        if entry is None:
            return
        stroke = self.editor.stroke()
        self.undo_stack.push(
            KernelEdit(
                self,
                entry,
                (entry.kernel, entry.bias),
                (kernel, entry.bias),
                f"kernel edit of {entry.name}",
                merge=None if stroke is None else ("paint", stroke),
            )
        )

    def _on_editor_bias_edited(self, bias: float) -> None:
        entry = self.bank.current_entry()
        if entry is None or float(bias) == entry.bias:
            return
        self.undo_stack.push(
            KernelEdit(
                self,
                entry,
                (entry.kernel, entry.bias),
                (entry.kernel, bias),
                f"bias of {entry.name}",
                merge=("bias",),
            )
        )

    def _on_bank_current_changed(self, index: int) -> None:
        entry = self.bank.current_entry()
        self.editor.setEnabled(entry is not None)
        if entry is not None:
            self.editor.set_kernel(entry.kernel, entry.bias)
        self.animation.set_filter_index(index)

    def save_bank_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the filter bank", "filters.json", "Filter banks (*.json)"
        )
        if path:
            self.save_bank(path)

    def save_bank(self, path: str) -> bool:
        bank = [
            filter_data.FilterPreset(e.name, e.kernel, e.description)
            for e in self.bank.entries()
        ]
        try:
            filter_data.save_bank(path, bank)
        except (ValueError, OSError) as exc:
            self.status_message.emit(f"Could not save the bank: {exc}", 10000)
            return False
        self.status_message.emit(
            f"Saved {len(bank)} filters to {Path(path).name}", 5000
        )
        return True

    def load_bank_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Load a filter bank", "", "Filter banks (*.json);;All files (*)"
        )
        if path:
            self.load_bank(path)

    def load_bank(self, path: str) -> bool:
        try:
            bank = filter_data.load_bank(path)
        except (ValueError, OSError) as exc:
            self.status_message.emit(f"Could not load the bank: {exc}", 10000)
            return False
        self.bank.set_bank(bank)
        self.undo_stack.clear()  # the commands name filters that are gone
        self.status_message.emit(
            f"Loaded {len(bank)} filters from {Path(path).name}", 5000
        )
        return True

    # ---------------------------------------------------------------------- geometry
    def _on_geometry_changed(self, control: str) -> None:
        values = self.geometry.values()
        if values == self._geometry_shown:
            self.request_compute(control)
            return
        self.undo_stack.push(GeometryEdit(self, self._geometry_shown, values, control))

    # ---------------------------------------------------------------------- grid
    def _on_shared_scale_toggled(self, shared: bool) -> None:
        self.grid.set_shared_scale(shared)
        self.request_compute()  # recolour only: every stage comes from the cache

    def _on_grid_hovered(self, text: str) -> None:
        if text:
            self.hover_label.setText(text)
        self.hover_changed.emit(text)

    def _on_grid_pixel_clicked(
        self, index: int, stage: str, row: int, col: int
    ) -> None:
        self.inspect(index, stage, row, col)
        if not self.animation.isHidden():
            self.animation.set_filter_index(index)
            self.animation.jump_to_pixel(stage, row, col)

    def inspect(self, index: int, stage: str, row: int, col: int) -> None:
        """Open the microscope on one pixel of the result on display."""
        self._inspected = (index, stage, row, col)
        self._conv_cell = None
        self.grid.mark_pixel(index, stage, row, col)
        self._refresh_microscope()

    def _on_microscope_pool_cell_clicked(self, row: int, col: int) -> None:
        """Explain the convolution of another cell of the pooling window."""
        self._conv_cell = (row, col)
        self._refresh_microscope()

    def _refresh_microscope(self) -> None:
        result = self._result
        if result is None or self._inspected is None:
            return
        index, stage, row, col = self._inspected
        cell = self._conv_cell if stage == "pooled" else None
        try:
            try:
                ins = explore.inspect_pixel(
                    result, index, stage, row, col, conv_cell=cell
                )
            except ValueError:
                if cell is None:
                    raise
                self._conv_cell = None  # the new geometry moved the window
                ins = explore.inspect_pixel(result, index, stage, row, col)
        except (ValueError, IndexError) as exc:
            self.status_message.emit(f"Microscope: {exc}", 5000)
            self.close_microscope()
            return
        self.microscope.show_inspection(ins)
        was_hidden = self.microscope.isHidden()
        self.animate_button.hide()
        self.splitter.widget(1).layout().activate()  # its minimum width, now
        self.microscope.show()
        if was_hidden or self.microscope.width() < self.microscope.wanted_width():
            self._fit_microscope()
        conv = ins if isinstance(ins, explore.ConvInspection) else ins.conv
        kh, kw = conv.weight.shape[1:]
        dh, dw = conv.step
        top, _, left, _ = conv.pads
        y0, x0 = conv.origin
        self.input_view.show_window(
            QRectF(x0 - left, y0 - top, dw * (kw - 1) + 1, dh * (kh - 1) + 1)
        )

    def _fit_microscope(self) -> None:
        """Give the microscope the width its tables want, taken from the grid (then
        the controls) down to their minimums: the window never grows."""
        sizes = self.splitter.sizes()
        total = sum(sizes)
        if total <= 0:
            return
        hidden = self.left_panel.isHidden()
        left = 0 if hidden else sizes[0]
        left_min = (
            0
            if hidden
            else max(LEFT_MIN_WIDTH, self.left_panel.minimumSizeHint().width())
        )
        # the centre pane: the grid and the row of colour controls above it
        grid_min = max(
            GRID_MIN_WIDTH, self.splitter.widget(1).minimumSizeHint().width()
        )
        want = self.microscope.wanted_width()
        micro = min(want, max(total - left - grid_min, MICROSCOPE_MIN_WIDTH))
        if micro < want and left > left_min:  # narrow the controls too
            give = min(want - micro, left - left_min)
            left -= give
            micro += give
        grid = max(total - left - micro, grid_min)
        self.splitter.setSizes([left, grid, micro])

    def open_animation(self) -> None:
        """Show the sliding-window animation of the selected filter."""
        self.animation.set_result(self._result, self.bank.current_index())
        if self.animation.isHidden():
            self.animation.show()
            total = sum(self.centre_splitter.sizes())
            self.centre_splitter.setSizes([total // 3, total - total // 3])
        self.animation.setFocus()

    def animate_from_microscope(self) -> None:
        """Open the animation on the microscope's pixel."""
        inspected = self._inspected
        self.open_animation()
        if inspected is not None:
            index, stage, row, col = inspected
            self.animation.set_filter_index(index)
            self.animation.jump_to_pixel(stage, row, col)

    def close_animation(self) -> None:
        self.animation.hide()

    def close_microscope(self) -> None:
        self._inspected = None
        self.microscope.hide()
        self.animate_button.show()
        self.grid.clear_marker()
        self.input_view.show_window(None)

    # ------------------------------------------------------------------- undo/redo
    def _build_undo(self) -> None:
        """One undo stack for kernel, bias and geometry edits (see :mod:`.undo`)."""
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(500)
        self.editor.set_undo_stack(self.undo_stack)
        self._undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        self._undo_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Undo))
        self._redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        self._redo_action.setShortcut(QKeySequence("Ctrl+Shift+Z"))
        for action, tip in (
            (self._undo_action, "Undo the last kernel, bias or geometry edit"),
            (self._redo_action, "Redo the edit last undone"),
        ):
            action.setToolTip(tip)
            action.setStatusTip(tip)

    def edit_menu(self) -> QMenu:
        menu = QMenu("&Edit", self)
        menu.addAction(self._undo_action)
        menu.addAction(self._redo_action)
        return menu

    def restore_filter(self, entry: BankEntry, kernel: np.ndarray, bias: float) -> bool:
        """Undo/redo: give ``entry`` this kernel and bias, selecting it (False, and a
        status message, when it was removed from the bank)."""
        index = self.bank.index_of(entry)
        if index < 0:
            self.status_message.emit(
                f"Nothing to undo there: the filter {entry.name!r} was removed.", 5000
            )
            return False
        self.bank.update_entry(index, kernel=kernel, bias=bias)
        shown = self.editor.kernel()
        if (
            shown.shape != np.shape(kernel)
            or not np.array_equal(shown, kernel)
            or self.editor.bias.value() != bias
        ):
            self.editor.set_kernel(kernel, bias, keep_history=True)
        return True

    def restore_geometry(self, values: dict, control: str) -> None:
        """Undo/redo: show these geometry values and compute."""
        self._geometry_shown = dict(values)
        if self.geometry.values() != values:
            self.geometry.set_values(build_settings((), values))
        self.request_compute(control)

    # ------------------------------------------------------------------- scenes
    def inspected(self) -> tuple[int, str, int, int] | None:
        """(filter, stage, row, col) of the pixel under the microscope, or None."""
        return self._inspected

    def shown_colormap(self, index: int, stage: str = "conv") -> str:
        """The colour map a filter's map is drawn with now (resolves "auto")."""
        rendered = self._rendered
        if rendered is not None and 0 <= index < len(rendered.names):
            return rendered.names[index].get(stage, "diverging")
        return "diverging"

    def view_state(self) -> tuple[float, tuple[float, float] | None]:
        """(zoom, centre) of the maps' view: zoom 1 and no centre while the view is
        the one Reset zoom chose; else the input's width over the view's width and
        the view's centre in input pixels."""
        image = self.image()
        grid = self.grid
        if image is None or not grid.stages():
            return 1.0, None
        if grid.is_default_view():
            return 1.0, None
        (x0, x1), (y0, y1) = grid.view_box(0, "conv").viewRange()
        width = max(x1 - x0, 1e-6)
        zoom = min(max(image.shape[2] / width, 1e-3), 9999.0)
        return float(zoom), (float((x0 + x1) / 2), float((y0 + y1) / 2))

    def _apply_view(self, zoom: float, center: tuple[float, float] | None) -> None:
        self.grid.reset_zoom()
        image = self.image()
        if image is None or not self.grid.stages() or (zoom == 1.0 and center is None):
            return
        h, w = image.shape[1:]
        cx, cy = center if center is not None else (w / 2, h / 2)
        vw, vh = w / zoom, h / zoom
        self.grid.view_box(0, "conv").setRange(
            QRectF(cx - vw / 2, cy - vh / 2, vw, vh), padding=0.0
        )

    def restore_state(
        self,
        loaded: image_data.LoadedImage,
        entries: list[BankEntry],
        *,
        current: int,
        geometry: Settings,
        colormap: str,
        robust: bool,
        pixel: tuple[int, str, int, int] | None,
        view: tuple[float, tuple[float, float] | None],
    ) -> None:
        """Show a whole set-up at once (a scene): one compute, then the selection and
        the view once its maps are on screen. The caller has validated everything."""
        widgets = (self.bank, self.geometry, self.robust_contrast, self.shared_scale)
        blockers = [QSignalBlocker(w) for w in widgets]
        self.bank.set_bank(entries, current=current)
        self.geometry.set_values(geometry)
        self._geometry_shown = self.geometry.values()
        self.robust_contrast.setChecked(bool(robust))
        self._robust = bool(robust)
        self.shared_scale.setChecked(False)
        self.grid.set_shared_scale(False)
        del blockers
        self._on_bank_current_changed(current)
        self.undo_stack.clear()
        self._colormaps["maps"] = colormap
        with QSignalBlocker(self.colormap_combo):
            self.colormap_combo.setCurrentIndex(CHOICES.index(colormap))
        self._scene_after = (pixel, view)
        self._last_changed = None
        self.set_loaded_image(loaded)  # closes the microscope, computes
        self.display_changed.emit()

    def _after_scene_shown(self) -> None:
        """The first maps of a restored scene are up: its pixel and its view."""
        pending = getattr(self, "_scene_after", None)
        if pending is None or self._pending is not None or self._task is not None:
            return
        self._scene_after = None
        pixel, view = pending
        self._apply_view(*view)
        if pixel is not None:
            self.inspect(*pixel)

    # ------------------------------------------------------------ stale maps
    def _build_problem_ui(self) -> None:
        """A message shown instead of the grid when the maps on show would belong to
        another image (the new one's settings are invalid)."""
        self.problem_label = QLabel()
        self.problem_label.setObjectName("problem_label")
        self.problem_label.setWordWrap(True)
        self.problem_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.problem_label.setStyleSheet("color: #c62828; font-size: 14pt;")
        self.problem_label.hide()
        # beside the grid, in the splitter it shares with the animation panel
        self.centre_splitter.insertWidget(
            self.centre_splitter.indexOf(self.grid) + 1, self.problem_label
        )

    def _clear_stale_maps(self, plan: explore.Plan) -> None:
        """No maps rather than the previous image's: say what is wrong instead."""
        self._pending = None
        self._result = None
        self._rendered = None
        self.close_microscope()
        self.grid.hide()
        messages = "\n".join(message for _, message in plan.problems)
        self.problem_label.setText(
            "No maps for this image with the current settings:\n"
            f"{messages}\nChange the setting marked in red."
        )
        self.problem_label.show()
        self.shapes.update_for(plan)
        self.status_message.emit(
            f"The settings do not fit this image: {messages}", 10000
        )

    def _show_maps_again(self) -> None:
        if self.grid.isHidden():
            self.problem_label.hide()
            self.grid.show()

    def maps_cleared(self) -> bool:
        """True while the grid is replaced by a problem (no maps for this image)."""
        return self.grid.isHidden()

    # ---------------------------------------------------------------------- export
    def selected_map(self) -> tuple[str, np.ndarray] | None:
        """(label, array) of the selected map (the last clicked; conv of filter 1 at
        first)."""
        if self._result is None:
            return None
        index, stage = self.grid.selected()
        index = min(index, len(self._result.maps) - 1)
        array = self._result.maps[index].stage(stage)
        if array is None:
            stage, array = "conv", self._result.maps[index].conv
        return f"{self._result.maps[index].name} {stage}", array

    def export_grid_png(self, path: str) -> bool:
        ok = self.grid.grab().save(path, "PNG")
        self.status_message.emit(
            f"Saved the grid to {path}" if ok else f"Could not write {path}", 5000
        )
        return ok

    def export_map_png(self, path: str) -> bool:
        selected = self.selected_map()
        if selected is None:
            return False
        label, array = selected
        index, stage = self.grid.selected()
        index = min(index, len(self._result.maps) - 1)
        try:  # the colours and range of the map on screen
            levels = self.grid.levels(index, stage)
            name = self.grid.colormap(index, stage)
        except (IndexError, KeyError):
            name = cmaps.default_for(cmaps.is_signed(array))
            levels = cmaps.limits(array, signed=name == "diverging")
        rgb = np.ascontiguousarray(to_rgb(array, levels, name))
        h, w = rgb.shape[:2]
        image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        ok = image.save(path, "PNG")
        self.status_message.emit(
            f"Saved {label} ({w}×{h}) to {path}" if ok else f"Could not write {path}",
            5000,
        )
        return ok

    def export_npy(self, path: str) -> bool:
        selected = self.selected_map()
        if selected is None:
            return False
        label, array = selected
        try:
            atomic_save_npy(path, np.array(array))
        except OSError as exc:
            self.status_message.emit(f"Could not save {path}: {exc}", 10000)
            return False
        self.status_message.emit(f"Saved {label} {array.shape} to {path}", 5000)
        return True

    def export_all_npy(self, path: str) -> list[str]:
        """Each stage of every filter stacked ``(F, H, W)``: ``<stem>_<stage>.npy``."""
        if self._result is None:
            return []
        base = Path(path)
        base = base.with_suffix("") if base.suffix == ".npy" else base
        written = []
        try:
            for stage in self.grid.stages():
                arrays = [fm.stage(stage) for fm in self._result.maps]
                if len({a.shape for a in arrays}) == 1:
                    target = f"{base}_{stage}.npy"
                    atomic_save_npy(target, np.stack(arrays))
                    written.append(target)
                else:
                    for i, a in enumerate(arrays):
                        target = f"{base}_{stage}_{i + 1}.npy"
                        atomic_save_npy(target, a)
                        written.append(target)
        except OSError as exc:
            self.status_message.emit(f"Could not save the arrays: {exc}", 10000)
            return written
        self.status_message.emit(
            f"Saved {len(written)} .npy files next to {base}", 5000
        )
        return written

    def export_grid_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the grid", "feature_maps.png", "PNG images (*.png)"
        )
        if path:
            self.export_grid_png(path)

    def export_map_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the selected map", "map.png", "PNG images (*.png)"
        )
        if path:
            self.export_map_png(path)

    def export_npy_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the selected map's array", "map.npy", "NumPy arrays (*.npy)"
        )
        if path:
            self.export_npy(path)

    def export_all_npy_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Save every map (one file per stage)",
            "feature_maps.npy",
            "NumPy arrays (*.npy)",
        )
        if path:
            self.export_all_npy(path)

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Forget pending work and wait for a running compute to end."""
        self._pending = None
        if self._task is not None:
            from PySide6.QtCore import QThreadPool

            QThreadPool.globalInstance().waitForDone(timeout_ms)
