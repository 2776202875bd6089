"""Connections to accounting systems: the stored (encrypted) OAuth tokens per partner and
connection name, the consent flow that creates them, and `DatabaseTokenSource`, which hands
connectors a valid access token and refreshes it under a lock (one refresher per connection,
across processes), saving the rotated refresh token before the new access token is used.

Imports only `config` and `connectors.base`/`connectors.http`; partner data is read by table
name, never through billing's models.
"""

from connectors.connections.crypto import TokenCipher, TokenDecryptionError, cipher_from_settings
from connectors.connections.models import Connection, ConnectionStatus, OAuthState, Provider
from connectors.connections.providers import InvalidGrantError, OAuthProvider, oauth_provider
from connectors.connections.service import (
    ConnectionSetupError,
    OAuthStateError,
    complete_consent,
    disconnect,
    start_consent,
)
from connectors.connections.token_source import DatabaseTokenSource

__all__ = [
    "Connection",
    "ConnectionSetupError",
    "ConnectionStatus",
    "DatabaseTokenSource",
    "InvalidGrantError",
    "OAuthProvider",
    "OAuthState",
    "OAuthStateError",
    "Provider",
    "TokenCipher",
    "TokenDecryptionError",
    "cipher_from_settings",
    "complete_consent",
    "disconnect",
    "oauth_provider",
    "start_consent",
]
