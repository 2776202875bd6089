"""The FastAPI application. `create_app()` is the factory uvicorn and the tests call.

Every router is a module-level `APIRouter`; what a request needs (the database session, the
calling key, the dashboard user) comes from dependencies. `create_app(engine=...)` serves that
engine (`app.state.engine`, read by `config.request_session`); without one, the process engine.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI
from sqlalchemy import Engine

from api import errors, oauth, openapi, webhooks
from api.dashboard.app import mount_dashboard
from api.docs import mount_docs
from api.portal import mount_portal
from billing.invoicing import document_endpoints
from billing.invoicing import endpoints as invoicing_endpoints
from billing.margins import endpoints as margins_endpoints
from billing.metering import endpoints as metering_endpoints
from billing.payments import endpoints as payments_endpoints
from billing.portal import endpoints as portal_endpoints
from billing.pricing import endpoints as pricing_endpoints
from billing.simulation import endpoints as simulation_endpoints
from billing.tenants import endpoints as tenant_endpoints
from config.secret_key import secret_key
from sync.reconcile import endpoints as reconcile_endpoints
from sync.webhooks_out import endpoints as webhook_endpoints

__all__ = ["create_app"]


def create_app(engine: Engine | None = None) -> FastAPI:
    secret_key()  # no usable key (unset, public, too short): refuse to start, saying why
    app = FastAPI(
        title="Rebill",
        version="0.1.0",
        summary="Usage-based rebilling and accounting sync for white-label partners.",
        dependencies=[Depends(errors.check_url_text)],
        docs_url=None,
        redoc_url=None,
    )
    app.state.engine = engine
    errors.install(app)
    openapi.install(app)
    mount_docs(app)
    app.include_router(tenant_endpoints.router)
    app.include_router(metering_endpoints.router)
    app.include_router(pricing_endpoints.router)
    app.include_router(margins_endpoints.router)
    app.include_router(simulation_endpoints.router)
    app.include_router(invoicing_endpoints.router)
    app.include_router(document_endpoints.router)
    app.include_router(payments_endpoints.router)
    app.include_router(portal_endpoints.router)
    app.include_router(reconcile_endpoints.router)
    app.include_router(webhook_endpoints.router)
    mount_dashboard(app)
    mount_portal(app)
    app.include_router(oauth.router)
    app.include_router(webhooks.router)
    return app
