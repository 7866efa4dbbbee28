"""Image loading: every mode Pillow hands us, EXIF, 16-bit, bombs, corrupt files,
samples."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from convlab.data.images import (
    SAMPLES,
    ImageLoadError,
    get_sample,
    image_from_array,
    load_image,
    load_sample,
)

EXPECTED_SAMPLES = {
    "cameraman": (1, 512, 512),
    "cat": (3, 300, 451),
    "astronaut": (3, 512, 512),
    "brick": (1, 512, 512),
    "page": (1, 400, 512),
    "checkerboard": (1, 256, 256),
    "digit": (1, 28, 28),
}


def gradient_rgb(h: int = 6, w: int = 8) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx * 30, yy * 40, (xx + yy) * 10], axis=-1).astype(np.uint8)


# ----------------------------------------------------------------------------- samples


def test_samples_load_with_expected_shapes():
    assert [s.name for s in SAMPLES] == list(EXPECTED_SAMPLES)
    total = 0
    for sample in SAMPLES:
        assert sample.path.is_file(), sample.path
        assert sample.credit
        assert sample.title
        total += sample.path.stat().st_size
        image = load_sample(sample.name)
        assert image.array.shape == EXPECTED_SAMPLES[sample.name]
        assert image.array.dtype == np.float32
        assert image.array.min() >= 0.0
        assert image.array.max() <= 1.0
        assert image.array.max() > image.array.min()  # not blank
        assert not image.downscaled
    assert total < 1_500_000


def test_default_sample_is_the_first_and_has_edges():
    image = load_sample()
    assert image.path == SAMPLES[0].path
    # Clear edges: large horizontal differences exist somewhere.
    assert np.abs(np.diff(image.array[0], axis=1)).max() > 0.5


def test_checkerboard_and_digit_are_what_they_say():
    board = load_sample("checkerboard").array[0]
    assert np.unique(board).size == 2
    assert board[0, 0] != board[0, 32]
    assert board[0, 0] == board[32, 32]
    digit = load_sample("digit").array[0]
    from convlab.data.mnist import load_mnist

    data = load_mnist("bundled")
    first_seven = data.x_test[np.flatnonzero(data.y_test == 7)[0]]
    np.testing.assert_array_equal(digit, first_seven / np.float32(255))


def test_unknown_sample_name():
    with pytest.raises(
        ValueError, match=r"`name` must be one of .*Received: name='lena'"
    ):
        get_sample("lena")


def test_credits_file_names_every_sample():
    credits = (SAMPLES[0].path.parents[1] / "CREDITS.md").read_text(encoding="utf-8")
    for sample in SAMPLES:
        assert sample.path.name in credits
    for words in ["Yann LeCun", "Corinna Cortes", "Burges", "CC BY-SA 3.0", "CC0"]:
        assert words in credits


# ----------------------------------------------------------------------------- formats


@pytest.mark.parametrize("ext", ["png", "bmp", "tiff", "webp", "gif"])
def test_lossless_formats_round_trip_exactly(tmp_path, ext):
    rgb = gradient_rgb()
    path = tmp_path / f"g.{ext}"
    options = {"lossless": True} if ext == "webp" else {}
    if (
        ext == "gif"
    ):  # a palette format: use a greyscale image, which GIF stores exactly
        Image.fromarray(rgb[..., 0], "L").save(path)
        expected = rgb[..., 0][None] / np.float32(255)
    else:
        Image.fromarray(rgb, "RGB").save(path, **options)
        expected = np.transpose(rgb, (2, 0, 1)) / np.float32(255)
    image = load_image(path)
    assert image.array.shape == expected.shape
    np.testing.assert_allclose(image.array, expected, atol=1e-6)
    assert image.name == f"g.{ext}"
    assert image.original_size == (8, 6)


def test_jpeg_loads_close_to_source(tmp_path):
    rgb = np.full((16, 16, 3), (200, 100, 50), np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.jpg", quality=95)
    image = load_image(tmp_path / "a.jpg")
    assert image.array.shape == (3, 16, 16)
    np.testing.assert_allclose(
        image.array[:, 8, 8], np.array([200, 100, 50]) / 255, atol=0.02
    )


def test_animated_gif_gives_first_frame(tmp_path):
    frames = [Image.fromarray(np.full((4, 5), v, np.uint8), "L") for v in (10, 200)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    image = load_image(tmp_path / "anim.gif")
    assert image.array.shape == (1, 4, 5)
    np.testing.assert_allclose(image.array, 10 / 255, atol=1e-6)


def test_exif_orientation_is_applied(tmp_path):
    # A 4-wide, 2-tall image, white on the left column only.
    pixels = np.zeros((2, 4), np.uint8)
    pixels[:, 0] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.fromarray(pixels, "L").save(tmp_path / "rot.jpg", exif=exif, quality=100)
    image = load_image(tmp_path / "rot.jpg")
    assert image.array.shape == (1, 4, 2)  # now 2 wide, 4 tall
    assert image.original_size == (2, 4)
    # Rotating clockwise puts the old left column on top.
    top, bottom = image.array[0, 0].mean(), image.array[0, -1].mean()
    assert top > 0.8
    assert bottom < 0.2
    expected = np.rot90(pixels, k=-1) / 255.0
    np.testing.assert_allclose(image.array[0], expected, atol=0.1)


def test_16_bit_png_is_rescaled_not_clipped(tmp_path):
    values = np.array([[0, 1000, 32768, 65535]], np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")
    with Image.open(tmp_path / "deep.png") as raw:
        assert raw.mode in ("I;16", "I")  # really a 16-bit image
    image = load_image(tmp_path / "deep.png")
    assert image.array.shape == (1, 1, 4)
    np.testing.assert_allclose(image.array[0, 0], values[0] / 65535.0, rtol=1e-6)


def test_16_bit_tiff_and_32_bit_float_tiff(tmp_path):
    values = np.array([[0, 4096, 65535]], np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.tiff")
    np.testing.assert_allclose(
        load_image(tmp_path / "deep.tiff").array[0, 0], values[0] / 65535.0, rtol=1e-6
    )
    floats = np.array([[-2.0, 0.0, 2.0]], np.float32)
    Image.fromarray(floats, "F").save(tmp_path / "float.tiff")
    np.testing.assert_allclose(
        load_image(tmp_path / "float.tiff").array[0, 0], [0, 0.5, 1]
    )


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)  # opaque red
    rgba[0, 1] = (255, 0, 0, 0)  # fully transparent: white
    rgba[1, 0] = (0, 0, 0, 128)  # half-transparent black: mid grey
    rgba[1, 1] = (0, 0, 255, 255)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    image = load_image(tmp_path / "a.png").array
    assert image.shape == (3, 2, 2)
    np.testing.assert_allclose(image[:, 0, 0], [1, 0, 0])
    np.testing.assert_allclose(image[:, 0, 1], [1, 1, 1])
    np.testing.assert_allclose(image[:, 1, 0], [1 - 128 / 255] * 3, atol=1e-6)
    np.testing.assert_allclose(image[:, 1, 1], [0, 0, 1])


def test_la_palette_and_cmyk_modes(tmp_path):
    la = Image.fromarray(np.array([[[0, 255], [0, 0]]], np.uint8), "LA")
    la.save(tmp_path / "la.png")
    np.testing.assert_allclose(load_image(tmp_path / "la.png").array[0, 0], [0, 1])
    palette = Image.fromarray(gradient_rgb(), "RGB").quantize(8)
    palette.save(tmp_path / "p.png")
    p = load_image(tmp_path / "p.png").array
    np.testing.assert_allclose(
        p, np.transpose(np.asarray(palette.convert("RGB")), (2, 0, 1)) / 255, atol=1e-6
    )
    cmyk = Image.new("CMYK", (3, 2), (0, 255, 255, 0))  # red in CMYK
    cmyk.save(tmp_path / "c.jpg", quality=100)
    c = load_image(tmp_path / "c.jpg").array
    assert c.shape == (3, 2, 3)
    assert c[0].mean() > 0.9
    assert c[1].mean() < 0.1


def test_grayscale_stays_one_channel(tmp_path):
    Image.fromarray(np.arange(12, dtype=np.uint8).reshape(3, 4) * 20, "L").save(
        tmp_path / "g.png"
    )
    Image.fromarray(np.eye(3, dtype=bool)).save(tmp_path / "b.png")  # mode "1"
    assert load_image(tmp_path / "g.png").array.shape == (1, 3, 4)
    np.testing.assert_array_equal(load_image(tmp_path / "b.png").array[0], np.eye(3))


# ----------------------------------------------------------------------------- size


def test_large_image_is_downscaled_with_notice(tmp_path):
    big = np.zeros((300, 1200, 3), np.uint8)
    big[:, 600:] = 255
    Image.fromarray(big).save(tmp_path / "wide.png")
    image = load_image(tmp_path / "wide.png", max_side=400)
    assert image.downscaled
    assert image.original_size == (1200, 300)
    assert image.array.shape == (3, 100, 400)
    assert image.array.min() >= 0.0
    assert image.array.max() <= 1.0
    np.testing.assert_allclose(image.array[:, :, :150], 0.0, atol=1e-6)
    np.testing.assert_allclose(image.array[:, :, 250:], 1.0, atol=1e-6)
    assert "downscaled from 1200 x 300" in image.describe()
    full = load_image(tmp_path / "wide.png", max_side=None)
    assert not full.downscaled
    assert full.array.shape == (3, 300, 1200)


def test_large_jpeg_and_16_bit_are_downscaled(tmp_path):
    Image.fromarray(np.full((2000, 1000, 3), 128, np.uint8)).save(tmp_path / "big.jpg")
    image = load_image(tmp_path / "big.jpg", max_side=500)
    assert image.downscaled
    assert image.original_size == (1000, 2000)
    assert image.array.shape == (3, 500, 250)
    np.testing.assert_allclose(image.array, 128 / 255, atol=0.01)
    deep = np.full((60, 90), 30000, np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    small = load_image(tmp_path / "deep.png", max_side=30)
    assert small.array.shape == (1, 20, 30)
    assert small.downscaled
    np.testing.assert_allclose(small.array, 30000 / 65535, rtol=1e-5)


def test_max_side_is_checked(tmp_path):
    with pytest.raises(
        ValueError,
        match=r"`max_side` must be a positive int or None. Received: max_side=0",
    ):
        load_image(tmp_path / "x.png", max_side=0)


def test_decompression_bomb_is_refused(tmp_path, monkeypatch):
    Image.fromarray(np.zeros((40, 40), np.uint8)).save(tmp_path / "bomb.png")
    # 1,600 pixels: over the warning limit (> 1,000) ...
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(
        ImageLoadError, match=r"bomb\.png: too many pixels .*decompression bomb"
    ):
        load_image(tmp_path / "bomb.png")
    # Pillow only warns there; outside pytest's filterwarnings=error we must still
    # refuse.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ImageLoadError, match=r"decompression bomb"):
            load_image(tmp_path / "bomb.png")
    # ... and over twice the limit, where Pillow raises on its own.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)
    with pytest.raises(ImageLoadError, match=r"bomb\.png: too many pixels"):
        load_image(tmp_path / "bomb.png")


# ----------------------------------------------------------------------------- errors


def test_truncated_png_names_the_file(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(
        tmp_path / "ok.png"
    )
    data = (tmp_path / "ok.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(
        ImageLoadError, match=r"cut\.png: truncated or corrupt image data"
    ):
        load_image(tmp_path / "cut.png")


def test_truncated_jpeg_names_the_file(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(
        tmp_path / "ok.jpg"
    )
    data = (tmp_path / "ok.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match=r"cut\.jpg: truncated or corrupt"):
        load_image(tmp_path / "cut.jpg")


def test_corrupt_body_names_the_file(tmp_path):
    Image.fromarray(gradient_rgb(32, 32)).save(tmp_path / "ok.png")
    data = bytearray((tmp_path / "ok.png").read_bytes())
    data[60:80] = b"\xff" * 20  # inside the compressed pixel data
    (tmp_path / "bad.png").write_bytes(bytes(data))
    with pytest.raises(ImageLoadError, match=r"bad\.png: truncated or corrupt"):
        load_image(tmp_path / "bad.png")


def test_not_an_image_missing_file_and_folder(tmp_path):
    (tmp_path / "notes.png").write_text("hello, not a picture")
    with pytest.raises(
        ImageLoadError, match=r"notes\.png: not an image file Pillow can read"
    ):
        load_image(tmp_path / "notes.png")
    with pytest.raises(ImageLoadError, match=r"missing\.png: no such file"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ImageLoadError, match=r"is a folder"):
        load_image(tmp_path)


# ----------------------------------------------------------------------------- arrays


def test_image_from_array_dtypes_and_shapes():
    u8 = np.array([[0, 51, 255]], np.uint8)
    np.testing.assert_allclose(image_from_array(u8).array, [[[0, 0.2, 1]]])
    u16 = np.array([[0, 65535]], np.uint16)
    np.testing.assert_allclose(image_from_array(u16).array, [[[0, 1]]])
    f = np.array([[-0.5, 0.25, 3.0]])
    np.testing.assert_allclose(image_from_array(f).array, [[[0, 0.25, 1]]])
    b = np.array([[True, False]])
    np.testing.assert_allclose(image_from_array(b).array, [[[1, 0]]])
    rgb = gradient_rgb()
    out = image_from_array(rgb, name="clip")
    assert out.array.shape == (3, 6, 8)
    assert out.name == "clip"
    assert out.path is None
    np.testing.assert_allclose(out.array, np.transpose(rgb, (2, 0, 1)) / 255, atol=1e-6)
    assert image_from_array(rgb[..., :1]).array.shape == (1, 6, 8)
    rgba = np.zeros((1, 1, 4), np.uint8)  # transparent black -> white
    np.testing.assert_allclose(image_from_array(rgba).array[:, 0, 0], [1, 1, 1])


def test_image_from_array_downscales():
    canvas = np.zeros((200, 100), np.float32)
    out = image_from_array(canvas, max_side=50)
    assert out.downscaled
    assert out.original_size == (100, 200)
    assert out.array.shape == (1, 50, 25)


@pytest.mark.parametrize(
    ("arr", "match"),
    [
        (
            np.zeros((2, 3, 5)),
            r"`arr` must have shape \(H, W\).*Received: shape \(2, 3, 5\)",
        ),
        (np.zeros(5), r"Received: shape \(5,\)"),
        (np.zeros((0, 4)), r"`arr` is an empty image"),
        (
            np.array([[1, 2]], np.int64),
            r"must be uint8, uint16, bool or float. Received: dtype int64",
        ),
        (np.array([[np.nan, 0.5]]), r"NaN or infinite"),
    ],
)
def test_image_from_array_errors(arr, match):
    with pytest.raises(ImageLoadError, match=match):
        image_from_array(arr)


# ------------------------------------------------------------ bounded loading (#13)


def _png_header_only(path, width, height, mode_bytes=b"\x08\x06"):
    """A PNG whose header declares ``width x height`` (bit depth, colour type from
    ``mode_bytes``) followed by one tiny IDAT: the size is read, nothing decodes."""
    import struct
    import zlib

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">II", width, height) + mode_bytes + b"\x00\x00\x00"
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def test_pixel_budget_refuses_from_the_header(tmp_path):
    _png_header_only(tmp_path / "big.png", 9000, 9000)
    with pytest.raises(
        ImageLoadError,
        match=r"big\.png: 9,000 x 9,000 = 81\.0 megapixels to decode, more than the "
        r"40-megapixel budget",
    ):
        load_image(tmp_path / "big.png")
    _png_header_only(tmp_path / "deep.png", 9400, 9400, b"\x10\x00")  # 16-bit grey
    with pytest.raises(ImageLoadError, match=r"88\.4 megapixels"):
        load_image(tmp_path / "deep.png")


def test_reduction_matches_a_float_box_average(tmp_path):
    """RGBA with colour under transparent pixels: reduced premultiplied, so the
    result equals compositing on white at full size, then averaging."""
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (64, 48, 4), dtype=np.uint8)
    rgba[::3, :, 3] = 0  # transparent rows that still hold colour
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    got = load_image(tmp_path / "a.png", max_side=8).array  # factor 4, then Lanczos
    assert got.shape == (3, 8, 6)
    rgb = rgba[..., :3] / 255.0
    alpha = rgba[..., 3:] / 255.0
    white = rgb * alpha + (1 - alpha)
    box = white.reshape(16, 4, 12, 4, 3).mean(axis=(1, 3))  # 16 x 12
    reference = np.stack(
        [
            np.asarray(
                Image.fromarray(box[..., c].astype(np.float32), "F").resize(
                    (6, 8), Image.Resampling.LANCZOS
                )
            )
            for c in range(3)
        ]
    )
    np.testing.assert_allclose(got, np.clip(reference, 0, 1), atol=0.02)


def test_big_16_bit_is_reduced_without_clipping(tmp_path):
    deep = np.tile(np.linspace(0, 65535, 400).astype(np.uint16), (300, 1))
    Image.fromarray(deep).save(tmp_path / "deep.png")
    got = load_image(tmp_path / "deep.png", max_side=50).array[0]
    assert got.shape == (38, 50)
    assert got.max() > 0.97  # 8-bit clipping would have made this 255/65535
    np.testing.assert_allclose(got[:, 25], deep[0, 200] / 65535, atol=0.01)


def test_fifo_permission_and_loop_have_their_own_messages(tmp_path, monkeypatch):
    import os

    from convlab import _files

    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(ImageLoadError, match=r"pipe\.png: is a named pipe"):
        load_image(tmp_path / "pipe.png")
    (tmp_path / "l1.png").symlink_to(tmp_path / "l2.png")
    (tmp_path / "l2.png").symlink_to(tmp_path / "l1.png")
    with pytest.raises(ImageLoadError, match=r"a loop of symbolic links"):
        load_image(tmp_path / "l1.png")
    Image.new("L", (2, 2)).save(tmp_path / "ok.png")

    def denied(path, flags, *args):  # root reads anything: inject EACCES
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(_files.os, "open", denied)
    with pytest.raises(ImageLoadError, match=r"ok\.png: permission denied") as info:
        load_image(tmp_path / "ok.png")
    assert "corrupt" not in str(info.value)
