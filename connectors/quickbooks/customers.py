"""Finding, creating and updating QuickBooks customers for our clients.

QuickBooks has no external-id field that can be queried, so a customer is ours when its
`Notes` read ``Rebill client <client id>``. Lookups go by DisplayName (queryable; our name, or
``Name [client id]`` when another Rebill client holds the name), and a customer of that name
without our note is adopted (the partner created it by hand before connecting). When a client
was renamed, its new name finds nothing: `upsert` then scans the company's customers for our
note once (all pages, one scan per call) before it would create a second customer, and renames
the one it finds. Changed e-mail, name or address is sent as a sparse update with the current
SyncToken (a stale one is re-read); QuickBooks does not allow changing a customer's currency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.base import ConnectorError, RetryableError
from connectors.quickbooks.api import QuickBooksApi
from connectors.quickbooks.errors import DUPLICATE_NAME, has_code
from connectors.quickbooks.payloads import (
    CUSTOMER_NOTE_PREFIX,
    customer_marker,
    customer_names,
    customer_payload,
    remote_ref,
)
from remote_specs import CustomerSpec, RemoteRef

__all__ = ["Customers"]

Result = RemoteRef | ConnectorError
Rows = Mapping[str, list[dict[str, Any]]]
_UPDATE_TRIES = 3


class Customers:
    def __init__(self, api: QuickBooksApi) -> None:
        self.api = api

    async def _by_name(self, specs: Sequence[CustomerSpec]) -> dict[str, list[dict[str, Any]]]:
        names = [n for spec in specs for n in customer_names(spec)]
        return _by_name(await self.api.query_in("Customer", "DisplayName", names))

    @staticmethod
    def match(spec: CustomerSpec, by_name: Rows) -> dict[str, Any] | None:
        """Ours by the note (under either name), else a same-named customer no Rebill client
        claims."""
        base, fallback = customer_names(spec)
        marker = customer_marker(spec.reference)
        for row in (*by_name.get(base.lower(), []), *by_name.get(fallback.lower(), [])):
            if str(row.get("Notes") or "").strip() == marker:
                return row
        for row in by_name.get(base.lower(), []):
            if not str(row.get("Notes") or "").startswith(CUSTOMER_NOTE_PREFIX):
                return row
        return None

    async def find(self, specs: Sequence[CustomerSpec]) -> list[RemoteRef | None]:
        by_name = await self._by_name(specs)
        return [remote_ref(row) if (row := self.match(s, by_name)) else None for s in specs]

    async def upsert(self, specs: Sequence[CustomerSpec], keys: Sequence[str]) -> list[Result]:
        by_name = await self._by_name(specs)
        rows = [self.match(spec, by_name) for spec in specs]
        if any(row is None for row in rows):
            ours = await self._ours()
            rows = [row or ours.get(spec.reference) for spec, row in zip(specs, rows, strict=True)]
        results: list[Result | None] = [None] * len(specs)
        todo: list[tuple[int, dict[str, Any]]] = []
        for i, (spec, row) in enumerate(zip(specs, rows, strict=True)):
            if row is not None:
                results[i] = await self._update(row, spec, keys[i], by_name)
                continue
            base, fallback = customer_names(spec)
            todo.append(
                (i, customer_payload(spec, fallback if by_name.get(base.lower()) else base))
            )
        created = await self._create(todo, keys)
        bodies = dict(todo)
        for i, outcome in created.items():
            if isinstance(outcome, ConnectorError) and has_code(outcome, DUPLICATE_NAME):
                outcome = await self._name_taken(specs[i], keys[i], bodies[i], outcome)
            results[i] = outcome
        return [r if r is not None else RetryableError("customer not created") for r in results]

    async def _name_taken(
        self, spec: CustomerSpec, key: str, body: dict[str, Any], error: ConnectorError
    ) -> Result:
        """6240 on create. The name is held by: our customer created meanwhile (found), an
        inactive customer (QuickBooks hides them; ours or unclaimed: reactivated), or a
        vendor or employee (QuickBooks names are unique across all three: take the fallback
        name)."""
        [again] = await self.find([spec])
        if again is not None:
            return again
        names = customer_names(spec)
        hidden = await self.api.query_in("Customer", "DisplayName", names, include_inactive=True)
        row = self.match(spec, _by_name(hidden))
        if row is not None:
            try:
                revived = await self.api.reactivate("Customer", row, key)
            except ConnectorError as failure:
                return failure
            return await self._update(revived, spec, key, _by_name(hidden))
        if body["DisplayName"] == names[1]:
            return error
        try:
            created = await self.api.write(
                "Customer", {**body, "DisplayName": names[1]}, f"{key}:alt"
            )
        except ConnectorError as failure:
            return failure
        return remote_ref(created)

    async def _ours(self) -> dict[str, dict[str, Any]]:
        """Every customer carrying our note, by client id (one scan of all pages)."""
        out: dict[str, dict[str, Any]] = {}
        for row in await self.api.query("Customer"):
            note = str(row.get("Notes") or "").strip()
            if note.startswith(CUSTOMER_NOTE_PREFIX):
                out.setdefault(note[len(CUSTOMER_NOTE_PREFIX) :], row)
        return out

    async def _create(
        self, todo: Sequence[tuple[int, dict[str, Any]]], keys: Sequence[str]
    ) -> dict[int, Result]:
        out: dict[int, Result] = {}
        if len(todo) == 1:
            i, body = todo[0]
            try:
                out[i] = remote_ref(await self.api.write("Customer", body, keys[i]))
            except ConnectorError as error:
                out[i] = error
            return out
        for start in range(0, len(todo), 30):
            chunk = todo[start : start + 30]
            answers = await self.api.batch(
                "Customer", [b for _, b in chunk], [keys[i] for i, _ in chunk]
            )
            for (i, _), answer in zip(chunk, answers, strict=True):
                out[i] = answer if isinstance(answer, ConnectorError) else remote_ref(answer)
        return out

    async def _update(
        self, row: dict[str, Any], spec: CustomerSpec, key: str, by_name: Rows
    ) -> Result:
        """Bring the customer in line with the spec (sparse update), or leave it when equal."""
        base, fallback = customer_names(spec)
        current = str(row.get("DisplayName", ""))
        name = current if current.lower() in (base.lower(), fallback.lower()) else base
        if name.lower() == base.lower() and any(
            r["Id"] != row["Id"] for r in by_name.get(base.lower(), [])
        ):
            name = fallback
        for _ in range(_UPDATE_TRIES):
            changes = _changes(row, customer_payload(spec, name))
            if not changes:
                return remote_ref(row)
            body = {"Id": row["Id"], "SyncToken": row["SyncToken"], "sparse": True, **changes}
            try:
                updated = await self.api.write(
                    "Customer", body, f"{key}:{row['SyncToken']}", operation="update"
                )
                return remote_ref(updated)
            except RetryableError as error:
                if error.status != 409:
                    return error
                row = await self.api.get("Customer", str(row["Id"]))  # stale SyncToken
            except ConnectorError as error:
                if not (has_code(error, DUPLICATE_NAME) and name != fallback):
                    return error
                name = fallback
        return RetryableError(
            "the customer kept changing in QuickBooks while we updated it", status=409
        )


def _by_name(rows: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_name: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_name.setdefault(str(row.get("DisplayName", "")).lower(), []).append(row)
    return by_name


def _changes(row: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of `desired` that differ from the stored customer (currency cannot change)."""
    changes: dict[str, Any] = {}
    for field, value in desired.items():
        if field == "CurrencyRef":
            continue
        stored = row.get(field)
        if isinstance(value, Mapping) and isinstance(stored, Mapping):
            if any(stored.get(k) != v for k, v in value.items()):
                changes[field] = value
        elif stored != value:
            changes[field] = value
    return changes
