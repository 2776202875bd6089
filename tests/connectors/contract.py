"""The one contract every accounting connector passes (QuickBooks, Xero, FreshBooks, ...).

A connector's test module subclasses `ConnectorContract` and provides three fixtures and a few
class attributes; every test below then runs against that connector and its stateful fake:

    class TestQuickBooksContract(ConnectorContract):
        income_account = "79"            # exists in the fake
        tax_code = "TAX"
        bad_item_field = "ItemRef"       # the remote's field named when an item is unknown

        @pytest.fixture
        def fake(self): return FakeQuickBooks()

        @pytest.fixture
        def connector(self, fake, tokens, retry_policy): ... build on FakeTransport(fake)

The `tokens` (a `FakeTokens` on the fake), `sleeps` and `retry_policy` fixtures come from
here: build the connector with that policy so retries are instant and their waits recorded.
The connector must page `list_invoices` in pages of at most `page_size` (set it on the fake or
the connector in the fixture) so pagination is exercised with few invoices.

What is checked is what the sync worker relies on: the same idempotency key never makes a
second invoice, an invoice number is found before it would be created again, the remote total
equals ours to the cent with awkward lines, every failure lands in the right outcome, and a
timeout after the remote committed is followed by a lookup that finds the invoice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from connectors.base import (
    AuthExpiredError,
    Connector,
    ConnectorError,
    NotFoundError,
    RateLimitedError,
    RejectedError,
    RetryableError,
)
from mappings.base import ADJUSTMENT_ITEM, BASE_FEE_ITEM
from remote_specs import (
    CreditNoteSpec,
    CustomerSpec,
    InvoiceSpec,
    ItemSpec,
    LineSpec,
    RemoteRef,
    RemoteStatus,
)
from sandbox.base import FakeRemote
from sandbox.transport import FakeTokens

__all__ = ["ConnectorContract", "awkward_lines", "simple_lines"]

ISSUE = date(2026, 10, 31)


def simple_lines(item: str = "voice") -> tuple[LineSpec, ...]:
    return (
        LineSpec("Voice minutes", Decimal(120), Decimal("0.25"), 3000, item_code=item),
        LineSpec("SMS", Decimal(50), Decimal("0.10"), 500, item_code="sms"),
    )


def awkward_lines() -> tuple[LineSpec, ...]:
    """Lines a remote that recomputes quantity x unit price could get wrong by a cent."""
    return (
        # a graduated tier's remainder, sent as quantity 1 at the line amount
        LineSpec(
            "Voice 1,001-5,000 min (3,999 x 0.01234, rounded)",
            Decimal(1),
            Decimal("49.35"),
            4935,
            item_code="voice",
        ),
        # fractional quantity, 4-decimal unit price, exact product
        LineSpec("SMS", Decimal("1500"), Decimal("0.0125"), 1875, item_code="sms"),
        LineSpec("Voice minutes", Decimal("3.75"), Decimal("1.2"), 450, item_code="voice"),
        LineSpec(
            "Base fee (prorated 11/31)", Decimal(1), Decimal("17.74"), 1774, item_code=BASE_FEE_ITEM
        ),
        # a discount as a negative line
        LineSpec("Discount 10%", Decimal(1), Decimal("-9.03"), -903, item_code=ADJUSTMENT_ITEM),
    )


def _raise(result: RemoteRef | ConnectorError) -> RemoteRef:
    """Batch methods answer errors per element; single-element tests want them raised."""
    if isinstance(result, ConnectorError):
        raise result
    return result


class ConnectorContract:
    """Mixin of contract tests; see the module docstring for what a subclass provides."""

    currency = "USD"
    income_account: str = "1"
    tax_code: str | None = None
    page_size = 3
    #: substring of `FieldError.field` the remote names when a line's item does not exist
    bad_item_field = "Item"

    #: the provider whose published description checks the fake's traffic
    #: (`tests.contracts.checks.check_for`); None only for a toy remote without one
    provider: str | None = None
    #: an invoice id of the remote's own form that exists nowhere
    unknown_remote_id = "999999"

    # ---- fixtures ---------------------------------------------------------------------------
    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"

    @pytest.fixture(autouse=True)
    def contract_check(self, fake: FakeRemote) -> Iterator[None]:
        """Every request the fake receives and every answer it gives, checked against the
        provider's own description (schema validation on); none may violate it."""
        if self.provider is None:
            yield
            return
        from tests.contracts.checks import check_for

        fake.checks.append(check_for(self.provider))
        yield
        assert not fake.violations, fake.violations

    @pytest.fixture
    def sleeps(self) -> list[float]:
        return []

    @pytest.fixture
    def retry_policy(self, sleeps: list[float]) -> Any:
        from connectors.http import RetryPolicy

        async def record(seconds: float) -> None:
            sleeps.append(seconds)

        return RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=30.0, sleep=record)

    @pytest.fixture
    def tokens(self, fake: FakeRemote) -> FakeTokens:
        return FakeTokens(fake)

    # ---- spec builders (override when the remote needs other codes) ------------------------
    def make_customer_spec(self, reference: str = "client-1") -> CustomerSpec:
        return CustomerSpec(
            reference=reference,
            display_name=f"Client {reference}",
            email=f"{reference}@example.com",
            currency=self.currency,
        )

    def make_item_specs(self) -> list[ItemSpec]:
        return [
            ItemSpec(code=code, name=code.title(), income_account=self.income_account)
            for code in ("voice", "sms", BASE_FEE_ITEM, ADJUSTMENT_ITEM)
        ]

    def make_invoice_spec(
        self,
        number: str,
        customer: RemoteRef,
        *,
        lines: Sequence[LineSpec] | None = None,
        tax_minor: int = 0,
        issue_date: date = ISSUE,
        reference: str | None = None,
    ) -> InvoiceSpec:
        lines = tuple(lines if lines is not None else simple_lines())
        subtotal = sum(line.amount_minor for line in lines)
        return InvoiceSpec(
            reference=reference or f"inv-{number}",
            number=number,
            customer_reference="client-1",
            customer=customer,
            currency=self.currency,
            issue_date=issue_date,
            due_date=issue_date + timedelta(days=14),
            lines=lines,
            subtotal_minor=subtotal,
            tax_minor=tax_minor,
            total_minor=subtotal + tax_minor,
            memo=f"Rebill invoice {number}",
            tax_code=self.tax_code if tax_minor else None,
        )

    def key(self, op: str, our_id: str, version: int = 1) -> str:
        return f"rebill:conn-test:{op}:{our_id}:{version}"

    async def customer(self, connector: Connector) -> RemoteRef:
        """A customer and the items the lines use, created remotely (the worker's order)."""
        spec = self.make_customer_spec()
        [ref] = await connector.upsert_customers([spec], [self.key("customer", spec.reference)])
        assert isinstance(ref, RemoteRef), ref
        items = self.make_item_specs()
        refs = await connector.ensure_items(items, [self.key("item", i.code) for i in items])
        assert all(isinstance(r, RemoteRef) for r in refs), refs
        return ref

    async def push_one(
        self, connector: Connector, spec: InvoiceSpec, key: str | None = None
    ) -> RemoteRef | ConnectorError:
        [result] = await connector.push_invoices(
            [spec], [key or self.key("invoice", spec.reference)]
        )
        return result

    # ---- the contract -----------------------------------------------------------------------
    @pytest.mark.anyio
    async def test_same_key_twice_makes_one_invoice(
        self, connector: Connector, fake: FakeRemote
    ) -> None:
        spec = self.make_invoice_spec("INV-1001", await self.customer(connector))
        first = await self.push_one(connector, spec)
        second = await self.push_one(connector, spec)
        assert isinstance(first, RemoteRef) and isinstance(second, RemoteRef)
        assert first.remote_id == second.remote_id
        assert len(fake.invoices_by_number("INV-1001")) == 1

    @pytest.mark.anyio
    async def test_existing_number_is_found_and_never_duplicated(
        self, connector: Connector, fake: FakeRemote
    ) -> None:
        spec = self.make_invoice_spec("INV-1002", await self.customer(connector))
        ref = await self.push_one(connector, spec)
        assert isinstance(ref, RemoteRef)
        found = await connector.find_invoices(["INV-1002", "INV-NOPE"])
        assert set(found) == {"INV-1002"}
        assert found["INV-1002"].ref.remote_id == ref.remote_id
        # another key (a re-issued outbox row): still one invoice remotely
        again = await self.push_one(connector, spec, self.key("invoice", spec.reference, 2))
        assert not isinstance(again, RemoteRef) or again.remote_id == ref.remote_id
        assert len(fake.invoices_by_number("INV-1002")) == 1

    @pytest.mark.anyio
    async def test_round_trip_to_the_cent_with_awkward_lines(self, connector: Connector) -> None:
        customer = await self.customer(connector)
        lines = awkward_lines()
        subtotal = sum(line.amount_minor for line in lines)
        tax = (subtotal * 8 + 50) // 100  # 8% rounded half-up, as ours
        spec = self.make_invoice_spec("INV-1003", customer, lines=lines, tax_minor=tax)
        ref = await self.push_one(connector, spec)
        assert isinstance(ref, RemoteRef), ref
        remote = await connector.fetch_invoice(ref)
        assert remote.number == "INV-1003"
        assert remote.currency == self.currency
        assert remote.total_minor == spec.total_minor == subtotal + tax
        assert remote.amount_due_minor == spec.total_minor
        assert remote.amount_paid_minor == 0
        assert remote.status is RemoteStatus.OPEN
        assert remote.customer_id == customer.remote_id

    @pytest.mark.anyio
    async def test_list_invoices_reads_every_page(
        self, connector: Connector, fake: FakeRemote
    ) -> None:
        customer = await self.customer(connector)
        count = self.page_size * 2 + 1
        specs = [
            self.make_invoice_spec(f"INV-2{i:03}", customer, issue_date=ISSUE - timedelta(days=i))
            for i in range(count)
        ]
        outside = self.make_invoice_spec(
            "INV-2999", customer, issue_date=ISSUE - timedelta(days=90)
        )
        results = await connector.push_invoices(
            [*specs, outside], [self.key("invoice", s.reference) for s in [*specs, outside]]
        )
        assert all(isinstance(r, RemoteRef) for r in results), results
        before = len(fake.requests)
        listed = await connector.list_invoices(ISSUE - timedelta(days=count), ISSUE)
        assert sorted(r.number for r in listed) == sorted(s.number for s in specs)
        assert len(fake.requests) - before >= 2  # more than one page was read

    @pytest.mark.anyio
    async def test_429_is_retried_after_retry_after_or_reported(
        self, connector: Connector, fake: FakeRemote, sleeps: list[float]
    ) -> None:
        customer = await self.customer(connector)
        spec = self.make_invoice_spec("INV-1004", customer)
        fake.fail_next("429")
        result = await self.push_one(connector, spec)
        if isinstance(result, RemoteRef):
            assert sleeps and max(sleeps) >= 1.0  # the fake's Retry-After was honoured
        else:
            assert isinstance(result, RateLimitedError) and result.retry_after
        spec2 = self.make_invoice_spec("INV-1005", customer)
        fake.fail_next("429", count=50)
        with pytest.raises(RateLimitedError):
            _raise(await self.push_one(connector, spec2))
        assert len(fake.invoices_by_number("INV-1005")) == 0

    @pytest.mark.anyio
    async def test_5xx_is_retried_then_succeeds(
        self, connector: Connector, fake: FakeRemote
    ) -> None:
        spec = self.make_invoice_spec("INV-1006", await self.customer(connector))
        fake.fail_next("500", count=2)
        result = await self.push_one(connector, spec)
        assert isinstance(result, RemoteRef), result
        assert len(fake.invoices_by_number("INV-1006")) == 1

    @pytest.mark.anyio
    async def test_401_refreshes_then_succeeds(
        self, connector: Connector, fake: FakeRemote, tokens: FakeTokens
    ) -> None:
        customer = await self.customer(connector)
        fake.expire_tokens()
        result = await self.push_one(connector, self.make_invoice_spec("INV-1007", customer))
        assert isinstance(result, RemoteRef), result
        assert tokens.refreshes == 1

    @pytest.mark.anyio
    async def test_401_with_a_dead_refresh_token_is_auth_expired(
        self, connector: Connector, fake: FakeRemote, tokens: FakeTokens
    ) -> None:
        customer = await self.customer(connector)
        fake.expire_tokens()
        tokens.refresh_fails = True
        with pytest.raises(AuthExpiredError):
            _raise(await self.push_one(connector, self.make_invoice_spec("INV-1008", customer)))

    @pytest.mark.anyio
    async def test_4xx_is_rejected_with_the_field_named(
        self, connector: Connector, fake: FakeRemote
    ) -> None:
        customer = await self.customer(connector)
        bad = LineSpec("Mystery", Decimal(1), Decimal(5), 500, item_code="no-such-item")
        result = await self.push_one(
            connector, self.make_invoice_spec("INV-1009", customer, lines=[bad])
        )
        assert isinstance(result, RejectedError), result
        assert result.errors, "the remote's field errors are kept"
        assert any(self.bad_item_field in (e.field or "") + e.message for e in result.errors)
        assert result.message and "Traceback" not in result.message
        assert len(fake.invoices_by_number("INV-1009")) == 0

    @pytest.mark.anyio
    async def test_timeout_after_commit_then_lookup_makes_no_duplicate(
        self, connector: Connector, fake: FakeRemote
    ) -> None:
        spec = self.make_invoice_spec("INV-1010", await self.customer(connector))
        fake.fail_next(
            "timeout_after_commit",
            path_contains=self.invoice_write_path,
            method=self.invoice_write_method,
        )
        result = await self.push_one(connector, spec)
        assert fake.pending_failures == 0, "the timeout never hit: set invoice_write_path/method"
        if isinstance(result, ConnectorError):
            assert isinstance(result, RetryableError) and result.uncertain
        # what the worker does next: look up by number, push only when absent
        found = await connector.find_invoices([spec.number])
        if spec.number not in found:
            again = await self.push_one(connector, spec)
            assert isinstance(again, RemoteRef)
        assert len(fake.invoices_by_number("INV-1010")) == 1

    @pytest.mark.anyio
    async def test_reset_before_sending_then_retry_makes_one_invoice(
        self, connector: Connector, fake: FakeRemote
    ) -> None:
        spec = self.make_invoice_spec("INV-1011", await self.customer(connector))
        fake.fail_next(
            "reset", path_contains=self.invoice_write_path, method=self.invoice_write_method
        )
        result = await self.push_one(connector, spec)
        assert fake.pending_failures == 0, "the reset never hit: set invoice_write_path/method"
        if isinstance(result, ConnectorError):
            result = await self.push_one(connector, spec)
        assert isinstance(result, RemoteRef), result
        assert len(fake.invoices_by_number("INV-1011")) == 1

    @pytest.mark.anyio
    async def test_void(self, connector: Connector, fake: FakeRemote) -> None:
        spec = self.make_invoice_spec("INV-1012", await self.customer(connector))
        ref = await self.push_one(connector, spec)
        assert isinstance(ref, RemoteRef)
        voided = await connector.void_invoice(ref, self.key("void", spec.reference))
        assert voided.remote_id == ref.remote_id
        remote = await connector.fetch_invoice(voided)
        assert remote.status is RemoteStatus.VOID
        assert remote.amount_due_minor == 0
        # voiding again is harmless (a retried outbox row)
        await connector.void_invoice(voided, self.key("void", spec.reference))
        assert len(fake.invoices_by_number("INV-1012")) == 1
        found = await connector.find_invoices(["INV-1012"])
        assert found["INV-1012"].status is RemoteStatus.VOID

    @pytest.mark.anyio
    async def test_credit_note(self, connector: Connector) -> None:
        customer = await self.customer(connector)
        spec = self.make_invoice_spec("INV-1013", customer)
        ref = await self.push_one(connector, spec)
        assert isinstance(ref, RemoteRef)
        line = LineSpec(
            "Refund: dropped calls", Decimal(1), Decimal("12.50"), 1250, item_code="voice"
        )
        note = CreditNoteSpec(
            reference="cn-1",
            number="CN-1013",
            invoice=ref,
            invoice_number=spec.number,
            customer=customer,
            currency=self.currency,
            issue_date=ISSUE + timedelta(days=3),
            lines=(line,),
            tax_minor=0,
            total_minor=1250,
            reason="dropped calls",
        )
        credit = await connector.push_credit_note(note, self.key("credit", "cn-1"))
        again = await connector.push_credit_note(note, self.key("credit", "cn-1"))
        assert credit.remote_id and again.remote_id == credit.remote_id

    @pytest.mark.anyio
    async def test_fetching_an_unknown_invoice_is_not_found(self, connector: Connector) -> None:
        with pytest.raises(NotFoundError):
            await connector.fetch_invoice(RemoteRef(remote_id=self.unknown_remote_id))

    @pytest.mark.anyio
    async def test_customers_are_found_by_reference_not_duplicated(
        self, connector: Connector
    ) -> None:
        spec = self.make_customer_spec("client-7")
        [created] = await connector.upsert_customers([spec], [self.key("customer", "client-7")])
        [found] = await connector.find_customers([spec])
        [again] = await connector.upsert_customers([spec], [self.key("customer", "client-7", 2)])
        assert isinstance(created, RemoteRef) and found is not None and isinstance(again, RemoteRef)
        assert created.remote_id == found.remote_id == again.remote_id
        [missing] = await connector.find_customers([self.make_customer_spec("client-none")])
        assert missing is None

    #: the request that creates invoices (failure injection target): a fragment of its path
    #: (compared without case) and its method (None: any, then a lookup on the same path may
    #: take the failure instead of the write)
    invoice_write_path = "invoice"
    invoice_write_method: str | None = None
