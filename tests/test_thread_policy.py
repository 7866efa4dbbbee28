"""convlab/_threads.py: numba's OpenMP may spin only where OpenBLAS is held to one
thread, and the hold is lifted by the last of several overlapping users."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from convlab import _threads
from convlab.nn import Dense, Sequential


def _blas_threads() -> list[int]:
    return [
        lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"
    ]


@pytest.fixture
def two_blas_threads():
    if not _blas_threads():
        pytest.skip("numpy has no BLAS that threadpoolctl can see")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(2, user_api="blas"):
        yield


@pytest.mark.usefixtures("two_blas_threads")
def test_one_blas_thread_nests_and_restores():
    assert set(_blas_threads()) == {2}
    with _threads.one_blas_thread():
        assert set(_blas_threads()) == {1}
        with _threads.one_blas_thread():
            assert set(_blas_threads()) == {1}
        assert set(_blas_threads()) == {1}  # the outer block still holds it
    assert set(_blas_threads()) == {2}


@pytest.mark.usefixtures("two_blas_threads")
def test_overlapping_threads_the_last_to_leave_restores():
    inside = threading.Event()
    leave = threading.Event()
    seen = []

    def worker():
        with _threads.one_blas_thread():
            inside.set()
            leave.wait(10)
            seen.append(set(_blas_threads()))

    t = threading.Thread(target=worker)
    t.start()
    assert inside.wait(10)
    with _threads.one_blas_thread():  # enters after the worker, leaves before it
        pass
    seen.append(set(_blas_threads()))
    leave.set()
    t.join(10)
    assert seen == [{1}, {1}]
    assert set(_blas_threads()) == {2}


@pytest.mark.usefixtures("two_blas_threads")
def test_a_worker_can_limit_after_the_main_thread_did():
    """threadpoolctl would ignore the worker here (the main thread, still alive, set
    the limit first); a GUI that predicted once would then train with two threads."""
    with _threads.one_blas_thread():
        pass
    seen = []

    def worker():
        with _threads.one_blas_thread():
            seen.append(set(_blas_threads()))

    t = threading.Thread(target=worker)
    t.start()
    t.join(10)
    assert seen == [{1}]
    assert set(_blas_threads()) == {2}


@pytest.mark.usefixtures("two_blas_threads")
def test_training_step_runs_with_one_blas_thread(monkeypatch):
    model = Sequential([Dense(3, activation="softmax", input_shape=(4,))])
    model.compile("sgd", "sparse_categorical_crossentropy")
    seen = []
    layer = model.layers[0]
    real_forward = layer.forward

    def spy(x, training=False):
        seen.append(set(_blas_threads()))
        return real_forward(x, training)

    monkeypatch.setattr(layer, "forward", spy)
    x = np.ones((2, 4), np.float32)
    model.train_step(x, np.array([0, 1]))
    model.predict(x)
    assert seen == [{1}, {1}]
    assert set(_blas_threads()) == {2}


def _spin_setting(env: dict[str, str], first: str) -> str:
    """GOMP_SPINCOUNT / OMP_WAIT_POLICY after importing ``first`` then convlab."""
    code = (
        f"import {first}, convlab, os; "
        "print(os.environ.get('GOMP_SPINCOUNT'), os.environ.get('OMP_WAIT_POLICY'))"
    )
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@pytest.mark.parametrize("first", ["os", "kernels"])
def test_convlab_asks_for_brief_spinning_over_the_kernels_default(first):
    # kernels alone would leave OMP_WAIT_POLICY=PASSIVE; GOMP_SPINCOUNT overrides it
    assert _spin_setting({}, first).split()[0] == _threads.SPIN_COUNT


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OMP_WAIT_POLICY": "PASSIVE"}, "None PASSIVE"),
        ({"GOMP_SPINCOUNT": "7"}, "7"),
    ],
)
def test_a_users_own_policy_is_kept(env, expected):
    assert _spin_setting(env, "kernels").startswith(expected)


@pytest.mark.usefixtures("two_blas_threads")
def test_train_events_holds_one_blas_thread_for_the_whole_run():
    """Set once per run, not switched around every step (each switch resizes
    OpenBLAS's pool); released when the run ends or is abandoned."""
    from convlab.train import train_events

    model = Sequential([Dense(3, activation="softmax", input_shape=(4,))])
    model.compile("sgd", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.random((40, 4), dtype=np.float32)
    y = rng.integers(0, 3, 40)
    seen = [set(_blas_threads()) for _ in train_events(model, x, y, batch_size=8)]
    assert seen
    assert all(s == {1} for s in seen)  # between the steps too, where the caller runs
    assert set(_blas_threads()) == {2}
    gen = train_events(model, x, y, batch_size=8, epochs=3)
    next(gen)
    assert set(_blas_threads()) == {1}
    gen.close()  # a stop mid-run
    assert set(_blas_threads()) == {2}


def test_the_convlab_command_holds_one_blas_thread_for_the_process():
    code = (
        "import numpy, io, contextlib\n"
        "from threadpoolctl import threadpool_info, threadpool_limits\n"
        "threadpool_limits(2, user_api='blas')\n"
        "from convlab.__main__ import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['summary', 'tiny'])\n"
        "info = threadpool_info()\n"
        "print([i['num_threads'] for i in info if i['user_api'] == 'blas'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    if out.stdout.strip() == "[]":
        pytest.skip("numpy has no BLAS that threadpoolctl can see")
    assert out.stdout.strip() == "[1]"
