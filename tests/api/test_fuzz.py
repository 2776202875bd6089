"""Every operation of `/openapi.json`, fuzzed with schemathesis on a seeded partner: no input,
valid or not, with an admin, read or ingest key, a platform key (or none), gets a 5xx, and
every answer is as the document describes it (its media type, and a body its schema accepts:
an error is a problem-details object, a list a page).

Bounded and repeatable: a fixed number of examples per operation, derandomized (the same
inputs every run), no example database, no deadline (no timing). Examples draw inputs from the
schema (positive), break it (negative), or aim at the seeded rows (a real client, invoice,
plan, reconciliation) so the deep paths run too, not only 404s.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import content_type_conformance, response_schema_conformance
from schemathesis.core.failures import FailureGroup
from sqlmodel import Session

from api.app import create_app
from tests.api.seeded import Seeded, seed

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

# A deeper run: REBILL_FUZZ_EXAMPLES=500 pytest tests/api/test_fuzz.py (REBILL_FUZZ_RANDOM=1:
# other inputs than the fixed ones, for exploring; a failure prints the request to replay).
EXAMPLES_PER_OPERATION = int(os.environ.get("REBILL_FUZZ_EXAMPLES", "24"))
CONFORMANCE = [content_type_conformance, response_schema_conformance]


def _first_line(failures: FailureGroup) -> str:
    return "; ".join(str(f.title if hasattr(f, "title") else f) for f in failures.exceptions)


def _known(world: Seeded) -> dict[str, list[str]]:
    return {
        "client_id": ["c1", "c2"],
        "key": [world.issued, world.draft],
        "note": [world.credit_note],
        "code": ["std"],
        "run_id": [str(world.run_id)],
        "partner_id": ["acme"],
        "provider": ["quickbooks", "xero"],
    }


def _strategy(operation: Any, known: dict[str, list[str]]) -> st.SearchStrategy[Any]:
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    names = [p.name for p in operation.path_parameters]
    if names and all(name in known for name in names):
        strategies.append(
            st.fixed_dictionaries({n: st.sampled_from(known[n]) for n in names}).flatmap(
                lambda values: operation.as_strategy(
                    GenerationMode.POSITIVE, path_parameters=values
                )
            )
        )
    return st.one_of(strategies)


@pytest.mark.slow
def test_no_input_to_any_operation_is_a_server_error(engine: object, session: Session) -> None:
    world = seed(session)
    app = create_app()
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40, [o.label for o in operations]
    known = _known(world)
    keys = [
        world.keys["admin"],
        world.keys["admin"],
        world.keys["read"],
        world.keys["ingest"],
        None,
    ]
    failures: list[str] = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for operation in operations:

            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                derandomize=os.environ.get("REBILL_FUZZ_RANDOM") != "1",
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=_strategy(operation, known), key=st.sampled_from(keys))
            def run(case: Any, key: str | None) -> None:
                headers = {
                    k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"
                }
                if key is not None:
                    headers["Authorization"] = f"Bearer {key}"
                case.headers = headers
                kwargs = case.as_transport_kwargs()
                kwargs.pop("base_url", None)
                url = kwargs.pop("url")
                response = client.request(url=url.replace("http://testserver", ""), **kwargs)
                if response.status_code >= 500:
                    raise AssertionError(
                        f"{case.operation.label} -> {response.status_code} {response.text[:300]}\n"
                        f"  {case.as_curl_command()}"
                    )
                try:
                    case.validate_response(response, checks=CONFORMANCE, headers=headers)
                except FailureGroup as outside:
                    raise AssertionError(
                        f"{case.operation.label} -> {response.status_code} outside its schema: "
                        f"{_first_line(outside)} {response.text[:300]}\n"
                        f"  {case.as_curl_command()}"
                    ) from None

            try:
                run()
            except AssertionError as failure:  # the shrunk example; every operation is tried
                failures.append(str(failure).splitlines()[0] + "\n" + str(failure).splitlines()[1])
    assert failures == [], "\n".join(failures)


@pytest.fixture(autouse=True)
def _quiet_schemathesis_warnings() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
