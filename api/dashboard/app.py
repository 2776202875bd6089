"""Mount the dashboard on the FastAPI app: routers, static files, the sign-in redirect, and
the app's sign-in throttle (`routes_auth.signin_throttle` reads it from `app.state`)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.dashboard import (
    routes_auth,
    routes_client_changes,
    routes_clients,
    routes_invoices,
    routes_overview,
    routes_simulator,
    routes_usage,
    routes_webhooks,
)
from api.dashboard.session import dashboard_settings
from api.dashboard.throttle import SignInThrottle
from api.dashboard.web import SignInRequired

__all__ = ["mount_dashboard"]


async def _to_signin(request: Request, exc: Exception) -> Response:
    target = exc.next_path if isinstance(exc, SignInRequired) else "/dashboard"
    return RedirectResponse(f"/dashboard/signin?next={quote(target)}", status_code=303)


def mount_dashboard(app: FastAPI) -> None:
    app.mount(
        "/dashboard/static",
        StaticFiles(directory=str(Path(__file__).parent / "static")),
        name="dashboard-static",
    )
    settings = dashboard_settings()
    app.state.signin_throttle = SignInThrottle(
        settings.signin_attempts, settings.signin_window_seconds
    )
    app.include_router(routes_auth.router)
    app.include_router(routes_overview.router)
    app.include_router(routes_clients.router)
    app.include_router(routes_client_changes.router)
    app.include_router(routes_invoices.router)
    app.include_router(routes_usage.router)
    app.include_router(routes_webhooks.router)
    app.include_router(routes_simulator.router)
    app.add_exception_handler(SignInRequired, _to_signin)
