"""FreshBooks traffic checked against freshbooks-sdk (FreshBooks' own Python SDK) and the
documented shapes (freshbooks.com/api: invoices, credits, items, clients, payments).

- The body of a write is ``{<single name>: {...}}`` and an answer's result holds
  ``<single name>`` (one record) or ``<list name>`` (a list), with the names the SDK's
  ``AccountingResource`` of that path uses (``credit_notes/credit_notes`` → ``credit_note`` /
  ``credit_notes``).
- Query parameters are the SDK builders' shapes: ``search[<field>]``, ``search[<field>][]``,
  ``include[]``, ``page``, ``per_page``, ``sort``.
- A line's ``qty`` is a JSON number and its ``unit_cost`` ``{"amount": "<decimal string>",
  "code": "<ISO currency>"}`` (the documentation's examples send ``"qty": 1``).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx
from freshbooks import Client
from freshbooks.api.accounting import AccountingResource

__all__ = ["freshbooks_check", "sdk_resources"]

_PATH = re.compile(r"^/accounting/account/[^/]+/(?P<resource>[a-z_]+/[a-z_]+)(?:/(?P<id>\d+))?$")
_QUERY = re.compile(r"^(search\[[a-z_]+\](\[\])?|include\[\]|page|per_page|sort)$")


@functools.cache
def sdk_resources() -> dict[str, tuple[str, str]]:
    """``accounting path → (single name, list name)`` as freshbooks-sdk declares them."""
    client = Client(client_id="contract-check", access_token="unused")
    found: dict[str, tuple[str, str]] = {}
    for name in dir(Client):
        if name.startswith("_") or not isinstance(getattr(Client, name, None), property):
            continue
        try:
            resource = getattr(client, name)
        except Exception:
            continue
        if isinstance(resource, AccountingResource):
            found[resource.accounting_path] = (resource.single_name, resource.list_name)
    return found


def _lines(record: Mapping[str, Any], where: str) -> list[str]:
    found: list[str] = []
    for index, line in enumerate(record.get("lines") or ()):
        at = f"{where}.lines[{index}]"
        qty = line.get("qty")
        if qty is not None and (isinstance(qty, bool) or not isinstance(qty, int | Decimal)):
            found.append(f"{at}.qty: {qty!r} is not a JSON number")
        cost = line.get("unit_cost")
        if cost is not None and not (
            isinstance(cost, Mapping)
            and isinstance(cost.get("amount"), str)
            and isinstance(cost.get("code", ""), str)
        ):
            found.append(f"{at}.unit_cost: {cost!r} is not {{amount: string, code: string}}")
    return found


def freshbooks_check(request: httpx.Request, response: httpx.Response | None) -> list[str]:
    match = _PATH.match(request.url.path)
    if match is None:
        return []
    resource = match["resource"]
    names = sdk_resources().get(resource)
    if names is None:
        return [f"{request.url.path}: no freshbooks-sdk resource at {resource!r}"]
    single, many = names
    where = f"{request.method} {resource}"
    if response is None:
        found = [
            f"{where}: query parameter {key!r} is none of the SDK's filter shapes"
            for key in request.url.params
            if not _QUERY.match(key)
        ]
        if request.method in ("POST", "PUT") and request.content:
            body = json.loads(request.content, parse_float=Decimal)
            keys = list(body) if isinstance(body, Mapping) else []
            if keys != [single]:
                found.append(f"{where}: body wrapped as {keys}, FreshBooks wants [{single!r}]")
            else:
                found += _lines(body[single], f"{where} {single}")
        return found
    if response.status_code != 200 or not response.content:
        return []
    result = (json.loads(response.content, parse_float=Decimal).get("response") or {}).get("result")
    if not isinstance(result, Mapping):
        return []
    wanted = many if request.method == "GET" and match["id"] is None else single
    if wanted not in result:
        return [f"answer to {where}: result holds {sorted(result)}, the SDK reads {wanted!r}"]
    return []
