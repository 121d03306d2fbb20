from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from mt5sim import SimServer, Simulator

from .conftest import call, handshake


def test_https_with_a_self_signed_certificate(tmp_path: Path, sim: Simulator):
    assert shutil.which("openssl"), "the openssl command makes the test certificate"
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with SimServer(sim, ssl_context=context) as srv:
        assert srv.url.startswith("https://")
        # Brokers often run self-signed certificates; the client may be configured not to verify.
        with httpx.Client(base_url=srv.url, verify=False, timeout=5) as insecure:  # noqa: S501
            assert handshake(insecure)["retcode"] == "0 Done"
            assert call(insecure, "/api/test/access")["retcode"] == "0 Done"
        trusted = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=srv.url, verify=trusted, timeout=5) as c:
            assert handshake(c)["retcode"] == "0 Done"
        with pytest.raises(httpx.ConnectError), httpx.Client(base_url=srv.url) as strict:
            strict.get("/api/test/access")
