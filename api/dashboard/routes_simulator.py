"""The pricing simulator page: edit a proposal, compare before and after, apply it.

The form holds one change of each kind (a plan's price for a usage type, its base fee and
minimum spend, a client's own price and discount, a wholesale price); prices are a unit price
(`0.12`) or any price model as the partner file writes it (`{ model = "graduated", ... }`), as
on the client page. Simulating is a GET (it writes nothing, so a comparison is a link to
share); applying is a POST with the CSRF token, shown first as a confirmation of exactly what
will change, then written all or nothing through `apply_proposal`: the writers every other
price change uses, effective from each client's next period, logged with source `web` and the
signed-in user's e-mail.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import quote_plus, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.dashboard.web import SignedIn, check_csrf, partner_in_view, render
from billing.margins.selection import label, shift_month
from billing.pricing.book import local_today
from billing.pricing.errors import InvalidPricingError
from billing.pricing.models import ChangeSource
from billing.pricing.service import plan_histories
from billing.simulation.apply import apply_proposal
from billing.simulation.render import describe_change
from billing.simulation.schemas import SimulationIn, parse_proposal
from billing.simulation.service import simulate
from billing.tenants.errors import TenantError
from billing.tenants.repository import TenantRepository
from config.db_types import utcnow
from config.partner_file import ConfigProblem
from config.request_session import DbSession

__all__ = ["FIELDS", "router"]

router = APIRouter(prefix="/dashboard/p/{partner_id}/simulator", include_in_schema=False)
FIELDS = (
    "period",
    "plan",
    "plan_usage_type",
    "plan_price",
    "base_fee",
    "minimum",
    "client",
    "client_usage_type",
    "client_price",
    "discount",
    "wholesale_type",
    "wholesale_rate",
)
Form = dict[str, str]


class _FormError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.problem = ConfigProblem((field,), message)


def _price(text: str, field: str) -> Any:
    if text.startswith("{"):
        try:
            return tomllib.loads(f"price = {text}", parse_float=Decimal)["price"]
        except tomllib.TOMLDecodeError as exc:
            raise _FormError(field, f"not a price as the partner file writes it ({exc})") from None
    try:
        Decimal(text)
    except InvalidOperation:
        raise _FormError(field, f"{text[:20]!r} is not a number") from None
    return {"model": "per_unit", "unit_price": text}


def _changes(form: Form) -> list[dict[str, Any]]:
    """The proposal's changes from the filled-in fields, in the form's order."""
    changes: list[dict[str, Any]] = []
    plan, client = form.get("plan", ""), form.get("client", "")
    if form.get("plan_price"):
        if not plan or not form.get("plan_usage_type"):
            raise _FormError("plan_price", "choose the plan and the usage type it prices")
        changes.append(
            {
                "kind": "plan_price",
                "plan": plan,
                "usage_type": form["plan_usage_type"],
                "price": _price(form["plan_price"], "plan_price"),
            }
        )
    if form.get("base_fee") or form.get("minimum"):
        if not plan:
            raise _FormError("plan", "choose the plan whose base fee or minimum changes")
        fees: dict[str, Any] = {"kind": "plan_fees", "plan": plan}
        if form.get("base_fee"):
            fees["base_fee"] = form["base_fee"]
        if form.get("minimum"):
            minimum = form["minimum"]
            fees["minimum_spend"] = None if minimum.lower() == "none" else minimum
        changes.append(fees)
    if form.get("client_price"):
        if not client or not form.get("client_usage_type"):
            raise _FormError("client_price", "choose the client and the usage type it prices")
        changes.append(
            {
                "kind": "client_price",
                "client": client,
                "usage_type": form["client_usage_type"],
                "price": _price(form["client_price"], "client_price"),
            }
        )
    if form.get("discount"):
        if not client:
            raise _FormError("client", "choose the client whose discount changes")
        changes.append(
            {"kind": "client_discount", "client": client, "discount_percent": form["discount"]}
        )
    if form.get("wholesale_rate"):
        if not form.get("wholesale_type"):
            raise _FormError("wholesale_type", "choose the usage type whose cost changes")
        changes.append(
            {
                "kind": "wholesale",
                "usage_type": form["wholesale_type"],
                "price": _price(form["wholesale_rate"], "wholesale_rate"),
            }
        )
    return changes


def _proposal(form: Form) -> SimulationIn:
    return parse_proposal({"periods": [form.get("period", "")], "changes": _changes(form)})


def _problems(exc: Exception) -> list[str]:
    if isinstance(exc, InvalidPricingError):
        return [str(problem) for problem in exc.problems]
    if isinstance(exc, _FormError):
        return [str(exc.problem)]
    return [str(exc)]


def _choices(db: DbSession, partner_id: str) -> dict[str, Any]:
    tenants = TenantRepository(db)
    return {
        "plans": [h.code for h in plan_histories(db, partner_id)],
        "clients": tenants.clients(partner_id),
        "usage_types": tenants.usage_types(partner_id),
    }


Text = Annotated[str | None, Query(max_length=2000)]


@router.get("")
def simulator_page(
    request: Request, partner_id: str, who: SignedIn, db: DbSession, run: Text = None
) -> Response:
    partner = partner_in_view(db, who, partner_id)
    form: Form = {
        key: str(value).strip()[:2000]
        for key, value in request.query_params.items()
        if key in FIELDS
    }
    last_month = shift_month(local_today(partner.timezone, utcnow()).replace(day=1), -1)
    form.setdefault("period", label(last_month))
    result, problems, status_code = None, [], 200
    if run:
        try:
            body = _proposal(form)
            result = simulate(db, partner.id, body.periods, body.changes, utcnow())
        except (InvalidPricingError, _FormError, TenantError) as exc:
            problems, status_code = _problems(exc), 422
        db.rollback()  # nothing was written; keep it that way
    return render(
        request,
        "simulator.html",
        who,
        partner,
        db=db,
        status_code=status_code,
        nav="simulator",
        form=form,
        result=result,
        problems=problems,
        notice=request.query_params.get("notice"),
        query=urlencode({k: v for k, v in form.items() if v}),
        describe=describe_change,
        **_choices(db, partner.id),
    )


@router.post("/apply", dependencies=[Depends(check_csrf)])
async def apply_page(request: Request, partner_id: str, who: SignedIn, db: DbSession) -> Response:
    """First a confirmation of what will change; with `confirmed=1`, the change itself."""
    partner = partner_in_view(db, who, partner_id)
    raw = await request.form()
    form: Form = {k: str(v).strip()[:2000] for k, v in raw.items() if k in FIELDS}
    try:
        body = _proposal(form)
        if not body.changes:
            raise _FormError("proposal", "nothing to apply: the proposal has no change")
        if raw.get("confirmed") != "1":
            return render(
                request,
                "simulator_confirm.html",
                who,
                partner,
                db=db,
                nav="simulator",
                form=form,
                changes=[describe_change(c) for c in body.changes],
            )
        written = apply_proposal(
            db, partner.id, body.changes, utcnow(), source=ChangeSource.WEB, reference=who.email
        )
    except (InvalidPricingError, _FormError, TenantError) as exc:
        db.rollback()
        return render(
            request,
            "simulator_confirm.html",
            who,
            partner,
            db=db,
            status_code=422,
            nav="simulator",
            form=form,
            changes=[],
            problems=_problems(exc),
        )
    notice = (
        f"Applied from each client's next period: {len(written)} change(s) recorded."
        if written
        else "Nothing changed: the values were already in force."
    )
    query = urlencode({k: v for k, v in form.items() if v})
    target = f"/dashboard/p/{partner_id}/simulator?{query}&notice={quote_plus(notice)}"
    return RedirectResponse(target, status_code=303)
