"""The backfill planner: a tenant's days, turned into the fewest requests each extraction's window rule allows.

Pure logic, no I/O. Amazon serves most history as ranges: an orders or fulfilled-shipments report covers up
to 30 days, a sales-and-traffic report any range at DAY granularity, a listTransactions window 180 days.
Asking one day at a time, as a daily run does, would cost one createReport per day per dataset (about
27 hours at the published 1/min for 18 months). The planner cuts the days Amazon can serve into runs of
consecutive days and each run into windows of at most the extraction's `WindowRule.max_days`, so a window
is one request per marketplace (plus its pages). Daily partitions stay the unit of status and lineage:
each window's document is split back into its days (extract/windows.py), and each day is replaced as a
unit.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class WindowRule:
    """How many consecutive UTC days one request of an extraction may cover, and Amazon's reason."""

    max_days: int
    why: str

    def __post_init__(self) -> None:
        if self.max_days < 1:
            raise ValueError(f"a window covers at least one day (got {self.max_days})")


ONE_DAY = WindowRule(1, "one request per UTC day (a snapshot: Amazon serves only the present, so only today)")


@dataclass(frozen=True)
class Window:
    """One request's range: the UTC days first_day..last_day, both included."""

    first_day: date
    last_day: date

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range((self.last_day - self.first_day).days + 1)]

    def __str__(self) -> str:
        if self.first_day == self.last_day:
            return self.first_day.isoformat()
        return f"{self.first_day.isoformat()}..{self.last_day.isoformat()}"


def days_between(first_day: date, last_day: date) -> list[date]:
    if last_day < first_day:
        raise ValueError(f"the range ends ({last_day}) before it starts ({first_day})")
    return Window(first_day, last_day).days


def plan_windows(days: Iterable[date], rule: WindowRule, alone: Collection[date] = ()) -> list[Window]:
    """The fewest windows of at most `rule.max_days` consecutive days that cover exactly `days`.

    A gap (a day Amazon cannot serve, or one not asked for) ends a window: a window never asks for a day
    that is not wanted, so a partition outside the request is never replaced. A day in `alone` gets a window
    of its own. Windows are returned oldest first, each as long as the rule allows, the last one of a run
    possibly shorter.
    """
    ordered: Sequence[date] = sorted(set(days))
    windows: list[Window] = []
    start = previous = None
    for day in ordered:
        if start is None:
            start = previous = day
            continue
        if (day - previous).days == 1 and (day - start).days < rule.max_days and day not in alone \
                and previous not in alone:
            previous = day
            continue
        windows.append(Window(start, previous))
        start = previous = day
    if start is not None:
        windows.append(Window(start, previous))
    return windows


def restated_days(today: date, lookback_days: int) -> list[date]:
    """The past days a daily run asks for again because Amazon restates them (oldest first, today excluded)."""
    return [today - timedelta(days=n) for n in range(lookback_days, 0, -1)]


def split_among(windows: Sequence[Window], parts: int) -> list[list[Window]]:
    """The windows in at most `parts` runs of consecutive windows, as even as they come (oldest first).

    A backfill loads each run on its own thread, so one extraction's loading is not one long chain; the
    windows themselves (and so the calls) do not change."""
    if parts < 1:
        raise ValueError(f"at least one part (got {parts})")
    count = min(parts, len(windows))
    size, extra = divmod(len(windows), count) if count else (0, 0)
    runs, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        runs.append(list(windows[start:end]))
        start = end
    return runs
