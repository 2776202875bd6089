"""Every query about partners, clients, usage types and API keys. Every client and usage-type
query takes the partner id first: there is no way to ask for another tenant's rows by accident.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from sqlalchemy import select
from sqlmodel import Session, SQLModel, col

from billing.tenants.models import ApiKey, Client, ClientStatus, Partner, PartnerLogo, UsageType
from config.key_arrays import keyed_queries, on_postgres

__all__ = ["TenantRepository"]

_Row = TypeVar("_Row", bound=SQLModel)


class TenantRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: _Row) -> _Row:
        self.session.add(row)
        self.session.flush()
        return row

    # partners -----------------------------------------------------------------
    def partner(self, partner_id: str) -> Partner | None:
        return self.session.get(Partner, partner_id)

    def logo(self, partner_id: str) -> PartnerLogo | None:
        return self.session.get(PartnerLogo, partner_id)

    def has_logo(self, partner_id: str) -> bool:
        query = select(col(PartnerLogo.partner_id)).where(col(PartnerLogo.partner_id) == partner_id)
        return self.session.scalar(query) is not None

    def delete_logo(self, partner_id: str) -> bool:
        row = self.logo(partner_id)
        if row is None:
            return False
        self.session.delete(row)
        self.session.flush()
        return True

    def partners(self) -> list[Partner]:
        return list(self.session.scalars(select(Partner).order_by(col(Partner.id))))

    # clients ------------------------------------------------------------------
    def client(self, partner_id: str, client_id: str) -> Client | None:
        return self.session.get(Client, (partner_id, client_id))

    def client_by_external_ref(self, partner_id: str, external_ref: str) -> Client | None:
        query = select(Client).where(
            col(Client.partner_id) == partner_id, col(Client.external_ref) == external_ref
        )
        return self.session.scalars(query).first()

    def clients(
        self,
        partner_id: str,
        *,
        status: ClientStatus | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[Client]:
        query = select(Client).where(col(Client.partner_id) == partner_id)
        if status is not None:
            query = query.where(col(Client.status) == status)
        if after is not None:
            query = query.where(col(Client.id) > after)
        query = query.order_by(col(Client.id))
        if limit is not None:
            query = query.limit(limit)
        return list(self.session.scalars(query))

    def client_statuses(self, partner_id: str, client_ids: Iterable[str]) -> dict[str, str]:
        """Only the columns ingestion needs, for the given ids; absent ids are unknown."""
        found: dict[str, str] = {}
        query = select(col(Client.id), col(Client.status)).where(
            col(Client.partner_id) == partner_id
        )
        postgres = on_postgres(self.session)
        for chunk in keyed_queries(query, col(Client.id), client_ids, postgres=postgres):
            found.update((cid, str(status)) for cid, status in self.session.execute(chunk))
        return found

    def client_timezones(self, partner_id: str) -> dict[str, str]:
        query = select(col(Client.id), col(Client.timezone)).where(
            col(Client.partner_id) == partner_id
        )
        return {cid: tz for cid, tz in self.session.execute(query)}

    # usage types --------------------------------------------------------------
    def usage_type(self, partner_id: str, code: str) -> UsageType | None:
        return self.session.get(UsageType, (partner_id, code))

    def usage_types(self, partner_id: str) -> list[UsageType]:
        query = (
            select(UsageType)
            .where(col(UsageType.partner_id) == partner_id)
            .order_by(col(UsageType.code))
        )
        return list(self.session.scalars(query))

    # API keys -----------------------------------------------------------------
    def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        query = select(ApiKey).where(col(ApiKey.key_hash) == key_hash)
        return self.session.scalars(query).first()

    def api_key_by_prefix(self, prefix: str) -> ApiKey | None:
        return self.session.scalars(select(ApiKey).where(col(ApiKey.prefix) == prefix)).first()

    def api_keys(self, partner_id: str | None) -> list[ApiKey]:
        """A partner's keys, or the platform keys when `partner_id` is None."""
        owner = (
            col(ApiKey.partner_id).is_(None)
            if partner_id is None
            else col(ApiKey.partner_id) == partner_id
        )
        query = select(ApiKey).where(owner).order_by(col(ApiKey.created_at))
        return list(self.session.scalars(query))
