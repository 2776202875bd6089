"""The async HTTP client every connector sends through, made of small parts: `TokenSource`
(bearer auth with one refresh on 401), `RateBudget` (per-connection limits), `RetryPolicy`
(backoff with jitter, Retry-After, no blind repeat of uncertain writes), `classify_*` (the five
outcomes) and `redact` (no secrets in logs)."""

from connectors.http.auth import StaticTokenSource, TokenSource, bearer_headers
from connectors.http.budget import BudgetExhaustedError, RateBudget
from connectors.http.classify import classify_exception, classify_response, parse_retry_after
from connectors.http.client import ErrorParser, HttpClient
from connectors.http.logs import redact
from connectors.http.retry import RetryPolicy

__all__ = [
    "BudgetExhaustedError",
    "ErrorParser",
    "HttpClient",
    "RateBudget",
    "RetryPolicy",
    "StaticTokenSource",
    "TokenSource",
    "bearer_headers",
    "classify_exception",
    "classify_response",
    "parse_retry_after",
    "redact",
]
