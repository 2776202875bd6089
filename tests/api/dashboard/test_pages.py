"""The pages' figures against the JSON API, approving drafts, the dispute pack, CSV exports."""

from __future__ import annotations

import csv
import io
import re
import warnings

from sqlmodel import Session, select

from api.dashboard.figures import month_end
from billing.invoicing.models import Invoice, InvoiceStatus
from tests.api.dashboard.conftest import World, sign_in

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def h(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def minor(html: str, test_id: str) -> int:
    found = re.search(rf'data-testid="{test_id}" data-minor="(-?\d+)"', html)
    assert found, test_id
    return int(found.group(1))


def rows(html: str, test_id: str) -> dict[str, tuple[int, int, int]]:
    """key -> (charge, cost, margin) of a margin table on the page (its columns: charge, of it
    unbilled, cost, margin)."""
    table = html.split(f'data-testid="{test_id}"', 1)[1].split("</table>", 1)[0]
    found = {}
    for key, body in re.findall(r'data-key="([^"]+)">(.*?)</tr>', table, re.S):
        values = [int(v) for v in re.findall(r'data-minor="(-?\d+)"', body)]
        found[key] = (values[0], values[2], values[3])
    return found


def test_portfolio_figures_equal_the_json_api(app_client: TestClient, world: World) -> None:
    sign_in(app_client, "ann@acme.example")
    for first in (world.last, world.earlier):
        period = f"{first:%Y-%m}"
        page = app_client.get("/dashboard/p/acme", params={"period": period})
        assert page.status_code == 200
        params = {"from": first.isoformat(), "to": month_end(first).isoformat()}
        api = app_client.get("/v1/margins", params=params, headers=h(world.keys["acme"])).json()
        [total] = api["totals"]
        assert total["charge"] > 0
        assert minor(page.text, "revenue") == total["charge"]
        assert minor(page.text, "cost") == total["cost"]
        assert minor(page.text, "margin") == total["margin"]
        assert f"{total['margin_percent']}%" in page.text
        by_client = {r["key"]: (r["charge"], r["cost"], r["margin"]) for r in api["rows"]}
        assert rows(page.text, "clients") == by_client
        typed = app_client.get(
            "/v1/margins",
            params={**params, "group_by": "usage_type"},
            headers=h(world.keys["acme"]),
        ).json()
        assert rows(page.text, "usage-types") == {
            r["key"]: (r["charge"], r["cost"], r["margin"]) for r in typed["rows"]
        }


def test_portfolio_alerts_and_trend(app_client: TestClient, world: World) -> None:
    sign_in(app_client, "ann@acme.example")
    page = app_client.get("/dashboard/p/acme", params={"period": f"{world.last:%Y-%m}"}).text
    flagged = page.split('data-testid="flagged"', 1)[1].split("</ul>", 1)[0]
    # c1: 450 minutes at 0.10 + base fee 20.00 = 65.00 for 18.00 of cost: 72.31% < 75%;
    # c2: 20 minutes + base fee = 22.00 for 0.80: 96.36%.
    assert "/clients/c1" in flagged and "/clients/c2" not in flagged
    assert "72.31%" in flagged
    falls = page.split('data-testid="falls"', 1)[1].split("</ul>", 1)[0]
    assert "/clients/c2" in falls and "/clients/c1" not in falls  # c2 used less than before
    assert "<svg" in page and f"{world.earlier:%Y-%m}" in page
    assert app_client.get("/dashboard/p/acme", params={"period": "2026-13"}).status_code == 400


def test_client_page_shows_live_figures_like_the_api(
    app_client: TestClient, world: World, session: Session
) -> None:
    from datetime import UTC, datetime

    from billing.payments import PaymentSource, record_payment

    issued = session.exec(select(Invoice).where(Invoice.number == "ACME-000001")).one()
    record_payment(
        session,
        partner_id="acme",
        invoice_id=issued.invoice_id,
        amount_minor=1000,
        currency="USD",
        source=PaymentSource.MANUAL,
        external_id="chq-1",
        received_at=datetime.now(UTC),
        reference="cheque 0042",
    )
    session.commit()
    sign_in(app_client, "ann@acme.example")
    page = app_client.get("/dashboard/p/acme/clients/c1")
    assert page.status_code == 200
    live = app_client.get("/v1/clients/c1/usage/current", headers=h(world.keys["acme"])).json()
    assert minor(page.text, "client-total") == live["total"] > 0
    assert "Standard" in page.text and "Not set up" in page.text
    payments = page.text.split('data-testid="payments"', 1)[1].split("</table>", 1)[0]
    assert "cheque 0042" in payments and "10.00 USD" in payments and "ACME-000001" in payments
    assert "10.00 USD paid, 23.00 USD due" in page.text
    assert ">7<" in page.text  # the quantity, without trailing zeros
    assert app_client.get("/dashboard/p/acme/clients/nosuch").status_code == 404


def test_approving_drafts_issues_them(
    app_client: TestClient, world: World, session: Session
) -> None:
    token = sign_in(app_client, "ann@acme.example")
    page = app_client.get("/dashboard/p/acme/invoices").text
    drafts = session.exec(
        select(Invoice).where(Invoice.partner_id == "acme", Invoice.status == InvoiceStatus.DRAFT)
    ).all()
    assert len(drafts) == 2 and all(f'data-invoice="{d.id}"' in page for d in drafts)
    assert 'data-testid="change"' in page
    done = app_client.post(
        "/dashboard/p/acme/invoices/approve",
        data={"csrf_token": token, "invoice": [str(d.id) for d in drafts]},
    )
    assert done.status_code == 303 and "issued=ACME-000003" in done.headers["location"]
    session.rollback()
    for draft in drafts:
        stored = session.get(Invoice, draft.id)
        assert stored is not None and stored.status is InvoiceStatus.ISSUED
        assert stored.approved_by == "dashboard:ann@acme.example"
    after = app_client.get(done.headers["location"]).text
    assert "No drafts" in after and "ACME-000004" in after
    pdf = app_client.get(f"/dashboard/p/acme/invoices/{drafts[0].id}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_approving_another_partners_invoice_is_404(
    app_client: TestClient, world: World, session: Session
) -> None:
    token = sign_in(app_client, "ann@acme.example")
    theirs = session.exec(select(Invoice).where(Invoice.partner_id == "globex")).first()
    assert theirs is not None
    response = app_client.post(
        "/dashboard/p/acme/invoices/approve", data={"csrf_token": token, "invoice": [theirs.id]}
    )
    assert response.status_code == 404
    session.rollback()
    assert session.get(Invoice, theirs.id).status is InvoiceStatus.DRAFT  # type: ignore[union-attr]


def test_from_an_invoice_line_to_its_events_and_their_csv(
    app_client: TestClient, world: World, session: Session
) -> None:
    sign_in(app_client, "ann@acme.example")
    draft = session.exec(
        select(Invoice).where(
            Invoice.partner_id == "acme",
            Invoice.client_id == "c1",
            Invoice.period_start == world.last,
        )
    ).one()
    invoice = app_client.get(f"/dashboard/p/acme/invoices/{draft.id}").text
    link = re.search(r'href="([^"]+/lines/(\d+))" data-testid="line-events-\d+"', invoice)
    assert link, invoice
    line = app_client.get(link.group(1)).text
    # Event ids as the table shows them (a bare "l3" also occurs in random CSRF tokens).
    assert ">l1<" in line and ">l2<" in line and ">l3<" not in line and "adds up" in line
    exported = app_client.get(link.group(1) + "/events.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["event_id"], r["quantity"]) for r in table] == [("l1", "300"), ("l2", "150")]
    assert sum(int(r["wholesale_cost_minor"]) for r in table) == 1800


def test_usage_drill_down_pages_and_exports(app_client: TestClient, world: World) -> None:
    sign_in(app_client, "ann@acme.example")
    period = f"{world.last:%Y-%m}"
    page = app_client.get("/dashboard/p/acme/usage", params={"client": "c1", "period": period})
    assert page.status_code == 200
    assert ">l1<" in page.text and ">l2<" in page.text and ">l3<" not in page.text
    exported = app_client.get(
        "/dashboard/p/acme/usage.csv", params={"client": "c1", "period": period}
    )
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted((r["event_id"], r["client"], r["quantity"]) for r in table) == [
        ("l1", "c1", "300"),
        ("l2", "c1", "150"),
    ]
    everything = app_client.get("/dashboard/p/acme/usage.csv", params={"period": "all"}).text
    assert {r["event_id"] for r in csv.DictReader(io.StringIO(everything))} == {
        "e1",
        "e2",
        "l1",
        "l2",
        "l3",
        "n1",
    }
    assert app_client.get("/dashboard/p/acme/usage", params={"cursor": "!!"}).status_code == 400


def test_usage_pages_through_events(app_client: TestClient, world: World, session: Session) -> None:
    from tests.billing.invoicing.builders import at, send

    send(session, [(f"p{n:03}", "c2", "voice", "1", at(world.last, 9)) for n in range(60)])
    sign_in(app_client, "ann@acme.example")
    query = {"client": "c2", "period": f"{world.last:%Y-%m}"}
    first = app_client.get("/dashboard/p/acme/usage", params=query).text
    assert first.count('<tr><th scope="row">') == 50
    cursor = re.search(r'cursor=([^"&]+)" rel="next"', first)
    assert cursor
    second = app_client.get(
        f"/dashboard/p/acme/usage?client=c2&period={query['period']}&cursor={cursor.group(1)}"
    ).text
    assert second.count('<tr><th scope="row">') == 11 and 'rel="next"' not in second


def test_sync_page_without_connections_says_so(app_client: TestClient, world: World) -> None:
    sign_in(app_client, "ann@acme.example")
    page = app_client.get("/dashboard/p/acme/sync").text
    assert 'data-testid="no-connections"' in page
    assert 'data-testid="no-reconciliation"' in page


def test_every_page_renders_for_a_partner_with_nothing_yet(
    app_client: TestClient, world: World, session: Session
) -> None:
    from tests.billing.factories import make_partner

    make_partner(session, "fresh", clients=("solo",))
    sign_in(app_client, "op@rebill.example")
    for path in ("", "/invoices", "/usage", "/usage?period=all", "/sync", "/clients/solo"):
        response = app_client.get(f"/dashboard/p/fresh{path}")
        assert response.status_code == 200, (path, response.text[-500:])
    assert "Nothing was charged" in app_client.get("/dashboard/p/fresh").text


def test_pages_are_branded_and_not_frameable(
    app_client: TestClient, world: World, session: Session, tmp_path: object
) -> None:
    from pathlib import Path

    from billing.tenants.logos import set_logo
    from billing.tenants.models import Partner

    logo = Path(__file__).resolve().parents[3] / "examples" / "branding" / "acme.png"
    partner = session.get(Partner, "acme")
    assert partner is not None
    # a path in the branding is never read; the uploaded logo is what the pages show
    partner.branding = {**partner.branding, "primary_color": "#FFD500", "logo": "/etc/hostname"}
    session.add(partner)
    set_logo(session, "acme", logo.read_bytes())
    session.commit()
    sign_in(app_client, "ann@acme.example")
    page = app_client.get("/dashboard/p/acme")
    assert "--brand: #FFD500; --brand-text: #000000" in page.text  # dark text on yellow
    assert "Acme Billing" in page.text  # the sender name, as on invoices
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    served = app_client.get("/dashboard/p/acme/logo")
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert served.content == logo.read_bytes()
    assert app_client.get("/dashboard/p/globex/logo").status_code == 404


def test_approving_an_issued_invoice_says_why_and_issues_nothing(
    app_client: TestClient, world: World, session: Session
) -> None:
    token = sign_in(app_client, "ann@acme.example")
    issued = session.exec(select(Invoice).where(Invoice.number == "ACME-000001")).one()
    draft = session.exec(
        select(Invoice).where(Invoice.partner_id == "acme", Invoice.status == InvoiceStatus.DRAFT)
    ).first()
    assert draft is not None
    done = app_client.post(
        "/dashboard/p/acme/invoices/approve",
        data={"csrf_token": token, "invoice": [str(issued.id), str(draft.id)]},
    )
    assert done.status_code == 303 and "error=" in done.headers["location"]
    page = app_client.get(done.headers["location"]).text
    assert 'role="alert"' in page and "ACME-000001" in page
    session.rollback()
    assert session.get(Invoice, draft.id).status is InvoiceStatus.DRAFT  # type: ignore[union-attr]
    nothing = app_client.post("/dashboard/p/acme/invoices/approve", data={"csrf_token": token})
    assert "error=Choose" in nothing.headers["location"]
    bad = app_client.post(
        "/dashboard/p/acme/invoices/approve", data={"csrf_token": token, "invoice": "x"}
    )
    assert bad.status_code == 400 and "invoice:" in bad.text


def test_card_on_file_from_the_stripe_customer(
    app_client: TestClient, world: World, session: Session
) -> None:
    from sync.stripe.models import StripeAccount, StripeCustomer

    account = StripeAccount(partner_id="acme", secret_key_enc="x", webhook_secret_enc="y")
    session.add(account)
    session.flush()
    session.add(
        StripeCustomer(
            partner_id="acme",
            client_id="c1",
            account_id=account.id,
            customer_id="cus_1",
            payment_method_id="pm_1",
            card_brand="visa",
            card_last4="4242",
            card_exp_month=3,
            card_exp_year=2031,
        )
    )
    session.add(
        StripeCustomer(
            partner_id="acme",
            client_id="c2",
            account_id=account.id,
            customer_id="cus_2",
            auto_charge=False,
        )
    )
    session.commit()
    sign_in(app_client, "ann@acme.example")
    card = app_client.get("/dashboard/p/acme/clients/c1").text.split('data-testid="card">')[1]
    assert card.startswith("Visa ending 4242, expires 03/2031; automatic charges on.")
    card = app_client.get("/dashboard/p/acme/clients/c2").text.split('data-testid="card">')[1]
    assert card.startswith("Stripe customer cus_2, no card saved yet.")
    from sync.stripe.models import ChargeStatus, StripeCharge

    issued = session.exec(select(Invoice).where(Invoice.number == "ACME-000001")).one()
    session.add(
        StripeCharge(
            partner_id="acme",
            invoice_id=issued.invoice_id,
            account_id=account.id,
            status=ChargeStatus.REQUIRES_ACTION,
            amount_minor=issued.total_minor,
            currency="USD",
        )
    )
    session.commit()
    listing = app_client.get("/dashboard/p/acme/invoices").text
    assert f'data-testid="charge-{issued.id}">card: requires action' in listing
