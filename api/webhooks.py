"""Webhook endpoints. `POST /webhooks/stripe`: Stripe's deliveries, verified against each
connected partner's signing secret (bad or stale signature: 400), stored once per event id and
applied by `sync.stripe.receive_delivery`. `GET /webhooks/stripe/return`: where Stripe's hosted
Checkout page sends the client back. `POST /webhooks/freshbooks`: FreshBooks' callback
verification and its signed events (`connectors.freshbooks.callbacks.receive`).

The body is read raw (the signature covers the exact bytes). The handler is a plain `def`, so
FastAPI runs it in its thread pool: the database and the Stripe reads it makes never block
the event loop.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from config.db import get_engine
from connectors.freshbooks.callbacks import receive as receive_freshbooks
from connectors.freshbooks.webhooks import SIGNATURE_HEADER as FRESHBOOKS_SIGNATURE
from sync.stripe import receive_delivery

__all__ = ["MAX_BODY", "build_router"]

MAX_BODY = 1024 * 1024  # Stripe events are a few KiB; refuse anything absurd


def build_router() -> APIRouter:
    router = APIRouter(prefix="/webhooks", tags=["webhooks"])

    @router.post("/stripe", summary="Stripe webhook deliveries")
    async def stripe_webhook(request: Request) -> JSONResponse:
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"detail": "body: larger than 1 MiB"}, status_code=413)
        header = request.headers.get("Stripe-Signature")
        result = await run_in_threadpool(receive_delivery, get_engine(), body, header)
        return JSONResponse(
            {"detail": result.detail, "event": result.event_id}, status_code=result.status_code
        )

    @router.get("/stripe/return", response_class=HTMLResponse, include_in_schema=False)
    def stripe_return(result: str = "success") -> HTMLResponse:
        text = (
            "Thank you. You can close this page."
            if result == "success"
            else "Nothing was changed. You can close this page."
        )
        return HTMLResponse(f"<!doctype html><title>Payment</title><p>{text}</p>")

    @router.post("/freshbooks", summary="FreshBooks webhook callbacks")
    async def freshbooks_webhook(request: Request) -> JSONResponse:
        """Callback verification and signed events (`connectors.freshbooks.callbacks`)."""
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"detail": "body: larger than 1 MiB"}, status_code=413)
        signature = request.headers.get(FRESHBOOKS_SIGNATURE)
        result = await receive_freshbooks(get_engine(), body, signature)
        name = result.event.name if result.event is not None else None
        return JSONResponse(
            {"detail": result.detail, "event": name}, status_code=result.status_code
        )

    return router
