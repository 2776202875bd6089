"""A new client on a plan in one step: the client (`billing.tenants.create_client`) and its plan
from the start of its first billing period (`put_client_pricing`), in the caller's unit of
work, so a refused plan leaves no client behind. The dashboard, the CLI (`clients create
--plan`) and the API's two calls (`POST /v1/clients`, then `PUT /v1/clients/{id}/prices`)
reach the same state through the same rules.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from billing.pricing.book import client_period, local_today
from billing.pricing.changes import put_client_pricing
from billing.pricing.models import ChangeSource
from billing.pricing.schemas import ClientPricingIn
from billing.pricing.versions import FieldChange
from billing.tenants.models import Client
from billing.tenants.schemas import ClientCreate
from billing.tenants.service import create_client

__all__ = ["onboard_client"]


def onboard_client(
    session: Session,
    partner_id: str,
    spec: ClientCreate,
    plan: str | None,
    now: datetime,
    *,
    source: ChangeSource,
    reference: str | None = None,
) -> tuple[Client, list[FieldChange]]:
    """The client, and the price changes that put it on `plan` (none without a plan). Raises
    what the two services raise (`TenantError`, `InvalidPricingError`); the caller rolls back."""
    client = create_client(session, partner_id, spec)
    if not plan:
        return client, []
    first = client_period(client.billing_anchor_day, local_today(client.timezone, now))
    body = ClientPricingIn(plan=plan, effective_from=first.start)
    changes = put_client_pricing(
        session, partner_id, client.id, body, now, source=source, reference=reference
    )
    return client, changes
