"""Mount the dashboard on the FastAPI app: routers, static files, the sign-in redirect."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.dashboard.routes_auth import build_auth_router
from api.dashboard.routes_invoices import build_invoices_router
from api.dashboard.routes_overview import build_overview_router
from api.dashboard.routes_usage import build_usage_router
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
    app.include_router(build_auth_router())
    app.include_router(build_overview_router())
    app.include_router(build_invoices_router())
    app.include_router(build_usage_router())
    app.add_exception_handler(SignInRequired, _to_signin)
