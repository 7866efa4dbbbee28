"""``.convlab`` scenes: exact round trips and a catalogue of broken files.

Every broken file is generated here from a good one (no binaries committed).
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import os
import stat

import numpy as np
import pytest
from PIL import Image

from convlab import explore
from convlab.data.images import load_sample
from convlab.lecture import scene as scene_mod
from convlab.lecture.scene import (
    Scene,
    SceneError,
    adjacent_scene,
    load_scene,
    save_scene,
    scene_folder,
)


def _settings(**changes) -> explore.Settings:
    rng = np.random.default_rng(0)
    filters = (
        explore.Filter("edge", rng.standard_normal((3, 3)).astype(np.float32), 0.1),
        explore.Filter("wide", rng.standard_normal((2, 5)).astype(np.float32), -0.3),
    )
    values = {
        "filters": filters,
        "stride": (2, 1),
        "padding": "explicit",
        "explicit_padding": (1, 2, 0, 1),
        "padding_mode": "reflect",
        "dilation": (1, 2),
        "activation": "leaky_relu",
        "negative_slope": 0.07,
        "pool": "avg",
        "pool_size": (3, 2),
        "pool_stride": (2, 2),
        "pool_padding": "explicit",
        "pool_explicit_padding": (1, 1),
        "ceil_mode": True,
        "channels": "sum",
    }
    values.update(changes)
    return explore.Settings(**values)


def _images() -> dict[str, np.ndarray]:
    photo = load_sample("cat", max_side=40).array  # 8-bit file -> byte / 255
    grid = np.arange(100, dtype=np.float32).reshape(1, 10, 10) % 7
    floats = np.random.default_rng(1).standard_normal((2, 9, 11)).astype(np.float32)
    floats[0, 0, :3] = [np.float32(-0.0), np.float32(1e-40), np.float32(3.4e38)]
    return {"unorm8": photo, "uint8": grid, "float32": floats}


def _scene(image: np.ndarray, **changes) -> Scene:
    values = {
        "image": image,
        "settings": _settings(),
        "title": "Padding modes",
        "notes": "reflect vs replicate",
        "filter_index": 1,
        "pixel": ("pooled", 1, 2),
        "zoom": 2.5,
        "center": (3.5, 4.0),
        "step": 7,
        "granularity": "tap",
        "colormap": "viridis",
        "color_scale": "fixed",
        "color_limits": (-2.0, 3.0),
        "clip_percentile": 99.5,
        "trainer": {"model": "tiny", "layers": [{"conv": 8}], "lr": 1e-3, "ok": True},
    }
    values.update(changes)
    return Scene(**values)


@pytest.mark.parametrize("encoding", ["unorm8", "uint8", "float32"])
def test_round_trip_identical_settings_and_maps(tmp_path, encoding):
    image = _images()[encoding]
    scene = _scene(image)
    path = tmp_path / "a.convlab"
    save_scene(path, scene)
    doc = json.loads(path.read_text("utf-8"))
    assert doc["format"] == "convlab-scene"
    assert doc["version"] == 1
    assert doc["image"]["encoding"] == encoding
    back = load_scene(path)
    # the image, bit for bit
    np.testing.assert_array_equal(
        back.image.view(np.uint32), scene.image.view(np.uint32)
    )
    # every field, including every Settings field and the filter bank
    for f in dataclasses.fields(Scene):
        if f.name not in ("image", "settings"):
            assert getattr(back, f.name) == getattr(scene, f.name), f.name
    for f in dataclasses.fields(explore.Settings):
        if f.name != "filters":
            assert getattr(back.settings, f.name) == getattr(scene.settings, f.name)
    for a, b in zip(back.settings.filters, scene.settings.filters, strict=True):
        assert (a.name, a.bias) == (b.name, b.bias)
        np.testing.assert_array_equal(a.kernel, b.kernel)
    # maps from compute: identical
    before, after = scene.compute(), back.compute()
    for m0, m1 in zip(before.maps, after.maps, strict=True):
        for stage in ("conv", "activation", "pooled"):
            np.testing.assert_array_equal(m0.stage(stage), m1.stage(stage))
    # saving the reloaded scene writes the same file
    save_scene(tmp_path / "b.convlab", back)
    assert (tmp_path / "b.convlab").read_bytes() == path.read_bytes()


def test_unorm8_png_is_the_picture(tmp_path):
    photo = _images()["unorm8"]
    save_scene(tmp_path / "p.convlab", _scene(photo))
    doc = json.loads((tmp_path / "p.convlab").read_text("utf-8"))
    png = Image.open(io.BytesIO(base64.b64decode(doc["image"]["png"])))
    assert png.mode == "RGB"
    assert png.size == (photo.shape[2], photo.shape[1])
    np.testing.assert_array_equal(
        np.asarray(png).transpose(2, 0, 1), np.round(photo * 255).astype(np.uint8)
    )


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_mode_follows_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        save_scene(tmp_path / "m.convlab", _scene(_images()["uint8"]))
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "m.convlab").stat().st_mode)
    assert mode == 0o666 & ~umask


def test_failed_save_keeps_the_old_file(tmp_path):
    path = tmp_path / "keep.convlab"
    save_scene(path, _scene(_images()["uint8"]))
    old = path.read_bytes()
    bad = explore.Filter("nan", np.full((3, 3), np.nan, np.float32))
    with pytest.raises(ValueError, match="must be finite"):
        save_scene(
            path,
            _scene(
                _images()["uint8"], settings=_settings(filters=(bad,)), filter_index=0
            ),
        )
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["keep.convlab"]


def test_scene_checks_its_fields():
    image = _images()["uint8"]
    with pytest.raises(TypeError, match=r"`trainer\['x'\]` must hold only .* set"):
        _scene(image, trainer={"x": {1, 2}})
    with pytest.raises(
        ValueError, match=r"finite number. Received: trainer\['lr'\]=nan"
    ):
        _scene(image, trainer={"lr": float("nan")})
    with pytest.raises(TypeError, match=r"keys must be str"):
        _scene(image, trainer={1: 2})
    with pytest.raises(ValueError, match=r"Received: filter_index=2"):
        _scene(image, filter_index=2)
    with pytest.raises(ValueError, match=r"Received: zoom=0"):
        _scene(image, zoom=0)
    with pytest.raises(ValueError, match=r"Received: pixel=\('map', 0, 0\)"):
        _scene(image, pixel=("map", 0, 0))
    with pytest.raises(ValueError, match=r"Received: image.shape=\(5, 2, 2\)"):
        _scene(np.zeros((5, 2, 2)))
    # the trainer dict is a detached copy
    trainer = {"layers": [1]}
    s = _scene(image, trainer=trainer)
    trainer["layers"].append(2)
    assert s.trainer == {"layers": [1]}


# ----------------------------------------------------------------- broken files


def _good_doc() -> dict:
    return scene_mod.scene_to_json(_scene(_images()["float32"]))


def _png_b64(array: np.ndarray, mode: str) -> str:
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _edit(change):
    def make() -> bytes:
        doc = _good_doc()
        change(doc)
        return json.dumps(doc).encode()

    return make


def _set(path: str, value):
    def change(doc):
        *parents, last = path.split(".")
        node = doc
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


def _del(key: str):
    return lambda doc: doc.pop(key)


def _bomb_png(doc):
    # claims a huge image, and carries a PNG with a huge header
    doc["image"]["shape"] = [1, 5000, 5000]


def _lying_png(doc):
    doc["image"]["png"] = _png_b64(np.zeros((4, 4), np.uint8), "L")


def _truncated_png(doc):
    raw = base64.b64decode(doc["image"]["png"])
    doc["image"]["png"] = base64.b64encode(raw[: len(raw) // 2]).decode()


def _gif_not_png(doc):
    buffer = io.BytesIO()
    Image.new("L", (11, 18)).save(buffer, format="GIF")
    doc["image"]["encoding"] = "uint8"
    doc["image"]["png"] = base64.b64encode(buffer.getvalue()).decode()


BROKEN = {
    "empty file": (lambda: b"", r"not valid JSON"),
    "not JSON": (lambda: b"\x89PNG\r\n\x1a\n....", r"not valid JSON"),
    "truncated JSON": (
        lambda: json.dumps(_good_doc()).encode()[:500],
        "not valid JSON",
    ),
    "not UTF-8": (lambda: b'{"format": "\xff"}', r"not valid JSON"),
    "NaN constant": (
        lambda: json.dumps(_good_doc()).replace('"zoom": 2.5', '"zoom": NaN').encode(),
        r"NaN is not a valid JSON number",
    ),
    "deep nesting": (
        lambda: b"[" * 100_000 + b"]" * 100_000,
        r"not valid JSON|must be",
    ),
    "a list": (lambda: b"[1, 2]", r"`\(top level\)` must be an object"),
    "filter bank file": (
        lambda: b'{"format": "convlab-filter-bank", "version": 1}',
        r"Not a convlab scene.*convlab-filter-bank",
    ),
    "newer version": (
        _edit(_set("version", 2)),
        r"newer convlab \(scene version 2; this convlab reads up to version 1\)",
    ),
    "version a string": (_edit(_set("version", "1")), r"`version` must be a positive"),
    "no image": (_edit(_del("image")), r"`image` must be an object. Received: null"),
    "shape wrong": (
        _edit(_set("image.shape", [2, 9])),
        r"`image.shape` must be \[C, H, W\]",
    ),
    "pixel budget": (_edit(_bomb_png), r"at most 1,048,576 pixels per channel"),
    "unknown encoding": (_edit(_set("image.encoding", "jpeg")), r"`image.encoding`"),
    "not base64": (_edit(_set("image.png", "!!!")), r"not valid base64"),
    "png of another size": (_edit(_lying_png), r"must be a 11x18 RGBA PNG"),
    "truncated png": (_edit(_truncated_png), r"not a readable PNG"),
    "gif not png": (_edit(_gif_not_png), r"not a readable PNG"),
    "filters not a list": (_edit(_set("filters", {})), r"`filters` must be a list"),
    "ragged kernel": (
        _edit(_set("filters.0.kernel", [[1, 2], [3]])),
        r"`filters\[0\].kernel` must be a non-empty rectangular",
    ),
    "kernel of strings": (
        _edit(_set("filters.0.kernel", [["1"]])),
        r"`filters\[0\].kernel` must be",
    ),
    "kernel too large": (
        _edit(_set("filters.0.kernel", [[0] * 16] * 16)),
        r"`filters\[0\]`: `kernel` must be a 2-D array with 1 to 15",
    ),
    "bias a string": (
        _edit(_set("filters.1.bias", "0")),
        r"`filters\[1\].bias` must be",
    ),
    "name missing": (
        _edit(_set("filters.1.name", None)),
        r"`filters\[1\].name` must be",
    ),
    "stride a string": (
        _edit(_set("settings.stride", "2")),
        r"`settings.stride` must be a list of 2 ints. Received: string \"2\"",
    ),
    "ceil_mode an int": (
        _edit(_set("settings.ceil_mode", 1)),
        r"`settings.ceil_mode` must be true or false",
    ),
    "padding a number": (
        _edit(_set("settings.padding", 3)),
        r"`settings.padding` must",
    ),
    "unknown setting": (
        _edit(_set("settings.groups", 2)),
        r"fields this convlab does not know: groups",
    ),
    "selection out of bank": (
        _edit(_set("selection.filter", 9)),
        r"`selection.filter` must be an int from 0 to 1. Received: filter_index=9",
    ),
    "zoom a string": (_edit(_set("view.zoom", "2")), r"`view.zoom` must be a number"),
    "step negative": (_edit(_set("animation.step", -1)), r"`animation.step` must be"),
    "colors a list": (_edit(_set("colors", [])), r"`colors` must be an object"),
    "trainer a list": (_edit(_set("trainer", [1])), r"`trainer` must be an object"),
    "trainer too deep": (
        _edit(_set("trainer", json.loads('{"a":' * 40 + "1" + "}" * 40))),
        r"`trainer` may nest at most 32 levels",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_files_raise_scene_error(tmp_path, case):
    make, message = BROKEN[case]
    path = tmp_path / "broken.convlab"
    path.write_bytes(make())
    with pytest.raises(SceneError, match=message):
        load_scene(path)


def test_size_limit(tmp_path, monkeypatch):
    path = tmp_path / "big.convlab"
    save_scene(path, _scene(_images()["float32"]))
    monkeypatch.setattr(scene_mod, "MAX_SCENE_BYTES", path.stat().st_size - 1)
    with pytest.raises(SceneError, match=r"scenes may be at most"):
        load_scene(path)


def test_not_regular_files(tmp_path):
    with pytest.raises(SceneError, match="Not a regular file"):
        load_scene(tmp_path)
    fifo = tmp_path / "pipe.convlab"
    os.mkfifo(fifo)  # must not block waiting for a writer
    with pytest.raises(SceneError, match="Not a regular file"):
        load_scene(fifo)
    with pytest.raises(SceneError, match="Cannot open the scene"):
        load_scene(tmp_path / "missing.convlab")


def test_scene_folder_natural_order(tmp_path):
    names = [
        "10 pooling.convlab",
        "2 stride.convlab",
        "01 kernel.convlab",
        "Z.convlab",
        "a.CONVLAB",
        "notes.txt",
        ".hidden.convlab",
    ]
    for name in names:
        (tmp_path / name).write_text("{}")
    (tmp_path / "dir.convlab").mkdir()
    order = [p.name for p in scene_folder(tmp_path)]
    assert order == [
        "01 kernel.convlab",
        "2 stride.convlab",
        "10 pooling.convlab",
        "a.CONVLAB",
        "Z.convlab",
    ]
    assert scene_folder(tmp_path / "2 stride.convlab") == scene_folder(tmp_path)
    first = tmp_path / "01 kernel.convlab"
    assert adjacent_scene(first, 1) == tmp_path / "2 stride.convlab"
    assert adjacent_scene(first, -1) is None
    assert adjacent_scene(tmp_path / "Z.convlab", 1) is None
