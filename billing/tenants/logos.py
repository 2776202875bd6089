"""Partner logos: uploaded (API, CLI, or a partner file at `config apply`), checked by their
content and stored in the database. Nothing is ever read from a path a request names.

A logo is accepted when its bytes are a PNG or a JPEG image that decodes whole, at most
`MAX_LOGO_BYTES` and `MAX_LOGO_SIDE` pixels a side; the file name and declared type are not
trusted. SVG is refused: it is a document, not a picture, and may carry scripts, external
references and styles that run or fetch when a browser or a PDF renderer opens it; sanitising
it safely means parsing and rewriting XML against an allow-list, more risk than a partner
gains over a PNG. GIF and WebP are left out because some e-mail clients show them poorly.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from billing.tenants.errors import TenantError
from billing.tenants.models import PartnerLogo
from billing.tenants.repository import TenantRepository
from billing.tenants.service import get_partner
from config.db_types import utcnow

__all__ = [
    "LOGO_TYPES",
    "MAX_LOGO_BYTES",
    "MAX_LOGO_SIDE",
    "CheckedLogo",
    "InvalidLogoError",
    "check_logo",
    "get_logo",
    "read_logo_file",
    "remove_logo",
    "set_logo",
]

MAX_LOGO_BYTES = 1024 * 1024
MAX_LOGO_SIDE = 4096
LOGO_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}


class InvalidLogoError(TenantError):
    """The bytes are not a logo Rebill accepts; the message says why."""


@dataclass(frozen=True, slots=True)
class CheckedLogo:
    media_type: str
    width: int
    height: int
    sha256: str


def _sniff_text(data: bytes) -> str | None:
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml", b"<!doctype svg")) or b"<svg" in head:
        return (
            "SVG is not accepted: it can carry scripts and external references; "
            "upload a PNG or JPEG"
        )
    return None


def _whole(data: bytes, kind: str) -> None:
    """A file cut short is refused whatever Pillow's global `LOAD_TRUNCATED_IMAGES` says
    (another library may set it): a PNG's chunks and checksums are verified to its end, a
    JPEG must end with its end-of-image marker."""
    from PIL import Image

    if kind == "PNG":
        with Image.open(io.BytesIO(data)) as again:
            again.verify()
    elif not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise InvalidLogoError("the JPEG is cut short (no end-of-image marker)")


def check_logo(data: bytes) -> CheckedLogo:
    """What the bytes are, or `InvalidLogoError` with the reason."""
    if not data:
        raise InvalidLogoError("the logo is empty: upload a PNG or JPEG file")
    if len(data) > MAX_LOGO_BYTES:
        raise InvalidLogoError(f"the logo is {len(data):,} bytes; the limit is 1 MiB")
    refused = _sniff_text(data)
    if refused is not None:
        raise InvalidLogoError(refused)
    from PIL import Image  # Pillow comes with WeasyPrint; imported only when a logo is checked

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind = image.format or ""
                width, height = image.size
                if kind not in LOGO_TYPES:
                    raise InvalidLogoError(
                        f"a {kind or 'file'} image is not accepted: upload a PNG or JPEG"
                    )
                if not (0 < width <= MAX_LOGO_SIDE and 0 < height <= MAX_LOGO_SIDE):
                    raise InvalidLogoError(
                        f"the logo is {width}x{height} pixels; at most {MAX_LOGO_SIDE} a side"
                    )
                image.load()  # decodes every pixel: a corrupt file fails here
        _whole(data, kind)
    except InvalidLogoError:
        raise
    except Exception as exc:  # Pillow raises many kinds for bytes that are not an image
        raise InvalidLogoError("not a PNG or JPEG image Rebill can read") from exc
    return CheckedLogo(LOGO_TYPES[kind], width, height, hashlib.sha256(data).hexdigest())


def read_logo_file(path: Path) -> bytes:
    """The bytes of a logo file on the operator's disk (CLI, `config apply`), read at most
    one byte past the limit; `InvalidLogoError` saying what is wrong with the file."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_LOGO_BYTES + 1)
    except FileNotFoundError as exc:
        raise InvalidLogoError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise InvalidLogoError(f"{path}: is a directory, not an image file") from exc
    except OSError as exc:
        raise InvalidLogoError(f"{path}: cannot be read ({exc.strerror})") from exc
    return data


def set_logo(session: Session, partner_id: str, data: bytes) -> PartnerLogo:
    """Check and store (or replace) the partner's logo."""
    get_partner(session, partner_id)
    checked = check_logo(data)
    repo = TenantRepository(session)
    row = repo.logo(partner_id)
    if row is None:
        row = PartnerLogo(
            partner_id=partner_id,
            media_type=checked.media_type,
            content=data,
            sha256=checked.sha256,
            width=checked.width,
            height=checked.height,
        )
    else:
        row.media_type, row.content, row.sha256 = checked.media_type, data, checked.sha256
        row.width, row.height, row.uploaded_at = checked.width, checked.height, utcnow()
    return repo.add(row)


def get_logo(session: Session, partner_id: str) -> PartnerLogo | None:
    return TenantRepository(session).logo(partner_id)


def remove_logo(session: Session, partner_id: str) -> bool:
    """True when there was a logo to remove."""
    get_partner(session, partner_id)
    return TenantRepository(session).delete_logo(partner_id)
