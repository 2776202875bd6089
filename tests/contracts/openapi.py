"""Requests and answers checked against a provider's published OpenAPI description.

`OpenApiCheck` validates one exchange with openapi-core (request: path, query, headers, body;
answer: status and body) and adds what OpenAPI leaves open: a property the schema does not
name ("unknown field") is a violation too, since a remote that silently drops a misspelt field
is the failure these checks exist for. The descriptions are the cuts in ``tests/specs``
(`tests/specs/regenerate.py` makes them from a pinned registry package).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPECS = Path(__file__).resolve().parents[1] / "specs"

__all__ = ["SPECS", "OpenApiCheck", "unknown_fields"]


@functools.cache
def _load(path: str) -> tuple[OpenAPI, dict[str, Any]]:
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    # The published files do not all pass the strict meta-schema (Xero's has string defaults
    # on booleans): validate traffic against them without validating them.
    return OpenAPI.from_dict(raw, config=Config(spec_validator_cls=None)), raw


class _Request:
    def __init__(self, request: httpx.Request, server: str, body: bytes | None = None) -> None:
        url = request.url
        self.host_url = server.rstrip("/")
        self.path = url.path
        self.method = request.method.lower()
        self.full_url_pattern = self.host_url + self.path
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(url.params.multi_items())),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
            path={},
        )
        self.body = request.content if body is None else body
        self.content_type = request.headers.get("Content-Type", "application/json").split(";")[0]


class _Response:
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.data = response.content
        self.headers = Headers(dict(response.headers))
        self.content_type = response.headers.get("Content-Type", "application/json").split(";")[0]


def _messages(error: BaseException) -> list[str]:
    found: list[str] = []
    seen: set[int] = set()
    stack: list[BaseException] = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for schema_error in getattr(current, "schema_errors", None) or ():
            where = "/".join(str(p) for p in schema_error.absolute_path)
            found.append(f"{where or '(body)'}: {schema_error.message}")
        for nested in (current.__cause__, current.__context__):
            if nested is not None:
                stack.append(nested)
    return found or [str(error)]


def _resolve(raw: Mapping[str, Any], schema: Any) -> Any:
    while isinstance(schema, Mapping) and "$ref" in schema:
        node: Any = raw
        for part in str(schema["$ref"])[2:].split("/"):
            node = node[part]
        schema = node
    return schema


def _branches(raw: Mapping[str, Any], schema: Any) -> Iterator[Mapping[str, Any]]:
    schema = _resolve(raw, schema)
    if not isinstance(schema, Mapping):
        return
    yield schema
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key) or ():
            yield from _branches(raw, sub)


def unknown_fields(raw: Mapping[str, Any], schema: Any, value: Any, path: str = "") -> list[str]:
    """Properties of `value` that no branch of `schema` names (where the schema lists its
    properties and does not allow others)."""
    found: list[str] = []
    branches = list(_branches(raw, schema))
    if isinstance(value, Mapping):
        named: dict[str, list[Any]] = {}
        open_ended = False
        for branch in branches:
            for name, sub in (branch.get("properties") or {}).items():
                named.setdefault(name, []).append(sub)
            extra = branch.get("additionalProperties")
            if extra not in (None, False) or (
                "properties" not in branch
                and branch.get("type") in (None, "object")
                and not any(k in branch for k in ("allOf", "anyOf", "oneOf"))
            ):
                open_ended = (
                    open_ended or extra not in (None, False) or not branch.get("properties")
                )
        has_properties = any(b.get("properties") for b in branches)
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key in named:
                for sub in named[key][:1]:
                    found += unknown_fields(raw, sub, item, where)
            elif has_properties and not open_ended:
                found.append(f"{where}: unknown field (not in the provider's schema)")
    elif isinstance(value, list):
        items = [b.get("items") for b in branches if b.get("items") is not None]
        if items:
            for index, item in enumerate(value):
                found += unknown_fields(raw, items[0], item, f"{path}[{index}]")
    return found


class OpenApiCheck:
    """Validates exchanges with one provider against one description. `server` is the URL
    the description's paths hang from (requests to a fake on any host are matched on it)."""

    def __init__(self, spec_file: str | Path, server: str, *, name: str) -> None:
        self.spec_file = str(spec_file)
        self.server = server
        self.name = name
        self.api, self.raw = _load(self.spec_file)

    @property
    def version(self) -> str:
        return str(self.raw.get("info", {}).get("version", "?"))

    def _operation(self, request: httpx.Request) -> Mapping[str, Any] | None:
        prefix = httpx.URL(self.server).path.rstrip("/")
        path = request.url.path[len(prefix) :] if request.url.path.startswith(prefix) else None
        if path is None:
            return None
        parts = [p for p in path.split("/") if p]
        for template, item in self.raw["paths"].items():
            wanted = [p for p in template.split("/") if p]
            if len(wanted) == len(parts) and all(
                w.startswith("{") or w == p for w, p in zip(wanted, parts, strict=True)
            ):
                operation = item.get(request.method.lower())
                if operation is not None:
                    return operation  # type: ignore[no-any-return]
        return None

    def request_schema(self, request: httpx.Request) -> Any:
        operation = self._operation(request)
        if operation is None:
            return None
        body = _resolve(self.raw, operation.get("requestBody") or {})
        content = (body.get("content") or {}) if isinstance(body, Mapping) else {}
        for media in content.values():
            return media.get("schema")
        return None

    def check_request(self, request: httpx.Request) -> list[str]:
        if self._operation(request) is None:
            return [
                f"{request.method} {request.url.path}: no such operation in {self.name}'s description"
            ]
        problems: list[str] = []
        try:
            self.api.validate_request(_Request(request, self.server))
        except Exception as error:
            problems += _messages(error)
        schema = self.request_schema(request)
        if schema is not None and request.content:
            try:
                body = json.loads(request.content)
            except ValueError:
                body = None
            if body is not None:
                problems += unknown_fields(self.raw, schema, body)
        return [f"request {request.method} {request.url.path}: {p}" for p in problems]

    def check_response(self, request: httpx.Request, response: httpx.Response) -> list[str]:
        operation = self._operation(request)
        if operation is None:
            return []
        described = operation.get("responses") or {}
        if str(response.status_code) not in described and "default" not in described:
            # generic statuses (404, 429, 5xx) the description leaves to its prose
            return []
        try:
            self.api.validate_response(_Request(request, self.server), _Response(response))
        except Exception as error:
            return [
                f"answer {response.status_code} to {request.method} {request.url.path}: {p}"
                for p in _messages(error)
            ]
        return []
