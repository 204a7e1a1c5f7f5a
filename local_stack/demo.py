"""The demo: registers a few sellers in the SP-API sandbox, onboards them, imports their unit costs and the
exchange rates, refreshes, prints a summary.

This is what `make run` shows a newcomer. It talks to the sandbox's admin API (as a seller authorizing
our app would, in Seller Central) and then only through the product's own `retkee` commands, in the
same environment a Dagster process gets. The unit costs and exchange rates are sample files shipped in
local_stack/demo_data/ (made by local_stack/demo_samples.py), imported as a seller's and an operator's
files would be; nothing is downloaded.
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess  # noqa: S404 - runs our own console scripts with fixed arguments
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from local_stack import processes
from local_stack.config import StackConfig
from local_stack.errors import StackError
from local_stack.settings import dagster_env


@dataclass(frozen=True)
class DemoSeller:
    seller_id: str
    region: str
    marketplace_ids: tuple[str, ...]
    profile: dict


DEMO_DATA = Path(__file__).resolve().parent / "demo_data"
FX_SAMPLE = DEMO_DATA / "eurofxref-hist.csv"

DEMO_SELLERS = (
    DemoSeller("A1RETKEEDEMOUS", "na", ("ATVPDKIKX0DER",), {"skus": 12, "orders_per_day": 40}),
    DemoSeller("A2RETKEEDEMONA", "na", ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"), {"skus": 8, "orders_per_day": 25}),
    DemoSeller("A3RETKEEDEMODE", "eu", ("A1PA6795UKMFR9",), {"skus": 10, "orders_per_day": 30}),
)


def unit_costs_sample(seller: DemoSeller) -> Path:
    return DEMO_DATA / f"unit_costs_{seller.seller_id}.csv"


def admin_request(config: StackConfig, method: str, path: str, body: dict | None = None) -> dict:
    """Call the sandbox's admin API over HTTPS, trusting only the project's CA."""
    token = config.sandbox_admin_token_file.read_text().strip()
    request = urllib.request.Request(  # noqa: S310 - https URL built from our own config
        f"{config.sandbox_endpoint}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    context = ssl.create_default_context(cafile=str(config.ca_file))
    with urllib.request.urlopen(request, context=context, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def register_seller(config: StackConfig, seller: DemoSeller) -> str:
    """Authorize our app for `seller` in the sandbox; returns its refresh token."""
    answer = admin_request(
        config,
        "POST",
        "/_sandbox/sellers",
        {"seller_id": seller.seller_id, "marketplace_ids": list(seller.marketplace_ids), "profile": seller.profile},
    )
    return answer["refresh_token"]


def _retkee(config: StackConfig, *args: str, stdin: str | None = None, check: bool = True):
    executable = Path(sys.executable).with_name("retkee")
    argv = [str(executable) if executable.exists() else shutil.which("retkee") or "retkee", *args]
    return subprocess.run(  # noqa: S603
        argv, input=stdin, text=True, env=dagster_env(config), check=check, cwd=config.repo_root
    )


def active_tenants(config: StackConfig) -> dict[str, str]:
    """Seller id -> tenant id of every active tenant, as `retkee tenants list` reports them."""
    listed = subprocess.run(  # noqa: S603
        [str(Path(sys.executable).with_name("retkee")), "tenants", "list", "--status", "active", "--json"],
        text=True, capture_output=True, env=dagster_env(config), cwd=config.repo_root,
    )
    if listed.returncode != 0:
        raise StackError(f"`retkee tenants list` failed: {listed.stderr.strip()}")
    tenants = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()]
    return {t["seller_id"]: t["tenant_id"] for t in tenants}


def onboard_demo_sellers(config: StackConfig, sellers: tuple[DemoSeller, ...] = DEMO_SELLERS) -> None:
    onboarded = active_tenants(config)
    for seller in sellers:
        token = register_seller(config, seller)
        if seller.seller_id in onboarded:
            print(f"seller {seller.seller_id} already onboarded")
            continue
        marketplace_args = [a for m in seller.marketplace_ids for a in ("--marketplace", m)]
        _retkee(config, "tenants", "add", "--seller-id", seller.seller_id, "--region", seller.region,
                *marketplace_args, stdin=token + "\n")


def import_demo_samples(config: StackConfig, sellers: tuple[DemoSeller, ...] = DEMO_SELLERS) -> None:
    """The exchange rates, and each demo seller's unit costs, through the product's own import commands.
    Importing them again on a later run changes nothing the marts show (the latest import of a cost wins)."""
    _retkee(config, "fx", "import", str(FX_SAMPLE))
    tenants = active_tenants(config)
    for seller in sellers:
        if seller.seller_id in tenants:
            _retkee(config, "costs", "import", str(unit_costs_sample(seller)), "--tenant", tenants[seller.seller_id])


def run_demo(config: StackConfig, days: int) -> None:
    ensure_dagster_home(config)
    onboard_demo_sellers(config)
    import_demo_samples(config)
    _retkee(config, "refresh", "--days", str(days))
    _retkee(config, "summary")


def ensure_dagster_home(config: StackConfig) -> None:
    config.dagster_home.mkdir(parents=True, exist_ok=True)
    source = config.repo_root / "dagster.yaml"
    target = config.dagster_home / "dagster.yaml"
    if not target.exists() or target.read_bytes() != source.read_bytes():
        shutil.copyfile(source, target)


def start_ui(config: StackConfig) -> str:
    """Start the Dagster webserver and daemon (supervised by PID); return the UI's URL."""
    ensure_dagster_home(config)
    env = dagster_env(config)
    bindir = Path(sys.executable).parent
    workspace = str(config.repo_root / "workspace.yaml")
    processes.start_process(
        config,
        "dagster-webserver",
        [str(bindir / "dagster-webserver"), "-w", workspace, "-h", "127.0.0.1", "-p", str(config.dagster_port)],
        env=env,
        cwd=config.repo_root,
    )
    processes.start_process(
        config, "dagster-daemon", [str(bindir / "dagster-daemon"), "run", "-w", workspace], env=env,
        cwd=config.repo_root,
    )
    return f"http://127.0.0.1:{config.dagster_port}"
