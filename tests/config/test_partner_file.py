"""The partner file: the example loads, every rule names the key path, all problems at once."""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from config.partner_file import (
    ConfigProblem,
    PartnerFile,
    PartnerFileError,
    PerUnitEntry,
    check_partner_data,
    entry_price,
    load_partner_file,
    parse_partner_toml,
    validate_partner_data,
)
from config.prices import GraduatedPrice, PackagePrice, PerUnitPrice, VolumePrice

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme.toml"
BASE: dict[str, Any] = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
DELETE = object()
Edit = Callable[[dict[str, Any]], None]


def _parts(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for token in re.findall(r'"[^"]*"|[^.\[\]]+|\[\d+\]', path):
        if token.startswith("["):
            parts.append(int(token[1:-1]))
        else:
            parts.append(token.strip('"'))
    return parts


def put(path: str, value: object) -> Edit:
    """An edit setting (or, with DELETE, removing) the value at a key path."""

    def edit(data: dict[str, Any]) -> None:
        *head, last = _parts(path)
        node: Any = data
        for part in head:
            if isinstance(part, str) and part not in node:
                node[part] = {}
            node = node[part]
        if value is DELETE:
            del node[last]
        else:
            node[last] = copy.deepcopy(value)

    return edit


def problems(*edits: Edit) -> list[ConfigProblem]:
    data = copy.deepcopy(BASE)
    for edit in edits:
        edit(data)
    return check_partner_data(data)


def assert_problem(found: list[ConfigProblem], path: str, fragment: str) -> None:
    assert any(p.path == path and fragment in p.message for p in found), (
        f"expected {path}: ...{fragment}... in\n" + "\n".join(map(str, found))
    )


# --- the example ---------------------------------------------------------------------------------


def test_example_file_loads_cleanly() -> None:
    partner_file = load_partner_file(EXAMPLE)
    assert isinstance(partner_file, PartnerFile)
    partner = partner_file.partner
    assert (partner.id, partner.currency, partner.timezone) == ("acme", "USD", "America/New_York")
    assert partner.invoice_prefix == "ACME-"
    assert partner.net_terms_days == 15
    assert partner.auto_approve is False
    assert partner.margin_alert_percent == Decimal(30)
    assert partner.finance_emails == ("finance@acme.example",)
    assert partner.branding.primary_color == "#0B5FFF"
    assert partner.late_event_days == 90
    assert partner.grace_period_hours == 24
    assert list(partner_file.usage_types) == ["voice_minutes", "sms"]
    assert partner_file.usage_types["voice_minutes"].precision == 2
    assert partner_file.usage_types["sms"].precision == 0
    assert partner_file.usage_types["sms"].wholesale.unit_price == Decimal("0.0079")  # type: ignore[union-attr]
    growth = partner_file.plans["growth"]
    assert (growth.base_fee, growth.minimum_spend) == (Decimal("99.00"), Decimal("150.00"))
    assert isinstance(growth.prices["voice_minutes"], GraduatedPrice)
    assert isinstance(growth.prices["sms"], PackagePrice)
    assert isinstance(partner_file.plans["starter"].prices["sms"], VolumePrice)
    assert partner_file.plans["unlimited"].prices == {}
    dental = partner_file.clients["dental-co"]
    assert dental.tax is not None and dental.tax.percent == Decimal("8.25")
    assert dental.discount_percent == Decimal(10)
    assert dental.auto_charge is True
    assert dental.status == "active"
    assert partner_file.client_currency("dental-co") == "USD"
    assert partner_file.client_timezone("dental-co") == "America/Chicago"


def test_client_prices_override_the_plan_per_usage_type() -> None:
    partner_file = load_partner_file(EXAMPLE)
    plan = partner_file.effective_plan("dental-co")
    assert plan.name == "Growth"
    voice = plan.prices["voice_minutes"]
    assert isinstance(voice, PerUnitPrice) and voice.unit_price == Decimal("0.11")
    assert plan.prices["sms"] == partner_file.plans["growth"].prices["sms"]
    # the partner's plan itself is untouched
    assert isinstance(partner_file.plans["growth"].prices["voice_minutes"], GraduatedPrice)


def test_plan_override_replaces_the_whole_plan() -> None:
    data = copy.deepcopy(BASE)
    put(
        "clients.dental-co.plan_override",
        {
            "base_fee": "10.00",
            "prices": {"sms": {"model": "per_unit", "unit_price": "0.01"}},
        },
    )(data)
    partner_file = validate_partner_data(data)
    plan = partner_file.effective_plan("dental-co")
    assert plan.name == "Custom plan"
    assert plan.base_fee == Decimal("10.00")
    assert plan.minimum_spend is None
    assert set(plan.prices) == {"sms", "voice_minutes"}  # override plan + client price
    assert partner_file.base_plan("dental-co") is partner_file.plans["growth"]


def test_plan_override_alone_is_enough() -> None:
    data = copy.deepcopy(BASE)
    put("clients.dental-co.plan", DELETE)(data)
    put("clients.dental-co.plan_override", {"name": "Bespoke", "base_fee": "1"})(data)
    partner_file = validate_partner_data(data)
    assert partner_file.base_plan("dental-co") is None
    assert partner_file.effective_plan("dental-co").name == "Bespoke"


def test_optional_sections_and_defaults() -> None:
    text = """
[partner]
id = "solo"
name = "Solo"
currency = "EUR"
timezone = "Europe/Berlin"

[partner.connections.xero]
tenant_name = "Solo GmbH"

[usage_types.chat]
name = "Chat messages"
wholesale = { model = "per_unit", unit_price = "0", effective_from = 2026-01-01 }

[plans.basic]
name = "Basic"
effective_from = 2026-01-01
[plans.basic.prices.chat]
model = "per_unit"
unit_price = "0.01"
block_size = 100
effective_from = "2026-02-01"

[clients.one]
name = "One"
email = "one@example.com"
plan = "basic"
address = "Hauptstr. 1, Berlin"
external_ref = "CRM-1"
status = "suspended"
"""
    partner_file = parse_partner_toml(text)
    partner = partner_file.partner
    assert partner.invoice_prefix == "INV-"
    assert partner.net_terms_days == 30
    assert partner.finance_emails == ()
    connection = partner.connections["xero"]
    assert connection.provider == "xero"
    assert connection.enabled is True
    assert connection.settings == {"tenant_name": "Solo GmbH"}
    price = partner_file.plans["basic"].prices["chat"]
    assert isinstance(price, PerUnitEntry)
    assert str(price.effective_from) == "2026-02-01"
    assert entry_price(price) == PerUnitPrice(
        model="per_unit", unit_price=Decimal("0.01"), block_size=Decimal(100)
    )
    assert not hasattr(entry_price(price), "effective_from")
    client = partner_file.clients["one"]
    assert client.address is not None and client.address.line1 == "Hauptstr. 1, Berlin"
    assert (client.billing_day, client.discount_percent, client.tax) == (1, Decimal(0), None)
    assert partner_file.client_currency("one") == "EUR"
    assert partner_file.client_timezone("one") == "Europe/Berlin"


def test_integers_are_accepted_for_rates_and_amounts() -> None:
    assert problems(put("plans.starter.prices.voice_minutes.unit_price", 1)) == []
    assert problems(put("plans.growth.base_fee", 99)) == []


# --- every rule names its key path --------------------------------------------------------------

G = "plans.growth.prices.voice_minutes"
CV = "clients.dental-co.prices.voice_minutes"
SV = "plans.starter.prices.voice_minutes"
SMS = "plans.growth.prices.sms"
TIERS = [
    {"up_to": 1000, "unit_price": "0.15"},
    {"up_to": 1000, "unit_price": "0.12"},
    {"unit_price": "0.09"},
]

RULES: list[tuple[str, list[Edit], str, str]] = [
    # required keys
    ("partner table", [put("partner", DELETE)], "partner", "required table is missing"),
    ("partner name", [put("partner.name", DELETE)], "partner.name", "required key is missing"),
    ("partner currency", [put("partner.currency", DELETE)], "partner.currency", "required key"),
    ("usage name", [put("usage_types.sms.name", DELETE)], "usage_types.sms.name", "required"),
    (
        "wholesale",
        [put("usage_types.sms.wholesale", DELETE)],
        "usage_types.sms.wholesale",
        "required key is missing",
    ),
    ("plan name", [put("plans.growth.name", DELETE)], "plans.growth.name", "required key"),
    (
        "client email",
        [put("clients.dental-co.email", DELETE)],
        "clients.dental-co.email",
        "required",
    ),
    (
        "client plan",
        [put("clients.dental-co.plan", DELETE)],
        "clients.dental-co.plan",
        "required key is missing (or give plan_override)",
    ),
    ("unit price", [put(f"{SV}.unit_price", DELETE)], f"{SV}.unit_price", "required key"),
    (
        "tier price",
        [put(f"{G}.tiers[1].unit_price", DELETE)],
        f"{G}.tiers[1].unit_price",
        "required",
    ),
    ("package included", [put(f"{SMS}.included", DELETE)], f"{SMS}.included", "required key"),
    (
        "price model",
        [put(f"{SV}.model", DELETE)],
        f"{SV}.model",
        "required key is missing (one of per_unit",
    ),
    (
        "tax percent",
        [put("clients.dental-co.tax.percent", DELETE)],
        "clients.dental-co.tax.percent",
        "required",
    ),
    # unknown keys
    (
        "typo in price",
        [put(f"{SV}.unit_prise", "0.18")],
        f"{SV}.unit_prise",
        "unknown key (did you mean 'unit_price'?)",
    ),
    (
        "typo in partner",
        [put("partner.timezon", "UTC")],
        "partner.timezon",
        "unknown key (did you mean 'timezone'?)",
    ),
    ("typo in section", [put("client", {})], "client", "unknown key (did you mean 'clients'?)"),
    (
        "typo in tier",
        [put(f"{G}.tiers[0].upto", 5)],
        f"{G}.tiers[0].upto",
        "unknown key (did you mean 'up_to'?)",
    ),
    (
        "typo in client",
        [put("clients.dental-co.discount", "5")],
        "clients.dental-co.discount",
        "unknown key",
    ),
    (
        "typo in branding",
        [put("partner.branding.colour", "#000000")],
        "partner.branding.colour",
        "unknown key",
    ),
    # currencies
    (
        "currency code",
        [put("partner.currency", "DOLLAR")],
        "partner.currency",
        "is not an ISO 4217 currency code",
    ),
    (
        "currency case",
        [put("partner.currency", "usd")],
        "partner.currency",
        "write currency codes in capitals",
    ),
    (
        "not a currency",
        [put("clients.dental-co.currency", "XXX")],
        "clients.dental-co.currency",
        "not an ISO 4217",
    ),
    (
        "plan currency",
        [put("plans.unlimited.currency", "EURO")],
        "plans.unlimited.currency",
        "not an ISO 4217",
    ),
    # time zones
    (
        "time zone",
        [put("partner.timezone", "America/NewYork")],
        "partner.timezone",
        "is not an IANA time zone (did you mean 'America/New_York'?)",
    ),
    (
        "client zone",
        [put("clients.dental-co.timezone", "Mars/Base")],
        "clients.dental-co.timezone",
        "not an IANA time zone",
    ),
    (
        "zone path",
        [put("partner.timezone", "/etc/localtime")],
        "partner.timezone",
        "not an IANA time zone",
    ),
    # rates: strings or integers, never floats
    (
        "float rate",
        [put(f"{SV}.unit_price", 0.18)],
        f"{SV}.unit_price",
        'must be written as a string, e.g. "0.18"',
    ),
    (
        "float tier",
        [put(f"{G}.tiers[2].unit_price", 0.09)],
        f"{G}.tiers[2].unit_price",
        "floats are inexact",
    ),
    (
        "float fee",
        [put("plans.growth.base_fee", 99.5)],
        "plans.growth.base_fee",
        "must be written as a string",
    ),
    (
        "float percent",
        [put("clients.dental-co.discount_percent", 10.5)],
        "clients.dental-co.discount_percent",
        "must be written as a string",
    ),
    (
        "float quantity",
        [put(f"{SMS}.included", 1000.5)],
        f"{SMS}.included",
        "must be written as a string",
    ),
    (
        "text rate",
        [put(f"{SV}.unit_price", "cheap")],
        f"{SV}.unit_price",
        "'cheap' is not a decimal number",
    ),
    ("bool rate", [put(f"{SV}.unit_price", True)], f"{SV}.unit_price", "not true/false"),
    (
        "7 places",
        [put(f"{SV}.unit_price", "0.1234567")],
        f"{SV}.unit_price",
        "at most 6 decimal places (got 7)",
    ),
    (
        "wholesale places",
        [put("usage_types.sms.wholesale.unit_price", "0.0000001")],
        "usage_types.sms.wholesale.unit_price",
        "at most 6 decimal places",
    ),
    (
        "negative rate",
        [put(f"{SV}.unit_price", "-0.18")],
        f"{SV}.unit_price",
        "must not be negative",
    ),
    # money exact in minor units
    (
        "base fee cents",
        [put("plans.growth.base_fee", "99.001")],
        "plans.growth.base_fee",
        "more than 2 decimal places, the minor unit of USD",
    ),
    (
        "minimum cents",
        [put("plans.growth.minimum_spend", "150.005")],
        "plans.growth.minimum_spend",
        "minor unit of USD",
    ),
    (
        "yen",
        [
            put("plans.growth.currency", "JPY"),
            put("plans.growth.base_fee", "99.5"),
            put("clients.dental-co.currency", "JPY"),
        ],
        "plans.growth.base_fee",
        "must be a whole number of JPY",
    ),
    (
        "dinar",
        [put("partner.currency", "BHD"), put("plans.growth.base_fee", "1.0005")],
        "plans.growth.base_fee",
        "more than 3 decimal places, the minor unit of BHD",
    ),
    (
        "block price",
        [
            put(
                SMS,
                {"model": "package", "included": 1000, "block_size": 100, "block_price": "1.001"},
            )
        ],
        f"{SMS}.block_price",
        "minor unit of USD",
    ),
    (
        "wholesale block",
        [
            put(
                "usage_types.sms.wholesale",
                {"model": "package", "included": 0, "block_size": 10, "block_price": "0.015"},
            )
        ],
        "usage_types.sms.wholesale.block_price",
        "minor unit of USD",
    ),
    (
        "client block",
        [put(CV, {"model": "package", "included": 5, "block_size": 10, "block_price": "0.015"})],
        f"{CV}.block_price",
        "minor unit of USD",
    ),
    (
        "negative fee",
        [put("plans.growth.base_fee", "-1")],
        "plans.growth.base_fee",
        "must not be negative",
    ),
    # percentages
    (
        "discount > 100",
        [put("clients.dental-co.discount_percent", "100.01")],
        "clients.dental-co.discount_percent",
        "between 0 and 100",
    ),
    (
        "tax < 0",
        [put("clients.dental-co.tax.percent", "-1")],
        "clients.dental-co.tax.percent",
        "between 0 and 100",
    ),
    (
        "margin alert",
        [put("partner.margin_alert_percent", 101)],
        "partner.margin_alert_percent",
        "between 0 and 100",
    ),
    # tiers
    (
        "tier order",
        [put(CV, {"model": "graduated", "tiers": TIERS})],
        f"{CV}.tiers[1].up_to",
        "must be greater than tiers[0].up_to",
    ),
    (
        "tier decreasing",
        [put(f"{G}.tiers[1].up_to", 999)],
        f"{G}.tiers[1].up_to",
        "must be greater than tiers[0].up_to",
    ),
    (
        "volume order",
        [
            put("plans.starter.prices.sms.tiers[0].up_to", 500),
            put(
                "plans.starter.prices.sms.tiers",
                [
                    {"up_to": 500, "unit_price": "1"},
                    {"up_to": 400, "unit_price": "1"},
                    {"unit_price": "1"},
                ],
            ),
        ],
        "plans.starter.prices.sms.tiers[1].up_to",
        "must be greater than tiers[0].up_to",
    ),
    (
        "middle unbounded",
        [put(f"{G}.tiers[1].up_to", DELETE)],
        f"{G}.tiers[1].up_to",
        "required on every tier but the last",
    ),
    (
        "last bounded",
        [put(f"{G}.tiers[2].up_to", 9000)],
        f"{G}.tiers[2].up_to",
        "must be omitted on the last tier",
    ),
    ("no tiers", [put(f"{G}.tiers", [])], f"{G}.tiers", "needs at least one tier"),
    (
        "zero bound",
        [put(f"{G}.tiers[0].up_to", 0)],
        f"{G}.tiers[0].up_to",
        "must be greater than 0",
    ),
    ("tiers not array", [put(f"{G}.tiers", "many")], f"{G}.tiers", "must be an array"),
    # references
    (
        "plan price type",
        [put("plans.growth.prices.fax", {"model": "per_unit", "unit_price": "1"})],
        "plans.growth.prices.fax",
        "unknown usage type 'fax' (declared: sms, voice_minutes",
    ),
    (
        "client price type",
        [put("clients.dental-co.prices.fax", {"model": "per_unit", "unit_price": "1"})],
        "clients.dental-co.prices.fax",
        "unknown usage type 'fax'",
    ),
    (
        "override price type",
        [
            put(
                "clients.dental-co.plan_override",
                {"prices": {"fax": {"model": "per_unit", "unit_price": "1"}}},
            )
        ],
        "clients.dental-co.plan_override.prices.fax",
        "unknown usage type",
    ),
    (
        "client plan ref",
        [put("clients.dental-co.plan", "grwoth")],
        "clients.dental-co.plan",
        "unknown plan 'grwoth' (declared: growth, starter, unlimited",
    ),
    (
        "plan ref type",
        [put("clients.dental-co.plan", 1)],
        "clients.dental-co.plan",
        "must be a string",
    ),
    # billing day and precision
    (
        "billing day 29",
        [put("clients.dental-co.billing_day", 29)],
        "clients.dental-co.billing_day",
        "must be between 1 and 28 (got 29)",
    ),
    (
        "billing day 0",
        [put("clients.dental-co.billing_day", 0)],
        "clients.dental-co.billing_day",
        "between 1 and 28",
    ),
    (
        "billing day text",
        [put("clients.dental-co.billing_day", "1")],
        "clients.dental-co.billing_day",
        "must be an integer",
    ),
    (
        "precision 7",
        [put("usage_types.voice_minutes.precision", 7)],
        "usage_types.voice_minutes.precision",
        "must be at most 6",
    ),
    (
        "precision -1",
        [put("usage_types.voice_minutes.precision", -1)],
        "usage_types.voice_minutes.precision",
        "must be at least 0",
    ),
    (
        "bound precision",
        [put("plans.starter.prices.sms.tiers[0].up_to", "500.5")],
        "plans.starter.prices.sms.tiers[0].up_to",
        "500.5 has more decimal places than usage_types.sms.precision (0)",
    ),
    (
        "block precision",
        [put(f"{SV}.block_size", "0.001")],
        f"{SV}.block_size",
        "more decimal places than usage_types.voice_minutes.precision (2)",
    ),
    # colours and e-mail addresses
    (
        "colour",
        [put("partner.branding.primary_color", "#0B5FF")],
        "partner.branding.primary_color",
        "not a colour in the form #RRGGBB",
    ),
    (
        "colour name",
        [put("partner.branding.primary_color", "blue")],
        "partner.branding.primary_color",
        "#RRGGBB",
    ),
    (
        "client email",
        [put("clients.dental-co.email", "ap@dental")],
        "clients.dental-co.email",
        "'ap@dental' is not a valid e-mail address",
    ),
    (
        "finance email",
        [put("partner.finance_emails", ["finance@acme.example", "nobody"])],
        "partner.finance_emails[1]",
        "not a valid e-mail address",
    ),
    (
        "sender email",
        [put("partner.branding.sender_email", "billing at acme")],
        "partner.branding.sender_email",
        "not a valid e-mail",
    ),
    # document settings
    (
        "pay link http",
        [put("partner.branding.pay_link", "http://pay.acme.example")],
        "partner.branding.pay_link",
        "is not an https:// URL",
    ),
    (
        "pay link script",
        [put("partner.branding.pay_link", "javascript:alert(1)")],
        "partner.branding.pay_link",
        "is not an https:// URL",
    ),
    (
        "pay link too long",
        [put("partner.branding.pay_link", "https://pay.example/" + "a" * 490)],
        "partner.branding.pay_link",
        "at most 500 characters",
    ),
    (
        "tax id too long",
        [put("partner.branding.tax_id", "DE" + "1" * 40)],
        "partner.branding.tax_id",
        "1-40 letters, digits",
    ),
    (
        "tax id markup",
        [put("partner.branding.tax_id", "<b>DE1</b>")],
        "partner.branding.tax_id",
        "a tax registration number",
    ),
    (
        "footer too long",
        [put("partner.branding.footer", "x" * 1001)],
        "partner.branding.footer",
        "at most 1000 characters (got 1001)",
    ),
    (
        "payment instructions empty",
        [put("partner.branding.payment_instructions", "  ")],
        "partner.branding.payment_instructions",
        "must not be empty",
    ),
    (
        "locale unknown",
        [put("partner.locale", "xx")],
        "partner.locale",
        "'xx' is not a locale Babel knows",
    ),
    (
        "locale swapped by babel",
        [put("partner.locale", "en_ZZ")],
        "partner.locale",
        "is not a locale Babel knows",
    ),
    (
        "usage csv not a boolean",
        [put("partner.attach_usage_csv", "no")],
        "partner.attach_usage_csv",
        "",
    ),
    (
        "emails not array",
        [put("partner.finance_emails", "finance@acme.example")],
        "partner.finance_emails",
        "must be an array",
    ),
    # package and per-unit blocks
    (
        "package neither",
        [put(f"{SMS}.overage_unit_price", DELETE)],
        SMS,
        "needs overage_unit_price, or block_size with block_price",
    ),
    (
        "package both",
        [put(f"{SMS}.block_size", 100), put(f"{SMS}.block_price", "1.00")],
        f"{SMS}.overage_unit_price",
        "either overage_unit_price or block_size with block_price, not both",
    ),
    (
        "package no size",
        [put(f"{SMS}.overage_unit_price", DELETE), put(f"{SMS}.block_price", "1.00")],
        f"{SMS}.block_size",
        "required with block_price",
    ),
    (
        "package no price",
        [put(f"{SMS}.overage_unit_price", DELETE), put(f"{SMS}.block_size", 100)],
        f"{SMS}.block_price",
        "required with block_size",
    ),
    ("package negative", [put(f"{SMS}.included", -1)], f"{SMS}.included", "must not be negative"),
    ("per unit block", [put(f"{SV}.block_size", 0)], f"{SV}.block_size", "must be greater than 0"),
    # price models
    (
        "unknown model",
        [put(f"{SV}.model", "per_minute")],
        f"{SV}.model",
        "'per_minute' is not a price model; use one of per_unit, graduated, volume, package",
    ),
    ("price not table", [put(SV, "0.18")], SV, "must be a table"),
    # partner details
    ("partner id", [put("partner.id", "Acme Agency")], "partner.id", "is not a valid identifier"),
    (
        "net terms",
        [put("partner.net_terms_days", -1)],
        "partner.net_terms_days",
        "must be at least 0",
    ),
    (
        "net terms text",
        [put("partner.net_terms_days", "15")],
        "partner.net_terms_days",
        "must be an integer",
    ),
    (
        "auto approve",
        [put("partner.auto_approve", "yes")],
        "partner.auto_approve",
        "must be true or false",
    ),
    (
        "invoice prefix",
        [put("partner.invoice_prefix", "ACME #")],
        "partner.invoice_prefix",
        "at most 20 letters",
    ),
    (
        "late days",
        [put("partner.late_event_days", 5000)],
        "partner.late_event_days",
        "must be at most 3650",
    ),
    (
        "late days negative",
        [put("partner.late_event_days", -1)],
        "partner.late_event_days",
        "must be at least 0",
    ),
    (
        "grace hours",
        [put("partner.grace_period_hours", 2161)],
        "partner.grace_period_hours",
        "must be at most 2160",
    ),
    (
        "grace hours negative",
        [put("partner.grace_period_hours", -1)],
        "partner.grace_period_hours",
        "must be at least 0",
    ),
    (
        "grace hours text",
        [put("partner.grace_period_hours", "24")],
        "partner.grace_period_hours",
        "must be an integer",
    ),
    ("name type", [put("partner.name", 5)], "partner.name", "must be a string"),
    ("empty name", [put("partner.name", "")], "partner.name", "must not be empty"),
    # connections
    (
        "provider",
        [put("partner.connections.books", {"provider": "sage"})],
        "partner.connections.books.provider",
        "'sage' is not allowed; use one of 'quickbooks', 'xero', 'freshbooks' or 'stripe'",
    ),
    (
        "provider missing",
        [put("partner.connections.books", {"realm": "1"})],
        "partner.connections.books.provider",
        "required key is missing",
    ),
    (
        "secrets",
        [put("partner.connections.stripe", {"api_key": "sk_live_x"})],
        "partner.connections.stripe.api_key",
        "credentials do not belong in the partner file",
    ),
    (
        "connection enabled",
        [put("partner.connections.xero", {"enabled": "no"})],
        "partner.connections.xero.enabled",
        "must be true or false",
    ),
    # clients
    (
        "status",
        [put("clients.dental-co.status", "gone")],
        "clients.dental-co.status",
        "'gone' is not allowed; use one of 'active', 'suspended' or 'archived'",
    ),
    (
        "country",
        [put("clients.dental-co.address", {"line1": "1 Main", "country": "USA"})],
        "clients.dental-co.address.country",
        "not a two-letter ISO 3166 country code",
    ),
    (
        "address key",
        [put("clients.dental-co.address", {"street": "1 Main"})],
        "clients.dental-co.address.street",
        "unknown key",
    ),
    (
        "auto charge",
        [put("clients.dental-co.auto_charge", 1)],
        "clients.dental-co.auto_charge",
        "must be true or false",
    ),
    (
        "client currency",
        [put("clients.dental-co.currency", "EUR")],
        "clients.dental-co.currency",
        "the client is billed in EUR but plan 'growth' is priced in USD",
    ),
    (
        "plan currency mismatch",
        [put("plans.growth.currency", "EUR")],
        "clients.dental-co.plan",
        "the client is billed in USD but plan 'growth' is priced in EUR",
    ),
    (
        "override currency",
        [put("clients.dental-co.plan_override", {"currency": "EUR"})],
        "clients.dental-co.plan_override.currency",
        "EUR differs from the client's currency USD",
    ),
    (
        "override fee",
        [
            put("clients.dental-co.currency", "JPY"),
            put("clients.dental-co.plan_override", {"base_fee": "0.5", "currency": "JPY"}),
        ],
        "clients.dental-co.plan_override.base_fee",
        "whole number of JPY",
    ),
    # versions
    (
        "effective date",
        [put("plans.growth.effective_from", "next month")],
        "plans.growth.effective_from",
        "must be a date such as 2025-01-01",
    ),
    (
        "price date",
        [put(f"{SV}.effective_from", "2026-13-01")],
        f"{SV}.effective_from",
        "must be a date",
    ),
    # identifiers and shapes
    (
        "client key",
        [put('clients."Dental Co"', {"name": "D", "email": "d@d.example", "plan": "growth"})],
        'clients."Dental Co"',
        "is not a valid identifier",
    ),
    (
        "usage key",
        [
            put(
                "usage_types.Voice",
                {"name": "V", "wholesale": {"model": "per_unit", "unit_price": "1"}},
            )
        ],
        "usage_types.Voice",
        "is not a valid identifier",
    ),
    ("section type", [put("plans", "growth")], "plans", "must be a table"),
    ("entry type", [put("plans.unlimited", "499")], "plans.unlimited", "must be a table"),
]


@pytest.mark.parametrize(
    ("edits", "path", "fragment"),
    [pytest.param(edits, path, fragment, id=name) for name, edits, path, fragment in RULES],
)
def test_rule_names_the_key_path(edits: list[Edit], path: str, fragment: str) -> None:
    assert_problem(problems(*edits), path, fragment)


def test_the_issue_example_message_exactly() -> None:
    found = problems(put(CV, {"model": "graduated", "tiers": TIERS}))
    assert [str(p) for p in found] == [
        "clients.dental-co.prices.voice_minutes.tiers[1].up_to: must be greater than tiers[0].up_to"
    ]


def test_floats_in_toml_text_are_refused_with_the_reason() -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace('unit_price = "0.18"', "unit_price = 0.18")
    with pytest.raises(PartnerFileError) as info:
        parse_partner_toml(text)
    (problem,) = info.value.problems
    assert problem.path == "plans.starter.prices.voice_minutes.unit_price"
    assert 'e.g. "0.18"' in problem.message and "floats are inexact" in problem.message


def test_a_file_with_several_errors_reports_all_of_them() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in [
        ('currency = "USD"', 'currency = "usd"'),
        ('unit_price = "0.045"', 'unit_prise = "0.045"'),
        ('base_fee = "99.00"', 'base_fee = "99.001"'),
        ('{ up_to = 5000, unit_price = "0.12" }', '{ up_to = 500, unit_price = "0.12" }'),
        ('plan = "growth"', 'plan = "grwoth"'),
        ("billing_day = 1", "billing_day = 31"),
        ('percent = "8.25"', "percent = 8.25"),
        ('email = "ap@dental.example"', 'email = "ap@"'),
    ]:
        assert old in text
        text = text.replace(old, new, 1)
    with pytest.raises(PartnerFileError) as info:
        parse_partner_toml(text, source="acme.toml")
    error = info.value
    assert error.paths == (
        "partner.currency",
        "usage_types.voice_minutes.wholesale.unit_prise",
        "usage_types.voice_minutes.wholesale.unit_price",
        "plans.growth.prices.voice_minutes.tiers[1].up_to",
        "clients.dental-co.email",
        "clients.dental-co.plan",
        "clients.dental-co.billing_day",
        "clients.dental-co.tax.percent",
    )
    text_of_error = str(error)
    assert text_of_error.startswith("acme.toml: 8 problems in the partner file")
    for problem in error.problems:
        assert str(problem) in text_of_error


def test_problems_in_a_broken_section_do_not_hide_other_rules() -> None:
    # the plan's base fee is invalid on its own; its minimum spend and price references are
    # still checked, and so is the client that refers to an unknown plan
    found = problems(
        put("plans.growth.base_fee", 99.5),
        put("plans.growth.minimum_spend", "150.001"),
        put("plans.growth.prices.fax", {"model": "per_unit", "unit_price": "1"}),
        put("clients.dental-co.email", "nope"),
        put("clients.dental-co.plan", "gold"),
    )
    assert [p.path for p in found] == [
        "plans.growth.base_fee",
        "plans.growth.minimum_spend",
        "plans.growth.prices.fax",
        "clients.dental-co.email",
        "clients.dental-co.plan",
    ]


def test_toml_syntax_errors_are_one_problem() -> None:
    with pytest.raises(PartnerFileError) as info:
        parse_partner_toml("[partner\nid = 1")
    (problem,) = info.value.problems
    assert problem.path == ""
    assert problem.message.startswith("not valid TOML:")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(PartnerFileError) as info:
        load_partner_file(tmp_path / "missing.toml")
    assert "cannot read the file" in str(info.value)


def test_not_a_table_at_all() -> None:
    assert [str(p) for p in check_partner_data([1, 2])] == [
        "a partner file must be a table, not an array"
    ]


def test_partner_file_model_validate_enforces_cross_rules() -> None:
    data = copy.deepcopy(BASE)
    put("clients.dental-co.plan", "gold")(data)
    with pytest.raises(ValueError, match="unknown plan 'gold'"):
        PartnerFile.model_validate(data)


def test_validated_file_round_trips_through_its_dump() -> None:
    partner_file = load_partner_file(EXAMPLE)
    again = validate_partner_data(partner_file.model_dump(mode="json"))
    assert again == partner_file


def test_a_section_that_is_not_a_table_is_one_problem() -> None:
    # the client's reference to plan 'growth' is not reported again as an unknown plan
    assert [str(p) for p in problems(put("plans", "growth"))] == [
        "plans: must be a table, not 'growth'"
    ]
