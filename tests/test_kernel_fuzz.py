"""Random bad arguments to every public kernel: each must be refused with a
ValueError or TypeError whose message names the argument (Keras style: `name`),
before any compute; never a MemoryError, OverflowError, a numba error or a result."""

from __future__ import annotations

import numpy as np
import pytest

import kernels

F32 = np.float32
X = np.ones((1, 2, 5, 5), F32)
W = np.ones((3, 2, 3, 3), F32)
G_CONV = np.ones((1, 3, 3, 3), F32)  # conv2d(X, W) output
G_POOL = np.ones((1, 2, 2, 2), F32)  # 2x2 pool of X
IDX = kernels.max_pool2d(X, 2)[1]

#: Bad values by kind of argument. None of them is valid for an argument of that
#: kind.
BAD = {
    "pool_stride": [
        0,
        -1,
        2**31,
        2**63,
        1.5,
        "3",
        b"\x01\x02",
        (1, 2, 3),
        (0, 1),
        True,
        float("nan"),
        object(),
    ],
    "any_array": [
        "abc",
        b"abc",
        None,
        object(),
        {"x": 1},
        np.array([1j, 2j]),
        np.array(["a", "b"]),
        np.array([object()]),
        [[1, 2], [3]],
    ],
    "pool_shape": [
        (1,),
        (1, 2, 5, -5),
        (1, 2, 5, 5.0),
        "1255",
        None,
        b"\x01\x02\x05\x05",
        5,
    ],
    "positive": [
        0,
        -1,
        -(2**63),
        2**31,
        2**63,
        10**30,
        1.5,
        "3",
        b"\x01\x02",
        None,
        (1, 2, 3),
        (1,),
        (0, 1),
        (1, -1),
        (2**31, 1),
        [1.0, 1.0],
        True,
        np.float64(2.0),
        float("nan"),
        object(),
        {"a": 1},
        "same",
    ],
    "padding": [
        -1,
        2**31,
        2**63,
        1.5,
        "full",
        "SAME ",
        b"same",
        b"\x00\x00",
        bytearray(4),
        None,
        (1, 2, 3),
        (1, -1),
        (2**31, 0),
        (0.5, 0),
        [1, "a"],
        object(),
        float("inf"),
        True,
    ],
    "mode": ["zero", "Zeros", "", None, 3, b"zeros", ["zeros"]],
    "array": [
        "abc",
        b"abc",
        None,
        object(),
        {"x": 1},
        np.array([1j, 2j]),
        np.array(["a", "b"]),
        np.array([object()]),
        [[1, 2], [3]],
        np.ones(3, F32),
        np.ones((1, 1, 1, 1, 1), F32),
    ],
    "shape4": [
        (1, 2, 5),
        (1, 2, 5, -5),
        (1, 2, 5, 5.0),
        "1255",
        None,
        (2**31, 1, 1, 1),
        (2**40, 2**40, 1, 1),
        b"\x01\x02\x05\x05",
        5,
    ],
    "flag": [1, 0, "yes", None, 2.0, [True]],
    "real": [None, "0.1", [0.1], b"0", object(), complex(1, 1)],
    "value": [None, "0", float("nan"), [0.0], object(), True],
    "int": [-1, 2**31, 2**63, 1.5, "3", None, b"3", True, (3,), float("nan")],
    "hw": [(5,), (5, 5, 5), (-1, 5), (5, 2**31), "55", None, (5.0, 5), b"\x05\x05"],
}

#: kernel name -> (valid keyword arguments, {argument: kind of bad value}).


def _spec(valid: dict, kinds: dict) -> tuple[dict, dict]:
    return valid, kinds


_CONV = {"stride": 1, "padding": 0, "dilation": 1, "padding_mode": "zeros"}
_CONV_KINDS = {
    "stride": "positive",
    "padding": "padding",
    "dilation": "positive",
    "padding_mode": "mode",
}
_POOL = {"kernel_size": 2, "stride": 2, "padding": 0, "ceil_mode": False}
_POOL_KINDS = {
    "kernel_size": "positive",
    "stride": "pool_stride",
    "padding": "padding",
    "ceil_mode": "flag",
}
_ELEMENTWISE = {"x": X}

#: kernel name -> (valid keyword arguments, {argument: kind of bad value}).
SPECS = {
    "conv2d": _spec(
        {"x": X, "weight": W, **_CONV}, {"x": "array", "weight": "array", **_CONV_KINDS}
    ),
    "conv2d_backward": _spec(
        {"grad_out": G_CONV, "x": X, "weight": W, **_CONV, "need_input_grad": True},
        {
            "grad_out": "array",
            "x": "array",
            "weight": "array",
            **_CONV_KINDS,
            "need_input_grad": "flag",
        },
    ),
    "conv2d_grad_input": _spec(
        {"grad_out": G_CONV, "x_shape": X.shape, "weight": W, **_CONV},
        {"grad_out": "array", "x_shape": "shape4", "weight": "array", **_CONV_KINDS},
    ),
    "conv2d_grad_weight": _spec(
        {"grad_out": G_CONV, "x": X, "weight_shape": W.shape, **_CONV},
        {"grad_out": "array", "x": "array", "weight_shape": "shape4", **_CONV_KINDS},
    ),
    "max_pool2d": _spec({"x": X, **_POOL}, {"x": "array", **_POOL_KINDS}),
    "max_pool2d_backward": _spec(
        {"grad_out": G_POOL, "indices": IDX, "x_shape": X.shape},
        {"grad_out": "array", "indices": "array", "x_shape": "pool_shape"},
    ),
    "avg_pool2d": _spec(
        {"x": X, **_POOL, "count_include_pad": True},
        {"x": "array", **_POOL_KINDS, "count_include_pad": "flag"},
    ),
    "avg_pool2d_backward": _spec(
        {"grad_out": G_POOL, "x_shape": X.shape, **_POOL, "count_include_pad": True},
        {
            "grad_out": "array",
            "x_shape": "pool_shape",
            **_POOL_KINDS,
            "count_include_pad": "flag",
        },
    ),
    "global_avg_pool2d": _spec({"x": X}, {"x": "array"}),
    "global_avg_pool2d_backward": _spec(
        {"grad_out": np.ones((1, 2), F32), "x_shape": X.shape},
        {"grad_out": "array", "x_shape": "pool_shape"},
    ),
    "pad2d": _spec(
        {"x": X, "padding": 1, "mode": "zeros", "value": 0.0},
        {"x": "array", "padding": "padding", "mode": "mode", "value": "value"},
    ),
    "pad2d_backward": _spec(
        {"grad_out": X, "padding": 1, "mode": "zeros"},
        {"grad_out": "array", "padding": "padding", "mode": "mode"},
    ),
    # element-wise: every shape is valid, only the content can be wrong
    "relu": _spec({"x": X}, {"x": "any_array"}),
    "relu_backward": _spec(
        {"grad_out": X, "x": X}, {"grad_out": "any_array", "x": "any_array"}
    ),
    "leaky_relu": _spec(
        {"x": X, "negative_slope": 0.1}, {"x": "any_array", "negative_slope": "real"}
    ),
    "leaky_relu_backward": _spec(
        {"grad_out": X, "x": X, "negative_slope": 0.1},
        {"grad_out": "any_array", "x": "any_array", "negative_slope": "real"},
    ),
    "sigmoid": _spec({"x": X}, {"x": "any_array"}),
    "sigmoid_backward": _spec(
        {"grad_out": X, "out": X}, {"grad_out": "any_array", "out": "any_array"}
    ),
    "tanh": _spec({"x": X}, {"x": "any_array"}),
    "tanh_backward": _spec(
        {"grad_out": X, "out": X}, {"grad_out": "any_array", "out": "any_array"}
    ),
}

_SIZE = {"size": 5, "kernel": 3, "stride": 1, "dilation": 1}
_SIZE_KINDS = {k: "int" for k in _SIZE}

#: kernels/shapes.py (pure ints for the GUI's previews): the same standard.
SHAPE_SPECS = {
    "conv2d_output_shape": _spec(
        {
            "input_hw": (5, 5),
            "kernel_hw": (3, 3),
            "stride": 1,
            "padding": 0,
            "dilation": 1,
        },
        {
            "input_hw": "hw",
            "kernel_hw": "hw",
            "stride": "positive",
            "padding": "padding",
            "dilation": "positive",
        },
    ),
    "pool2d_output_shape": _spec(
        {"input_hw": (5, 5), "pool_size": 2, "stride": 2, "padding": 0},
        {
            "input_hw": "hw",
            "pool_size": "positive",
            "stride": "pool_stride",
            "padding": "padding",
        },
    ),
    "resolve_padding": _spec(
        {
            "padding": "same",
            "input_hw": (5, 5),
            "kernel_hw": (3, 3),
            "stride": 1,
            "dilation": 1,
        },
        {
            "padding": "padding",
            "input_hw": "hw",
            "kernel_hw": "hw",
            "stride": "positive",
            "dilation": "positive",
        },
    ),
    "conv_output_size": _spec(
        {**_SIZE, "padding": 0}, {**_SIZE_KINDS, "padding": "int"}
    ),
    "same_padding": _spec(_SIZE, _SIZE_KINDS),
    "size_formula": _spec({**_SIZE, "padding": 0}, {**_SIZE_KINDS, "padding": "int"}),
    "output_size_conventions": _spec(
        {**_SIZE, "padding": 0}, {**_SIZE_KINDS, "padding": "int"}
    ),
}

TRIALS = 3000


def _outcome(name, kwargs, arg):
    """None when refused properly, else a description of what happened."""
    try:
        getattr(kernels, name)(**kwargs)
    except (ValueError, TypeError) as err:
        if f"`{arg}`" in str(err) or f"{arg}=" in str(err):
            return None
        return f"{type(err).__name__} not naming `{arg}`: {err}"
    except BaseException as err:  # noqa: BLE001 (the type is the finding)
        return f"{type(err).__name__}: {err}"
    return "accepted"


def _fuzz(specs, trials, seed):
    rng = np.random.default_rng(seed)
    names = sorted(specs)
    failures: dict[tuple[str, str, str], str] = {}
    tried = 0
    for _ in range(trials):
        name = names[rng.integers(len(names))]
        valid, kinds = specs[name]
        arg = sorted(kinds)[rng.integers(len(kinds))]
        pool = BAD[kinds[arg]]
        bad = pool[rng.integers(len(pool))]
        tried += 1
        problem = _outcome(name, {**valid, arg: bad}, arg)
        if problem is not None:
            failures[(name, arg, repr(bad)[:40])] = problem[:160]
    return tried, failures


def test_every_public_kernel_has_a_spec():
    public = {
        n
        for n in kernels.__all__
        if callable(getattr(kernels, n)) and n not in ("warmup", "Convention")
    }
    # check_padding_geometry is the padding rule itself, called with pads the
    # wrappers have already checked and resolved (its doctest and test_padding test it)
    assert public - {"pad_index_map", "check_padding_geometry"} == set(SPECS) | set(
        SHAPE_SPECS
    )
    for name, (valid, _) in {**SPECS, **SHAPE_SPECS}.items():
        getattr(kernels, name)(**valid)  # the baseline call itself is valid


def test_random_bad_arguments_are_refused_naming_the_argument():
    tried, failures = _fuzz(SPECS, TRIALS, 2026)
    report = "\n".join(f"{k}: {v}" for k, v in sorted(failures.items()))
    assert not failures, f"{len(failures)} distinct failures:\n{report}"
    assert tried > TRIALS * 0.9
    print(f"{tried} bad calls to {len(SPECS)} kernels, all refused naming the arg")


def test_random_bad_arguments_to_the_shape_helpers_are_refused():
    tried, failures = _fuzz(SHAPE_SPECS, 1000, 7)
    report = "\n".join(f"{k}: {v}" for k, v in sorted(failures.items()))
    assert not failures, f"{len(failures)} distinct failures:\n{report}"
    assert tried == 1000


def test_former_gaps_are_refused_naming_the_argument():
    """The two gaps the first fuzz found, asked directly (each value once)."""
    valid, _ = SPECS["conv2d_backward"]
    for bad in BAD["flag"]:
        with pytest.raises(TypeError, match=r"`need_input_grad` must be True or False"):
            kernels.conv2d_backward(**{**valid, "need_input_grad": bad})
    valid, _ = SPECS["max_pool2d_backward"]
    with pytest.raises(TypeError, match=r"`indices` must be an integer array"):
        kernels.max_pool2d_backward(**{**valid, "indices": [[1, 2], [3]]})
    with pytest.raises(ValueError, match=r"Received: kernel_hw=\(0, 3\)"):
        kernels.conv2d_output_shape((5, 5), (0, 3))
    with pytest.raises(ValueError, match=r"Received: size=-1"):
        kernels.conv_output_size(-1, 3)
    with pytest.raises(
        ValueError, match=r"at most 2,147,483,647.*Received: stride=2147"
    ):
        kernels.same_padding(5, 3, 2**31)


def _naive_conv(x, w, sh, sw):
    """Direct formula, float64, valid padding: the reference for one window."""
    n, _, h, wd = x.shape
    f, _, kh, kw = w.shape
    oh, ow = (h - kh) // sh + 1, (wd - kw) // sw + 1
    out = np.zeros((n, f, oh, ow))
    for oy in range(oh):
        for ox in range(ow):
            patch = x[:, None, :, oy * sh : oy * sh + kh, ox * sw : ox * sw + kw]
            out[:, :, oy, ox] = (patch * w[None]).sum(axis=(2, 3, 4))
    return out


@pytest.mark.parametrize("stride", [(9, 1), (1, 10**6), (10**6, 10**6), (2**31 - 1, 3)])
def test_huge_stride_gives_the_formula_in_bounded_memory(stride):
    """conv2d's phase planes held stride_h * stride_w planes: stride 10**6 on 8x8 asked
    for 7 TiB for a 1x1 output. One output along an axis is one window, whatever the
    stride; the peak Python-side allocation stays that of a stride-1 call."""
    import tracemalloc

    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 8, 9)).astype(F32)
    w = rng.standard_normal((3, 2, 3, 2)).astype(F32)
    for warm in ((1, 1), (2, 3)):  # compiled before measuring
        y = kernels.conv2d(x, w, stride=warm)
        kernels.conv2d_backward(np.ones_like(y), x, w, stride=warm)
    tracemalloc.start()
    try:
        out = kernels.conv2d(x, w, stride=stride)
        g = np.ones_like(out)
        gx, gw, gb = kernels.conv2d_backward(g, x, w, stride=stride)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000
    np.testing.assert_allclose(out, _naive_conv(x, w, *stride), rtol=1e-5, atol=1e-5)
    # gradients of sum(out): each weight tap sums the pixels its windows read
    ref_gw = np.zeros(w.shape)
    ref_gx = np.zeros(x.shape)
    sh, sw = stride
    for oy in range(out.shape[2]):
        for ox in range(out.shape[3]):
            ys, xs = oy * sh, ox * sw
            ref_gw += x[:, :, ys : ys + 3, xs : xs + 2].sum(axis=0)[None]
            ref_gx[:, :, ys : ys + 3, xs : xs + 2] += w.sum(axis=0)[None]
    np.testing.assert_allclose(gw, ref_gw, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(gx, ref_gx, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gb, np.full(3, out[0, 0].size * 2.0))


@pytest.mark.parametrize("need_input_grad", [True, False])
def test_empty_batch_backward_gives_zero_gradients(need_input_grad):
    """N == 0 failed with "cannot reshape array of size 0"; sums over no images are
    zeros, and grad_x is empty with x's shape."""
    x = np.ones((0, 2, 5, 5), F32)
    out = kernels.conv2d(x, W, stride=2, padding=1)
    gx, gw, gb = kernels.conv2d_backward(
        np.ones_like(out), x, W, stride=2, padding=1, need_input_grad=need_input_grad
    )
    assert gw.shape == W.shape
    assert not gw.any()
    assert gb.shape == (3,)
    assert not gb.any()
    if need_input_grad:
        assert gx.shape == x.shape
    else:
        assert gx is None
