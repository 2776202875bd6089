"""Imports every table module so `SQLModel.metadata` is complete for Alembic and tests."""

from sqlmodel import SQLModel

import api.dashboard.models  # noqa: F401
import billing.documents.models
import billing.idempotency.models
import billing.invoicing.models
import billing.margins.models
import billing.metering.models
import billing.payments.models
import billing.portal.models
import billing.pricing.models
import billing.tenants.models
import billing.webhooks.models  # noqa: F401
import connectors.connections.models
import connectors.freshbooks.models  # noqa: F401
import ledger.models  # noqa: F401
import mappings.models  # noqa: F401
import sync.models
import sync.reconcile.models
import sync.scheduler.models
import sync.stripe.models  # noqa: F401

__all__ = ["target_metadata"]

target_metadata = SQLModel.metadata
