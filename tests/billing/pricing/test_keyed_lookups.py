"""Partner-wide reads keyed by more clients than one query takes (array joins on PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import Session

from billing.pricing.repository import AccruedRow, PricingRepository
from config.key_arrays import ARRAY_CHUNK

MARCH, APRIL = date(2026, 3, 1), date(2026, 4, 1)


def state(partner: str, client: str, start: date, charge: int) -> dict[str, object]:
    return {
        "partner_id": partner,
        "client_id": client,
        "usage_type": "sms",
        "period_start": start,
        "period_end": date(start.year, start.month + 1, 1),
        "currency": "USD",
        "cost_currency": "USD",
        "charge": charge,
        "cost": 1,
        "accruals": 1,
        "watermark": "w",
        "updated_at": datetime(2026, 4, 2, tzinfo=UTC),
    }


def test_accrued_finds_own_clients_across_chunks_and_ignores_other_partners(
    session: Session,
) -> None:
    clients = [f"c{n}" for n in range(ARRAY_CHUNK + 2_000)]
    # Either side of every chunk boundary (500 on SQLite, ARRAY_CHUNK on PostgreSQL).
    mine = [clients[i] for i in (0, 499, 500, ARRAY_CHUNK - 1, ARRAY_CHUNK, len(clients) - 1)]
    repo = PricingRepository(session)
    repo.save_accrued(
        [state("acme", c, MARCH, 100 + i) for i, c in enumerate(mine)]
        + [state("acme", mine[0], APRIL, 7)]  # a period not asked for
        + [state("globex", c, MARCH, 5) for c in (clients[1], clients[500], clients[ARRAY_CHUNK])]
    )
    session.commit()

    # Repeated ids are asked once: a join on an array would otherwise return a row per copy.
    found = repo.accrued("acme", [MARCH], [*clients, mine[1]])

    assert sorted(found) == sorted(
        AccruedRow(c, "sms", MARCH, 100 + i, 1, 1) for i, c in enumerate(mine)
    )
