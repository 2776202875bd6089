"""Which fields carry wholesale cost or margin, and how an answer looks without them. A key
that is not an admin key sees every such field as null (`Principal.sees_costs`); the rule is by
field name so a new cost field is hidden without anyone remembering to.
"""

from __future__ import annotations

from typing import TypeVar, cast

from pydantic import BaseModel

__all__ = ["COST_WORDS", "hide_costs", "is_cost_field"]

COST_WORDS = ("cost", "margin", "wholesale")
"""A field whose name holds one of these carries wholesale cost or margin (or reveals them)."""


def is_cost_field(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in COST_WORDS)


Shown = TypeVar("Shown")


def hide_costs(value: Shown) -> Shown:
    """`value` as a non-admin key sees it: every field named for cost, margin or wholesale
    (`is_cost_field`), at any depth of a response model, dict or list, set to None. The shape
    stays the same, so one client model reads both answers."""
    if isinstance(value, BaseModel):
        updates = {
            name: None if is_cost_field(name) else hide_costs(getattr(value, name))
            for name in type(value).model_fields
        }
        return value.model_copy(update=updates)
    if isinstance(value, dict):
        return cast(
            Shown,
            {
                k: None if isinstance(k, str) and is_cost_field(k) else hide_costs(v)
                for k, v in value.items()
            },
        )
    if isinstance(value, list):
        return cast(Shown, [hide_costs(item) for item in value])
    return value
