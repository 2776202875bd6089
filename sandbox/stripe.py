"""A stateful fake of the parts of the Stripe API Rebill uses, behind respx.

Speaks Stripe's wire format: form-encoded request bodies with bracketed keys
(`metadata[rebill_invoice_id]=7`, `line_items[0][price_data][currency]=usd`), JSON answers,
errors as `{"error": {"type", "code", "decline_code", "message", "param"}}`, `Bearer sk_...`
auth, idempotency (same key + same parameters: the first answer again with
`Idempotent-Replayed: true`; same key + other parameters: 400 `idempotency_error`), 429 with
a `rate_limit` code, and the base class's injected failures (`fail_next`).

Test cards are Stripe's own test payment methods:
`pm_card_visa` succeeds, `pm_card_chargeDeclined` is declined (`card_declined` /
`generic_decline`), `pm_card_chargeDeclinedInsufficientFunds` is declined with
`insufficient_funds`, `pm_card_authenticationRequired` needs 3-D Secure (402
`authentication_required`, the intent left in `requires_payment_method`) and
`pm_card_requiresAction` answers 200 with the intent in `requires_action`.
Every succeeded charge has a balance transaction with Stripe's US card fee, 2.9% + 30¢
(half-up). Test controls (`add_card`, `complete_checkout`, `refund_charge`, `open_dispute`,
`close_dispute`, `pay_out`) change state as Stripe would and return the webhook event Stripe
would send; `signed_delivery` turns an event into a signed webhook request.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import httpx

from sandbox.base import json_response
from sandbox.stripe_state import StripeState, error_response, missing_response
from sandbox.stripe_wire import TEST_CARDS, decode_form, signed_delivery, stripe_fee

__all__ = ["TEST_CARDS", "FakeStripe", "signed_delivery", "stripe_fee"]


class FakeStripe(StripeState):
    default_base_url = "https://api.stripe.com"

    # ---- error shapes -----------------------------------------------------------------------
    def auth_error_response(self, request: httpx.Request) -> httpx.Response:
        return error_response(401, "invalid_request_error", "Invalid API Key provided.")

    def rate_limit_response(self, request: httpx.Request, retry_after: float) -> httpx.Response:
        return json_response(
            429,
            {
                "error": {
                    "type": "invalid_request_error",
                    "code": "rate_limit",
                    "message": "Too many requests hit the API too quickly.",
                }
            },
            {"Retry-After": str(max(1, round(retry_after)))},
        )

    def server_error_response(self, request: httpx.Request) -> httpx.Response:
        return error_response(500, "api_error", "An unknown error occurred.")

    # ---- dispatch ---------------------------------------------------------------------------
    def dispatch(self, request: httpx.Request) -> httpx.Response:
        params = decode_form(parse_qsl(request.url.query.decode(), keep_blank_values=True))
        if request.method == "POST":
            body = decode_form(parse_qsl(request.content.decode(), keep_blank_values=True))
            key = request.headers.get("Idempotency-Key")
            if key:
                return self._idempotent_post(key, request, body)
            return self._route(request.method, request.url.path, body)
        return self._route(request.method, request.url.path, params)

    def _idempotent_post(
        self, key: str, request: httpx.Request, body: dict[str, Any]
    ) -> httpx.Response:
        fingerprint = request.url.path + json.dumps(body, sort_keys=True)
        stored = self._idempotent.get(f"{self.token_of(request)}:{key}")
        if stored is not None:
            if stored[0] != fingerprint:
                return error_response(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters "
                    "they were first used with.",
                )
            return httpx.Response(
                stored[1],
                content=stored[2],
                headers={"Content-Type": "application/json", "Idempotent-Replayed": "true"},
            )
        response = self._route("POST", request.url.path, body)
        if response.status_code < 500 and response.status_code != 429:
            self._idempotent[f"{self.token_of(request)}:{key}"] = (
                fingerprint,
                response.status_code,
                response.content,
            )
        return response

    def _route(self, method: str, path: str, data: dict[str, Any]) -> httpx.Response:
        parts = [p for p in path.split("/") if p][1:]  # drop "v1"
        routes: dict[tuple[str, int], Any] = {
            ("POST", 1): {
                "customers": self._create_customer,
                "payment_intents": self._create_pi,
                "refunds": self._create_refund,
            },
            ("GET", 1): {"refunds": self._list_refunds},
            ("GET", 2): {
                "customers": self.customers,
                "payment_methods": self.payment_methods,
                "setup_intents": self.setup_intents,
                "payment_intents": self.intents,
                "charges": self.charges,
                "balance_transactions": self.balance_transactions,
                "refunds": self.refunds,
                "payouts": self.payouts,
                "disputes": self.disputes,
            },
        }
        if parts[:2] == ["checkout", "sessions"]:
            if method == "POST" and len(parts) == 2:
                return self._create_session(data)
            if method == "GET" and len(parts) == 3:
                return self._get(self.sessions, parts[2], "checkout.session", data)
        if method == "POST" and len(parts) == 2 and parts[0] == "customers":
            return self._update_customer(parts[1], data)
        if method == "POST" and len(parts) == 3 and parts[0] == "payment_methods":
            return self._attach(parts[1], data)
        handler = routes.get((method, len(parts)), {}).get(parts[0] if parts else "")
        if handler is None:
            return error_response(
                404, "invalid_request_error", f"Unrecognized request URL ({path})."
            )
        if isinstance(handler, dict):
            return self._get(handler, parts[1], parts[0].rstrip("s"), data)
        response: httpx.Response = handler(data)
        return response

    def _get(
        self, store: dict[str, dict[str, Any]], object_id: str, what: str, params: dict[str, Any]
    ) -> httpx.Response:
        found = store.get(object_id)
        if found is None:
            return missing_response(what, object_id)
        body = json.loads(json.dumps(found))
        for path in params.get("expand", []):
            if path == "balance_transaction" and isinstance(body.get(path), str):
                body[path] = self.balance_transactions[body[path]]
        return json_response(200, body)

    # ---- customers, cards, checkout ---------------------------------------------------------
    def _create_customer(self, data: dict[str, Any]) -> httpx.Response:
        customer = {
            "id": self.new_id("cus"),
            "object": "customer",
            "name": data.get("name"),
            "email": data.get("email"),
            "metadata": data.get("metadata", {}),
            "invoice_settings": {"default_payment_method": None},
            "created": self.clock(),
        }
        self.customers[customer["id"]] = customer
        return json_response(200, customer)

    def _update_customer(self, customer_id: str, data: dict[str, Any]) -> httpx.Response:
        customer = self.customers.get(customer_id)
        if customer is None:
            return missing_response("customer", customer_id)
        default = data.get("invoice_settings", {}).get("default_payment_method")
        if default is not None:
            method = self.payment_methods.get(default)
            if method is None or method["customer"] != customer_id:
                return error_response(
                    400,
                    "invalid_request_error",
                    f"The payment method {default} is not attached to {customer_id}.",
                    param="invoice_settings[default_payment_method]",
                )
            customer["invoice_settings"]["default_payment_method"] = default
        for field in ("name", "email"):
            if field in data:
                customer[field] = data[field]
        return json_response(200, customer)

    def _attach(self, method_id: str, data: dict[str, Any]) -> httpx.Response:
        card = TEST_CARDS.get(method_id.split("_x")[0])
        customer = data.get("customer")
        if customer not in self.customers:
            return missing_response("customer", str(customer))
        if card is None and method_id not in self.payment_methods:
            return missing_response("payment_method", method_id)
        return json_response(200, self._card(method_id, str(customer)))

    def _card(self, method_id: str, customer_id: str) -> dict[str, Any]:
        """A payment method for a test card, attached to the customer."""
        base = method_id.split("_x")[0]
        card = TEST_CARDS[base]
        method = {
            "id": method_id,
            "object": "payment_method",
            "type": "card",
            "customer": customer_id,
            "card": {
                "brand": card["brand"],
                "last4": card["last4"],
                "exp_month": 12,
                "exp_year": 2034,
            },
        }
        self.payment_methods[method_id] = method
        return method

    def _create_session(self, data: dict[str, Any]) -> httpx.Response:
        mode = data.get("mode")
        if mode not in ("setup", "payment"):
            return error_response(400, "invalid_request_error", "Invalid mode.", param="mode")
        if data.get("customer") not in self.customers:
            return missing_response("customer", str(data.get("customer")))
        for required in ("success_url",):
            if not data.get(required):
                return error_response(
                    400,
                    "invalid_request_error",
                    f"Missing required param: {required}.",
                    param=required,
                )
        session_id = self.new_id("cs_test")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": mode,
            "customer": data["customer"],
            "metadata": data.get("metadata", {}),
            "status": "open",
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
            "expires_at": self.clock() + 86400,
            "setup_intent": None,
            "payment_intent": None,
            "line_items": data.get("line_items", []),
            "payment_intent_data": data.get("payment_intent_data", {}),
        }
        self.sessions[session_id] = session
        return json_response(200, session)

    def add_card(self, customer_id: str, card: str = "pm_card_visa") -> str:
        """Attach a test card to a customer (as a completed setup would) and return its id;
        each call makes a distinct payment method of that kind."""
        method_id = f"{card}_x{next(self._ids)}"
        self._card(method_id, customer_id)
        return method_id

    def complete_checkout(self, session_id: str, card: str = "pm_card_visa") -> dict[str, Any]:
        """The client finishes a Checkout Session with `card`: a setup session saves it (a
        succeeded SetupIntent); a payment session charges it. Returns
        `checkout.session.completed` (payment sessions also emit `payment_intent.succeeded`)."""
        session = self.sessions[session_id]
        method_id = self.add_card(session["customer"], card)
        if session["mode"] == "setup":
            intent_id = self.new_id("seti")
            self.setup_intents[intent_id] = {
                "id": intent_id,
                "object": "setup_intent",
                "status": "succeeded",
                "customer": session["customer"],
                "payment_method": method_id,
                "metadata": session["metadata"],
                "usage": "off_session",
            }
            session["setup_intent"] = intent_id
        else:
            item = session["line_items"][0]
            pi_data = session["payment_intent_data"]
            intent = self._new_intent(
                int(item["price_data"]["unit_amount"]),
                item["price_data"]["currency"],
                session["customer"],
                method_id,
                pi_data.get("metadata", {}),
            )
            self._succeed(intent)
            session["payment_intent"] = intent["id"]
        session["status"] = "complete"
        return self._event("checkout.session.completed", session)

    # ---- payment intents and charges --------------------------------------------------------
    def _new_intent(
        self, amount: int, currency: str, customer: str, method: str, metadata: dict[str, Any]
    ) -> dict[str, Any]:
        intent: dict[str, Any] = {
            "id": self.new_id("pi"),
            "object": "payment_intent",
            "amount": amount,
            "currency": currency,
            "customer": customer,
            "payment_method": method,
            "metadata": metadata,
            "status": "requires_confirmation",
            "latest_charge": None,
            "last_payment_error": None,
            "created": self.clock(),
        }
        self.intents[intent["id"]] = intent
        return intent

    def _succeed(self, intent: dict[str, Any]) -> dict[str, Any]:
        charge = self._charge(intent, paid=True)
        fee = stripe_fee(intent["amount"])
        txn_id = self.new_id("txn")
        self.balance_transactions[txn_id] = {
            "id": txn_id,
            "object": "balance_transaction",
            "amount": intent["amount"],
            "fee": fee,
            "net": intent["amount"] - fee,
            "currency": intent["currency"],
            "type": "charge",
            "source": charge["id"],
        }
        charge["balance_transaction"] = txn_id
        intent["status"] = "succeeded"
        intent["latest_charge"] = charge["id"]
        return self._event("payment_intent.succeeded", intent)

    def _charge(self, intent: dict[str, Any], *, paid: bool) -> dict[str, Any]:
        charge = {
            "id": self.new_id("ch"),
            "object": "charge",
            "amount": intent["amount"],
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "customer": intent["customer"],
            "paid": paid,
            "amount_refunded": 0,
            "refunded": False,
            "balance_transaction": None,
            "metadata": intent["metadata"],
            "created": self.clock(),
            "status": "succeeded" if paid else "failed",
        }
        self.charges[charge["id"]] = charge
        return charge

    def _create_pi(self, data: dict[str, Any]) -> httpx.Response:
        try:
            amount = int(data.get("amount", ""))
        except ValueError:
            return error_response(400, "invalid_request_error", "Invalid integer.", param="amount")
        if amount < 50:
            return error_response(
                400,
                "invalid_request_error",
                "Amount must be at least 50 cents.",
                code="amount_too_small",
                param="amount",
            )
        customer = str(data.get("customer", ""))
        method_id = str(data.get("payment_method", ""))
        method = self.payment_methods.get(method_id)
        if method is None:
            return missing_response("payment_method", method_id)
        if method["customer"] != customer:
            return error_response(
                400,
                "invalid_request_error",
                "The provided PaymentMethod was previously used with a PaymentIntent without "
                "Customer attachment...",
                param="payment_method",
            )
        intent = self._new_intent(
            amount, str(data.get("currency")), customer, method_id, data.get("metadata", {})
        )
        if data.get("confirm") != "true":
            return json_response(200, intent)
        card = TEST_CARDS[method_id.split("_x")[0]]
        if card["outcome"] == "succeeded":
            self._succeed(intent)
            return json_response(200, intent)
        if card["outcome"] == "requires_action":
            intent["status"] = "requires_action"
            intent["next_action"] = {"type": "use_stripe_sdk"}
            return json_response(200, intent)
        charge = self._charge(intent, paid=False)
        error = {
            "type": "card_error",
            "code": card["code"],
            "decline_code": card["decline_code"],
            "message": card["message"],
            "charge": charge["id"],
        }
        intent["status"] = "requires_payment_method"
        intent["latest_charge"] = charge["id"]
        intent["last_payment_error"] = error
        self._event("payment_intent.payment_failed", intent)
        return json_response(402, {"error": {**error, "payment_intent": intent}})

    # ---- inspection -------------------------------------------------------------------------
    def intents_for_invoice(self, invoice_id: int | str) -> list[dict[str, Any]]:
        return [
            i
            for i in self.intents.values()
            if i["metadata"].get("rebill_invoice_id") == str(invoice_id)
        ]
