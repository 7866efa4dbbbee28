"""Keras's HDF5 weight files (``model.save_weights('w.h5')``, the published
``keras-applications`` files such as VGG16's), read into a convlab model.

The layout Keras 2 writes (``keras/engine/saving.py``, ``save_weights_to_hdf5_group``):

* the root (or its ``model_weights`` group, in a whole-model file) has the attribute
  ``layer_names``: every layer's name, in the model's order;
* group ``f[layer_name]`` has the attribute ``weight_names``, its arrays in the
  layer's ``get_weights()`` order (``block1_conv1_W_1:0``, ``block1_conv1_b_1:0``);
  each names a dataset under that group (the name may contain ``/``);
* a Conv2D kernel is ``(KH, KW, C, F)`` (TensorFlow's; convlab's is ``(F, C, KH, KW)``,
  the same cross-correlation, no flip); a Dense kernel ``(in, units)`` as convlab's,
  its rows in the order of a channels-last Flatten (convlab's keras face flattens so).

As Keras's ``load_weights`` (``by_name=False``), weights are matched in order: the
file's arrays, layer after layer, against the arrays of the model's layers that have
weights (a nested model's layers opened). Every array is read and checked (count,
shape, a real float dtype, finite values) before any weight changes. ``h5py`` is an
optional dependency (``pip install "convlab[h5]"``), imported only here; HDF5 holds
no pickles, and object or string datasets are refused.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "H5WeightsError",
    "HDF5_SIGNATURE",
    "h5py_module",
    "is_hdf5",
    "read_keras_weights",
    "load_keras_weights",
    "weighted_layers",
    "save_keras_weights",
]

#: the first 8 bytes of every HDF5 file
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: largest array a weight file may hold, in values (VGG16's fc1 is 102,760,448)
MAX_ARRAY_VALUES = 2**28


class H5WeightsError(ValueError):
    """A Keras HDF5 weight file that cannot be read into the model; the message
    names the file, the layer and what is wrong."""


def h5py_module() -> Any:
    """``h5py``, imported on first use, or an ImportError saying how to get it."""
    try:
        import h5py  # type: ignore[import-untyped]
    except ImportError:
        raise ImportError(
            "Reading Keras's HDF5 weight files (.h5) needs h5py, an optional "
            'dependency: pip install "convlab[h5]" (or pip install h5py).'
        ) from None
    return h5py


def is_hdf5(path: str | os.PathLike[str]) -> bool:
    """True when the file starts with HDF5's signature (convlab's own model files
    are zip archives, even when named ``.h5``)."""
    try:
        with open(path, "rb") as f:
            return f.read(8) == HDF5_SIGNATURE
    except OSError:
        return False


def _names(attrs: Any, key: str, where: str, path: Path) -> list[str]:
    if key not in attrs:
        raise H5WeightsError(
            f"'{path}' is not a Keras weight file: {where} has no `{key}` attribute."
        )
    raw = np.asarray(attrs[key])
    if raw.dtype.kind not in "SUO" or raw.ndim > 1:
        raise H5WeightsError(f"'{path}': {where}'s `{key}` is not a list of names.")
    names = []
    for item in raw.reshape(-1):
        if isinstance(item, bytes):
            item = item.decode("utf8")
        if not isinstance(item, str):
            raise H5WeightsError(f"'{path}': {where}'s `{key}` holds a non-name.")
        names.append(item)
    return names


def read_keras_weights(
    path: str | os.PathLike[str],
) -> list[tuple[str, list[np.ndarray]]]:
    """``[(layer name, [arrays in Keras's order]), ...]`` for the layers of a Keras
    HDF5 weight file that have weights, in the file's order; arrays float32, in
    Keras's layouts.

    Raises
    ------
    H5WeightsError
        Not HDF5, not Keras's layout, or an array that is not finite real numbers.
    ImportError
        h5py is not installed (the message says how to install it).
    """
    h5py = h5py_module()
    p = Path(path)
    if not is_hdf5(p):
        raise H5WeightsError(f"'{p}' is not an HDF5 file (Keras's .h5 format).")
    result = []
    with h5py.File(p, "r") as f:
        root = f
        if "layer_names" not in f.attrs and "model_weights" in f:
            root = f["model_weights"]  # a whole-model file: its weights part
        for name in _names(root.attrs, "layer_names", "the root", p):
            group = root.get(name)
            if not isinstance(group, h5py.Group):
                raise H5WeightsError(f"'{p}': layer '{name}' has no group.")
            arrays = []
            for weight in _names(group.attrs, "weight_names", f"layer '{name}'", p):
                data = group.get(weight)
                if not isinstance(data, h5py.Dataset):
                    raise H5WeightsError(
                        f"'{p}': layer '{name}' lists '{weight}', which is missing."
                    )
                if data.dtype.kind != "f" or data.size > MAX_ARRAY_VALUES:
                    raise H5WeightsError(
                        f"'{p}': '{name}/{weight}' must be a float array of at most "
                        f"{MAX_ARRAY_VALUES:,} values. Received: dtype {data.dtype}, "
                        f"shape {data.shape}"
                    )
                array = np.asarray(data[()], np.float32)
                if not np.isfinite(array).all():
                    raise H5WeightsError(
                        f"'{p}': '{name}/{weight}' holds NaN or infinite values."
                    )
                arrays.append(array)
            if arrays:
                result.append((name, arrays))
    return result


def weighted_layers(model: Any) -> list[Any]:
    """The model's layers that have weights, in order, nested models opened (as
    Keras lists them for a weight file)."""
    found = []
    for layer in model.layers:
        if hasattr(layer, "layers"):
            found += weighted_layers(layer)
        elif layer.weights:
            found.append(layer)
    return found


def _to_convlab(layer: Any, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Keras's arrays for ``layer`` in convlab's layouts (a Conv2D kernel
    ``(KH, KW, C, F)`` -> ``(F, C, KH, KW)``)."""
    kinds = {cls.__name__ for cls in type(layer).__mro__}
    if "Conv2D" in kinds and arrays and arrays[0].ndim == 4:
        return [np.ascontiguousarray(arrays[0].transpose(3, 2, 0, 1)), *arrays[1:]]
    return arrays


def load_keras_weights(model: Any, path: str | os.PathLike[str]) -> None:
    """Copy the weights of a Keras HDF5 file into ``model`` (built, same
    architecture), matching layers with weights in order, as Keras's
    ``load_weights``. Nothing changes unless every array fits.

    Raises
    ------
    H5WeightsError
        The file's layers or shapes do not match the model's (the message names the
        first layer that differs).
    """
    p = Path(path)
    entries = read_keras_weights(p)
    # one stream of arrays, so that a nested model saved as one layer (its arrays
    # under one group) matches the same layers as one saved layer by layer
    stream = [(name, array) for name, arrays in entries for array in arrays]
    layers = weighted_layers(model)
    needed = sum(len(layer.weights) for layer in layers)
    if len(stream) != needed:
        raise H5WeightsError(
            f"'{p}' holds {len(stream)} arrays for {len(entries)} layers "
            f"({', '.join(name for name, _ in entries[:4])}"
            f"{', ...' if len(entries) > 4 else ''}); the model needs {needed} for "
            f"{len(layers)} layers with weights. Was it saved from another "
            "architecture (include_top?)"
        )
    plan, at = [], 0
    for layer in layers:
        count = len(layer.weights)
        names = [name for name, _ in stream[at : at + count]]
        arrays = [array for _, array in stream[at : at + count]]
        at += count
        converted = _to_convlab(layer, arrays)
        expected = [w.shape for w in layer.weights.values()]
        if [a.shape for a in converted] != expected:
            raise H5WeightsError(
                f"'{p}': layer '{names[0]}' (file) does not fit layer "
                f"'{layer.name}' ({type(layer).__name__}): the file holds arrays of "
                f"shapes {[tuple(a.shape) for a in arrays]} in Keras's layout; the "
                f"layer needs {[tuple(s) for s in expected]} in convlab's."
            )
        plan.append((layer, converted))
    for layer, converted in plan:
        layer.set_weights(converted)


def _to_keras(layer: Any, arrays: list[np.ndarray]) -> list[np.ndarray]:
    kinds = {cls.__name__ for cls in type(layer).__mro__}
    if "Conv2D" in kinds and arrays and arrays[0].ndim == 4:
        return [np.ascontiguousarray(arrays[0].transpose(2, 3, 1, 0)), *arrays[1:]]
    return arrays


def save_keras_weights(model: Any, path: str | os.PathLike[str]) -> None:
    """Write ``model``'s weights in Keras 2's HDF5 layout (see the module docstring):
    one group per layer of the model (nested models opened), ``weight_names``
    ``<layer>/<key>:0``, Conv2D kernels as ``(KH, KW, C, F)``. Atomic: written to a
    temporary file beside ``path``, then renamed."""
    from .._files import atomic_write

    h5py = h5py_module()
    layers = _all_layers(model)

    with atomic_write(path) as handle, h5py.File(handle, "w") as f:
        f.attrs["layer_names"] = np.array(
            [layer.name.encode("utf8") for layer in layers], dtype="S"
        )
        f.attrs["backend"] = b"convlab"
        for layer in layers:
            group = f.create_group(layer.name)
            names = [f"{layer.name}/{key}:0" for key in layer.weights]
            group.attrs["weight_names"] = np.array(
                [n.encode("utf8") for n in names], dtype="S"
            )
            arrays = _to_keras(layer, list(layer.weights.values()))
            for n, array in zip(names, arrays, strict=True):
                group.create_dataset(n, data=np.asarray(array, np.float32))


def _all_layers(model: Any) -> list[Any]:
    found = []
    for layer in model.layers:
        found += _all_layers(layer) if hasattr(layer, "layers") else [layer]
    return found
