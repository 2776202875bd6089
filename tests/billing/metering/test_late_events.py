"""The late-usage rule (`late_event_days`): an event of a period that was never invoiced is
always accepted, however old; once the period's invoice was issued, it is accepted up to
`late_event_days` after the issue (and billed on the next invoice); later it is refused with
the field and the invoice named. Checked on the pure rule at its exact boundaries (and as a
property), through the service with a chosen arrival time, over HTTP and by CSV import."""

from __future__ import annotations

import csv
import json
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session, select

from api.app import create_app
from billing.invoicing.models import Invoice
from billing.metering import import_csv, ingest
from billing.metering.validation import IssuedPeriod, ValidEvent, late_rejection
from billing.tenants.models import Scope
from config.db import session_scope
from tests.billing.factories import make_key
from tests.billing.invoicing.builders import (
    SIMPLE,
    at,
    close_and_issue,
    last_month,
    send,
    setup_partner,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

OCT = datetime(2026, 10, 1, tzinfo=UTC)
NOV = datetime(2026, 11, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)
ISSUED = datetime(2026, 11, 6, 9, 30, tzinfo=UTC)
OCTOBER = IssuedPeriod(OCT, NOV, ISSUED, "A-000007")


def _event(occurred: datetime, *, adjusts: str | None = None) -> ValidEvent:
    return ValidEvent(
        0, "e-1", "c1", "sms", Decimal(1), 10**6, occurred, "", None, None, adjusts, 0, "hash"
    )


def test_the_exact_boundary_is_accepted_and_the_next_instant_refused() -> None:
    october = _event(datetime(2026, 10, 15, tzinfo=UTC))
    deadline = ISSUED + timedelta(days=90)
    assert late_rejection(october, [OCTOBER], deadline, 90) is None
    refused = late_rejection(october, [OCTOBER], deadline + timedelta(microseconds=1), 90)
    assert refused is not None and refused.field == "occurred_at"
    assert refused.reason == (
        "is in the period of invoice A-000007, issued 2026-11-06; usage of an invoiced period "
        "is accepted for late_event_days (90) after its invoice was issued, that is until "
        "2027-02-04 09:30 UTC"
    )
    assert late_rejection(october, [OCTOBER], ISSUED, 0) is None  # at the issue itself
    assert late_rejection(october, [OCTOBER], ISSUED + timedelta(seconds=1), 0) is not None


def test_periods_never_invoiced_are_always_accepted() -> None:
    long_after = ISSUED + timedelta(days=3650)
    before = _event(OCT - timedelta(days=400))  # a period with no invoice at all
    november = _event(NOV)  # the period after the invoiced one (its start is inclusive)
    assert late_rejection(before, [OCTOBER], long_after, 90) is None
    assert late_rejection(november, [OCTOBER], long_after, 90) is None
    assert late_rejection(before, [], long_after, 0) is None
    # A gap between two invoiced periods (a voided invoice not billed again) is not invoiced.
    december = IssuedPeriod(DEC, datetime(2027, 1, 1, tzinfo=UTC), ISSUED, "A-000009")
    assert (
        late_rejection(_event(NOV + timedelta(days=3)), [OCTOBER, december], long_after, 90) is None
    )
    assert late_rejection(_event(DEC), [OCTOBER, december], long_after, 90) is not None


def test_a_late_correction_is_pointed_to_a_credit_note() -> None:
    refused = late_rejection(_event(OCT, adjusts="e-0"), [OCTOBER], DEC + timedelta(days=365), 30)
    assert refused is not None and refused.reason.endswith(
        "; correct an older period with a credit note"
    )


_INSTANTS = st.integers(min_value=0, max_value=400 * 24).map(
    lambda hours: OCT + timedelta(hours=hours)
)


@given(
    bounds=st.lists(st.integers(min_value=1, max_value=60), min_size=0, max_size=6),
    lags=st.lists(st.integers(min_value=0, max_value=90 * 24), min_size=6, max_size=6),
    occurred=_INSTANTS,
    received=_INSTANTS,
    days=st.integers(min_value=0, max_value=120),
)
def test_refused_exactly_when_an_issued_period_holds_it_past_the_window(
    bounds: list[int], lags: list[int], occurred: datetime, received: datetime, days: int
) -> None:
    periods, start = [], OCT
    for n, length in enumerate(bounds):
        end = start + timedelta(days=length)
        if n % 3 != 1:  # every third period was never invoiced
            issued = end + timedelta(hours=lags[n])
            periods.append(IssuedPeriod(start, end, issued, f"A-{n}"))
        start = end
    holding = [p for p in periods if p.start <= occurred < p.end]
    expected = bool(holding) and received > holding[0].issued_at + timedelta(days=days)
    refused = late_rejection(_event(occurred), periods, received, days)
    assert (refused is not None) == expected
    if refused is not None:
        assert f"invoice {holding[0].number}," in refused.reason


# --- through the service, the API and the CSV import ---------------------------------------


@pytest.fixture
def invoiced(session: Session) -> Invoice:
    """Acme with last month invoiced (issued now) for c1 and c2; c1's invoice."""
    setup_partner(session, SIMPLE)
    send(session, [("v1", "c1", "voice", "10", at(last_month(), 2))])
    invoices = close_and_issue(session, last_month())
    return next(i for i in invoices if i.client_id == "c1")


def _body(event_id: str, when: str | datetime, client: str = "c1") -> dict[str, Any]:
    text = when.isoformat() if isinstance(when, datetime) else when
    return {
        "event_id": event_id,
        "client": client,
        "usage_type": "voice",
        "quantity": "1",
        "occurred_at": text,
    }


def test_service_boundaries_with_the_arrival_time(session: Session, invoiced: Invoice) -> None:
    assert invoiced.issued_at is not None
    deadline = invoiced.issued_at + timedelta(days=90)
    in_period = at(last_month(), 20)
    kept = ingest(session, "acme", [_body("at-deadline", in_period)], received_at=deadline)
    assert (kept.accepted, kept.rejections) == (1, [])
    late = ingest(
        session,
        "acme",
        [_body("after", in_period), _body("after", in_period)],
        received_at=deadline + timedelta(microseconds=1),
    )
    assert late.accepted == 0 and late.duplicates == 0  # a repeat of a refused event too
    assert [(r.index, r.field) for r in late.rejections] == [(0, "occurred_at"), (1, "occurred_at")]
    assert f"invoice {invoiced.number}" in late.rejections[0].reason
    years_ago = ingest(
        session,
        "acme",
        [_body("old", datetime(2020, 1, 5, tzinfo=UTC))],
        received_at=deadline + timedelta(days=365),
    )
    assert (years_ago.accepted, years_ago.rejections) == (1, [])  # never invoiced
    session.commit()


@pytest.fixture
def api(engine: object) -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client


def _post(api: TestClient, key: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    response = api.post(
        "/v1/usage", content=json.dumps(events), headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_over_http(api: TestClient, session: Session, invoiced: Invoice) -> None:
    key = make_key(session, "acme", Scope.INGEST, Scope.READ)
    long_ago = datetime.now(UTC) - timedelta(days=400)
    this_month = datetime.now(UTC).replace(day=1, hour=1)
    accepted = _post(
        api,
        key,
        [
            _body("never-invoiced", long_ago),  # far older than 90 days: its period has no invoice
            _body("late-but-within", at(last_month(), 20)),  # issued moments ago: within 90 days
            _body("open-period", this_month),
        ],
    )
    assert (accepted["accepted"], accepted["rejected"]) == (3, 0), accepted
    setup_partner(session, SIMPLE, late_event_days=0)  # nothing after the issue
    refused = _post(
        api,
        key,
        [
            _body("too-late", at(last_month(), 21)),
            _body("never-invoiced-2", long_ago),
            _body("other-client", at(last_month(), 21), client="c2"),
        ],
    )
    assert refused["accepted"] == 1
    c2 = session.exec(select(Invoice).where(Invoice.client_id == "c2")).one()
    [first, second] = refused["rejections"]
    assert (first["index"], first["event_id"], first["field"]) == (0, "too-late", "occurred_at")
    assert first["reason"].startswith(f"is in the period of invoice {invoiced.number}, issued ")
    assert "late_event_days (0)" in first["reason"]
    assert (second["event_id"], second["field"]) == ("other-client", "occurred_at")
    assert f"invoice {c2.number}," in second["reason"]


def test_csv_import(tmp_path: Path, session: Session, invoiced: Invoice) -> None:
    setup_partner(session, SIMPLE, late_event_days=0)
    path = tmp_path / "usage.csv"
    rows = [
        ["event_id", "client", "usage_type", "quantity", "occurred_at"],
        ["old-1", "c1", "voice", "2", "2019-03-04T10:00:00Z"],
        ["late-1", "c1", "voice", "2", at(last_month(), 12)],
        ["now-1", "c2", "voice", "2", datetime.now(UTC).isoformat()],
    ]
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    summary = import_csv(session_scope, "acme", path)
    assert (summary.accepted, summary.rejected) == (2, 1)
    with summary.rejects_path.open(newline="") as handle:
        [reject] = list(csv.DictReader(handle))
    assert (reject["line"], reject["field"], reject["event_id"]) == ("3", "occurred_at", "late-1")
    assert f"invoice {invoiced.number}" in reject["reason"]
    assert "late_event_days (0)" in reject["reason"]


def test_the_partner_file_sets_both_rules(session: Session) -> None:
    """`late_event_days = 0` (nothing after the issue) and `grace_period_hours` are applied
    from the `[partner]` table as written."""
    toml = SIMPLE.replace(
        "net_terms_days = 15", "net_terms_days = 15\nlate_event_days = 0\ngrace_period_hours = 48"
    )
    partner = setup_partner(session, toml)
    assert (partner.settings["late_event_days"], partner.settings["grace_period_hours"]) == (0, 48)


def test_metering_reads_the_invoices_invoicing_calls_issued() -> None:
    from billing.invoicing.models import ISSUED_STATES
    from billing.metering.repository import ISSUED_STATUSES

    assert sorted(ISSUED_STATUSES) == sorted(state.value for state in ISSUED_STATES)
