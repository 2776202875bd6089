"""The FastAPI application. `create_app()` is the factory uvicorn and the tests call."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from api import errors
from api.auth import require_scope
from api.dashboard.app import mount_dashboard
from api.docs import mount_docs
from api.oauth import build_router as build_oauth_router
from api.webhooks import build_router as build_webhooks_router
from billing.invoicing import endpoints as invoicing_endpoints
from billing.margins import endpoints as margins_endpoints
from billing.metering import endpoints as metering_endpoints
from billing.payments import endpoints as payments_endpoints
from billing.pricing import endpoints as pricing_endpoints
from billing.tenants import endpoints as tenant_endpoints
from config.secret_key import secret_key
from sync.reconcile import endpoints as reconcile_endpoints

__all__ = ["create_app"]


def create_app() -> FastAPI:
    secret_key()  # no usable key (unset, public, too short): refuse to start, saying why
    app = FastAPI(
        title="Rebill",
        version="0.1.0",
        summary="Usage-based rebilling and accounting sync for white-label partners.",
        dependencies=[Depends(errors.check_url_text)],
        docs_url=None,
        redoc_url=None,
    )
    errors.install(app)
    mount_docs(app)
    app.include_router(tenant_endpoints.build_router(require_scope))
    app.include_router(metering_endpoints.build_router(require_scope))
    app.include_router(pricing_endpoints.build_router(require_scope))
    app.include_router(margins_endpoints.build_router(require_scope))
    app.include_router(invoicing_endpoints.build_router(require_scope))
    app.include_router(payments_endpoints.build_router(require_scope))
    app.include_router(reconcile_endpoints.build_router(require_scope))
    mount_dashboard(app)
    app.include_router(build_oauth_router())
    app.include_router(build_webhooks_router())
    return app
