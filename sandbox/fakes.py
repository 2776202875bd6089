"""The fake of each shipped remote, by provider name.

A new remote is one connector package, one mapping module and one fake. Connectors never
import the sandbox (it sits above them: its loopback stores connections), so the fake is named
here, where a test can check that every remote the connectors publish has one.
"""

from __future__ import annotations

from collections.abc import Mapping

from sandbox.base import FakeRemote
from sandbox.freshbooks import FakeFreshBooks
from sandbox.quickbooks import FakeQuickBooks
from sandbox.stripe import FakeStripe
from sandbox.xero import FakeXero

__all__ = ["FAKES"]

FAKES: Mapping[str, type[FakeRemote]] = {
    "freshbooks": FakeFreshBooks,
    "quickbooks": FakeQuickBooks,
    "stripe": FakeStripe,
    "xero": FakeXero,
}
