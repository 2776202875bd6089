"""Encryption of stored OAuth tokens (Fernet: AES-128-CBC + HMAC-SHA256, with a timestamp).

The Fernet key is derived from the secret key (`config.secret_key`) with HKDF-SHA256 and a fixed purpose
label, so the operator manages one secret, and a key for another purpose derived from the same
secret can never decrypt tokens. A database dump without the secret reveals no token; a wrong
secret fails loudly with `TokenDecryptionError` instead of sending garbage to a provider.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from config.secret_key import secret_key

__all__ = ["TokenCipher", "TokenDecryptionError", "cipher_from_settings"]

_INFO = b"rebill connector oauth tokens v1"
_SALT = b"rebill.connectors.connections"


class TokenDecryptionError(RuntimeError):
    """A stored token cannot be decrypted: the secret key changed or the row was altered."""


class TokenCipher:
    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("secret_key: must not be empty (it encrypts stored OAuth tokens)")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(
            secret.encode("utf-8")
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        try:
            return self._fernet.decrypt(stored.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError) as exc:
            raise TokenDecryptionError(
                "stored OAuth token cannot be decrypted: REBILL_SECRET_KEY differs from the key "
                "it was encrypted with (restore the key, or connect the account again)"
            ) from exc


def cipher_from_settings() -> TokenCipher:
    """The cipher of the key in force (`config.secret_key`)."""
    return TokenCipher(secret_key())
