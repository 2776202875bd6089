"""Reading a partner file: TOML in, a validated `PartnerFile` or one error listing every problem.

Each section entry (the partner, every usage type, plan and client) is validated on its own, then
the cross-section rules run on whatever validated, so one broken table never hides the problems
of another.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from config.partner_file.checks import cross_check
from config.partner_file.document import PartnerFile
from config.partner_file.problems import (
    ConfigProblem,
    PartnerFileError,
    file_order,
    problems_from_validation_error,
    suggest_key,
)
from config.partner_file.schema import ClientSpec, PartnerSpec, PlanSpec, UsageTypeSpec
from config.prices import Loc, describe_value

__all__ = [
    "check_partner_data",
    "load_partner_file",
    "parse_partner_toml",
    "validate_partner_data",
]

_SECTIONS: dict[str, type[BaseModel]] = {
    "usage_types": UsageTypeSpec,
    "plans": PlanSpec,
    "clients": ClientSpec,
}


def _piece(model: type[BaseModel], raw: Any, at: Loc, problems: list[ConfigProblem]) -> None:
    try:
        model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(problems_from_validation_error(exc, raw, at))


def check_partner_data(data: Any) -> list[ConfigProblem]:
    """Every problem in a parsed partner file (a dict as `tomllib` returns it), in file order;
    an empty list means `validate_partner_data` will succeed."""
    if not isinstance(data, Mapping):
        return [ConfigProblem((), f"a partner file must be a table, not {describe_value(data)}")]
    problems: list[ConfigProblem] = []
    allowed = ("partner", *_SECTIONS)
    for key in data:
        if key not in allowed:
            problems.append(ConfigProblem((key,), "unknown key" + suggest_key(key, allowed)))
    if "partner" not in data:
        problems.append(ConfigProblem(("partner",), "required table is missing"))
    else:
        _piece(PartnerSpec, data["partner"], ("partner",), problems)
    for section, model in _SECTIONS.items():
        raw_section = data.get(section, {})
        if not isinstance(raw_section, Mapping):
            problems.append(
                ConfigProblem((section,), f"must be a table, not {describe_value(raw_section)}")
            )
            continue
        for key, raw in raw_section.items():
            _piece(model, raw, (section, key), problems)
    problems.extend(ConfigProblem(loc, message) for loc, message in cross_check(data))
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda problem: file_order(data, problem.loc))


def validate_partner_data(data: Any, *, source: str | None = None) -> PartnerFile:
    """A validated `PartnerFile`, or `PartnerFileError` listing every problem."""
    problems = check_partner_data(data)
    if problems:
        raise PartnerFileError(problems, source)
    try:
        return PartnerFile.model_validate(data)
    except ValidationError as exc:  # pragma: no cover - check_partner_data covers every rule
        raise PartnerFileError(problems_from_validation_error(exc, data), source) from exc


def parse_partner_toml(text: str, *, source: str | None = None) -> PartnerFile:
    """Parse and validate the text of a partner file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PartnerFileError([ConfigProblem((), f"not valid TOML: {exc}")], source) from exc
    return validate_partner_data(data, source=source)


def load_partner_file(path: str | os.PathLike[str]) -> PartnerFile:
    """Read, parse and validate a partner file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PartnerFileError(
            [ConfigProblem((), f"cannot read the file: {exc}")], str(file)
        ) from exc
    return parse_partner_toml(text, source=str(file))
