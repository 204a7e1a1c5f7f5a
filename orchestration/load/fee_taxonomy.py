"""Which money lines the fee taxonomy knows: its keys, read from the taxonomy's one home, the dbt seed.

The seed (dbt_project/seeds/fee_taxonomy.csv) maps every spelling Amazon uses for a fee or a transaction
(Finances 2024-06-19 breakdown paths, Finances v0 line types, settlement report triples) to one P&L category;
dbt joins it to the money lines. The loader needs only to know whether a line is mapped at all, so that a
line Amazon invented since the seed was written is marked `unclassified` when it lands (and counted in the
asset's metadata) instead of being dropped or silently booked as something else.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from orchestration.errors import RetkeeError

SEED_PATH = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "fee_taxonomy.csv"
SEED_COLUMNS = ("source", "transaction_type", "transaction_description", "amount_type", "amount_description",
                "category")
# Where each spelling comes from (the seed's `source` column).
TRANSACTIONS = "transactions"  # Finances 2024-06-19 listTransactions: amount_type is the breakdown path
FINANCIAL_EVENTS = "financial_events"  # Finances v0: amount_type is the line kind, amount_description its type
SETTLEMENTS = "settlements"  # settlement report: transaction-type / amount-type / amount-description
SOURCES = (TRANSACTIONS, FINANCIAL_EVENTS, SETTLEMENTS)
# An empty transaction_description in the seed matches every description of that transaction type.
ANY_DESCRIPTION = ""
# The categories and what the P&L does with each live in dbt_project/dbt_project.yml (vars: pnl_categories); a dbt test
# checks that every category of the seed is one of them.
# A breakdown path joins the breakdown types from the top of the tree to the leaf.
PATH_SEPARATOR = "/"


class TaxonomyError(RetkeeError, ValueError):
    """The seed is malformed: a column is missing, a source is unknown, a key is mapped twice."""


@dataclass(frozen=True)
class TaxonomyKey:
    source: str
    transaction_type: str
    transaction_description: str
    amount_type: str
    amount_description: str


class FeeTaxonomy:
    def __init__(self, rows: list[dict[str, str]]) -> None:
        self.categories: dict[TaxonomyKey, str] = {}
        for number, row in enumerate(rows, start=2):
            missing = [c for c in SEED_COLUMNS if c not in row]
            if missing:
                raise TaxonomyError(f"fee taxonomy line {number}: columns {missing} missing")
            if row["source"] not in SOURCES:
                raise TaxonomyError(f"fee taxonomy line {number}: unknown source {row['source']!r}")
            if not row["category"]:
                raise TaxonomyError(f"fee taxonomy line {number}: no category")
            key = TaxonomyKey(*(row[c] or "" for c in SEED_COLUMNS[:5]))
            if key in self.categories:
                raise TaxonomyError(f"fee taxonomy line {number}: {key} is mapped twice")
            self.categories[key] = row["category"]

    def category(self, source: str, transaction_type: str | None, description: str | None, amount_type: str | None,
                 amount_description: str | None = "") -> str | None:
        """The line's category; a row naming the description wins over the row for any description."""
        for wanted in ((description or ""), ANY_DESCRIPTION):
            key = TaxonomyKey(source, transaction_type or "", wanted, amount_type or "", amount_description or "")
            if key in self.categories:
                return self.categories[key]
        return None

    def knows(self, *args: str | None) -> bool:
        return self.category(*args) is not None


def read_taxonomy(path: Path = SEED_PATH) -> FeeTaxonomy:
    with path.open(newline="", encoding="utf-8") as handle:
        return FeeTaxonomy(list(csv.DictReader(handle)))


@cache
def fee_taxonomy() -> FeeTaxonomy:
    """The committed seed, read once per process."""
    return read_taxonomy()


def markdown_table(path: Path = SEED_PATH) -> str:
    """The seed as docs/marts.md shows it: per category, every spelling from each source (generated, so the
    docs cannot drift from the seed: `python -m orchestration.load.fee_taxonomy`)."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    spellings: dict[str, dict[str, list[str]]] = {}
    for row in rows:
        if row["source"] == TRANSACTIONS:
            described = f" ({row['transaction_description']})" if row["transaction_description"] else ""
            text = f"{row['transaction_type']}{described}: {row['amount_type']}"
        elif row["source"] == FINANCIAL_EVENTS:
            text = f"{row['transaction_type']} {row['amount_type']} {row['amount_description']}"
        else:
            text = f"{row['transaction_type']} / {row['amount_type']} / {row['amount_description']}"
        by_source = spellings.setdefault(row["category"], {s: [] for s in SOURCES})
        by_source[row["source"]].append(f"`{text}`")
    lines = ["| category | Finances 2024-06-19 (type (description): breakdown path) | Finances v0 (event, line, type) "
             "| settlement (transaction-type / amount-type / amount-description) |", "|---|---|---|---|"]
    for category, by_source in spellings.items():
        lines.append(f"| `{category}` | " + " | ".join(", ".join(by_source[s]) or "-" for s in SOURCES) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
