"""Browser tests skip on a machine without chromium, and fail instead under CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.dashboard import browser
from tests.processes import ROOT


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


@pytest.mark.slow
def test_the_summary_says_when_browser_tests_were_skipped(tmp_path: Path) -> None:
    """`make test` ends with a line that says they were skipped, why, and how to enable them."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "tests/api/dashboard/test_browser.py",
            "-k",
            "sign_in or signs",
        ],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k != "CI"},
            "REBILL_TEST_CHROMIUM": str(tmp_path / "no-chromium"),
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("browser tests")]
    assert len(lines) == 1, done.stdout[-2000:]
    assert lines[0].startswith("browser tests skipped (1): ")
    assert f"{tmp_path / 'no-chromium'} not found" in lines[0]
    assert "to run them: apt-get install chromium" in lines[0]
    assert done.stdout.rstrip().splitlines()[-1] == lines[0]
