"""The sandbox's persisted state: seed, sellers with their refresh tokens and revocations, reports and Data
Kiosk queries.

Kept as one JSON file in ``--state-dir`` (written atomically), so a restart keeps sellers, refresh tokens,
revocations and reports. Refresh tokens are derived from (seed, seller, grant generation): re-registering a
seller under the same seed yields the same token; re-authorizing after a revocation yields a new one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import threading
import time
from pathlib import Path

from . import marketplaces
from .world import SellerProfile, World
from .world.rng import alnum, stream
from .world.traffic import TRAFFIC_RESTATEMENTS

STATE_FILE = "state.json"


class StateError(Exception):
    """The state directory cannot be used as asked (e.g. it belongs to another seed)."""


class SellerInputError(ValueError):
    """A seller registration that the sandbox refuses (unknown marketplace, bad profile)."""


def refresh_token_for(seed: int, seller_id: str, generation: int) -> str:
    digest = hashlib.sha256(f"refresh|{seed}|{seller_id}|{generation}".encode()).digest()
    return "Atzr|IwEB" + base64.urlsafe_b64encode(digest + digest[:12]).decode().rstrip("=")


class SandboxState:
    """Thread-safe view of ``state.json``; every change is written through before the call returns."""

    def __init__(self, state_dir: str | Path, seed: int):
        self.dir = Path(state_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / STATE_FILE
        self._lock = threading.RLock()
        if self.path.exists():
            self.data = json.loads(self.path.read_text())
            if int(self.data["seed"]) != int(seed):
                raise StateError(
                    f"{self.path} was made with --seed {self.data['seed']}, not {seed}: "
                    "its sellers' data would "
                    "silently change. Use the same seed or another --state-dir."
                )
        else:
            self.data = {
                "seed": int(seed),
                "secret": secrets.token_hex(32),
                "sellers": {},
                "reports": {},
                "next_report_number": 0,
                "queries": {},
                "next_query_number": 0,
            }
            self._save()
        self.data.setdefault("queries", {})  # state files from before Data Kiosk have none
        self.data.setdefault("next_query_number", 0)
        self.seed = int(seed)
        self.secret = bytes.fromhex(self.data["secret"])
        self._by_refresh_token = {s["refresh_token"]: sid for sid, s in self.data["sellers"].items()}

    # -- persistence -------------------------------------------------------------------------------------
    def _save(self) -> None:
        # Amazon keeps reports 90 days; so does the state file (plus a day, for reports polled at the edge).
        horizon = time.time() - 91 * 86400
        self.data["reports"] = {k: r for k, r in self.data["reports"].items() if r["createdEpoch"] >= horizon}
        self.data["queries"] = {k: q for k, q in self.data["queries"].items() if q["createdEpoch"] >= horizon}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)

    def save(self) -> None:
        with self._lock:
            self._save()

    # -- sellers -----------------------------------------------------------------------------------------
    def register_seller(
        self, seller_id: str | None, marketplace_ids: list[str], profile: dict | None
    ) -> tuple[dict, bool]:
        """Create a seller, or return the existing one unchanged. Returns (seller, created)."""
        with self._lock:
            if seller_id and seller_id in self.data["sellers"]:
                return dict(self.data["sellers"][seller_id]), False
            if not marketplace_ids:
                raise SellerInputError("marketplace_ids must name at least one marketplace")
            unknown = [m for m in marketplace_ids if m not in marketplaces.MARKETPLACES]
            if unknown:
                raise SellerInputError(
                    f"unknown marketplace ids {unknown}; known: {sorted(marketplaces.MARKETPLACES)}"
                )
            if not seller_id:
                n = len(self.data["sellers"])
                seller_id = "A" + alnum(stream(self.seed, "seller-id", n), 13)
                while seller_id in self.data["sellers"]:
                    n += 1
                    seller_id = "A" + alnum(stream(self.seed, "seller-id", n), 13)
            try:
                SellerProfile.from_dict(seller_id, marketplace_ids, profile)
            except (TypeError, ValueError) as exc:
                raise SellerInputError(f"bad profile: {exc}") from exc
            seller = {
                "seller_id": seller_id,
                "marketplace_ids": list(dict.fromkeys(marketplace_ids)),
                "profile": dict(profile or {}),
                "generation": 0,
                "revoked": False,
                "revoked_at": None,
                "authorized_at": time.time(),
                "refresh_token": refresh_token_for(self.seed, seller_id, 0),
            }
            self.data["sellers"][seller_id] = seller
            self._by_refresh_token[seller["refresh_token"]] = seller_id
            self._save()
            return dict(seller), True

    def seller(self, seller_id: str) -> dict | None:
        with self._lock:
            s = self.data["sellers"].get(seller_id)
            return dict(s) if s else None

    def sellers(self) -> list[dict]:
        with self._lock:
            return [dict(s) for s in self.data["sellers"].values()]

    def seller_by_refresh_token(self, refresh_token: str) -> dict | None:
        with self._lock:
            sid = self._by_refresh_token.get(refresh_token)
            return dict(self.data["sellers"][sid]) if sid else None

    def revoke(self, seller_id: str) -> dict | None:
        """The seller removes the app's authorization: its refresh token and access tokens stop working."""
        with self._lock:
            s = self.data["sellers"].get(seller_id)
            if s is None:
                return None
            if not s["revoked"]:
                s["revoked"], s["revoked_at"] = True, time.time()
                self._save()
            return dict(s)

    def reauthorize(self, seller_id: str) -> dict | None:
        """The seller authorizes the app again: a new refresh token (the old one stays invalid)."""
        with self._lock:
            s = self.data["sellers"].get(seller_id)
            if s is None:
                return None
            self._by_refresh_token.pop(s["refresh_token"], None)
            s["generation"] += 1
            s["refresh_token"] = refresh_token_for(self.seed, seller_id, s["generation"])
            s["revoked"], s["revoked_at"], s["authorized_at"] = False, None, time.time()
            self._by_refresh_token[s["refresh_token"]] = seller_id
            self._save()
            return dict(s)

    def restate_traffic(self, seller_id: str, marketplace_id: str, day: str) -> dict | None:
        """Amazon restates a day's sales and traffic within 72 hours: the day's traffic is drawn anew (its
        revision goes up by one), so every report or query made from now on shows the restated values."""
        with self._lock:
            s = self.data["sellers"].get(seller_id)
            if s is None:
                return None
            restated = s["profile"].setdefault(TRAFFIC_RESTATEMENTS, {})
            key = f"{marketplace_id}|{day}"
            restated[key] = int(restated.get(key, 0)) + 1
            self._save()
            return dict(s)

    def world(self) -> World:
        """The world as the sellers registered now define it (cheap: generation is lazy)."""
        return World(
            self.seed,
            [
                SellerProfile.from_dict(s["seller_id"], s["marketplace_ids"], s["profile"])
                for s in self.sellers()
            ],
        )

    # -- reports -----------------------------------------------------------------------------------------
    def next_report_id(self) -> str:
        with self._lock:
            self.data["next_report_number"] += 1
            n = self.data["next_report_number"]
            return str(50_000_000_000 + n * 7919 % 1_000_000 * 1000 + n % 1000)

    def put_report(self, report: dict) -> None:
        with self._lock:
            self.data["reports"][report["reportId"]] = report
            self._save()

    def put_reports(self, reports: list[dict]) -> None:
        with self._lock:
            for report in reports:
                self.data["reports"][report["reportId"]] = report
            self._save()

    def report(self, report_id: str) -> dict | None:
        with self._lock:
            r = self.data["reports"].get(report_id)
            return dict(r) if r else None

    def reports(self) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self.data["reports"].values()]

    # -- Data Kiosk queries ------------------------------------------------------------------------------
    def next_query_id(self) -> str:
        with self._lock:
            self.data["next_query_number"] += 1
            n = self.data["next_query_number"]
            return str(70_000_000_000 + n * 6007 % 1_000_000 * 1000 + n % 1000)

    def put_query(self, query: dict) -> None:
        with self._lock:
            self.data["queries"][query["queryId"]] = query
            self._save()

    def query(self, query_id: str) -> dict | None:
        with self._lock:
            q = self.data["queries"].get(query_id)
            return dict(q) if q else None

    def queries(self) -> list[dict]:
        with self._lock:
            return [dict(q) for q in self.data["queries"].values()]
