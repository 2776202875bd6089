"""`config apply`: make the database say what a partner file says, in one transaction.

The file is validated as a whole first (`config.partner_file`); then what only the database
can tell (a currency that may not change, identifiers the tenants API refuses) is checked
before anything is written; then every object is created or updated through the tenants
services and price-book writers, collecting any date that would rewrite a started period.
When any problem was found, `PartnerFileError` lists them all and the caller rolls back, so
nothing is applied. A second apply of the same file changes nothing ("unchanged" everywhere).

Objects absent from the file (a plan, a client, a usage type) are left as they are: deleting
them would orphan usage and invoices. Prices absent from a plan or client that had them are
removed (from today), because the file is the whole price list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from billing.pricing.book import TermsValue, custom_plan_code
from billing.pricing.clients import set_client_dates, set_client_prices, set_client_terms
from billing.pricing.describe import describe_value
from billing.pricing.models import ChangeSource
from billing.pricing.repository import PricingRepository
from billing.pricing.versions import (
    ChangeContext,
    FieldChange,
    change_context,
    log_change,
    set_plan,
    set_wholesale,
)
from billing.tenants import service as tenants
from billing.tenants.models import Client, Partner, UsageType
from billing.tenants.repository import TenantRepository
from billing.tenants.schemas import (
    ClientCreate,
    ClientUpdate,
    PartnerCreate,
    PartnerUpdate,
    UsageTypeCreate,
    UsageTypeUpdate,
)
from config.partner_file import (
    ClientSpec,
    ConfigProblem,
    PartnerFile,
    PartnerFileError,
    UsageTypeSpec,
    entry_price,
)
from config.partner_file.problems import file_order
from config.prices import Loc, PackagePrice, PerUnitPrice, PriceModel
from ledger import open_standard_chart
from ledger.repository import LedgerRepository

__all__ = ["ApplyReport", "ObjectReport", "apply_partner_file", "drill_down_rate"]

_RATE_PLACES = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class ObjectReport:
    kind: str
    key: str
    action: str  # created | updated | unchanged
    fields: tuple[FieldChange, ...] = ()


@dataclass
class ApplyReport:
    partner_id: str
    objects: list[ObjectReport] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(item.action != "unchanged" for item in self.objects)

    def count(self, action: str) -> int:
        return sum(1 for item in self.objects if item.action == action)

    def add(self, kind: str, key: str, created: bool, fields: list[FieldChange]) -> None:
        action = "created" if created else "updated" if fields else "unchanged"
        self.objects.append(ObjectReport(kind, key, action, tuple(fields)))


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


# --- from the file to the tenants schemas, with problems at the file's key paths -------------


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
        "branding": spec.branding.model_dump(exclude_none=True),
        "settings": {
            "late_event_days": spec.late_event_days,
            "net_terms_days": spec.net_terms_days,
            "auto_approve": spec.auto_approve,
            "margin_alert_percent": spec.margin_alert_percent,
            "finance_emails": list(spec.finance_emails),
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
    "code": (), "display_name": ("name",), "wholesale_rate": ("wholesale",),
    "": ("aggregation_property",),
}  # fmt: skip
_CLIENT_KEYS: dict[str, Loc] = {
    "id": (), "billing_email": ("email",), "billing_anchor_day": ("billing_day",),
}  # fmt: skip


@dataclass
class _Plan:
    """What the checks decided, for the writes that follow."""

    partner: PartnerCreate
    usage_types: dict[str, UsageTypeCreate]
    clients: dict[str, ClientCreate]


def _check(session: Session, pf: PartnerFile) -> tuple[_Plan | None, list[ConfigProblem]]:
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
    for code, client_spec in pf.clients.items():
        currency = pf.client_currency(code)
        data = _client_data(code, client_spec, currency, pf.client_timezone(code))
        clients[code] = _build(ClientCreate, data, ("clients", code), _CLIENT_KEYS, problems)
        stored = repo.client(partner_id, code)
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
    return _Plan(partner, usage_types, clients), problems


# --- writes -------------------------------------------------------------------------------------


def _diff(
    before: Mapping[str, Any], after: Mapping[str, Any], names: Mapping[str, str]
) -> list[FieldChange]:
    return [
        FieldChange(names.get(key, key), describe_value(before.get(key)), describe_value(value))
        for key, value in after.items()
        if before.get(key) != value and (key in before or value is not None)
    ]


def _flat(prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
    return {f"{prefix}{key}": value for key, value in values.items()}


def _apply_partner(
    session: Session, context: ChangeContext, spec: PartnerCreate, report: ApplyReport
) -> Partner:
    repo = TenantRepository(session)
    existing = repo.partner(spec.id)
    desired = {
        "name": spec.name,
        "timezone": spec.timezone,
        "invoice_prefix": spec.invoice_prefix,
        **_flat("branding.", spec.branding.model_dump(exclude_none=True)),
        **spec.settings.model_dump(mode="json"),
    }
    if existing is None:
        partner = tenants.create_partner(session, spec)
        before: dict[str, Any] = {}
    else:
        before = {
            "name": existing.name,
            "timezone": existing.timezone,
            "invoice_prefix": existing.invoice_prefix,
            **_flat("branding.", existing.branding),
            **existing.settings,
        }
        before = {key: value for key, value in before.items() if key in desired or value}
        partner = existing
        if before != desired:
            update = PartnerUpdate(
                name=spec.name,
                timezone=spec.timezone,
                invoice_prefix=spec.invoice_prefix,
                branding=spec.branding,
                settings=spec.settings,
            )
            partner = tenants.update_partner(session, spec.id, update)
    fields = _diff(before, desired, {})
    fields += [
        FieldChange(k, describe_value(v), None) for k, v in before.items() if k not in desired
    ]
    if existing is None or fields:
        action = "created" if existing is None else "updated"
        log_change(session, context, "partner", spec.id, action, None, before or None, desired)
    report.add("partner", spec.id, existing is None, fields)
    return partner


def _apply_chart(session: Session, partner: Partner, report: ApplyReport) -> None:
    if not LedgerRepository(session).accounts(partner.id, partner.currency):
        open_standard_chart(session, partner.id, partner.currency)
        report.add("chart of accounts", partner.currency, True, [])


_USAGE_TYPE_FIELDS = ("display_name", "unit", "precision", "aggregation", "aggregation_property")
_USAGE_TYPE_NAMES = {"display_name": "name", "wholesale_rate": "wholesale (per event)"}


def _apply_usage_type(
    session: Session,
    context: ChangeContext,
    pf: PartnerFile,
    spec: UsageTypeCreate,
    report: ApplyReport,
) -> None:
    stored: UsageType | None = TenantRepository(session).usage_type(context.partner_id, spec.code)
    fields: list[FieldChange] = []
    desired = {name: getattr(spec, name) for name in (*_USAGE_TYPE_FIELDS, "wholesale_rate")}
    if stored is None:
        tenants.create_usage_type(session, context.partner_id, spec)
        log_change(session, context, "usage_type", spec.code, "created", None, None, desired)
        fields = _diff({}, desired, _USAGE_TYPE_NAMES)
    else:
        before = {name: getattr(stored, name) for name in desired}
        changed = {name: value for name, value in desired.items() if before[name] != value}
        if changed:
            tenants.update_usage_type(
                session, context.partner_id, spec.code, UsageTypeUpdate(**changed)
            )
            log_change(session, context, "usage_type", spec.code, "updated", None, before, desired)
            fields = _diff(before, changed, _USAGE_TYPE_NAMES)
    entry = pf.usage_types[spec.code].wholesale
    fields += set_wholesale(
        session,
        context,
        spec.code,
        entry_price(entry),
        effective_from=entry.effective_from,
        new_owner=stored is None,
        loc=("usage_types", spec.code, "wholesale", "effective_from"),
    )
    report.add("usage type", spec.code, stored is None, fields)


_CLIENT_FIELDS = (
    "name", "external_ref", "billing_email", "timezone", "billing_anchor_day", "status",
)  # fmt: skip
_CLIENT_NAMES = {"billing_email": "email", "billing_anchor_day": "billing_day"}


def _apply_client(
    session: Session,
    context: ChangeContext,
    pf: PartnerFile,
    spec: ClientCreate,
    report: ApplyReport,
) -> None:
    stored: Client | None = TenantRepository(session).client(context.partner_id, spec.id)
    desired = {name: getattr(spec, name) for name in _CLIENT_FIELDS}
    desired.update(_flat("address.", spec.address.model_dump(exclude_none=True)))
    fields: list[FieldChange] = []
    if stored is None:
        tenants.create_client(session, context.partner_id, spec)
        log_change(session, context, "client", spec.id, "created", None, None, desired)
        fields = _diff({}, desired, _CLIENT_NAMES)
    else:
        before = {name: getattr(stored, name) for name in _CLIENT_FIELDS}
        before.update(_flat("address.", stored.address))
        if before != desired:
            values = {name: getattr(spec, name) for name in _CLIENT_FIELDS}
            update = ClientUpdate(**values, address=spec.address)
            tenants.update_client(session, context.partner_id, spec.id, update)
            log_change(session, context, "client", spec.id, "updated", None, before, desired)
            fields = _diff(before, desired, _CLIENT_NAMES)
            fields += [
                FieldChange(k, describe_value(v), None)
                for k, v in before.items()
                if k not in desired
            ]
    fields += _apply_client_pricing(session, context, pf, spec.id, new=stored is None)
    report.add("client", spec.id, stored is None, fields)


def _apply_client_pricing(
    session: Session, context: ChangeContext, pf: PartnerFile, code: str, *, new: bool
) -> list[FieldChange]:
    spec = pf.clients[code]
    at: Loc = ("clients", code)
    fields: list[FieldChange] = []
    if spec.plan_override is not None:
        own = set_plan(
            session,
            context,
            custom_plan_code(code),
            spec.plan_override,
            pf.client_currency(code),
            client_id=code,
            loc=(*at, "plan_override"),
        )
        fields += [
            FieldChange(f"plan_override.{f.name}", f.before, f.after, f.effective_from) for f in own
        ]
    tax = spec.tax
    terms = TermsValue(
        plan_code=spec.plan,
        custom_plan=spec.plan_override is not None,
        discount_percent=spec.discount_percent,
        tax_name=None if tax is None else tax.name,
        tax_percent=None if tax is None else tax.percent,
        auto_charge=spec.auto_charge,
    )
    fields += set_client_terms(session, context, code, terms, new_owner=new)
    fields += set_client_prices(session, context, code, spec.prices, new_owner=new, loc=at)
    fields += set_client_dates(session, context, code, spec.starts_on, spec.ends_on)
    return fields


def apply_partner_file(
    session: Session,
    pf: PartnerFile,
    now: datetime,
    *,
    reference: str | None = None,
    force: bool = False,
    source: ChangeSource = ChangeSource.FILE,
) -> ApplyReport:
    """Create or update everything the file describes; raises `PartnerFileError` (and the
    caller must roll back) when anything cannot be applied."""
    plan, problems = _check(session, pf)
    if plan is None:
        raise PartnerFileError(_ordered(pf, problems), reference)
    context = change_context(
        session,
        pf.partner.id,
        now,
        source,
        reference=reference,
        force=force,
        partner_timezone=pf.partner.timezone,
    )
    report = ApplyReport(pf.partner.id)
    partner = _apply_partner(session, context, plan.partner, report)
    _apply_chart(session, partner, report)
    for spec in plan.usage_types.values():
        _apply_usage_type(session, context, pf, spec, report)
    repo = PricingRepository(session)
    for code, plan_spec in pf.plans.items():
        new = repo.plan(partner.id, code) is None
        fields = set_plan(
            session, context, code, plan_spec, pf.plan_currency(code), loc=("plans", code)
        )
        report.add("plan", code, new, fields)
    for client in plan.clients.values():
        _apply_client(session, context, pf, client, report)
    if context.problems:
        raise PartnerFileError(_ordered(pf, context.problems), reference)
    return report


def _ordered(pf: PartnerFile, problems: list[ConfigProblem]) -> list[ConfigProblem]:
    data = pf.model_dump()
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda problem: file_order(data, problem.loc))
