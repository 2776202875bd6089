"""Reconciliation: usage, books, accounting systems and the wholesale bill agree, or each
difference is stored with what is at stake and what to do (issue 8)."""

from sync.reconcile.service import parse_period, reconcile, run_due_reconciliations

__all__ = ["parse_period", "reconcile", "run_due_reconciliations"]
