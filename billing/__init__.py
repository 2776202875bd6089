"""Billing: tenants, metering, rating, invoicing. May import `ledger` and `config`, never
`sync`, `connectors` or `api` (the outbox keeps billing unaware of the outside world)."""
