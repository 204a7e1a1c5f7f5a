"""The fee taxonomy seed is well formed, and docs/marts.md shows exactly the seed."""

from pathlib import Path

import pytest

from orchestration.load.fee_taxonomy import FeeTaxonomy, TaxonomyError, markdown_table, read_taxonomy

DOCS = Path(__file__).resolve().parents[2] / "docs" / "marts.md"


def test_the_committed_seed_reads_and_knows_the_common_fees():
    taxonomy = read_taxonomy()
    assert taxonomy.category("transactions", "Shipment", "Order Payment", "AmazonFees/Commission") == "referral"
    assert taxonomy.category("transactions", "Refund", "Chargeback Refund", "ProductCharges/Principal") \
        == "chargebacks_claims"
    assert taxonomy.category("transactions", "Refund", "Refund Order", "ProductCharges/Principal") == "refunds"
    assert taxonomy.category("settlements", "FBAFees", None, "FBA Inventory Storage Fee", "Base fee") == "storage"
    assert taxonomy.category("settlements", "other-transaction", None, "other-transaction", "Storage Fee") == "storage"
    assert taxonomy.category("financial_events", "Shipment", None, "Fee", "Commission") == "referral"
    assert not taxonomy.knows("transactions", "Shipment", "", "AmazonFees/SomethingNew")


def test_a_key_mapped_twice_is_refused():
    row = {"source": "transactions", "transaction_type": "Shipment", "transaction_description": "",
           "amount_type": "AmazonFees/Commission", "amount_description": "", "category": "referral"}
    with pytest.raises(TaxonomyError, match="mapped twice"):
        FeeTaxonomy([row, {**row, "category": "other"}])


def test_docs_show_the_seed_as_it_is():
    text = DOCS.read_text()
    shown = text.split("<!-- fee taxonomy: generated -->\n", 1)[1].split("<!-- fee taxonomy: end -->", 1)[0]
    assert shown == markdown_table()
