"""The import contracts in pyproject.toml (`make lint` runs `lint-imports`) hold on the shipped
code, and they do catch a forbidden import: a copy of the shipped packages passes, and the same
copy with `import billing` added to a connector fails, naming the contract it breaks."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.processes import ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
CONNECTORS_CONTRACT = "Connectors never import billing, ledger or mappings"


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def shipped_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The root packages' Python files and pyproject.toml, without the test suite (an empty
    `tests` package stands in for it)."""
    copy = tmp_path_factory.mktemp("contracts")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    for package in config["root_packages"]:
        if package == "tests":
            (copy / "tests").mkdir()
            (copy / "tests" / "__init__.py").write_text("")
            continue
        shutil.copytree(
            ROOT / package,
            copy / package,
            ignore=lambda folder, names: [
                n for n in names if not n.endswith(".py") and not (Path(folder) / n).is_dir()
            ],
        )
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_the_shipped_code_keeps_every_contract(shipped_copy: Path) -> None:
    done = _lint(shipped_copy)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_a_connector_importing_billing_breaks_its_contract(
    shipped_copy: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(shipped_copy, broken)
    paging = broken / "connectors" / "paging.py"
    paging.write_text(paging.read_text() + "\nimport billing  # noqa: E402,F401\n")
    done = _lint(broken)
    assert done.returncode != 0
    assert f"{CONNECTORS_CONTRACT} BROKEN" in done.stdout
    assert "connectors.paging -> billing" in done.stdout


def test_a_lower_layer_importing_a_higher_one_breaks_the_layers(
    shipped_copy: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(shipped_copy, broken)
    money = broken / "config" / "money.py"
    money.write_text(money.read_text() + "\nimport sync.models  # noqa: E402,F401\n")
    done = _lint(broken)
    assert done.returncode != 0
    assert "Layers of the design (docs/architecture.md) BROKEN" in done.stdout
    assert "config is not allowed to import sync" in done.stdout
