"""Fine-tuning, headless: the layer table without weights (parameter counts against
Keras's published numbers and against the layers' formulas worked by hand, peak
memory), weights kept across edits and re-initialised only where a layer changed,
the head following the data's class count, and frozen layers left bit for bit as
they were by a run of the trainer's session."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from convlab.data.mnist import MnistData
from convlab.nn import (
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    MaxPooling2D,
    load_model,
)
from convlab.train import TrainerRun, TrainSettings, engine
from convlab.train.finetune import replace_head, transfer_weights
from convlab.train.specs import (
    MACS_PER_SECOND,
    check_stack,
    default_spec,
    epoch_estimate,
)


class ColourData:
    """What ``convlab.train.datasets.TrainData`` holds (the contract's fields):
    uint8 NCHW images, int64 labels, class names."""

    def __init__(self, shape=(3, 28, 28), classes=6, n_train=64, n_test=16, seed=0):
        rng = np.random.default_rng(seed)
        self.name = self.source = "colour"
        self.x_train = rng.integers(0, 256, (n_train, *shape), dtype=np.uint8)
        self.y_train = rng.integers(0, classes, n_train).astype(np.int64)
        self.x_test = rng.integers(0, 256, (n_test, *shape), dtype=np.uint8)
        self.y_test = rng.integers(0, classes, n_test).astype(np.int64)
        self.class_names = [f"class {i}" for i in range(classes)]

    @property
    def input_shape(self):
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self):
        return len(self.class_names)


def _mnist(n_train=64, n_test=16, seed=0):
    rng = np.random.default_rng(seed)
    return MnistData(
        rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, n_train).astype(np.uint8),
        rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, n_test).astype(np.uint8),
        source="bundled",
    )


def _tiny():
    return [
        {**default_spec("Conv2D"), "filters": 4},
        default_spec("MaxPooling2D"),
        {**default_spec("Conv2D"), "filters": 6},
        default_spec("MaxPooling2D"),
        default_spec("Flatten"),
        default_spec("Dense"),
    ]


def _scrambled(model, seed=1):
    """The model's weights set to values no initialiser gives, so that a kept
    weight is told from a fresh one."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights(
                [
                    rng.standard_normal(w.shape).astype(np.float32)
                    for w in layer.weights.values()
                ]
            )
    return model


# ------------------------------------------------------------------ shape-only table
@pytest.mark.parametrize(
    ("layer", "shape"),
    [
        (Conv2D(5, (3, 2), use_bias=False), (3, 9, 8)),
        (Conv2D(4, 3), (2, 7, 7)),
        (Dense(7), (11,)),
        (BatchNormalization(), (6, 5, 5)),
        (BatchNormalization(), (9,)),
        (MaxPooling2D(2), (3, 8, 8)),
        (AveragePooling2D(2), (3, 8, 8)),
        (GlobalAveragePooling2D(), (3, 8, 8)),
        (Flatten(), (3, 4, 4)),
        (Dropout(0.5), (10,)),
    ],
)
def test_param_shapes_are_what_build_allocates(layer, shape):
    predicted = layer.param_shapes(shape)
    layer.build(shape, np.random.default_rng(0))
    assert predicted == {k: v.shape for k, v in layer.weights.items()}


def test_vgg16_table_gives_keras_counts_without_allocating():
    specs = engine.preset_specs("vgg16")
    tracemalloc.start()
    try:
        check = check_stack(specs, (3, 224, 224), 1000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert check.ok, check.error
    # Keras's published counts (keras.io/api/applications: VGG16, 138.4M; the
    # include_top=False model summary: 14,714,688)
    assert check.total_params == 138_357_544
    conv_part = next(i for i, s in enumerate(specs) if s["type"] == "Flatten")
    assert sum(r.params for r in check.rows[:conv_part]) == 14_714_688
    assert check.rows[conv_part - 1].output_shape == (512, 7, 7)
    assert peak < 50e6  # the weights alone would be 553 MB
    # by hand: 15.47 G multiply-adds per 224x224 image (the often-quoted 15.5 GFLOPs)
    assert 15.4e9 < check.total_macs < 15.6e9


def _conv(f, c, k):
    return f * c * k * k + f


def test_alexnet_bn_and_animal_counts_by_hand():
    # AlexNet-BN (Chainer alexbn.py), 227x227x3: 55 -> pool 27 -> 27 -> pool 13 ->
    # 13, 13, 13 -> pool 6; BatchNormalization: gamma, beta and two moving statistics
    alex = (
        _conv(96, 3, 11)
        + 4 * 96
        + _conv(256, 96, 5)
        + 4 * 256
        + _conv(384, 256, 3)
        + _conv(384, 384, 3)
        + _conv(256, 384, 3)
        + (256 * 6 * 6 * 4096 + 4096)
        + (4096 * 4096 + 4096)
        + (4096 * 1000 + 1000)
    )
    check = check_stack(engine.preset_specs("alexnet_bn"), (3, 227, 227), 1000)
    assert check.ok, check.error
    assert check.total_params == alex == 62_379_752
    shapes = [r.output_shape for r in check.rows if r.spec["type"] == "MaxPooling2D"]
    assert shapes == [(96, 27, 27), (256, 13, 13), (256, 6, 6)]
    # animal classifier, 100x100x3: 98 -> 49 -> 47 -> 23 -> 21 -> 10
    animal = (
        _conv(32, 3, 3)
        + _conv(64, 32, 3)
        + _conv(128, 64, 3)
        + (128 * 10 * 10 * 512 + 512)
        + (512 * 6 + 6)
    )
    check = check_stack(engine.preset_specs("animal"), (3, 100, 100), 6)
    assert check.ok, check.error
    assert check.total_params == animal


@pytest.mark.parametrize("name", ["tiny", "lenet5", "keras", "animal"])
def test_preset_table_matches_the_built_model(name):
    shape = engine.preset_input_shape(name)
    specs = engine.preset_specs(name)
    model = engine.build_model(specs, input_shape=shape)
    check = check_stack(specs, shape, specs[-1]["units"])
    assert check.ok
    assert [r.params for r in check.rows] == [r.params for r in model.summary_rows()]
    assert check.total_params == model.count_params()


def test_epoch_estimate_from_multiply_adds_by_hand():
    check = check_stack(_tiny())
    # conv 4x3x3 on 28x28 -> 26x26; pool -> 13; conv 6x4x3x3 -> 11x11; pool -> 5;
    # dense 150 -> 10; pooling and flatten count one per value they read/write
    macs = (
        26 * 26 * 4 * 9
        + 4 * 26 * 26
        + 11 * 11 * 6 * 4 * 9
        + 6 * 11 * 11
        + 150
        + 150 * 10
    )
    assert check.total_macs == macs
    assert epoch_estimate(check, 1000) == pytest.approx(
        3 * macs * 1000 / MACS_PER_SECOND
    )
    vgg = check_stack(engine.preset_specs("vgg16"), (3, 224, 224), 1000)
    assert epoch_estimate(vgg, 50_000) > 3600  # hours, not minutes, on this machine


# ------------------------------------------------------------------ transfer
def test_editing_the_head_keeps_the_other_layers():
    old = _scrambled(engine.build_model(_tiny()))
    specs, changed = replace_head(_tiny(), 6)
    assert changed
    assert specs[-1]["units"] == 6
    assert replace_head(specs, 6) == (specs, False)
    new = engine.build_model(specs, seed=3)
    report = transfer_weights(old, new)
    assert report.kept == ("conv2d", "conv2d_1")
    assert report.reinitialised == (("dense", "units 10 -> 6"),)
    assert (
        report.text() == "kept 2 layers' weights; re-initialised dense (units 10 -> 6)"
    )
    for i in (0, 2):
        for a, b in zip(
            old.layers[i].get_weights(), new.layers[i].get_weights(), strict=True
        ):
            assert a.tobytes() == b.tobytes()
    fresh = engine.build_model(specs, seed=3)
    np.testing.assert_array_equal(new.layers[-1].weight, fresh.layers[-1].weight)


def test_a_changed_layer_reinitialises_it_and_the_layers_its_output_feeds():
    old = _scrambled(engine.build_model(_tiny()))
    specs = _tiny()
    specs[2]["filters"] = 5  # conv2d_1: 6 -> 5 maps, so Dense reads 125, not 150
    specs.insert(4, {**default_spec("Dropout"), "rate": 0.5})  # no weights
    new = engine.build_model(specs)
    report = transfer_weights(old, new)
    assert report.kept == ("conv2d",)
    assert dict(report.reinitialised) == {
        "conv2d_1": "filters 6 -> 5",
        "dense": "input 150 -> 125",
    }
    np.testing.assert_array_equal(new.layers[0].weight, old.layers[0].weight)


def test_inserting_and_moving_layers_keeps_weights():
    old = _scrambled(engine.build_model(_tiny()))
    specs = _tiny()
    specs.insert(1, {**default_spec("Conv2D"), "filters": 4, "padding": "same"})
    new = engine.build_model(specs)
    report = transfer_weights(old, new)
    # the new "same" conv keeps 4x26x26, so everything after it reads what it read
    assert report.kept == ("conv2d", "conv2d_2", "dense")
    assert report.reinitialised == (("conv2d_1", "new layer"),)


def test_freezing_changes_no_weight():
    old = _scrambled(engine.build_model(_tiny()))
    specs = _tiny()
    specs[0]["trainable"] = False
    new = engine.build_model(specs)
    report = transfer_weights(old, new)
    assert not report.changed
    assert len(report.kept) == 3
    assert new.layers[0].trainable is False


def test_batchnorm_moving_statistics_carry_over():
    specs = [
        {**default_spec("Conv2D"), "filters": 3},
        {**default_spec("BatchNormalization"), "momentum": 0.9, "epsilon": 2e-5},
        default_spec("Flatten"),
        default_spec("Dense"),
    ]
    old = _scrambled(engine.build_model(specs))
    specs2 = [dict(s) for s in specs]
    specs2[1]["momentum"] = 0.8
    new = engine.build_model(specs2)
    report = transfer_weights(old, new)
    assert dict(report.reinitialised) == {"batch_normalization": "momentum 0.9 -> 0.8"}
    new = engine.build_model(specs)
    transfer_weights(old, new)
    for a, b in zip(
        old.layers[1].get_weights(), new.layers[1].get_weights(), strict=True
    ):
        assert a.tobytes() == b.tobytes()


# ------------------------------------------------------------------ the run model
def test_editing_through_the_run_keeps_trained_weights():
    run = TrainerRun()
    run.set_data(_mnist())
    run.set_specs(_tiny(), seed=0)
    _scrambled(run.model)
    conv = run.model.layers[0].weight.copy()
    specs = _tiny()
    specs.insert(4, default_spec("Dropout"))  # changes no layer's input
    run.set_specs(specs, seed=0, keep_weights=True)
    assert not run.transfer.changed
    assert len(run.transfer.kept) == 3
    np.testing.assert_array_equal(run.model.layers[0].weight, conv)
    specs[-1]["activation"] = "none"  # a changed config: that layer starts fresh
    run.set_specs(specs, seed=0, keep_weights=True)
    assert run.transfer.reinitialised == (("dense", "activation softmax -> none"),)
    run.set_specs(specs, seed=0)  # Reset weights: fresh
    assert run.transfer is None
    assert not np.array_equal(run.model.layers[0].weight, conv)


def test_the_model_follows_the_data():
    run = TrainerRun()
    run.set_data(_mnist())
    assert run.adapted is None  # the MNIST model fits MNIST
    run.set_specs(_tiny(), seed=0)
    _scrambled(run.model)
    second = run.model.layers[2].weight.copy()
    run.set_data(ColourData((3, 28, 28), classes=6))
    report = run.adapted
    assert run.model.input_shape == (3, 28, 28)
    assert run.model.layers[-1].units == 6
    assert run.specs[-1]["units"] == 6
    assert report.kept == ("conv2d_1",)
    assert dict(report.reinitialised) == {
        "conv2d": "input 28x28x1 -> 28x28x3",
        "dense": "units 10 -> 6",
    }
    np.testing.assert_array_equal(run.model.layers[2].weight, second)
    assert run.check.ok
    assert run.check.input_shape == (3, 28, 28)


def _run_session(run, epochs=1):
    session = run.begin(
        TrainSettings(batch_size=16, epochs=epochs, validation_split=0.0, seed=0)
    )
    for _ in session.events():
        pass
    run.finish()


def test_frozen_layers_are_bit_identical_after_a_run():
    run = TrainerRun()
    run.set_data(ColourData((3, 20, 20), classes=4))
    specs = [
        {**default_spec("Conv2D"), "filters": 4, "trainable": False},
        {**default_spec("BatchNormalization"), "trainable": False},
        default_spec("MaxPooling2D"),
        {**default_spec("Conv2D"), "filters": 5},
        default_spec("Flatten"),
        default_spec("Dense", 4),
    ]
    run.set_specs(specs, seed=0)
    before = [layer.get_weights() for layer in run.model.layers]
    _run_session(run)
    after = [layer.get_weights() for layer in run.model.layers]
    for i in (0, 1):  # frozen: the kernel, the bias, BN's gamma, beta and statistics
        for a, b in zip(before[i], after[i], strict=True):
            assert a.tobytes() == b.tobytes()
    assert not np.array_equal(before[3][0], after[3][0])  # trainable: it learned
    assert not np.array_equal(before[5][0], after[5][0])
    assert run.check.trainable_params == run.model.trainable_count


def test_fine_tuning_a_saved_model_on_other_data(tmp_path):
    run = TrainerRun()
    run.set_data(_mnist())
    specs = _tiny()
    specs[0]["trainable"] = False
    run.set_specs(specs, seed=0)
    _run_session(run)
    path = tmp_path / "mnist.npz"
    run.save(path)
    conv = run.model.layers[0].weight.copy()
    other = TrainerRun()
    other.set_data(ColourData((1, 28, 28), classes=3))
    other.load(path)
    assert other.adapted.reinitialised == (("dense", "units 10 -> 3"),)
    assert other.model.layers[0].trainable is False
    np.testing.assert_array_equal(other.model.layers[0].weight, conv)
    _run_session(other)
    assert other.model.layers[0].weight.tobytes() == conv.tobytes()
    assert other.outcome == "finished"


# ------------------------------------------------------------------ specs round trip
def test_per_axis_arguments_round_trip_through_specs_and_saving(tmp_path):
    specs = [
        {
            **default_spec("Conv2D"),
            "filters": 3,
            "kernel_size": [3, 5],
            "strides": [1, 2],
            "dilation_rate": [2, 1],
            "padding": [1, 2],
        },
        {**default_spec("Conv2D"), "filters": 2, "padding": 1, "trainable": False},
        {**default_spec("MaxPooling2D"), "pool_size": [2, 3], "strides": [1, 2]},
        {**default_spec("BatchNormalization"), "momentum": 0.9, "epsilon": 2e-5},
        default_spec("Flatten"),
        {**default_spec("Dropout"), "rate": 0.3},
        {**default_spec("Dense"), "units": 10, "activation": "softmax"},
    ]
    model = engine.build_model(specs, input_shape=(1, 16, 16))
    conv = model.layers[0]
    assert conv.kernel_size == (3, 5)
    assert conv.strides == (1, 2)
    assert conv.dilation_rate == (2, 1)
    assert conv.padding == (1, 1, 2, 2)
    # by hand: H: 16 + 2 - (2*2+1) + 1 = 14; W: (16 + 4 - 5) // 2 + 1 = 8
    assert conv.output_shape == (3, 14, 8)
    assert check_stack(specs, (1, 16, 16)).rows[0].output_shape == (3, 14, 8)
    path = tmp_path / "axes.npz"
    model.save(path)
    for source in (model, load_model(path)):
        back = engine.specs_from_model(source)
        for want, got in zip(specs, back, strict=True):
            got = {k: v for k, v in got.items() if k != "_config"}
            assert got == want
