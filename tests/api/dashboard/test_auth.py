"""Sign-in, sessions, CSRF refusal, sign-out, and partner isolation (404, never 403)."""

from __future__ import annotations

import warnings

from sqlmodel import Session

from api.dashboard.session import COOKIE_NAME, decode, encode, new_session
from api.dashboard.users import authenticate, hash_password, verify_password
from tests.api.dashboard.conftest import PASSWORD, World, csrf_of, sign_in

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_passwords_are_scrypt_hashed_and_checked() -> None:
    stored = hash_password("s3cret-password")
    assert stored.startswith("scrypt$16384$8$1$") and "s3cret" not in stored
    assert verify_password("s3cret-password", stored)
    assert not verify_password("s3cret-passwore", stored)
    assert hash_password("s3cret-password") != stored  # salted


def test_a_forged_or_tampered_cookie_is_not_a_session() -> None:
    value = encode(new_session("token-a"))
    assert decode(value) is not None
    body, signature = value.split(".")
    forged = encode(new_session("token-b")).split(".")[0] + "." + signature
    assert decode(forged) is None
    assert decode(body + ".AAAA") is None
    assert decode("garbage") is None


def test_pages_need_a_sign_in(app_client: TestClient, world: World) -> None:
    response = app_client.get("/dashboard/p/acme")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/dashboard/signin?next=/dashboard/p/acme")


def test_sign_in_sets_a_hardened_cookie_and_sign_out_ends_it(
    app_client: TestClient, world: World
) -> None:
    page = app_client.get("/dashboard/signin")
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/dashboard" in cookie
    wrong = app_client.post(
        "/dashboard/signin",
        data={
            "email": "ann@acme.example",
            "password": "nope-nope-nope",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert wrong.status_code == 401 and "wrong" in wrong.text
    token = sign_in(app_client, "ann@acme.example")
    assert app_client.get("/dashboard").headers["location"] == "/dashboard/p/acme"
    assert app_client.get("/dashboard/p/acme").status_code == 200
    out = app_client.post("/dashboard/signout", data={"csrf_token": token})
    assert out.status_code == 303
    assert app_client.get("/dashboard/p/acme").status_code == 303


def test_sign_out_ends_the_session_on_the_server(
    app_client: TestClient, world: World, session: Session
) -> None:
    from sqlmodel import select

    from api.dashboard.models import DashboardSession

    token = sign_in(app_client, "ann@acme.example")
    copied = app_client.cookies[COOKIE_NAME]
    [stored] = session.exec(select(DashboardSession)).all()
    assert decode(copied).token not in stored.token_hash  # type: ignore[union-attr, operator]
    assert len(stored.token_hash) == 64 and stored.revoked_at is None
    app_client.post("/dashboard/signout", data={"csrf_token": token})
    thief = TestClient(app_client.app, follow_redirects=False)
    thief.cookies.set(COOKIE_NAME, copied, path="/dashboard")
    assert thief.get("/dashboard/p/acme").status_code == 303
    session.rollback()
    assert session.exec(select(DashboardSession)).one().revoked_at is not None


def test_posts_without_a_valid_csrf_token_are_refused(app_client: TestClient, world: World) -> None:
    token = sign_in(app_client, "op@rebill.example")
    for data in ({}, {"csrf_token": "forged"}, {"csrf_token": token + "x"}):
        response = app_client.post("/dashboard/p/acme/invoices/approve", data=data)
        assert response.status_code == 403
        assert app_client.post("/dashboard/signout", data=data).status_code == 403
    fresh = TestClient(app_client.app, follow_redirects=False)
    refused = fresh.post(
        "/dashboard/signin",
        data={"email": "op@rebill.example", "password": PASSWORD, "csrf_token": "x"},
    )
    assert refused.status_code == 403


def test_a_partner_user_gets_404_for_another_partner(
    app_client: TestClient, world: World, session: Session
) -> None:
    from sqlmodel import select

    from billing.invoicing.models import Invoice

    globex_invoice = session.exec(select(Invoice).where(Invoice.partner_id == "globex")).first()
    assert globex_invoice is not None
    sign_in(app_client, "ann@acme.example")
    for path in (
        "/dashboard/p/globex",
        "/dashboard/p/globex/invoices",
        "/dashboard/p/globex/usage",
        "/dashboard/p/globex/usage.csv",
        "/dashboard/p/globex/sync",
        "/dashboard/p/globex/clients/c1",
        f"/dashboard/p/globex/invoices/{globex_invoice.id}",
        f"/dashboard/p/acme/invoices/{globex_invoice.id}",
        f"/dashboard/p/acme/invoices/{globex_invoice.id}/lines/1",
        "/dashboard/p/nosuch",
        "/dashboard/switch?partner=globex",
    ):
        response = app_client.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"detail": "Not Found"}  # same as a path that never existed
    assert app_client.get("/dashboard/partners").headers["location"] == "/dashboard/p/acme"


def test_the_operator_sees_every_partner(app_client: TestClient, world: World) -> None:
    sign_in(app_client, "op@rebill.example")
    listing = app_client.get("/dashboard/partners")
    assert "Globex" in listing.text and "Acme AI Agency" in listing.text
    assert app_client.get("/dashboard/p/globex").status_code == 200
    switched = app_client.get("/dashboard/switch", params={"partner": "globex"})
    assert switched.headers["location"] == "/dashboard/p/globex"


def test_a_disabled_user_is_signed_out_at_once(
    app_client: TestClient, world: World, session: Session
) -> None:
    from api.dashboard.models import DashboardUser

    sign_in(app_client, "ann@acme.example")
    user = authenticate(session, "ann@acme.example", PASSWORD)
    assert user is not None
    stored = session.get(DashboardUser, user.id)
    assert stored is not None
    stored.disabled = True
    session.add(stored)
    session.commit()
    assert app_client.get("/dashboard/p/acme").status_code == 303
    assert COOKIE_NAME in app_client.cookies


def test_sign_in_attempts_are_limited(app_client: TestClient, world: World) -> None:
    page = app_client.get("/dashboard/signin")
    token = csrf_of(page.text)
    codes = [
        app_client.post(
            "/dashboard/signin",
            data={
                "email": "gus@globex.example",
                "password": f"wrong-{n}-xxxxx",
                "csrf_token": token,
            },
        ).status_code
        for n in range(11)
    ]
    assert codes[:10] == [401] * 10 and codes[10] == 429


def test_sign_in_only_returns_to_dashboard_pages(app_client: TestClient, world: World) -> None:
    for target, landing in (
        ("https://evil.example/", "/dashboard"),
        ("//evil.example/dashboard", "/dashboard"),
        ("/dashboard/p/acme/usage", "/dashboard/p/acme/usage"),
    ):
        fresh = TestClient(app_client.app, follow_redirects=False)
        page = fresh.get("/dashboard/signin", params={"next": target})
        done = fresh.post(
            "/dashboard/signin",
            data={
                "email": "ann@acme.example",
                "password": PASSWORD,
                "csrf_token": csrf_of(page.text),
                "next": target,
            },
        )
        assert done.headers["location"] == landing


def test_a_sign_in_with_text_no_database_can_store_is_refused_not_a_crash(
    app_client: TestClient, world: World
) -> None:
    page = app_client.get("/dashboard/signin")
    answer = app_client.post(
        "/dashboard/signin",
        data={
            "email": "ann@acme.example\x00",
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
        },
    )
    assert answer.status_code < 500
    assert "set-cookie" not in {k.lower() for k in answer.headers}
