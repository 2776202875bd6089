"""Random sequences of open / post / reverse / replay against a model of the books.

After every step: the trial balance nets to zero per currency, replays changed nothing, a replay
with a different body failed, and every as-of balance equals the model's sum of postings up to
that moment.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
)
from sqlalchemy import Engine
from sqlmodel import Session

from ledger import (
    Account,
    AccountType,
    EntrySpec,
    IdempotencyConflictError,
    NormalSide,
    PostingSpec,
    account_balance,
    post_entries,
    reverse_entry,
    trial_balance,
)

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
CURRENCIES = ("USD", "EUR", "JPY")
MEMO = st.text(
    st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=20
)
_runs = itertools.count()


def _moment(hours: int) -> datetime:
    return EPOCH + timedelta(hours=hours)


class LedgerMachine(RuleBasedStateMachine):
    entries = Bundle("entries")

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.session = Session(engine, expire_on_commit=False)
        self.partner = f"p{next(_runs)}"
        self.accounts: dict[str, list[str]] = defaultdict(list)  # currency -> codes
        self.legs: list[tuple[datetime, str, str, int]] = []  # when, code, currency, amount
        self.specs: dict[str, EntrySpec] = {}
        self.ids: dict[str, object] = {}
        self.reversed: set[str] = set()
        self.counter = itertools.count()

    def teardown(self) -> None:
        self.session.close()

    @rule(currency=st.sampled_from(CURRENCIES), kind=st.sampled_from(list(AccountType)))
    def open_account(self, currency: str, kind: AccountType) -> None:
        code = f"A{next(self.counter)}"
        self.session.add(
            Account(
                partner_id=self.partner,
                code=code,
                name=code,
                type=kind,
                currency=currency,
                normal_side=kind.default_normal_side,
            )
        )
        self.session.commit()
        self.accounts[currency].append(code)

    @precondition(lambda self: any(len(codes) >= 2 for codes in self.accounts.values()))
    @rule(target=entries, data=st.data())
    def post(self, data: st.DataObject) -> str:
        currency = data.draw(
            st.sampled_from(sorted(c for c, a in self.accounts.items() if len(a) >= 2))
        )
        codes = data.draw(
            st.lists(st.sampled_from(self.accounts[currency]), min_size=2, max_size=4)
        )
        amounts = [data.draw(st.integers(-(10**12), 10**12).filter(bool)) for _ in codes[:-1]]
        closing = -sum(amounts)
        if closing == 0:
            amounts[0] += 1
            closing = -1
        when = _moment(data.draw(st.integers(0, 24 * 365)))
        key = f"e{next(self.counter)}"
        legs = tuple(
            PostingSpec(code, amount, currency)
            for code, amount in zip(codes, [*amounts, closing], strict=True)
        )
        spec = EntrySpec(key, when, legs, memo=data.draw(MEMO))
        result = post_entries(self.session, self.partner, [spec])
        self.session.commit()
        assert (result.posted, result.replayed) == (1, 0)
        self.specs[key] = spec
        self.ids[key] = result.entry_ids[0]
        self.legs.extend((when, leg.account, currency, leg.amount) for leg in legs)
        return key

    @rule(key=entries)
    def replay(self, key: str) -> None:
        before = len(self.legs)
        result = post_entries(self.session, self.partner, [self.specs[key]])
        self.session.commit()
        assert (result.posted, result.replayed) == (0, 1)
        assert result.entry_ids[0] == self.ids[key]
        assert len(self.legs) == before

    @rule(key=entries, memo=MEMO.filter(bool))
    def replay_with_another_body(self, key: str, memo: str) -> None:
        spec = self.specs[key]
        changed = EntrySpec(
            spec.idempotency_key, spec.effective_at, spec.postings, memo=spec.memo + memo
        )
        with pytest.raises(IdempotencyConflictError):
            post_entries(self.session, self.partner, [changed])
        self.session.rollback()

    @rule(key=consumes(entries), hours=st.integers(0, 24 * 365))
    def reverse(self, key: str, hours: int) -> None:
        when = _moment(hours)
        reverse_entry(self.session, self.partner, self.ids[key], effective_at=when)  # type: ignore[arg-type]
        self.session.commit()
        self.legs.extend(
            (when, leg.account, leg.currency, -leg.amount) for leg in self.specs[key].postings
        )

    @invariant()
    def trial_balance_nets_to_zero(self) -> None:
        report = trial_balance(self.session, self.partner)
        assert report.is_balanced
        expected: dict[str, int] = defaultdict(int)
        for _, _, currency, amount in self.legs:
            expected[currency] += max(amount, 0)
        # Debits in the trial balance are at most the sum of debit legs (netting shrinks them).
        for currency, (debit, _credit) in report.totals.items():
            assert debit <= expected[currency]

    @invariant()
    def as_of_balances_match_the_model(self) -> None:
        moments = sorted({when for when, *_ in self.legs})[:: max(1, len(self.legs) // 4)][:4]
        for moment in [*moments, None]:
            for currency, codes in self.accounts.items():
                for code in codes:
                    model = sum(
                        amount
                        for when, c, cur, amount in self.legs
                        if c == code and cur == currency and (moment is None or when <= moment)
                    )
                    assert (
                        account_balance(self.session, self.partner, code, currency, moment) == model
                    )


def test_ledger_state_machine(engine: Engine) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        lambda: LedgerMachine(engine),
        settings=settings(
            max_examples=20,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


def test_normal_side_defaults() -> None:
    assert AccountType.ASSET.default_normal_side is NormalSide.DEBIT
    assert AccountType.REVENUE.default_normal_side is NormalSide.CREDIT
    assert NormalSide.CREDIT.sign == -1
