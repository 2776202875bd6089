"""A new remote is its own connector, mapping and fake: a toy profile registered here (with its
connector, and a mapping registered with the mappings layer) is stored on a connection and
opened by the registry and by sync, which joins connector and mapping."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

import mappings.xero
from connectors import profiles
from connectors.base import ConnectionInfo
from connectors.connections.models import Connection, ConnectionStatus, Provider
from connectors.registry import connection_info, open_connector
from mappings import providers as mapping_providers
from sandbox.fakes import FAKES
from sync.remotes import open_mapping

built: list[ConnectionInfo] = []


class ToyConnector:
    provider = "toy"

    def __init__(self, info: ConnectionInfo) -> None:
        self.info = info


def build_connector(
    info: ConnectionInfo, tokens: Any, *, transport: httpx.AsyncBaseTransport | None = None
) -> ToyConnector:
    built.append(info)
    return ToyConnector(info)


def toy_mapping(settings: Mapping[str, object]) -> mappings.xero.XeroMapping:
    """The toy remote reads its settings as Xero does, with a default account."""
    return mappings.xero.mapping_from_settings({"default_account_code": "200", **settings})


TOY = profiles.ProviderProfile(
    name="toy",
    title="Toy Books",
    connector=build_connector,
    limits=profiles.Limits(per_minute=10, page_size=50, idempotency_key_max=40),
    default_base_url="https://api.toy.test",
)


@pytest.fixture
def toy() -> Iterator[profiles.ProviderProfile]:
    profiles.register(TOY)
    mapping_providers.register("toy", toy_mapping)
    yield TOY
    profiles.unregister("toy")
    mapping_providers.unregister("toy")


def test_a_toy_remote_is_opened_without_editing_a_shared_file(
    engine: Engine, partner: str, toy: profiles.ProviderProfile
) -> None:
    with Session(engine) as session:
        row = Connection(
            partner_id=partner,
            name="toybooks",
            provider=Provider("toy"),
            status=ConnectionStatus.ACTIVE,
            remote_tenant="org-1",
            base_url="https://toy.example.test",
        )
        session.add(row)
        session.commit()
        connection_id = row.id
    connector = open_connector(engine, connection_id)
    assert isinstance(connector, ToyConnector)
    assert connector.info.provider == "toy"
    assert connector.info.base_url == "https://toy.example.test"
    assert built[-1].remote_tenant == "org-1"
    with Session(engine) as session:
        stored = session.get(Connection, connection_id)
        assert stored is not None and stored.provider == "toy"
        info = connection_info(session, stored)
        assert info.provider == "toy"
    assert "toy" in profiles.profile_names()
    mapping = open_mapping(info)
    assert isinstance(mapping, mappings.xero.XeroMapping)
    assert mapping.default_account_code == "200"


def test_profile_names_are_checked() -> None:
    with pytest.raises(ValueError, match="name: 'Toy Books'"):
        profiles.register(
            profiles.ProviderProfile(
                name="Toy Books",
                title="x",
                connector=build_connector,
                limits=profiles.Limits(),
                default_base_url="https://x.test",
            )
        )
    with pytest.raises(profiles.UnknownProviderError, match="no remote named 'sage'"):
        profiles.profile("sage")


def test_every_shipped_remote_publishes_a_profile() -> None:
    names = set(profiles.profile_names())
    assert {"quickbooks", "xero", "freshbooks", "stripe"} <= names
    assert set(profiles.profile_names(oauth=True)) >= {"quickbooks", "xero", "freshbooks"}
    for item in profiles.profiles():
        if item.name == "toy":
            continue
        assert callable(item.connector)
        assert FAKES[item.name].__name__.startswith("Fake")
    # every accounting remote (OAuth) has a mapping; Stripe has none
    assert set(mapping_providers.mapped_providers()) == set(profiles.profile_names(oauth=True))
