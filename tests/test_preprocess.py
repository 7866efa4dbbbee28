"""convlab.train.preprocess: the trainer's augmentation and normalisation against
ImageDataGenerator itself (flow on the same seed, standardize after fit), the ZCA
matrix against an independent SVD of the data, the model file keeping the
normaliser, and short runs that train with both."""

from __future__ import annotations

import numpy as np
import pytest

from convlab.data.augment import ImageDataGenerator
from convlab.data.mnist import load_mnist
from convlab.train import TrainerRun, TrainSettings, preprocess  # noqa: F401
from convlab.train.events import EpochEvent, StepEvent
from convlab.train.specs import default_spec

AUG = {
    "rotation_range": 20.0,
    "width_shift_range": 0.1,
    "height_shift_range": 2,
    "shear_range": 10.0,
    "zoom_range": 0.2,
    "horizontal_flip": True,
    "vertical_flip": True,
    "brightness_range": (0.6, 1.4),
    "channel_shift_range": 20.0,
    "fill_mode": "reflect",
    "cval": 0.0,
}


def _images(n, c, h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, c, h, w), dtype=np.uint8)


def _nhwc(x):
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


@pytest.mark.parametrize("channels", [1, 3])
def test_augmented_batch_equals_flow_on_the_same_seed(channels):
    x = _images(6, channels, 9, 11)
    ours = preprocess.Augmenter(AUG).transform(x, np.random.default_rng(7))
    gen = ImageDataGenerator(**AUG)
    (theirs,) = [gen.flow(_nhwc(x), batch_size=6, shuffle=False, seed=7)[0]]
    assert ours.dtype == np.float32
    assert ours.shape == x.shape
    np.testing.assert_array_equal(ours, theirs.transpose(0, 3, 1, 2))
    assert not np.array_equal(ours, x.astype(np.float32))  # something was drawn


def test_training_batches_are_seeded_per_epoch_and_batch():
    x, y = _images(10, 1, 8, 8), np.arange(10) % 3
    aug = preprocess.Augmenter({"rotation_range": 30.0})

    def epochs(seed):
        it = preprocess.TrainingBatches(x, y, 4, seed=seed, augmenter=aug)
        assert len(it) == 3
        return [next(it) for _ in range(6)]  # two epochs

    a, b, c = epochs(1), epochs(1), epochs(2)
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a[0][0], c[0][0])
    # each epoch visits every image once, in a new order
    first = np.concatenate([yb for _, yb in a[:3]])
    assert sorted(first.tolist()) == sorted(y.tolist())
    # batch 2 of epoch 2 is the epoch's order under batch_rng(seed, 2, 2), / 255
    it = preprocess.TrainingBatches(x, y, 4, seed=1, augmenter=aug)
    for _ in range(5):
        xb, yb = next(it)
    order = np.random.default_rng([1, 3, 2]).permutation(10)[4:8]
    expected = aug.transform(x[order], preprocess.batch_rng(1, 2, 2)) / 255
    np.testing.assert_allclose(xb, expected, rtol=1e-6)
    np.testing.assert_array_equal(yb, y[order])


NORMS = [
    {"samplewise_center": True, "samplewise_std_normalization": True},
    {"featurewise_center": True, "featurewise_std_normalization": True},
    {"featurewise_center": True},
    {"zca_whitening": True, "zca_epsilon": 1e-2},
    {"zca_whitening": True, "featurewise_std_normalization": True},
]


@pytest.mark.parametrize("settings", NORMS)
@pytest.mark.parametrize("channels", [1, 3])
def test_normaliser_equals_standardize_after_fit(settings, channels):
    x_train, x_new = _images(60, channels, 5, 6, 1), _images(7, channels, 5, 6, 2)
    norm = preprocess.fit_normaliser({**settings, "fit_images": 40}, x_train)
    gen = ImageDataGenerator(rescale=1 / 255, **settings)
    gen.fit(_nhwc(x_train[:40]))  # the first fit_images only
    expected = gen.standardize(_nhwc(x_new).astype(np.float32))
    got = norm.apply(x_new)
    assert got.dtype == np.float32
    assert got.shape == x_new.shape
    np.testing.assert_allclose(got, expected.transpose(0, 3, 1, 2), atol=1e-5)
    # float input in [0, 1] (a probe) means the same pixels
    model = type("M", (), {})()
    preprocess.attach(model, norm)
    np.testing.assert_allclose(
        preprocess.model_input(model, x_new / np.float32(255)), got, atol=1e-4
    )
    np.testing.assert_allclose(preprocess.model_input(model, x_new), got, atol=1e-6)


def test_zca_matrix_against_the_svd_of_the_data():
    x = _images(300, 3, 4, 4, 3)
    eps = 1e-3
    norm = preprocess.fit_normaliser(
        {"zca_whitening": True, "zca_epsilon": eps, "fit_images": 300}, x
    )
    # independently: channels-last pixels in [0, 1], centred per channel
    flat = _nhwc(x).astype(np.float64) / 255
    flat = flat - flat.mean(axis=(0, 1, 2))
    flat = flat.reshape(len(x), -1)
    # the covariance's eigenvectors from the SVD of the data itself (the
    # implementation takes eigh of the covariance)
    _, singular, vt = np.linalg.svd(flat, full_matrices=False)
    values, vectors = singular**2 / len(flat), vt.T
    expected = vectors @ np.diag(1 / np.sqrt(values + eps)) @ vectors.T
    np.testing.assert_allclose(norm.zca_matrix, expected, rtol=1e-4, atol=1e-4)
    # whitened training data: covariance close to the identity (eps shrinks it)
    white = norm.apply(x).transpose(0, 2, 3, 1).reshape(len(x), -1).astype(np.float64)
    cov = white.T @ white / len(white)
    shrink = values / (values + eps)  # the exact covariance after whitening
    np.testing.assert_allclose(cov, vectors @ np.diag(shrink) @ vectors.T, atol=2e-3)


def test_zca_filters_are_rows_of_the_matrix_and_centre_surround_on_mnist():
    x = load_mnist("bundled").x_train[:1000, None]
    norm = preprocess.fit_normaliser({"zca_whitening": True, "zca_epsilon": 0.1}, x)
    filters, positions = preprocess.zca_filters(norm, (1, 28, 28), 16)
    assert filters.shape == (16, 1, 28, 28)
    assert len(positions) == 16
    assert (14, 14) in positions
    zca = norm.zca_matrix
    for f, (r, c) in zip(filters, positions, strict=True):
        np.testing.assert_array_equal(f[0], zca[r * 28 + c].reshape(28, 28))
        # centre-surround: the peak sits on the pixel itself, its ring is negative
        assert np.unravel_index(np.argmax(f[0]), (28, 28)) == (r, c)
    f = filters[positions.index((14, 14))][0]
    assert f[13:16, 13:16].sum() - f[14, 14] < 0
    with pytest.raises(ValueError, match=r"input_shape"):
        preprocess.zca_filters(norm, (3, 28, 28))


def test_colour_zca_filters_keep_the_channels():
    x = _images(200, 3, 6, 6, 4)
    norm = preprocess.fit_normaliser({"zca_whitening": True, "zca_epsilon": 0.1}, x)
    filters, positions = preprocess.zca_filters(norm, (3, 6, 6), 4)
    r, c = positions[0]
    row = norm.zca_matrix[(r * 6 + c) * 3].reshape(6, 6, 3).transpose(2, 0, 1)
    np.testing.assert_array_equal(filters[0], row)


def test_bad_settings_name_the_key_and_the_value():
    with pytest.raises(ValueError, match=r"Received: augment with 'rotation'"):
        preprocess.Augmenter({"rotation": 10})
    with pytest.raises(ValueError, match=r"Received: rotation_range=-1"):
        preprocess.Augmenter({"rotation_range": -1})
    with pytest.raises(ValueError, match=r"Received: fit_images=0"):
        preprocess.Normaliser({"zca_whitening": True, "fit_images": 0})
    with pytest.raises(TypeError, match=r"normalise of type list"):
        preprocess.Normaliser([])


def test_the_last_fit_is_reused_only_for_the_same_images_and_settings(monkeypatch):
    fits = []
    real_fit = ImageDataGenerator.fit
    monkeypatch.setattr(
        ImageDataGenerator, "fit", lambda g, x, *a: fits.append(1) or real_fit(g, x)
    )
    x = _images(50, 1, 6, 6)
    s = {"zca_whitening": True, "fit_images": 50}
    a = preprocess.fit_normaliser(s, x)
    b = preprocess.fit_normaliser(s, x)
    np.testing.assert_array_equal(a.zca_matrix, b.zca_matrix)
    assert len(fits) == 1  # the second came from the cache
    x2 = x.copy()
    x2[0, 0, 0, 0] ^= 1
    c = preprocess.fit_normaliser(s, x2)
    assert not np.array_equal(a.zca_matrix, c.zca_matrix)
    d = preprocess.fit_normaliser({**s, "zca_epsilon": 0.5}, x)
    assert not np.array_equal(a.zca_matrix, d.zca_matrix)
    assert len(fits) == 3


# ------------------------------------------------------------------ runs


def _run(n_train=600, n_test=200):
    from trainer_helpers import subset

    run = TrainerRun()
    run.set_data(subset(load_mnist("bundled"), n_train, n_test))
    run.set_specs(
        [
            {**default_spec("Conv2D"), "filters": 4},
            default_spec("MaxPooling2D"),
            default_spec("Flatten"),
            default_spec("Dense"),
        ]
    )
    return run


def _train(run, settings):
    session = run.begin(settings)
    events = list(session.events())
    run.finish()
    return events


def test_a_run_with_augmentation_trains():
    run = _run()
    aug = {"rotation_range": 10.0, "width_shift_range": 0.1, "zoom_range": 0.1}
    events = _train(run, TrainSettings(batch_size=32, epochs=3, augment=aug))
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert len(epochs) == 3
    assert steps[0].steps_per_epoch == 17  # 540 training images / 32
    assert epochs[-1].loss < 0.8 * epochs[0].loss
    assert epochs[-1].val_accuracy is not None
    assert epochs[-1].val_accuracy > 0.5
    assert run.model.preprocessing is None  # no normaliser to remember
    # reproducible: the same seed gives the same first epoch
    again = _run()
    events2 = _train(again, TrainSettings(batch_size=32, epochs=1, augment=aug))
    assert [e.loss for e in events2 if isinstance(e, EpochEvent)] == [epochs[0].loss]


def test_a_normalised_model_remembers_its_normaliser_in_the_file(tmp_path):
    from convlab.nn import load_model
    from convlab.train.session import evaluate_model

    run = _run()
    norm = {"featurewise_center": True, "featurewise_std_normalization": True}
    events = _train(run, TrainSettings(batch_size=32, epochs=2, normalise=norm))
    assert any(getattr(e, "unit", "") == "training images" for e in events)
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    assert epochs[-1].loss < epochs[0].loss
    # fit on the training part only (540 of 600: the validation tenth held out)
    expected = preprocess.fit_normaliser(norm, run.x_train[:540])
    got = preprocess.model_normaliser(run.model)
    assert got.fitted_on == 540
    np.testing.assert_allclose(got.generator.mean, expected.generator.mean)
    trained = evaluate_model(run.model, run.lock, run.x_test, run.y_test)

    path = tmp_path / "normalised.npz"
    run.save(path)
    loaded = load_model(path)
    again = preprocess.model_normaliser(loaded)
    np.testing.assert_array_equal(again.generator.std, got.generator.std)
    reopened = evaluate_model(loaded, run.lock, run.x_test, run.y_test)
    np.testing.assert_array_equal(reopened.predictions, trained.predictions)
    # convlab evaluate applies it too: the accuracy the trainer's evaluation gives
    import io

    from convlab import cli

    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["evaluate", str(path)], stdout=out, stderr=err) == 0, err
    full = load_mnist("bundled")
    ev = evaluate_model(loaded, run.lock, full.x_test, full.y_test)
    accuracy = float(np.mean(ev.predictions == full.y_test))
    assert f"test accuracy {100 * accuracy:.2f}%" in out.getvalue()
    # without its normaliser the same weights predict differently: it matters
    loaded.preprocessing = None
    raw = evaluate_model(loaded, run.lock, run.x_test, run.y_test)
    assert not np.array_equal(raw.probabilities, trained.probabilities)
    # training again without normalisation forgets it (the inputs changed)
    _train(run, TrainSettings(batch_size=32, epochs=1))
    assert run.model.preprocessing is None
