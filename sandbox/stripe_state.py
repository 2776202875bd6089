"""The Stripe fake's state and what happens to a charge after it is made: refunds, disputes,
payouts and the webhook events they send (`sandbox.stripe` adds the API routes, customers,
checkout and payment intents on top). Split from `sandbox.stripe` to keep each module small."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import httpx

from sandbox.base import FakeRemote, json_response

__all__ = ["StripeState", "error_response", "missing_response"]


def error_response(status: int, type_: str, message: str, **extra: Any) -> httpx.Response:
    return json_response(status, {"error": {"type": type_, "message": message, **extra}})


def missing_response(what: str, object_id: str) -> httpx.Response:
    return error_response(
        404,
        "invalid_request_error",
        f"No such {what}: '{object_id}'",
        code="resource_missing",
        param="id",
    )


class StripeState(FakeRemote):
    """Every object the fake holds, ids, the clock and the event log, plus the test controls
    that act on a charge after it was made."""

    def __init__(self, *, api_key: str = "sk_test_fake", base_url: str | None = None) -> None:
        super().__init__(base_url=base_url)
        self.api_key = api_key
        self.valid_tokens.add(api_key)
        self._ids = itertools.count(1)
        self.customers: dict[str, dict[str, Any]] = {}
        self.payment_methods: dict[str, dict[str, Any]] = {}
        self.setup_intents: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.balance_transactions: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.disputes: dict[str, dict[str, Any]] = {}
        self.payouts: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self._idempotent: dict[str, tuple[str, int, bytes]] = {}

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):06d}"

    @staticmethod
    def clock() -> int:
        return int(time.time())

    def _event(self, type_: str, obj: dict[str, Any]) -> dict[str, Any]:
        event = {
            "id": self.new_id("evt"),
            "object": "event",
            "type": type_,
            "created": self.clock(),
            "livemode": False,
            "data": {"object": json.loads(json.dumps(obj))},
        }
        self.events.append(event)
        return event

    # ---- refunds, disputes, payouts ---------------------------------------------------------
    def _create_refund(self, data: dict[str, Any]) -> httpx.Response:
        intent = self.intents.get(str(data.get("payment_intent")))
        if intent is None or intent["latest_charge"] is None:
            return missing_response("payment_intent", str(data.get("payment_intent")))
        amount = int(data.get("amount") or intent["amount"])
        result = self.refund_charge(intent["latest_charge"], amount)
        refund_id = result["refund_id"]
        return json_response(200, self.refunds[refund_id])

    def refund_charge(self, charge_id: str, amount: int | None = None) -> dict[str, Any]:
        """A refund made in the Stripe dashboard; returns `charge.refunded` (with the refund's
        id under `refund_id` for the test's convenience)."""
        charge = self.charges[charge_id]
        amount = charge["amount"] - charge["amount_refunded"] if amount is None else amount
        if amount <= 0 or amount > charge["amount"] - charge["amount_refunded"]:
            raise ValueError(f"amount: {amount} exceeds what is left of {charge_id}")
        refund = {
            "id": self.new_id("re"),
            "object": "refund",
            "amount": amount,
            "currency": charge["currency"],
            "charge": charge_id,
            "payment_intent": charge["payment_intent"],
            "status": "succeeded",
            "created": self.clock(),
            "reason": "requested_by_customer",
        }
        self.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        event = self._event("charge.refunded", charge)
        return {**event, "refund_id": refund["id"]}

    def _list_refunds(self, params: dict[str, Any]) -> httpx.Response:
        charge = params.get("charge")
        found = [r for r in self.refunds.values() if charge is None or r["charge"] == charge]
        found.sort(key=lambda r: r["id"], reverse=True)
        after = params.get("starting_after")
        if after:
            ids = [r["id"] for r in found]
            found = found[ids.index(after) + 1 :] if after in ids else []
        limit = int(params.get("limit", 10))
        return json_response(
            200,
            {
                "object": "list",
                "url": "/v1/refunds",
                "data": found[:limit],
                "has_more": len(found) > limit,
            },
        )

    def open_dispute(self, charge_id: str, *, fee: int = 1500) -> dict[str, Any]:
        """The card holder disputes the whole charge: funds and a dispute fee are withdrawn."""
        charge = self.charges[charge_id]
        txn_id = self.new_id("txn")
        txn = {
            "id": txn_id,
            "object": "balance_transaction",
            "amount": -charge["amount"],
            "fee": fee,
            "net": -charge["amount"] - fee,
            "currency": charge["currency"],
            "type": "adjustment",
        }
        self.balance_transactions[txn_id] = txn
        dispute = {
            "id": self.new_id("dp"),
            "object": "dispute",
            "amount": charge["amount"],
            "currency": charge["currency"],
            "charge": charge_id,
            "payment_intent": charge["payment_intent"],
            "status": "needs_response",
            "reason": "fraudulent",
            "created": self.clock(),
            "balance_transactions": [txn],
        }
        self.disputes[dispute["id"]] = dispute
        return self._event("charge.dispute.created", dispute)

    def close_dispute(self, dispute_id: str, status: str = "won") -> dict[str, Any]:
        dispute = self.disputes[dispute_id]
        dispute["status"] = status
        return self._event("charge.dispute.closed", dispute)

    def pay_out(self, amount: int, currency: str = "usd") -> dict[str, Any]:
        payout: dict[str, Any] = {
            "id": self.new_id("po"),
            "object": "payout",
            "amount": amount,
            "currency": currency,
            "status": "paid",
            "arrival_date": self.clock(),
            "created": self.clock(),
        }
        self.payouts[payout["id"]] = payout
        return self._event("payout.paid", payout)

    def events_of(self, type_: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == type_]
