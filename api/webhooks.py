"""Webhook endpoints. `POST /webhooks/stripe`: Stripe's deliveries, verified against each
connected partner's signing secret (bad or stale signature: 400), stored once per event id and
applied by `sync.stripe.receive_delivery`. `GET /webhooks/stripe/return`: where Stripe's hosted
Checkout page sends the client back. `POST /webhooks/freshbooks`: FreshBooks' callback
verification and its signed events (`connectors.freshbooks.callbacks.receive`).
`POST /webhooks/quickbooks` and `POST /webhooks/xero`: signed change notifications (bad
signature: 401; Xero's intent-to-receive gets 200 with an empty body when correctly signed);
the payments of the companies they name are read back in a background task after the answer
(`sync.readback_webhooks`).

The body is read raw (the signature covers the exact bytes) and never past `MAX_BODY`: a
declared length over it is refused (413) before reading, a chunked body as soon as it passes
it (`config.request_body`). Deliveries are applied in a worker thread: the database and the
Stripe reads never block the event loop. Refusals are problem details (`config.problems`), as
everywhere in the API, except Xero's bad signature: Xero expects a 401 without a body.
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from config.problems import ProblemResponse, problem_body
from config.request_body import BodyTooLargeError, read_body
from config.request_session import AppEngine
from config.settings import get_settings
from connectors.freshbooks.callbacks import receive as receive_freshbooks
from connectors.freshbooks.webhooks import SIGNATURE_HEADER as FRESHBOOKS_SIGNATURE
from sync import readback_webhooks as accounting_hooks
from sync.stripe import receive_delivery

__all__ = ["MAX_BODY", "router"]

MAX_BODY = 1024 * 1024  # Stripe events are a few KiB; refuse anything absurd


def _answer(request: Request, status: int, detail: str, **extra: object) -> JSONResponse:
    """`{"detail": ..., **extra}`; a refusal (4xx, 5xx) as a problem with the same members."""
    if status < 400:
        return JSONResponse({"detail": detail, **extra}, status_code=status)
    return ProblemResponse(
        problem_body(status, detail, request.url.path) | extra, status_code=status
    )


async def _body(request: Request) -> bytes | JSONResponse:
    try:
        return await read_body(request.stream(), request.headers.get("content-length"), MAX_BODY)
    except BodyTooLargeError as exc:
        return _answer(request, 413, str(exc))


router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.post("/stripe", summary="Stripe webhook deliveries")
async def stripe_webhook(request: Request, engine: AppEngine) -> JSONResponse:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    header = request.headers.get("Stripe-Signature")
    result = await run_in_threadpool(receive_delivery, engine, body, header)
    return _answer(request, result.status_code, result.detail, event=result.event_id)


@router.get("/stripe/return", response_class=HTMLResponse, include_in_schema=False)
def stripe_return(result: str = "success") -> HTMLResponse:
    text = (
        "Thank you. You can close this page."
        if result == "success"
        else "Nothing was changed. You can close this page."
    )
    return HTMLResponse(f"<!doctype html><title>Payment</title><p>{text}</p>")


@router.post("/freshbooks", summary="FreshBooks webhook callbacks")
async def freshbooks_webhook(request: Request, engine: AppEngine) -> JSONResponse:
    """Callback verification and signed events (`connectors.freshbooks.callbacks`)."""
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    signature = request.headers.get(FRESHBOOKS_SIGNATURE)
    result = await receive_freshbooks(engine, body, signature)
    name = result.event.name if result.event is not None else None
    return _answer(request, result.status_code, result.detail, event=name)


@router.post("/quickbooks", summary="QuickBooks Online change notifications")
async def quickbooks_webhook(
    request: Request, background: BackgroundTasks, engine: AppEngine
) -> Response:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    verifier = get_settings().quickbooks_webhook_verifier.get_secret_value()
    if not accounting_hooks.signature_ok(body, request.headers.get("intuit-signature"), verifier):
        return _answer(request, 401, "intuit-signature: does not match")
    try:
        realms = accounting_hooks.quickbooks_realms(body)
    except ValueError as exc:
        return _answer(request, 400, str(exc))
    if realms:
        background.add_task(accounting_hooks.read_back_tenants, engine, "quickbooks", realms)
    return Response(status_code=200)


@router.post("/xero", summary="Xero webhooks (and the intent-to-receive handshake)")
async def xero_webhook(
    request: Request, background: BackgroundTasks, engine: AppEngine
) -> Response:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    key = get_settings().xero_webhook_key.get_secret_value()
    if not accounting_hooks.signature_ok(body, request.headers.get("x-xero-signature"), key):
        return Response(status_code=401)  # Xero expects no body in either answer
    try:
        tenants = accounting_hooks.xero_tenants(body)
    except ValueError as exc:  # correctly signed but not an event list Rebill can read
        return _answer(request, 400, str(exc))
    if tenants:
        background.add_task(accounting_hooks.read_back_tenants, engine, "xero", tenants)
    return Response(status_code=200)
