"""Scheduled jobs: accrual, cycle close, sync, payments, tokens, Stripe, mail, reconciliation,
each occurrence run exactly once however many schedulers run (see `runs` and `service`)."""

from .jobs import JobContext
from .runs import RunOutcome, run_guarded
from .service import JOBS, build_scheduler, fire, job_listing

__all__ = [
    "JOBS",
    "JobContext",
    "RunOutcome",
    "build_scheduler",
    "fire",
    "job_listing",
    "run_guarded",
]
