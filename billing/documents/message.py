"""The e-mail that carries a document: text and HTML alternatives, the PDF, optionally the CSV
of events, from the partner's sender to the client's billing address.

Every message a partner sends starts in `new_message`: From, To, Subject, a `Date` and a
Message-ID on the sender's own domain (mail from billing@brightline.example is identified as
`<...@brightline.example>`, which spam filters and threading expect). The Message-ID is made
there, once, and travels with the stored message through every retry, so a message delivered
twice (a timeout after the server accepted it) is recognisably the same one. `add_bodies` adds
the plain-text part and the HTML alternative with the partner's logo inline.
Names go through `email.headerregistry.Address`, which quotes and encodes them (RFC 2047) and
refuses line breaks in headers; control characters are replaced first so that a client named
"X\\r\\nBcc: ..." is a strange name, not an extra recipient.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid

from .document import InvoiceDocument
from .render import Logo, load_logo, render_email_html, render_email_text

__all__ = [
    "MAX_CSV_ATTACHMENT_BYTES",
    "MissingAddressError",
    "add_bodies",
    "build_invoice_email",
    "checked_address",
    "new_message",
]

MAX_CSV_ATTACHMENT_BYTES = 5 * 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")


class MissingAddressError(ValueError):
    """The document cannot be e-mailed: no (valid) sender or recipient address."""


def _one_line(value: str) -> str:
    return _CONTROL.sub(" ", value).strip()


def _address(value: str | None, whose: str, number: str) -> str:
    """The bare address if `value` is one a mail server will take, else MissingAddressError."""
    problem = f"{number}: {whose} has no valid e-mail address ({value!r})"
    if not value or not _ADDRESS.match(value.strip()):
        raise MissingAddressError(problem)
    try:
        return Address(addr_spec=value.strip()).addr_spec
    except (ValueError, HeaderParseError) as exc:  # e.g. "a,b@x.example"
        raise MissingAddressError(problem) from exc


def new_message(
    *, sender: str, sender_name: str, to: Sequence[Address], subject: str
) -> EmailMessage:
    """A message from `sender` (a bare address already checked) with its `Date` and a
    Message-ID on the sender's domain; names and subject cleaned of control characters."""
    message = EmailMessage(policy=SMTP)
    message["From"] = Address(_one_line(sender_name), addr_spec=sender)
    message["To"] = list(to)
    message["Subject"] = _one_line(subject)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    return message


def add_bodies(
    message: EmailMessage, text: str, html: Callable[[str | None], str], logo: Logo | None
) -> None:
    """The plain-text part, then the HTML alternative (`html(logo_cid)` renders it) with the
    logo as an inline related part when there is one."""
    domain = str(message["Message-ID"]).strip("<>").rsplit("@", 1)[-1]
    message.set_content(text)
    logo_cid = make_msgid(idstring="logo", domain=domain) if logo else None
    message.add_alternative(html(logo_cid), subtype="html")
    html_part = message.get_body(preferencelist=("html",))
    if logo is not None and logo_cid is not None and isinstance(html_part, EmailMessage):
        maintype, subtype = logo.mime_type.split("/", 1)
        html_part.add_related(logo.data, maintype, subtype, cid=logo_cid, disposition="inline")


def checked_address(value: str | None, whose: str, what: str) -> str:
    """`value` as a bare address a mail server will take, else `MissingAddressError` naming
    whose address it is and for what."""
    return _address(value, whose, what)


def build_invoice_email(
    doc: InvoiceDocument,
    pdf: bytes,
    *,
    events_csv: bytes | None = None,
) -> EmailMessage:
    """The complete message, ready for `queue_email` or a backend. The CSV is attached when
    given and no larger than `MAX_CSV_ATTACHMENT_BYTES` (a mailbox refuses larger mail; the
    full CSV stays on disk for the partner to send another way)."""
    sender = _address(doc.partner.sender_email, f"partner {doc.partner.partner_id}", doc.number)
    recipient = _address(doc.client.email, f"client {doc.client.name!r}", doc.number)
    message = new_message(
        sender=sender,
        sender_name=doc.partner.display_sender,
        to=[Address(_one_line(doc.client.name), addr_spec=recipient)],
        subject=f"{doc.title} {doc.number} from {doc.partner.name}",
    )
    add_bodies(
        message,
        render_email_text(doc),
        lambda logo_cid: render_email_html(doc, logo_cid),
        load_logo(doc.partner.logo_path),
    )

    message.add_attachment(pdf, "application", "pdf", filename=f"{doc.number}.pdf")
    if events_csv is not None and len(events_csv) <= MAX_CSV_ATTACHMENT_BYTES:
        message.add_attachment(events_csv, "text", "csv", filename=f"{doc.number}-usage.csv")
    return message
