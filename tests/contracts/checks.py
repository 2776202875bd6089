"""The contract check of each provider's fake, from a reference the provider publishes:

- Xero: Xero's OpenAPI (``xero_accounting``) via openapi-core, requests and answers.
- Stripe: Stripe's OpenAPI (``spec3``) via jsonschema on the form-decoded request body (each
  value cast to the type the schema expects, as Stripe reads its form encoding) and on the
  JSON answers.
- QuickBooks: python-quickbooks' object classes: every entity we send loads into its class
  with no unknown or dropped field (`tests.contracts.quickbooks_models`).
- FreshBooks: freshbooks-sdk's resource wrappers and list names, and the documented line
  shape (`tests.contracts.freshbooks_sdk`).

`check_for(provider)` answers the check to put on a fake (`fake.checks.append(...)`).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import httpx

from tests.contracts.openapi import SPECS, OpenApiCheck

__all__ = ["check_for", "stripe_check", "xero_check"]

Check = Callable[[httpx.Request, httpx.Response | None], list[str]]


def xero_check(spec_file: str | None = None) -> Check:
    """The cut of the pinned description by default; `REBILL_XERO_SPEC` points the check at
    another copy of Xero's description (e.g. the newest, to see that we still hold)."""
    check = OpenApiCheck(
        spec_file or os.environ.get("REBILL_XERO_SPEC") or SPECS / "xero_accounting.cut.json",
        "https://api.xero.com/api.xro/2.0",
        name="Xero",
    )

    def run(request: httpx.Request, response: httpx.Response | None) -> list[str]:
        if not request.url.path.startswith("/api.xro/2.0"):
            return []  # identity and connections endpoints: another description
        if response is None:
            return check.check_request(request)
        return check.check_response(request, response)

    return run


def stripe_check() -> Check:
    from tests.contracts.stripe_form import StripeFormCheck

    return StripeFormCheck(SPECS / "stripe.cut.json")


def check_for(provider: str) -> Check:
    if provider == "xero":
        return xero_check()
    if provider == "stripe":
        return stripe_check()
    if provider == "quickbooks":
        from tests.contracts.quickbooks_models import quickbooks_check

        return quickbooks_check
    if provider == "freshbooks":
        from tests.contracts.freshbooks_sdk import freshbooks_check

        return freshbooks_check
    raise LookupError(f"no contract check for {provider!r}")
