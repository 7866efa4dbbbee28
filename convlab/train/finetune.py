"""Fine-tuning: keep the weights of every layer an edit does not change.

No Qt here. :func:`transfer_weights` matches the layers of an old model and of a new
one (the edited stack, or the stack with a new head for another class count): a new
layer takes an old layer's weights when both have the same type, the same
configuration (its name and ``trainable`` aside: freezing a layer changes no weight)
and the same input shape; every other new layer keeps its fresh initial weights. The
:class:`TransferReport` says which, in words a status bar can show::

    kept 5 layers' weights; re-initialised dense_2 (units 10 -> 6)

Matching follows the order of the layers (``difflib`` on the layers' signatures, so
an inserted or removed layer does not shift the others out of step), then pairs any
layer left over with an identical one (a layer moved elsewhere keeps its weights when
its input shape is unchanged).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

__all__ = ["TransferReport", "layer_signature", "replace_head", "transfer_weights"]

_IGNORED = ("name", "trainable", "input_shape")


def _config(layer: Any) -> dict[str, Any]:
    config = dict(layer.get_config())
    for key in _IGNORED:
        config.pop(key, None)
    return config


def layer_signature(layer: Any) -> str:
    """What decides whether a layer's weights carry over: type, configuration (name
    and ``trainable`` aside) and input shape, as one comparable string."""
    shape = getattr(layer, "input_shape", None)
    return json.dumps(
        [type(layer).__name__, _config(layer), list(shape or ())],
        sort_keys=True,
        default=str,
    )


def _has_weights(layer: Any) -> bool:
    return bool(getattr(layer, "weights", None))


def _shape_words(shape: Any) -> str:
    shape = tuple(shape or ())
    if len(shape) == 3:
        return f"{shape[1]}x{shape[2]}x{shape[0]}"
    return "x".join(str(v) for v in shape)


def _why(old: Any | None, new: Any) -> str:
    """Why ``new`` does not take ``old``'s weights, in the editor's words."""
    if old is None:
        return "new layer"
    if type(old) is not type(new):
        return f"was {type(old).__name__}"
    a, b = _config(old), _config(new)
    changed = [
        f"{key} {_text(a.get(key))} -> {_text(b.get(key))}"
        for key in sorted(set(a) | set(b))
        if a.get(key) != b.get(key)
    ]
    if tuple(old.input_shape or ()) != tuple(new.input_shape or ()):
        changed.append(
            f"input {_shape_words(old.input_shape)} -> {_shape_words(new.input_shape)}"
        )
    return ", ".join(changed) or "changed"


def _text(value: Any) -> str:
    if value is None:
        return "none"  # the editor's word for no activation
    if isinstance(value, (list, tuple)):
        if len(set(value)) == 1:
            return str(value[0])
        return "x".join(str(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class TransferReport:
    """What :func:`transfer_weights` did, by the new model's layer names.

    ``kept``: layers with weights that took the old model's; ``reinitialised``:
    ``(name, why)`` for layers with weights that start fresh (``why``: "units 10 ->
    6", "new layer", ...)."""

    kept: tuple[str, ...] = ()
    reinitialised: tuple[tuple[str, str], ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.reinitialised)

    def text(self) -> str:
        """One line for the status bar."""
        n = len(self.kept)
        kept = f"kept {n} layer{'' if n == 1 else 's'}' weights"
        if n == 1:
            kept = "kept 1 layer's weights"
        if not self.reinitialised:
            return f"{kept}; no layer re-initialised" if n else "no weights to keep"
        fresh = ", ".join(f"{name} ({why})" for name, why in self.reinitialised)
        return f"{kept}; re-initialised {fresh}"


def transfer_weights(old_model: Any, new_model: Any) -> TransferReport:
    """Copy the weights of each of ``old_model``'s layers into the matching layer of
    ``new_model`` (both built); see the module docstring for what matches. The
    copies are exact (``set_weights``: the arrays are copied bit for bit), moving
    statistics of BatchNormalization included. Returns the report."""
    old_layers = list(getattr(old_model, "layers", None) or [])
    new_layers = list(new_model.layers)
    old_sig = [layer_signature(layer) for layer in old_layers]
    new_sig = [layer_signature(layer) for layer in new_layers]
    source: dict[int, int] = {}  # new index -> old index
    partner: dict[int, int] = {}  # new index -> old index of the same place, changed
    matcher = difflib.SequenceMatcher(None, old_sig, new_sig, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                source[j1 + k] = i1 + k
        elif tag == "replace":
            olds = list(range(i1, i2))
            for j in range(j1, j2):  # the changed layer of the same type, in order
                same = [i for i in olds if type(old_layers[i]) is type(new_layers[j])]
                if same:
                    partner[j] = same[0]
                    olds.remove(same[0])
    used = set(source.values())
    for j in range(len(new_layers)):  # a layer moved elsewhere, unchanged
        if j in source or not _has_weights(new_layers[j]):
            continue
        for i, sig in enumerate(old_sig):
            if i not in used and sig == new_sig[j]:
                source[j] = i
                used.add(i)
                break
    kept: list[str] = []
    fresh: list[tuple[str, str]] = []
    for j, layer in enumerate(new_layers):
        if not _has_weights(layer):
            continue
        if j in source:
            layer.set_weights(old_layers[source[j]].get_weights())
            kept.append(layer.name)
        else:
            old = old_layers[partner[j]] if j in partner else None
            fresh.append((layer.name, _why(old, layer)))
    return TransferReport(tuple(kept), tuple(fresh))


def replace_head(
    specs: list[dict[str, Any]], num_classes: int
) -> tuple[list[dict[str, Any]], bool]:
    """``specs`` with the last Dense sized for ``num_classes`` (a copy), and whether
    that changed anything. A stack that does not end with a Dense is returned as it
    is (the stack check explains what the end needs)."""
    out = [dict(s) for s in specs]
    if not out or out[-1].get("type") != "Dense":
        return out, False
    if int(out[-1].get("units", 0)) == int(num_classes):
        return out, False
    out[-1]["units"] = int(num_classes)
    return out, True
