"""`Idempotency-Key` on the JSON API's creating POSTs, as Stripe does it: the first answer to a
(partner, key) is stored and a retry of the same request gets it back instead of running again.

- `models`: the `api_idempotency_key` table, one row per (partner, key).
- `repository`: every query on it.
- `service`: the rules (which key is acceptable, what a retry gets, expiry), never committing.
- `guard`: the FastAPI side, `@idempotent` on a route; it opens the short transactions of its
  own and writes a success's answer in the route's unit of work, so both commit together.

docs/api.md#idempotent-requests describes it for API users.
"""
