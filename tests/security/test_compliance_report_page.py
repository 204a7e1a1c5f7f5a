"""The compliance report as a person reads it, opened in headless Chromium against a real stack.

Two tenants are erased on request through `retkee tenants erase --request-id`; one certificate is then edited by
the superuser. The page written by `retkee compliance report` must open with the six promises, each judged, and
show both certificates as fields: the request id, the times, what was destroyed and the signature's state. Every
value the test expects is read here straight from the audit tables, the catalog and Vault (as the administrator
and the compliance duty), never through the report's own gatherer. Saves the top of the page as
compliance-report.png in $RETKEE_SCREENSHOT_DIR if set (point it at docs/img to refresh docs/privacy.md's picture).
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.security.test_lineage_ui import CHROMIUM, CHROMIUM_FLAGS, _ensure_chromium

pytestmark = pytest.mark.integration

REQUEST = "DSR-TEST-0042"
ALTERED_REQUEST = "DSR-TEST-0043"


def _erase(tenant_id: str, request_id: str) -> None:
    from orchestration.cli import app

    answer = CliRunner().invoke(app, ["tenants", "erase", tenant_id, "--yes", "--request-id", request_id])
    assert answer.exit_code == 0, answer.output
    assert f"(request {request_id})" in answer.output


@pytest.fixture(scope="module")
def erased(onboard, instance, refreshed_tenant, admin):
    """(kept, altered): two tenants erased on request; the second one's certificate edited by the superuser."""
    _, kept = onboard("A1REPORTPAGE001", profile={"skus": 2, "orders_per_day": 3})
    _, altered = onboard("A1REPORTPAGE002", profile={"skus": 2, "orders_per_day": 3})
    _erase(kept.tenant_id, REQUEST)
    _erase(altered.tenant_id, ALTERED_REQUEST)
    original = admin.execute("select destroyed from audit.erasure_certificates where tenant_id = %s",
                             (altered.tenant_id,)).fetchone()[0]
    admin.execute("update audit.erasure_certificates set destroyed = jsonb_set(destroyed, '{tables}', '999')"
                  " where tenant_id = %s", (altered.tenant_id,))
    yield kept.tenant_id, altered.tenant_id
    admin.execute("update audit.erasure_certificates set destroyed = %s where tenant_id = %s",
                  (json.dumps(original), altered.tenant_id))


@pytest.fixture(scope="module")
def page(erased, tmp_path_factory) -> Path:
    from orchestration.cli import app

    out = tmp_path_factory.mktemp("compliance") / "report.html"
    answer = CliRunner().invoke(app, ["compliance", "report", "--output", str(out)])
    assert answer.exit_code == 0, answer.output
    return out


def _utc(moment) -> str:
    from datetime import UTC

    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _filesystem_of(path: str) -> str | None:
    best, found = -1, None
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split(" ")
        point = Path(fields[4])
        if (Path(path) == point or point in Path(path).parents) and len(point.parts) >= best:
            best, found = len(point.parts), fields[fields.index("-") + 1]
    return found


def test_the_erasure_listing_shows_the_request_id(erased):
    from orchestration.cli import app

    kept, _ = erased
    listing = CliRunner().invoke(app, ["erasure", "certificates", "--json", "--tenant", kept])
    assert listing.exit_code == 0, listing.output
    assert json.loads(listing.output.strip().splitlines()[-1])["request_id"] == REQUEST
    refused = CliRunner().invoke(app, ["tenants", "erase", kept, "--yes", "--request-id", "jane@example.com"])
    assert refused.exit_code == 1 and "not a request id" in refused.output and "Traceback" not in refused.output


def test_the_page_opens_with_the_promises_and_shows_each_certificate_as_its_records_say(settings, admin, erased,
                                                                                      page):
    from orchestration.secrets.vault import Vault

    kept, altered = erased
    # The records, read as the administrator.
    certificate = {}
    for tenant in (kept, altered):
        row = admin.execute(
            "select c.request_id, r.requested_at, c.finished_at, c.destroyed, c.signed_record, c.signature,"
            " c.verified from audit.erasure_certificates c join audit.erasure_requests r using (tenant_id)"
            " where c.tenant_id = %s", (tenant,)).fetchone()
        certificate[tenant] = dict(zip(("request_id", "requested_at", "finished_at", "destroyed", "signed_record",
                                        "signature", "verified"), row, strict=True))
    verifier = Vault(settings.for_duty("compliance"))
    signature_ok = {t: verifier.verify_erasure_record(c["signed_record"], c["signature"])
                    for t, c in certificate.items()}
    altered_fields = {t: json.loads(c["signed_record"])["destroyed"] != c["destroyed"] for t, c in certificate.items()}
    assert signature_ok == {kept: True, altered: True} and altered_fields == {kept: False, altered: True}
    columns = admin.execute(
        "select count(*) from pg_attribute a join pg_class c on c.oid = a.attrelid"
        " join pg_namespace n on n.oid = c.relnamespace where n.nspname ~ '^t[0-9a-f]{12}_[a-z]+$'"
        " and c.relkind in ('r', 'p', 'v', 'm', 'f') and a.attnum > 0 and not a.attisdropped").fetchone()[0]
    requests = admin.execute("select count(*) from audit.erasure_requests").fetchone()[0]
    logged = admin.execute("select count(*) from audit.access_log").fetchone()[0]
    minimum, data_directory = (admin.execute(f"show {name}").fetchone()[0]
                               for name in ("ssl_min_protocol_version", "data_directory"))

    _ensure_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            tab.goto(page.as_uri())
            assert tab.locator("h2").first.inner_text() == "The privacy policy's promises"
            rows = tab.locator("#promises tbody tr")
            assert rows.count() == 6
            promise = {n: tab.locator(f"#promise-{n}").inner_text() for n in range(1, 7)}
            state = {n: tab.locator(f"#promise-{n} td.state").inner_text() for n in range(1, 7)}
            assert all(s in ("green: holds", "red: FAILS") for s in state.values())
            assert f"0 of {columns} column names in tenant schemas are on the PII deny list" in promise[1]
            assert state[1] == "green: holds"
            assert f"ssl_min_protocol_version={minimum}" in promise[2] and data_directory in promise[2]
            encrypted = _filesystem_of(data_directory) == "fuse.gocryptfs"
            assert state[2] == ("green: holds" if encrypted else "red: FAILS"), promise[2]
            # Every role within its duty: each analyst group reads marts only (its own tenant's).
            assert state[3] == "green: holds" and "analyst reaches 0 schemas beyond marts" in promise[3], promise[3]
            # The edited certificate turns the retention promise red, naming its tenant only.
            assert state[4] == "red: FAILS" and altered in promise[4] and kept not in promise[4]
            assert f"{requests} deletion requests recorded" in promise[5] and state[5] == "green: holds"
            assert f"audit.access_log: {logged} runs" in promise[6] and state[6] == "green: holds"

            for tenant in (kept, altered):
                section = tab.locator(f"#certificate-{tenant}")
                record = certificate[tenant]
                assert section.locator(".request-id").inner_text() == record["request_id"]
                assert section.locator(".requested").inner_text() == _utc(record["requested_at"])
                assert section.locator(".completed").inner_text() == _utc(record["finished_at"])
                destroyed = dict(zip(section.locator("table.destroyed td:nth-child(1)").all_inner_texts(),
                                     section.locator("table.destroyed td:nth-child(2)").all_inner_texts(),
                                     strict=True))
                key, secret = record["destroyed"]["transit_key"], record["destroyed"]["kv_secret"]
                assert destroyed["tenant key destroyed"] == (
                    f"{key['name']}, versions {', '.join(str(v) for v in key['versions'])}")
                assert destroyed["secret destroyed (refresh token)"].startswith(f"{secret['path']}, versions ")
                assert destroyed["tables"] == str(record["destroyed"]["tables"])
                assert destroyed["landing-zone documents deleted"] == str(record["destroyed"]["landing_objects"])
                schemas = record["destroyed"]["schemas"]
                assert destroyed["schemas dropped"] == (f"{len(schemas)}: {', '.join(schemas)}" if schemas else "none")
                assert "statistics catalog rewritten: yes" in destroyed["disk residue cleared"]
                signature = section.locator(".signature").inner_text()
                if altered_fields[tenant]:
                    assert signature.startswith("ALTERED") and "destroyed.tables" in signature
                else:
                    assert signature.startswith("valid (retkee-transit/keys/erasure-certificates, version ")
                text = section.inner_text()
                assert not re.search(r"\{'|'\}|\bTrue\b|\bFalse\b", text), text  # no Python repr anywhere
            if os.environ.get("RETKEE_SCREENSHOT_DIR"):
                from PIL import Image  # matplotlib's own dependency

                # 64 colours are plenty for a page of text and two tints, and keep the picture in docs/ small.
                picture = Image.open(io.BytesIO(tab.screenshot())).convert("RGB").quantize(colors=64)
                picture.save(Path(os.environ["RETKEE_SCREENSHOT_DIR"]) / "compliance-report.png", optimize=True)
        finally:
            browser.close()
