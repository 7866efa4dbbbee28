"""Kernels called from two Python threads at once (the GUI thread and a training thread)
return what a single thread returns, and the process survives (numba's ``workqueue``
threading layer would abort here; ``kernels._jit`` selects ``omp``)."""

from __future__ import annotations

import threading

import numpy as np

import kernels


def _run_concurrently(jobs, repeats=20):
    results: dict[int, list] = {i: [] for i in range(len(jobs))}
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(jobs))

    def work(i, job):
        try:
            barrier.wait()
            for _ in range(repeats):
                results[i].append(job())
        except BaseException as exc:  # re-raised in the main thread
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(i, job)) for i, job in enumerate(jobs)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    if errors:
        raise errors[0]
    return results


def test_two_threads_conv2d_match_serial():
    rng = np.random.default_rng(0)
    image = rng.uniform(size=(1, 3, 96, 80)).astype(np.float32)
    filters = rng.standard_normal((8, 3, 5, 5)).astype(np.float32)
    batch = rng.standard_normal((16, 8, 12, 12)).astype(np.float32)
    weight = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    explorer = lambda: kernels.conv2d(image, filters, None, 2, "same")  # noqa: E731
    training = lambda: kernels.conv2d(batch, weight, None, 1, 1)  # noqa: E731
    serial = [explorer(), training()]
    results = _run_concurrently([explorer, training])
    for i, expected in enumerate(serial):
        assert len(results[i]) == 20
        for got in results[i]:
            np.testing.assert_array_equal(got, expected)


def test_two_threads_same_kernel_and_backward():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 4, 10, 10)).astype(np.float32)
    w = rng.standard_normal((6, 4, 3, 3)).astype(np.float32)
    g = rng.standard_normal((8, 6, 10, 10)).astype(np.float32)
    forward = lambda: kernels.conv2d(x, w, None, 1, "same", 1, "reflect")  # noqa: E731
    backward = lambda: kernels.conv2d_backward(g, x, w, 1, "same", 1, "reflect")  # noqa: E731
    serial_f, serial_b = forward(), backward()
    results = _run_concurrently([forward, forward, backward], repeats=10)
    for got in results[0] + results[1]:
        np.testing.assert_array_equal(got, serial_f)
    for got in results[2]:
        for a, b in zip(got, serial_b, strict=True):
            np.testing.assert_array_equal(a, b)


def test_warmup_from_a_worker_thread():
    done = []
    thread = threading.Thread(target=lambda: (kernels.warmup(), done.append(True)))
    thread.start()
    thread.join(timeout=300)
    assert done == [True]
