"""What every benchmark reports: percentiles of a set of measurements, and the time a piece of work takes."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

Progress = Callable[[str, int, int], None]
"""A progress hook ``(description, done, total)``, as the command line's progress bars take it."""


def percentiles(values: list[float], qs: tuple[int, ...] = (50, 95), digits: int = 3) -> dict[str, float]:
    """Count and percentiles (``p50``, ``p95``, ...) of a set of measurements: the summary every benchmark
    reports (NaN for none)."""
    if not values:
        return {"n": 0} | {f"p{q}": float("nan") for q in qs}
    cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else [values[0]] * 99
    return {"n": len(values)} | {f"p{q}": round(float(cuts[q - 1]), digits) for q in qs}


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    """(milliseconds, result)"""
    start = time.perf_counter()
    result = work()
    return (time.perf_counter() - start) * 1000, result
