"""Every kind of difference a reconciliation reports, in words: its heading, what it means and
what to do about it. The report, the dashboard and `docs/reconciliation.md` say the same
thing because they read it from here (a test checks the page lists every kind).

`money` is False for kinds about quantities, dates or reachability: no amount is put on them,
so the report shows no "at stake" figure rather than a misleading 0.00."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KINDS", "SEVERITY_WORDS", "KindText", "kind_text"]


@dataclass(frozen=True, slots=True)
class KindText:
    title: str
    meaning: str
    what_to_do: str
    money: bool = True


SEVERITY_WORDS = {"error": "Error", "warning": "Warning", "info": "Note"}

KINDS: dict[str, KindText] = {
    "missing_there": KindText(
        "Invoice missing in the accounting system",
        "An invoice Rebill issued is not in the accounting system: it never arrived, or "
        "someone deleted it there.",
        "Send it again with the fix command. Rebill looks it up by number first, so a copy "
        "that is still there is adopted, never duplicated.",
    ),
    "extra_there": KindText(
        "Invoice only in the accounting system",
        "The accounting system holds an invoice, dated in the days this period's invoices were "
        "issued, that Rebill did not raise.",
        "Check that it was meant to be entered by hand. If it copies one of Rebill's invoices, "
        "void it there.",
    ),
    "duplicated_there": KindText(
        "Invoice entered twice in the accounting system",
        "The accounting system holds more than one invoice with this number.",
        "Void the extra copy there and keep the one Rebill sent (the one its payments are on).",
    ),
    "amount_mismatch": KindText(
        "Different total in the accounting system",
        "The invoice's total there is not the total Rebill issued: it was edited after it was "
        "sent.",
        "Put the total back to Rebill's there (the client was billed Rebill's). If Rebill's "
        "is wrong, issue a credit note in Rebill instead; it reaches the accounting system too.",
    ),
    "currency_mismatch": KindText(
        "Different currency in the accounting system",
        "The invoice is in another currency there.",
        "Delete it there: the next reconciliation reports it missing, and the fix command "
        "sends it again in the right currency.",
    ),
    "date_mismatch": KindText(
        "Different invoice date in the accounting system",
        "The invoice is dated differently there, so it may fall in another accounting period.",
        "Correct the date there to Rebill's issue date.",
        money=False,
    ),
    "customer_mismatch": KindText(
        "Invoice booked to another customer",
        "The invoice is on another customer there than the one Rebill linked to this client.",
        "Move the invoice to the right customer there.",
    ),
    "status_mismatch": KindText(
        "Different status in the accounting system",
        "The invoice is void or paid there but not in Rebill.",
        "A payment entered there (a bank transfer, a cheque) is brought into Rebill by the fix "
        "command. An invoice voided there by mistake must be restored there; if it should be "
        "void, void it in Rebill.",
    ),
    "payment_mismatch": KindText(
        "Different amount paid",
        "The amount paid on the invoice differs between Rebill and the accounting system.",
        "A payment that is only there is brought into Rebill by the fix command; one that is "
        "only in Rebill is sent there by the sync worker (check the outbox if it is stuck).",
    ),
    "system_unreadable": KindText(
        "Could not read the system",
        "Rebill could not list the system's invoices, so nothing was compared with it.",
        "Follow the reason given: reconnect the system if access was refused; if it could not "
        "be reached, run the reconciliation again later.",
        money=False,
    ),
    "usage_not_invoiced": KindText(
        "Usage not invoiced",
        "Usage events that were there when the invoice was issued are not all on it.",
        "Open the invoice and its usage in the dashboard; if usage is missing, void the "
        "invoice and bill the period again.",
        money=False,
    ),
    "usage_invoiced_without_events": KindText(
        "Usage invoiced without its events",
        "The invoice bills more usage than the events now stored for its period.",
        "Look for corrected (negative adjustment) events; if the client was billed too much, "
        "issue a credit note.",
        money=False,
    ),
    "late_events_pending": KindText(
        "Late usage, billed on the next invoice",
        "Usage events arrived after the period's invoice was issued.",
        "Nothing to do: they are billed on the client's next invoice as a prior-period adjustment.",
        money=False,
    ),
    "not_in_ledger": KindText(
        "Invoice not in the books",
        "An issued invoice has no journal entry in Rebill's ledger.",
        "Report it to whoever runs Rebill: the books must be corrected with the missing entry.",
    ),
    "ledger_receivable_mismatch": KindText(
        "Receivable in the books differs from the invoice",
        "The accounts receivable posted for the invoice is not its total.",
        "Report it to whoever runs Rebill: a reversing entry corrects the books.",
    ),
    "ledger_revenue_mismatch": KindText(
        "Revenue in the books differs from the invoice",
        "The revenue posted for the invoice (net of its discount) is not its total less tax.",
        "Report it to whoever runs Rebill: a reversing entry corrects the books.",
    ),
    "ledger_cost_mismatch": KindText(
        "Wholesale cost in the books differs from the invoice",
        "The wholesale cost posted for the invoice is not the cost of its usage.",
        "Report it to whoever runs Rebill: a reversing entry corrects the books.",
    ),
    "payments_vs_invoice_paid": KindText(
        "Payments recorded differ from the amount paid on the invoice",
        "The payments Rebill recorded for the invoice do not add up to what the invoice says "
        "was paid.",
        "Find the payment missing on one side (the client's bank statement, Stripe) and "
        "record or reverse it.",
    ),
    "stripe_charge_without_payment": KindText(
        "Stripe charge without a payment in Rebill",
        "Stripe took the money but Rebill recorded no payment (or another amount) for it.",
        "Replay the charge's webhook from the Stripe dashboard, or record the payment by hand "
        "with the charge's id.",
    ),
    "wholesale_cost_mismatch": KindText(
        "Platform bill differs from the computed cost",
        "The platform bills a different amount for a usage type than Rebill computed from the "
        "usage events and the wholesale rate.",
        "Check the wholesale rate in the partner file and ask the platform about missing or "
        "duplicated events.",
    ),
}


def kind_text(kind: str) -> KindText:
    """The words for `kind`; a kind this version does not know reads as its own name."""
    found = KINDS.get(kind)
    if found is not None:
        return found
    words = kind.replace("_", " ")
    return KindText(words[:1].upper() + words[1:], "", "")
