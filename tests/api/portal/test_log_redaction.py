"""The token never reaches uvicorn's access log."""

from __future__ import annotations

import logging

from api.portal.web import install_log_redaction


def test_access_log_lines_hide_the_token() -> None:
    install_log_redaction()
    install_log_redaction()  # once only
    access = logging.getLogger("uvicorn.access")
    assert sum(type(f).__name__ == "_RedactPortalTokens" for f in access.filters) == 1
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/portal/12.1800000000.c2lnbmF0dXJl/invoices/3/pdf", "1.1", 200),
        None,
    )
    for f in access.filters:
        assert f.filter(record)
    line = record.getMessage()
    assert "c2lnbmF0dXJl" not in line and "/portal/…/invoices/3/pdf" in line
