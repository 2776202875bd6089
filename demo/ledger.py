"""A worked month in the books of a demo partner, posted entry by entry: usage accrued, invoice
issued, paid by card, paid out, refunded, and the platform paid. (`make demo` posts its books
through billing instead; this is the ledger on its own.)"""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from sqlalchemy import Engine

from config.db import session_scope
from ledger.chart import AccountRole, account_for, open_standard_chart
from ledger.cli import render_trial_balance
from ledger.reports import trial_balance
from ledger.schemas import EntrySpec, PostingSpec
from ledger.service import post_entries

__all__ = ["run_demo", "worked_month"]

PARTNER = "demo-agency"
CURRENCY = "USD"


def worked_month(partner: str = PARTNER, currency: str = CURRENCY) -> list[EntrySpec]:
    """Usage accrued, invoice issued, card payment with fee, payout, refund, platform paid."""

    def at(day: int) -> datetime:
        return datetime(2026, 10, day, 12, tzinfo=UTC)

    def leg(code: str, amount: int, usage: str | None = None) -> PostingSpec:
        return PostingSpec(code, amount, currency, client_id="dental-co", usage_type=usage)

    voice_rev, voice_cost = "4000.voice_minutes", "5000.voice_minutes"
    return [
        EntrySpec(
            "demo:accrual:voice:charge",
            at(31),
            (leg("1150", 15000), leg(voice_rev, -15000, "voice_minutes")),
            "Voice minutes accrued: 1,000 min at 0.15",
            "accrual",
            "dental-co:2026-10",
        ),
        EntrySpec(
            "demo:accrual:voice:cost",
            at(31),
            (leg(voice_cost, 4500, "voice_minutes"), leg("2100", -4500)),
            "Wholesale cost of 1,000 voice minutes at 0.045",
            "accrual",
            "dental-co:2026-10",
        ),
        EntrySpec(
            "demo:invoice:ACME-0001",
            at(31),
            (leg("1200", 26954), leg("1150", -15000), leg("4100", -9900), leg("2200", -2054)),
            "Invoice ACME-0001: usage 150.00 + plan 99.00 + tax 8.25%",
            "invoice",
            "ACME-0001",
        ),
        EntrySpec(
            "demo:payment:ch_1",
            datetime(2026, 11, 3, tzinfo=UTC),
            (leg("1050", 26142), leg("6100", 812), leg("1200", -26954)),
            "Card payment for ACME-0001, Stripe fee 8.12",
            "payment",
            "ch_1",
        ),
        EntrySpec(
            "demo:payout:po_1",
            datetime(2026, 11, 5, tzinfo=UTC),
            (leg("1000", 26142), leg("1050", -26142)),
            "Stripe payout to bank",
            "payout",
            "po_1",
        ),
        EntrySpec(
            "demo:credit-note:CN-0001",
            datetime(2026, 11, 6, tzinfo=UTC),
            (leg("4900", 2000), leg("1200", -2000)),
            "Credit note CN-0001 on ACME-0001: 20.00 goodwill",
            "credit_note",
            "CN-0001",
        ),
        EntrySpec(
            "demo:refund:re_1",
            datetime(2026, 11, 6, tzinfo=UTC),
            (leg("1200", 2000), leg("1000", -2000)),
            "Refund of CN-0001 to the card",
            "refund",
            "re_1",
        ),
        EntrySpec(
            "demo:platform-bill:2026-10",
            datetime(2026, 11, 10, tzinfo=UTC),
            (leg("2100", 4500), leg("1000", -4500)),
            "Platform wholesale bill for October paid",
            "platform_bill",
            "2026-10",
        ),
    ]


def run_demo(engine: Engine) -> None:
    with session_scope(engine) as session:
        open_standard_chart(session, PARTNER, CURRENCY)
        account_for(session, PARTNER, AccountRole.USAGE_REVENUE, CURRENCY, "voice_minutes")
        account_for(session, PARTNER, AccountRole.WHOLESALE_COST, CURRENCY, "voice_minutes")
        result = post_entries(session, PARTNER, worked_month())
    typer.echo(
        f"Ledger: posted {result.posted} entries, {result.replayed} already on the books "
        "(run again: every entry is a replay)."
    )
    with session_scope(engine) as session:
        report = trial_balance(session, PARTNER)
    typer.echo(f"\nTrial balance of {PARTNER}:")
    for line in render_trial_balance(report):
        typer.echo(line)
