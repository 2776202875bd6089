"""RetryPolicy's delays and decisions, and `redact`."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import (
    AuthExpiredError,
    NotFoundError,
    RateLimitedError,
    RejectedError,
    RetryableError,
)
from connectors.http import RetryPolicy, redact


def test_backoff_grows_and_is_capped_without_jitter() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=5.0, jitter=False)
    assert [policy.backoff(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


@given(st.integers(1, 40), st.integers(0, 2**32))
def test_full_jitter_stays_within_the_capped_ceiling(attempt: int, seed: int) -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=60.0, rng=random.Random(seed))
    delay = policy.backoff(attempt)
    assert 0.0 <= delay <= min(60.0, 0.5 * 2 ** (attempt - 1))


def test_retry_after_wins_when_longer() -> None:
    policy = RetryPolicy(base_delay=0.5, jitter=False)
    limited = RateLimitedError("slow down", retry_after=9.0)
    assert policy.delay(1, limited) == 9.0
    assert policy.delay(1, RetryableError("x"), retry_after=4.0) == 4.0
    assert policy.delay(5, RetryableError("x"), retry_after=1.0) == 8.0


def test_decisions() -> None:
    policy = RetryPolicy(max_attempts=3, max_delay=60.0)
    get = {"method": "GET", "idempotent": None}
    post = {"method": "POST", "idempotent": None}
    assert policy.should_retry(RetryableError("x"), 1, **get)  # type: ignore[arg-type]
    assert not policy.should_retry(RetryableError("x"), 3, **get)  # type: ignore[arg-type]
    assert policy.should_retry(RetryableError("x", uncertain=False), 1, **post)  # type: ignore[arg-type]
    assert not policy.should_retry(RetryableError("x", uncertain=True), 1, **post)  # type: ignore[arg-type]
    assert policy.should_retry(
        RetryableError("x", uncertain=True), 1, method="POST", idempotent=True
    )
    assert not policy.should_retry(
        RetryableError("x", uncertain=True), 1, method="GET", idempotent=False
    )
    assert policy.should_retry(RateLimitedError("x", retry_after=30), 1, **get)  # type: ignore[arg-type]
    assert not policy.should_retry(RateLimitedError("x", retry_after=61), 1, **get)  # type: ignore[arg-type]
    assert not policy.should_retry(RetryableError("x"), 1, retry_after=120.0, **get)  # type: ignore[arg-type]
    assert not policy.should_retry(RetryableError("conflict", status=409), 1, **get)  # type: ignore[arg-type]
    for permanent in (RejectedError("x"), NotFoundError("x"), AuthExpiredError("x")):
        assert not policy.should_retry(permanent, 1, **get)  # type: ignore[arg-type]


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("https://x.test/cb?code=AB12&state=s", "AB12"),
        ("grant_type=refresh_token&refresh_token=RT-9&client_secret=CS-1", "RT-9"),
        ("grant_type=refresh_token&refresh_token=RT-9&client_secret=CS-1", "CS-1"),
        ('{"access_token": "eyJ.abc.def", "expires_in": 3600}', "eyJ.abc.def"),
        ('{"id_token":"IDT","refresh_token" : "R\\"T"}', "IDT"),
        ("Authorization: Bearer eyJhbGciOi.x-y_z", "eyJhbGciOi"),
        ("Authorization: Basic Y2xpZW50OnNlY3JldA==", "Y2xpZW50OnNlY3JldA"),
        ("https://x.test/cb?code%3DENC", "ENC"),
    ],
)
def test_redact_masks_secrets(text: str, secret: str) -> None:
    masked = redact(text)
    assert secret not in masked
    assert "***" in masked


def test_redact_keeps_harmless_text() -> None:
    text = "/v3/company/1/query?query=select * from Item where ItemCode = 'voice'&error_code=5"
    assert redact(text) == text
    assert redact(None) == ""


@given(
    st.sampled_from(["access_token", "refresh_token", "code", "client_secret", "id_token"]),
    st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-._~", min_size=6, max_size=40),
    st.sampled_from(["url", "form", "json"]),
)
def test_redact_property(name: str, value: str, shape: str) -> None:
    if shape == "url":
        text = f"https://id.test/token?state=1&{name}={value}&x=2"
    elif shape == "form":
        text = f"{name}={value}"
    else:
        text = f'{{"other": 1, "{name}": "{value}"}}'
    assert value not in redact(text)
