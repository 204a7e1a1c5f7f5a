"""The PII firewall and the parser: allowlisted columns only, by header name, bad rows quarantined."""

import polars as pl
import pytest

from orchestration.load.datasets import ORDERS
from orchestration.load.parse import MissingColumnError, parse_document
from spapi_sandbox.report_columns import ALL_ORDERS as HEADER  # Amazon's documented header


def row(**values) -> dict:
    base = dict.fromkeys(HEADER, "")
    base.update(
        {
            "amazon-order-id": "111-0000001-0000001",
            "purchase-date": "2026-11-20T10:11:12+00:00",
            "order-status": "Shipped",
            "sku": "SKU-1",
            "quantity": "2",
            "currency": "USD",
            "item-price": "19.98",
            "ship-city": "Springfield",
            "ship-postal-code": "62704",
            "ship-state": "IL",
            "cpf": "123.456.789-09",
        }
    )
    base.update({k.replace("_", "-"): v for k, v in values.items()})
    return base


def document(rows: list[dict], header: list[str] = HEADER) -> str:
    lines = ["\t".join(header)] + ["\t".join(r.get(h, "") for h in header) for r in rows]
    return "\n".join(lines) + "\n"


def test_pii_columns_never_leave_the_parser():
    parsed = parse_document(document([row()]), ORDERS, "t")
    values = parsed.rows.to_dicts()[0]
    assert set(parsed.rows.columns) == {c.name for c in ORDERS.columns}
    for pii in ("Springfield", "62704", "123.456.789-09"):
        assert pii not in str(values)
    assert {"ship-city", "ship-postal-code", "cpf", "purchase-order-number"} <= set(parsed.dropped_columns)


def test_columns_are_found_by_name_whatever_their_order():
    reordered = list(reversed(HEADER))
    parsed = parse_document(document([row()], reordered), ORDERS, "t")
    values = parsed.rows.to_dicts()[0]
    assert values["sku"] == "SKU-1"
    assert values["quantity"] == 2
    assert str(values["item_price"]) == "19.98"


def test_extra_columns_are_dropped_and_named():
    header = HEADER + ["buyer-email"]
    parsed = parse_document(document([row(buyer_email="x@example.com")], header), ORDERS, "t")
    assert "buyer-email" in parsed.dropped_columns
    assert "x@example.com" not in str(parsed.rows.to_dicts())


def test_missing_required_column_names_report_column_and_tenant():
    header = [h for h in HEADER if h != "sku"]
    with pytest.raises(MissingColumnError) as err:
        parse_document(document([row()], header), ORDERS, "tenant t0123456789ab, partition 2026-11-20")
    message = str(err.value)
    assert "sku" in message and "t0123456789ab" in message and ORDERS.report_type in message


def test_malformed_rows_are_quarantined_with_a_reason_not_dropped():
    text = document([row(), row(amazon_order_id="111-0000001-0000002", quantity="two")]) + "short\trow\n"
    parsed = parse_document(text, ORDERS, "t")
    assert parsed.rows.height == 1
    reasons = parsed.quarantine["reason"].to_list()
    assert any("quantity" in r for r in reasons)
    assert any("expected 32 fields, found 2" in r for r in reasons)
    # A row with shifted fields keeps no field values at all: a city could have moved into a kept slot.
    short = parsed.quarantine.filter(pl.col("reason").str.contains("found 2"))
    assert short["fields"].to_list() == [None]


def test_money_is_exact_decimal_and_timestamps_are_utc():
    parsed = parse_document(
        document([row(item_price="0.10", purchase_date="2026-11-20T23:30:00-08:00")]), ORDERS, "t"
    )
    values = parsed.rows.to_dicts()[0]
    assert str(values["item_price"]) == "0.10"
    assert values["purchase_date"].isoformat() == "2026-11-21T07:30:00+00:00"


def test_every_known_timestamp_format_parses_even_after_rows_in_the_first_format():
    # Most rows are read with the first format alone; the others are retried in every known format.
    stamps = ["2026-11-20T10:11:12+00:00", "2026-11-20T10:11:12.5+00:00", "2026-11-20 10:11:12+0000",
              "2026-11-20 10:11:12 UTC", "2026-11-20T10:11:12Z", "2026-11-20T10:11:12.5Z", "2026-11-20"]
    rows = [row(amazon_order_id=f"111-0000001-{i:07d}", purchase_date=stamp) for i, stamp in enumerate(stamps)]
    parsed = parse_document(document(rows), ORDERS, "t")
    assert parsed.quarantine.height == 0
    dates = [d.isoformat() for d in parsed.rows["purchase_date"].to_list()]
    assert dates[0] == dates[2] == dates[3] == dates[4] == "2026-11-20T10:11:12+00:00"
    assert dates[1] == dates[5] == "2026-11-20T10:11:12.500000+00:00"
    assert dates[6] == "2026-11-20T00:00:00+00:00"
