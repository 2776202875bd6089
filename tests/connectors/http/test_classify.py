"""Every failure maps to one of the five outcomes; messages stay safe; Retry-After parses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import (
    AuthExpiredError,
    ConnectorError,
    NotFoundError,
    RateLimitedError,
    RejectedError,
    RetryableError,
)
from connectors.http import classify_exception, classify_response, parse_retry_after


def response(status: int, method: str = "GET", **kwargs: object) -> httpx.Response:
    request = httpx.Request(method, "https://api.test/v3/company/1/invoice?access_token=tok")
    return httpx.Response(status, request=request, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (408, RetryableError),
        (425, RetryableError),
        (500, RetryableError),
        (502, RetryableError),
        (503, RetryableError),
        (504, RetryableError),
        (599, RetryableError),
        (409, RetryableError),
        (429, RateLimitedError),
        (401, AuthExpiredError),
        (403, RejectedError),
        (404, NotFoundError),
        (410, NotFoundError),
        (400, RejectedError),
        (422, RejectedError),
        (302, RejectedError),
    ],
)
def test_status_classification(status: int, kind: type[ConnectorError]) -> None:
    error = classify_response(response(status), name="qbo:c1")
    assert type(error) is kind
    assert error.status == status
    assert str(status) in error.message
    assert error.message.startswith("qbo:c1: HTTP")


def test_rejected_has_no_field_errors_by_default() -> None:
    error = classify_response(response(400, json={"Fault": {}}))
    assert isinstance(error, RejectedError)
    assert error.errors == ()


def test_429_carries_retry_after() -> None:
    error = classify_response(response(429, headers={"Retry-After": "30"}))
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 30.0
    assert classify_response(response(429)).retry_after is None  # type: ignore[attr-defined]


def test_gateway_timeout_on_a_write_is_uncertain() -> None:
    write = classify_response(response(504, "POST"))
    read = classify_response(response(504, "GET"))
    assert isinstance(write, RetryableError) and write.uncertain
    assert isinstance(read, RetryableError) and not read.uncertain
    plain = classify_response(response(500, "POST"))
    assert isinstance(plain, RetryableError) and not plain.uncertain


def test_message_never_contains_body_or_query_secrets() -> None:
    error = classify_response(response(400, text='{"access_token": "leaky"}'))
    assert "leaky" not in error.message
    assert "tok" not in error.message


@given(st.integers(300, 599), st.sampled_from(["GET", "POST", "PUT", "DELETE"]))
def test_every_non_2xx_status_maps_to_one_outcome(status: int, method: str) -> None:
    error = classify_response(response(status, method))
    assert isinstance(error, ConnectorError)
    if status >= 500:
        assert isinstance(error, RetryableError)
    elif status == 429:
        assert isinstance(error, RateLimitedError)
    elif status in (404, 410):
        assert isinstance(error, NotFoundError)
    elif status in (408, 409, 425):
        assert isinstance(error, RetryableError)
    elif status == 401:
        assert isinstance(error, AuthExpiredError)
    else:
        assert isinstance(error, RejectedError)
    if isinstance(error, RetryableError) and error.uncertain:
        assert status == 504 and method != "GET"


@pytest.mark.parametrize(
    ("exc", "kind", "uncertain"),
    [
        (httpx.ConnectError("refused"), RetryableError, False),
        (httpx.ConnectTimeout("slow"), RetryableError, False),
        (httpx.PoolTimeout("busy"), RetryableError, False),
        (httpx.ReadTimeout("slow"), RetryableError, True),
        (httpx.WriteTimeout("slow"), RetryableError, True),
        (httpx.ReadError("reset"), RetryableError, True),
        (httpx.WriteError("broken pipe"), RetryableError, True),
        (httpx.RemoteProtocolError("closed"), RetryableError, True),
        (httpx.ProxyError("proxy"), RetryableError, True),
        (httpx.UnsupportedProtocol("ftp"), RejectedError, None),
        (httpx.LocalProtocolError("bad header"), RejectedError, None),
    ],
)
def test_exception_classification(
    exc: Exception, kind: type[ConnectorError], uncertain: bool | None
) -> None:
    error = classify_exception(exc, name="xero:t", method="PUT", path="/Invoices?code=abc")
    assert type(error) is kind
    assert error.status is None
    assert "abc" not in error.message
    if uncertain is not None:
        assert isinstance(error, RetryableError)
        assert error.uncertain is uncertain


def test_connector_errors_pass_through() -> None:
    original = NotFoundError("gone")
    assert classify_exception(original) is original


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("  12 ", 12.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("nan", None),
        ("soon", None),
    ],
)
def test_parse_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_parse_retry_after_http_date() -> None:
    now = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(header, now=now) == 90.0
    past = format_datetime(now - timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0
