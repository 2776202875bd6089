"""What a comparison produces: differences (before they are stored) and per-system tallies.

A difference carries, besides its texts, the facts a finance reader sorts and filters by (the
system's name, the invoice, the client, the usage type, the invoice date), so the report and
its CSV never have to take a sentence apart to find them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

__all__ = ["Diff", "Tally"]


@dataclass(frozen=True, slots=True)
class Diff:
    """One disagreement. `system` is the machine key of the side compared with (`usage`,
    `ledger`, `quickbooks:main`, ...) and `system_name` what people call it; `ours` / `theirs`
    are short texts for people (amounts in major units with their currency, quantities in the
    usage type's unit); `amount_minor` is what is at stake in `currency` (0 when no amount
    is at stake or none can be put on it)."""

    kind: str
    severity: str  # info | warning | error
    system: str
    subject: str
    ours: str
    theirs: str
    amount_minor: int
    currency: str
    action: str
    fix: dict[str, Any] | None = None
    system_name: str = ""
    invoice_id: int | None = None
    invoice_number: str | None = None
    client_id: str | None = None
    client_name: str | None = None
    usage_type: str | None = None
    issue_date: date | None = None

    @property
    def fixable(self) -> bool:
        return self.fix is not None


@dataclass(slots=True)
class Tally:
    """Per system: how many things agreed, and the totals each side holds. `name` is what
    people call the system; `money` is False where the totals are not amounts (usage)."""

    matched: int = 0
    ours_minor: int = 0
    theirs_minor: int = 0
    notes: list[str] = field(default_factory=list)
    name: str = ""
    money: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "matched": self.matched,
            "ours_minor": self.ours_minor,
            "theirs_minor": self.theirs_minor,
            "money": self.money,
            "notes": list(self.notes),
        }
