"""When the outside world hears of a change: the outbox, the worker that drains it, and (later)
the scheduler and reconciliation."""
