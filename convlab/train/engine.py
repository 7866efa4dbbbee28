"""The thin mapping between the layer editor's dict specs and convlab.nn (no Qt here).

convlab.nn speaks Keras (``Conv2D(filters, kernel_size, strides, padding,
activation)``); the editor's specs use the same argument names, with two editor
conventions: ``"none"`` for no activation and ``strides=0`` for "the pool size".
Arguments the editor does not show (``use_bias``, ``padding_mode``, a Dropout's
``seed``, ...) ride along in ``"_config"`` so a loaded model's layers keep them when
edited and rebuilt.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "editor_activation",
    "nn_activation",
    "PRESET_LABELS",
    "build_model",
    "filter_bank",
    "first_conv",
    "layer_from_spec",
    "make_optimizer",
    "preset_specs",
    "spec_from_layer",
    "specs_from_model",
    "to_model_input",
]

#: (preset name in convlab.nn.presets, label in the chooser), in the chooser's order.
PRESET_LABELS: list[tuple[str, str]] = [
    ("tiny", "tiny: trains in seconds (live lecture)"),
    ("lenet5", "LeNet-5 (LeCun et al. 1998)"),
    ("keras", "Keras tutorial CNN (slow, accurate)"),
    ("animal", "animal classifier CNN (100x100x3, 6 classes)"),
    ("alexnet_bn", "AlexNet with batch norm (227x227x3, Chainer)"),
    ("vgg16", "VGG16 (224x224x3, Keras)"),
]

#: the editor's word for convlab.nn's "linear" (no activation)
NO_ACTIVATION = "none"


def nn_activation(name: str) -> str:
    """The editor's activation name as convlab.nn spells it ("none" -> "linear")."""
    return "linear" if name == NO_ACTIVATION else name


def editor_activation(name: str | None) -> str:
    """convlab.nn's activation (``None``/"linear" in a config) as the editor shows
    it."""
    return NO_ACTIVATION if name in (None, "linear") else str(name)


_EDITABLE = {
    "filters",
    "kernel_size",
    "strides",
    "padding",
    "activation",
    "pool_size",
    "units",
    "rate",
    "dilation_rate",
    "momentum",
    "epsilon",
    "trainable",
}


def _compact(value: Any) -> int | list[int]:
    """A per-axis argument as a spec stores it: one int when both axes agree."""
    if isinstance(value, (list, tuple)):
        h, w = (int(v) for v in value)
        return h if h == w else [h, w]
    return int(value)


def _padding_spec(pad: Any) -> Any:
    """A Conv2D's padding for the editor: "valid"/"same", pixels as an int or
    ``[ph, pw]``; an asymmetric (top, bottom, left, right) is kept whole."""
    if isinstance(pad, str):
        return pad
    pad = [int(v) for v in pad] if isinstance(pad, (list, tuple)) else [int(pad)]
    if len(pad) == 4 and pad[0] == pad[1] and pad[2] == pad[3]:
        pad = [pad[0], pad[2]]
    if len(pad) == 4:
        return pad
    return _compact(pad if len(pad) == 2 else pad * 2)


def spec_from_layer(layer: Any) -> dict[str, Any]:
    """The editor's spec of a convlab.nn layer: per-axis arguments as an int when
    both axes agree, ``[h, w]`` otherwise; ``trainable: False`` for a frozen layer."""
    kind = type(layer).__name__
    config = dict(layer.get_config())
    config.pop("name", None)
    config.pop("input_shape", None)
    spec: dict[str, Any] = {"type": kind}
    for key in ("filters", "units"):
        if key in config:
            spec[key] = int(config[key])
    for key in ("kernel_size", "pool_size"):
        if key in config:
            spec[key] = _compact(config[key])
    if kind == "Conv2D" and "dilation_rate" in config:
        spec["dilation_rate"] = _compact(config["dilation_rate"])
    if "strides" in config:
        s = _compact(config["strides"])
        spec["strides"] = 0 if kind != "Conv2D" and s == spec.get("pool_size") else s
    if "padding" in config:
        spec["padding"] = _padding_spec(config["padding"])
    if kind in ("Conv2D", "Dense", "Activation"):
        spec["activation"] = editor_activation(config.get("activation"))
    if "rate" in config:
        spec["rate"] = float(config["rate"])
    for key in ("momentum", "epsilon"):
        if key in config:
            spec[key] = float(config[key])
    if config.get("trainable", True) is False or not getattr(layer, "trainable", True):
        spec["trainable"] = False
    spec["_config"] = {k: v for k, v in config.items() if k not in _EDITABLE}
    return spec


def layer_from_spec(spec: dict[str, Any]) -> Any:
    """A new, unbuilt convlab.nn layer from an editor spec."""
    from convlab.nn.layers import LAYER_CLASSES

    kind = spec["type"]
    if kind not in LAYER_CLASSES:
        raise ValueError(
            f"`type` must be one of {', '.join(LAYER_CLASSES)}. Received: type={kind!r}"
        )
    kwargs: dict[str, Any] = dict(spec.get("_config", {}))
    for key in (
        "filters",
        "kernel_size",
        "units",
        "rate",
        "pool_size",
        "dilation_rate",
        "momentum",
        "epsilon",
    ):
        if key in spec:
            kwargs[key] = spec[key]
    legacy = not isinstance(kwargs.get("padding", "valid"), str)
    if "padding" in spec and not (legacy and spec["padding"] == "valid"):
        # an older spec kept numeric padding in "_config" beside padding "valid"
        kwargs["padding"] = spec["padding"]
    if "strides" in spec:
        kwargs["strides"] = (
            (spec["strides"] or None) if kind != "Conv2D" else spec["strides"]
        )
    if "activation" in spec and kind != "ReLU":
        a = spec["activation"]
        # Activation("none") is kept as it is, so nn names the bad value itself
        kwargs["activation"] = a if kind == "Activation" else nn_activation(a)
    kwargs.pop("trainable", None)
    layer = LAYER_CLASSES[kind](**kwargs)
    if spec.get("trainable", True) is False:
        layer.trainable = False
    return layer


#: MNIST's digits as the models see them, (C, H, W): the default input shape
DEFAULT_INPUT_SHAPE = (1, 28, 28)


def _input_shape(input_shape: Any) -> tuple[int, int, int]:
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
    if len(shape) != 3 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0
        for v in shape
    ):
        raise ValueError(
            "`input_shape` must be (channels, height, width), positive ints. "
            f"Received: input_shape={input_shape!r}"
        )
    return int(shape[0]), int(shape[1]), int(shape[2])


def build_model(
    specs: list[dict[str, Any]],
    seed: int = 0,
    input_shape: tuple[int, int, int] = DEFAULT_INPUT_SHAPE,
) -> Any:
    """A built ``Sequential`` for images of ``input_shape`` (C, H, W); raises
    ValueError if invalid."""
    from convlab.nn import Sequential

    shape = _input_shape(input_shape)
    layers = [layer_from_spec(s) for s in specs]
    model = Sequential(layers, seed=int(seed))
    model.build(shape, internal=True)  # per-sample (C, H, W)
    return model


def specs_from_model(model: Any) -> list[dict[str, Any]]:
    return [spec_from_layer(layer) for layer in model.layers]


def preset_specs(name: str) -> list[dict[str, Any]]:
    """The layer specs of a preset, read from the engine's own preset layers
    (unbuilt: VGG16's specs cost no weights)."""
    from convlab.nn.presets import get_preset

    return [spec_from_layer(layer) for layer in get_preset(name).layers()]


def preset_input_shape(name: str) -> tuple[int, int, int]:
    """A preset's native input (C, H, W): (3, 224, 224) for VGG16."""
    from convlab.nn.presets import get_preset

    return get_preset(name).input_chw


def preset_description(name: str) -> str:
    from convlab.nn.presets import get_preset

    return get_preset(name).description


def preset_settings(name: str) -> tuple[int, int, float]:
    """(batch size, epochs, learning rate) the preset was tuned for."""
    from convlab.nn.presets import get_preset

    p = get_preset(name)
    return p.batch_size, p.epochs, p.learning_rate


def first_conv(model: Any) -> tuple[str, np.ndarray] | None:
    """(name, weight copy (F, C, KH, KW)) of the model's first Conv2D, if any."""
    for layer in model.layers:
        if type(layer).__name__ == "Conv2D" and getattr(layer, "built", True):
            return layer.name, np.array(layer.weight, np.float32, copy=True)
    return None


def filter_bank(model: Any) -> list[tuple[str, np.ndarray]]:
    """The first Conv2D's kernels as ``[(name, (KH, KW) float32), ...]`` for the
    explorer's filter bank (averaged over input channels when there are several);
    empty if the model has no Conv2D."""
    conv = first_conv(model)
    if conv is None:
        return []
    name, weight = conv
    return [
        (f"{name} #{f}", np.array(weight[f].mean(axis=0), np.float32))
        for f in range(weight.shape[0])
    ]


def make_optimizer(name: str, learning_rate: float) -> Any:
    from convlab.nn import SGD, Adam

    if name == "sgd":
        return SGD(learning_rate=learning_rate, momentum=0.9)
    if name == "adam":
        return Adam(learning_rate=learning_rate)
    raise ValueError(
        f'`optimizer` must be "adam" or "sgd". Received: optimizer={name!r}'
    )


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 images ``(N, H, W)`` or ``(N, C, H, W)`` as the engine takes them,
    ``(N, C, H, W)`` uint8: it scales uint8 to [0, 1] batch by batch (as ``convlab
    train`` does), so the big array stays 4x smaller."""
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4:
        raise ValueError(
            "`images` must have shape (N, H, W) or (N, C, H, W). "
            f"Received: shape {x.shape}"
        )
    return np.ascontiguousarray(x, np.uint8)


def as_probe_input(image: np.ndarray) -> np.ndarray:
    """One image, float in [0, 1], ``(H, W)`` or ``(C, H, W)`` -> ``(1, C, H, W)``
    float32 (a flat 784 is a 28x28 digit)."""
    x = np.asarray(image, np.float32)
    if x.ndim <= 1:
        x = x.reshape(28, 28)
    if x.ndim == 2:
        x = x[None]
    return x.reshape(1, *x.shape)


def ends_with_softmax(model: Any) -> bool:
    """The model's last layer applies softmax (its outputs are probabilities)."""
    layers = getattr(model, "layers", None) or []
    return bool(layers) and getattr(layers[-1], "activation", None) == "softmax"


def make_loss(model: Any) -> Any:
    """Sparse cross-entropy for ``model``: from the logits when it ends without
    softmax (a last Dense with activation "none"), since cross-entropy of raw outputs
    read as probabilities does not train (the trainer issue saw 16% accuracy)."""
    from convlab.nn.losses import SparseCategoricalCrossentropy

    return SparseCategoricalCrossentropy(from_logits=not ends_with_softmax(model))


def softmax_rows(values: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float32 (for a model that outputs logits)."""
    z = np.asarray(values, np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
