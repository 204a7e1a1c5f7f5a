"""One money world, three views that agree to the cent: Finances v0 (every event list), Finances 2024-06-19
transactions and the settlement V2 flat file, per settlement period and per category, read only from the
raw API answers. The categories are named here from Amazon's labels (docs/amazon/spapi-money.md section 3
and the contract in docs/sandbox.md "Money world"), not from the sandbox's code."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sp_api.api import Finances, FinancesV20240619

from .conftest import US
from .test_models import check
from .test_transactions import all_transactions, leaves, money

FR = "A13V1IB3VIYZZH"
SETTLEMENT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
ORDER_KINDS = {
    "Order Payment": "Order",
    "Refund Order": "Refund",
    "Chargeback Refund": "Chargeback",
    "A-to-z Guarantee Refund": "GuaranteeClaim",
}
SETTLEMENT_ORDER_KINDS = {
    "Order": "Order",
    "Refund": "Refund",
    "Chargeback Refund": "Chargeback",
    "A-to-z Guarantee Refund": "GuaranteeClaim",
}
V0_ITEM_LISTS = {
    "ShipmentEventList": "Order",
    "RefundEventList": "Refund",
    "ChargebackEventList": "Chargeback",
    "GuaranteeClaimEventList": "GuaranteeClaim",
}
V0_SERVICE_FEES = {
    "FBAStorageFee": "storage",
    "FBALongTermStorageFee": "aged surcharge",
    "Subscription": "subscription",
    "FBAInboundPlacementServiceFee": "inbound placement",
}
TRANSACTION_DESCRIPTIONS = {
    "FBAStorageBilling": "storage",
    "FBALongTermStorageBilling": "aged surcharge",
    "Subscription": "subscription",
    "FBAInboundPlacementServiceFee": "inbound placement",
    "Cost of Advertising": "advertising",
    "Coupon Fee": "coupons",
    "Deal Fee": "deals",
    "Removal Order": "removal",
    "Disposal Order": "disposal",
    "FBAInventoryReimbursement": "reimbursement",
    "ReimbursementClawback": "clawback",
    "CurrentReserveAmount": "reserve withheld",
    "PreviousReserveAmountBalance": "reserve released",
}
# Settlement labels, old and new formats (spapi-money.md section 3).
SETTLEMENT_LABELS = {
    "Storage Fee": "storage",
    "FBA Inventory Storage Fee": "storage",
    "StorageRenewalBilling": "aged surcharge",
    "FBA Long Term Storage Fee": "aged surcharge",
    "Subscription Fee": "subscription",
    "FBA Inbound Placement Service Fee": "inbound placement",
    "Cost of Advertising": "advertising",
    "CouponRedemptionFee": "coupons",
    "Coupon Participation Fee": "coupons",
    "Coupon Performance Based Fee": "coupons",
    "Lightning Deal Fee": "deals",
    "Deal Participation Fee": "deals",
    "Deal Performance Based Fee": "deals",
    "RemovalComplete": "removal",
    "FBA Removal Order: Return Fee": "removal",
    "DisposalComplete": "disposal",
    "FBA Removal Order: Disposal Fee": "disposal",
    "WAREHOUSE_DAMAGE": "reimbursement",
    "WAREHOUSE_LOST": "reimbursement",
    "COMPENSATED_CLAWBACK": "clawback",
    "Current Reserve Amount": "reserve withheld",
    "Previous Reserve Amount Balance": "reserve released",
}
OLD_ONLY = {"Storage Fee", "StorageRenewalBilling", "RemovalComplete", "DisposalComplete"}
NEW_ONLY = {
    "FBA Inventory Storage Fee",
    "FBA Long Term Storage Fee",
    "FBA Removal Order: Return Fee",
    "FBA Removal Order: Disposal Fee",
}


def d(value) -> Decimal:
    return Decimal(str(value))


def v0_categories(pages: list[dict], currency: str) -> dict:
    out: dict = defaultdict(Decimal)

    def add(key, amount):
        if amount["CurrencyCode"] == currency:
            out[key] += d(amount["CurrencyAmount"])

    for page in pages:
        events = page["FinancialEvents"]
        for list_name, kind in V0_ITEM_LISTS.items():
            for event in events.get(list_name, []):
                for item in event.get("ShipmentItemList") or event.get("ShipmentItemAdjustmentList") or []:
                    for c in item.get("ItemChargeList", []) + item.get("ItemChargeAdjustmentList", []):
                        add((kind, c["ChargeType"]), c["ChargeAmount"])
                    for f in item.get("ItemFeeList", []) + item.get("ItemFeeAdjustmentList", []):
                        add((kind, f["FeeType"]), f["FeeAmount"])
                    for p in item.get("PromotionList", []) + item.get("PromotionAdjustmentList", []):
                        add((kind, "Promotion"), p["PromotionAmount"])
        for event in events.get("ServiceFeeEventList", []):
            assert "PostedDate" not in event, "Amazon's ServiceFeeEvent has no PostedDate"
            for f in event["FeeList"]:
                add(V0_SERVICE_FEES[f["FeeType"]], f["FeeAmount"])
        for event in events.get("ProductAdsPaymentEventList", []):
            assert d(event["baseValue"]["CurrencyAmount"]) + d(event["taxValue"]["CurrencyAmount"]) == d(
                event["transactionValue"]["CurrencyAmount"]
            )
            add("advertising", event["transactionValue"])
        for event in events.get("CouponPaymentEventList", []):
            add("coupons", event["TotalAmount"])
        for event in events.get("SellerDealPaymentEventList", []):
            add("deals", event["totalAmount"])
        for event in events.get("RemovalShipmentEventList", []):
            for item in event["RemovalShipmentItemList"]:
                add(event["TransactionType"].lower(), item["FeeAmount"])
                add(event["TransactionType"].lower(), item["Revenue"])
        for event in events.get("AdjustmentEventList", []):
            kind = {"FBAInventoryReimbursement": "reimbursement", "ReimbursementClawback": "clawback"}.get(
                event["AdjustmentType"]
            )
            if event["AdjustmentType"] == "ReserveEvent":
                kind = "reserve withheld" if event["AdjustmentAmount"]["CurrencyAmount"] < 0 else "reserve released"
            add(kind, event["AdjustmentAmount"])
    return {k: v for k, v in out.items() if v or k}


def transaction_categories(transactions: list[dict]) -> dict:
    out: dict = defaultdict(Decimal)
    for t in transactions:
        kind = ORDER_KINDS.get(t["description"])
        if kind is None:
            out[TRANSACTION_DESCRIPTIONS[t["description"]]] += money(t["totalAmount"])
            continue
        for path, amount in leaves(t["breakdowns"]):
            name = {"ProductCharges": path[1], "Promotions": "Promotion", "AmazonFees": path[1]}[path[0]]
            out[(kind, name)] += amount
    return dict(out)


def settlement_categories(rows: list[dict]) -> dict:
    out: dict = defaultdict(Decimal)
    for r in rows:
        kind = SETTLEMENT_ORDER_KINDS.get(r["transaction-type"])
        amount = Decimal(r["amount"])
        if kind is not None:
            name = {
                "ItemPrice": {"Shipping": "ShippingCharge"}.get(r["amount-description"], r["amount-description"]),
                "Promotion": "Promotion",
                "ItemFees": r["amount-description"],
            }[r["amount-type"]]
            out[(kind, name)] += amount
        elif r["amount-type"] in ("other-transaction", "FBA Inventory Reimbursement"):
            out[SETTLEMENT_LABELS[r["amount-description"]]] += amount
        else:
            out[SETTLEMENT_LABELS[r["amount-type"]]] += amount
    return dict(out)


def nonzero(categories: dict) -> dict:
    return {k: v for k, v in categories.items() if v}


@pytest.fixture(
    scope="module",
    params=[{"settlement_labels": "old"}, {"settlement_labels": "new", "deferred_payments": True}],
    ids=["old-labels", "new-labels-deferred"],
)
def views(request, sandbox):
    """For the latest settlement of each marketplace: its rows, v0 pages over its period, and its transactions."""
    profile = {"orders_per_day": 15, "skus": 30, **request.param}
    seller = sandbox.new_seller([US, FR], profile=profile)
    reports = sandbox.reports(seller["refresh_token"])
    finances = sandbox.client(Finances, seller["refresh_token"])
    transactions = sandbox.client(FinancesV20240619, seller["refresh_token"])
    out = []
    for marketplace_id in (US, FR):
        listed = reports.get_reports(reportTypes=[SETTLEMENT], marketplaceIds=[marketplace_id], pageSize=100)
        report = listed.payload["reports"][0]
        document = reports.get_report_document(report["reportDocumentId"], download=True).payload["document"]
        lines = list(csv.reader(io.StringIO(document), delimiter="\t", quoting=csv.QUOTE_NONE))
        rows = [dict(zip(lines[0], line, strict=True)) for line in lines[1:]]
        start, end = report["dataStartTime"], report["dataEndTime"]
        pages, token = [], None
        while True:
            args = dict(PostedAfter=start, PostedBefore=end, MaxResultsPerPage=100)
            payload = finances.list_financial_events(**args, **({"NextToken": token} if token else {})).payload
            pages.append(payload)
            token = payload.get("NextToken")
            if not token:
                break
        # Deferred payments ship up to 12 days before they mature into this period: read from earlier.
        early = (dt.datetime.fromisoformat(start.replace("Z", "+00:00")) - dt.timedelta(days=14)).isoformat()
        txns, _ = all_transactions(transactions, postedAfter=early, postedBefore=end, marketplaceId=marketplace_id)
        out.append((marketplace_id, rows, pages, txns))
    return seller, profile, out


def test_every_settlement_agrees_with_v0_and_transactions_per_category_to_the_cent(views):
    _, _, per_marketplace = views
    seen: set = set()
    for marketplace_id, rows, pages, txns in per_marketplace:
        summary, lines = rows[0], rows[1:]
        currency = summary["currency"]
        settlement_id = summary["settlement-id"]
        mine = [
            t
            for t in txns
            if {"relatedIdentifierName": "SETTLEMENT_ID", "relatedIdentifierValue": settlement_id}
            in t["relatedIdentifiers"]
        ]
        in_file = settlement_categories(lines)
        from_v0 = v0_categories(pages, currency)
        from_transactions = transaction_categories(mine)
        assert nonzero(in_file) == nonzero(from_v0) == nonzero(from_transactions), marketplace_id
        total = Decimal(summary["total-amount"])
        assert total == sum(in_file.values()) == sum(from_v0.values()) == sum(money(t["totalAmount"]) for t in mine)
        assert in_file["reserve withheld"] < 0 < in_file["reserve released"]
        assert in_file[("Order", "Commission")] < 0
        seen |= set(nonzero(in_file))
    # Ads are invoiced every 1-31 days, storage monthly: a 14-day period need not hold them (a month does,
    # see test_transactions); coupons run every week, refunds and France's digital services fee every day.
    for category in ("coupons", ("Refund", "RefundCommission"), ("Order", "DigitalServicesFee")):
        assert category in seen, category


def test_the_reserve_withheld_by_one_settlement_is_released_by_the_next(sandbox, views):
    seller, _, _ = views
    reports = sandbox.reports(seller["refresh_token"])
    listed = reports.get_reports(reportTypes=[SETTLEMENT], marketplaceIds=[US], pageSize=100).payload["reports"]
    reserves = []
    for report in sorted(listed, key=lambda r: r["dataStartTime"])[-3:]:
        document = reports.get_report_document(report["reportDocumentId"], download=True).payload["document"]
        lines = list(csv.reader(io.StringIO(document), delimiter="\t", quoting=csv.QUOTE_NONE))
        rows = [dict(zip(lines[0], line, strict=True)) for line in lines[2:]]
        held = {r["amount-description"]: Decimal(r["amount"]) for r in rows if "Reserve" in r["amount-description"]}
        reserves.append(held)
    for before, after in zip(reserves, reserves[1:]):
        assert after["Previous Reserve Amount Balance"] == -before["Current Reserve Amount"] > 0


def test_settlement_labels_follow_the_sellers_format_and_eu_fees_bear_vat(views):
    _, profile, per_marketplace = views
    labels = {r["amount-description"] for _, rows, _, _ in per_marketplace for r in rows} | {
        r["amount-type"] for _, rows, _, _ in per_marketplace for r in rows
    }
    taxed = {
        r["amount-type"] for _, rows, _, _ in per_marketplace for r in rows if r["amount-description"] == "Tax on fee"
    }
    if profile["settlement_labels"] == "old":
        # The 2025 coupon and deal fees came with the new shape only.
        assert not labels & NEW_ONLY and taxed <= {
            "Coupon Participation Fee",
            "Coupon Performance Based Fee",
            "Deal Participation Fee",
            "Deal Performance Based Fee",
        }
    else:
        assert not labels & OLD_ONLY
    for marketplace_id, rows, _, txns in per_marketplace:
        vat = {US: Decimal(0), FR: Decimal("0.20")}[marketplace_id]
        fee_nodes = [
            node
            for t in txns
            if t["transactionType"] == "Shipment"
            for item in t["items"]
            for top in item["breakdowns"]
            if top["breakdownType"] == "AmazonFees"
            for node in top["breakdowns"]
        ]
        assert fee_nodes
        for node in fee_nodes:
            children = {c["breakdownType"]: money(c["breakdownAmount"]) for c in node.get("breakdowns", [])}
            if not vat:
                assert not children
                continue
            assert set(children) == {"Base", "Tax"}, node
            assert children["Tax"] == (children["Base"] * vat).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if marketplace_id == FR and profile["settlement_labels"] == "new":
            assert any(r["amount-description"] == "Tax on fee" for r in rows[1:])
        if marketplace_id == FR:
            assert any(r["amount-description"] == "DigitalServicesFee" for r in rows[1:]), "France's DST"


def test_financial_event_groups_are_the_settlements_and_their_deposits(sandbox, views):
    seller, _, per_marketplace = views
    finances = sandbox.client(Finances, seller["refresh_token"])
    for marketplace_id, rows, _, txns in per_marketplace:
        summary = rows[0]
        start = dt.datetime.strptime(summary["settlement-start-date"], "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=dt.UTC)
        payload = finances.list_financial_event_groups(
            FinancialEventGroupStartedAfter=(start - dt.timedelta(seconds=1)).isoformat(),
            FinancialEventGroupStartedBefore=(start + dt.timedelta(seconds=1)).isoformat(),
        ).payload
        check("financesV0.json", "ListFinancialEventGroupsPayload", payload)
        currency = summary["currency"]
        (group,) = [g for g in payload["FinancialEventGroupList"] if g["OriginalTotal"]["CurrencyCode"] == currency]
        assert d(group["OriginalTotal"]["CurrencyAmount"]) == Decimal(summary["total-amount"])
        assert group["ConvertedTotal"] == group["OriginalTotal"]
        assert group["ProcessingStatus"] == "Closed" and group["FundTransferStatus"] in ("Succeeded", "Initiated")
        deposit = dt.datetime.strptime(summary["deposit-date"], "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=dt.UTC)
        assert dt.datetime.fromisoformat(group["FundTransferDate"].replace("Z", "+00:00")) == deposit
        groups_of_settlement = {
            r["relatedIdentifierValue"]
            for t in txns
            if {"relatedIdentifierName": "SETTLEMENT_ID", "relatedIdentifierValue": summary["settlement-id"]}
            in t["relatedIdentifiers"]
            for r in t["relatedIdentifiers"]
            if r["relatedIdentifierName"] == "FINANCIAL_EVENT_GROUP_ID"
        }
        assert groups_of_settlement == {group["FinancialEventGroupId"]}
        transactions = sandbox.client(FinancesV20240619, seller["refresh_token"])
        by_group, _ = all_transactions(
            transactions,
            relatedIdentifierName="FINANCIAL_EVENT_GROUP_ID",
            relatedIdentifierValue=group["FinancialEventGroupId"],
        )
        assert sum(money(t["totalAmount"]) for t in by_group) == Decimal(summary["total-amount"])


# -- the world itself (no server) ---------------------------------------------------------------------------
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def _world(**profile):
    from spapi_sandbox.world import SellerProfile, World

    return World(7, [SellerProfile.from_dict("A1MONEYWORLD", [US, FR], {"skus": 30, **profile})], now=NOW)


def test_money_is_the_same_made_day_by_day_or_over_a_range():
    world = _world()
    whole = [(ev.kind, ev.posted, ev.total()) for ev in world.all_money("A1MONEYWORLD", "2026-09-01", "2026-09-15")]
    days = [
        (ev.kind, ev.posted, ev.total())
        for offset in range(14)
        for ev in world.all_money(
            "A1MONEYWORLD",
            dt.date(2026, 9, 1) + dt.timedelta(days=offset),
            dt.date(2026, 9, 2) + dt.timedelta(days=offset),
        )
    ]
    assert sorted(whole) == sorted(days) and len(whole) > 300
    again = [(ev.kind, ev.posted, ev.total()) for ev in _world().all_money("A1MONEYWORLD", "2026-09-01", "2026-09-15")]
    assert again == whole


def test_a_month_of_a_mid_size_seller_has_realistic_magnitudes():
    world = _world()
    sales: Decimal = Decimal(0)
    per_kind: dict = defaultdict(Decimal)
    count: dict = defaultdict(int)
    for ev in world.all_money("A1MONEYWORLD", "2026-10-01", "2026-11-01", [US]):
        if ev.kind == "Order":
            sales += sum((a for t, a in ev.charges if t == "Principal"), Decimal(0))
        per_kind[ev.kind] += ev.total()
        count[ev.kind] += 1
    assert Decimal("0.05") <= -per_kind["ads"] / sales <= Decimal("0.15") * Decimal("1.3")
    assert Decimal("10") < -per_kind["storage"] < Decimal("1500"), "September's storage, billed in October"
    assert count["subscription"] == 1 and per_kind["subscription"] == Decimal("-39.99")
    assert 1 <= count["reimbursement"] <= 8 and per_kind["reimbursement"] > 0
    assert count["reserve_current"] >= 2 and count["reserve_previous"] >= 2
    storage = [ev for ev in world.all_money("A1MONEYWORLD", "2026-10-01", "2026-11-01", [US]) if ev.kind == "storage"]
    (bill,) = storage
    assert bill.posted.day <= 8 and len({line.sku.fnsku for line in bill.lines}) == len(bill.lines) > 5


def test_the_basic_world_has_only_shipments_and_refunds_with_the_three_old_fees():
    world = _world(money="basic")
    kinds, fees = set(), set()
    for ev in world.all_money("A1MONEYWORLD", "2026-09-01", "2026-09-15"):
        kinds.add(ev.kind)
        fees |= {t for t, _ in ev.fees}
    assert kinds == {"Order", "Refund"}
    assert fees == {"Commission", "FBAPerUnitFulfillmentFee", "RefundCommission"}
