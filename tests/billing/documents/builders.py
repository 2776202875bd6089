"""Documents, a rated statement and mail servers for the documents tests."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from billing.documents import (
    ClientDetails,
    DocumentKind,
    DocumentLine,
    DocumentLineKind,
    InvoiceDocument,
    PartnerBranding,
    TaxDetails,
)

D = Decimal
K = DocumentLineKind

# A 1x1 transparent PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def branding(**overrides: Any) -> PartnerBranding:
    values: dict[str, Any] = {
        "partner_id": "acme",
        "name": "Acme AI",
        "sender_email": "billing@acme.example",
        "sender_name": "Acme AI Billing",
        "primary_color": "#0B5FFF",
        "address": ("1 Main St", "Springfield"),
    }
    values.update(overrides)
    return PartnerBranding(**values)


def usd_lines() -> list[DocumentLine]:
    return [
        DocumentLine(K.BASE_FEE, "Growth plan: base fee", D(1), D("49"), 4900),
        DocumentLine(
            K.USAGE,
            "Voice AI minutes",
            D("1000"),
            D("0.15"),
            15000,
            "voice_minutes",
            "minute",
            "Tier 1: up to 1,000",
        ),
        DocumentLine(
            K.USAGE,
            "Voice AI minutes",
            D("234.50"),
            D("0.125"),
            2931,
            "voice_minutes",
            "minute",
            "Tier 2: 1,001 to 5,000",
        ),
        DocumentLine(K.INCLUDED, "SMS messages: included", D("500"), D("0"), 0, "sms", "message"),
        DocumentLine(
            K.OVERAGE, "SMS messages: overage", D("120"), D("0.02"), 240, "sms", "message"
        ),
        DocumentLine(K.DISCOUNT, "Discount 10%", D(1), D("-23.07"), -2307),
        DocumentLine(K.TAX, "VAT", D(1), D("41.53"), 4153),
    ]


def invoice(**overrides: Any) -> InvoiceDocument:
    values: dict[str, Any] = {
        "kind": DocumentKind.INVOICE,
        "number": "ACME-000042",
        "status": "issued",
        "issue_date": date(2026, 11, 1),
        "due_date": date(2026, 12, 1),
        "period_start": date(2026, 10, 1),
        "period_end": date(2026, 10, 31),
        "currency": "USD",
        "partner": branding(),
        "client": ClientDetails(
            "Bistro Ltd", "ap@bistro.example", ("2 Side St", "Shelbyville"), "CUST-9"
        ),
        "lines": usd_lines(),
        "tax": TaxDetails("VAT", D("20")),
        "net_days": 30,
    }
    values.update(overrides)
    return InvoiceDocument(**values)


def with_client(doc: InvoiceDocument, **changes: Any) -> InvoiceDocument:
    return replace(doc, client=replace(doc.client, **changes))


# --- mail servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps what it receives; optionally refuses recipients."""

    refuse_rcpt: str | None = None
    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        await asyncio.sleep(0)
        return "250 Message accepted"


class Passwords:
    def __init__(self, user: str, password: str) -> None:
        self.expected = (user.encode(), password.encode())

    def __call__(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword) and (data.login, data.password) == self.expected:
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def client_tls(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))
