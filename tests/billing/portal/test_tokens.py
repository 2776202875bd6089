"""Tokens: what was signed reads back; any change to any character is refused (Hypothesis);
a key derived for this purpose only."""

from __future__ import annotations

import hashlib
import hmac
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.portal.tokens import PURPOSE, TokenRefusedError, read_token, sign_token

SECRET = "a-test-secret-key-that-is-long-enough"
ALPHABET = string.ascii_letters + string.digits + "-_.=+/ %\u00e9\u0000"


@given(st.integers(1, 2**62), st.integers(0, 2**40))
def test_a_signed_token_reads_back(link_id: int, expires: int) -> None:
    parts = read_token(sign_token(link_id, expires, secret=SECRET), secret=SECRET)
    assert (parts.link_id, parts.expires) == (link_id, expires)


@settings(max_examples=400)
@given(
    st.integers(1, 10**12),
    st.integers(0, 2**40),
    st.data(),
)
def test_any_change_to_any_character_is_refused(
    link_id: int, expires: int, data: st.DataObject
) -> None:
    token = sign_token(link_id, expires, secret=SECRET)
    at = data.draw(st.integers(0, len(token) - 1), label="position")
    kind = data.draw(st.sampled_from(["replace", "delete", "insert"]), label="kind")
    char = data.draw(st.sampled_from(ALPHABET), label="char")
    if kind == "replace":
        if char == token[at]:
            return
        tampered = token[:at] + char + token[at + 1 :]
    elif kind == "delete":
        tampered = token[:at] + token[at + 1 :]
    else:
        tampered = token[:at] + char + token[at:]
    with pytest.raises(TokenRefusedError):
        read_token(tampered, secret=SECRET)


def test_another_key_and_the_raw_secret_are_refused() -> None:
    token = sign_token(7, 2_000_000_000, secret=SECRET)
    with pytest.raises(TokenRefusedError):
        read_token(token, secret=SECRET + "-rotated")
    # signed with the secret itself instead of the derived key: refused
    raw = hmac.new(SECRET.encode(), b"7.2000000000", hashlib.sha256).digest()
    import base64

    naive = "7.2000000000." + base64.urlsafe_b64encode(raw).decode().rstrip("=")
    with pytest.raises(TokenRefusedError):
        read_token(naive, secret=SECRET)
    assert PURPOSE == b"rebill-portal-link-v1"


@pytest.mark.parametrize(
    "token",
    ["", "..", "1.2", "1.2.3.4", "01.2.x", "1.02.x", "-1.2.x", "1.+2.x", "\u0661.2.x", "x" * 500],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(TokenRefusedError):
        read_token(token, secret=SECRET)
