"""The HTTP answers for an invoice named by a route's key, shared by every route that takes one.

The invoicing, payments and portal routes each add their own errors (a state that forbids the
action, bad input) around these; the key's two failures read the same everywhere: no such
invoice for this partner is a 404, and a key that can be no invoice id or number is a 400 that
names the parameter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException, status

from billing.invoicing.errors import InvoiceKeyError, InvoiceNotFoundError
from billing.tenants.endpoints import translate_errors

__all__ = ["invoice_key_errors"]


@contextmanager
def invoice_key_errors(parameter: str = "key") -> Iterator[None]:
    """`translate_errors` (the tenants' answers), plus the invoice key's: 404 and 400."""
    try:
        with translate_errors():
            yield
    except InvoiceNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except InvoiceKeyError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{parameter}: {exc}") from exc
