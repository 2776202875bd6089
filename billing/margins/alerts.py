"""Margin alerts that reach the partner: an e-mail to its operators when a client's margin
erodes, once per client and billing period.

A client is alerted for its open period (period to date, once it has usage) when
- its margin % is under the partner's `margin_alert_percent` (a cost with nothing charged is
  under any threshold), or
- its margin % is more than `margin_drop_points` (default 10) points below its previous
  period's.
The figures are `period_figures`' (the dashboard's and `margins`'s), and the rules `below` and
`Drop.points` are the ones the dashboard's erosion lists use. A client billed in another
currency than the partner's wholesale cost has no margin % and is never alerted.

The job runs hourly and acts for a partner once its local time has reached
`margin_alert_hour` (default 8): the clients newly alerted go out in one e-mail to the
partner's `operator_emails` (else its `finance_emails`), a digest when there are several, at
most one e-mail a day, and a `client.margin_alert` webhook per client to the partner's
endpoints that subscribe to it (a partner with such an endpoint and no e-mail addresses is
alerted by webhook only). Each alerted client and period is stored (`MarginAlert`), so it is
never sent again, whatever the next runs find. The message goes through the mail outbox
in the caller's transaction: it is sent if and only if the alert is recorded.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from billing.documents.formatting import format_date
from billing.documents.outbox import queue_email
from billing.documents.parties import PartnerBranding
from billing.margins.figures import period_figures
from billing.margins.models import MarginAlert, MarginAlertDigest
from billing.margins.selection import PeriodSelection, shift_month
from billing.margins.service import Drop, MarginRow, below, thresholds
from billing.pricing.book import client_period, local_today
from billing.rating import BillingPeriod
from billing.tenants.models import Partner
from billing.tenants.repository import TenantRepository
from billing.tenants.service import get_partner
from billing.webhooks import EventType, emit, listening
from config.money import format_minor

__all__ = [
    "ALERT_KIND",
    "DEFAULT_HOUR",
    "AlertRun",
    "ClientAlert",
    "find_alerts",
    "recipients_of",
    "send_alerts",
]

ALERT_KIND = "margin_alert"
DEFAULT_HOUR = 8
_FALLBACK_SENDER = "no-reply@rebill.invalid"


@dataclass(frozen=True, slots=True)
class ClientAlert:
    client_id: str
    client_name: str
    period: BillingPeriod
    now: MarginRow
    before: MarginRow | None
    below_percent: Decimal | None
    drop: Decimal | None
    """Margin % points lost since the previous period, when over the partner's limit."""

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(
            reason
            for reason, present in (
                ("below", self.below_percent is not None),
                ("drop", self.drop is not None),
            )
            if present
        )


@dataclass(frozen=True, slots=True)
class AlertRun:
    partner_id: str
    sent: int = 0
    skipped: str | None = None


def _rows(cells: list[tuple[str, date, str, int, int]]) -> dict[tuple[str, date, str], MarginRow]:
    sums: dict[tuple[str, date, str], list[int]] = {}
    for client, start, currency, charge, cost in cells:
        values = sums.setdefault((client, start, currency), [0, 0])
        values[0] += charge
        values[1] += cost
    return {key: MarginRow(key[0], key[2], charge, cost) for key, (charge, cost) in sums.items()}


def find_alerts(session: Session, partner: Partner, now: datetime) -> list[ClientAlert]:
    """Every client whose open period is under the threshold or fell too far (see the module
    doc), whether or not it was alerted before."""
    limits = thresholds(partner.settings)
    today = local_today(partner.timezone, now)
    selection = PeriodSelection(shift_month(today.replace(day=1), -2), today + timedelta(days=1))
    figures = period_figures(session, partner.id, selection, now)
    rows = _rows(
        [(c.client_id, c.period_start, c.currency, c.charge, c.cost) for c in figures.cells]
    )
    found: list[ClientAlert] = []
    for client in TenantRepository(session).clients(partner.id):
        period = client_period(client.billing_anchor_day, local_today(client.timezone, now))
        if (client.id, period.start) not in figures.open_periods:
            continue  # no usage yet this period
        current = rows.get((client.id, period.start, client.currency))
        if current is None or (current.charge == 0 and current.cost == 0):
            continue
        previous = client_period(client.billing_anchor_day, period.start - timedelta(days=1))
        before = rows.get((client.id, previous.start, client.currency))
        fall = Drop(client.id, client.currency, before, current).points
        under = below(current.charge, current.cost, limits.below_percent)
        drop = fall if fall is not None and fall > limits.drop_points else None
        if under or drop is not None:
            found.append(
                ClientAlert(
                    client.id,
                    client.name,
                    period,
                    current,
                    before,
                    limits.below_percent if under else None,
                    drop,
                )
            )
    return found


def _percent(value: Decimal | None) -> str:
    return "no margin %" if value is None else f"{value:.2f}%"


def _link(base_url: str, partner_id: str, client_id: str) -> str:
    return f"{base_url.rstrip('/')}/dashboard/p/{quote(partner_id)}/clients/{quote(client_id)}"


def _why(alert: ClientAlert) -> list[str]:
    lines = []
    if alert.below_percent is not None:
        lines.append(
            f"margin {_percent(alert.now.margin_percent)}, under your "
            f"{alert.below_percent.normalize():f}% alert"
        )
    if alert.drop is not None and alert.before is not None:
        lines.append(
            f"down {alert.drop:.2f} points from {_percent(alert.before.margin_percent)} "
            "in the previous period"
        )
    return lines


def _text(alert: ClientAlert, link: str) -> str:
    row, cur = alert.now, alert.now.currency
    span = f"{format_date(alert.period.start)} to {format_date(alert.period.last_day)}"
    return (
        f"{alert.client_name} ({alert.client_id}), period {span}, to date:\n"
        f"  {'; '.join(_why(alert))}\n"
        f"  revenue {format_minor(row.charge, cur)}, wholesale cost "
        f"{format_minor(row.cost, cur)}, margin {format_minor(row.margin, cur)}\n"
        f"  {link}\n"
    )


def _html(alert: ClientAlert, link: str, color: str) -> str:
    row, cur = alert.now, alert.now.currency
    span = f"{format_date(alert.period.start)} to {format_date(alert.period.last_day)}"
    cells = (
        ("Revenue", format_minor(row.charge, cur)),
        ("Wholesale cost", format_minor(row.cost, cur)),
        ("Margin", f"{format_minor(row.margin, cur)} ({_percent(row.margin_percent)})"),
    )
    table = "".join(
        f"<tr><td style='padding:2px 12px 2px 0;color:#374151'>{label}</td>"
        f"<td style='text-align:right'>{html.escape(value)}</td></tr>"
        for label, value in cells
    )
    return (
        f"<div style='margin:0 0 18px;padding:10px 14px;border-left:4px solid {color}'>"
        f"<div style='font-weight:bold'>{html.escape(alert.client_name)}</div>"
        f"<div style='color:#6B7280'>Period {html.escape(span)}, to date</div>"
        f"<div style='margin:6px 0'>{html.escape('; '.join(_why(alert)))}</div>"
        f"<table style='border-collapse:collapse'>{table}</table>"
        f"<p><a href='{html.escape(link)}'>Open {html.escape(alert.client_name)} in the "
        "dashboard</a></p></div>"
    )


def _message(
    partner: Partner, alerts: list[ClientAlert], recipients: list[str], base_url: str
) -> EmailMessage:
    brand = PartnerBranding.from_partner(partner)
    sender = brand.sender_email or _FALLBACK_SENDER
    message = EmailMessage(policy=SMTP)
    message["From"] = Address(brand.display_sender, addr_spec=sender)
    message["To"] = ", ".join(recipients)
    if len(alerts) == 1:
        [alert] = alerts
        message["Subject"] = (
            f"Margin alert: {alert.client_name} at {_percent(alert.now.margin_percent)} this period"
        )
    else:
        message["Subject"] = f"Margin alerts: {len(alerts)} clients need a look"
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    links = [_link(base_url, partner.id, a.client_id) for a in alerts]
    intro = (
        f"Hello {partner.name},\n\nThe margin of {len(alerts)} client"
        f"{'s' if len(alerts) != 1 else ''} eroded in the current billing period:\n\n"
    )
    outro = (
        "\nFigures are period to date, net of tax, as the dashboard shows them. You will not "
        "hear about these clients again for this period.\n"
    )
    message.set_content(
        intro + "\n".join(_text(a, link) for a, link in zip(alerts, links, strict=True)) + outro
    )
    body = "".join(
        _html(a, link, brand.primary_color) for a, link in zip(alerts, links, strict=True)
    )
    message.add_alternative(
        "<html><body style='font-family:Helvetica,Arial,sans-serif;color:#111827'>"
        f"<h2 style='color:{brand.primary_color}'>Margin alert</h2>"
        f"<p>{html.escape(intro.strip().replace(chr(10) * 2, ' '))}</p>{body}"
        f"<p style='color:#6B7280'>{html.escape(outro.strip())}</p></body></html>",
        subtype="html",
    )
    return message


def recipients_of(partner: Partner) -> list[str]:
    for key in ("operator_emails", "finance_emails"):
        found = [str(a) for a in partner.settings.get(key) or [] if isinstance(a, str) and "@" in a]
        if found:
            return found
    return []


def send_alerts(session: Session, partner_id: str, now: datetime, *, base_url: str) -> AlertRun:
    """Queue today's e-mail for the partner's newly alerted clients (see the module doc);
    the caller commits."""
    partner = get_partner(session, partner_id)
    local = now.astimezone(ZoneInfo(partner.timezone))
    if local.hour < int(partner.settings.get("margin_alert_hour", DEFAULT_HOUR)):
        return AlertRun(partner_id, skipped="before margin_alert_hour")
    day = local.date()
    sent_today = session.scalars(
        select(col(MarginAlertDigest.id)).where(
            col(MarginAlertDigest.partner_id) == partner_id,
            col(MarginAlertDigest.local_day) == day,
        )
    ).first()
    if sent_today is not None:
        return AlertRun(partner_id, skipped="already sent today")
    recipients = recipients_of(partner)
    hooked = listening(session, partner_id, EventType.CLIENT_MARGIN_ALERT)
    if not recipients and not hooked:
        return AlertRun(
            partner_id,
            skipped="no operator_emails or finance_emails, and no webhook endpoint for "
            "client.margin_alert",
        )
    done = {
        (client, start)
        for client, start in session.execute(
            select(col(MarginAlert.client_id), col(MarginAlert.period_start)).where(
                col(MarginAlert.partner_id) == partner_id
            )
        )
    }
    alerts = [
        a for a in find_alerts(session, partner, now) if (a.client_id, a.period.start) not in done
    ]
    if not alerts:
        return AlertRun(partner_id)
    email_id: int | None = None
    if recipients:  # else the partner hears of them by webhook only
        email = queue_email(
            session,
            _message(partner, alerts, recipients, base_url),
            partner_id=partner_id,
            kind=ALERT_KIND,
            related_id=f"margins:{day}",
            now=now,
        )
        session.flush()
        email_id = email.id
    digest = MarginAlertDigest(
        partner_id=partner_id,
        local_day=day,
        alerts=len(alerts),
        recipients=", ".join(recipients)[:2000],
        email_id=email_id,
        created_at=now,
    )
    session.add(digest)
    session.flush()
    for alert in alerts:
        session.add(
            MarginAlert(
                partner_id=partner_id,
                client_id=alert.client_id,
                period_start=alert.period.start,
                reasons=",".join(alert.reasons),
                currency=alert.now.currency,
                charge=alert.now.charge,
                cost=alert.now.cost,
                margin_percent=None
                if alert.now.margin_percent is None
                else f"{alert.now.margin_percent:.2f}",
                previous_percent=None
                if alert.before is None or alert.before.margin_percent is None
                else f"{alert.before.margin_percent:.2f}",
                digest_id=digest.id or 0,
                created_at=now,
            )
        )
        emit(
            session,
            partner_id,
            EventType.CLIENT_MARGIN_ALERT,
            _webhook_data(alert),
            key=f"{alert.client_id}:{alert.period.start.isoformat()}",
            now=now,
        )
    session.flush()
    return AlertRun(partner_id, sent=len(alerts))


def _webhook_data(alert: ClientAlert) -> dict[str, object]:
    """The alert as partner webhooks carry it (`client.margin_alert`, docs/webhooks.md)."""
    before = alert.before.margin_percent if alert.before is not None else None
    return {
        "client_id": alert.client_id,
        "client_name": alert.client_name,
        "period_start": alert.period.start.isoformat(),
        "period_end": alert.period.last_day.isoformat(),
        "currency": alert.now.currency,
        "revenue_minor": alert.now.charge,
        "cost_minor": alert.now.cost,
        "margin_percent": None
        if alert.now.margin_percent is None
        else f"{alert.now.margin_percent:.2f}",
        "previous_margin_percent": None if before is None else f"{before:.2f}",
        "reasons": list(alert.reasons),
    }
