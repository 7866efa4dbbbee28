"""The explorer tab: input, filter bank, kernel editor, geometry, feature maps and
microscope.

Data flow: widgets -> :class:`~convlab.explore.Settings` (frozen) ->
:func:`~convlab.explore.validate` (inline messages) -> on the thread pool, a
:class:`~.render.Renderer` (:func:`~convlab.explore.compute` with a cache, then the maps
coloured to pixels) -> :meth:`FeatureGrid.set_rendered` (existing items, no colouring
on the GUI thread). While a compute runs only the newest settings are remembered; they
start when it finishes (latest settings win).
"""

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
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
from convlab.data import filters as filter_data
from convlab.data import images as image_data
from convlab.explore import Result, Settings

from .. import theme
from ..scroll import PanelScrollArea
from ..workers import Task
from .animation import AnimationKeys, AnimationPanel
from .colormaps import (
    AUTO,
    CHOICE_LABELS,
    CHOICE_TIPS,
    CHOICES,
    ROBUST_PERCENTILE,
)
from .computing import ComputeMixin
from .controls import GeometryPanel, ShapesPanel
from .display import (
    GRID_MIN_WIDTH,
    INPUT_HEIGHT,
    LEFT_MIN_WIDTH,
    MICROSCOPE_MIN_WIDTH,
    DisplayMixin,
)
from .editing import EditingMixin
from .feature_grid import FeatureGrid, InputView
from .files import FilesMixin
from .filter_bank import FilterBankPanel
from .image_input import ImageInputMixin, _draw_canvas_class
from .kernel_editor import KernelEditor
from .microscope import MicroscopePanel
from .render import Rendered, Renderer
from .scene_state import SceneStateMixin


class ElidedLabel(QLabel):
    """A one-line label whose text ends in "…" where it does not fit, instead of
    stopping at the edge unmarked (the hover read-out at 2x in 1024 px showed
    "...the numbers behind i"). ``text()`` stays the whole text."""

    def paintEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt)
        painter = QPainter(self)
        self.style().drawItemText(
            painter,
            self.contentsRect(),
            int(self.alignment()),
            self.palette(),
            self.isEnabled(),
            self.shown_text(),
            self.foregroundRole(),
        )

    def shown_text(self) -> str:
        """The text as painted (elided to the label's width)."""
        return self.fontMetrics().elidedText(
            self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width()
        )


class _Centre(QWidget):
    """The grid's column, telling its new size (for the hover read-out's place)."""

    resized = Signal()

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt)
        super().resizeEvent(event)
        self.resized.emit()


class ExplorerWidget(
    ComputeMixin,
    DisplayMixin,
    ImageInputMixin,
    EditingMixin,
    FilesMixin,
    SceneStateMixin,
    QWidget,
):
    """The explorer tab.

    Its method groups live in mixins beside it, one concept each: :mod:`.computing`
    (settings -> compute -> grid), :mod:`.display` (colour maps, controls, the
    microscope), :mod:`.image_input`, :mod:`.editing` (undo/redo), :mod:`.files`
    (bank files, exports) and :mod:`.scene_state`; the layout, the actions and the
    menus stay here.

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
    image_loading_changed(bool)
        An image file began decoding on the thread pool (True) or is done (False).
    """

    status_message = Signal(str, int)
    maps_displayed = Signal(object)
    hover_changed = Signal(str)
    busy_changed = Signal(bool)
    display_changed = Signal()
    image_loading_changed = Signal(bool)

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
        self.load_sample(image_data.SAMPLES[0].name)
        if image_path:  # decoded off the GUI thread; the sample stays if it fails
            self.open_image_file(image_path)

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
        centre = _Centre()
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        # the hover read-out's own row, used when the buttons leave it too little
        # room beside them (see _place_hover_label)
        self._hover_row = QHBoxLayout()
        centre_layout.addLayout(self._hover_row)
        top_row = QHBoxLayout()
        self.hover_label = ElidedLabel(
            "Hover a map to read its values; click a pixel for the numbers behind it."
        )
        self.hover_label.setObjectName("hover_label")
        theme.relative_font(self.hover_label, theme.HOVER_FONT)
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
        self._top_row, self._hover_in = top_row, top_row
        self._centre = centre
        centre.resized.connect(self._place_hover_label)
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

    def edit_menu(self) -> QMenu:
        menu = QMenu("&Edit", self)
        menu.addAction(self._undo_action)
        menu.addAction(self._redo_action)
        return menu

    # ------------------------------------------------------------------ animation
    def open_animation(self) -> None:
        """Show the sliding-window animation of the selected filter (the first
        when none is selected: index -1 raised inside the animation)."""
        index, maps = self.bank.current_index(), getattr(self._result, "maps", ())
        index = min(max(index, 0), len(maps) - 1) if maps else None
        self.animation.set_result(self._result, index)
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
