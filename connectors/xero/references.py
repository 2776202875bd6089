"""`connections check` for Xero: which codes the mapping names do not exist (or are archived)
in the organisation.

The setting path says what a code is (the Xero mapping's `required_remote_names`):
``account_codes.*`` / ``default_account_code`` → Accounts by Code; ``tax_type`` /
``no_tax_type`` → TaxRates by TaxType; ``tracking.<category>`` → an option of that tracking
category. Item codes are not checked: `ensure_items` creates missing items. Each list is read
once, whatever the number of references.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

__all__ = ["check_references", "kind_of"]

Get = Callable[[str, Mapping[str, object] | None], Awaitable[Any]]


def kind_of(path: str) -> str | None:
    head = path.split(".", 1)[0]
    if head in ("account_codes", "default_account_code") or "account" in head:
        return "account"
    if head in ("tax_type", "no_tax_type") or "tax" in head:
        return "tax"
    if head == "tracking" and "." in path:
        return "tracking"
    return None


async def check_references(get: Get, references: Mapping[str, str]) -> dict[str, str]:
    kinds = {path: kind_of(path) for path in references}
    problems: dict[str, str] = {}
    if "account" in kinds.values():
        accounts = {
            str(a.get("Code", "")): a
            for a in (await get("Accounts", None)).get("Accounts") or ()
            if a.get("Code")
        }
        for path, code in references.items():
            if kinds[path] != "account":
                continue
            account = accounts.get(code)
            if account is None:
                problems[path] = f"Xero has no account with code {code!r}"
            elif str(account.get("Status", "ACTIVE")).upper() != "ACTIVE":
                problems[path] = f"Xero account {code!r} is archived"
    if "tax" in kinds.values():
        rates = {
            str(r.get("TaxType", "")): r
            for r in (await get("TaxRates", None)).get("TaxRates") or ()
        }
        for path, tax_type in references.items():
            if kinds[path] != "tax":
                continue
            rate = rates.get(tax_type)
            if rate is None:
                problems[path] = f"Xero has no tax rate with TaxType {tax_type!r}"
            elif str(rate.get("Status", "ACTIVE")).upper() != "ACTIVE":
                problems[path] = f"Xero tax rate {tax_type!r} is not active"
            elif rate.get("CanApplyToRevenue") is False:
                problems[path] = f"Xero tax rate {tax_type!r} cannot be used on sales"
    if "tracking" in kinds.values():
        categories = {
            str(c.get("Name", "")): c
            for c in (await get("TrackingCategories", None)).get("TrackingCategories") or ()
        }
        for path, option in references.items():
            if kinds[path] != "tracking":
                continue
            name = path.split(".", 1)[1]
            category = categories.get(name)
            if category is None:
                problems[path] = f"Xero has no tracking category {name!r}"
                continue
            options = {
                str(o.get("Name", "")): str(o.get("Status", "ACTIVE")).upper()
                for o in category.get("Options") or ()
            }
            if options.get(option) != "ACTIVE":
                problems[path] = f"Xero tracking category {name!r} has no active option {option!r}"
    return problems
