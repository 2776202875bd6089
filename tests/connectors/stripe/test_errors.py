"""Every Stripe error body maps to exactly one of the five outcomes."""

from __future__ import annotations

import stripe
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import ConnectorError, Outcome, RetryableError
from connectors.stripe import CardDeclinedError, map_stripe_error

_TYPES = st.sampled_from(
    ["card_error", "invalid_request_error", "api_error", "idempotency_error", "rate_limit"]
)
_CODES = st.one_of(st.none(), st.sampled_from(["card_declined", "rate_limit", "resource_missing"]))


def _error(status: int, body: dict[str, object]) -> stripe.StripeError:
    json_body = {"error": body}
    if status == 402:
        return stripe.CardError("m", None, body.get("code"), json_body=json_body, http_status=402)
    if status == 429:
        return stripe.RateLimitError("m", json_body=json_body, http_status=429)
    if status in (401, 403):
        return stripe.AuthenticationError("m", json_body=json_body, http_status=status)
    if status >= 500:
        return stripe.APIError("m", json_body=json_body, http_status=status)
    return stripe.InvalidRequestError(
        "m", body.get("param"), json_body=json_body, http_status=status
    )


@given(
    status=st.sampled_from([400, 401, 402, 403, 404, 409, 429, 500, 502, 503]),
    type_=_TYPES,
    code=_CODES,
    decline=st.one_of(st.none(), st.sampled_from(["insufficient_funds", "generic_decline"])),
)
def test_each_error_maps_to_one_outcome(
    status: int, type_: str, code: str | None, decline: str | None
) -> None:
    body = {"type": type_, "code": code, "decline_code": decline, "message": "nope"}
    mapped = map_stripe_error(_error(status, body), "charge")
    assert isinstance(mapped, ConnectorError)
    expected = {
        401: Outcome.AUTH_EXPIRED,
        403: Outcome.AUTH_EXPIRED,
        402: Outcome.REJECTED,
        404: Outcome.NOT_FOUND,
        409: Outcome.RETRYABLE,
        429: Outcome.RATE_LIMITED,
    }
    if status >= 500:
        assert mapped.outcome is Outcome.RETRYABLE
    elif status in expected:
        assert mapped.outcome is expected[status]
    if status == 402:
        assert isinstance(mapped, CardDeclinedError)
        assert mapped.decline.reason == (decline or code or "card_declined")
    assert "charge" in mapped.message


def test_connection_errors_before_sending_are_certain() -> None:
    import httpx

    exc = stripe.APIConnectionError("boom")
    exc.__cause__ = httpx.ConnectError("refused")
    mapped = map_stripe_error(exc, "charge")
    assert isinstance(mapped, RetryableError) and not mapped.uncertain
    exc.__cause__ = httpx.ReadTimeout("slow")
    again = map_stripe_error(exc, "charge")
    assert isinstance(again, RetryableError) and again.uncertain
