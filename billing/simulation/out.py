"""A simulation as JSON (`POST /v1/simulations`, `prices simulate --json`): amounts in minor
units of `currency`, percentages as decimal strings, as `GET /v1/margins` writes them."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field

from billing.margins.service import MarginRow
from billing.simulation.results import Comparison, Mover, Simulation

__all__ = ["ComparisonOut", "FiguresOut", "MoverOut", "SimulationOut", "simulation_out"]


class FiguresOut(BaseModel):
    revenue: int = Field(description="Net of tax (invoices net of tax + unbilled), minor units.")
    cost: int = Field(description="Wholesale cost, minor units.")
    margin: int
    margin_percent: Decimal | None = Field(description="2 places; null when nothing charged.")
    below_threshold: bool = Field(description="Under the partner's margin_alert_percent.")

    @classmethod
    def of(cls, row: MarginRow) -> FiguresOut:
        return cls(
            revenue=row.charge,
            cost=row.cost,
            margin=row.margin,
            margin_percent=row.margin_percent,
            below_threshold=row.flagged,
        )


class ChangeOut(BaseModel):
    revenue: int
    cost: int
    margin: int
    margin_points: Decimal | None = Field(description="after - before, in % points.")


class ComparisonOut(BaseModel):
    key: str
    currency: str
    before: FiguresOut
    after: FiguresOut
    change: ChangeOut

    @classmethod
    def of(cls, row: Comparison) -> ComparisonOut:
        return cls(
            key=row.key,
            currency=row.currency,
            before=FiguresOut.of(row.before),
            after=FiguresOut.of(row.after),
            change=ChangeOut(
                revenue=row.revenue_change,
                cost=row.cost_change,
                margin=row.margin_change,
                margin_points=row.points_change,
            ),
        )


class MoverOut(BaseModel):
    client: str
    currency: str
    invoice_before: int = Field(description="Invoice total with tax as rated now, minor units.")
    invoice_after: int = Field(description="The same with the proposal.")
    change: int

    @classmethod
    def of(cls, mover: Mover) -> MoverOut:
        return cls(
            client=mover.client_id,
            currency=mover.currency,
            invoice_before=mover.invoice_before,
            invoice_after=mover.invoice_after,
            change=mover.change,
        )


class SimulationOut(BaseModel):
    partner: str
    periods: list[str]
    alert_below_percent: Decimal | None
    client_periods: int = Field(description="Client periods re-rated.")
    written: bool = Field(default=False, description="Always false: nothing is written.")
    portfolio: list[ComparisonOut] = Field(description="One row per currency.")
    usage_types: list[ComparisonOut] = Field(
        description="Per usage type; `(no usage type)` holds base fees, true-ups, discounts."
    )
    rises: list[MoverOut] = Field(description="Invoices that rise most, largest first.")
    falls: list[MoverOut] = Field(description="Invoices that fall most, largest fall first.")
    crossed_below: list[ComparisonOut] = Field(description="Clients newly under the threshold.")
    crossed_above: list[ComparisonOut] = Field(description="Clients back above the threshold.")
    clients: list[ComparisonOut]


def simulation_out(result: Simulation) -> SimulationOut:
    return SimulationOut(
        partner=result.partner_id,
        periods=list(result.periods),
        alert_below_percent=result.threshold,
        client_periods=result.client_periods,
        portfolio=[ComparisonOut.of(r) for r in result.portfolio],
        usage_types=[ComparisonOut.of(r) for r in result.usage_types],
        rises=[MoverOut.of(m) for m in result.rises],
        falls=[MoverOut.of(m) for m in result.falls],
        crossed_below=[ComparisonOut.of(r) for r in result.crossed_below],
        crossed_above=[ComparisonOut.of(r) for r in result.crossed_above],
        clients=[ComparisonOut.of(r) for r in result.clients],
    )
