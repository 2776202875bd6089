"""Webhook signatures: our own HMAC check against what Stripe sends."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.stripe import SignatureError, compute_signature, signature_header, verify_signature

SECRET = "whsec_test_secret"
BODY = b'{"id": "evt_1", "type": "payout.paid"}'
NOW = 1_800_000_000


def test_valid_signature_returns_its_timestamp() -> None:
    header = signature_header(BODY, SECRET, timestamp=NOW - 10)
    assert verify_signature(BODY, header, SECRET, now=NOW) == NOW - 10


def test_wrong_secret_is_refused() -> None:
    header = signature_header(BODY, "whsec_other", timestamp=NOW)
    with pytest.raises(SignatureError, match="no v1 signature matches"):
        verify_signature(BODY, header, SECRET, now=NOW)


def test_stale_and_future_timestamps_are_refused() -> None:
    with pytest.raises(SignatureError, match="tolerance 300"):
        verify_signature(BODY, signature_header(BODY, SECRET, timestamp=NOW - 301), SECRET, now=NOW)
    with pytest.raises(SignatureError, match="tolerance"):
        verify_signature(BODY, signature_header(BODY, SECRET, timestamp=NOW + 301), SECRET, now=NOW)
    verify_signature(BODY, signature_header(BODY, SECRET, timestamp=NOW - 300), SECRET, now=NOW)


def test_tampered_body_is_refused() -> None:
    header = signature_header(BODY, SECRET, timestamp=NOW)
    with pytest.raises(SignatureError):
        verify_signature(BODY.replace(b"payout", b"refund"), header, SECRET, now=NOW)


def test_any_of_several_v1_signatures_may_match_and_other_schemes_are_ignored() -> None:
    good = compute_signature(BODY, NOW, SECRET)
    header = f"t={NOW},v0=abc,v1={'0' * 64},v1={good}"
    assert verify_signature(BODY, header, SECRET, now=NOW) == NOW


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "header missing"),
        ("", "header missing"),
        ("v1=abc", "no timestamp"),
        ("t=abc,v1=abc", "not a unix timestamp"),
        (f"t={NOW}", "no v1 signature"),
        (f"t={NOW},v0=abc", "no v1 signature"),
    ],
)
def test_malformed_headers_say_why(header: str | None, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify_signature(BODY, header, SECRET, now=NOW)


def test_an_empty_secret_never_verifies() -> None:
    with pytest.raises(SignatureError, match="not configured"):
        verify_signature(BODY, signature_header(BODY, "", timestamp=NOW), "", now=NOW)


def test_a_body_that_is_not_utf8_is_refused() -> None:
    body = b'{"id": "evt_1", "x": "\xff"}'
    with pytest.raises(SignatureError, match="not UTF-8"):
        verify_signature(body, signature_header(body, SECRET, timestamp=NOW), SECRET, now=NOW)


@given(text=st.text(max_size=200), flip=st.integers(min_value=0, max_value=799))
def test_any_single_byte_change_breaks_the_signature(text: str, flip: int) -> None:
    body = text.encode("utf-8")
    header = signature_header(body, SECRET, timestamp=NOW)
    assert verify_signature(body, header, SECRET, now=NOW) == NOW
    if not body:
        return
    index = flip % len(body)
    changed = body[:index] + bytes([body[index] ^ 1]) + body[index + 1 :]
    with pytest.raises(SignatureError):
        verify_signature(changed, header, SECRET, now=NOW)
