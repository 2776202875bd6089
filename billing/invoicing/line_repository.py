"""What an invoice and a credit note are made of: their lines, the usage rows behind the lines,
and the figures issuing and recognition read from both. A mixin of `InvoiceRepository`, apart
because these queries go by lists of invoice ids (`config.key_arrays`) rather than by partner."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from billing.invoicing.models import CreditNoteLine, InvoiceLine, InvoiceUsage
from billing.invoicing.rows import LineFigure, UsageFigure
from config.key_arrays import keyed_queries, on_postgres

__all__ = ["LineQueries"]


class LineQueries:
    session: Session

    def delete_draft_content(self, invoice_id: int) -> None:
        """A refresh replaces a draft's lines and usage (the database refuses it once issued)."""
        tables: list[Any] = [InvoiceLine.__table__, InvoiceUsage.__table__]  # type: ignore[attr-defined]
        for table in tables:
            self.session.execute(table.delete().where(table.c.invoice_id == invoice_id))

    def lines(self, invoice_ids: Sequence[int]) -> dict[int, list[InvoiceLine]]:
        found: dict[int, list[InvoiceLine]] = {i: [] for i in invoice_ids}
        query = select(InvoiceLine).order_by(col(InvoiceLine.invoice_id), col(InvoiceLine.position))
        for chunked in keyed_queries(
            query, col(InvoiceLine.invoice_id), invoice_ids, postgres=on_postgres(self.session)
        ):
            for line in self.session.scalars(chunked):
                found[line.invoice_id].append(line)
        return found

    def usage_rows(self, invoice_ids: Sequence[int]) -> dict[int, list[InvoiceUsage]]:
        found: dict[int, list[InvoiceUsage]] = {i: [] for i in invoice_ids}
        query = select(InvoiceUsage).order_by(col(InvoiceUsage.id))
        for chunked in keyed_queries(
            query, col(InvoiceUsage.invoice_id), invoice_ids, postgres=on_postgres(self.session)
        ):
            for row in self.session.scalars(chunked):
                found[row.invoice_id].append(row)
        return found

    def line_figures(self, invoice_ids: Sequence[int]) -> dict[int, list[LineFigure]]:
        found: dict[int, list[LineFigure]] = {i: [] for i in invoice_ids}
        line = InvoiceLine
        query = select(
            col(line.invoice_id),
            col(line.kind),
            col(line.usage_type),
            col(line.amount_minor),
            col(line.origin_period_start),
            col(line.adjusts),
        ).order_by(col(line.invoice_id), col(line.position))
        for chunked in keyed_queries(
            query, col(line.invoice_id), invoice_ids, postgres=on_postgres(self.session)
        ):
            for invoice_id, *values in self.session.execute(chunked):
                found[invoice_id].append(LineFigure(*values))
        return found

    def usage_figures(self, invoice_ids: Sequence[int]) -> dict[int, list[UsageFigure]]:
        found: dict[int, list[UsageFigure]] = {i: [] for i in invoice_ids}
        row = InvoiceUsage
        query = select(
            col(row.invoice_id),
            col(row.id),
            col(row.usage_type),
            col(row.origin_period_start),
            col(row.charge_minor),
            col(row.cost_minor),
        ).order_by(col(row.id))
        for chunked in keyed_queries(
            query, col(row.invoice_id), invoice_ids, postgres=on_postgres(self.session)
        ):
            for invoice_id, *values in self.session.execute(chunked):
                found[invoice_id].append(UsageFigure(*values))
        return found

    def credit_note_lines(self, credit_note_ids: Sequence[int]) -> dict[int, list[CreditNoteLine]]:
        found: dict[int, list[CreditNoteLine]] = {i: [] for i in credit_note_ids}
        query = select(CreditNoteLine).order_by(
            col(CreditNoteLine.credit_note_id), col(CreditNoteLine.position)
        )
        for chunked in keyed_queries(
            query,
            col(CreditNoteLine.credit_note_id),
            credit_note_ids,
            postgres=on_postgres(self.session),
        ):
            for line in self.session.scalars(chunked):
                found[line.credit_note_id].append(line)
        return found
