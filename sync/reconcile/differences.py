"""What a comparison produces: differences (before they are stored) and per-system tallies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Diff", "Tally"]


@dataclass(frozen=True, slots=True)
class Diff:
    """One disagreement; `amount_minor` is what is at stake in `currency` (0 when unknown)."""

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

    @property
    def fixable(self) -> bool:
        return self.fix is not None


@dataclass(slots=True)
class Tally:
    """Per system: how many things agreed, and the totals each side holds."""

    matched: int = 0
    ours_minor: int = 0
    theirs_minor: int = 0
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "ours_minor": self.ours_minor,
            "theirs_minor": self.theirs_minor,
            "notes": list(self.notes),
        }
