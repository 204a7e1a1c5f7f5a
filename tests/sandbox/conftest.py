"""Fixtures that run the real sandbox server over HTTPS (trustme CA, free port) and point clients at it."""

from __future__ import annotations

import json
import os

# The client caches access tokens per refresh token for SP_API_AUTH_CACHE_TTL seconds, read at import time.
# At time-scale 0.01 an access token lives 36 s, so keep the cache shorter than that.
os.environ.setdefault("SP_API_AUTH_CACHE_TTL", "20")
os.environ.pop("SP_API_DEFAULT_MARKETPLACE", None)  # it would override the sandbox marketplace

import socket
import ssl
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import trustme
from sp_api.api import Reports
from sp_api.auth import AccessTokenClient
from sp_api.base.credential_provider import FromCodeCredentialProvider

REPO_ROOT = Path(__file__).resolve().parents[2]
# Amazon's published models and documented report headers, both carried by the repository itself.
MODELS_DIR = REPO_ROOT / "sp-api-models"
REPORT_HEADERS_FILE = REPO_ROOT / "tests" / "fixtures" / "amazon_report_headers.json"
TIME_SCALE = 0.01
CLIENT_ID = "amzn1.application-oa2-client.sandboxtest"
CLIENT_SECRET = "sandbox-test-secret"  # noqa: S105 - a test fixture value
ADMIN_TOKEN = "sandbox-admin-token"  # noqa: S105
US = "ATVPDKIKX0DER"
DE = "A1PA6795UKMFR9"
BR = "A2Q3Y263D00KWC"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Marketplace:
    """What python-amazon-sp-api reads from a marketplace: endpoint, marketplace_id, region."""

    endpoint: str
    marketplace_id: str
    region: str = "us-east-1"


@dataclass
class SandboxServer:
    base_url: str
    port: int
    state_dir: Path
    ca_file: Path
    ssl_context: ssl.SSLContext
    process: subprocess.Popen
    seed: int

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            verify=self.ssl_context,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )

    def new_seller(self, marketplace_ids=(US,), profile=None) -> dict:
        """A fresh seller (fresh refresh token, so no access token cached by the client applies to it)."""
        with self.admin() as admin:
            r = admin.post(
                "/_sandbox/sellers",
                json={
                    "seller_id": "A" + uuid.uuid4().hex[:13].upper(),
                    "marketplace_ids": list(marketplace_ids),
                    "profile": profile or {},
                },
            )
        assert r.status_code == 201, r.text
        return r.json()

    def token_client_class(self) -> type[AccessTokenClient]:
        return type(
            "SandboxTokenClient",
            (AccessTokenClient,),
            {"host": f"127.0.0.1:{self.port}", "scheme": "https://"},
        )

    def reports(
        self, refresh_token: str, marketplace_id: str = US, client_secret: str = CLIENT_SECRET
    ) -> Reports:
        return self.client(Reports, refresh_token, marketplace_id, client_secret)

    def client(
        self, api_class, refresh_token: str, marketplace_id: str = US, client_secret: str = CLIENT_SECRET
    ):
        """Any python-amazon-sp-api client class, pointed at the sandbox through its supported options."""
        return api_class(
            Marketplace(self.base_url, marketplace_id),
            refresh_token=refresh_token,
            credentials=dict(lwa_app_id=CLIENT_ID, lwa_client_secret=client_secret),
            credential_providers=[FromCodeCredentialProvider],
            auth_token_client_class=self.token_client_class(),
            verify=self.ssl_context,
        )

    def access_token(self, refresh_token: str) -> str:
        with httpx.Client(verify=self.ssl_context) as c:
            r = c.post(
                f"{self.base_url}/auth/o2/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                },
            )
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_pem.write_to_path(d / "sandbox-key.pem")
    cert.cert_chain_pems[0].write_to_path(d / "sandbox.pem")
    ca.cert_pem.write_to_path(d / "ca.pem")
    (d / "app.json").write_text(json.dumps({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}))
    (d / "admin.token").write_text(ADMIN_TOKEN + "\n")
    return {
        "dir": d,
        "ca": d / "ca.pem",
        "cert": d / "sandbox.pem",
        "key": d / "sandbox-key.pem",
        "app": d / "app.json",
        "admin": d / "admin.token",
    }


def start_server(
    pki: dict, state_dir: Path, seed: int = 42, time_scale: float = TIME_SCALE, admin: bool = True
) -> SandboxServer:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "spapi_sandbox",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--certfile",
        str(pki["cert"]),
        "--keyfile",
        str(pki["key"]),
        "--state-dir",
        str(state_dir),
        "--app-credentials-file",
        str(pki["app"]),
        "--seed",
        str(seed),
        "--time-scale",
        str(time_scale),
    ]
    if admin:
        cmd += ["--admin-token-file", str(pki["admin"])]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    context = ssl.create_default_context(cafile=str(pki["ca"]))
    server = SandboxServer(f"https://127.0.0.1:{port}", port, state_dir, pki["ca"], context, proc, seed)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sandbox exited: {proc.stdout.read().decode()}")
        try:
            if httpx.get(f"{server.base_url}/_sandbox/health", verify=context, timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError("sandbox did not become healthy within 20 s")


@pytest.fixture(scope="session")
def sandbox(pki, tmp_path_factory):
    server = start_server(pki, tmp_path_factory.mktemp("sandbox-state"))
    yield server
    server.stop()


def reference_header(report_type: str) -> list[str]:
    """The header row Amazon documents for a report type (tests/fixtures, never read from the sandbox)."""
    reports = json.loads(REPORT_HEADERS_FILE.read_text())["reports"]
    assert report_type in reports, f"{report_type} has no documented header in {REPORT_HEADERS_FILE}"
    return reports[report_type]["header"]


def wait_for_report(client: Reports, report_id: str, timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = client.get_report(report_id).payload
        if report["processingStatus"] in ("DONE", "CANCELLED", "FATAL"):
            return report
        time.sleep(0.05)
    raise AssertionError(f"report {report_id} still processing after {timeout} s")
