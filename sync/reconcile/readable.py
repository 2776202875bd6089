"""A stored reconciliation as a finance person reads it, computed once for every place it is
read: the e-mail (HTML and text), its CSV, the command line, the dashboard's sync page and the
API's human fields all print what `readable_report` returns, so a figure cannot differ between
them.

Amounts are in major units with their currency (`2,822.19 USD`), systems and clients by name,
headings in words, a summary first (how many differences, errors and warnings, the total at
stake per currency), then each difference with what to do and, where a safe fix exists, the
command that applies it and a link to the dashboard page that shows it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from sqlmodel import Session

from billing.tenants.models import Partner
from billing.tenants.repository import TenantRepository
from config.settings import get_settings
from sync.reconcile.kinds import SEVERITY_WORDS, kind_text
from sync.reconcile.models import ReconcileDifference, ReconcileRun
from sync.reconcile.names import INTERNAL_SYSTEMS, money, period_words
from sync.reconcile.repository import differences_of

__all__ = [
    "DifferenceGroup",
    "ReadableDifference",
    "ReadableReport",
    "SystemLine",
    "build_readable",
    "fix_command",
    "readable_report",
]

_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class ReadableDifference:
    id: int | None
    kind: str
    title: str
    meaning: str
    severity: str
    severity_word: str
    system: str
    subject: str
    invoice: str | None
    client: str | None
    usage_type: str | None
    issue_date: date | None
    expected: str
    found: str
    at_stake: str  # "2,822.19 USD"; "" when no amount is put on this kind
    amount_minor: int | None  # None exactly when `at_stake` is ""
    currency: str
    what_to_do: str
    fixable: bool
    fixed_on: date | None
    fix_command: str | None  # only while fixable and not fixed
    link: str | None


@dataclass(frozen=True, slots=True)
class DifferenceGroup:
    kind: str
    title: str
    severity_word: str
    meaning: str
    items: tuple[ReadableDifference, ...]


@dataclass(frozen=True, slots=True)
class SystemLine:
    key: str
    name: str
    matched: int
    ours: str  # "" where the totals are not amounts (usage) or nothing was read
    theirs: str
    notes: str


@dataclass(frozen=True, slots=True)
class ReadableReport:
    run_id: int
    partner_id: str
    partner_name: str
    period: str
    period_words: str
    period_start: date
    period_last_day: date
    finished_at: datetime | None
    count: int
    errors: int
    warnings: int
    at_stake: tuple[str, ...]  # one per currency, largest first
    at_stake_minor: Mapping[str, int]
    fixable: int
    fix_command: str | None
    headline: str
    systems: tuple[SystemLine, ...]
    groups: tuple[DifferenceGroup, ...]

    @property
    def differences(self) -> tuple[ReadableDifference, ...]:
        return tuple(item for group in self.groups for item in group.items)

    @property
    def subject(self) -> str:
        """The e-mail subject: the period and the verdict."""
        return f"Reconciliation {self.period_words}: {self.headline}"

    def as_json(self) -> dict[str, Any]:
        return {
            "headline": self.headline,
            "period_words": self.period_words,
            "differences": self.count,
            "errors": self.errors,
            "warnings": self.warnings,
            "at_stake": list(self.at_stake),
            "fix_command": self.fix_command,
            "systems": [
                {
                    "key": s.key,
                    "name": s.name,
                    "matched": s.matched,
                    "ours": s.ours,
                    "theirs": s.theirs,
                    "notes": s.notes,
                }
                for s in self.systems
            ],
        }


def fix_command(run_id: int, difference_id: int | None = None) -> str:
    """`python main.py reconcile fix RUN [--difference ID] --apply`."""
    only = f" --difference {difference_id}" if difference_id is not None else ""
    return f"python main.py reconcile fix {run_id}{only} --apply"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _link(base: str, partner_id: str, run: ReconcileRun, d: ReconcileDifference) -> str | None:
    root = f"{base.rstrip('/')}/dashboard/p/{quote(partner_id, safe='')}"
    if d.kind == "system_unreadable":
        return f"{root}/sync"
    if d.kind == "late_events_pending" and d.client_id:
        return f"{root}/clients/{quote(d.client_id, safe='')}"
    if d.invoice_id is not None:
        return f"{root}/invoices/{d.invoice_id}"
    if d.usage_type:
        return f"{root}/usage?{urlencode({'usage_type': d.usage_type, 'period': run.period})}"
    return None


def _difference(
    run: ReconcileRun, d: ReconcileDifference, base: str, usage_names: Mapping[str, str]
) -> ReadableDifference:
    words = kind_text(d.kind)
    priced = words.money or d.amount_minor != 0
    open_fix = d.fixable and d.fixed_at is None
    assert run.id is not None
    return ReadableDifference(
        id=d.id,
        kind=d.kind,
        title=words.title,
        meaning=words.meaning,
        severity=d.severity,
        severity_word=SEVERITY_WORDS.get(d.severity, d.severity.title()),
        system=d.system_name or INTERNAL_SYSTEMS.get(d.system, d.system),
        subject=d.subject,
        invoice=d.invoice_number,
        client=d.client_name or d.client_id,
        usage_type=usage_names.get(d.usage_type, d.usage_type) if d.usage_type else None,
        issue_date=d.issue_date,
        expected=d.ours,
        found=d.theirs,
        at_stake=money(d.amount_minor, d.currency) if priced else "",
        amount_minor=d.amount_minor if priced else None,
        currency=d.currency,
        what_to_do=d.action,
        fixable=d.fixable,
        fixed_on=d.fixed_at.date() if d.fixed_at else None,
        fix_command=fix_command(run.id, d.id) if open_fix else None,
        link=_link(base, run.partner_id, run, d),
    )


def _systems(run: ReconcileRun, currency: str) -> tuple[SystemLine, ...]:
    lines = []
    for key, tally in run.summary.items():
        name = str(tally.get("name") or INTERNAL_SYSTEMS.get(key, key))
        amounts = bool(tally.get("money", key != "usage"))
        read = not any(str(n).startswith("could not read") for n in tally.get("notes", []))
        show = amounts and read
        lines.append(
            SystemLine(
                key,
                name,
                int(tally.get("matched", 0)),
                money(int(tally.get("ours_minor", 0)), currency) if show else "",
                money(int(tally.get("theirs_minor", 0)), currency) if show else "",
                "; ".join(str(n) for n in tally.get("notes", [])),
            )
        )
    order = list(INTERNAL_SYSTEMS)  # our own books first, then the outside systems by name
    return tuple(
        sorted(
            lines,
            key=lambda line: (
                order.index(line.key) if line.key in order else len(order),
                line.name,
            ),
        )
    )


def build_readable(
    partner: Partner,
    run: ReconcileRun,
    diffs: Sequence[ReconcileDifference],
    *,
    base_url: str,
    usage_names: Mapping[str, str],
) -> ReadableReport:
    """The report from what is stored (no query): see `readable_report`."""
    assert run.id is not None
    items = [_difference(run, d, base_url, usage_names) for d in diffs]
    items.sort(key=lambda i: (_SEVERITY_ORDER.get(i.severity, 3), i.title, i.id or 0))
    grouped: dict[str, list[ReadableDifference]] = defaultdict(list)
    for item in items:
        grouped[item.kind].append(item)
    groups = tuple(
        DifferenceGroup(
            kind, found[0].title, found[0].severity_word, found[0].meaning, tuple(found)
        )
        for kind, found in grouped.items()
    )
    stake: dict[str, int] = defaultdict(int)
    for item in items:
        if item.amount_minor is not None:
            stake[item.currency] += item.amount_minor
    at_stake = tuple(
        money(amount, code)
        for code, amount in sorted(stake.items(), key=lambda pair: (-pair[1], pair[0]))
    )
    errors = sum(1 for i in items if i.severity == "error")
    warnings = sum(1 for i in items if i.severity == "warning")
    fixable = sum(1 for i in items if i.fix_command is not None)
    if not items:
        headline = "everything agrees"
    else:
        parts = [_plural(errors, "error"), _plural(warnings, "warning")]
        others = len(items) - errors - warnings
        if others:
            parts.append(_plural(others, "note"))
        headline = f"{_plural(len(items), 'difference')} ({', '.join(parts)})"
        if at_stake:
            headline += f", {' and '.join(at_stake)} at stake"
    last_day = run.period_end - timedelta(days=1)
    return ReadableReport(
        run_id=run.id,
        partner_id=partner.id,
        partner_name=partner.name,
        period=run.period,
        period_words=period_words(run.period_start, last_day),
        period_start=run.period_start,
        period_last_day=last_day,
        finished_at=run.finished_at,
        count=len(items),
        errors=errors,
        warnings=warnings,
        at_stake=at_stake,
        at_stake_minor=dict(stake),
        fixable=fixable,
        fix_command=f"python main.py reconcile fix {run.id}" if fixable else None,
        headline=headline,
        systems=_systems(run, partner.currency),
        groups=groups,
    )


def readable_report(
    session: Session,
    run: ReconcileRun,
    diffs: Sequence[ReconcileDifference] | None = None,
    *,
    base_url: str | None = None,
) -> ReadableReport:
    """The stored run `run` as people read it. `diffs` default to the run's stored
    differences; `base_url` (default: the `public_url` setting) starts the dashboard links."""
    partner = TenantRepository(session).partner(run.partner_id)
    if partner is None:
        raise ValueError(f"partner: {run.partner_id!r} does not exist")
    assert run.id is not None
    found = list(diffs) if diffs is not None else differences_of(session, run.id)
    names = {t.code: t.display_name for t in TenantRepository(session).usage_types(partner.id)}
    base = base_url if base_url is not None else get_settings().public_url
    return build_readable(partner, run, found, base_url=base, usage_names=names)
