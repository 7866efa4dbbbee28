"""Saving and loading models: one ``.npz`` file, arrays plus a JSON architecture, no
pickle.

File format (version 1)
-----------------------
A NumPy ``.npz`` archive (a zip of ``.npy`` files) written by :func:`numpy.savez` and
read with ``allow_pickle=False``, holding:

``architecture``
    A 0-d unicode array: JSON ``{"format": "convlab.model", "version": 1, "model":
    {"name", "seed", "input_shape": [C, H, W],
    "layers": [{"class_name", "config"}, ...]},
    "compile": {"optimizer": {"class_name", "config"}, "loss": {"class_name", "config"},
    "metrics": [...]} or null, "weights": [names in order]}``.
``weights/<layer index>/<layer name>/<array>``
    One float32 array per weight, e.g. ``weights/000/conv2d/kernel`` (F, C, KH, KW),
    ``weights/004/batch_normalization/moving_mean``.

The optimiser's configuration, step count and state (``optimizer/<weight key>/<slot>``
arrays listed in ``"optimizer_state"``: velocities, moments) are saved too, so a
loaded model resumes training where it stopped. Layers' ``trainable`` flags are in
their configs. A model's ``preprocessing`` record (the trainer's normaliser:
``{"config": dict, "arrays": {name: array}}``, see :mod:`convlab.train.preprocess`)
is kept as ``preprocessing/<name>`` arrays listed in ``"preprocessing"``; convlab.nn
neither applies nor checks it. Whatever the file name (``model.h5``,
``model.keras``), the content is this format, not HDF5 or Keras's zip.

The file is written to a temporary file in the target folder and renamed over the
target (:func:`os.replace`), so a crash or Ctrl-C never leaves half a model behind. A
truncated, foreign or malformed file raises :class:`ModelFileError` before any model is
built, so nothing is changed.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_write
from .layers import LAYER_CLASSES
from .losses import LOSSES
from .model import Sequential
from .optimizers import OPTIMIZERS
from .validation import require_built

__all__ = [
    "FORMAT",
    "VERSION",
    "ModelFileError",
    "save_model",
    "load_model",
    "read_model_file",
]

FORMAT = "convlab.model"
VERSION = 1
ARCHITECTURE_KEY = "architecture"
PREPROCESSING = "preprocessing"

#: The most bytes a model file's arrays may declare, uncompressed (all members
#: together), and the architecture record alone: checked from the zip directory and
#: each array's .npy header before anything is inflated (a 7 MB zip bomb read a
#: 1.5 GB member). LeNet-5 is 0.25 MB; 256 MiB is 64 million float32 weights.
MAX_MODEL_BYTES = 256 * 2**20
MAX_ARCHITECTURE_BYTES = 2**20
MAX_MODEL_MEMBERS = 10_000
#: The most values one sample's activations may have at any layer: a model whose
#: layer asks for more cannot be evaluated in a useful batch (64 MiB a sample).
MAX_ACTIVATION_VALUES = 16 * 2**20


class ModelFileError(ValueError):
    """A model file is missing, truncated, foreign or malformed."""


def weight_items(model: Sequential) -> list[tuple[str, np.ndarray]]:
    """``[(archive key, array), ...]`` in :meth:`Sequential.get_weights` order."""
    return [
        (f"weights/{i:03d}/{layer.name}/{key}", array)
        for i, layer in enumerate(model.layers)
        for key, array in layer.weights.items()
    ]


def optimizer_state_items(
    model: Sequential, items: list[tuple[str, np.ndarray]]
) -> list[tuple[str, np.ndarray]]:
    """``[("optimizer/<weight key>/<slot>", array), ...]``: the optimiser's slots
    (momentum velocities, Adam's moments, RMSprop's averages) of each weight."""
    optimizer = model.optimizer if model.compiled else None
    if optimizer is None:
        return []
    state = []
    for key, array in items:
        entry = optimizer._slots.get(id(array))
        if entry is not None and entry[0] is array:
            state += [
                (f"optimizer/{key}/{j}", slot) for j, slot in enumerate(entry[1:])
            ]
    return state


def save_model(model: Sequential, path: str | os.PathLike[str]) -> None:
    """Write ``model`` (architecture, weights, compile settings) to ``path``
    atomically."""
    require_built(model.built, "save")
    target = Path(path)
    items = weight_items(model)
    compile_config = None
    if model.compiled and model.optimizer is not None:
        compile_config = {
            "optimizer": {
                "class_name": type(model.optimizer).__name__,
                "config": model.optimizer.get_config(),
            },
            "loss": {"class_name": model.loss.name, "config": model.loss.get_config()},
            "metrics": list(model.metrics),
        }
    architecture = {
        "format": FORMAT,
        "version": VERSION,
        "class_name": "Model" if type(model).__name__ == "Model" else "Sequential",
        "model": model.get_config(),
        "compile": compile_config,
        "weights": [key for key, _ in items],
    }
    state = optimizer_state_items(model, items)
    if compile_config is not None:
        compile_config["iterations"] = model.optimizer.iterations  # type: ignore[union-attr]
    architecture["optimizer_state"] = [key for key, _ in state]
    # what the inputs went through in training (convlab.train.preprocess), kept as
    # plain config and arrays: nn neither knows nor applies it
    pre = getattr(model, "preprocessing", None)
    pre_items = []
    if pre:
        pre_items = [(f"{PREPROCESSING}/{k}", v) for k, v in pre["arrays"].items()]
        architecture[PREPROCESSING] = {
            "config": pre["config"],
            "arrays": [key for key, _ in pre_items],
        }
    arrays: dict[str, Any] = {ARCHITECTURE_KEY: np.array(json.dumps(architecture))}
    arrays.update(items)
    arrays.update(state)
    arrays.update(pre_items)
    with atomic_write(target) as handle:
        np.savez(handle, **arrays)


def _fail(path: Path, why: str) -> ModelFileError:
    return ModelFileError(f"Cannot load model from '{path}': {why}")


def read_model_file(
    path: str | os.PathLike[str],
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read and validate a model file: ``(architecture dict, {key: array})``.

    Raises
    ------
    ModelFileError
        Missing, truncated, not an npz, pickled content, wrong format tag or version,
        malformed JSON, or weights that do not match the architecture's list.
    """
    p = Path(path)
    if p.is_dir():
        raise _fail(p, "it is a folder, not a model file.")
    if p.exists() and not p.is_file():  # a FIFO would block the open below
        raise _fail(p, "not a regular file (a named pipe or a device?).")
    if not p.is_file():
        raise _fail(p, "no such file.")
    try:
        fh = open(p, "rb")  # noqa: SIM115 (closed by the with below)
    except OSError as exc:
        raise _fail(p, f"the file cannot be read ({exc}).") from None
    try:
        with fh:
            magic = fh.read(4)
            if magic == b"\x89HDF":
                raise _fail(
                    p,
                    "it is an HDF5 file (Keras's .h5 format). convlab reads the "
                    "weights of one, not its architecture: build the same model "
                    "and call model.load_weights(path).",
                )
            if magic[:2] != b"PK":
                # np.load would take any other file for a pickle and say so: misleading.
                raise _fail(
                    p,
                    "not a convlab model file: a model is an .npz archive (a zip of "
                    f"arrays), and this file starts with {magic!r}.",
                )
            fh.seek(0)
            _check_members(p, fh)
            fh.seek(0)
            with np.load(fh, allow_pickle=False) as archive:
                keys = list(archive.files)
                arrays = {key: archive[key] for key in keys}
    except ModelFileError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise _fail(
                p, "it contains pickled Python objects, which convlab never loads."
            ) from None
        raise _fail(p, f"not a valid .npz file ({exc}).") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as exc:
        raise _fail(
            p,
            "the file is truncated or not an .npz archive "
            f"({type(exc).__name__}: {exc}).",
        ) from None
    record = arrays.pop(ARCHITECTURE_KEY)
    if record.dtype.kind != "U" or record.ndim != 0:
        raise _fail(p, "the 'architecture' record is not a JSON string.")
    try:
        architecture = json.loads(str(record))
    except json.JSONDecodeError as exc:
        raise _fail(p, f"the architecture is not valid JSON ({exc}).") from None
    if not isinstance(architecture, dict) or architecture.get("format") != FORMAT:
        tag = architecture.get("format") if isinstance(architecture, dict) else None
        raise _fail(p, f"format tag is {tag!r}, expected {FORMAT!r}.")
    version = architecture.get("version")
    if not isinstance(version, int) or version < 1 or version > VERSION:
        raise _fail(
            p,
            f"format version {version!r} is not supported "
            f"(this convlab reads 1 to {VERSION}).",
        )
    state_names = architecture.get("optimizer_state") or []
    if not isinstance(state_names, list) or not set(state_names) <= set(arrays):
        raise _fail(p, "the optimizer state does not match its list of arrays.")
    pre = architecture.get(PREPROCESSING) or {}
    pre_names = pre.get("arrays", []) if isinstance(pre, dict) else None
    if not isinstance(pre_names, list) or not set(pre_names) <= set(arrays):
        raise _fail(p, "the preprocessing record does not match its arrays.")
    state_names = [*state_names, *pre_names]
    weight_arrays = {k: v for k, v in arrays.items() if k not in set(state_names)}
    names = architecture.get("weights")
    if not isinstance(names, list) or sorted(names) != sorted(weight_arrays):
        raise _fail(
            p, "the weight arrays do not match the architecture's list of weights."
        )
    for key, array in arrays.items():
        _check_weight(p, key, array)
    return architecture, arrays


def _check_members(p: Path, fh: Any) -> None:
    """The zip directory and each array's .npy header, before any inflating: keys
    first (the architecture present, only .npy members), then declared sizes against
    :data:`MAX_MODEL_BYTES`; an array whose header asks for more bytes than its member
    declares is refused too (numpy allocates from the header)."""
    with zipfile.ZipFile(fh) as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        if f"{ARCHITECTURE_KEY}.npy" not in names:
            keys = [n.removesuffix(".npy") for n in names]
            raise _fail(
                p,
                "not a convlab model (no 'architecture' record; the file holds "
                f"{', '.join(keys[:5]) or 'nothing'}"
                f"{'...' if len(keys) > 5 else ''}).",
            )
        if len(infos) > MAX_MODEL_MEMBERS:
            raise _fail(
                p,
                f"it holds {len(infos):,} arrays, more than the "
                f"{MAX_MODEL_MEMBERS:,} a model file may have.",
            )
        declared = sum(info.file_size for info in infos)
        if declared > MAX_MODEL_BYTES:
            raise _fail(
                p,
                f"its arrays declare {declared:,} bytes uncompressed, more than the "
                f"{MAX_MODEL_BYTES:,} a model file may hold.",
            )
        for info in infos:
            if not info.filename.endswith(".npy") or info.is_dir():
                raise _fail(p, f"member {info.filename!r} is not an .npy array.")
            limit = (
                MAX_ARCHITECTURE_BYTES
                if info.filename == f"{ARCHITECTURE_KEY}.npy"
                else MAX_MODEL_BYTES
            )
            if info.file_size > limit:
                raise _fail(
                    p,
                    f"member {info.filename!r} declares {info.file_size:,} bytes, "
                    f"more than the {limit:,} allowed.",
                )
            with archive.open(info) as member:
                needed = _npy_bytes(p, info.filename, member)
            if needed > info.file_size:
                raise _fail(
                    p,
                    f"array {info.filename!r} declares {needed:,} bytes of data in "
                    f"a member of {info.file_size:,} bytes.",
                )


def _npy_bytes(p: Path, name: str, member: Any) -> int:
    """Data bytes an .npy header declares (shape times item size)."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(member)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(member)
        else:
            shape, _, dtype = fmt.read_array_header_2_0(member)
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise _fail(
                p, "it contains pickled Python objects, which convlab never loads."
            ) from None
        raise _fail(p, f"array {name!r} has no valid .npy header ({exc}).") from None
    count = 1
    for v in shape:
        count *= int(v)
    return count * dtype.itemsize


def _check_weight(p: Path, key: str, array: np.ndarray) -> None:
    """Real floating weights only, and every value finite: complex weights would lose
    their imaginary part, and a NaN weight only shows as "accuracy 10% (loss nan)"."""
    if array.dtype.kind == "c":
        raise _fail(
            p,
            f"weight {key!r} is complex ({array.dtype}); weights are real numbers "
            "(the imaginary part would be lost).",
        )
    if array.dtype.kind != "f":
        raise _fail(
            p, f"weight {key!r} has dtype {array.dtype}; weights are float arrays."
        )
    finite = np.isfinite(array)
    if not finite.all():
        bad = int(array.size - np.count_nonzero(finite))
        nans = int(np.count_nonzero(np.isnan(array)))
        raise _fail(
            p,
            f"weight {key!r} {array.shape} has {bad:,} non-finite values "
            f"({nans:,} NaN, {bad - nans:,} inf); a model with them cannot predict.",
        )


def _check_plan(
    p: Path, layers: list, input_shape: Any, arrays: dict, *, internal: bool = False
) -> None:
    """Walk the layers' shapes from the saved input shape without building anything:
    every layer must accept its input (else the reason, naming the layer), its
    activations stay under :data:`MAX_ACTIVATION_VALUES` a sample, and each kernel's
    shape must be the one the file holds, so building allocates no more than the file
    declared (Dense(3,000,000) in a 29 KB file peaked at 13.8 GB)."""
    from .data_adapter import sample_shape

    try:
        shape = (
            tuple(int(v) for v in input_shape)
            if internal
            else sample_shape(tuple(input_shape))
        )
    except (TypeError, ValueError) as exc:
        raise _fail(
            p, f"the saved input shape {input_shape!r} is invalid: {exc}"
        ) from None
    shape0 = shape
    for i, layer in enumerate(layers):
        label = f'layer {i} "{layer.name or type(layer).__name__.lower()}"'
        try:
            out = tuple(int(v) for v in layer.compute_output_shape(shape))
        except ValueError as exc:
            raise _fail(
                p,
                "the kernels cannot run this model on its input "
                f"{'x'.join(str(v) for v in shape0)}: "
                f"{label} ({type(layer).__name__}) {exc}",
            ) from None
        values = 1
        for v in out:
            values *= v
        if values > MAX_ACTIVATION_VALUES:
            raise _fail(
                p,
                f"{label} ({type(layer).__name__}) would output "
                f"{values:,} values a sample, more than the "
                f"{MAX_ACTIVATION_VALUES:,} allowed.",
            )
        kernel_shape = getattr(layer, "_kernel_shape", None)
        if kernel_shape is not None:
            expected = tuple(int(v) for v in kernel_shape(shape))
            prefix = f"weights/{i:03d}/"
            keys = [k for k in arrays if k.startswith(prefix) and k.endswith("/kernel")]
            key = keys[0] if len(keys) == 1 else f"{prefix}.../kernel"
            held = arrays.get(key)
            if held is None or held.shape != expected:
                raise _fail(
                    p,
                    f"{label} ({type(layer).__name__}) needs a kernel "
                    f"of shape {expected}; the file holds "
                    f"{'none' if held is None else held.shape} under {key!r}.",
                )
        shape = out


def _restore_optimizer_state(
    model: Sequential,
    items: list[tuple[str, np.ndarray]],
    arrays: dict[str, np.ndarray],
    architecture: dict[str, Any],
) -> None:
    names = architecture.get("optimizer_state") or []
    optimizer = model.optimizer
    assert optimizer is not None
    for key, array in items:
        slots = []
        while f"optimizer/{key}/{len(slots)}" in names:
            slot = arrays[f"optimizer/{key}/{len(slots)}"]
            if slot.shape != array.shape:
                raise ValueError(f"optimizer state for {key} has shape {slot.shape}")
            slots.append(slot.astype(np.float32))
        if slots:
            optimizer._slots[id(array)] = (array, *slots)


def load_model(path: str | os.PathLike[str], compile: bool = True) -> Sequential:
    """Build the saved model, set its weights, and compile it as it was compiled.

    Raises
    ------
    ModelFileError
        See :func:`read_model_file`; also unknown layer classes, bad layer arguments,
        and weights whose shapes do not fit the architecture.
    """
    p = Path(path)
    architecture, arrays = read_model_file(p)
    try:
        config = architecture["model"]
        model_class = architecture.get("class_name", "Sequential")
        if model_class not in ("Sequential", "Model"):
            raise _fail(p, f"unknown model class {model_class!r}.")
        for entry in config["layers"]:
            name = entry["class_name"]
            if name not in LAYER_CLASSES and name not in ("Sequential", "Model"):
                raise _fail(p, f"unknown layer class {name!r}.")
        flat = all(e["class_name"] in LAYER_CLASSES for e in config["layers"])
        if model_class == "Sequential" and flat:
            # checked before anything is built: the layers alone allocate nothing
            layers = [
                LAYER_CLASSES[e["class_name"]].from_config(dict(e["config"]))
                for e in config["layers"]
            ]
            if config["input_shape"] is not None:  # saved as convlab's (C, H, W)
                _check_plan(p, layers, config["input_shape"], arrays, internal=True)
            elif layers and layers[0].declared_input_shape is not None:
                _check_plan(p, layers, layers[0].declared_input_shape, arrays)
        if model_class == "Model":
            from .functional import Model

            model = Model.from_config(config)
        else:
            model = Sequential.from_config(config)
        items = weight_items(model)
        if [key for key, _ in items] != architecture["weights"]:
            raise _fail(p, "the weight names do not match the layers.")
        model.set_weights([arrays[key] for key, _ in items])
        compiled = architecture.get("compile")
        if compile and compiled:
            opt = compiled["optimizer"]
            optimizer_cls = OPTIMIZERS[opt["class_name"].lower()]
            loss_cls = LOSSES[compiled["loss"]["class_name"]]
            model.compile(
                optimizer=optimizer_cls.from_config(opt["config"]),
                loss=loss_cls(**compiled["loss"]["config"]),
                metrics=compiled["metrics"],
            )
            _restore_optimizer_state(model, items, arrays, architecture)
            model.optimizer.iterations = int(compiled.get("iterations", 0))
        pre = architecture.get(PREPROCESSING)
        model.preprocessing = (
            None
            if not pre
            else {
                "config": pre["config"],
                "arrays": {
                    k.removeprefix(f"{PREPROCESSING}/"): arrays[k]
                    for k in pre["arrays"]
                },
            }
        )
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _fail(
            p, f"malformed architecture ({type(exc).__name__}: {exc})."
        ) from None
    return model
