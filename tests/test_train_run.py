"""The trainer's headless run model: states and transitions, the data cut, the model
spec's shapes and parameter counts (as convlab.nn reports them after ``build``), and a
short run driven without Qt."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convlab.data.mnist import IMAGE_SHAPE, NUM_CLASSES, MnistData
from convlab.nn import ACTIVATIONS as NN_ACTIVATIONS
from convlab.nn import Dense, Sequential
from convlab.train import (
    RunState,
    TrainerRun,
    TrainSettings,
    TransitionError,
    check_stack,
    engine,
)
from convlab.train.events import EpochEvent, FinishedEvent, StepEvent
from convlab.train.run import Callbacks, source_name
from convlab.train.session import EvaluationEvent
from convlab.train.specs import ACTIVATIONS, INPUT_SHAPE, default_spec


def _data(n_train=96, n_test=20, seed=0):
    rng = np.random.default_rng(seed)
    shape = IMAGE_SHAPE
    return MnistData(
        rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
        rng.integers(0, NUM_CLASSES, n_train).astype(np.uint8),
        rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
        rng.integers(0, NUM_CLASSES, n_test).astype(np.uint8),
        source="bundled",
    )


def _tiny_specs():
    return [
        {**default_spec("Conv2D"), "filters": 2},
        default_spec("MaxPooling2D"),
        default_spec("Flatten"),
        default_spec("Dense"),
    ]


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, *args):
        self.calls.append(args)


# ------------------------------------------------------------------ states


def test_new_run_is_idle_and_becomes_ready_with_data_and_a_model():
    run = TrainerRun()
    states = Recorder()
    run.state_changed.connect(states)
    assert run.state is RunState.IDLE
    run.set_data(_data())
    assert run.state is RunState.IDLE  # data but no model
    run.set_specs(_tiny_specs())
    assert run.state is RunState.READY
    assert states.calls == [(RunState.READY,)]
    # a stack that does not make a model: back to IDLE, no model
    run.set_specs(_tiny_specs()[:-1])
    assert run.state is RunState.IDLE
    assert run.model is None
    assert states.calls[-1] == (RunState.IDLE,)


def test_state_is_a_str_enum_with_the_old_names():
    assert [s.value for s in RunState] == ["idle", "ready", "training", "paused"]
    assert RunState.READY == "ready"
    assert RunState.PAUSED.running
    assert RunState.TRAINING.running
    assert not RunState.READY.running
    assert not RunState.IDLE.running


def _ready_run():
    run = TrainerRun()
    run.set_data(_data())
    run.set_specs(_tiny_specs())
    return run


def test_start_pause_resume_finish():
    run = _ready_run()
    session = run.begin(TrainSettings(batch_size=32, epochs=1))
    assert run.state is RunState.TRAINING
    assert session.model is run.model
    run.pause()
    assert run.state is RunState.PAUSED
    run.resume()
    assert run.state is RunState.TRAINING
    run.finish()
    assert run.state is RunState.READY


@pytest.mark.parametrize(
    ("setup", "action", "match"),
    [
        (
            "idle",
            lambda r: r.begin(TrainSettings()),
            "Cannot start training while the trainer is idle",
        ),  # noqa: E501
        ("ready", lambda r: r.pause(), "Cannot pause while the trainer is ready"),
        ("ready", lambda r: r.resume(), "Cannot resume while the trainer is ready"),
        (
            "ready",
            lambda r: r.finish(),
            "Cannot finish a run while the trainer is ready",
        ),  # noqa: E501
        (
            "training",
            lambda r: r.resume(),
            "Cannot resume while the trainer is training",
        ),  # noqa: E501
        (
            "training",
            lambda r: r.begin(TrainSettings()),
            "Cannot start training while the trainer is training",
        ),  # noqa: E501
        ("paused", lambda r: r.pause(), "Cannot pause while the trainer is paused"),
        (
            "training",
            lambda r: r.set_data(_data()),
            "Cannot change the data while the trainer is training",
        ),  # noqa: E501
        (
            "paused",
            lambda r: r.set_specs(_tiny_specs()),
            "Cannot change the model while the trainer is paused",
        ),  # noqa: E501
        (
            "training",
            lambda r: r.set_train_limit(10),
            "Cannot change the training images",
        ),  # noqa: E501
        (
            "training",
            lambda r: r.save("x.npz"),
            "Cannot save while the trainer is training",
        ),  # noqa: E501
        (
            "paused",
            lambda r: r.load("x.npz"),
            "Cannot open a model while the trainer is paused",
        ),  # noqa: E501
    ],
)
def test_illegal_transitions_raise_and_change_nothing(setup, action, match):
    run = TrainerRun() if setup == "idle" else _ready_run()
    if setup in ("training", "paused"):
        run.begin(TrainSettings())
    if setup == "paused":
        run.pause()
    before, model = run.state, run.model
    with pytest.raises(TransitionError, match=match):
        action(run)
    assert run.state is before
    assert run.model is model


def test_save_without_a_model_names_it(tmp_path):
    with pytest.raises(ValueError, match=r"Received: model=None"):
        TrainerRun().save(tmp_path / "m.npz")


def test_bad_arguments_name_the_value():
    run = TrainerRun()
    with pytest.raises(ValueError, match=r"Received: n=-1"):
        run.set_train_limit(-1)
    with pytest.raises(TypeError, match=r"`callback` must be callable"):
        Callbacks().connect(42)


# ------------------------------------------------------------------ data


def test_data_cut_honours_the_limits_and_notifies():
    run = TrainerRun()
    seen = Recorder()
    run.data_changed.connect(seen)
    data = _data(100, 30)
    run.max_eval_images = 12
    run.set_data(data)
    assert len(run.x_train) == 100
    assert len(run.x_test) == 12
    run.set_train_limit(40)
    assert len(run.x_train) == len(run.y_train) == 40
    assert run.train_limit == 40
    np.testing.assert_array_equal(run.x_train, data.x_train[:40, None])  # NCHW
    np.testing.assert_array_equal(run.y_test, data.y_test[:12])
    assert run.x_train.dtype == np.uint8  # scaled batch by batch by the engine
    assert len(seen.calls) == 2
    np.testing.assert_allclose(run.test_image(3), data.x_test[3] / 255.0, rtol=1e-6)
    assert run.label_of_test(3) == int(data.y_test[3])
    assert run.test_image(12) is None
    assert run.label_of_test(-1) is None
    assert source_name("/some/where/mnist") == "mnist"
    assert source_name("full") == "full"


# ------------------------------------------------------------------ a run, headless


def test_a_short_run_counts_epochs_across_runs():
    run = _ready_run()
    seen = Recorder()
    run.model_changed.connect(seen)
    for expected_epochs in (1, 2):
        session = run.begin(TrainSettings(batch_size=32, epochs=1, seed=1))
        kinds = set()
        for ev in session.events():
            run.record(ev)
            kinds.add(type(ev))
        run.finish()
        assert run.epochs_done == expected_epochs
    assert {StepEvent, EpochEvent, FinishedEvent, EvaluationEvent} <= kinds
    # 96 images, 10% held out: ceil(87 / 32) = 3 steps per epoch
    assert run.run_steps == 3
    assert run.last_eval is not None
    assert run.last_eval.epoch == 2  # counted across runs
    assert len(run.last_eval.predictions) == 20
    assert seen.calls == []  # training does not replace the model
    run.set_specs(_tiny_specs())  # fresh weights: counters restart
    assert run.epochs_done == 0
    assert run.last_eval is None
    assert len(seen.calls) == 1


def test_progress_read_out():
    run = _ready_run()
    assert run.progress() is None
    run.begin(TrainSettings(batch_size=10, epochs=2))
    run.record(StepEvent(1, 3, 6, 1.0, 0.5, images_seen=30, images_per_second=20.0))
    p = run.progress()
    # step 3 of 6 in epoch 1 of 2: 3 of 12 steps; 9 steps x 10 images at 20 images/s
    assert p.fraction == pytest.approx(0.25)
    assert (p.epoch, p.last_epoch, p.step, p.steps_per_epoch) == (1, 2, 3, 6)
    assert p.seconds_left == pytest.approx(4.5)
    assert run.epoch_x(1, 3, 6) == pytest.approx(0.5)


def test_learning_rate_reaches_the_optimizer_mid_run():
    run = _ready_run()
    run.begin(TrainSettings(learning_rate=1e-3))
    run.set_learning_rate(5e-4)
    assert run.model.optimizer.learning_rate == pytest.approx(5e-4)


# ------------------------------------------------------------------ specs vs convlab.nn


def _assert_matches_nn(specs):
    check = check_stack(specs)
    assert check.ok, check.error
    model = engine.build_model(specs)
    rows = model.summary_rows()
    assert [r.output_shape for r in check.rows] == [r.output_shape[1:] for r in rows]
    assert [r.params for r in check.rows] == [r.params for r in rows]
    assert check.total_params == model.count_params()


@pytest.mark.parametrize(
    "name",  # the colour presets at their native size: tests/test_finetune.py
    [n for n, _ in engine.PRESET_LABELS if engine.preset_input_shape(n) == (1, 28, 28)],
)
def test_preset_shapes_and_params_equal_the_built_model(name):
    _assert_matches_nn(engine.preset_specs(name))


def test_every_layer_type_against_nn_and_by_hand():
    specs = [
        {**default_spec("Conv2D"), "filters": 4, "padding": "same"},
        default_spec("BatchNormalization"),
        default_spec("ReLU"),
        {**default_spec("Conv2D"), "filters": 6, "strides": 2, "dilation_rate": 2},
        {**default_spec("AveragePooling2D"), "strides": 1},
        default_spec("MaxPooling2D"),
        default_spec("Dropout"),
        default_spec("GlobalAveragePooling2D"),
        {**default_spec("Dense"), "units": 7, "activation": "none"},
        {"type": "Activation", "activation": "tanh"},
        default_spec("Dense"),
    ]
    _assert_matches_nn(specs)
    rows = check_stack(specs).rows
    # by hand: 28 'same' -> 28; dilated 3x3 spans 5: (28 - 5) // 2 + 1 = 12;
    # avg pool 2 stride 1 -> 11; max pool 2 -> 5
    assert [r.output_shape for r in rows[:6]] == [
        (4, 28, 28),
        (4, 28, 28),
        (4, 28, 28),
        (6, 12, 12),
        (6, 11, 11),
        (6, 5, 5),
    ]
    # conv 4*1*9+4; BN gamma, beta, moving mean and variance; conv 6*4*9+6;
    # dense 6*7+7 and 7*10+10
    assert [r.params for r in rows] == [40, 16, 0, 222, 0, 0, 0, 0, 49, 0, 80]


_layer = st.one_of(
    st.builds(
        lambda f, k, s, d, p: {
            "type": "Conv2D",
            "filters": f,
            "kernel_size": k,
            "strides": s,
            "dilation_rate": d,
            "padding": p,
            "activation": "relu",
        },
        st.integers(1, 4),
        st.integers(1, 7),
        st.integers(1, 3),
        st.integers(1, 3),
        st.sampled_from(["valid", "same"]),
    ),
    st.builds(
        lambda kind, k, s, p: {
            "type": kind,
            "pool_size": k,
            "strides": s,
            "padding": p,
        },
        st.sampled_from(["MaxPooling2D", "AveragePooling2D"]),
        st.integers(1, 4),
        st.integers(0, 3),
        st.sampled_from(["valid", "same"]),
    ),
    st.just({"type": "BatchNormalization"}),
)


@settings(deadline=None, max_examples=40)
@given(st.lists(_layer, min_size=0, max_size=5))
def test_random_stacks_agree_with_nn_row_by_row(body):
    specs = [*body, {"type": "Flatten"}, default_spec("Dense")]
    check = check_stack(specs)
    if check.ok:
        _assert_matches_nn(specs)
    else:
        # the breaking row is one nn refuses too; the rows before it are nn's
        with pytest.raises(ValueError, match="Received|Output would be empty"):
            engine.build_model(specs)
        assert check.rows[check.error_index].output_shape is None
        prefix = specs[: check.error_index]
        if prefix:
            model = Sequential([engine.layer_from_spec(s) for s in prefix])
            model.build(INPUT_SHAPE)
            rows = model.summary_rows()
            assert [r.output_shape for r in check.rows[:-1]] == [
                r.output_shape[1:] for r in rows
            ]
            assert [r.params for r in check.rows[:-1]] == [r.params for r in rows]


def test_bad_rows_are_explained_at_the_row():
    no_flatten = [default_spec("Conv2D"), default_spec("Dense")]
    check = check_stack(no_flatten)
    assert check.error_index == 1
    assert check.error.startswith("Layer 2 (Dense(10, softmax)): Dense needs a flat")
    bad_arg = [{**default_spec("Conv2D"), "filters": 0}, *_tiny_specs()[1:]]
    check = check_stack(bad_arg)
    assert check.error_index == 0
    assert "Received: filters=0" in check.rows[0].error  # convlab.nn's own message
    check = check_stack(_tiny_specs()[:-1])
    assert check.error_index == 2
    assert "must end with 10 outputs" in check.error
    assert check_stack([]).error.startswith("The model has no layers")


def test_vocabulary_comes_from_nn_and_mnist():
    assert (1, *IMAGE_SHAPE) == INPUT_SHAPE
    assert tuple("none" if a == "linear" else a for a in NN_ACTIVATIONS) == ACTIVATIONS
    spec = engine.spec_from_layer(Dense(3))
    assert spec["activation"] == "none"
    layer = engine.layer_from_spec({"type": "Dense", "units": 3, "activation": "none"})
    assert layer.activation == "linear"
    assert engine.nn_activation("relu") == "relu"
    assert engine.editor_activation(None) == "none"


def test_filter_bank_averages_input_channels():
    from convlab.nn import Conv2D, Flatten

    model = Sequential([Flatten()])
    model.build((1, 4, 4))
    assert engine.filter_bank(model) == []
    model = Sequential([Conv2D(3, 2), Flatten(), Dense(2)], seed=1)
    model.build((2, 6, 6))
    bank = engine.filter_bank(model)
    weight = model.layers[0].weight  # (3, 2, 2, 2)
    assert [name for name, _ in bank] == [
        f"{model.layers[0].name} #{f}" for f in range(3)
    ]
    for f, (_name, kernel) in enumerate(bank):
        assert kernel.dtype == np.float32
        np.testing.assert_allclose(kernel, (weight[f, 0] + weight[f, 1]) / 2, rtol=1e-6)
