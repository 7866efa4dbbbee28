"""The trainer's Augment and Normalise tabs, driven as a user would: sliders and
switches change the preview and TrainSettings, the previews hold what
convlab.train.preprocess computes for the arguments shown, colour data works, and a
run with both switches on trains and leaves the normaliser with the model."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from trainer_helpers import open_trainer, subset, train  # noqa: E402

from convlab.data.augment import ImageDataGenerator  # noqa: E402
from convlab.data.mnist import load_mnist  # noqa: E402
from convlab.train import preprocess  # noqa: E402


@pytest.fixture
def widget(qtbot):
    w = open_trainer(qtbot, subset(load_mnist("bundled"), 400, 100))
    yield w
    w.shutdown()


def _wait_preview(qtbot, panel):
    qtbot.waitUntil(lambda: not panel.busy(), timeout=60_000)


def test_augment_sliders_drive_the_preview_and_the_settings(qtbot, widget):
    panel = widget.augment_panel
    widget.tabs.setCurrentWidget(panel)
    _wait_preview(qtbot, panel)
    assert panel.preview is not None
    assert panel.preview.shape == (12, 1, 28, 28)
    # no augmentation: every draw is the image itself
    grey = widget.run.x_train[:, 0]  # (N, 1, 28, 28) -> (N, 28, 28)
    image = grey[0].astype(np.float32)
    np.testing.assert_array_equal(
        panel.preview[:, 0], np.broadcast_to(image, (12, 28, 28))
    )
    with qtbot.waitSignal(panel.preview_updated, timeout=60_000):
        panel.sliders["rotation_range"].slider.setValue(30)
        panel.hflip.setChecked(True)
    args = panel.arguments()
    assert args["rotation_range"] == 30.0
    assert args["horizontal_flip"] is True
    # the grid holds Keras's flow of 12 copies of image 0 on the panel's seed
    gen = ImageDataGenerator(**args)
    copies = np.repeat(grey[:1, :, :, None], 12, axis=0)
    expected = gen.flow(copies, batch_size=12, shuffle=False, seed=panel.seed)[0]
    np.testing.assert_array_equal(panel.preview[:, 0], expected[..., 0])
    assert panel.grid_label.rgb is not None
    assert "12 random draws" in panel.caption.text()
    # a new draw: same arguments, other transforms
    before = panel.preview.copy()
    with qtbot.waitSignal(panel.preview_updated, timeout=60_000):
        panel.draw_button.click()
    assert not np.array_equal(before, panel.preview)
    # the switch decides what Start trains with
    assert widget.settings().augment is None
    panel.enabled_check.setChecked(True)
    assert widget.settings().augment == panel.arguments()
    panel.reset()
    assert panel.arguments() == preprocess.AUGMENT_DEFAULTS


def test_augment_tooltips_teach_each_argument(widget):
    panel = widget.augment_panel
    for key, slider in panel.sliders.items():
        assert slider.slider.toolTip().startswith(key), key
    assert "fill_mode" in panel.fill_combo.toolTip()
    assert "cval" in panel.cval_spin.toolTip()
    assert not panel.cval_spin.isEnabled()  # only with fill_mode "constant"
    panel.fill_combo.setCurrentText("constant")
    assert panel.cval_spin.isEnabled()


def test_normalise_tab_shows_before_after_and_zca_filters(qtbot, widget):
    panel = widget.normalise_panel
    widget.tabs.setCurrentWidget(panel)
    _wait_preview(qtbot, panel)
    assert "Nothing chosen" in panel.status.text()
    assert panel.filters_label.rgb is None
    with qtbot.waitSignal(panel.preview_updated, timeout=120_000):
        panel.fit_spin.setValue(300)
        panel.checks["zca_whitening"].setChecked(True)
    _wait_preview(qtbot, panel)
    args = panel.arguments()
    assert args["zca_whitening"] is True
    assert args["fit_images"] == 300
    assert args["zca_epsilon"] == pytest.approx(0.1)
    result = panel.result
    x = widget.run.x_train[:300]  # (N, 1, 28, 28)
    # the ZCA matrix of ImageDataGenerator.fit on the first 300 images, its rows
    gen = ImageDataGenerator(rescale=1 / 255, zca_whitening=True, zca_epsilon=0.1)
    gen.fit(x.transpose(0, 2, 3, 1))
    for f, (r, c) in zip(result.filters, result.positions, strict=True):
        np.testing.assert_allclose(
            f[0], gen.zca_whitening_matrix[r * 28 + c].reshape(28, 28), atol=1e-4
        )
    expected_after = gen.standardize(
        widget.run.x_train[:4].transpose(0, 2, 3, 1).astype(np.float32)
    )
    np.testing.assert_allclose(result.after[:, 0], expected_after[..., 0], atol=1e-4)
    assert panel.filters_label.rgb is not None
    assert "centre-surround" in panel.filters_caption.text()
    assert "300 training images" in panel.status.text()
    # the epsilon slider is logarithmic over 1e-6 .. 1
    panel.epsilon.slider.setValue(0)
    assert panel.epsilon_value() == pytest.approx(1e-6)
    assert panel.epsilon.label.text() == "1e-06"
    panel.epsilon.slider.setValue(600)
    assert panel.epsilon_value() == pytest.approx(1.0)
    # the switch
    assert widget.settings().normalise is None
    panel.enabled_check.setChecked(True)
    assert widget.settings().normalise == panel.arguments()
    panel.checks["zca_whitening"].setChecked(False)
    assert widget.settings().normalise is None  # nothing chosen: nothing to do
    _wait_preview(qtbot, panel)  # no fit left running on the pool


def test_colour_images_in_both_tabs(qtbot, widget):
    rng = np.random.default_rng(0)
    colour = rng.integers(0, 256, (200, 3, 12, 10), dtype=np.uint8)
    widget.run.x_train = colour  # what tdata's colour data will look like
    widget.run.data_changed.emit()
    aug, norm = widget.augment_panel, widget.normalise_panel
    aug.sliders["channel_shift_range"].set_value(40)
    norm.checks["zca_whitening"].setChecked(True)
    _wait_preview(qtbot, aug)
    _wait_preview(qtbot, norm)
    assert aug.preview.shape == (12, 3, 12, 10)
    assert aug.grid_label.rgb is not None
    assert norm.result.filters.shape == (16, 3, 12, 10)
    assert norm.result.after.shape == (4, 3, 12, 10)
    assert "red value" in norm.filters_caption.text()


def test_a_run_with_both_switches_trains_and_keeps_the_normaliser(
    qtbot, widget, tmp_path
):
    widget.epochs_spin.setValue(2)
    aug, norm = widget.augment_panel, widget.normalise_panel
    aug.sliders["rotation_range"].set_value(10)
    aug.enabled_check.setChecked(True)
    norm.checks["featurewise_center"].setChecked(True)
    norm.checks["featurewise_std_normalization"].setChecked(True)
    norm.enabled_check.setChecked(True)
    assert train(qtbot, widget) is False
    assert widget.run.outcome == "finished"
    model_norm = preprocess.model_normaliser(widget.model)
    assert model_norm is not None
    assert model_norm.fitted_on == 360  # 400 minus the validation tenth
    curves = widget.curves.loss_raw
    assert curves.n > 0
    assert widget.run.last_eval is not None  # the test images went through it too
    # saved and opened again: the Normalise tab says what the model uses, switch on
    path = tmp_path / "normalised.npz"
    widget.run.save(path)
    norm.enabled_check.setChecked(False)
    norm.checks["featurewise_center"].setChecked(False)
    widget.run.load(path)
    assert norm.enabled_check.isChecked()
    assert norm.checks["featurewise_center"].isChecked()
    assert widget.settings().normalise == model_norm.settings
    assert "saved statistics" in norm.status.text()
    _wait_preview(qtbot, norm)
    assert "saved statistics" in norm.status.text()  # the preview keeps the note


def test_a_scene_keeps_the_augment_and_normalise_settings(widget):
    import dataclasses
    import json

    aug, norm = widget.augment_panel, widget.normalise_panel
    aug.sliders["zoom_range"].set_value(0.2)
    aug.sliders["brightness_range"].set_value(0.25)
    aug.enabled_check.setChecked(True)
    norm.checks["samplewise_center"].setChecked(True)
    norm.enabled_check.setChecked(True)
    saved = json.loads(json.dumps(dataclasses.asdict(widget.settings())))
    aug.reset()
    aug.enabled_check.setChecked(False)
    norm.checks["samplewise_center"].setChecked(False)
    widget.restore_scene_state(None, saved)
    s = widget.settings()
    assert s.augment["zoom_range"] == pytest.approx(0.2)
    assert s.augment["brightness_range"] == pytest.approx((0.75, 1.25))
    assert s.normalise["samplewise_center"] is True
    bad = {**saved, "augment": {"rotation": 3}}
    with pytest.raises(ValueError, match=r"Received: augment with 'rotation'"):
        widget.check_scene_state(None, bad)
