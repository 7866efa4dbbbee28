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


def _never_trains(monkeypatch):
    """Fail the test if training starts: the checks must come first."""
    from convlab.nn.model import Sequential

    def refuse(self, xb, yb):
        raise AssertionError("training started before the --save check")

    monkeypatch.setattr(Sequential, "train_step", refuse)


def test_save_onto_a_folder_or_into_a_missing_one_is_refused_before_training(
    tmp_path, monkeypatch
):
    _never_trains(monkeypatch)
    folder = tmp_path / "existing"
    folder.mkdir()
    code, out, err = run("train", "--model", "tiny", "--save", str(folder))
    assert code == 2
    assert f"--save: {folder}: is a folder; choose a file name" in err
    assert "Training" not in out
    missing = tmp_path / "no" / "m.npz"
    code, out, err = run("train", "--model", "tiny", "--save", str(missing))
    assert code == 2
    assert f"the folder {missing.parent} does not exist" in err


def test_save_into_a_read_only_folder_is_refused_before_training(tmp_path, monkeypatch):
    # root writes anywhere, so the folder's refusal is what os.access reports
    import os

    _never_trains(monkeypatch)
    real_access = os.access
    ro = tmp_path / "ro"
    ro.mkdir()
    monkeypatch.setattr(
        os,
        "access",
        lambda p, mode: False if str(p) == str(ro) else real_access(p, mode),
    )
    code, _, err = run("train", "--model", "tiny", "--save", str(ro / "m.npz"))
    assert code == 2
    assert f"no permission to write in {ro}" in err


def test_a_failed_save_after_training_keeps_the_model(tmp_path, monkeypatch):
    """Disk full at the end: the model goes to a fallback path, named on stderr,
    loadable, with the test accuracy the run printed; exit 1."""
    import errno

    from convlab.nn import saving

    target = tmp_path / "out" / "m.npz"
    target.parent.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    real = saving.atomic_write

    def full_disk(path):
        if str(path) == str(target):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path)

    monkeypatch.setattr(saving, "atomic_write", full_disk)
    code, out, err = run(
        "train", "--model", "tiny", "--steps", "3", "--save", str(target)
    )
    assert code == 1
    assert "No space left on device" in err
    saved = re.search(r"the trained model was saved to (\S+) instead", err)
    assert saved, err
    fallback = saved.group(1)
    assert fallback.startswith(str(work))
    assert not target.exists()
    accuracy = re.search(r"Test accuracy: ([\d.]+)%", out).group(1)
    monkeypatch.setattr(saving, "atomic_write", real)
    code, out, err = run("evaluate", fallback)
    assert code == 0, err
    assert f"test accuracy {accuracy}%" in out


def test_evaluate_on_models_it_cannot_run(tmp_path):
    from convlab.nn import Dense, Flatten, Sequential

    narrow = Sequential(
        [Flatten(input_shape=(1, 28, 27)), Dense(10, activation="softmax")]
    )
    narrow.save(tmp_path / "narrow.npz")
    code, out, err = run("evaluate", str(tmp_path / "narrow.npz"))
    assert code == 1
    assert "the model takes input 1x28x27; MNIST images are 1x28x28" in err
    assert "Traceback" not in err
    assert out == ""

    nan = Sequential([Flatten(input_shape=(1, 28, 28)), Dense(10)])
    weights = nan.get_weights()
    weights[0][3, 4] = np.nan
    nan.set_weights(weights)
    nan.save(tmp_path / "nan.npz")
    code, out, err = run("evaluate", str(tmp_path / "nan.npz"))
    assert code == 1
    assert "has 1 non-finite values (1 NaN, 0 inf)" in err
    assert out == ""


# ------------------------------------------------------------------ --data FOLDER


def test_train_on_a_folder_of_six_colour_classes_reaches_high_accuracy(tmp_path):
    from folder_helpers import make_colour_folder

    folder = tmp_path / "shapes"
    names = make_colour_folder(folder, per_class=50, size=32)
    path = tmp_path / "shapes.npz"
    code, out, err = run(
        "train", "--data", str(folder), "--model", "tiny", "--epochs", "8",
        "--batch-size", "16", "--size", "32", "32", "--save", str(path),
    )  # fmt: skip
    assert code == 0, err
    # 300 images: 20% of each class kept for the test, the rest trains
    assert "on 240 shapes images (3x32x32, 6 classes)" in out
    accuracy = float(re.search(r"Test accuracy: ([\d.]+)%", out).group(1))
    assert accuracy >= 90.0, out
    assert "on 60 test images" in out
    model = load_model(path)
    assert tuple(model.input_shape) == (3, 32, 32)
    assert model.output_shape == (len(names),)

    # evaluate splits the folder the same way (same seed and fractions) and takes
    # the model's input size: the same test accuracy
    code, out, err = run("evaluate", str(path), "--data", str(folder))
    assert code == 0, err
    assert f"test accuracy {accuracy:.2f}%" in out
    assert "60 shapes test images" in out


def test_folder_data_errors_are_clear(tmp_path):
    from folder_helpers import make_colour_folder

    one = tmp_path / "one"
    (one / "cats").mkdir(parents=True)
    code, _, err = run("train", "--data", str(one), "--model", "tiny")
    assert code == 1
    assert "needs at least 2 sub-folders of images" in err
    assert "Traceback" not in err

    folder = tmp_path / "shapes"
    make_colour_folder(folder, per_class=6, size=16)
    code, _, err = run("train", "--data", str(folder), "--test-split", "0.95")
    assert code == 2
    assert "--test-split must be in [0, 0.9); got 0.95" in err

    # an MNIST model on colour data: the shapes are named, nothing is loaded twice
    mnist_model = tmp_path / "m.npz"
    code, _, err = run(
        "train", "--model", "tiny", "--steps", "2", "--save", str(mnist_model)
    )
    assert code == 0, err
    code, out, err = run(
        "evaluate", str(mnist_model), "--data", str(folder), "--size", "16", "16",
        "--color", "rgb",
    )  # fmt: skip
    assert code == 1
    assert "the model takes input 1x28x28; shapes images are 3x16x16" in err

    # right shape, wrong class count
    code, out, err = run(
        "evaluate", str(mnist_model), "--data", str(folder), "--size", "28", "28",
        "--color", "grayscale",
    )  # fmt: skip
    assert code == 1
    assert "the model has 10 outputs; shapes has 6 classes" in err


def test_skipped_files_are_reported_not_fatal(tmp_path):
    from folder_helpers import make_colour_folder

    folder = tmp_path / "shapes"
    make_colour_folder(folder, per_class=8, size=16)
    (folder / "red_hstripes" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    code, out, err = run(
        "train", "--data", str(folder), "--model", "tiny", "--steps", "1",
        "--size", "16", "16",
    )  # fmt: skip
    assert code == 0, err
    assert "Skipped 1 unreadable file (first: broken.png:" in out


def test_colour_presets_train_on_mnist_or_say_why_not():
    """A preset whose native input is colour (animal: 100x100x3) is rebuilt for the
    data's 1x28x28 digits; one that cannot shrink that far (VGG16's five poolings)
    is refused with the layer that breaks, not a traceback."""
    code, out, err = run("train", "--model", "animal", "--steps", "2")
    assert code == 0, err
    assert "Test accuracy" in out
    code, out, err = run("train", "--model", "vgg16", "--steps", "1")
    assert code != 0
    assert "--model vgg16 does not fit 1x28x28 images" in err
    assert "max_pooling2d" in err
    assert "Traceback" not in err
