from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kyc.screening.services import watchlist_load

# Real OFAC rows (US-government public domain) and format-exact synthetic UN and EU records;
# the demo brokerage loads them too (seed_demo).
FIXTURES = Path(__file__).resolve().parents[1] / "samples"
OFAC_CSV = [FIXTURES / "sdn.csv", FIXTURES / "alt.csv", FIXTURES / "add.csv"]


@pytest.fixture
def ofac_files(tmp_path):
    """Writable copies of the OFAC CSV triple, for tests that edit them."""
    for path in OFAC_CSV:
        shutil.copy(path, tmp_path / path.name)
    return [tmp_path / path.name for path in OFAC_CSV]


@pytest.fixture
def lists(db):
    """All four fixtures loaded: OFAC (CSV), UN and EU."""
    return {
        "ofac": watchlist_load(fmt="ofac-csv", paths=OFAC_CSV),
        "un": watchlist_load(fmt="un-xml", paths=[FIXTURES / "un_consolidated.xml"]),
        "eu": watchlist_load(fmt="eu-xml", paths=[FIXTURES / "eu_fsf.xml"]),
    }
