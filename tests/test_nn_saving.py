"""Save/load: bit-identical round trip, atomic writes, and clear errors for bad
files."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from convlab.nn import (
    Adam,
    BatchNormalization,
    Conv2D,
    Dense,
    Flatten,
    MaxPooling2D,
    ModelFileError,
    Sequential,
    load_model,
)
from convlab.nn.presets import lenet5, tiny


def trained_bn_model():
    model = Sequential(
        [
            Conv2D(4, 3, padding="same", activation="relu", input_shape=(12, 12, 1)),
            BatchNormalization(),
            MaxPooling2D(2),
            Flatten(),
            Dense(10, activation="softmax"),
        ],
        seed=3,
    )
    model.compile(Adam(0.01), "sparse_categorical_crossentropy", ["accuracy"])
    rng = np.random.default_rng(0)
    model.fit(
        rng.random((32, 12, 12), dtype=np.float32),
        rng.integers(0, 10, 32),
        epochs=2,
        verbose=0,
    )
    return model


def test_round_trip_gives_bit_identical_predictions(tmp_path):
    model = trained_bn_model()
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = load_model(path)
    x = np.random.default_rng(1).random((7, 12, 12), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert [type(a) for a in loaded.layers] == [type(b) for b in model.layers]
    assert [a.name for a in loaded.layers] == [b.name for b in model.layers]
    # moving statistics travel too
    np.testing.assert_array_equal(
        loaded.layers[1].state["moving_variance"],
        model.layers[1].state["moving_variance"],
    )
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.loss.name == "sparse_categorical_crossentropy"
    assert loaded.metrics == ["accuracy"]
    loaded.fit(x, np.arange(7), verbose=0)  # trains on


def test_file_is_npz_with_json_architecture_and_no_pickle(tmp_path):
    path = tmp_path / "m.npz"
    tiny().save(path)
    with np.load(path, allow_pickle=False) as archive:
        record = json.loads(str(archive["architecture"]))
        assert record["format"] == "convlab.model"
        assert record["version"] == 1
        assert archive["weights/000/conv2d/kernel"].shape == (8, 1, 3, 3)
        assert sorted(record["weights"]) == sorted(
            k for k in archive.files if k != "architecture"
        )
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temporary left behind


def test_save_is_atomic_when_interrupted(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    lenet5(seed=1).save(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(KeyboardInterrupt):
        lenet5(seed=2).save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.npz"]


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "good.npz"
    tiny().save(path)
    return path


def test_truncated_file(saved, tmp_path):
    bad = tmp_path / "truncated.npz"
    data = saved.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"truncated or not an \.npz"):
        load_model(bad)


def test_foreign_npz(tmp_path):
    bad = tmp_path / "foreign.npz"
    np.savez(bad, weights=np.zeros(3))
    with pytest.raises(
        ModelFileError,
        match=r"not a convlab model \(no 'architecture' record; "
        r"the file holds weights\)",
    ):
        load_model(bad)


def test_not_a_zip(tmp_path):
    bad = tmp_path / "text.npz"
    bad.write_text("hello")
    with pytest.raises(ModelFileError, match="Cannot load model from"):
        load_model(bad)


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        load_model(tmp_path / "nope.npz")


def _rewrite(saved, path, change):
    with np.load(saved, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    record = json.loads(str(arrays["architecture"]))
    change(record, arrays)
    arrays["architecture"] = np.array(json.dumps(record))
    np.savez(path, **arrays)
    return path


def test_wrong_format_tag(saved, tmp_path):
    bad = _rewrite(
        saved, tmp_path / "tag.npz", lambda r, a: r.update(format="keras.model")
    )
    with pytest.raises(
        ModelFileError, match=r"format tag is 'keras.model', expected 'convlab.model'"
    ):
        load_model(bad)


def test_future_version(saved, tmp_path):
    bad = _rewrite(saved, tmp_path / "v.npz", lambda r, a: r.update(version=99))
    with pytest.raises(ModelFileError, match="format version 99 is not supported"):
        load_model(bad)


def test_wrong_weight_shape(saved, tmp_path):
    def change(record, arrays):
        arrays["weights/000/conv2d/kernel"] = np.zeros((8, 1, 5, 5), np.float32)

    bad = _rewrite(saved, tmp_path / "shape.npz", change)
    with pytest.raises(
        ModelFileError,
        match=r'layer 0 "conv2d" \(Conv2D\) needs a kernel of shape \(8, 1, 3, 3\); '
        r"the file holds \(8, 1, 5, 5\)",
    ):
        load_model(bad)


def test_unknown_layer(saved, tmp_path):
    bad = _rewrite(
        saved,
        tmp_path / "layer.npz",
        lambda r, a: r["model"]["layers"][1].update(class_name="Lambda"),
    )
    with pytest.raises(ModelFileError, match="unknown layer class 'Lambda'"):
        load_model(bad)


def test_pickle_inside_is_refused(saved, tmp_path):
    bad = tmp_path / "pickle.npz"
    with np.load(saved, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays["architecture"] = np.array([{"format": "convlab.model"}], dtype=object)
    np.savez(bad, **arrays)
    with pytest.raises(ModelFileError, match="pickled Python objects"):
        load_model(bad)


def test_load_weights_changes_nothing_on_error(saved, tmp_path):
    model = lenet5()
    before = model.get_weights()
    with pytest.raises(ModelFileError, match="different architecture"):
        model.load_weights(saved)
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    other = tiny(seed=9)
    other.load_weights(saved)
    np.testing.assert_array_equal(other.layers[0].weight, tiny().layers[0].weight)


@pytest.mark.parametrize(
    "content", [b"garbage\n", b"\x80\x04\x95pickle-ish", b"\x93NUMPY\x01\x00"]
)
def test_non_zip_file_is_named_as_such_not_as_pickle(tmp_path, content):
    """np.load reads any non-zip, non-npy file as a pickle; the message must not say
    so."""
    bad = tmp_path / "model.npz"
    bad.write_bytes(content)
    with pytest.raises(
        ModelFileError, match=r"not a convlab model file: .*\.npz archive"
    ) as info:
        load_model(bad)
    assert "pickle" not in str(info.value)
