"""The client portal's links: signed, expiring, revocable URLs that open one client's invoices
(`docs/portal.md`). The pages themselves are in `api.portal` (paying needs `sync.stripe`,
which billing may not import).

The public API: `issue_link`, `verify_link`, `invoice_in_scope`, `revoke_link`,
`revoke_client_links`, `portal_url`, and the errors a link can be refused with.
"""

from billing.portal.errors import (
    LinkExpiredError,
    LinkForgedError,
    LinkRevokedError,
    NotIssuedError,
    PortalError,
    PortalInvoiceNotFoundError,
)
from billing.portal.models import PortalLink
from billing.portal.service import (
    IssuedLink,
    invoice_in_scope,
    issue_link,
    issue_link_for,
    links_of_client,
    portal_url,
    revoke_client_links,
    revoke_link,
    verify_link,
)

__all__ = [
    "IssuedLink",
    "LinkExpiredError",
    "LinkForgedError",
    "LinkRevokedError",
    "NotIssuedError",
    "PortalError",
    "PortalInvoiceNotFoundError",
    "PortalLink",
    "invoice_in_scope",
    "issue_link",
    "issue_link_for",
    "links_of_client",
    "portal_url",
    "revoke_client_links",
    "revoke_link",
    "verify_link",
]
