"""The QuickBooks fake's company: its objects read by Id, queried (see `quickbooks_query`) and
written (create, sparse or full update with the current SyncToken, void, delete), and the test
helpers that act on them as the partner would. Mixed into `FakeQuickBooks`, which routes requests
here; what a write checks first is in `QuickBooksRules`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sandbox.quickbooks_query import Fault, QueryError, matches, parse_query
from sandbox.quickbooks_rules import QuickBooksRules

__all__ = ["QuickBooksStore"]


def _sort_key(value: Any) -> tuple[int, int, str]:
    text = str(value if value is not None else "")
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


class QuickBooksStore(QuickBooksRules):
    _ids: Iterator[int]

    def get(self, entity: str, obj_id: str) -> dict[str, Any]:
        obj = self.store[entity].get(obj_id)
        if obj is None:
            raise Fault(
                "610",
                "Object Not Found",
                f"Object Not Found : Something you're trying to use has been made inactive. {entity} {obj_id}",
            )
        return obj

    def query(self, text: str) -> dict[str, Any]:
        try:
            q = parse_query(text)
        except QueryError as exc:
            raise Fault(
                "4000", "Error parsing query", f"QueryParserError: {exc}", kind="ValidationFault"
            ) from None
        # Like QuickBooks, inactive list objects only show when the query asks for them.
        hide_inactive = not any(c.field == "Active" for c in q.conditions)
        rows = [
            o
            for o in self.store.get(q.entity, {}).values()
            if all(matches(o, c) for c in q.conditions)
            and not (hide_inactive and o.get("Active") is False)
        ]
        key = q.order_by or "Id"
        rows.sort(key=lambda o: _sort_key(o.get(key)), reverse=q.descending)
        page = rows[q.start - 1 : q.start - 1 + q.max_results]
        if not page:
            return {}
        return {q.entity: page, "startPosition": q.start, "maxResults": len(page)}

    def write(self, entity: str, op: str, body: dict[str, Any]) -> dict[str, Any]:
        if op == "create":
            obj: dict[str, Any] = getattr(self, f"_check_{entity.lower()}")(body, None)
            obj["Id"] = str(next(self._ids))
            obj["SyncToken"] = "0"
            obj["MetaData"] = {
                "CreateTime": datetime.now(UTC).isoformat(),
                "LastUpdatedTime": datetime.now(UTC).isoformat(),
            }
            self.store[entity][obj["Id"]] = obj
            if entity == "Payment":
                self._apply_payment(obj)
            return obj
        current = self.get(entity, str(body.get("Id", "")))
        if str(body.get("SyncToken")) != current["SyncToken"]:
            raise Fault(
                "5010",
                "Stale Object Error",
                "Stale Object Error : You and another user were working on this at the same time.",
                "SyncToken",
            )
        if op == "update":
            merged = {**current, **body} if body.get("sparse") else {**body}
            obj = getattr(self, f"_check_{entity.lower()}")(merged, current["Id"])
        elif op == "void" and entity in {"Invoice", "Payment", "CreditMemo"}:
            obj = dict(current)
            for line in obj["Line"]:
                line["Amount"] = Decimal(0)
                if "SalesItemLineDetail" in line:
                    line["SalesItemLineDetail"]["Qty"] = Decimal(0)
            obj["TotalAmt"] = obj["Balance"] = Decimal(0)
            obj["TxnTaxDetail"] = {"TotalTax": Decimal(0)}
            obj["PrivateNote"] = (
                f"Voided{(' - ' + current['PrivateNote']) if current.get('PrivateNote') else ''}"
            )
        elif op == "delete":
            del self.store[entity][current["Id"]]
            return {"Id": current["Id"], "status": "Deleted", "domain": "QBO"}
        else:
            raise Fault("4000", "Unsupported Operation", f"operation={op} on {entity}")
        obj.update(
            Id=current["Id"],
            SyncToken=str(int(current["SyncToken"]) + 1),
            MetaData=current["MetaData"],
        )
        self.store[entity][obj["Id"]] = obj
        return obj

    # ---- test helpers -----------------------------------------------------------------------
    def pay(self, invoice_id: str, amount: Decimal, on: str = "2026-11-05") -> dict[str, Any]:
        """Record a customer payment against an invoice (as the partner would in QuickBooks)."""
        invoice = self.get("Invoice", invoice_id)
        body = {
            "CustomerRef": invoice["CustomerRef"],
            "TotalAmt": amount,
            "TxnDate": on,
            "CurrencyRef": invoice["CurrencyRef"],
            "Line": [
                {"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}
            ],
        }
        return self.write("Payment", "create", body)

    def invoices_by_number(self, number: str) -> list[dict[str, Any]]:
        return [i for i in self.store["Invoice"].values() if i.get("DocNumber") == number]

    def objects(self, entity: str) -> list[dict[str, Any]]:
        return list(self.store[entity].values())
