"""How old each dataset's data may get: the catalogue's cap, lowered by the operator's settings, as cutoff days.

A dataset's cap is `max_age_months` in the catalogue (orchestration/load/datasets.py; Amazon's 18 months
unless a recorded legal basis allows longer). An operator may lower it:

- `RETKEE_RETENTION_MONTHS=N`: every dataset without a legal basis (a dataset kept because a statute
  requires it keeps its statute's period: lowering it is a decision about that law, made by name);
- `RETKEE_RETENTION_MONTHS_<DATASET>=N` (e.g. `RETKEE_RETENTION_MONTHS_ORDERS=12`): that dataset only.

A setting above what the policy allows is refused (`RetentionCapRefused`), never clamped, and so is one that
names no dataset (a typo would otherwise silently keep data for 18 months). Everything here is a pure
function of the catalogue, the settings and a given `today`, so tests inject the day.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from orchestration.load.datasets import DATASETS, Dataset
from orchestration.retain.policy import (
    MAX_AGE_DATASET_ENV_PREFIX,
    MAX_AGE_ENV,
    LegalBasis,
    PolicyError,
    check_max_age,
    months_setting,
    oldest_day_kept,
)


@dataclass(frozen=True)
class AgeCap:
    """One dataset's maximum age as it applies now, and where it comes from."""

    dataset: str
    months: int
    legal_basis: LegalBasis | None
    source: str  # "catalogue" or the setting that lowered it

    def oldest_day_kept(self, today: date) -> date:
        return oldest_day_kept(today, self.months)

    def expired(self, day: date, today: date) -> bool:
        """Whether `day` is older than the cap (by calendar months from `today`)."""
        return day < self.oldest_day_kept(today)


class BeyondRetentionCap(PolicyError):
    """A day older than a dataset's cap was asked for: nothing is extracted for it. Structured, so the caller
    decides by its fields (never by its message)."""

    def __init__(self, *, datasets: tuple[str, ...], day: date, oldest_day_kept: date, months: int):
        self.datasets, self.day, self.oldest_day_kept, self.months = datasets, day, oldest_day_kept, months
        super().__init__(
            f"{day} is older than the retention cap of {', '.join(datasets)} ({months} months: the oldest day "
            f"kept is {oldest_day_kept}); it is not extracted (docs/retention.md)")


def _dataset_setting(name: str) -> str:
    return f"{MAX_AGE_DATASET_ENV_PREFIX}{name.upper()}"


def age_caps(environ: Mapping[str, str] | None = None,
             datasets: Mapping[str, Dataset] = DATASETS) -> dict[str, AgeCap]:
    """Every dataset's cap under the current settings; a setting the policy does not allow is refused."""
    environ = os.environ if environ is None else environ
    known = {_dataset_setting(name): name for name in datasets}
    unknown = sorted(k for k in environ if k.startswith(MAX_AGE_DATASET_ENV_PREFIX) and k not in known)
    if unknown:
        raise PolicyError(f"{', '.join(unknown)} names no dataset; the datasets are: "
                          f"{', '.join(_dataset_setting(n) for n in datasets)}")
    overall_value = environ.get(MAX_AGE_ENV, "").strip()
    overall = months_setting(MAX_AGE_ENV, overall_value) if overall_value else None
    caps = {}
    for name, dataset in datasets.items():
        cap = AgeCap(name, dataset.max_age_months, dataset.legal_basis, "catalogue")
        if overall is not None and dataset.legal_basis is None:
            check_max_age(name, overall, None, where=MAX_AGE_ENV)
            if overall < cap.months:
                cap = AgeCap(name, overall, None, MAX_AGE_ENV)
        setting = _dataset_setting(name)
        value = environ.get(setting, "").strip()
        if value:
            months = check_max_age(name, months_setting(setting, value), dataset.legal_basis, where=setting)
            cap = AgeCap(name, months, dataset.legal_basis, setting)
        caps[name] = cap
    return caps


def oldest_day_kept_of(dataset_names: Iterable[str], today: date, caps: Mapping[str, AgeCap]) -> date:
    """The first day every one of these datasets may hold. Datasets that Amazon sends in one document (sales
    and traffic by date and by SKU) are extracted and landed together, so they follow the shortest cap."""
    return max(caps[name].oldest_day_kept(today) for name in dataset_names)


def refuse_beyond_cap(dataset_names: Iterable[str], day: date, today: date,
                      caps: Mapping[str, AgeCap] | None = None) -> None:
    """Raise BeyondRetentionCap if `day` is older than the cap of any of these datasets."""
    names = tuple(dataset_names)
    caps = age_caps() if caps is None else caps
    oldest = oldest_day_kept_of(names, today, caps)
    if day < oldest:
        shortest = min(caps[name].months for name in names)
        raise BeyondRetentionCap(datasets=names, day=day, oldest_day_kept=oldest, months=shortest)


def partitions_start(today: date, caps: Mapping[str, AgeCap] | None = None) -> date:
    """The first day partition that exists: today minus the largest cap, so nothing older is ever requested."""
    caps = age_caps() if caps is None else caps
    return min(cap.oldest_day_kept(today) for cap in caps.values())
