"""Webhooks to the partner's own systems (docs/webhooks.md): endpoints, events emitted in the
transaction of the change they report, and signed deliveries on the work queue."""

from __future__ import annotations

from .events import PAYLOAD_VERSION, EventType
from .service import emit, emit_many, listening

__all__ = ["PAYLOAD_VERSION", "EventType", "emit", "emit_many", "listening"]
