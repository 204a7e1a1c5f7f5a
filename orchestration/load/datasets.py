"""The datasets we extract and, for each, the explicit column allowlist (the PII firewall's rule book).

A column not listed here never leaves memory: buyer names, e-mails, phones, street addresses, cities,
postal codes and tax ids are simply not in any allowlist. Location is kept no finer than state/country.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

MONEY = pl.Decimal(14, 2)


@dataclass(frozen=True)
class Column:
    source: str  # header name in Amazon's document
    name: str  # column name in our raw table
    dtype: pl.DataType
    required: bool = False  # a row without a value here is quarantined
    sql_type: str = "text"


@dataclass(frozen=True)
class Dataset:
    name: str  # raw table name, also the Dagster asset name
    report_type: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # natural key inside one partition
    partition_column: str | None  # the timestamp column whose UTC day is the partition
    classification: str  # data classification shown in lineage: financial, operational, ...
    default_charset: str = "utf-8"
    known_pii: tuple[str, ...] = field(default=())  # source columns we know carry PII (documentation + tests)

    @property
    def allowlist(self) -> set[str]:
        return {c.source for c in self.columns}


def _money(source: str) -> Column:
    return Column(source, source.replace("-", "_"), MONEY, sql_type="numeric(14,2)")


def _text(source: str, required: bool = False) -> Column:
    return Column(source, source.replace("-", "_"), pl.Utf8, required=required)


ORDERS = Dataset(
    name="orders",
    report_type="GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL",
    columns=(
        _text("amazon-order-id", required=True),
        _text("merchant-order-id"),
        Column("purchase-date", "purchase_date", pl.Datetime("us", "UTC"), True, "timestamptz"),
        Column("last-updated-date", "last_updated_date", pl.Datetime("us", "UTC"), False, "timestamptz"),
        _text("order-status", required=True),
        _text("fulfillment-channel"),
        _text("sales-channel"),
        _text("order-channel"),
        _text("ship-service-level"),
        _text("product-name"),
        _text("sku", required=True),
        _text("asin"),
        _text("item-status"),
        Column("quantity", "quantity", pl.Int64, True, "bigint"),
        _text("currency"),
        _money("item-price"),
        _money("item-tax"),
        _money("shipping-price"),
        _money("shipping-tax"),
        _money("gift-wrap-price"),
        _money("gift-wrap-tax"),
        _money("item-promotion-discount"),
        _money("ship-promotion-discount"),
        _text("ship-state"),
        _text("ship-country"),
        _text("promotion-ids"),
        Column("is-business-order", "is_business_order", pl.Boolean, False, "boolean"),
        _text("price-designation"),
    ),
    key=("amazon_order_id", "sku"),
    partition_column="purchase_date",
    classification="financial",
    known_pii=("ship-city", "ship-postal-code", "cpf", "purchase-order-number"),
)

DATASETS: dict[str, Dataset] = {d.name: d for d in (ORDERS,)}
