"""The client portal: pages a client reaches from an invoice e-mail (`pages`), paying through
Stripe Checkout (`checkout`). The links, and the operators' API and CLI for them, are
`billing.portal`'s. docs/portal.md says what the client sees and why."""

from fastapi import FastAPI

from api.portal import pages
from api.portal.web import install_log_redaction

__all__ = ["mount_portal"]


def mount_portal(app: FastAPI) -> None:
    app.include_router(pages.router)
    install_log_redaction()
