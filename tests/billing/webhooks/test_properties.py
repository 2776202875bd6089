"""Properties: every signature we make verifies with the reference library (any body, any
secret pair in a rotation); an address and its IPv4-mapped IPv6 form are judged alike; no
private, loopback, link-local or multicast address is ever public."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook

from billing.webhooks.delivery import sign_headers
from billing.webhooks.network import is_public
from billing.webhooks.service import new_secret

BLOCKED = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
]


@settings(max_examples=60, deadline=None)
@given(body=st.text(max_size=500), rotating=st.booleans())
def test_every_signature_verifies_with_the_reference_library(body: str, rotating: bool) -> None:
    secrets = [new_secret(), new_secret()] if rotating else [new_secret()]
    headers = sign_headers("msg_test", body, secrets, datetime.now(UTC))
    for secret in secrets:
        Webhook(secret).verify(body.encode("utf-8"), headers, json_parse=False)


@settings(max_examples=300)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_ipv4_and_its_mapped_form_agree_and_blocked_ranges_are_never_public(value: int) -> None:
    address = ipaddress.IPv4Address(value)
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    assert is_public(address) == is_public(mapped)
    if any(address in network for network in BLOCKED):
        assert not is_public(address)
