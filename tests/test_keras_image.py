"""convlab.keras.preprocessing.image: ImageDataGenerator's transforms against
keras-preprocessing's formulas written out step by step, standardisation against
NumPy, flow / flow_from_directory behaviour, load_img / img_to_array."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from convlab.keras.preprocessing.image import (
    ImageDataGenerator,
    img_to_array,
    load_img,
)
from kernels.affine import affine_transform

RNG = np.random.default_rng(0)


def keras_matrix(theta, tx, ty, shear, zx, zy, h, w):
    """keras-preprocessing's apply_affine_transform, one np.dot at a time."""
    t = np.deg2rad(theta)
    m = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    m = m @ np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
    s = np.deg2rad(shear)
    m = m @ np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]])
    m = m @ np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]])
    ox, oy = h / 2 - 0.5, w / 2 - 0.5
    offset = np.array([[1, 0, ox], [0, 1, oy], [0, 0, 1]])
    reset = np.array([[1, 0, -ox], [0, 1, -oy], [0, 0, 1]])
    return (offset @ m @ reset)[:2]


def test_transform_matrix_is_keras_composition():
    for _ in range(20):
        p = {
            "theta": RNG.uniform(-40, 40),
            "tx": RNG.uniform(-5, 5),
            "ty": RNG.uniform(-5, 5),
            "shear": RNG.uniform(-20, 20),
            "zx": RNG.uniform(0.7, 1.3),
            "zy": RNG.uniform(0.7, 1.3),
        }
        np.testing.assert_allclose(
            ImageDataGenerator.transform_matrix(p, 28, 20),
            keras_matrix(*p.values(), 28, 20),
            atol=1e-12,
        )
    assert ImageDataGenerator.transform_matrix({}, 5, 5) is None


def test_apply_transform_warps_flips_and_shifts_channels():
    gen = ImageDataGenerator(fill_mode="constant", cval=0.5)
    x = RNG.random((9, 7, 3)).astype(np.float32)
    p = {"theta": 30.0, "tx": 1.5, "zx": 1.2, "flip_horizontal": True}
    want = affine_transform(
        x[None], keras_matrix(30, 1.5, 0, 0, 1.2, 1, 9, 7), fill_mode="constant",
        cval=0.5,
    )[0][:, ::-1]  # fmt: skip
    np.testing.assert_allclose(gen.apply_transform(x, p), want, atol=1e-6)
    shifted = gen.apply_transform(x, {"channel_shift_intensity": 0.3})
    np.testing.assert_allclose(shifted, np.clip(x + 0.3, x.min(), x.max()))
    flipped = gen.apply_transform(x, {"flip_vertical": True})
    np.testing.assert_array_equal(flipped, x[::-1])


def test_brightness_is_pil_enhance_on_0_255_values():
    from PIL import ImageEnhance

    x = RNG.integers(0, 256, (6, 5, 3)).astype(np.float32)
    got = ImageDataGenerator().apply_transform(x, {"brightness": 1.3})
    img = Image.fromarray(x.astype(np.uint8))
    want = np.asarray(ImageEnhance.Brightness(img).enhance(1.3), np.float32)
    np.testing.assert_allclose(got, want, atol=1.0)  # PIL rounds in fixed point


def test_random_ranges_are_respected_and_seeded():
    gen = ImageDataGenerator(
        rotation_range=20,
        width_shift_range=0.25,
        height_shift_range=3,
        zoom_range=0.2,
        shear_range=5,
        horizontal_flip=True,
        channel_shift_range=10,
        brightness_range=(0.5, 1.5),
    )
    shape = (20, 16, 3)
    draws = [
        gen.get_random_transform(shape, np.random.default_rng(i)) for i in range(300)
    ]
    theta = np.array([d["theta"] for d in draws])
    assert np.abs(theta).max() <= 20
    assert theta.std() > 8  # uniform on [-20, 20]: std 11.5
    assert np.abs([d["ty"] for d in draws]).max() <= 0.25 * 16  # fraction of width
    tx = {d["tx"] for d in draws}  # an int range: whole pixels
    assert tx <= {-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0}
    assert len(tx) == 7
    zooms = np.array([(d["zx"], d["zy"]) for d in draws])
    assert zooms.min() >= 0.8
    assert zooms.max() <= 1.2
    assert not np.allclose(zooms[:, 0], zooms[:, 1])  # independent, as Keras
    assert 100 < sum(d["flip_horizontal"] for d in draws) < 200
    assert not any(d["flip_vertical"] for d in draws)
    assert gen.get_random_transform((20, 16, 3), 7) == gen.get_random_transform(
        (20, 16, 3), 7
    )


def test_standardize_and_fit_match_numpy():
    x = RNG.random((50, 4, 3, 2)) * 255
    gen = ImageDataGenerator(
        rescale=1 / 255, featurewise_center=True, featurewise_std_normalization=True
    )
    gen.fit(x)
    scaled = x / 255
    mean = scaled.mean(axis=(0, 1, 2))
    std = scaled.std(axis=(0, 1, 2))
    np.testing.assert_allclose(gen.mean.ravel(), mean, rtol=1e-5)
    np.testing.assert_allclose(gen.std.ravel(), std, rtol=1e-5)
    np.testing.assert_allclose(
        gen.standardize(x[0].astype(np.float32)), (scaled[0] - mean) / (std + 1e-6),
        rtol=1e-4, atol=1e-5,
    )  # fmt: skip
    sample = ImageDataGenerator(
        samplewise_center=True, samplewise_std_normalization=True
    )
    out = sample.standardize(x[:3].astype(np.float32))
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), 0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(1, 2, 3)), 1, atol=1e-4)
    pre = ImageDataGenerator(preprocessing_function=lambda im: im * 2, rescale=0.5)
    np.testing.assert_allclose(
        pre.standardize(x[0].astype(np.float32)), x[0], rtol=1e-6
    )


@pytest.mark.parametrize(("n", "eps"), [(30, 1e-6), (30, 0.1), (200, 1e-3)])
def test_zca_matrix_with_fewer_images_than_pixels_is_keras_formula(n, eps):
    """Fewer samples than features (a folder of colour photos): the thin-SVD
    shortcut gives Keras's matrix, null-space directions (scaled by
    1/sqrt(eps)) included, as the SVD of the full covariance does."""
    from convlab.data.augment import _zca_matrix

    rng = np.random.default_rng(n)
    flat = rng.standard_normal((n, 108)) @ rng.standard_normal((108, 108)) * 0.1
    flat -= flat.mean(axis=0)
    sigma = flat.T @ flat / n
    u, s, _ = np.linalg.svd(sigma)
    want = (u * (1 / np.sqrt(s + eps))) @ u.T
    got = _zca_matrix(flat, eps)
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-7 / np.sqrt(eps))


def test_zca_whitening_decorrelates_with_keras_formula():
    x = RNG.standard_normal((400, 3, 3, 1)) @ np.ones((1, 1)) + RNG.random(
        (400, 1, 1, 1)
    )
    gen = ImageDataGenerator(zca_whitening=True, zca_epsilon=1e-6)
    gen.fit(x)
    assert gen.featurewise_center  # implied, as in Keras
    flat = (x - x.mean(axis=(0, 1, 2))).reshape(400, -1)
    sigma = flat.T @ flat / 400
    u, s, _ = np.linalg.svd(sigma)
    want = (u * (1 / np.sqrt(s + 1e-6))) @ u.T
    np.testing.assert_allclose(gen.zca_whitening_matrix, want, rtol=1e-4, atol=1e-5)
    white = gen.standardize(x.astype(np.float32)).reshape(400, -1)
    np.testing.assert_allclose(white.T @ white / 400, np.eye(9), atol=1e-2)
    with pytest.raises(ValueError, match=r"call datagen\.fit\(x_train\) before flow"):
        ImageDataGenerator(featurewise_center=True).standardize(x[0])


def test_flow_batches_len_next_subset_and_save(tmp_path):
    x = RNG.integers(0, 256, (50, 8, 8, 1)).astype(np.uint8)
    y = np.arange(50)
    gen = ImageDataGenerator(rescale=1 / 255, validation_split=0.2)
    it = gen.flow(x, y, batch_size=16, shuffle=True, seed=3)
    assert len(it) == 4
    seen = np.concatenate([next(it)[1] for _ in range(4)])
    assert sorted(seen) == list(range(50))  # an epoch is a permutation
    xb, yb = it.next()
    np.testing.assert_allclose(xb, x[yb] / 255, rtol=1e-6)  # no random transform
    again = gen.flow(x, y, batch_size=16, seed=3)
    np.testing.assert_array_equal(next(again)[1], seen[:16])
    val = gen.flow(x, y, batch_size=100, subset="validation")
    np.testing.assert_array_equal(sorted(next(val)[1]), np.arange(10))  # first 20%
    train = gen.flow(x, y, batch_size=100, subset="training", shuffle=False)
    np.testing.assert_array_equal(next(train)[1], np.arange(10, 50))
    only_x = gen.flow(x, batch_size=5, save_to_dir=tmp_path, save_prefix="aug")
    assert next(only_x).shape == (5, 8, 8, 1)
    assert len(list(tmp_path.glob("aug_*.png"))) == 5
    with pytest.raises(ValueError, match=r"reshape grey images.*x\.shape=\(50, 8, 8\)"):
        gen.flow(x[..., 0], y)


def _fruit_folders(root, classes=("apple", "banana", "cherry"), per_class=5):
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            colour = (40 * k + i, 255 - 40 * k, 10 * i)
            Image.new("RGB", (30, 20), colour).save(root / name / f"{i:02d}.jpg")
    (root / "apple" / "notes.txt").write_text("not an image")


def test_flow_from_directory_as_the_fruit_tutorial(tmp_path, capsys):
    _fruit_folders(tmp_path)
    gen = ImageDataGenerator(rescale=1 / 255, validation_split=0.4)
    train = gen.flow_from_directory(
        tmp_path, target_size=(16, 12), batch_size=4, subset="training", seed=0
    )
    assert train.class_indices == {"apple": 0, "banana": 1, "cherry": 2}
    assert train.samples == 9  # 5 - int(5 * 0.4) = 3 per class
    assert "Found 9 images belonging to 3 classes." in capsys.readouterr().out
    xb, yb = next(train)
    assert (xb.shape, yb.shape) == ((4, 16, 12, 3), (4, 3))
    assert xb.max() <= 1.0
    val = gen.flow_from_directory(
        tmp_path, target_size=(16, 12), class_mode="sparse", subset="validation",
        shuffle=False, color_mode="grayscale",
    )  # fmt: skip
    assert val.filenames[:2] == ["apple/00.jpg", "apple/01.jpg"]
    xv, yv = next(val)
    assert xv.shape == (6, 16, 12, 1)
    np.testing.assert_array_equal(yv, [0, 0, 1, 1, 2, 2])
    with pytest.raises(ValueError, match=r"Received: class_mode='multi'"):
        gen.flow_from_directory(tmp_path, class_mode="multi")


def test_load_img_and_img_to_array(tmp_path):
    arr = RNG.integers(0, 256, (10, 14, 3)).astype(np.uint8)
    Image.fromarray(arr).save(tmp_path / "a.png")
    img = load_img(tmp_path / "a.png")
    np.testing.assert_array_equal(img_to_array(img), arr.astype(np.float32))
    small = img_to_array(load_img(tmp_path / "a.png", target_size=(5, 7)))
    assert small.shape == (5, 7, 3)
    grey = img_to_array(load_img(tmp_path / "a.png", color_mode="grayscale"))
    assert grey.shape == (10, 14, 1)
    assert img_to_array(img, data_format="channels_first").shape == (3, 10, 14)
