"""Time each framework in its own fresh process, back to back, and pair the results.

``bench_train.py``'s approach as a helper: one repeat runs one child per framework, one
after the other, so a noisy spell on a shared machine hits every framework of that
repeat; the figures are the medians over repeats and the median of the per-repeat
ratios. A child is the benchmark script itself, run with ``--child FRAMEWORK``; it
prints one JSON object (row name -> milliseconds) on its last line.

Why processes: torch's OpenMP threads spin after every call and starve numba's and
OpenBLAS's threads on 2 cores (the old single-process table read 2.6-3.7x for training
rows measured at about 3x in separate processes).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_child(
    script: str, framework: str, args: Sequence[str], env: dict | None = None
) -> dict[str, float]:
    """Run ``script --child framework *args`` in a fresh interpreter; its JSON dict."""
    result = subprocess.run(
        [sys.executable, script, "--child", framework, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ) if env is None else env,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{framework} child failed ({result.returncode}):\n{result.stderr[-3000:]}"
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


def paired(
    script: str,
    frameworks: Sequence[str],
    args: Sequence[str],
    repeats: int,
    log=None,
) -> list[dict[str, float]]:
    """``repeats`` rounds; each round one child per framework, back to back.

    Returns one dict per round: ``{(framework, row): ms}`` flattened as
    ``"framework|row"`` keys (JSON-friendly)."""
    rounds = []
    for i in range(repeats):
        merged: dict[str, float] = {}
        for framework in frameworks:
            for row, ms in run_child(script, framework, args).items():
                merged[f"{framework}|{row}"] = ms
        rounds.append(merged)
        if log is not None:
            log(f"  round {i + 1}/{repeats} done")
    return rounds


def median_of(rounds: list[dict[str, float]], framework: str, row: str) -> float:
    values = [r[f"{framework}|{row}"] for r in rounds if f"{framework}|{row}" in r]
    return statistics.median(values) if values else float("nan")


def median_ratio(
    rounds: list[dict[str, float]], framework: str, reference: str, row: str
) -> float:
    """Median over rounds of ``framework / reference`` for one row (same round)."""
    a, b = f"{framework}|{row}", f"{reference}|{row}"
    ratios = [r[a] / r[b] for r in rounds if a in r and b in r and r[b] > 0]
    return statistics.median(ratios) if ratios else float("nan")
