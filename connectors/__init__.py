"""Adapters to the remote systems (QuickBooks Online, Xero, FreshBooks, Stripe) behind one
interface (`connectors.base`). Connectors speak only the remote's language; `mappings/`
translates ours to theirs and `sync/` decides when. Imports only `config`."""
