"""``convlab render`` and the shipped lecture scenes: each to PNG, SVG and GIF."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convlab import cli
from convlab.lecture import figures, make_scenes
from convlab.lecture.scene import load_scene, scene_folder

ROOT = Path(__file__).resolve().parents[1]
SCENES = ROOT / "assets" / "scenes"
SHIPPED = scene_folder(SCENES)
SVG = "{http://www.w3.org/2000/svg}"
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _naive_correlate(x: np.ndarray, k: np.ndarray, stride: int = 1) -> np.ndarray:
    kh, kw = k.shape
    oh = (x.shape[0] - kh) // stride + 1
    ow = (x.shape[1] - kw) // stride + 1
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = x[i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[i, j] = float((patch * k).sum())
    return out


def test_the_first_lecture_is_shipped():
    names = [p.name for p in SHIPPED]
    assert len(names) >= 6
    for prefix in ("01-", "02-", "03-", "04-", "05-", "06-"):
        assert any(n.startswith(prefix) for n in names), prefix
    # the files are what the script makes (so they can be remade)
    for name, scene in make_scenes.lecture_scenes().items():
        stored = load_scene(SCENES / name)
        assert stored.title == scene.title
        np.testing.assert_array_equal(stored.image, scene.image)
    assert all(p.stat().st_size < 64_000 for p in SHIPPED)


def test_make_scenes_remakes_the_same_files(tmp_path):
    assert make_scenes.main([str(tmp_path)]) == 0
    for path in SHIPPED:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_render_every_shipped_scene(tmp_path, path):
    png1, png2 = tmp_path / "a.png", tmp_path / "b.png"
    svg, gif = tmp_path / "a.svg", tmp_path / "a.gif"
    for out, extra in (
        (png1, []),
        (png2, ["--scale", "2"]),
        (svg, []),
        (gif, []),
    ):
        code, stdout, stderr = _run("render", str(path), "--out", str(out), *extra)
        assert code == 0, stderr
        assert f"Wrote {out}" in stdout
    with Image.open(png1) as a, Image.open(png2) as b:
        assert a.format == b.format == "PNG"
        assert b.size == (2 * a.size[0], 2 * a.size[1])
        # not a blank page: the grids or maps are there
        assert len(np.unique(np.asarray(a.convert("RGB")).reshape(-1, 3), axis=0)) > 8
    root = ET.parse(svg).getroot()
    assert root.tag == f"{SVG}svg"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert sum(bool(NUMBER.match(t or "")) for t in texts) >= 9
    assert len(list(root.iter(f"{SVG}rect"))) >= 9
    with Image.open(gif) as g:
        assert g.format == "GIF"
        assert g.n_frames >= 4
        sizes = set()
        for i in range(g.n_frames):
            g.seek(i)
            sizes.add(g.size)
        assert len(sizes) == 1


def test_svg_numbers_are_the_convolution():
    """The 7x7 demo's output grid shows the correlation a naive loop computes."""
    scene = load_scene(SCENES / "01-what-a-kernel-does.convlab")
    root = ET.fromstring(figures.render_svg(scene))
    texts = [t.text for t in root.iter(f"{SVG}text") if NUMBER.match(t.text or "")]
    expected = _naive_correlate(make_scenes.GRID_7, make_scenes.KERNEL_3)
    assert expected.shape == (5, 5)
    shown = texts.copy()
    for v in expected.ravel():  # each output value appears (a multiset check)
        shown.remove(str(int(v)))
    for v in make_scenes.GRID_7.ravel():  # and each input value
        shown.remove(str(int(v)))
    stride = load_scene(SCENES / "02-stride.convlab")
    root = ET.fromstring(figures.render_svg(stride))
    texts = [t.text for t in root.iter(f"{SVG}text") if NUMBER.match(t.text or "")]
    for v in _naive_correlate(make_scenes.GRID_7, make_scenes.KERNEL_3, 2).ravel():
        texts.remove(str(int(v)))


def test_padding_cells_are_hatched():
    scene = load_scene(SCENES / "03-padding-zeros.convlab")
    root = ET.fromstring(figures.render_svg(scene))
    hatched = [r for r in root.iter(f"{SVG}rect") if r.get("fill") == "url(#hatch)"]
    assert len(hatched) == 7 * 7 - 5 * 5  # the ring of padding around the 5x5 input
    # reflect padding draws arrows from the cells the padding copies
    reflect = load_scene(SCENES / "03b-padding-modes.convlab")
    root = ET.fromstring(figures.render_svg(reflect))
    assert len(list(root.iter(f"{SVG}path"))) > len(
        list(ET.fromstring(figures.render_svg(scene)).iter(f"{SVG}path"))
    )


def test_every_and_apng(tmp_path):
    path = SCENES / "01-what-a-kernel-does.convlab"
    frames_all = figures.animation_frames(load_scene(path))
    frames_some = figures.animation_frames(load_scene(path), every=5)
    assert len(frames_all) == 25 + 2  # empty output, 25 positions, complete output
    assert len(frames_some) == 6 + 2  # positions 0, 5, .., 20 and the last, 24
    out = tmp_path / "a.apng"
    code, _, stderr = _run("render", str(path), "--out", str(out), "--every", "3")
    assert code == 0, stderr
    with Image.open(out) as im:
        assert im.format == "PNG"
        assert getattr(im, "is_animated", False)
        assert im.n_frames >= 4


def test_filter_option_picks_the_filter(tmp_path):
    path = SCENES / "06-filter-bank-on-a-photo.convlab"
    one, every = tmp_path / "one.svg", tmp_path / "all.svg"
    assert _run("render", str(path), "--out", str(one), "--filter", "2")[0] == 0
    assert _run("render", str(path), "--out", str(every))[0] == 0
    one_text = [t.text for t in ET.parse(one).getroot().iter(f"{SVG}text")]
    all_text = [t.text for t in ET.parse(every).getroot().iter(f"{SVG}text")]
    assert "'Laplacian (4-neighbour)'" in one_text
    assert "'Sobel x'" not in one_text
    assert "'Sobel x'" in all_text


def test_cli_errors(tmp_path):
    scene = str(SCENES / "02-stride.convlab")
    code, _, err = _run("render", scene, "--out", str(tmp_path / "a.jpg"))
    assert code == 2
    assert "must end in one of .png, .svg, .gif, .apng" in err
    # the output is checked before the scene is even read
    code, _, err = _run("render", "missing.convlab", "--out", str(tmp_path / "a.bmp"))
    assert (code, "a.bmp" in err) == (2, True)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = _run("render", scene, "--out", str(blocker / "a.png"))
    assert code == 2
    assert "folder does not exist" in err
    code, _, err = _run("render", scene, "--out", str(tmp_path))
    assert code == 2
    if Path("/proc/self").is_dir():  # a folder nobody can create files in
        code, _, err = _run("render", scene, "--out", "/proc/self/a.png")
        assert (code, "not writable" in err) == (2, True)
    broken = tmp_path / "broken.convlab"
    broken.write_text(json.dumps({"format": "convlab-scene", "version": 9}))
    code, _, err = _run("render", str(broken), "--out", str(tmp_path / "a.png"))
    assert code == 1
    assert "newer convlab" in err
    assert not (tmp_path / "a.png").exists()
    code, _, err = _run(
        "render", scene, "--out", str(tmp_path / "b.png"), "--filter", "1"
    )
    assert code == 2
    assert "--filter must be from 0 to 0" in err
    code, _, err = _run(
        "render", scene, "--out", str(tmp_path / "b.png"), "--scale", "9"
    )
    assert code == 2  # (argparse's own message goes to sys.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.convlab", "file"]


def test_api_errors():
    photo = load_scene(SCENES / "06-filter-bank-on-a-photo.convlab")
    with pytest.raises(ValueError, match=r"9,216 output positions need every >= 24"):
        figures.animation_frames(photo, every=4)
    scene = load_scene(SCENES / "02-stride.convlab")
    with pytest.raises(ValueError, match=r"Received: scale=0"):
        figures.render_png(scene, scale=0)
    with pytest.raises(ValueError, match=r"Received: filter_index=5"):
        figures.build_figure(scene, filter_index=5)
    with pytest.raises(ValueError, match=r"Received: every=0"):
        figures.animation_frames(scene, every=0)


def test_render_needs_no_display_and_no_qt(tmp_path):
    code = (
        "import sys\n"
        "from convlab import cli\n"
        f"rc = cli.main(['render', {str(SCENES / '05-pooling.convlab')!r}, "
        f"'--out', {str(tmp_path / 'p.png')!r}])\n"
        "print(rc, any(m.startswith(('PySide6', 'pyqtgraph')) for m in sys.modules))\n"
    )
    env = {  # no display of any kind (the numba cache stays where it is)
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["0", "False"]
    assert (tmp_path / "p.png").stat().st_size > 1000
