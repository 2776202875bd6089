"""`few_collections` switches the cyclic collector off for a rating run and puts it back as it
found it, nested runs included."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from billing.pricing.live import few_collections


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_off_during_the_run_and_back_on_after() -> None:
    gc.enable()
    with few_collections():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_nested_run_does_not_switch_it_on_under_its_caller() -> None:
    gc.enable()
    with few_collections():
        with few_collections():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_back_on_after_an_error() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), few_collections():
        raise RuntimeError("rating failed")
    assert gc.isenabled()


def test_left_off_when_it_was_off() -> None:
    gc.disable()
    with few_collections():
        pass
    assert not gc.isenabled()


def test_as_a_decorator_each_call_switches_it_off() -> None:
    @few_collections()
    def state() -> bool:
        return gc.isenabled()

    gc.enable()
    assert state() is False and state() is False
    assert gc.isenabled()
