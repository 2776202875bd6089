"""Where a webhook may go: https only, public addresses only (unless the operator allows
otherwise with `REBILL_WEBHOOKS_ALLOW_PRIVATE_NETWORKS=true`).

A partner types the URL, and Rebill's servers call it: without these checks an endpoint such as
`http://169.254.169.254/...` (a cloud's metadata service) or `http://10.0.0.5/admin` would
make Rebill attack its own network (server-side request forgery; Standard Webhooks, "Server side
request forgery (SSRF)").

* At creation and update, `check_url` refuses what is wrong in the URL itself: another scheme
  than https (http with the allowance), no host, credentials in the URL, and an IP literal that
  is not public.
* At every send, `resolve` resolves the host and checks EVERY address it resolves to; one
  address that is not public refuses the delivery (an attacker's DNS could answer a public and
  a private address and let the connection pick). The request then goes to the address that
  was checked (the URL's host stays in `Host` and in TLS's SNI and certificate check), never to
  a second lookup: a DNS answer that changes between the check and the connection (DNS
  rebinding) cannot move the request to an address that was not checked.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

__all__ = [
    "RefusedDestinationError",
    "UnresolvedHostError",
    "check_url",
    "is_public",
    "resolve",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedDestinationError(Exception):
    """The URL's host is, or resolves to, an address webhooks may not reach."""


class UnresolvedHostError(Exception):
    """The host did not resolve now. Not a refusal: DNS fails for a while (a lapsed record, a
    resolver timeout) and then works again, so the delivery is retried like a refused
    connection."""


def is_public(address: IPAddress) -> bool:
    """A globally routable unicast address: not private, loopback, link-local, multicast,
    reserved, unspecified or shared (carrier-grade NAT); IPv4 mapped into IPv6 is judged as
    the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public(address.ipv4_mapped)
    return bool(
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not address.is_loopback
        and not address.is_link_local
        and not address.is_private
        and not address.is_unspecified
    )


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url(url: str, *, allow_private: bool) -> str | None:
    """Why `url` cannot be an endpoint, or None when it can (DNS is checked at each send)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        return "must start with https://" + (
            "" if allow_private else " (plain http is refused: payloads carry billing data)"
        )
    if not parts.hostname:
        return "has no host"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials (the signature authenticates Rebill)"
    if len(url) > 2000:
        return "is longer than 2000 characters"
    if port == 0:
        return "port 0 is not a port"
    address = _literal(parts.hostname)
    if address is not None and not allow_private and not is_public(address):
        return f"{address} is not a public address"
    return None


def resolve(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """Every address `host` resolves to, each checked; raises `RefusedDestinationError` when one
    is not public (and the allowance is off), `UnresolvedHostError` when the name does not
    resolve."""
    literal = _literal(host)
    if literal is not None:
        found: list[IPAddress] = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise UnresolvedHostError(f"{host} does not resolve ({exc})") from exc
        found = list(
            dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos)
        )
    if not found:
        raise UnresolvedHostError(f"{host} resolves to no address")
    if not allow_private:
        refused = [a for a in found if not is_public(a)]
        if refused:
            listed = ", ".join(str(a) for a in refused)
            raise RefusedDestinationError(
                f"{host} resolves to {listed}, not a public address "
                "(REBILL_WEBHOOKS_ALLOW_PRIVATE_NETWORKS allows it)"
            )
    return found
