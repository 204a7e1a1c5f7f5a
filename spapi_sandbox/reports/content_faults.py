"""Document content faults: the ways real report files differ from their documented shape.

Every fault keeps each real row intact and present, so a client that parses by header name, skips
unparseable lines and de-duplicates by key still recovers exactly the truth.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..world.rng import stream

EXTRA_COLUMN = ("signature-confirmation-recommended", "false")
# Columns a report may silently drop; all are empty or optional in the generated data.
DROPPABLE = ("order-channel", "promotion-id", "zshop-boldface", "ship-address-3", "bill-address-3")


def apply_content_faults(
    header: list[str], rows: Iterator[list[str]], faults: list[str], key: str
) -> tuple[list[str], Iterator[list[str]]]:
    order = list(range(len(header)))
    extra_at = None
    if "missing_column" in faults:
        drop = next((header.index(c) for c in DROPPABLE if c in header), len(header) - 1)
        order.remove(drop)
    if "reordered_columns" in faults:
        stream(key, "reorder").shuffle(order)
    if "extra_column" in faults:
        extra_at = min(5, len(order))
    new_header = [header[i] for i in order]
    if extra_at is not None:
        new_header.insert(extra_at, EXTRA_COLUMN[0])

    def reshaped() -> Iterator[list[str]]:
        for n, row in enumerate(rows):
            out = [row[i] for i in order]
            if extra_at is not None:
                out.insert(extra_at, EXTRA_COLUMN[1])
            yield out
            if "duplicate_rows" in faults and n % 20 == 3:
                yield out
            if "malformed_rows" in faults and n % 50 == 7:
                yield out[:3] + ["#MALFORMED"]

    return new_header, reshaped()
