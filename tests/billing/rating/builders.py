"""Price and plan builders shared by the rating tests (no database)."""

from __future__ import annotations

from decimal import Decimal

from config.prices import GraduatedPrice, PackagePrice, PerUnitPrice, VolumePrice, parse_price


def D(text: str | int) -> Decimal:
    return Decimal(text)


def per_unit(unit_price: str, block_size: str | int | None = None) -> PerUnitPrice:
    data: dict[str, object] = {"model": "per_unit", "unit_price": unit_price}
    if block_size is not None:
        data["block_size"] = block_size
    price = parse_price(data)
    assert isinstance(price, PerUnitPrice)
    return price


def _tiers(*tiers: tuple[str | int | None, str]) -> list[dict[str, object]]:
    return [
        {"unit_price": rate} if up_to is None else {"up_to": up_to, "unit_price": rate}
        for up_to, rate in tiers
    ]


def graduated(*tiers: tuple[str | int | None, str]) -> GraduatedPrice:
    price = parse_price({"model": "graduated", "tiers": _tiers(*tiers)})
    assert isinstance(price, GraduatedPrice)
    return price


def volume(*tiers: tuple[str | int | None, str]) -> VolumePrice:
    price = parse_price({"model": "volume", "tiers": _tiers(*tiers)})
    assert isinstance(price, VolumePrice)
    return price


def package(included: str | int, **overage: str | int) -> PackagePrice:
    price = parse_price({"model": "package", "included": included, **overage})
    assert isinstance(price, PackagePrice)
    return price


# The example file's growth plan prices.
GROWTH_VOICE = graduated((1000, "0.15"), (5000, "0.12"), (None, "0.09"))
GROWTH_SMS = package(1000, overage_unit_price="0.02")
STARTER_SMS = volume((500, "0.03"), (None, "0.02"))

__all__ = [
    "GROWTH_SMS",
    "GROWTH_VOICE",
    "STARTER_SMS",
    "D",
    "graduated",
    "package",
    "per_unit",
    "volume",
]
