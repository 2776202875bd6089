"""Invoice documents: how many branded PDFs per second (issue 5 asks for the figure).

Each invoice has 15 lines (base fee, graduated tiers, package included/overage, volume lines,
minimum true-up, prior-period adjustment, discount, tax) and the partner's logo. Measured:
HTML only; HTML + PDF in one process (the figure); the same across processes; and the whole
`queue_document` path (PDF on disk + e-mail built + outbox row in SQLite).

    .venv/bin/python bench/documents.py                    # 200 invoices
    .venv/bin/python bench/documents.py --invoices 50      # quick run
    BENCH_INVOICES=50 make bench
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from bench._common import Timer, fresh_sqlite  # noqa: E402
from billing.documents import (  # noqa: E402
    ClientDetails,
    DocumentKind,
    DocumentLine,
    DocumentLineKind,
    InvoiceDocument,
    PartnerBranding,
    TaxDetails,
    queue_document,
    render_invoice_html,
    render_invoice_pdf,
)
from billing.tenants import Partner  # noqa: E402
from config.db import session_scope  # noqa: E402

K = DocumentLineKind
D = Decimal
# A 1x1 PNG: the logo path is exercised (read, base64, embedded) without a big image.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def fifteen_lines(n: int) -> list[DocumentLine]:
    q = D(n % 997)
    return [
        DocumentLine(K.BASE_FEE, "Growth plan: base fee", D(1), D("49"), 4900),
        DocumentLine(
            K.USAGE,
            "Voice AI minutes",
            D(1000),
            D("0.15"),
            15000,
            "voice",
            "minute",
            "Tier 1: up to 1,000",
        ),
        DocumentLine(
            K.USAGE,
            "Voice AI minutes",
            D(4000),
            D("0.12"),
            48000,
            "voice",
            "minute",
            "Tier 2: 1,001 to 5,000",
        ),
        DocumentLine(
            K.USAGE,
            "Voice AI minutes",
            D("1234.5") + q,
            D("0.09"),
            11111 + 9 * int(q),
            "voice",
            "minute",
            "Tier 3: above 5,000",
        ),
        DocumentLine(K.INCLUDED, "SMS: included", D(1000), D(0), 0, "sms", "message"),
        DocumentLine(
            K.OVERAGE, "SMS: overage", D(250) + q, D("0.02"), 500 + 2 * int(q), "sms", "message"
        ),
        DocumentLine(
            K.USAGE, "Chat conversations", D(812), D("0.03"), 2436, "chat", "conversation", "Tier 2"
        ),
        DocumentLine(K.USAGE, "E-mail automations", D(15000), D("0.0008"), 1200, "email", "email"),
        DocumentLine(K.USAGE, "Workflow runs", D("3120.250"), D("0.004"), 1248, "workflow", "run"),
        DocumentLine(K.USAGE, "Custom A", D(10), D("1.25"), 1250, "a", "unit"),
        DocumentLine(K.USAGE, "Custom B", D(3), D("9.99"), 2997, "b", "seat"),
        DocumentLine(
            K.PRIOR_PERIOD_ADJUSTMENT,
            "Voice AI minutes, September (late events)",
            D("42.5"),
            D("0.15"),
            638,
            "voice",
            "minute",
        ),
        DocumentLine(K.MINIMUM_TRUE_UP, "Minimum spend true-up", D(1), D(0), 0),
        DocumentLine(K.DISCOUNT, "Discount 5%", D(1), D("-4.66"), -466),
        DocumentLine(K.TAX, "Sales tax", D(1), D("7.27"), 727),
    ]


def make_invoice(n: int, logo: Path) -> InvoiceDocument:
    partner = PartnerBranding(
        partner_id="bench",
        name="Bench AI",
        sender_email="billing@bench.example",
        sender_name="Bench AI Billing",
        logo_path=logo,
        primary_color="#0B5FFF",
        address=("1 Main St", "Springfield"),
    )
    return InvoiceDocument(
        kind=DocumentKind.INVOICE,
        number=f"BENCH-{n:06d}",
        status="issued",
        issue_date=date(2026, 11, 1),
        due_date=date(2026, 12, 1),
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        currency="USD",
        partner=partner,
        client=ClientDetails(f"Client {n}", f"ap{n}@client.example", ("2 Side St",), f"C-{n}"),
        lines=fifteen_lines(n),
        tax=TaxDetails("Sales tax", D("8.25")),
    )


def rate(label: str, count: int, wall: float, cpu: float | None = None) -> None:
    """Invoices per second of wall time, one decimal (a few per second is the range here), and
    per second of this process's CPU time, which other load on the machine does not lower."""
    per_cpu = f"   ({count / cpu:,.1f}/s of CPU time)" if cpu else ""
    print(f"  {label:<52} {count / wall:>10,.1f} invoices/s{per_cpu}")


def _render_range(args: tuple[int, int, str]) -> int:
    start, stop, logo = args
    size = 0
    for n in range(start, stop):
        size += len(render_invoice_pdf(make_invoice(n, Path(logo))))
    return size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=int(os.environ.get("BENCH_INVOICES", 200)))
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    count = args.invoices
    folder = Path(tempfile.mkdtemp(prefix="rebill-bench-docs-"))
    logo = folder / "logo.png"
    logo.write_bytes(PNG)
    docs = [make_invoice(n, logo) for n in range(count)]
    print(f"documents: {count} invoices of 15 lines, {args.processes} CPU(s) for the parallel run")
    try:
        render_invoice_pdf(docs[0])  # warm up: fonts, templates
        with Timer() as t:
            for doc in docs:
                render_invoice_html(doc)
        rate("HTML render", count, t.seconds)

        cpu = time.process_time()
        with Timer() as t:
            size = sum(len(render_invoice_pdf(doc)) for doc in docs)
        rate(
            "PDF render (HTML + WeasyPrint), one process",
            count,
            t.seconds,
            time.process_time() - cpu,
        )
        print(f"  {'  average PDF size':<52} {size / count / 1024:>10,.1f} KiB")

        if args.processes > 1:
            step = -(-count // args.processes)
            chunks = [(s, min(s + step, count), str(logo)) for s in range(0, count, step)]
            with ProcessPoolExecutor(args.processes) as pool:
                list(pool.map(_render_range, [(0, 1, str(logo))] * args.processes))  # warm up
                with Timer() as t:
                    list(pool.map(_render_range, chunks))
            rate(f"PDF render, {args.processes} processes", count, t.seconds)

        engine, _ = fresh_sqlite(folder)
        now = datetime.now(UTC)
        with session_scope(engine) as session:
            session.execute(
                insert(Partner),
                [
                    {
                        "id": "bench",
                        "name": "Bench",
                        "currency": "USD",
                        "timezone": "UTC",
                        "invoice_prefix": "BENCH",
                        "branding": {},
                        "settings": {},
                        "created_at": now,
                        "updated_at": now,
                    }
                ],
            )
        cpu = time.process_time()
        with Timer() as t:
            for doc in docs:
                with session_scope(engine) as session:
                    queue_document(session, doc, directory=folder / "documents")
        rate(
            "queue_document (PDF file + e-mail + outbox row)",
            count,
            t.seconds,
            time.process_time() - cpu,
        )
        engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
