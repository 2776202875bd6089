"""A new remote needs no edit to a shared file: a toy profile registered here (its connector,
mapping and fake named as modules) is stored on a connection and opened by the registry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from connectors import profiles
from connectors.base import ConnectionInfo
from connectors.connections.models import Connection, ConnectionStatus, Provider
from connectors.registry import connection_info, open_connector

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


TOY = profiles.ProviderProfile(
    name="toy",
    title="Toy Books",
    connector=f"{__name__}:build_connector",
    fake="sandbox.base:FakeRemote",
    mapping="mappings.xero",
    limits=profiles.Limits(per_minute=10, page_size=50, idempotency_key_max=40),
    default_base_url="https://api.toy.test",
)


@pytest.fixture
def toy() -> Iterator[profiles.ProviderProfile]:
    profiles.register(TOY)
    yield TOY
    profiles.unregister("toy")


def test_a_toy_remote_is_opened_without_editing_a_shared_file(
    engine: Engine, partner: str, toy: profiles.ProviderProfile
) -> None:
    with Session(engine) as session:
        row = Connection(
            partner_id=partner, name="toybooks", provider=Provider("toy"),
            status=ConnectionStatus.ACTIVE, remote_tenant="org-1",
            base_url="https://toy.example.test",
        )  # fmt: skip
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
        assert connection_info(session, stored).provider == "toy"
    assert "toy" in profiles.profile_names()
    assert toy.fake_class().__name__ == "FakeRemote"
    assert toy.mapping_module().__name__ == "mappings.xero"


def test_profile_names_are_checked() -> None:
    with pytest.raises(ValueError, match="name: 'Toy Books'"):
        profiles.register(profiles.ProviderProfile(
            name="Toy Books", title="x", connector="x:y", fake="x:y",
            limits=profiles.Limits(), default_base_url="https://x.test",
        ))  # fmt: skip
    with pytest.raises(profiles.UnknownProviderError, match="no remote named 'sage'"):
        profiles.profile("sage")


def test_every_shipped_remote_publishes_a_profile() -> None:
    names = set(profiles.profile_names())
    assert {"quickbooks", "xero", "freshbooks", "stripe"} <= names
    assert set(profiles.profile_names(oauth=True)) >= {"quickbooks", "xero", "freshbooks"}
    for item in profiles.profiles():
        if item.name == "toy":
            continue
        assert callable(item.build_connector())
        assert item.fake_class().__name__.startswith("Fake")
        if item.mapping:
            assert hasattr(item.mapping_module(), "mapping_from_settings")
