"""Pricing failures that name every problem at its path in the request (or file)."""

from __future__ import annotations

from collections.abc import Sequence

from config.partner_file import ConfigProblem

__all__ = ["InvalidPricingError"]


class InvalidPricingError(ValueError):
    """Nothing was written: each problem names the path of the value at fault."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = [f"{count} problem{'s' if count != 1 else ''} in the prices"]
        lines += [f"  {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))
