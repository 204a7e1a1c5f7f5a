"""Streaming a document chunk by chunk: same rows as reading it whole, nothing outside the allowlist landed,
and replaying the landed copy gives exactly what the first load gave."""

import gzip
import string

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.extract.gzip_stream import DamagedDocument
from orchestration.extract.reports import ReportDocument
from orchestration.load.datasets import ORDERS
from orchestration.load.parse import MissingColumnError, parse_document
from orchestration.load.pipeline import read_tsv
from spapi_sandbox.report_columns import ALL_ORDERS as HEADER

CONTEXT = {"day": "2026-11-20"}
PII = ("Springfield", "62704", "123.456.789-09")


def line(order: int, **values) -> str:
    row = dict.fromkeys(HEADER, "")
    row.update({"amazon-order-id": f"111-0000001-{order:07d}", "purchase-date": "2026-11-20T10:11:12+00:00",
                "order-status": "Shipped", "sku": f"SKU-{order % 7}", "quantity": str(1 + order % 3),
                "currency": "USD", "item-price": "19.98", "ship-city": "Springfield", "ship-postal-code": "62704",
                "ship-state": "IL", "cpf": "123.456.789-09"})
    row.update({k.replace("_", "-"): v for k, v in values.items()})
    return "\t".join(row[h] for h in HEADER)


def document(text: str, charset: str = "utf-8") -> ReportDocument:
    return ReportDocument(ORDERS.report_type, "r1", "d1", charset, gzip.compress(text.encode(charset)))


def stream(doc: ReportDocument, chunk_bytes: int):
    chunks = list(read_tsv(doc, ORDERS, ORDERS.allowlist, "tenant t000000000000", CONTEXT, chunk_bytes))
    rows = pl.concat([c.parsed.rows for c in chunks])
    quarantine = pl.concat([c.parsed.quarantine for c in chunks])
    return "".join(c.landed_text for c in chunks), rows, quarantine, chunks


def messy_text() -> str:
    body = [line(i) for i in range(40)]
    body[3] = line(3, quantity="two")  # a value that does not parse
    body[7] = "short\trow\tSpringfield"  # wrong number of fields: no value may be kept
    body[9] = ""  # blank lines are skipped
    body[12] = line(12, amazon_order_id="#UNPARSEABLE-LINE-REMOVED-BY-FIREWALL John Doe")  # looks like a marker
    body[15] = line(14)  # Amazon repeats a line now and then
    return "\r\n".join(["\ufeff" + "\t".join(HEADER), *body]) + "\r\n"


@pytest.mark.parametrize("chunk_bytes", [64, 1000, 1 << 20])
def test_chunked_reading_matches_reading_the_document_whole(chunk_bytes):
    text = messy_text()
    _, rows, quarantine, _ = stream(document(text), chunk_bytes)
    whole = parse_document(text, ORDERS, "t", CONTEXT)
    assert rows.height == whole.rows.height == 36  # 40 lines - blank - short - bad quantity - marker-like
    assert rows.sort("amazon_order_id").equals(whole.rows.sort("amazon_order_id"))
    assert quarantine.height == 3
    reasons = quarantine.sort("line_number")["reason"].to_list()
    assert "quantity" in reasons[0] and reasons[1] == "expected 32 fields, found 3"
    assert reasons[2] == "line removed by the PII firewall"
    assert quarantine.filter(pl.col("reason").str.starts_with("expected"))["fields"].to_list() == [None]


def test_the_landed_text_holds_allowlisted_columns_only_and_replays_to_the_same_result():
    landed, rows, quarantine, chunks = stream(document(messy_text()), 200)
    assert len(chunks) > 10
    for value in (*PII, "John Doe"):
        assert value not in landed
    assert landed.split("\n")[0].split("\t") == [h for h in HEADER if h in ORDERS.allowlist]
    _, replay_rows, replay_quarantine, _ = stream(document(landed), 333)
    assert replay_rows.equals(rows)
    assert replay_quarantine.equals(quarantine)


def test_a_chunk_that_is_not_valid_in_the_declared_charset_is_read_as_cp1252():
    text = "\t".join(HEADER) + "\n" + line(1, product_name="Crème brûlée") + "\n"
    doc = ReportDocument(ORDERS.report_type, "r", "d", "utf-8", gzip.compress(text.encode("cp1252")))
    _, rows, _, _ = stream(doc, 1 << 20)
    assert rows["product_name"].to_list() == ["Crème brûlée"]


def test_an_empty_document_or_a_missing_required_column_fails_before_anything_is_yielded():
    with pytest.raises(MissingColumnError, match="empty document"):
        list(read_tsv(document(""), ORDERS, ORDERS.allowlist, "t", CONTEXT))
    header = [h for h in HEADER if h != "sku"]
    with pytest.raises(MissingColumnError, match="sku"):
        list(read_tsv(document("\t".join(header) + "\n"), ORDERS, ORDERS.allowlist, "t", CONTEXT))


def test_several_gzip_members_are_read_in_order_and_a_cut_or_foreign_document_fails_plainly():
    text = messy_text()
    cut = len(text) // 2
    members = gzip.compress(text[:cut].encode()) + gzip.compress(text[cut:].encode())
    doc = ReportDocument(ORDERS.report_type, "r", "d", "utf-8", members)
    assert stream(doc, 100)[0] == stream(document(text), 100)[0]
    whole = gzip.compress(text.encode())
    for damaged in (whole[:-40], b"amazon-order-id\tsku\n"):
        with pytest.raises(DamagedDocument):
            list(read_tsv(ReportDocument(ORDERS.report_type, "r", "d", "utf-8", damaged), ORDERS, ORDERS.allowlist,
                          "t", CONTEXT))


field_text = st.text(alphabet=string.ascii_letters + string.digits + " .,-:#\u00e9\u00fc", max_size=12)


@st.composite
def documents(draw):
    header = draw(st.permutations(HEADER))
    secret = "PII" + draw(st.text(alphabet=string.ascii_uppercase, min_size=6, max_size=6))
    lines = []
    for _ in range(draw(st.integers(0, 25))):
        values = [secret if h not in ORDERS.allowlist else draw(field_text) for h in header]
        shape = draw(st.sampled_from(["row", "short", "long", "blank"]))
        if shape == "short":
            values = values[: draw(st.integers(1, len(values) - 1))]
        elif shape == "long":
            values = [*values, secret]
        lines.append("" if shape == "blank" else "\t".join(values))
    return secret, "\n".join(["\t".join(header), *lines]) + "\n"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.integers(16, 4000))
def test_no_document_leaks_a_non_allowlisted_value_or_loses_a_line(doc, chunk_bytes):
    secret, text = doc
    landed, rows, quarantine, _ = stream(document(text), chunk_bytes)
    assert secret not in landed
    assert all(secret not in (fields or "") for fields in quarantine["fields"].to_list())
    assert secret not in str(rows.to_dicts())
    assert rows.height + quarantine.height == len([x for x in text.split("\n")[1:] if x.strip()])
    _, replay_rows, replay_quarantine, _ = stream(document(landed), chunk_bytes)
    assert replay_rows.equals(rows) and replay_quarantine.equals(quarantine)
