"""Every reader against the catalogue of bad files (tests/fault_catalogue.py): it
loads or raises its documented error with a message naming the file; never a hang,
a MemoryError, a RecursionError or another exception; and the worst files stay
within a memory bound measured in a fresh process."""

from __future__ import annotations

import fault_catalogue as fc
import pytest

#: Above the reader's own imports; the budgets give at most ~270 MB (40 MP RGBA PNG,
#: 256 MiB IDX), so this leaves room and still catches a second full-size copy.
PEAK_LIMIT_MB = 400


@pytest.mark.parametrize("fault", fc.CATALOGUE, ids=lambda f: f.name)
def test_reader_handles_the_fault(fault, tmp_path):
    path = fault.build(tmp_path)
    try:
        kind, text = fc.run(fault, path)
    except BaseException as err:  # noqa: BLE001 (the type is what we report)
        pytest.fail(f"{fault.reader} raised {type(err).__name__}: {err}")
    assert fc.acceptable(fault, kind, text), (kind, text, fault.expect)
    if kind == "error":
        assert path.name in text  # the message names the file


def test_catalogue_covers_every_reader_and_kind():
    readers = {f.reader for f in fc.CATALOGUE}
    assert readers == {"image", "idx", "mnist", "bank", "model"}
    names = " ".join(f.name for f in fc.CATALOGUE).lower()
    for kind in (
        "truncated",
        "corrupt",
        "fifo",
        "folder",
        "loop",
        "permission",
        "bomb",
        "16-bit",
        "jpeg",
        "nested",
        "1e40",
        "200 filters",
    ):
        assert kind in names, kind


@pytest.mark.parametrize("name", fc.WORST)
def test_peak_memory_of_the_worst_files_is_bounded(name, tmp_path):
    rise_mb, outcome = fc.peak_mb(name, tmp_path)
    fault = {f.name: f for f in fc.CATALOGUE}[name]
    kind = outcome.partition(": ")[0]  # the text is cut to 100 characters
    allowed = {"load", "error"} if "load" in fault.expect.split("|") else {"error"}
    assert kind in allowed, outcome
    assert rise_mb < PEAK_LIMIT_MB, f"{name}: +{rise_mb:.0f} MB"
