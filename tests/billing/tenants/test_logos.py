"""Partner logos: checked by content, stored in the database, uploaded from the CLI or read once
from a partner file at `config apply`; nothing is ever read from a path stored or sent."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from billing.documents import render_invoice_html
from billing.invoicing.documents import invoice_document
from billing.tenants.logos import (
    MAX_LOGO_BYTES,
    InvalidLogoError,
    check_logo,
    get_logo,
    set_logo,
)
from main import app
from tests.billing.invoicing.builders import close_and_issue, last_month, send, setup_partner

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_LOGO = ROOT / "examples" / "branding" / "acme.png"
runner = CliRunner()


def image(kind: str = "PNG", size: tuple[int, int] = (40, 20)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (11, 95, 255)).save(out, kind)
    return out.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'


def test_png_and_jpeg_are_accepted_by_their_content() -> None:
    png, jpeg = check_logo(image("PNG")), check_logo(image("JPEG", (64, 48)))
    assert (png.media_type, png.width, png.height) == ("image/png", 40, 20)
    assert (jpeg.media_type, jpeg.width, jpeg.height) == ("image/jpeg", 64, 48)
    assert png.sha256 == hashlib.sha256(image("PNG")).hexdigest()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (SVG, "SVG is not accepted"),
        (b'<?xml version="1.0"?>\n' + SVG, "SVG is not accepted"),
        (image("GIF"), "a GIF image is not accepted"),
        (image("PNG")[:-40], "not a PNG or JPEG image"),  # cut short: does not decode
        (b"\x89PNG\r\n\x1a\n" + b"0" * 32, "not a PNG or JPEG image"),  # a name, not an image
        (b"<html><script>x</script></html>", "not a PNG or JPEG image"),
        (image("PNG", (5000, 10)), "5000x10 pixels; at most 4096 a side"),
        (b"", "the logo is empty"),
        (b"\x89PNG" + b"0" * MAX_LOGO_BYTES, "the limit is 1 MiB"),
    ],
)
def test_anything_else_is_refused_with_the_reason(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidLogoError, match=reason):
        check_logo(data)


def test_documents_embed_the_uploaded_logo_and_never_a_stored_path(
    session: Session, tmp_path: Path
) -> None:
    import base64

    from billing.invoicing.repository import InvoiceRepository
    from billing.tenants.models import Client, Partner
    from tests.billing.invoicing.builders import SIMPLE

    secret = tmp_path / "secret.png"
    secret.write_bytes(image("PNG", (7, 7)))
    partner = setup_partner(session, SIMPLE)
    partner.branding = {**partner.branding, "logo": str(secret), "logo_url": str(secret)}
    session.add(partner)
    session.commit()
    month = last_month()
    send(session, [("e1", "c1", "voice", "10", f"{month.isoformat()}T12:00:00+00:00")])
    invoice = next(i for i in close_and_issue(session, month) if i.client_id == "c1")
    client = session.get(Client, ("acme", "c1"))
    assert client is not None
    lines = InvoiceRepository(session).lines([invoice.invoice_id])[invoice.invoice_id]

    def html() -> str:
        return render_invoice_html(invoice_document(session, partner, client, invoice, lines))

    assert "data:image" not in html()  # the stored path is not read
    set_logo(session, "acme", EXAMPLE_LOGO.read_bytes())
    uploaded = base64.b64encode(EXAMPLE_LOGO.read_bytes()).decode()
    assert f"data:image/png;base64,{uploaded}" in html()
    assert session.get(Partner, "acme") is partner


def test_the_cli_uploads_checks_and_removes(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    runner.invoke(app, ["partners", "create", "--id", "acme", "--name", "Acme"])
    ok = runner.invoke(app, ["partners", "logo", "-p", "acme", str(EXAMPLE_LOGO)])
    assert ok.exit_code == 0, ok.output
    assert "logo of acme stored: image/png, 320x80 px" in ok.output
    assert get_logo(session, "acme") is not None
    svg = tmp_path / "logo.png"
    svg.write_bytes(SVG)  # the name does not make it a PNG
    refused = runner.invoke(app, ["partners", "logo", "-p", "acme", str(svg)])
    assert refused.exit_code == 1 and "SVG is not accepted" in refused.output
    missing = runner.invoke(app, ["partners", "logo", "-p", "acme", str(tmp_path / "nope.png")])
    assert missing.exit_code == 1 and "no such file" in missing.output
    gone = runner.invoke(app, ["partners", "logo", "-p", "acme", "--remove"])
    assert gone.exit_code == 0 and "removed" in gone.output
    session.rollback()  # a new transaction: what the command committed
    assert get_logo(session, "acme") is None


def _apply(path: Path, code: int = 0) -> str:
    result = runner.invoke(app, ["config", "apply", str(path)])
    assert result.exit_code == code, result.output
    return result.output


def test_config_apply_reads_the_partner_files_logo_once(
    engine: Engine, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example file names `branding/acme.png`, next to it: read at apply time (whatever
    the working directory), stored, and reported; the same file again changes nothing."""
    folder = tmp_path / "partner"
    shutil.copytree(ROOT / "examples", folder)
    monkeypatch.chdir(tmp_path)  # a relative logo path is the file's folder, not the cwd
    first = _apply(folder / "acme.toml")
    stored = get_logo(session, "acme")
    assert stored is not None and stored.content == EXAMPLE_LOGO.read_bytes()
    assert "branding.logo" in first
    assert "branding.logo" not in _apply(folder / "acme.toml")  # unchanged
    (folder / "branding" / "acme.png").write_bytes(image("PNG", (90, 30)))
    assert "branding.logo" in _apply(folder / "acme.toml")
    session.rollback()
    after = get_logo(session, "acme")
    assert after is not None and (after.width, after.height) == (90, 30)
    (folder / "branding" / "acme.png").unlink()
    refused = _apply(folder / "acme.toml", code=2)
    assert "partner.branding.logo:" in refused and "no such file" in refused
    text = (folder / "acme.toml").read_text()
    (folder / "acme.toml").write_text(
        text.replace('"branding/acme.png"', '"https://x.example/l.png"')
    )
    assert "a URL is never fetched" in _apply(folder / "acme.toml", code=2)


@pytest.mark.parametrize("kind", ["PNG", "JPEG"])
def test_a_file_cut_short_is_refused_even_when_pillow_would_pad_it(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # as WeasyPrint sets it
    whole = image(kind, (200, 200))
    with pytest.raises(InvalidLogoError):
        check_logo(whole[: len(whole) - 20])
    assert check_logo(whole).width == 200
