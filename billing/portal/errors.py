"""Why a portal link opens nothing. Each maps to one page and one HTTP status in `api.portal`:
a forged link is 403 (we never signed it), an expired or revoked one 410 (it was real and is
gone for good), an invoice outside the link's client 404 (as if it did not exist)."""

from __future__ import annotations

__all__ = [
    "LinkExpiredError",
    "LinkForgedError",
    "LinkRevokedError",
    "NotIssuedError",
    "PortalError",
    "PortalInvoiceNotFoundError",
]


class PortalError(Exception):
    """A portal link cannot be used, or what it asks for is not there."""


class LinkForgedError(PortalError):
    """Not a link this server signed (or signed under a key since rotated)."""


class LinkExpiredError(PortalError):
    """The link was real; its time is over."""

    def __init__(self, message: str, link_id: int | None = None) -> None:
        super().__init__(message)
        self.link_id = link_id


class LinkRevokedError(PortalError):
    """The partner revoked the link."""

    def __init__(self, message: str, link_id: int | None = None) -> None:
        super().__init__(message)
        self.link_id = link_id


class PortalInvoiceNotFoundError(PortalError):
    """No such invoice among the link's client's invoices."""


class NotIssuedError(PortalError):
    """A draft (or approved, not yet issued) invoice has no portal: nothing to show or pay."""
