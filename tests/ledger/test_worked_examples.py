"""The books, one transaction at a time, as a bookkeeper would check them.

Amounts are cents. Balances are read debit-positive: an asset of 150.00 reads 15000, revenue of
150.00 reads -15000.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import Session

from ledger import (
    AlreadyReversedError,
    IdempotencyConflictError,
    InvalidEntryError,
    post_entry,
    reverse_entry,
    trial_balance,
)
from tests.ledger.conftest import PARTNER, at, entry

Balance = Callable[[str], int]

VOICE_REVENUE, VOICE_COST = "4000.voice_minutes", "5000.voice_minutes"
UNBILLED, RECEIVABLE, STRIPE, BANK = "1150", "1200", "1050", "1000"
PAYABLE, TAX, SUBSCRIPTION, CREDIT_NOTES, FEES = "2100", "2200", "4100", "4900", "6100"


def accrue_october(books: Session) -> None:
    """1,000 voice minutes: 150.00 retail, 45.00 wholesale."""
    post_entry(
        books,
        PARTNER,
        entry("accrual:charge", at(10, 31), (UNBILLED, 15000), (VOICE_REVENUE, -15000)),
    )
    post_entry(
        books, PARTNER, entry("accrual:cost", at(10, 31), (VOICE_COST, 4500), (PAYABLE, -4500))
    )


def issue_invoice(books: Session) -> None:
    """Usage 150.00 + plan fee 99.00 + 8.25% tax 20.54 = 269.54 receivable."""
    post_entry(
        books,
        PARTNER,
        entry(
            "invoice:ACME-0001",
            at(11, 1),
            (RECEIVABLE, 26954),
            (UNBILLED, -15000),
            (SUBSCRIPTION, -9900),
            (TAX, -2054),
        ),
    )


def test_usage_accrual_books_revenue_and_wholesale_cost(books: Session, balance: Balance) -> None:
    accrue_october(books)
    assert balance(UNBILLED) == 15000
    assert balance(VOICE_REVENUE) == -15000
    assert balance(VOICE_COST) == 4500
    assert balance(PAYABLE) == -4500
    margin = -balance(VOICE_REVENUE) - balance(VOICE_COST)
    assert margin == 10500


def test_volume_pricing_can_accrue_a_negative_change(books: Session, balance: Balance) -> None:
    accrue_october(books)
    # Crossing into a cheaper volume tier lowers the period-to-date charge by 30.00.
    post_entry(
        books,
        PARTNER,
        entry("accrual:charge:2", at(10, 31, 18), (UNBILLED, -3000), (VOICE_REVENUE, 3000)),
    )
    assert balance(UNBILLED) == 12000
    assert balance(VOICE_REVENUE) == -12000


def test_issuing_reclassifies_unbilled_to_receivable(books: Session, balance: Balance) -> None:
    accrue_october(books)
    issue_invoice(books)
    assert balance(UNBILLED) == 0
    assert balance(RECEIVABLE) == 26954
    assert balance(SUBSCRIPTION) == -9900
    assert balance(TAX) == -2054


def test_card_payment_with_fee_then_payout(books: Session, balance: Balance) -> None:
    accrue_october(books)
    issue_invoice(books)
    post_entry(
        books,
        PARTNER,
        entry("payment:ch_1", at(11, 3), (STRIPE, 26142), (FEES, 812), (RECEIVABLE, -26954)),
    )
    assert balance(RECEIVABLE) == 0
    assert balance(STRIPE) == 26142
    assert balance(FEES) == 812
    post_entry(books, PARTNER, entry("payout:po_1", at(11, 5), (BANK, 26142), (STRIPE, -26142)))
    assert balance(STRIPE) == 0
    assert balance(BANK) == 26142


def test_credit_note_and_refund(books: Session, balance: Balance) -> None:
    accrue_october(books)
    issue_invoice(books)
    post_entry(
        books, PARTNER, entry("payment:ch_1", at(11, 3), (STRIPE, 26954), (RECEIVABLE, -26954))
    )
    post_entry(
        books,
        PARTNER,
        entry("credit-note:CN-1", at(11, 6), (CREDIT_NOTES, 2000), (RECEIVABLE, -2000)),
    )
    assert balance(RECEIVABLE) == -2000  # we owe the client 20.00
    post_entry(books, PARTNER, entry("refund:re_1", at(11, 6), (RECEIVABLE, 2000), (STRIPE, -2000)))
    assert balance(RECEIVABLE) == 0
    assert balance(STRIPE) == 24954
    net_revenue = -(balance(VOICE_REVENUE) + balance(SUBSCRIPTION) + balance(CREDIT_NOTES))
    assert net_revenue == 15000 + 9900 - 2000


def test_paying_the_platform_settles_wholesale_payable(books: Session, balance: Balance) -> None:
    accrue_october(books)
    post_entry(
        books, PARTNER, entry("platform:2026-10", at(11, 10), (PAYABLE, 4500), (BANK, -4500))
    )
    assert balance(PAYABLE) == 0
    assert balance(BANK) == -4500


def test_trial_balance_of_a_worked_month_nets_to_zero(books: Session) -> None:
    accrue_october(books)
    issue_invoice(books)
    report = trial_balance(books, PARTNER)
    assert report.is_balanced
    # Debits: receivable 269.54 + wholesale cost 45.00. Credits: voice revenue 150.00,
    # payable 45.00, subscription 99.00, tax 20.54.
    assert report.totals == {"USD": (31454, 31454)}
    by_code = {row.account_code: (row.debit, row.credit) for row in report.rows}
    assert by_code[RECEIVABLE] == (26954, 0)
    assert by_code[VOICE_REVENUE] == (0, 15000)
    assert UNBILLED not in by_code  # nets to zero once billed


def test_as_of_reads_the_books_at_a_moment(books: Session) -> None:
    from ledger import account_balance

    accrue_october(books)
    issue_invoice(books)
    assert account_balance(books, PARTNER, UNBILLED, "USD", at(10, 31, 23)) == 15000
    assert account_balance(books, PARTNER, UNBILLED, "USD", at(11, 2)) == 0
    assert account_balance(books, PARTNER, RECEIVABLE, "USD", at(10, 30)) == 0


def test_replay_returns_the_same_entry_and_changes_nothing(
    books: Session, balance: Balance
) -> None:
    first = post_entry(
        books,
        PARTNER,
        entry("accrual:charge", at(10, 31), (UNBILLED, 15000), (VOICE_REVENUE, -15000)),
    )
    again = post_entry(
        books,
        PARTNER,
        entry("accrual:charge", at(10, 31), (VOICE_REVENUE, -15000), (UNBILLED, 15000)),
    )
    assert again.id == first.id
    assert balance(UNBILLED) == 15000


def test_replay_with_a_different_body_is_refused(books: Session, balance: Balance) -> None:
    post_entry(
        books,
        PARTNER,
        entry("accrual:charge", at(10, 31), (UNBILLED, 15000), (VOICE_REVENUE, -15000)),
    )
    with pytest.raises(IdempotencyConflictError, match="accrual:charge"):
        post_entry(
            books,
            PARTNER,
            entry("accrual:charge", at(10, 31), (UNBILLED, 15001), (VOICE_REVENUE, -15001)),
        )
    assert balance(UNBILLED) == 15000


def test_unbalanced_entry_names_the_entry_and_imbalance(books: Session) -> None:
    with pytest.raises(InvalidEntryError, match=r"'bad'.*USD off by \+100"):
        post_entry(
            books, PARTNER, entry("bad", at(10, 1), (UNBILLED, 15100), (VOICE_REVENUE, -15000))
        )


def test_reversal_undoes_an_entry_once(books: Session, balance: Balance) -> None:
    original = post_entry(
        books, PARTNER, entry("invoice:X", at(10, 31), (RECEIVABLE, 9900), (SUBSCRIPTION, -9900))
    )
    reversal = reverse_entry(books, PARTNER, original.id, effective_at=at(11, 2))
    assert reversal.reverses_entry_id == original.id
    assert balance(RECEIVABLE) == 0
    assert reverse_entry(books, PARTNER, original.id).id == reversal.id  # replay
    with pytest.raises(AlreadyReversedError):
        reverse_entry(books, PARTNER, original.id, idempotency_key="another-reversal")
    with pytest.raises(InvalidEntryError, match="cannot itself be reversed"):
        reverse_entry(books, PARTNER, reversal.id)
