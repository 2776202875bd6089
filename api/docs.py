"""`/docs`: Swagger UI served from the package's own copy (`api/static/swagger-ui`, see its
SOURCE.md), so the API documentation works on a machine without internet access. FastAPI's
default page loads the assets from a CDN and shows a blank page offline. The validator badge
(which would send the spec to an outside service) is off. ReDoc is not served (it too would
come from a CDN)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS", "SWAGGER_UI_VERSION", "mount_docs"]

SWAGGER_UI_VERSION = "5.36.0"
ASSETS = Path(__file__).resolve().parent / "static" / "swagger-ui"
_PREFIX = "/static/swagger-ui"


def mount_docs(app: FastAPI) -> None:
    """Serve `/docs` and its assets (the app must be created with `docs_url=None`)."""
    app.mount(_PREFIX, StaticFiles(directory=ASSETS), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} API",
            swagger_js_url=f"{root}{_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{root}{_PREFIX}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},
        )
