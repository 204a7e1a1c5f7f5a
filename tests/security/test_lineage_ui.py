"""In the Dagster UI, compliance staff follow a mart's lineage back to its SP-API report (headless Chromium).

Starts dagster-webserver on a free port against the test stack's DAGSTER_HOME, opens the upstream lineage of
marts/fct_daily_sales, checks that raw/orders (the orders report's table) is on the graph, and saves the
screenshot as lineage.png in $RETKEE_SCREENSHOT_DIR (default .data/screenshots, git-ignored; point it at
docs/img to refresh the picture in docs/security.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from local_stack.ports import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = Path(os.environ.get("RETKEE_SCREENSHOT_DIR", ROOT / ".data" / "screenshots")) / "lineage.png"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _ensure_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env, check=False, timeout=600)
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium and could not be apt-installed")


@pytest.fixture(scope="module")
def webserver(pipeline_stack, refreshed_tenant):
    port = free_port()
    log = pipeline_stack.log_dir / "dagster-webserver-test.log"
    with open(log, "w") as out:
        process = subprocess.Popen(  # noqa: S603 - our own console script, fixed argv
            [str(Path(sys.executable).with_name("dagster-webserver")), "-w", str(ROOT / "workspace.yaml"),
             "-h", "127.0.0.1", "-p", str(port)],
            cwd=ROOT, env=dict(os.environ), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/server_info", timeout=2):  # noqa: S310 - loopback http
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"dagster-webserver did not start; see {log}:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_the_ui_shows_fct_daily_sales_lineage_back_to_the_orders_report(webserver, refreshed_tenant):
    assert refreshed_tenant.report.failed == []  # the picture shows a slice that built, not a failed mart
    _ensure_chromium()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        # Playwright gives the browser a fresh, empty profile of its own.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(f"{webserver}/assets/marts/fct_daily_sales?view=lineage&lineageScope=upstream&lineageDepth=5",
                      wait_until="domcontentloaded", timeout=60_000)
            graph = page.locator("body")
            expect(graph.get_by_text("stg_amazon__orders", exact=True).first).to_be_visible(timeout=60_000)
            expect(graph.get_by_text("orders", exact=True).first).to_be_visible(timeout=30_000)
            expect(graph.get_by_text("fct_daily_sales", exact=True).first).to_be_visible(timeout=30_000)
            page.wait_for_timeout(1500)  # let the graph finish its layout animation before the picture
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=False)
        finally:
            browser.close()
    assert SCREENSHOT.stat().st_size > 10_000
