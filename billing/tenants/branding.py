"""What a partner's branding may say: the keys documents and e-mails print (display name,
colour, footer, tax number, payment instructions, pay link), checked on the way in. Apart from
`schemas` because the logo rules are their own: a logo is uploaded, never named by a path or URL
that documents would read or fetch.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from config import validators
from config.text import CheckedInput

__all__ = ["Branding"]

_UPLOAD_LOGO = (
    "the logo is uploaded, not named: PUT /v1/partners/{id}/logo, `partners logo`, or "
    "branding.logo in a partner file (read at `config apply`)"
)


def _logo_url(value: str) -> str:
    if not value.startswith(("https://", "http://")) or len(value) > 500:
        raise ValueError(f"must be an http(s) URL (a link only, never fetched); {_UPLOAD_LOGO}")
    return value


class Branding(CheckedInput):
    """Free-form beyond these keys: invoice templates may read more. `logo_url` is a link kept
    for the partner's own use; documents show only the uploaded logo."""

    model_config = ConfigDict(extra="allow")

    display_name: validators.Name | None = None
    logo_url: Annotated[validators.Line, AfterValidator(_logo_url)] | None = None
    primary_color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    footer: validators.DocumentText | None = Field(
        default=None, description="Printed at the foot of invoices, credit notes and e-mails."
    )
    tax_id: validators.TaxId | None = Field(
        default=None, description="The partner's tax/VAT registration number, printed."
    )
    payment_instructions: validators.DocumentText | None = Field(
        default=None, description="How to pay (bank details), printed on invoices."
    )
    pay_link: validators.HttpsUrl | None = Field(
        default=None, description="An https link where the client pays, printed on invoices."
    )

    @model_validator(mode="before")
    @classmethod
    def _no_logo_paths(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in ("logo", "logo_path"):
                if key in data:
                    raise ValueError(f"{key}: {_UPLOAD_LOGO}")
        return data
