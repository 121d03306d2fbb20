import pytest


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    """Each test stores documents in a directory of its own, with no virus scanner."""
    settings.KYC_STORAGE_DIR = str(tmp_path / "private")
    settings.KYC_CLAMD_SOCKET = ""
    return tmp_path / "private"


def stored_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []
