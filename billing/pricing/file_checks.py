"""From a partner file to what the tenants services take, and what only the database can
refuse (a currency that may not change, identifiers the tenants API does not accept), each at
the file's key path. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from billing.tenants.repository import TenantRepository
from billing.tenants.schemas import ClientCreate, PartnerCreate, UsageTypeCreate
from config.partner_file import ClientSpec, ConfigProblem, PartnerFile, UsageTypeSpec, entry_price
from config.prices import Loc, PackagePrice, PerUnitPrice, PriceModel

__all__ = ["TenantSpecs", "check_tenants", "drill_down_rate"]

_RATE_PLACES = Decimal("0.000001")


def drill_down_rate(price: PriceModel) -> Decimal:
    """The per-unit rate each usage event's own cost is computed with (for drill-down only;
    the period's cost is rated from the whole price): the rate of the first unit billed."""
    if isinstance(price, PerUnitPrice):
        rate = price.unit_price
    elif isinstance(price, PackagePrice):
        if price.overage_unit_price is not None:
            rate = price.overage_unit_price
        else:
            assert price.block_price is not None and price.block_size is not None
            rate = price.block_price / price.block_size
    else:
        rate = price.tiers[0].unit_price
    return rate.quantize(_RATE_PLACES, rounding=ROUND_HALF_UP).normalize()


def _problems(exc: ValidationError, at: Loc, rename: Mapping[str, Loc]) -> list[ConfigProblem]:
    found = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        head = str(loc[0]) if loc else ""
        mapped = (*rename.get(head, (head,) if head else ()), *loc[1:])
        message = error["msg"].removeprefix("Value error, ")
        found.append(ConfigProblem((*at, *mapped), message[:1].lower() + message[1:]))
    return found


def _build(
    model: type[BaseModel],
    data: dict[str, Any],
    at: Loc,
    rename: Mapping[str, Loc],
    out: list[ConfigProblem],
) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        out.extend(_problems(exc, at, rename))
        return None


def _partner_data(pf: PartnerFile) -> dict[str, Any]:
    spec = pf.partner
    return {
        "id": spec.id,
        "name": spec.name,
        "currency": spec.currency,
        "timezone": spec.timezone,
        "invoice_prefix": spec.invoice_prefix,
        # the logo is a file, read and stored by `apply` (`billing.tenants.logos`)
        "branding": spec.branding.model_dump(exclude_none=True, exclude={"logo"}),
        "settings": {
            "late_event_days": spec.late_event_days,
            "net_terms_days": spec.net_terms_days,
            "grace_period_hours": spec.grace_period_hours,
            "auto_approve": spec.auto_approve,
            "margin_alert_percent": spec.margin_alert_percent,
            "margin_drop_points": spec.margin_drop_points,
            "margin_alert_hour": spec.margin_alert_hour,
            "finance_emails": list(spec.finance_emails),
            "operator_emails": list(spec.operator_emails),
            "locale": spec.locale,
            "attach_usage_csv": spec.attach_usage_csv,
            "connections": {
                name: {"provider": conn.provider, "enabled": conn.enabled, **conn.settings}
                for name, conn in spec.connections.items()
            },
        },
    }


def _usage_type_data(code: str, spec: UsageTypeSpec) -> dict[str, Any]:
    return {
        "code": code,
        "display_name": spec.name,
        "unit": spec.unit,
        "precision": spec.precision,
        "aggregation": spec.aggregation,
        "aggregation_property": spec.aggregation_property,
        "wholesale_rate": drill_down_rate(entry_price(spec.wholesale)),
    }


def _client_data(code: str, spec: ClientSpec, currency: str, timezone: str) -> dict[str, Any]:
    return {
        "id": code,
        "name": spec.name,
        "external_ref": spec.external_ref,
        "billing_email": spec.email,
        "address": spec.address.model_dump(exclude_none=True) if spec.address else {},
        "currency": currency,
        "timezone": timezone,
        "billing_anchor_day": spec.billing_day,
        "status": spec.status,
    }


_PARTNER_KEYS: dict[str, Loc] = {"settings": ()}
_USAGE_TYPE_KEYS: dict[str, Loc] = {
    "code": (),
    "display_name": ("name",),
    "wholesale_rate": ("wholesale",),
    "": ("aggregation_property",),
}
_CLIENT_KEYS: dict[str, Loc] = {
    "id": (),
    "billing_email": ("email",),
    "billing_anchor_day": ("billing_day",),
}


@dataclass
class TenantSpecs:
    """The file's partner, usage types and clients as the tenants services take them."""

    partner: PartnerCreate
    usage_types: dict[str, UsageTypeCreate]
    clients: dict[str, ClientCreate]


def check_tenants(
    session: Session, pf: PartnerFile
) -> tuple[TenantSpecs | None, list[ConfigProblem]]:
    problems: list[ConfigProblem] = []
    repo = TenantRepository(session)
    partner_id = pf.partner.id
    partner = _build(PartnerCreate, _partner_data(pf), ("partner",), _PARTNER_KEYS, problems)
    existing = repo.partner(partner_id)
    if existing is not None and existing.currency != pf.partner.currency:
        problems.append(
            ConfigProblem(
                ("partner", "currency"),
                f"cannot change from {existing.currency} to {pf.partner.currency}: the "
                "partner's books, usage costs and prices are kept in it",
            )
        )
    usage_types = {}
    for code, spec in pf.usage_types.items():
        at: Loc = ("usage_types", code)
        usage_types[code] = _build(
            UsageTypeCreate, _usage_type_data(code, spec), at, _USAGE_TYPE_KEYS, problems
        )
    clients = {}
    existing_clients = {client.id: client for client in repo.clients(partner_id)}
    for code, client_spec in pf.clients.items():
        currency = pf.client_currency(code)
        data = _client_data(code, client_spec, currency, pf.client_timezone(code))
        clients[code] = _build(ClientCreate, data, ("clients", code), _CLIENT_KEYS, problems)
        stored = existing_clients.get(code)
        if stored is not None and stored.currency != currency:
            where = "currency" if client_spec.currency else "plan"
            problems.append(
                ConfigProblem(
                    ("clients", code, where),
                    f"the client is billed in {stored.currency}; its currency cannot change to "
                    f"{currency} (its usage and invoices are priced in it)",
                )
            )
    if problems:
        return None, problems
    return TenantSpecs(partner, usage_types, clients), problems
