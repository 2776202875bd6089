"""Configuration problems: each names the key path in the file and says what is wrong.

pydantic reports errors at its own locations (with the discriminator tag of a price inserted,
e.g. `prices.voice_minutes.graduated.tiers`) and in its own words; this module turns them into
paths as the partner wrote them (`prices.voice_minutes.tiers[1].up_to`) and plain sentences.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ValidationError

from config.partner_file.schema import (
    AddressSpec,
    BrandingSpec,
    ClientSpec,
    ConnectionSpec,
    PartnerSpec,
    PlanSpec,
    TaxSpec,
    UsageTypeSpec,
)
from config.prices import (
    PRICE_MODELS,
    RULES_ERROR,
    VALUE_ERROR,
    GraduatedPrice,
    Loc,
    PackagePrice,
    PerUnitPrice,
    Tier,
    describe_value,
    format_loc,
)

__all__ = [
    "ConfigProblem",
    "PartnerFileError",
    "file_order",
    "problems_from_validation_error",
    "suggest_key",
]

_MODELS = ", ".join(PRICE_MODELS)


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with a partner file, at `loc` (`path` is the printable key path)."""

    loc: Loc
    message: str

    @property
    def path(self) -> str:
        return format_loc(self.loc)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.loc else self.message


class PartnerFileError(ValueError):
    """Everything wrong with a partner file at once; nothing is applied while one exists."""

    def __init__(self, problems: Sequence[ConfigProblem], source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        count = len(self.problems)
        head = f"{source}: " if source else ""
        lines = [f"{head}{count} problem{'s' if count != 1 else ''} in the partner file"]
        lines += [f"  {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(problem.path for problem in self.problems)


@lru_cache(maxsize=1)
def _known_keys() -> tuple[str, ...]:
    models: tuple[type[BaseModel], ...] = (
        PartnerSpec,
        BrandingSpec,
        ConnectionSpec,
        UsageTypeSpec,
        PlanSpec,
        ClientSpec,
        TaxSpec,
        AddressSpec,
        PerUnitPrice,
        GraduatedPrice,
        PackagePrice,
        Tier,
    )
    keys = {"partner", "usage_types", "plans", "clients", "effective_from"}
    for model in models:
        keys.update(model.model_fields)
    return tuple(sorted(keys))


def suggest_key(key: str, candidates: Iterable[str] | None = None) -> str:
    """` (did you mean 'unit_price'?)` for a near miss, else an empty string."""
    pool = list(candidates) if candidates is not None else list(_known_keys())
    close = difflib.get_close_matches(key, pool, n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _strip_tags(loc: Sequence[str | int], data: Any) -> Loc:
    """Drop the discriminator tags pydantic inserts after a price's own key."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if (
            isinstance(node, dict)
            and isinstance(part, str)
            and part not in node
            and node.get("model") == part
        ):
            continue
        out.append(part)
        if isinstance(node, dict) and isinstance(part, str):
            node = node.get(part)
        elif isinstance(node, list | tuple) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(out)


def _message(kind: str, ctx: dict[str, Any], value: Any, key: str | int | None) -> str | None:
    shown = describe_value(value)
    simple = {
        "missing": "required key is missing",
        "string_type": f"must be a string, not {shown}",
        "int_type": f"must be an integer, not {shown}",
        "bool_type": f"must be true or false, not {shown}",
        "list_type": f"must be an array, not {shown}",
        "tuple_type": f"must be an array, not {shown}",
        "dict_type": f"must be a table, not {shown}",
        "model_type": f"must be a table, not {shown}",
        "model_attributes_type": f"must be a table, not {shown}",
        "date_type": f"must be a date such as 2025-01-01, not {shown}",
        "date_parsing": f"must be a date such as 2025-01-01, not {shown}",
        "date_from_datetime_parsing": f"must be a date such as 2025-01-01, not {shown}",
        "date_from_datetime_inexact": "must be a date without a time of day",
        "string_too_short": "must not be empty",
    }
    if kind in simple:
        return simple[kind]
    if kind == "extra_forbidden":
        return "unknown key" + (suggest_key(key) if isinstance(key, str) else "")
    if kind == "literal_error":
        return f"{shown} is not allowed; use one of {ctx.get('expected', '')}"
    bounds = {
        "greater_than_equal": ("must be at least", "ge"),
        "less_than_equal": ("must be at most", "le"),
        "greater_than": ("must be greater than", "gt"),
        "less_than": ("must be less than", "lt"),
        "string_too_long": ("must be at most this many characters:", "max_length"),
    }
    if kind in bounds:
        words, field = bounds[kind]
        return f"{words} {ctx.get(field)} (got {shown})"
    return None


def problems_from_validation_error(
    exc: ValidationError, data: Any, prefix: Loc = ()
) -> list[ConfigProblem]:
    """pydantic's errors for `data` (validated at `prefix` in the file) as key-path problems."""
    problems: list[ConfigProblem] = []
    for error in exc.errors(include_url=False):
        loc = _strip_tags(error["loc"], data)
        ctx: dict[str, Any] = dict(error.get("ctx") or {})
        kind = error["type"]
        if kind == RULES_ERROR:
            for relative, message in ctx["problems"]:
                problems.append(ConfigProblem((*prefix, *loc, *relative), message))
            continue
        if kind == VALUE_ERROR:
            message = str(ctx["detail"])
        elif kind == "union_tag_invalid":
            loc = (*loc, "model")
            message = f"{ctx.get('tag')!r} is not a price model; use one of {_MODELS}"
        elif kind == "union_tag_not_found":
            loc = (*loc, "model")
            message = f"required key is missing (one of {_MODELS})"
        else:
            known = _message(kind, ctx, error.get("input"), loc[-1] if loc else None)
            text = error["msg"]
            message = known if known is not None else text[:1].lower() + text[1:]
        problems.append(ConfigProblem((*prefix, *loc), message))
    return problems


def file_order(data: Any, loc: Loc) -> tuple[int, ...]:
    """Sort key that lists problems in the order their keys appear in the file."""
    key: list[int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str):
            names = list(node)
            key.append(names.index(part) if part in names else len(names))
            node = node.get(part)
        elif isinstance(node, list | tuple) and isinstance(part, int):
            key.append(part)
            node = node[part] if 0 <= part < len(node) else None
        else:
            key.append(0)
            node = None
    return tuple(key)
