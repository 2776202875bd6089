"""Tenant failures; the API maps each class to one status code, the CLI to one message."""

from __future__ import annotations

__all__ = [
    "AlreadyExistsError",
    "AuthenticationError",
    "NotFoundError",
    "PermissionDeniedError",
    "TenantError",
]


class TenantError(Exception):
    """Base class: nothing was written when one of these is raised."""


class NotFoundError(TenantError):
    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class AlreadyExistsError(TenantError):
    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} already exists")
        self.kind = kind
        self.key = key


class AuthenticationError(TenantError):
    """The key is missing, unknown or revoked: the same message for all three on purpose."""

    def __init__(self) -> None:
        super().__init__("invalid or revoked API key")


class PermissionDeniedError(TenantError):
    pass
