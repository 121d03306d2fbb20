"""``make bench`` / ``python -m bench [name ...]``: run the benchmarks (all, or the named ones).

Prints one JSON line per figure on stdout (progress goes to stderr) and merges them into
bench/results.json, keyed by the line's "bench" field, so it always holds the latest line per
figure. Exits non-zero if a benchmark failed; the figures of the others are still saved.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results.json"
# Modules of bench/ that support the benchmarks rather than being one.
SUPPORT_MODULES = {"settings", "urls"}
REQUIRED_KEYS = ("bench", "value", "unit", "baseline", "baseline_value", "ratio")


def available() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.iter_modules([str(BENCH_DIR)])
        if not info.ispkg and not info.name.startswith("_") and info.name not in SUPPORT_MODULES
    )


def log(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    # Like manage.py: embedded PostgreSQL/Redis this process had to start stop when it exits.
    os.environ.setdefault("BROKERAGE_EMBEDDED_STOP_AT_EXIT", "1")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


def _check(name: str, lines: Any) -> list[dict[str, Any]]:
    if not isinstance(lines, list) or not lines:
        raise TypeError(f"bench.{name}.run() must return a non-empty list of lines")
    for entry in lines:
        missing = [key for key in REQUIRED_KEYS if key not in entry]
        if missing:
            raise ValueError(f"bench.{name}: line {entry!r} lacks {missing}; build it with line()")
        if not entry["bench"].startswith(f"{name}."):
            raise ValueError(f"bench.{name}: figure {entry['bench']!r} must start with '{name}.'")
    return lines


def save(lines: list[dict[str, Any]]) -> None:
    try:
        results = json.loads(RESULTS.read_text())
    except FileNotFoundError:
        results = {}
    for entry in lines:
        results[entry["bench"]] = entry
    tmp = RESULTS.with_name(RESULTS.name + ".tmp")
    tmp.write_text(json.dumps(dict(sorted(results.items())), indent=2) + "\n")
    tmp.replace(RESULTS)


def main(argv: list[str]) -> int:
    known = available()
    # ONLY=web runs bench/web.py; ONLY=web.portal_home is accepted too (the module runs).
    names = list(dict.fromkeys(arg.partition(".")[0] for arg in argv)) or known
    unknown = [name for name in names if name not in known]
    if unknown:
        log(f"no benchmark named {', '.join(unknown)}; there are: {', '.join(known)}")
        return 2

    # A SIGTERM unwinds like Ctrl-C, so each benchmark's cleanup (servers it started) runs.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    _setup_django()

    failed = []
    started = time.monotonic()
    for name in names:
        log(f"running {name}")
        began = time.monotonic()
        try:
            module = importlib.import_module(f"bench.{name}")
            run = getattr(module, "run", None)
            if not callable(run):
                raise TypeError(f"bench/{name}.py has no run() function")
            lines = _check(name, run())
        except Exception:
            traceback.print_exc()
            log(f"{name} FAILED")
            failed.append(name)
            continue
        for entry in lines:
            print(json.dumps(entry), flush=True)
        save(lines)
        log(f"{name} done in {time.monotonic() - began:.0f}s")
    log(f"{len(names) - len(failed)}/{len(names)} in {time.monotonic() - started:.0f}s")
    if failed:
        log(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
