"""Partner webhooks' API and CLI (docs/webhooks.md). The domain (models, events, emit,
delivery) is `billing.webhooks`; this package adds what needs the credentials cipher of
`connectors.connections` (which billing may not import): creating endpoints and rotating
their secrets, and running deliveries."""
