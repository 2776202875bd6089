"""Browser tests skip on a machine without chromium, and fail instead under CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.dashboard import browser


@pytest.mark.parametrize(("ci", "outcome"), [(None, "skip"), ("true", "fail"), ("false", "skip")])
def test_missing_chromium(
    ci: str | None, outcome: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "no-chromium")
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    expected = pytest.skip.Exception if outcome == "skip" else pytest.fail.Exception
    with pytest.raises(expected, match="chromium"):
        browser.require_chromium()
