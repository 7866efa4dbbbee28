"""``convlab train | evaluate | summary`` on the bundled data."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

from convlab import cli
from convlab.nn import load_model


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_train_evaluate_summary_round_trip(tmp_path):
    path = tmp_path / "tiny.npz"
    code, out, err = run(
        "train", "--model", "tiny", "--steps", "30", "--save", str(path)
    )
    assert code == 0, err
    assert "Epoch 1/1" in err
    assert "img/s" in err
    assert "ETA" in err
    assert "\r" in err
    accuracy = float(re.search(r"Test accuracy: ([\d.]+)%", out).group(1))
    assert 20 < accuracy <= 100  # 30 steps of 32 images: well above chance
    assert f"Saved the model to {path}" in out

    code, out, err = run("evaluate", str(path))
    assert code == 0, err
    assert f"test accuracy {accuracy:.2f}%" in out  # the same model, the same test set

    code, out, _ = run("summary", str(path))
    assert code == 0
    assert "Total params: 5,258" in out


def test_summary_of_presets():
    for name, total in (("lenet5", "61,706"), ("keras", "889,834"), ("tiny", "5,258")):
        code, out, _ = run("summary", name)
        assert code == 0
        assert f"Total params: {total}" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["train", "--epochs", "0"],
            r"argument --epochs: must be from 1 to 1,000; got 0",
        ),
        (
            ["train", "--batch-size", "x"],
            r"argument --batch-size: must be an integer from 1 to 8,192",
        ),
        (["train", "--lr", "-1"], r"argument --lr: must be in \(0, 10\]; got -1"),
        (["train", "--model", "vgg"], r"argument --model: invalid choice: 'vgg'"),
        (["train", "--optimizer", "rmsprop"], r"invalid choice: 'rmsprop'"),
    ],
)
def test_bad_arguments(argv, message, capsys):
    assert cli.main(argv) == 2
    assert re.search(message, capsys.readouterr().err)


def test_bad_files(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    code, _, err = run("evaluate", str(bad))
    assert code == 1
    assert "convlab evaluate: error: Cannot load model" in err
    code, _, err = run("summary", "nothing-like-this")
    assert code == 2
    assert "neither a model file nor a preset" in err
    code, _, err = run("train", "--data", str(tmp_path / "missing"))
    assert code == 1
    assert "no such folder" in err


def test_ctrl_c_writes_no_model(tmp_path, monkeypatch):
    path = tmp_path / "never.npz"
    from convlab.nn.model import Sequential

    calls = {"n": 0}
    original = Sequential.train_step

    def interrupting(self, xb, yb):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, xb, yb)

    monkeypatch.setattr(Sequential, "train_step", interrupting)
    code, out, err = run("train", "--model", "tiny", "--save", str(path))
    assert code == 130
    assert (
        "Interrupted after 64 training images: stopped cleanly. "
        "No model file was written." in err
    )
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_full_mnist_evaluate(full_mnist_dir, tmp_path):
    path = tmp_path / "m.npz"
    code, _, err = run("train", "--model", "tiny", "--steps", "5", "--save", str(path))
    assert code == 0, err
    code, out, err = run("evaluate", str(path), "--data", str(full_mnist_dir))
    assert code == 0, err
    assert "on 10,000" in out
    model = load_model(path)
    assert np.all(np.isfinite(model.get_weights()[0]))
