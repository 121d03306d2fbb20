"""Benchmarks: one module per benchmark, run with ``make bench`` (``ONLY=<name>`` for one).

A benchmark is a module ``bench/<name>.py`` with a ``run() -> list[dict]`` that returns one
line per figure, each built with :func:`line` so every benchmark computes its ratio the same
way. ``python -m bench`` (bench/__main__.py) finds the modules, prints the lines as JSON and
keeps the latest line per figure in bench/results.json. See bench/README.md.
"""

from __future__ import annotations

import math
from typing import Any


def line(
    name: str,
    *,
    value: float,
    unit: str,
    baseline: str,
    baseline_value: float,
    **extra: Any,
) -> dict[str, Any]:
    """One figure: ``name`` is ``"<module>.<figure>"``; ``baseline`` says what ``value`` was
    compared with (measured in the same run, on the same database). Extra keys (e.g. the
    ``tool`` that measured) follow the standard ones."""
    module, _, figure = name.partition(".")
    if not module or not figure:
        raise ValueError(f"a figure is named '<module>.<figure>', not {name!r}")
    for label, number in (("value", value), ("baseline_value", baseline_value)):
        if not isinstance(number, int | float) or not math.isfinite(number):
            raise ValueError(f"{name}: {label} must be a finite number, not {number!r}")
    if baseline_value == 0:
        raise ValueError(f"{name}: baseline_value is 0, no ratio can be computed")
    return {
        "bench": name,
        "value": round(value, 2),
        "unit": unit,
        "baseline": baseline,
        "baseline_value": round(baseline_value, 2),
        "ratio": round(value / baseline_value, 4),
        **extra,
    }
