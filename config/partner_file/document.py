"""`PartnerFile`: a whole, validated partner configuration and the defaults it resolves."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from config.partner_file.checks import cross_check
from config.partner_file.schema import (
    ClientSpec,
    PartnerSpec,
    PlanOverrideSpec,
    PlanSpec,
    UsageTypeSpec,
)
from config.prices import rules_error

__all__ = ["PartnerFile"]


class PartnerFile(BaseModel):
    """The partner, its usage types (with wholesale prices), plans and clients.

    Build it with `config.partner_file.load_partner_file` (or `validate_partner_data`), which
    reports every problem at once; `PartnerFile.model_validate` enforces the same rules but stops
    short of cross-section rules when a section is itself invalid.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    partner: PartnerSpec
    usage_types: dict[str, UsageTypeSpec] = Field(default_factory=dict)
    plans: dict[str, PlanSpec] = Field(default_factory=dict)
    clients: dict[str, ClientSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _cross_sections(self) -> PartnerFile:
        problems = cross_check(self.model_dump())
        if problems:
            raise rules_error(problems)
        return self

    def plan_currency(self, plan_id: str) -> str:
        return self.plans[plan_id].currency or self.partner.currency

    def client_currency(self, client_id: str) -> str:
        return self.clients[client_id].currency or self.partner.currency

    def client_timezone(self, client_id: str) -> str:
        return self.clients[client_id].timezone or self.partner.timezone

    def base_plan(self, client_id: str) -> PlanSpec | None:
        """The partner plan a client refers to (None when it only has a `plan_override`)."""
        plan_id = self.clients[client_id].plan
        return None if plan_id is None else self.plans[plan_id]

    def effective_plan(self, client_id: str) -> PlanSpec:
        """What the client is billed by: its `plan_override`, else its plan, with the client's
        own `prices` replacing the plan's price for each usage type they name."""
        client = self.clients[client_id]
        plan: PlanSpec | PlanOverrideSpec
        if client.plan_override is not None:
            plan = client.plan_override
        else:
            assert client.plan is not None  # guaranteed by cross_check
            plan = self.plans[client.plan]
        if not client.prices:
            return plan
        return plan.model_copy(update={"prices": {**plan.prices, **client.prices}})
