"""A first launch: NumPy twins of the explorer's kernels, a warm-up with progress, maps
before the warm-up ends, and the trainer's compile passes before its first step."""

from __future__ import annotations

import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kernels
from convlab import explore
from convlab.explore import fallback
from convlab.explore.settings import Filter, Settings
from kernels import _warmup

MODES = ("zeros", "reflect", "replicate", "circular")


def _same_error(call_kernels, call_numpy):
    """Both raise the same message, or neither raises: return both results."""
    try:
        want = call_kernels()
    except (ValueError, TypeError) as exc:
        message = str(exc)
    else:
        return want, call_numpy()
    with pytest.raises((ValueError, TypeError)) as info:
        call_numpy()
    assert str(info.value) == message
    return None, None


# ------------------------------------------------------------------ NumPy == kernels


@settings(deadline=None, max_examples=150)
@given(
    channels=st.integers(1, 3),
    n_filters=st.integers(1, 6),
    hw=st.tuples(st.integers(1, 13), st.integers(1, 13)),
    khw=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    padding=st.one_of(
        st.sampled_from(["valid", "same"]),
        st.integers(0, 2),
        st.tuples(*[st.integers(0, 2)] * 4),
    ),
    mode=st.sampled_from(MODES),
    seed=st.integers(0, 2**16),
)
def test_conv2d_fallback_equals_kernel(
    channels, n_filters, hw, khw, stride, dilation, padding, mode, seed
):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, channels, *hw)).astype(np.float32)
    w = rng.standard_normal((n_filters, channels, *khw)).astype(np.float32)
    b = rng.standard_normal(n_filters).astype(np.float32)
    args = (stride, padding, dilation, mode)
    want, got = _same_error(
        lambda: kernels.conv2d(x, w, b, *args), lambda: fallback.conv2d(x, w, b, *args)
    )
    if want is None:
        return
    assert got.shape == want.shape
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


POOL = dict(
    hw=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))),
    padding=st.one_of(
        st.sampled_from(["valid", "same"]),
        st.integers(0, 2),
        st.tuples(*[st.integers(0, 2)] * 4),
    ),
    ceil_mode=st.booleans(),
    seed=st.integers(0, 2**16),
)


@settings(deadline=None, max_examples=150)
@given(**POOL, nan=st.booleans())
def test_max_pool_fallback_equals_kernel(hw, k, stride, padding, ceil_mode, seed, nan):
    rng = np.random.default_rng(seed)
    # few distinct values: ties everywhere; a NaN or two, and -inf next to padding
    x = rng.integers(-2, 3, (1, 2, *hw)).astype(np.float32)
    x[0, 0, 0, 0] = -np.inf
    if nan:
        x[0, 1].flat[rng.integers(0, x[0, 1].size, 2)] = np.nan
    args = (k, stride, padding, ceil_mode)
    want, got = _same_error(
        lambda: kernels.max_pool2d(x, *args), lambda: fallback.max_pool2d(x, *args)
    )
    if want is None:
        return
    np.testing.assert_array_equal(got[0], want[0])  # NaN == NaN here
    np.testing.assert_array_equal(got[1], want[1])  # the same winners


@settings(deadline=None, max_examples=150)
@given(**POOL, include=st.booleans())
def test_avg_pool_fallback_equals_kernel(
    hw, k, stride, padding, ceil_mode, seed, include
):
    x = np.random.default_rng(seed).standard_normal((1, 2, *hw)).astype(np.float32)
    args = (k, stride, padding, ceil_mode, include)
    want, got = _same_error(
        lambda: kernels.avg_pool2d(x, *args), lambda: fallback.avg_pool2d(x, *args)
    )
    if want is None:
        return
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_relu_fallback_is_the_kernels_bit_for_bit():
    x = np.array([-1.0, -0.0, 0.0, 2.5, np.nan, -np.inf, np.inf], np.float32)
    got, want = fallback.relu(x), kernels.relu(x)
    assert got.tobytes() == want.tobytes()  # NaN passes, -0.0 stays -0.0


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"pool": "avg", "activation": "none"},
        {"padding": "explicit", "padding_mode": "reflect", "pool_size": (3, 3)},
        {"stride": (2, 1), "dilation": (1, 2), "activation": "leaky_relu"},
        {"channels": "sum", "pool": "none", "activation": "tanh"},
        {"padding": "same", "pool_padding": "same", "ceil_mode": False},
    ],
)
def test_compute_numpy_backend_equals_kernels(changes):
    rng = np.random.default_rng(1)
    x = rng.random((3, 17, 14), dtype=np.float32)
    filters = (
        Filter("a", rng.standard_normal((3, 3)).astype(np.float32), 0.5),
        Filter("b", rng.standard_normal((3, 3)).astype(np.float32)),
        Filter("c", rng.standard_normal((2, 5)).astype(np.float32)),
    )
    s = Settings(filters=filters, **changes)
    want = explore.compute(x, s, backend="kernels")
    got = explore.compute(x, s, backend="numpy")
    for g, w in zip(got.maps, want.maps, strict=True):
        for stage in ("conv", "activation", "pooled"):
            if w.stage(stage) is None:
                assert g.stage(stage) is None
                continue
            np.testing.assert_allclose(g.stage(stage), w.stage(stage), 1e-5, 1e-5)
        if w.indices is not None:
            np.testing.assert_array_equal(g.indices, w.indices)


def test_compute_backend_is_checked_and_auto_follows_the_warmup(monkeypatch):
    x = np.ones((5, 5), np.float32)
    s = Settings(filters=(Filter("a", np.ones((3, 3), np.float32)),))
    with pytest.raises(ValueError, match=r"Received: backend='torch'"):
        explore.compute(x, s, backend="torch")
    calls = []
    monkeypatch.setattr(
        fallback, "conv2d", lambda *a, **k: calls.append(1) or kernels.conv2d(*a, **k)
    )
    monkeypatch.setattr(_warmup, "_done", set())  # nothing compiled yet
    explore.compute(x, s, backend="auto")
    assert calls == [1]
    _warmup.warmup(groups=["explorer"])
    explore.compute(x, s, backend="auto")
    assert calls == [1]  # the kernels now


# ------------------------------------------------------------------------- warm-up


def test_warmup_reports_monotone_progress_ending_at_total(monkeypatch):
    monkeypatch.setattr(_warmup, "_done", set())
    seen = []
    kernels.warmup(lambda *a: seen.append(a))
    total = len(_warmup.steps())
    assert [d for d, _, _ in seen] == list(range(total + 1))
    assert {t for _, t, _ in seen} == {total}
    assert seen[-1] == (total, total, "")
    assert [n for _, _, n in seen[:-1]] == [s.name for s in _warmup.steps()]
    # the explorer's steps come first
    groups = [s.group for s in _warmup.steps()]
    assert groups == sorted(groups, key=_warmup.GROUPS.index)
    assert _warmup.is_warm("explorer")
    assert _warmup.is_warm("training")
    with pytest.raises(ValueError, match=r"Received: group='gpu'"):
        _warmup.steps(["gpu"])


def test_background_warmup_waits_while_prioritized(monkeypatch):
    monkeypatch.setattr(_warmup, "_done", set())
    started = []
    ctx = _warmup.prioritize()
    ctx.__enter__()
    thread = threading.Thread(
        target=_warmup.warmup,
        kwargs={"progress": lambda *a: started.append(a), "background": True},
    )
    thread.start()
    # not a timing assertion: the explorer's steps run, then it holds
    explorer = [step.name for step in _warmup.steps(["explorer"])]
    for _ in range(600):
        if len(started) >= len(explorer):
            break
        thread.join(0.1)
    thread.join(0.3)
    assert [name for _, _, name in started] == explorer
    assert thread.is_alive()
    ctx.__exit__(None, None, None)
    thread.join()
    assert started[-1][0] == started[-1][1]


# ------------------------------------------------------------------------------ GUI


def test_maps_are_shown_before_the_warmup_ends(qtbot, monkeypatch):
    pytest.importorskip("pytestqt")
    from convlab.gui import main_window
    from convlab.gui.app import configure_pyqtgraph

    configure_pyqtgraph()
    monkeypatch.setattr(_warmup, "_done", set())  # as on a first launch
    release = threading.Event()
    entered = threading.Event()

    def blocked_warmup(progress):
        progress(0, 11, "conv forward")
        entered.set()
        release.wait(120)
        progress(11, 11, "")

    monkeypatch.setattr(main_window, "warmup_explorer", blocked_warmup)
    window = main_window.MainWindow()
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(entered.is_set, timeout=10_000)
        explorer = window.explorer
        qtbot.waitUntil(explorer.is_up_to_date, timeout=60_000)
        assert window._warm_task is not None  # still compiling
        assert window.warm_label.text() == "Compiling kernels 1 of 11 (conv forward)…"
        assert window.busy.maximum() == 11
        assert window.busy.value() == 0
        grid = explorer.grid
        result = explorer.result()
        for i, fm in enumerate(result.maps):
            for stage in grid.stages():
                item = grid.image_item(i, stage)
                assert item.image is not None
                assert item.image.size > 0
                assert grid.values(i, stage) is fm.stage(stage)
        # the numbers are right: the kernels' maps within float32 rounding
        ref = explore.compute(explorer.image(), result.settings, backend="kernels")
        for g, w in zip(result.maps, ref.maps, strict=True):
            np.testing.assert_allclose(g.conv, w.conv, rtol=1e-5, atol=1e-5)
    finally:
        release.set()
    with qtbot.waitSignal(window.kernels_warmed, timeout=60_000):
        pass
    assert not window.busy.isVisible()
    assert not window.warm_label.isVisible()
    window.close()


# -------------------------------------------------------------------------- trainer


def test_training_warmup_passes_leave_the_model_alone():
    from convlab.gui.trainer.warming import training_warmup_events
    from convlab.nn import presets

    model = presets.tiny(seed=3)
    x = np.random.default_rng(0).random((5, 28, 28, 1), dtype=np.float32)
    assert model.built
    before = [w.copy() for w in model.get_weights()]
    events = list(training_warmup_events(model, x))
    done = [e.done for e in events]
    assert done == list(range(len(events)))
    assert events[-1].done == events[-1].total == len(events) - 1
    assert events[0].text().startswith("compiling the training kernels (1 of ")
    assert events[-1].text() == "training kernels ready"
    for a, b in zip(before, model.get_weights(), strict=True):
        assert a.tobytes() == b.tobytes()


# ------------------------------------------------------- NumPy training == kernels


@settings(deadline=None, max_examples=120)
@given(
    n_batch=st.integers(1, 3),
    channels=st.integers(1, 3),
    n_filters=st.integers(1, 5),
    hw=st.tuples(st.integers(1, 11), st.integers(1, 11)),
    khw=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    padding=st.one_of(
        st.sampled_from(["valid", "same"]),
        st.integers(0, 2),
        st.tuples(*[st.integers(0, 2)] * 4),
    ),
    mode=st.sampled_from(MODES),
    need_input_grad=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_conv2d_backward_fallback_equals_kernel(
    n_batch,
    channels,
    n_filters,
    hw,
    khw,
    stride,
    dilation,
    padding,
    mode,
    need_input_grad,
    seed,
):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_batch, channels, *hw)).astype(np.float32)
    w = rng.standard_normal((n_filters, channels, *khw)).astype(np.float32)
    args = (stride, padding, dilation, mode)
    try:
        out = kernels.conv2d(x, w, None, *args)
    except ValueError:
        return  # impossible geometry: the forward twin is checked for the same error
    g = rng.standard_normal(out.shape).astype(np.float32)
    want = kernels.conv2d_backward(g, x, w, *args, need_input_grad)
    got = fallback.conv2d_backward(g, x, w, *args, need_input_grad)
    if not need_input_grad:
        assert got[0] is None
    else:
        assert got[0].dtype == np.float32
        np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-5, atol=1e-4)


@settings(deadline=None, max_examples=120)
@given(**POOL)
def test_pool_backward_fallbacks_equal_kernels(hw, k, stride, padding, ceil_mode, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, (2, 2, *hw)).astype(np.float32)  # ties everywhere
    args = (k, stride, padding, ceil_mode)
    try:
        out, idx = kernels.max_pool2d(x, *args)
    except ValueError:
        return
    g = rng.standard_normal(out.shape).astype(np.float32)
    np.testing.assert_allclose(
        fallback.max_pool2d_backward(g, idx, x.shape),
        kernels.max_pool2d_backward(g, idx, x.shape),
        rtol=1e-6,
        atol=1e-6,
    )
    for include in (False, True):
        want = kernels.avg_pool2d_backward(g, x.shape, *args, include)
        got = fallback.avg_pool2d_backward(g, x.shape, *args, include)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_activation_and_global_pool_fallbacks_equal_kernels():
    x = np.array([-1.0, -0.0, 0.0, 2.5, np.nan, -np.inf, np.inf], np.float32)
    g = np.arange(1, 8, dtype=np.float32)
    got, want = fallback.relu_backward(g, x), kernels.relu_backward(g, x)
    assert got.tobytes() == want.tobytes()
    x4 = np.random.default_rng(2).standard_normal((3, 2, 5, 4)).astype(np.float32)
    np.testing.assert_allclose(
        fallback.global_avg_pool2d(x4), kernels.global_avg_pool2d(x4), 1e-6, 1e-6
    )
    g2 = np.random.default_rng(3).standard_normal((3, 2)).astype(np.float32)
    np.testing.assert_allclose(
        fallback.global_avg_pool2d_backward(g2, x4.shape),
        kernels.global_avg_pool2d_backward(g2, x4.shape),
        1e-6,
        1e-7,
    )
    assert set(fallback.TRAINING_TWINS) <= set(kernels.__all__)


# ------------------------------------------------------------- compiled signatures


def _literal_arguments(root):
    """(file, line, callee, constants) of every call from a jitted function to a
    jitted function that passes a constant argument."""
    import ast

    trees = {p: ast.parse(p.read_text()) for p in sorted(root.glob("*.py"))}
    jitted = {
        n.name
        for t in trees.values()
        for n in ast.walk(t)
        if isinstance(n, ast.FunctionDef)
        and any("njit" in ast.unparse(d) for d in n.decorator_list)
    }

    def constant(a):
        if isinstance(a, ast.UnaryOp):
            a = a.operand
        return isinstance(a, ast.Constant)

    found = []
    for path, tree in trees.items():
        for fn in ast.walk(tree):
            if not (isinstance(fn, ast.FunctionDef) and fn.name in jitted):
                continue
            for call in ast.walk(fn):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Name)
                    and call.func.id in jitted
                ):
                    bad = [ast.unparse(a) for a in call.args if constant(a)]
                    if bad:
                        found.append((path.name, call.lineno, call.func.id, bad))
    return found


def test_no_jitted_call_passes_a_constant():
    """numba types a constant argument of a jitted-to-jitted call as Literal and
    compiles the callee once per distinct constant: ``_conv_rows._all_filters`` was
    compiled 4 times for its call sites' ``0``/``1``/``True``/``False``. Call sites
    pass runtime values (``np.int64(0)``, ``np.bool_(True)``) instead. (A dispatcher's
    ``.signatures`` would show it only in a process that compiled, not one that loaded
    the cache; this reads the source.)"""
    from pathlib import Path

    assert _literal_arguments(Path(kernels.__file__).parent) == []


# ------------------------------------------------- the trainer's NumPy first steps


def test_stand_ins_replace_kernels_on_this_thread_only():
    seen = []
    table = {"relu": lambda x: seen.append(threading.get_ident()) or "twin"}
    other = []
    with _warmup.stand_ins(table):
        assert _warmup.ops.relu(np.ones(2, np.float32)) == "twin"
        assert _warmup.ops.conv2d is kernels.conv2d  # not in the table
        t = threading.Thread(target=lambda: other.append(_warmup.ops.relu))
        t.start()
        t.join()
    assert other == [kernels.relu]
    assert seen == [threading.get_ident()]
    assert _warmup.ops.relu is kernels.relu


def _tiny_session(seed=0, n=96):
    from convlab.nn import presets
    from convlab.train.session import ProbeInputs, TrainingSession, TrainSettings

    rng = np.random.default_rng(seed)
    x = rng.random((n, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, n)
    empty_x, empty_y = x[:0], y[:0]
    settings = TrainSettings(batch_size=32, epochs=1, validation_split=0.0, seed=1)
    model = presets.tiny(seed=3)
    return TrainingSession(
        model, threading.Lock(), x, y, empty_x, empty_y, settings, ProbeInputs()
    )


def test_first_steps_train_on_numpy_twins_while_the_passes_compile(monkeypatch):
    from convlab.gui.trainer import warming
    from convlab.train import StepEvent

    release = threading.Event()
    real_passes = warming.training_warmup_events

    def slow_passes(model, x_train, lock=None):
        yield warming.CompileEvent(0, 2, "conv2d forward")
        release.wait(60)  # compiling, as on a first launch
        yield from real_passes(model, x_train, lock)

    monkeypatch.setattr(warming, "training_warmup_events", slow_passes)
    calls = []

    def counted(name, f):
        return lambda *a, **k: calls.append(name) or f(*a, **k)

    twins = {name: counted(name, f) for name, f in fallback.TRAINING_TWINS.items()}
    monkeypatch.setattr(fallback, "TRAINING_TWINS", twins)

    session = _tiny_session()
    events = warming.session_events(session, stand_in=True)
    first = next(events)
    assert isinstance(first, warming.CompileEvent)
    assert first.text() == (
        "compiling the training kernels (1 of 2: conv2d forward); "
        "training in NumPy meanwhile…"
    )
    steps = []
    for event in events:
        if isinstance(event, StepEvent):
            steps.append(event)
            if len(steps) == 2:
                break
    assert {"conv2d", "conv2d_backward", "max_pool2d_backward"} <= set(calls)
    numpy_weights = [w.copy() for w in session.model.get_weights()]
    release.set()
    for thread in threading.enumerate():
        if thread.name == "convlab-training-compile":
            thread.join(120)
    n_calls = len(calls)
    rest = list(events)  # the third step: on the kernels now
    assert len(calls) == n_calls
    assert any(isinstance(e, StepEvent) for e in rest)
    ready = [e for e in rest if isinstance(e, warming.CompileEvent)]
    assert [e.text() for e in ready] == ["training kernels ready"]

    # the same two steps on the kernels alone: the same weights within rounding
    reference = _tiny_session()
    kernel_steps = 0
    for event in warming.session_events(reference, stand_in=False):
        if isinstance(event, StepEvent):
            kernel_steps += 1
            if kernel_steps == 2:
                break
    for got, want in zip(numpy_weights, reference.model.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


_COVERAGE = r"""
import json
import numpy as np
from numba.core.registry import CPUDispatcher
import kernels, importlib, pkgutil
from kernels import _warmup

def counts():
    found = {}
    for info in pkgutil.iter_modules(kernels.__path__):
        module = importlib.import_module("kernels." + info.name)
        for name, value in vars(module).items():
            if isinstance(value, CPUDispatcher):
                found[module.__name__ + "." + name] = len(value.signatures)
    return found

for step in _warmup.steps():
    if step.group == "explorer" or step.default_model:
        step.run()
before = counts()
from convlab.nn import presets
model = presets.tiny(seed=0)
rng = np.random.default_rng(0)
x = rng.random((32, 28, 28, 1), dtype=np.float32)
y = rng.integers(0, 10, 32)
model.fit(x, y, batch_size=32, epochs=1, verbose=0)
after = counts()
print("COVERAGE " + json.dumps({k: [before.get(k, 0), v] for k, v in after.items()
                               if v != before.get(k, 0)}))
"""


def test_default_model_steps_leave_its_first_training_step_nothing_to_compile():
    """In a fresh process (kernels from the test session's cache), run the explorer's
    warm-up steps and those marked ``default_model``, then one training step of the
    default model ("tiny", batch 32): no kernel gains a signature, so the warm-up
    covers exactly the paths that step takes. (Loading from the cache adds a
    signature as compiling would, so a path the steps missed shows here.)"""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-c", _COVERAGE],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [s for s in proc.stdout.splitlines() if s.startswith("COVERAGE ")]
    assert lines, proc.stderr[-3000:]
    assert json.loads(lines[0][len("COVERAGE ") :]) == {}
