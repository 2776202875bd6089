"""Every FreshBooks failure shape lands in the right outcome with a message a partner can act on
(the field named, FreshBooks' own words kept, no body dumped)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from connectors.base import (
    AuthExpiredError,
    ConnectorError,
    NotFoundError,
    RateLimitedError,
    RejectedError,
    RetryableError,
)
from connectors.freshbooks.errors import envelope_error, parse_error

URL = "https://api.freshbooks.com/accounting/account/acc-1/invoices/invoices"


def answer(
    status: int, body: Any = None, *, method: str = "POST", url: str = URL, **headers: str
) -> httpx.Response:
    content = json.dumps(body).encode() if body is not None else b""
    return httpx.Response(
        status, content=content, headers=headers, request=httpx.Request(method, url)
    )


def envelope(*errors: dict[str, Any]) -> dict[str, Any]:
    return {"response": {"errors": list(errors)}}


def parsed(response: httpx.Response) -> ConnectorError:
    error = parse_error(response)
    assert error is not None
    return error


def test_validation_errors_name_object_and_field() -> None:
    error = parsed(
        answer(
            422,
            envelope(
                {
                    "errno": 2001,
                    "field": "customerid",
                    "message": "Client not found",
                    "object": "invoice",
                    "value": "42",
                },
                {
                    "errno": 2002,
                    "field": "create_date",
                    "message": "is required",
                    "object": "invoice",
                    "value": None,
                },
            ),
        )
    )
    assert isinstance(error, RejectedError) and error.status == 422
    assert [(e.field, e.code) for e in error.errors] == [
        ("invoice.customerid", "2001"),
        ("invoice.create_date", "2002"),
    ]
    assert error.message.startswith("FreshBooks rejected the invoice: Client not found")
    assert "(field invoice.create_date)" in error.message
    assert "sync the client again" in error.message


def test_a_duplicate_number_says_so() -> None:
    error = parsed(
        answer(
            422,
            envelope(
                {
                    "errno": 2003,
                    "field": "invoice_number",
                    "object": "invoice",
                    "message": "Invoice number already exists",
                }
            ),
        )
    )
    assert isinstance(error, RejectedError)
    assert "already exists in FreshBooks" in error.message


def test_errors_without_envelope_still_reject_clearly() -> None:
    error = parsed(
        answer(400, {"unexpected": True}, url=URL.replace("invoices/invoices", "users/clients"))
    )
    assert isinstance(error, RejectedError) and error.errors
    assert error.message == "FreshBooks rejected the client (HTTP 400 Bad Request)"


@pytest.mark.parametrize(
    ("response", "kind", "words"),
    [
        (
            answer(
                401, {"error": "invalid_token", "error_description": "The access token expired"}
            ),
            AuthExpiredError,
            "The access token expired",
        ),
        (answer(403, envelope({"message": "Forbidden"})), AuthExpiredError, "reconnect FreshBooks"),
        (
            answer(404, envelope({"errno": 1012, "message": "not found"}), method="GET"),
            NotFoundError,
            "no such record",
        ),
        (answer(429, {}, **{"Retry-After": "7"}), RateLimitedError, "retry in 7 s"),
        (answer(503, {}), RetryableError, "unavailable (HTTP 503)"),
    ],
)
def test_statuses_map_to_outcomes(
    response: httpx.Response, kind: type[ConnectorError], words: str
) -> None:
    error = parsed(response)
    assert type(error) is kind
    assert words in error.message


def test_a_gateway_timeout_on_a_write_is_uncertain_but_not_on_a_read() -> None:
    write = parsed(answer(504, {}))
    read = parsed(answer(504, {}, method="GET"))
    assert isinstance(write, RetryableError) and write.uncertain
    assert isinstance(read, RetryableError) and not read.uncertain


def test_rate_limit_keeps_retry_after() -> None:
    error = parsed(answer(429, {}, **{"Retry-After": "12"}))
    assert isinstance(error, RateLimitedError) and error.retry_after == 12


def test_conflicts_are_left_to_the_default_classification() -> None:
    assert parse_error(answer(409, {})) is None


def test_an_error_inside_a_200_envelope() -> None:
    body = envelope({"errno": 2001, "field": "amount", "object": "payment", "message": "bad"})
    error = envelope_error(body, what="the payment")
    assert isinstance(error, RejectedError) and error.errors[0].field == "payment.amount"
    assert isinstance(
        envelope_error(envelope({"errno": 1012, "message": "x"}), what="x"), NotFoundError
    )
    assert envelope_error({"response": {"result": {}}}, what="x") is None


def test_a_missing_scope_says_reconnect_with_freshbooks_words() -> None:
    body = envelope({"message": "Insufficient scopes: needs user:payments:write"})
    error = parsed(answer(403, body))
    assert isinstance(error, AuthExpiredError)
    assert "user:payments:write" in error.message and "reconnect FreshBooks" in error.message
