"""Each partner's Stripe account: its secret API key and webhook signing secret, stored only
encrypted (the connections package's Fernet cipher, keyed by `REBILL_SECRET_KEY`), and the
gateway built from them.

A partner's clients pay the partner, so every partner brings its own Stripe account (restricted
keys work: customers, setup intents, checkout sessions, payment intents, charges, refunds and
balance transactions are the resources used). Keys never go into the partner file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlmodel import Session

from billing.tenants.models import Partner
from billing.tenants.repository import TenantRepository
from config.db_types import utcnow
from connectors.connections.crypto import TokenCipher, cipher_from_settings
from connectors.stripe import StripeCredentials, StripeGateway
from sync.stripe.models import StripeAccount
from sync.stripe.repository import account_for_partner, add_account

__all__ = [
    "DEFAULT_DUNNING_DAYS",
    "GatewayFactory",
    "StripeSetupError",
    "connect_account",
    "dunning_days",
    "gateway_for",
    "webhook_secret",
]

DEFAULT_DUNNING_DAYS: tuple[int, ...] = (3, 5, 7)
GatewayFactory = Callable[[StripeCredentials], StripeGateway]


class StripeSetupError(ValueError):
    """A Stripe setting is missing or wrong: names the field and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field


def _cipher() -> TokenCipher:
    return cipher_from_settings()


def _check_days(days: Sequence[object], field: str) -> tuple[int, ...]:
    checked: list[int] = []
    for day in days:
        if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 90:
            raise StripeSetupError(field, f"{day!r} is not a whole number of days from 1 to 90")
        checked.append(day)
    if checked != sorted(set(checked)):
        raise StripeSetupError(field, f"{list(days)} must be increasing, without repeats")
    if len(checked) > 10:
        raise StripeSetupError(field, "at most 10 retries")
    return tuple(checked)


def connect_account(
    session: Session,
    partner_id: str,
    *,
    secret_key: str,
    webhook_secret: str,
    api_base: str | None = None,
    dunning: Sequence[int] | None = None,
) -> StripeAccount:
    """Store (or replace) the partner's Stripe keys, encrypted. Caller commits."""
    if TenantRepository(session).partner(partner_id) is None:
        raise StripeSetupError("partner", f"no partner {partner_id!r}")
    if not secret_key.startswith(("sk_", "rk_")):
        raise StripeSetupError("secret_key", "must be a Stripe secret or restricted key (sk_/rk_)")
    if not webhook_secret.startswith("whsec_"):
        raise StripeSetupError("webhook_secret", "must be the endpoint's signing secret (whsec_)")
    days = list(_check_days(dunning, "dunning_days")) if dunning is not None else None
    cipher = _cipher()
    account = account_for_partner(session, partner_id)
    if account is None:
        account = StripeAccount(partner_id=partner_id, secret_key_enc="", webhook_secret_enc="")
    account.secret_key_enc = cipher.encrypt(secret_key)
    account.webhook_secret_enc = cipher.encrypt(webhook_secret)
    account.api_base = api_base or None
    account.dunning_days = days
    account.updated_at = utcnow()
    return add_account(session, account)


def webhook_secret(account: StripeAccount) -> str:
    return _cipher().decrypt(account.webhook_secret_enc)


def gateway_for(account: StripeAccount, factory: GatewayFactory | None = None) -> StripeGateway:
    credentials = StripeCredentials(
        connection_id=account.id,
        api_key=_cipher().decrypt(account.secret_key_enc),
        api_base=account.api_base,
    )
    return (factory or StripeGateway)(credentials)


def dunning_days(account: StripeAccount, partner: Partner) -> tuple[int, ...]:
    """Days after the first failed charge on which to retry: the account's own setting, else
    the partner's `dunning_days` (partner settings, or the Stripe connection's settings in the
    partner file), else 3, 5 and 7."""
    if account.dunning_days is not None:
        return _check_days(account.dunning_days, "stripe_account.dunning_days")
    settings: Mapping[str, Any] = partner.settings or {}
    if settings.get("dunning_days") is not None:
        return _check_days(settings["dunning_days"], "partner.dunning_days")
    connections = settings.get("connections") or {}
    for name, connection in connections.items():
        if (
            isinstance(connection, dict)
            and connection.get("provider") == "stripe"
            and connection.get("dunning_days") is not None
        ):
            return _check_days(
                connection["dunning_days"], f"partner.connections.{name}.dunning_days"
            )
    return DEFAULT_DUNNING_DAYS
