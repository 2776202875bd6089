"""The real SMTP server fixture of the mail tests, reused for the report e-mail."""

from tests.billing.documents.conftest import smtp_server

__all__ = ["smtp_server"]
