"""Property-based tests of the parser and PII firewall: whatever Amazon sends, nothing crashes the loader and
no column outside the allowlist gets through."""

import string

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.load.datasets import ORDERS
from orchestration.load.parse import MissingColumnError, parse_document

ALLOWED = [c.source for c in ORDERS.columns]
REQUIRED = [c.source for c in ORDERS.columns if c.required]
PII_COLUMNS = ["ship-city", "ship-postal-code", "cpf", "buyer-email", "buyer-name", "recipient-name"]

# Field text: anything but the separators, including non-ASCII, quotes and odd whitespace.
field_text = st.text(
    alphabet=st.characters(blacklist_characters="\t\n\r", blacklist_categories=("Cs",)), max_size=30
)
marker = st.text(alphabet=string.ascii_letters, min_size=8, max_size=12).map(lambda s: f"PII{s}")


@st.composite
def documents(draw):
    """A header that holds the required columns, some optional and PII columns, in any order, plus rows
    that are good, ragged or full of junk; PII columns carry a unique marker value."""
    optional = draw(st.lists(st.sampled_from(ALLOWED), unique=True))
    pii = draw(st.lists(st.sampled_from(PII_COLUMNS), min_size=1, unique=True))
    extra = draw(st.lists(st.sampled_from(["x-new-column", "another-one"]), unique=True))
    header = list(dict.fromkeys(REQUIRED + optional + pii + extra))
    header = draw(st.permutations(header))
    secret = draw(marker)
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        shape = draw(st.sampled_from(["good", "junk", "short", "long"]))
        values = []
        for column in header:
            if column in pii:
                values.append(secret)
            elif shape == "good" and column == "quantity":
                values.append(str(draw(st.integers(0, 50))))
            elif shape == "good" and column == "purchase-date":
                values.append("2026-11-20T10:00:00+00:00")
            elif shape == "good" and column in ("amazon-order-id", "sku", "order-status"):
                values.append(draw(st.text(alphabet=string.ascii_letters + "-", min_size=1, max_size=12)))
            else:
                values.append(draw(field_text))
        if shape == "short":
            values = values[: max(1, len(values) // 2)]
        if shape == "long":
            values = values + [secret, "spill"]
        rows.append("\t".join(values))
    return header, secret, "\n".join(["\t".join(header), *rows]) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_no_document_crashes_the_parser_or_leaks_a_non_allowlisted_column(doc):
    header, secret, text = doc
    parsed = parse_document(text, ORDERS, "tenant t000000000000, partition 2026-11-20")
    assert set(parsed.rows.columns) == {c.name for c in ORDERS.columns}
    kept = parsed.rows.select(pl.all().cast(pl.Utf8)).to_dicts()
    assert all(secret not in str(value) for row in kept for value in row.values())
    assert all(secret not in (fields or "") for fields in parsed.quarantine["fields"].to_list())
    total = len([line for line in text.split("\n")[1:] if line.strip()])
    assert parsed.rows.height + parsed.quarantine.height == total  # nothing silently dropped


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(REQUIRED), st.permutations(ALLOWED))
def test_a_missing_required_column_is_always_named(missing, header):
    header = [h for h in header if h != missing]
    try:
        parse_document("\t".join(header) + "\n", ORDERS, "tenant t000000000000")
    except MissingColumnError as exc:
        assert missing in str(exc)
    else:
        raise AssertionError("a missing required column must fail the document")


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=400))
def test_odd_bytes_decoded_leniently_never_crash(blob):
    text = blob.decode("cp1252", errors="replace")
    try:
        parse_document("\t".join(ALLOWED) + "\n" + text, ORDERS, "t")
    except MissingColumnError:
        pass
