"""Stripe traffic checked against Stripe's OpenAPI description (``spec3``, cut in
``tests/specs/stripe.cut.json``).

Stripe's requests are form-encoded with brackets (``metadata[k]=v``, ``line_items[0][x]=y``):
the body is decoded into nested objects, each string cast to the type its schema expects
(``"100"`` → 100 where an integer is described, ``"true"`` → True), then validated with
jsonschema's OpenAPI 3.0 validator, whose schemas forbid unknown fields
(``additionalProperties: false``). Query parameters of GET requests are checked by name and
type against the operation's parameters. JSON answers can be validated against the operation's
response schema too (``answers=True``), but are not by default: the fake's answers carry only
the fields our code reads and lack some that Stripe marks required (``livemode``, ...).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
from openapi_schema_validator import OAS30Validator

from sandbox.stripe_wire import decode_form
from tests.contracts.openapi import OpenApiCheck, _branches, _resolve

__all__ = ["StripeFormCheck"]


def _cast(raw: Mapping[str, Any], schema: Any, value: Any) -> Any:
    branches = list(_branches(raw, schema))
    if isinstance(value, Mapping):
        props: dict[str, Any] = {}
        extra: Any = None
        for branch in branches:
            props.update(branch.get("properties") or {})
            if isinstance(branch.get("additionalProperties"), Mapping):
                extra = branch["additionalProperties"]
        return {k: _cast(raw, props.get(k, extra), v) for k, v in value.items()}
    if isinstance(value, list):
        items = next((b["items"] for b in branches if "items" in b), None)
        return [_cast(raw, items, v) for v in value]
    if isinstance(value, str):
        types = {b.get("type") for b in branches}
        if any(
            b.get("type") == "string" and (not b.get("enum") or value in b["enum"])
            for b in branches
        ):
            return value
        if "integer" in types and value.lstrip("-").isdigit():
            return int(value)
        if "number" in types:
            try:
                return float(value)
            except ValueError:
                return value
        if "boolean" in types and value in ("true", "false"):
            return value == "true"
    return value


class StripeFormCheck:
    def __init__(self, spec_file: str | Path, *, answers: bool = False) -> None:
        self.answers = answers
        self.openapi = OpenApiCheck(spec_file, "https://api.stripe.com", name="Stripe")
        self.raw = self.openapi.raw

    def _validate(self, schema: Any, value: Any, where: str) -> list[str]:
        rooted = {**(_resolve(self.raw, schema) or {}), "components": self.raw["components"]}
        validator = OAS30Validator(rooted)
        return [
            f"{where}: {'/'.join(str(p) for p in error.absolute_path) or '(body)'}: "
            f"{error.message[:300]}"
            for error in sorted(validator.iter_errors(value), key=str)
        ]

    def __call__(self, request: httpx.Request, response: httpx.Response | None) -> list[str]:
        if not request.url.path.startswith("/v1/"):
            return []
        operation = self.openapi._operation(request)
        where = f"{request.method} {request.url.path}"
        if operation is None:
            return (
                [f"{where}: no such operation in Stripe's description"] if response is None else []
            )
        if response is None:
            if request.method == "POST":
                body = decode_form(parse_qsl(request.content.decode(), keep_blank_values=True))
                schema = self.openapi.request_schema(request)
                if schema is None:
                    return [f"{where}: Stripe describes no body here"] if body else []
                return self._validate(schema, _cast(self.raw, schema, body), f"request {where}")
            found: list[str] = []
            params = decode_form(parse_qsl(request.url.query.decode(), keep_blank_values=True))
            described = {
                p["name"]: p
                for p in (_resolve(self.raw, x) for x in operation.get("parameters") or ())
                if p.get("in") == "query"
            }
            for name, value in params.items():
                spec = described.get(name)
                if spec is None:
                    found.append(f"request {where}: query parameter {name!r} is not described")
                    continue
                schema = spec.get("schema")
                found += self._validate(
                    schema, _cast(self.raw, schema, value), f"request {where}?{name}"
                )
            return found
        if not self.answers or response.status_code >= 300 or not response.content:
            return []
        described = operation.get("responses") or {}
        answer = described.get(str(response.status_code)) or described.get("default")
        media = ((answer or {}).get("content") or {}).get("application/json")
        if not media:
            return []
        return self._validate(media["schema"], json.loads(response.content), f"answer to {where}")
