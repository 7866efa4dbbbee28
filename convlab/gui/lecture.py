"""Scenes in the window: the live explorer <-> a :class:`~convlab.lecture.Scene`, and
the lecture controller that steps through a folder of scenes.

* :func:`scene_from_explorer` reads the explorer (image, bank, geometry, selection,
  zoom, colours) and the trainer's model spec and settings into a Scene.
* :func:`check_scene` lists why the explorer cannot show a scene exactly;
  :func:`apply_scene` refuses (:class:`SceneError`, nothing changed) unless that list
  is empty, then sets everything at once: one compute, not one per control.
* :class:`LectureController` owns the current scene file, the folder's list from
  :func:`~convlab.lecture.scene_folder`, the unsaved-changes check, and the figure
  export (on the thread pool: a GIF takes seconds). File > Open scene and
  PageDown/PageUp read, parse and decode the scene on the thread pool
  (:meth:`LectureController.open_in_background`; scenes go up to 32 MB) and apply it
  on the GUI thread; a newer open supersedes an older one, and a step counts from
  the scene being opened, so fast key presses keep their order.

What a v1 scene cannot hold: the explorer's "auto" colour-map choice (saved as the
map the selected filter shows, ``diverging`` or ``grey``), the shared colour scale
(scenes are per map; opening one turns it off) and fixed colour limits (shown per
map, with a status message). The trainer's model spec and settings are saved
(``trainer = {"model": [...], "settings": {...}}``) and restored on opening, checked by
the trainer (:meth:`TrainerWidget.check_scene_state`) before anything changes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from convlab import colormaps as cmaps
from convlab import explore
from convlab.data import images as image_data
from convlab.lecture import figures
from convlab.lecture.scene import (
    SCENE_SUFFIX,
    Scene,
    SceneError,
    load_scene,
    save_scene,
    scene_folder,
    scene_to_json,
)

from .explorer.colormaps import AUTO, CHOICES, ROBUST_PERCENTILE
from .explorer.filter_bank import MAX_FILTERS as BANK_MAX_FILTERS
from .explorer.filter_bank import BankEntry
from .workers import Task, describe_exception

__all__ = [
    "EXPORT_FORMATS",
    "scene_from_explorer",
    "check_scene",
    "apply_scene",
    "scene_key",
    "LectureController",
]


def _read_scene(path: str | Path) -> tuple[Path, Scene, list[Path]]:
    """The scene file (a folder: its first scene), the scene and its folder's list;
    :class:`SceneError` or OSError naming the problem."""
    target = Path(path).expanduser()
    if target.is_dir():
        scenes = scene_folder(target)
        if not scenes:
            raise SceneError(f"No {SCENE_SUFFIX} scenes in the folder {target}")
        target = scenes[0]
    return target, load_scene(target), scene_folder(target)


def _scene_job(serial: int, path: str) -> tuple:
    """On a pool thread: ``(serial, (target, scene, scenes), None)`` or ``(serial,
    None, why)``."""
    try:
        return serial, _read_scene(path), None
    except Exception as exc:  # noqa: BLE001 (the message goes to the status bar)
        return serial, None, describe_exception(exc)


#: File-dialog filter -> (suffix, scale) of File > Export figure.
EXPORT_FORMATS = {
    "PNG at screen size (*.png)": (".png", 1),
    "PNG at 2x, for slides (*.png)": (".png", 2),
    "PNG at 3x, for slides (*.png)": (".png", 3),
    "SVG, scalable (*.svg)": (".svg", 1),
    "Animated GIF of the sliding window (*.gif)": (".gif", 1),
}


# ------------------------------------------------------------------ explorer -> scene
def _trainer_state(trainer: Any) -> dict[str, Any]:
    """The trainer's model spec and settings through what it exposes publicly."""
    out: dict[str, Any] = {}
    run = getattr(trainer, "run", None)
    specs = getattr(run, "specs", None)
    if specs:
        out["model"] = json.loads(json.dumps(specs))
    settings = getattr(trainer, "settings", None)
    if callable(settings):
        value = settings()
        if dataclasses.is_dataclass(value):
            out["settings"] = dataclasses.asdict(value)
    return out


def scene_from_explorer(
    explorer: Any,
    *,
    base: Scene | None = None,
    trainer: Any = None,
) -> Scene:
    """The explorer's state as a Scene.

    ``base`` supplies what the explorer does not hold (title, notes, animation step
    and granularity, fixed colour limits; the trainer dict when ``trainer`` is None).

    Raises
    ------
    ValueError
        When no image is loaded.
    """
    image = explorer.image()
    if image is None:
        raise ValueError("No image is loaded: there is nothing to save as a scene.")
    settings = explorer.settings()
    index = max(explorer.bank.current_index(), 0)
    choice = explorer.colormap("maps")
    if choice == AUTO:
        choice = explorer.shown_colormap(index)
    robust = explorer.robust_contrast_on()
    zoom, center = explorer.view_state()
    pixel = explorer.inspected()
    extras: dict[str, Any] = {}
    if base is not None:
        extras = {
            "title": base.title,
            "notes": base.notes,
            "step": base.step,
            "granularity": base.granularity,
        }
        if base.color_scale == "fixed":
            extras["color_scale"] = "fixed"
            extras["color_limits"] = base.color_limits
    extras.setdefault("color_scale", "symmetric" if choice == "diverging" else "auto")
    if trainer is not None:
        trainer_dict = _trainer_state(trainer)
    else:
        trainer_dict = dict(base.trainer) if base is not None else {}
    return Scene(
        image=image,
        settings=settings,
        filter_index=min(index, max(len(settings.filters) - 1, 0)),
        pixel=None if pixel is None or pixel[0] != index else pixel[1:],
        zoom=zoom,
        center=center,
        colormap=choice,
        clip_percentile=ROBUST_PERCENTILE if robust else None,
        trainer=trainer_dict,
        **extras,
    )


def scene_key(scene: Scene) -> tuple:
    """What counts as an unsaved change: the image, the bank, the geometry, the
    selected filter and the colours (not the zoom or the clicked pixel, which change
    while one presents)."""
    doc = scene_to_json(scene.replace(image=np.zeros((1, 1, 1), np.float32)))
    for name in ("image", "view", "animation", "trainer", "title", "notes"):
        doc.pop(name, None)
    doc["selection"].pop("pixel", None)
    digest = hashlib.sha1(np.ascontiguousarray(scene.image).tobytes()).hexdigest()
    return (scene.image.shape, digest, json.dumps(doc, sort_keys=True))


# ------------------------------------------------------------------ scene -> explorer
def check_scene(explorer: Any, scene: Scene) -> list[str]:
    """Why the explorer cannot show ``scene`` exactly ([] if it can)."""
    problems = []
    c = scene.image.shape[0]
    if c not in (1, 3):
        problems.append(
            "`image` must have 1 (greyscale) or 3 (RGB) channels in the explorer. "
            f"Received: {c} channels"
        )
    n = len(scene.settings.filters)
    if not 1 <= n <= BANK_MAX_FILTERS:
        problems.append(
            f"`filters` must hold 1 to {BANK_MAX_FILTERS} filters in the explorer. "
            f"Received: {n}"
        )
    problems.extend(explorer.geometry.check_values(scene.settings))
    if scene.colormap not in CHOICES:
        problems.append(
            f"`colors.map` must be one of {', '.join(cmaps.NAMES)}. "
            f"Received: {scene.colormap!r}"
        )
    if problems:
        return problems
    plan = explore.plan(scene.settings, scene.image.shape)
    problems.extend(message for _, message in plan.problems)
    if not problems and scene.pixel is not None:
        stage, row, col = scene.pixel
        hw = plan.filter_shapes[scene.filter_index].stage(stage)
        if hw is None or not (row < hw[0] and col < hw[1]):
            size = "no such map" if hw is None else f"{hw[0]}x{hw[1]}"
            problems.append(
                f"`selection.pixel` must lie in the {stage} map ({size}). "
                f"Received: row={row}, col={col}"
            )
    return problems


def apply_scene(explorer: Any, scene: Scene, *, name: str = "scene") -> list[str]:
    """Show ``scene`` in the explorer, all or nothing.

    Returns notes on what is shown approximately (fixed colour limits).

    Raises
    ------
    SceneError
        When :func:`check_scene` finds a problem; the explorer is unchanged.
    """
    problems = check_scene(explorer, scene)
    if problems:
        raise SceneError(f"{name}: " + " ".join(problems))
    c, h, w = scene.image.shape
    loaded = image_data.LoadedImage(
        array=np.array(scene.image, np.float32),
        original_size=(w, h),
        downscaled=False,
        name=scene.title or name,
    )
    entries = [
        BankEntry(f.name, np.array(f.kernel, np.float32), f.bias, "From the scene.")
        for f in scene.settings.filters
    ]
    pixel = None
    if scene.pixel is not None:
        pixel = (scene.filter_index, *scene.pixel)
    explorer.restore_state(
        loaded,
        entries,
        current=scene.filter_index,
        geometry=scene.settings,
        colormap=scene.colormap,
        robust=scene.clip_percentile is not None,
        pixel=pixel,
        view=(scene.zoom, scene.center),
    )
    notes = []
    if scene.color_scale == "fixed":
        notes.append(
            "fixed colour limits are shown per map in the explorer (figures use them)"
        )
    return notes


# ------------------------------------------------------------------------ controller
class LectureController(QObject):
    """The open scene, its folder, saving and the figure export.

    Signals
    -------
    status_message(str, int)
        Text for the status bar and a timeout in ms.
    position_changed(str)
        "scene 3 of 6: title" (or '' when no scene is open), for the title and the
        status bar.
    figure_exported(str)
        A figure was written to this path.
    loading_changed(bool)
        A scene began (True) or ended (False) loading on the thread pool.
    """

    status_message = Signal(str, int)
    position_changed = Signal(str)
    figure_exported = Signal(str)
    loading_changed = Signal(bool)

    def __init__(self, explorer: Any, trainer: Any = None, parent: Any = None) -> None:
        super().__init__(parent)
        self.explorer = explorer
        self.trainer = trainer
        self.path: Path | None = None
        self.scenes: list[Path] = []
        self.scene: Scene | None = None
        self._saved_key: tuple | None = None
        self._export: Task | None = None
        self._open_serial = 0
        self._open_task: Task | None = None
        self._open_tasks: dict[int, Task] = {}  # each kept until it has run
        #: Asked before unsaved changes are dropped: returns "save", "discard" or
        #: "cancel" (the main window sets a dialog; tests set a function).
        self.ask_unsaved: Callable[[], str] = lambda: "discard"

    # -- state ---------------------------------------------------------------------
    def current_scene(self) -> Scene:
        """The explorer's state now, with the open scene's title, notes and step."""
        return scene_from_explorer(self.explorer, base=self.scene, trainer=self.trainer)

    def has_unsaved_changes(self) -> bool:
        if self.path is None or self._saved_key is None:
            return False
        try:
            return scene_key(self.current_scene()) != self._saved_key
        except ValueError:
            return False

    def position_text(self) -> str:
        if self.path is None or self.scene is None:
            return ""
        names = [p.name for p in self.scenes]
        title = self.scene.title or self.path.stem
        if self.path.name in names:
            i = names.index(self.path.name) + 1
            return f"scene {i} of {len(names)}: {title}"
        return f"scene: {title}"

    def confirm_discard(self) -> bool:
        """True when it is fine to leave the current scene (saving it if asked)."""
        if not self.has_unsaved_changes():
            return True
        answer = self.ask_unsaved()
        if answer == "save":
            return self.save()
        return answer == "discard"

    # -- open / step ---------------------------------------------------------------
    def open(self, path: str | Path, *, confirm: bool = True) -> bool:
        """Open a scene file, or the first scene of a folder, in one blocking call
        (start-up, scripts, tests). On any problem the status bar says why and
        nothing changes."""
        if confirm and not self.confirm_discard():
            return False
        self._drop_open_task()
        try:
            target, scene, scenes = _read_scene(path)
        except (SceneError, OSError) as exc:
            self.status_message.emit(f"Could not open the scene: {exc}", 15000)
            return False
        return self._use_scene(target, scene, scenes)

    def open_in_background(self, path: str | Path, *, confirm: bool = True) -> bool:
        """Like :meth:`open`, but the file is read, parsed and decoded on the thread
        pool and applied when it arrives; a newer open supersedes this one. Returns
        False when the user cancelled leaving unsaved changes."""
        if confirm and not self.confirm_discard():
            return False
        self._open_serial += 1
        task = Task(_scene_job, self._open_serial, str(path))
        task.signals.finished.connect(self._on_open_task_finished)
        task.target = Path(path).expanduser()
        self._open_tasks[self._open_serial] = task
        was_loading, self._open_task = self._open_task is not None, task
        if not was_loading:
            self.loading_changed.emit(True)
        task.start()
        return True

    def is_loading(self) -> bool:
        """A scene is being read on the thread pool."""
        return self._open_task is not None

    def _drop_open_task(self) -> None:
        if self._open_task is not None:
            self._open_serial += 1  # its answer is stale now
            self._open_task = None
            self.loading_changed.emit(False)

    def _on_open_task_finished(self, outcome: tuple) -> None:
        serial, loaded, why = outcome
        self._open_tasks.pop(serial, None)
        if self._open_task is None or serial != self._open_serial:
            return  # superseded
        self._open_task = None
        self.loading_changed.emit(False)
        if loaded is None:
            self.status_message.emit(f"Could not open the scene: {why}", 15000)
            return
        self._use_scene(*loaded)

    def _use_scene(self, target: Path, scene: Scene, scenes: list[Path]) -> bool:
        """Apply a read scene (GUI thread); on a problem nothing changes."""
        try:
            trainer_part = self._checked_trainer_part(scene, target.name)
            notes = apply_scene(self.explorer, scene, name=target.name)
            if trainer_part is not None:
                self.trainer.restore_scene_state(*trainer_part)
        except (SceneError, OSError) as exc:
            self.status_message.emit(f"Could not open the scene: {exc}", 15000)
            return False
        self.path, self.scene, self.scenes = target, scene, scenes
        self._saved_key = scene_key(self.current_scene())
        text = self.position_text()
        self.position_changed.emit(text)
        extra = f" ({'; '.join(notes)})" if notes else ""
        self.status_message.emit(f"Opened {text}{extra}", 8000)
        return True

    def _checked_trainer_part(self, scene: Scene, name: str) -> tuple | None:
        """The scene's trainer model and settings, checked by the trainer before
        anything changes (SceneError naming the problem); None if there is none or
        no trainer."""
        restore = getattr(self.trainer, "check_scene_state", None)
        part = scene.trainer or {}
        if restore is None or not (part.get("model") or part.get("settings")):
            return None
        model, settings = part.get("model"), part.get("settings")
        try:
            restore(model, settings)
        except (TypeError, ValueError) as exc:
            raise SceneError(f"{name}: {exc}") from None
        return model, settings

    def step(self, offset: int) -> bool:
        """Open the scene ``offset`` places along the folder (+1 next, -1 previous),
        counted from the scene being opened if one is on its way (fast presses keep
        their order); read on the thread pool."""
        pending = self._open_task
        base = pending.target if pending is not None else self.path
        if base is not None and base.is_dir():
            base = self.path  # a folder on its way: its first scene is not known yet
        if base is None:
            self.status_message.emit(
                "No scene is open: File > Open scene… first (a lecture is a folder "
                "of scenes).",
                6000,
            )
            return False
        try:
            scenes = scene_folder(base)
        except SceneError as exc:
            self.status_message.emit(str(exc), 8000)
            return False
        names = [p.name for p in scenes]
        i = names.index(base.name) if base.name in names else -1
        j = i + int(offset)
        if i < 0 or not 0 <= j < len(scenes):
            where = "last" if offset > 0 else "first"
            self.status_message.emit(
                f"This is the {where} scene of the folder ({len(names)} scenes).", 4000
            )
            return False
        return self.open_in_background(scenes[j], confirm=pending is None)

    def next_scene(self) -> bool:
        return self.step(1)

    def previous_scene(self) -> bool:
        return self.step(-1)

    # -- save ----------------------------------------------------------------------
    def save(self, path: str | Path | None = None) -> bool:
        """Save the explorer's state to ``path`` (default: the open scene)."""
        target = Path(path).expanduser() if path is not None else self.path
        if target is None:
            self.status_message.emit("Choose a file: File > Save scene as…", 5000)
            return False
        if target.suffix.lower() != SCENE_SUFFIX:
            target = target.with_name(target.name + SCENE_SUFFIX)
        try:
            scene = self.current_scene()
            if not scene.title and self.scene is None:
                scene = scene.replace(title=target.stem)
            save_scene(target, scene)
            scenes = scene_folder(target)
        except (ValueError, TypeError, OSError) as exc:
            self.status_message.emit(f"Could not save the scene: {exc}", 15000)
            return False
        self.path, self.scene, self.scenes = target, scene, scenes
        self._saved_key = scene_key(scene)
        self.position_changed.emit(self.position_text())
        self.status_message.emit(f"Saved the scene to {target}", 5000)
        return True

    # -- export --------------------------------------------------------------------
    def export_figure(self, path: str | Path, scale: int = 1) -> bool:
        """Render the current scene to ``path`` (PNG at ``scale``, SVG, GIF) on the
        thread pool; :attr:`figure_exported` or a status message follows."""
        if self._export is not None:
            self.status_message.emit("A figure is being exported already.", 4000)
            return False
        try:
            target, _ = figures.check_output(path)
            scene = self.current_scene()
        except ValueError as exc:
            self.status_message.emit(f"Could not export the figure: {exc}", 10000)
            return False
        task = Task(figures.render, scene, target, scale=scale)
        task.signals.finished.connect(self._on_export_finished)
        task.signals.failed.connect(self._on_export_failed)
        self._export = task
        self.status_message.emit(f"Exporting the figure to {target.name}…", 0)
        task.start()
        return True

    def is_exporting(self) -> bool:
        return self._export is not None

    def _on_export_finished(self, path: object) -> None:
        self._export = None
        self.status_message.emit(f"Exported the figure to {path}", 8000)
        self.figure_exported.emit(str(path))

    def _on_export_failed(self, message: str) -> None:
        self._export = None
        self.status_message.emit(f"Could not export the figure: {message}", 15000)
