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

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from billing.pricing.book import TermsValue, custom_plan_code
from billing.pricing.clients import set_client_dates, set_client_prices, set_client_terms
from billing.pricing.describe import describe_value
from billing.pricing.file_checks import check_tenants
from billing.pricing.models import ChangeSource
from billing.pricing.plan_versions import set_plan
from billing.pricing.versions import (
    ChangeContext,
    FieldChange,
    change_context,
    log_change,
    set_wholesale,
)
from billing.tenants import service as tenants
from billing.tenants.logos import InvalidLogoError, check_logo, read_logo_file, set_logo
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
    ConfigProblem,
    PartnerFile,
    PartnerFileError,
    entry_price,
)
from config.partner_file.problems import file_order
from config.prices import Loc
from ledger import open_standard_chart
from ledger.repository import LedgerRepository

__all__ = ["ApplyReport", "ObjectReport", "apply_partner_file"]


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

    def add(self, kind: str, key: str, *, created: bool, fields: list[FieldChange]) -> None:
        action = "created" if created else "updated" if fields else "unchanged"
        self.objects.append(ObjectReport(kind, key, action, tuple(fields)))


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


def _file_logo(pf: PartnerFile, base_dir: Path | None) -> tuple[bytes | None, ConfigProblem | None]:
    """The logo the file names, read once from the operator's disk (relative to the file's
    folder) and checked by content; or the problem with it."""
    name = pf.partner.branding.logo
    if name is None:
        return None, None
    at: Loc = ("partner", "branding", "logo")
    if "://" in name:
        return None, ConfigProblem(
            at, "a URL is never fetched: give the path of a PNG or JPEG file"
        )
    path = Path(name).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    try:
        data = read_logo_file(path)
        check_logo(data)
    except InvalidLogoError as exc:
        return None, ConfigProblem(at, str(exc))
    return data, None


def _logo_label(digest: str) -> str:
    return f"sha256:{digest[:16]}"


def _apply_partner(
    session: Session,
    context: ChangeContext,
    spec: PartnerCreate,
    logo: bytes | None,
    report: ApplyReport,
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
    if logo is not None:
        desired["branding.logo"] = _logo_label(hashlib.sha256(logo).hexdigest())
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
        stored = repo.logo(spec.id)
        if logo is not None:  # an uploaded logo stays when the file names none
            before["branding.logo"] = _logo_label(stored.sha256) if stored else None
        before = {key: value for key, value in before.items() if key in desired or value}
        partner = existing
        if {k: v for k, v in before.items() if k != "branding.logo"} != {
            k: v for k, v in desired.items() if k != "branding.logo"
        }:
            update = PartnerUpdate(
                name=spec.name,
                timezone=spec.timezone,
                invoice_prefix=spec.invoice_prefix,
                branding=spec.branding,
                settings=spec.settings,
            )
            partner = tenants.update_partner(session, spec.id, update)
    if logo is not None and before.get("branding.logo") != desired["branding.logo"]:
        set_logo(session, spec.id, logo)
    fields = _diff(before, desired, {})
    fields += [
        FieldChange(k, describe_value(v), None) for k, v in before.items() if k not in desired
    ]
    if existing is None or fields:
        action = "created" if existing is None else "updated"
        log_change(session, context, "partner", spec.id, action, None, before or None, desired)
    report.add("partner", spec.id, created=existing is None, fields=fields)
    return partner


def _apply_chart(session: Session, partner: Partner, report: ApplyReport) -> None:
    if not LedgerRepository(session).accounts(partner.id, partner.currency):
        open_standard_chart(session, partner.id, partner.currency)
        report.add("chart of accounts", partner.currency, created=True, fields=[])


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
    report.add("usage type", spec.code, created=stored is None, fields=fields)


_CLIENT_FIELDS = (
    "name",
    "external_ref",
    "billing_email",
    "timezone",
    "billing_anchor_day",
    "status",
)
_CLIENT_NAMES = {"billing_email": "email", "billing_anchor_day": "billing_day"}


def _apply_client(
    session: Session,
    context: ChangeContext,
    pf: PartnerFile,
    spec: ClientCreate,
    existing: Mapping[str, Client],
    report: ApplyReport,
) -> None:
    stored: Client | None = existing.get(spec.id)
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
            kept = {k: v for k, v in values.items() if v is not None or k in ClientUpdate.NULLABLE}
            update = ClientUpdate(**kept, address=spec.address)
            tenants.update_client(session, context.partner_id, spec.id, update)
            log_change(session, context, "client", spec.id, "updated", None, before, desired)
            fields = _diff(before, desired, _CLIENT_NAMES)
            fields += [
                FieldChange(k, describe_value(v), None)
                for k, v in before.items()
                if k not in desired
            ]
    fields += _apply_client_pricing(session, context, pf, spec.id, new=stored is None)
    report.add("client", spec.id, created=stored is None, fields=fields)


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
    base_dir: Path | None = None,
) -> ApplyReport:
    """Create or update everything the file describes; raises `PartnerFileError` (and the
    caller must roll back) when anything cannot be applied. `base_dir` is the file's folder:
    a relative `branding.logo` is read from there (default: the working directory)."""
    logo, logo_problem = _file_logo(pf, base_dir)
    plan, problems = check_tenants(session, pf)
    if logo_problem is not None:
        problems.append(logo_problem)
    if plan is None or logo_problem is not None:
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
    context.versions.preload()
    report = ApplyReport(pf.partner.id)
    partner = _apply_partner(session, context, plan.partner, logo, report)
    _apply_chart(session, partner, report)
    for spec in plan.usage_types.values():
        _apply_usage_type(session, context, pf, spec, report)
    for code, plan_spec in pf.plans.items():
        new = code not in context.versions.plan_codes()
        fields = set_plan(
            session, context, code, plan_spec, pf.plan_currency(code), loc=("plans", code)
        )
        report.add("plan", code, created=new, fields=fields)
    existing = {client.id: client for client in TenantRepository(session).clients(partner.id)}
    for client in plan.clients.values():
        _apply_client(session, context, pf, client, existing, report)
    if context.problems:
        raise PartnerFileError(_ordered(pf, context.problems), reference)
    return report


def _ordered(pf: PartnerFile, problems: list[ConfigProblem]) -> list[ConfigProblem]:
    data = pf.model_dump()
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda problem: file_order(data, problem.loc))
