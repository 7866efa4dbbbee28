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

#: kernels/shapes.py (pure ints for the GUI's previews, owned elsewhere): its
#: functions do not check their arguments yet; see the strict xfail below.
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

#: Gaps this fuzz found in conv.py and pooling.py (owned elsewhere; reported with
#: their fix). Skipped by the enforced test; the strict xfail keeps them honest.
KNOWN_GAPS = {
    ("conv2d_backward", "need_input_grad"),  # any truthy value accepted
    ("max_pool2d_backward", "indices"),  # a ragged list gives numpy's own error
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


def _fuzz(specs, trials, seed, skip=frozenset()):
    rng = np.random.default_rng(seed)
    names = sorted(specs)
    failures: dict[tuple[str, str, str], str] = {}
    tried = 0
    for _ in range(trials):
        name = names[rng.integers(len(names))]
        valid, kinds = specs[name]
        arg = sorted(kinds)[rng.integers(len(kinds))]
        if (name, arg) in skip:
            continue
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
    assert public - {"pad_index_map"} == set(SPECS) | set(SHAPE_SPECS)
    for name, (valid, _) in {**SPECS, **SHAPE_SPECS}.items():
        getattr(kernels, name)(**valid)  # the baseline call itself is valid


def test_random_bad_arguments_are_refused_naming_the_argument():
    tried, failures = _fuzz(SPECS, TRIALS, 2026, KNOWN_GAPS)
    report = "\n".join(f"{k}: {v}" for k, v in sorted(failures.items()))
    assert not failures, f"{len(failures)} distinct failures:\n{report}"
    assert tried > TRIALS * 0.9
    print(f"{tried} bad calls to {len(SPECS)} kernels, all refused naming the arg")


@pytest.mark.xfail(
    strict=True, reason="conv.py / pooling.py / shapes.py gaps, reported to owners"
)
def test_known_gaps_elsewhere():
    _, gaps = _fuzz({n: SPECS[n] for n, _ in KNOWN_GAPS}, 300, 7)
    _, shape_gaps = _fuzz(SHAPE_SPECS, 1000, 7)
    assert not gaps
    assert not shape_gaps
