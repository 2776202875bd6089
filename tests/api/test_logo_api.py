"""Logos over the API: uploaded by an admin key, checked by content, served as exactly what
they are; `branding` can no longer name a file on the server."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Keys
from tests.billing.tenants.test_logos import SVG, image

EXAMPLE_LOGO = Path(__file__).resolve().parents[2] / "examples" / "branding" / "acme.png"


def test_upload_read_and_remove(api: TestClient, keys: Keys) -> None:
    data = EXAMPLE_LOGO.read_bytes()
    answer = api.put("/v1/partners/acme/logo", content=data, headers=Keys.header(keys.acme_admin))
    assert answer.status_code == 200, answer.text
    assert {k: answer.json()[k] for k in ("media_type", "width", "height", "size")} == {
        "media_type": "image/png",
        "width": 320,
        "height": 80,
        "size": len(data),
    }
    served = api.get("/v1/partners/acme/logo", headers=Keys.header(keys.acme_admin))
    assert served.content == data and served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"] == "default-src 'none'"
    assert api.get("/v1/partners/acme/logo", headers=Keys.header(keys.platform)).content == data
    replaced = api.put(
        "/v1/partners/acme/logo", content=image("JPEG"), headers=Keys.header(keys.acme_admin)
    )
    assert replaced.json()["media_type"] == "image/jpeg"
    removed = api.delete("/v1/partners/acme/logo", headers=Keys.header(keys.acme_admin))
    assert removed.status_code == 204
    gone = api.get("/v1/partners/acme/logo", headers=Keys.header(keys.acme_admin))
    assert gone.status_code == 404


def test_only_this_partners_admin_key_uploads(api: TestClient, keys: Keys) -> None:
    data = EXAMPLE_LOGO.read_bytes()
    for key, status in ((keys.acme_read, 403), (keys.acme, 403), (keys.globex_admin, 404)):
        answer = api.put("/v1/partners/acme/logo", content=data, headers=Keys.header(key))
        assert answer.status_code == status, answer.text
    assert (
        api.get("/v1/partners/acme/logo", headers=Keys.header(keys.acme_admin)).status_code == 404
    )


@pytest.mark.parametrize(
    ("data", "status", "reason"),
    [
        (SVG, 400, "SVG is not accepted"),
        (image("GIF"), 400, "a GIF image is not accepted"),
        (b"\x89PNG\r\n\x1a\n" + b"0" * 64, 400, "not a PNG or JPEG image"),
        (b"\x89PNG" + b"0" * (2 * 1024 * 1024), 413, "larger than 1 MiB"),
    ],
)
def test_what_is_not_a_logo_is_refused(
    api: TestClient, keys: Keys, data: bytes, status: int, reason: str
) -> None:
    answer = api.put("/v1/partners/acme/logo", content=data, headers=Keys.header(keys.acme_admin))
    assert answer.status_code == status
    assert reason in answer.json()["detail"]


def test_a_streamed_upload_stops_at_the_limit(api: TestClient, keys: Keys) -> None:
    pieces = iter([b"\x89PNG", b"0" * (1024 * 1024), b"0" * 1024])
    answer = api.put("/v1/partners/acme/logo", content=pieces, headers=Keys.header(keys.acme_admin))
    assert answer.status_code == 413


@pytest.mark.parametrize(
    ("branding", "message"),
    [
        ({"logo": "/etc/passwd.png"}, "logo: the logo is uploaded, not named"),
        ({"logo_path": "branding/acme.png"}, "logo_path: the logo is uploaded, not named"),
        ({"logo_url": "/var/lib/rebill/x.png"}, "must be an http(s) URL"),
        ({"logo_url": "file:///etc/passwd"}, "must be an http(s) URL"),
    ],
)
def test_branding_cannot_point_at_server_files(
    api: TestClient, keys: Keys, branding: dict[str, str], message: str
) -> None:
    answer = api.patch(
        "/v1/partners/acme", json={"branding": branding}, headers=Keys.header(keys.acme_admin)
    )
    assert answer.status_code == 422
    assert message in answer.text
    ok = api.patch(
        "/v1/partners/acme",
        json={"branding": {"logo_url": "https://cdn.example/l.png"}},
        headers=Keys.header(keys.acme_admin),
    )
    assert ok.status_code == 200
