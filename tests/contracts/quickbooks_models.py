"""QuickBooks payloads checked against python-quickbooks' object classes (the SDK describes
every QuickBooks entity: its fields, which are nested objects and which are lists, and which
line class each ``DetailType`` is).

Each entity we send must load into its class with no unknown field (a field the class does
not declare) and come back out of the class's own ``to_json`` with every field we sent (none
dropped). The documented limits (requestid, batch size, minorversion, SyncToken) are enforced
by the fake itself (`sandbox.quickbooks`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx
from quickbooks import objects as qbo

__all__ = ["ENTITIES", "check_entity", "quickbooks_check"]

ENTITIES: dict[str, type[Any]] = {
    "invoice": qbo.Invoice,
    "customer": qbo.Customer,
    "item": qbo.Item,
    "creditmemo": qbo.CreditMemo,
    "payment": qbo.Payment,
}


def _line_class(owner: type[Any], item: Mapping[str, Any]) -> type[Any] | None:
    detail = getattr(owner, "detail_dict", {}) or {}
    return detail.get(str(item.get("DetailType"))) or (owner.list_dict or {}).get("Line")


def _unknown(cls: type[Any], data: Mapping[str, Any], path: str) -> list[str]:
    known = set(vars(cls())) | set(cls.class_dict or {}) | set(cls.list_dict or {})
    found: list[str] = []
    for key, value in data.items():
        where = f"{path}.{key}"
        if key not in known:
            found.append(f"{where}: unknown to python-quickbooks' {cls.__name__}")
        elif key in (cls.class_dict or {}) and isinstance(value, Mapping):
            found += _unknown(cls.class_dict[key], value, where)
        elif key in (cls.list_dict or {}) and isinstance(value, list):
            for index, item in enumerate(value):
                if not isinstance(item, Mapping):
                    continue
                item_cls = _line_class(cls, item) if key == "Line" else cls.list_dict[key]
                if item_cls is not None:
                    found += _unknown(item_cls, item, f"{where}[{index}]")
    return found


def _same(sent: Any, back: Any) -> bool:
    if isinstance(sent, Mapping) and isinstance(back, Mapping):
        return all(k in back and _same(v, back[k]) for k, v in sent.items())
    if isinstance(sent, list) and isinstance(back, list):
        return len(sent) == len(back) and all(_same(a, b) for a, b in zip(sent, back, strict=True))
    if isinstance(sent, int | float | Decimal) and not isinstance(sent, bool):
        try:
            return Decimal(str(sent)) == Decimal(str(back))
        except ArithmeticError:
            return False
    return bool(sent == back)


def check_entity(name: str, data: Mapping[str, Any]) -> list[str]:
    """Violations of one entity body (``Invoice``, ``Customer``, ...)."""
    cls = ENTITIES.get(name.lower())
    if cls is None:
        return [f"{name}: no python-quickbooks class to check it against"]
    found = _unknown(cls, data, name)
    back = json.loads(cls.from_json(dict(data)).to_json())
    for key, value in data.items():
        if value is None:
            continue
        if key not in back:
            found.append(f"{name}.{key}: dropped by python-quickbooks' {cls.__name__}")
        elif not _same(value, back[key]):
            found.append(f"{name}.{key}: changed by the round trip ({value!r} -> {back[key]!r})")
    return found


def quickbooks_check(request: httpx.Request, response: httpx.Response | None) -> list[str]:
    if response is not None or request.method != "POST" or not request.content:
        return []
    entity = request.url.path.rstrip("/").split("/")[-1]
    body = json.loads(request.content, parse_float=Decimal)
    if entity == "batch":
        found: list[str] = []
        for item in body.get("BatchItemRequest") or ():
            for key, value in item.items():
                if key not in ("bId", "operation", "Query") and isinstance(value, Mapping):
                    found += check_entity(key, value)
        return found
    return check_entity(entity, body)
