"""The trainer's Model tab beyond MNIST's small nets (issue #11 items 4 and 5), driven
as a user would: the big presets' tables at their native input with a time estimate,
the "train" checkboxes freezing layers for a real run, per-axis arguments through the
form, the specs and a saved file, and edits that keep the unchanged layers'
weights."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from trainer_helpers import Messages, open_trainer, subset, train  # noqa: E402

from convlab.data.mnist import load_mnist  # noqa: E402
from convlab.train import check_stack, engine  # noqa: E402
from convlab.train.specs import (  # noqa: E402
    MACS_PER_SECOND,
    default_spec,
    duration_words,
)

pytest.importorskip("pytestqt")


@pytest.fixture(scope="module")
def mnist():
    return load_mnist("bundled")


@pytest.fixture
def trainer(qtbot, mnist):
    widget = open_trainer(qtbot, subset(mnist, 600, 100))
    yield widget
    widget.shutdown()


def _choose(trainer, name):
    combo = trainer.editor.preset_combo
    index = combo.findData(name)
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_vgg16_shows_its_native_table_and_says_it_is_too_big(trainer):
    messages = Messages(trainer)
    _choose(trainer, "vgg16")
    editor = trainer.editor
    assert editor.showing_native()
    assert editor.input_combo.currentText() == "native 224x224x3"
    specs = editor.specs()
    assert specs[-1]["units"] == 10  # the head follows the data's 10 classes
    # Keras's VGG16 has 138,357,544 parameters with its 1000-class head: the 10-class
    # head has 4096 * 990 + 990 fewer
    total = 138_357_544 - (4096 * 990 + 990)
    assert f"Total params: {total:,}" in editor.totals.text()
    assert editor.table.rowCount() == len(specs) == 22  # 13 conv, 5 pool, 4 more
    assert editor.table.item(0, 1).text() == "(None, 64, 224, 224)"
    assert editor.table.item(17, 1).text() == "(None, 512, 7, 7)"  # block5_pool
    assert editor.table.item(19, 2).text() == f"{25088 * 4096 + 4096:,}"  # fc1
    info = editor.info.text()
    assert "VGG16 takes 224x224x3 images natively; the data is 28x28x1" in info
    # 600 images minus the 10% validation; 3 x 15.5 G multiply-adds per image
    seconds = 3 * check_stack(specs, (3, 224, 224)).total_macs * 540 / MACS_PER_SECOND
    assert seconds > 600
    assert f"about {duration_words(seconds)} per epoch of 540 images" in info
    assert "too big to train here in minutes" in info
    # 28x28 halves five times to nothing: no model, Start stays off, and why
    assert trainer.model is None
    assert not trainer.start_button.isEnabled()
    assert "On the data's 28x28x1 images: Layer 18" in editor.message.text()
    assert "it cannot train on the data's size" in messages.texts[-1]
    editor.input_combo.setCurrentIndex(0)
    editor.input_combo.activated.emit(0)
    assert editor.table.item(0, 1).text() == "(None, 64, 28, 28)"
    assert editor.message.text().startswith("Layer 18 (MaxPooling2D(2)): Output")


def test_the_animal_cnn_trains_on_the_data_size_and_tells_so(trainer):
    _choose(trainer, "animal")
    editor = trainer.editor
    assert editor.table.item(0, 1).text() == "(None, 32, 98, 98)"  # 100 - 3 + 1
    assert "It trains on the data's size" in editor.info.text()
    assert trainer.model is not None
    assert trainer.model.input_shape == (1, 28, 28)
    assert trainer.model.layers[-1].units == 10
    assert trainer.start_button.isEnabled()


def test_frozen_layers_stay_bit_identical_through_a_run(qtbot, trainer):
    _choose(trainer, "tiny")
    editor = trainer.editor
    editor.set_trainable(0, False)  # the first Conv2D's checkbox
    assert editor.specs()[0]["trainable"] is False
    assert trainer.model.layers[0].trainable is False
    assert "(frozen)" in editor.table.item(0, 0).text()
    rows = check_stack(editor.specs()).rows
    assert editor.totals.text().startswith(
        f"Total params: {sum(r.params for r in rows):,}, trainable: "
        f"{sum(r.params for r in rows[1:]):,}"
    )
    frozen = [w.copy() for w in trainer.model.layers[0].get_weights()]
    head = trainer.model.layers[-1].weight.copy()
    trainer.epochs_spin.setValue(1)
    assert train(qtbot, trainer) is False
    assert trainer.run.outcome == "finished"
    for a, b in zip(frozen, trainer.model.layers[0].get_weights(), strict=True):
        assert a.tobytes() == b.tobytes()
    assert not np.array_equal(head, trainer.model.layers[-1].weight)


def test_an_edit_keeps_the_unchanged_layers_weights(trainer):
    messages = Messages(trainer)
    _choose(trainer, "lenet5")
    model = trainer.model
    for i in (0, 2):  # as if trained: weights no initialiser gives
        model.layers[i].weight[...] += 1.0
    convs = [model.layers[i].weight.copy() for i in (0, 2)]
    editor = trainer.editor
    editor.table.selectRow(5)  # Dense(120)
    editor.param_widget("units").setValue(100)
    new = trainer.model
    assert new is not model
    for i, weight in zip((0, 2), convs, strict=True):
        np.testing.assert_array_equal(new.layers[i].weight, weight)
    assert messages.texts[-1] == (
        "Kept 3 layers' weights; re-initialised dense (units 120 -> 100), dense_1 "
        "(input 120 -> 100)"
    )
    assert "weights kept where unchanged" in trainer.run.model_label
    # Reset weights still starts afresh
    trainer.reset_model()
    assert not np.array_equal(trainer.model.layers[0].weight, convs[0])


def test_per_axis_arguments_round_trip_through_the_form_and_a_file(trainer, tmp_path):
    _choose(trainer, "tiny")
    editor = trainer.editor
    editor.table.selectRow(0)
    kernel = editor.param_widget("kernel_size")
    kernel.w.setValue(5)  # 3x5
    editor.param_widget("strides").h.setValue(2)  # (2, 1)
    pad = editor.param_widget("padding")
    pad.mode.setCurrentText("pixels")
    pad.pixels.w.setValue(2)  # (0, 2)
    spec = editor.specs()[0]
    assert spec["kernel_size"] == [3, 5]
    assert spec["strides"] == [2, 1]
    assert spec["padding"] == [0, 2]
    # by hand: H (28 - 3) // 2 + 1 = 13; W 28 + 4 - 5 + 1 = 28
    assert editor.table.item(0, 1).text() == "(None, 8, 13, 28)"
    assert trainer.model.layers[0].output_shape == (8, 13, 28)
    assert "Conv2D(8, 3x5, stride 2,1, pad 0,2, relu)" in editor.table.item(0, 0).text()
    editor.add_layer("BatchNormalization", at=1)
    editor.table.selectRow(1)
    editor.param_widget("momentum").setValue(0.9)
    editor.param_widget("epsilon").setValue(2e-5)
    assert editor.specs()[1]["momentum"] == pytest.approx(0.9)
    assert trainer.model.layers[1].epsilon == pytest.approx(2e-5)
    path = tmp_path / "axes.npz"
    assert trainer.save_model(path)
    before = [{k: v for k, v in s.items() if k != "_config"} for s in editor.specs()]
    _choose(trainer, "lenet5")
    assert trainer.load_model(path)
    after = [{k: v for k, v in s.items() if k != "_config"} for s in editor.specs()]
    assert after == before
    editor.table.selectRow(0)
    assert editor.param_widget("kernel_size").value() == [3, 5]
    assert editor.param_widget("padding").value() == [0, 2]


def test_a_bad_argument_is_explained_inline(trainer):
    _choose(trainer, "tiny")
    editor = trainer.editor
    editor.table.selectRow(0)
    editor.param_widget("kernel_size").h.setValue(15)
    editor.param_widget("dilation_rate").h.setValue(2)  # spans 29 rows of 28
    assert not editor.check.ok
    assert editor.message.text().startswith("Layer 1 (Conv2D(8, 15x3, dilation")
    assert "Output would be empty" in editor.message.text()
    assert not trainer.start_button.isEnabled()


def test_a_new_dense_layer_is_a_head_for_the_data(trainer):
    assert default_spec("Dense", 6)["units"] == 6
    _choose(trainer, "tiny")
    trainer.editor.add_layer("Dense")
    assert trainer.editor.specs()[-1]["units"] == trainer.run.num_classes


def test_the_big_presets_tables_allocate_nothing(trainer):
    # the AlexNet table at 227x227x3: rows and counts without building the model
    _choose(trainer, "alexnet_bn")
    check = trainer.editor.shown_check
    assert check.ok
    assert check.input_shape == (3, 227, 227)
    assert check.rows[0].output_shape == (96, 55, 55)  # (227 - 11) / 4 + 1
    assert trainer.model is None  # 28x28 is too small for it
    assert engine.preset_input_shape("alexnet_bn") == (3, 227, 227)
