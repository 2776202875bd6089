"""The version rows one change operation works on, read once and kept current as it writes.

`config apply` of a file with 10,000 clients would otherwise ask the database for each client's
terms, prices and dates one by one; with `preload` it reads each kind in one query, and new
rows are added to the session without a flush each (one flush writes them all). An API change
touching one client reads only that client's rows, on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session

from billing.pricing.book import PlanHeader, Timeline
from billing.pricing.models import (
    ClientDates,
    ClientTermsVersion,
    PlanVersion,
    PriceScope,
    PriceVersion,
)
from billing.pricing.repository import PricingRepository
from config.prices import PriceModel, parse_price

__all__ = ["PlanHistory", "PriceHistory", "VersionStore"]


@dataclass
class PriceHistory:
    timeline: Timeline[PriceModel | None] = field(default_factory=Timeline)
    rows: dict[date, PriceVersion] = field(default_factory=dict)


@dataclass
class PlanHistory:
    timeline: Timeline[PlanHeader] = field(default_factory=Timeline)
    rows: dict[date, PlanVersion] = field(default_factory=dict)


class VersionStore:
    def __init__(self, session: Session, partner_id: str) -> None:
        self.session = session
        self.partner_id = partner_id
        self.repo = PricingRepository(session)
        self._prices: dict[tuple[PriceScope, str], dict[str, PriceHistory]] = {}
        self._plans: dict[str, PlanHistory] = {}
        self._plan_codes: set[str] | None = None
        self._terms: dict[str, dict[date, ClientTermsVersion]] | None = None
        self._dates: dict[str, ClientDates] | None = None
        self._all_prices = False

    def preload(self) -> None:
        """Read every version of the partner now (for operations that touch most of them)."""
        for row in self.repo.price_versions(self.partner_id):
            self._add_price(row)
        self._all_prices = True
        self.plan_codes()
        for version in self.repo.plan_versions(self.partner_id):
            self._add_plan(version)
        self.terms()
        self._load_dates()

    # prices -------------------------------------------------------------------
    def _add_price(self, row: PriceVersion) -> None:
        owner = self._prices.setdefault((row.scope, row.owner), {})
        history = owner.setdefault(row.usage_type, PriceHistory())
        history.timeline.add(
            row.effective_from, None if row.price is None else parse_price(row.price)
        )
        history.rows[row.effective_from] = row

    def prices(self, scope: PriceScope, owner: str) -> dict[str, PriceHistory]:
        """Usage type -> its versions, for one owner's prices."""
        key = (scope, owner)
        if key not in self._prices:
            self._prices[key] = {}
            if not self._all_prices:
                for row in self.repo.price_versions(self.partner_id, scope, [owner]):
                    self._add_price(row)
        return self._prices[key]

    # plans --------------------------------------------------------------------
    def plan_codes(self) -> set[str]:
        if self._plan_codes is None:
            self._plan_codes = {p.code for p in self.repo.plans(self.partner_id)}
            self._plan_codes |= {p.plan_code for p in self.repo.plan_versions(self.partner_id)}
        return self._plan_codes

    def _add_plan(self, row: PlanVersion) -> None:
        history = self._plans.setdefault(row.plan_code, PlanHistory())
        header = PlanHeader(row.name, row.currency, row.base_fee, row.minimum_spend)
        history.timeline.add(row.effective_from, header)
        history.rows[row.effective_from] = row

    def plan(self, code: str) -> PlanHistory:
        if code not in self._plans:
            self._plans[code] = PlanHistory()
            for row in self.repo.plan_versions(self.partner_id, [code]):
                self._add_plan(row)
        return self._plans[code]

    # clients ------------------------------------------------------------------
    def terms(self) -> dict[str, dict[date, ClientTermsVersion]]:
        """Client -> its terms versions by date (every client: plan membership needs all)."""
        if self._terms is None:
            self._terms = {}
            for row in self.repo.terms_versions(self.partner_id):
                self._terms.setdefault(row.client_id, {})[row.effective_from] = row
        return self._terms

    def _load_dates(self) -> dict[str, ClientDates]:
        if self._dates is None:
            self._dates = {row.client_id: row for row in self.repo.client_dates(self.partner_id)}
        return self._dates

    def dates(self, client_id: str) -> ClientDates | None:
        if self._dates is not None:
            return self._dates.get(client_id)
        return self.repo.dates_of(self.partner_id, client_id)

    def add(self, row: PriceVersion | PlanVersion | ClientTermsVersion | ClientDates) -> None:
        """Queue a new or changed row (written at the next flush) and keep the view current."""
        self.session.add(row)
        if isinstance(row, ClientDates) and self._dates is not None:
            self._dates[row.client_id] = row
        elif isinstance(row, ClientTermsVersion):
            self.terms().setdefault(row.client_id, {})[row.effective_from] = row
