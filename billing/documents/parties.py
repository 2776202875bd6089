"""Who a client-facing document is from and to: the partner's branding (name, logo, colour,
address, tax number, how to pay) and the client's details. Apart from `document` because these
are read from stored partners and clients, with their own checks and fallbacks, while the document
itself only holds them.

Like the document, the classes are frozen; a colour that is not `#RRGGBB` is refused (it goes
into CSS, where HTML escaping does not protect)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from billing.tenants.models import Client, Partner, PartnerLogo
from config.money import DEFAULT_LOCALE
from config.validators import check_https_url, check_locale, check_tax_id

from .formatting import address_lines

__all__ = [
    "DEFAULT_PRIMARY_COLOR",
    "ClientDetails",
    "Logo",
    "PartnerBranding",
]


DEFAULT_PRIMARY_COLOR = "#1F2937"
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
PaperSize = Literal["A4", "Letter"]


@dataclass(frozen=True, slots=True)
class Logo:
    """An image embedded in documents: bytes already checked (`billing.tenants.logos`)."""

    data: bytes
    mime_type: str

    @property
    def data_uri(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode('ascii')}"

    @classmethod
    def of(cls, stored: PartnerLogo | None) -> Logo | None:
        return None if stored is None else cls(stored.content, stored.media_type)


@dataclass(frozen=True, slots=True)
class PartnerBranding:
    """The sender of the document, as the client sees it. `logo` is the partner's uploaded
    logo; `logo_path` is for documents built in code from a file (tests, benches), never
    from anything stored or sent."""

    partner_id: str
    name: str
    sender_email: str | None = None
    sender_name: str | None = None
    logo_path: Path | None = None
    primary_color: str = DEFAULT_PRIMARY_COLOR
    address: Sequence[str] = ()
    footer: str | None = None
    paper_size: PaperSize = "A4"
    logo: Logo | None = None
    tax_id: str | None = None
    payment_instructions: Sequence[str] = ()
    pay_link: str | None = None
    locale: str = DEFAULT_LOCALE

    def __post_init__(self) -> None:
        if not _COLOR.match(self.primary_color):
            raise ValueError(f"primary_color must be #RRGGBB, got {self.primary_color!r}")
        object.__setattr__(self, "primary_color", self.primary_color.upper())
        object.__setattr__(self, "address", tuple(self.address))
        object.__setattr__(self, "payment_instructions", tuple(self.payment_instructions))
        if self.paper_size not in ("A4", "Letter"):
            raise ValueError(f"paper_size must be A4 or Letter, got {self.paper_size!r}")
        # The link is printed as a link: only https (`config.validators`), never javascript:.
        if self.pay_link is not None:
            check_https_url(self.pay_link)
        if self.tax_id is not None:
            object.__setattr__(self, "tax_id", check_tax_id(self.tax_id))
        object.__setattr__(self, "locale", check_locale(self.locale))

    @property
    def display_sender(self) -> str:
        return self.sender_name or self.name

    @classmethod
    def from_partner(cls, partner: Partner, *, logo: Logo | None = None) -> PartnerBranding:
        """Read the partner's `branding` JSON, whichever way it was written: the partner file's
        keys (`primary_color`, `sender_name`, `sender_email`, `address`) or the API's
        (`display_name`, `footer`). The logo is the one uploaded (`logo`, from
        `billing.tenants.logos`): a path or URL stored in the branding is never read or
        fetched. The tax number, payment instructions and pay link come from the branding too;
        the `locale` from the partner's settings. A stored value that no longer passes its
        check (a colour that is not `#RRGGBB`, a pay link that is not https, an unknown
        locale) is left out or falls back to the default rather than stopping an invoice run:
        documents were validated on the way in (`config.validators`)."""
        branding: Mapping[str, Any] = partner.branding or {}
        settings: Mapping[str, Any] = partner.settings or {}
        color = branding.get("primary_color")
        paper = branding.get("paper_size")
        return cls(
            partner_id=partner.id,
            name=_text(branding.get("display_name")) or partner.name,
            sender_email=_text(branding.get("sender_email")),
            sender_name=_text(branding.get("sender_name")),
            logo=logo,
            primary_color=color
            if isinstance(color, str) and _COLOR.match(color)
            else DEFAULT_PRIMARY_COLOR,
            address=address_lines(branding.get("address")),
            footer=_text(branding.get("footer")),
            paper_size="Letter" if isinstance(paper, str) and paper.lower() == "letter" else "A4",
            tax_id=_checked(check_tax_id, branding.get("tax_id")),
            payment_instructions=address_lines(_text(branding.get("payment_instructions"))),
            pay_link=_checked(check_https_url, branding.get("pay_link")),
            locale=_checked(check_locale, settings.get("locale")) or DEFAULT_LOCALE,
        )


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _checked(check: Callable[[str], str], value: object) -> str | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return check(text)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class ClientDetails:
    """The recipient: who the document is addressed to and where it is e-mailed."""

    name: str
    email: str | None = None
    address: Sequence[str] = ()
    external_ref: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", tuple(self.address))

    @classmethod
    def from_client(cls, client: Client) -> ClientDetails:
        return cls(
            name=client.name,
            email=client.billing_email,
            address=address_lines(client.address),
            external_ref=client.external_ref,
        )
