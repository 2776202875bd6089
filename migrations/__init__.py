"""Alembic migrations; `runner.upgrade_to_head` is what `main.py init` and the tests call."""
