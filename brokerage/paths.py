"""Where the checkout and its runtime state live. Imports nothing from Django."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# Everything a running checkout writes (embedded PostgreSQL and Redis, the dev secret key,
# uploaded files, logs) lives here. BROKERAGE_VAR_DIR lets a smoke test run a second,
# separate copy of the system beside a developer's own.
VAR_DIR = Path(os.environ.get("BROKERAGE_VAR_DIR") or BASE_DIR / "var").resolve()
