"""Every QuickBooks Fault shape lands in the right outcome with a message a partner can act
on and the field named where QuickBooks names one."""

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
from connectors.quickbooks.errors import DUPLICATE_NAME, DUPLICATE_NUMBER, has_code, parse_fault

URL = "https://quickbooks.api.intuit.com/v3/company/123/invoice?minorversion=75"


def answer(status: int, body: Any, url: str = URL) -> httpx.Response:
    request = httpx.Request("POST", url)
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(status, content=content, request=request)


def fault(kind: str, code: str, message: str, detail: str, element: str = "") -> dict[str, Any]:
    return {
        "Fault": {
            "Error": [{"Message": message, "Detail": detail, "code": code, "element": element}],
            "type": kind,
        },
        "time": "2026-11-24T05:00:00.000-08:00",
    }


CASES = [
    # (status, body, outcome, words in the message, field, code)
    (
        400,
        fault(
            "ValidationFault",
            "2020",
            "Required param missing, need to supply the required value for the API",
            "Required parameter CustomerRef is missing in the request",
        ),
        RejectedError,
        ["required field is missing"],
        "CustomerRef",
        "2020",
    ),
    (
        400,
        fault(
            "ValidationFault",
            "2500",
            "Invalid Reference Id",
            "Invalid Reference Id : Item assigned to this transaction has been deleted",
            "Line.SalesItemLineDetail.ItemRef",
        ),
        RejectedError,
        ["does not exist or is inactive", "connections check"],
        "Line.SalesItemLineDetail.ItemRef",
        "2500",
    ),
    (
        400,
        fault(
            "ValidationFault",
            "6140",
            "Duplicate Document Number Error",
            "Duplicate Document Number Error : You must specify a different number. DocNumber=INV-1",
        ),
        RejectedError,
        ["document number is already used"],
        None,
        DUPLICATE_NUMBER,
    ),
    (
        400,
        fault(
            "ValidationFault",
            "6240",
            "Duplicate Name Exists Error",
            "The name supplied already exists.",
        ),
        RejectedError,
        ["name is already used"],
        None,
        DUPLICATE_NAME,
    ),
    (
        400,
        fault(
            "ValidationFault",
            "6000",
            "A business validation error has occurred while processing your request",
            "Business Validation Error: The currency of the transaction must match the customer",
        ),
        RejectedError,
        ["business rules", "currency"],
        None,
        "6000",
    ),
    (
        400,
        fault(
            "ValidationFault",
            "6070",
            "Business Validation Error",
            "Amount is not equal to UnitPrice * Qty. Supplied value:12.34",
            "Line.Amount",
        ),
        RejectedError,
        ["quantity times unit price"],
        "Line.Amount",
        "6070",
    ),
    (
        400,
        fault(
            "ValidationFault",
            "6210",
            "Account Period Closed",
            "The account period has closed and the books are locked.",
        ),
        RejectedError,
        ["closed"],
        None,
        "6210",
    ),
    (
        400,
        fault(
            "ValidationFault",
            "6190",
            "Invalid Company Status",
            "Subscription period has ended or canceled.",
        ),
        RejectedError,
        ["subscription"],
        None,
        "6190",
    ),
    (
        400,
        fault(
            "ValidationFault",
            "2050",
            "Invalid string length",
            "String length is either shorter or longer than supported by specification. Min:1 Max:100",
            "Name",
        ),
        RejectedError,
        ["too long"],
        "Name",
        "2050",
    ),
    (
        403,
        fault(
            "AuthorizationFault",
            "5020",
            "Permission Denied Error",
            "You need admin privileges to perform this action.",
        ),
        RejectedError,
        ["lacks permission"],
        None,
        "5020",
    ),
    (
        403,
        fault(
            "AuthorizationFault",
            "100",
            "General Authorization Error",
            "Application authentication failed",
        ),
        RejectedError,
        ["reconnect"],
        None,
        "100",
    ),
]


@pytest.mark.parametrize(
    ("status", "body", "outcome", "words", "field", "code"), CASES, ids=[c[5] or "x" for c in CASES]
)
def test_validation_and_authorization_faults_are_rejections_with_fields(
    status: int,
    body: Any,
    outcome: type[ConnectorError],
    words: list[str],
    field: str | None,
    code: str,
) -> None:
    error = parse_fault(answer(status, body))
    assert type(error) is outcome
    assert isinstance(error, RejectedError)
    assert error.message.startswith("QuickBooks refused the invoice")
    for word in words:
        assert word in error.message
    assert error.errors[0].field == field
    assert error.errors[0].code == code and has_code(error, code)
    assert body["Fault"]["Error"][0]["Detail"].split(":")[0] in error.errors[0].message
    assert error.status == status


def test_stale_sync_token_is_a_conflict_to_reread() -> None:
    body = fault(
        "ValidationFault",
        "5010",
        "Stale Object Error",
        "Stale Object Error : You and root were working on this at the same time.",
    )
    error = parse_fault(answer(400, body))
    assert isinstance(error, RetryableError) and error.status == 409 and not error.uncertain
    assert "changed in QuickBooks" in error.message


def test_object_not_found_is_not_found() -> None:
    body = fault(
        "ValidationFault",
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive.",
    )
    error = parse_fault(answer(400, body, "https://q/v3/company/1/invoice/999"))
    assert isinstance(error, NotFoundError)
    assert "no longer exists" in error.message


def test_authentication_fault_lower_case_is_auth_expired() -> None:
    body = {
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": "Token expired: ...",
                    "code": "3200",
                }
            ],
            "type": "AUTHENTICATION",
        }
    }
    error = parse_fault(answer(401, body))
    assert isinstance(error, AuthExpiredError) and "reconnect" in error.message
    assert "Token" not in error.message  # nothing about the token itself


def test_throttle_is_rate_limited() -> None:
    body = fault(
        "ThrottleExceeded",
        "003001",
        "message=ThrottleExceeded; errorCode=003001; statusCode=429",
        "The request limit was reached.",
    )
    error = parse_fault(answer(429, body))
    assert isinstance(error, RateLimitedError) and "throttled" in error.message


def test_system_fault_is_retryable() -> None:
    body = fault(
        "SystemFault",
        "10000",
        "An application error has occurred while processing your request",
        "System Failure Error: Could not find resource",
    )
    error = parse_fault(answer(500, body))
    assert isinstance(error, RetryableError) and error.status == 500 and "retried" in error.message


def test_query_and_batch_requests_are_named() -> None:
    body = fault(
        "ValidationFault", "4000", "Error parsing query", "QueryParserError: Encountered ..."
    )
    error = parse_fault(answer(400, body, "https://q/v3/company/1/query?query=x"))
    assert isinstance(error, RejectedError) and "query request" in error.message


@pytest.mark.parametrize("content", [b"<html>Bad gateway</html>", b"[]", b'{"error": "x"}', b""])
def test_non_fault_bodies_are_left_to_the_status(content: bytes) -> None:
    assert parse_fault(answer(502, content)) is None


def test_fault_without_errors_still_says_something() -> None:
    error = parse_fault(answer(400, {"Fault": {"type": "ValidationFault"}}))
    assert isinstance(error, RejectedError) and "ValidationFault" in error.message
