"""Process-wide settings, read once from the environment (`REBILL_*`) and `.env`.

One class so that every knob is discoverable in one place and documented in the README.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="REBILL_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(default=Path("var"), description="Where SQLite, PDFs and mail live.")
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL; empty means a SQLite file under data_dir.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr("dev-only-change-me"),
        description="Key material for encrypting stored credentials (OAuth tokens).",
    )
    email_backend: Literal["file", "smtp"] = "file"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Accounting connections (OAuth2 apps registered with each provider). The URL overrides
    # let a fake or a sandbox stand in for the real endpoints; empty means the provider's own.
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where this server is reachable by browsers; OAuth redirect URIs start here.",
    )
    quickbooks_client_id: str = ""
    quickbooks_client_secret: SecretStr = SecretStr("")
    quickbooks_auth_url: str = ""
    quickbooks_token_url: str = ""
    quickbooks_api_url: str = ""
    quickbooks_revoke_url: str = ""
    xero_client_id: str = ""
    xero_client_secret: SecretStr = SecretStr("")
    xero_auth_url: str = ""
    xero_token_url: str = ""
    xero_connections_url: str = ""
    xero_revoke_url: str = ""
    xero_api_url: str = ""
    # Webhook secrets from each developer portal (empty: every delivery is refused with 401)
    quickbooks_webhook_verifier: SecretStr = SecretStr("")
    xero_webhook_key: SecretStr = SecretStr("")
    freshbooks_client_id: str = ""
    freshbooks_client_secret: SecretStr = SecretStr("")
    freshbooks_auth_url: str = ""
    freshbooks_token_url: str = ""
    freshbooks_api_url: str = ""
    oauth_timeout_seconds: float = 20.0

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'rebill.sqlite3').as_posix()}"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
