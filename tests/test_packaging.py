"""`pip install` of the built wheel, outside the repository, gives a `rebill` command that
runs every job: templates, static files, migrations, Swagger UI's assets and the demo's
partner file are package data, and nothing imports from `tests/`.

Offline: the wheel is built without build isolation (the current environment's setuptools)
and installed without dependencies; the new environment borrows the current one's
installed dependencies through a `.pth` line (which does not activate this checkout's
editable install), so what runs is the wheel's code."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.processes import ROOT

SKIP_DIRS = {".venv", ".git", "build", "dist", "var", "tests", "bench", "__pycache__"}


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; returns its bin directory."""
    base = tmp_path_factory.mktemp("packaging")
    source = base / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=lambda _dir, names: [
            n for n in names if n in SKIP_DIRS or n.endswith((".egg-info", ".pyc"))
        ],
    )
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(base / "wheel"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if built.returncode != 0:
        pytest.skip(f"the wheel cannot be built offline here: {built.stderr.strip()[-300:]}")
    (wheel,) = (base / "wheel").glob("rebill-*.whl")
    venv = base / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=base)
    _run(
        venv / "bin" / "python",
        "-m",
        "pip",
        "install",
        "-q",
        "--no-deps",
        "--no-index",
        wheel,
        cwd=base,
    )
    purelib = _run(
        venv / "bin" / "python",
        "-c",
        "import sysconfig; print(sysconfig.get_path('purelib'))",
        cwd=base,
    ).strip()
    Path(purelib, "_borrowed_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv / "bin"


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REBILL_", "PYTHON"))}
    return {**env, "REBILL_DATA_DIR": str(data)}


@pytest.mark.slow
def test_the_installed_rebill_runs_every_job(installed: Path, tmp_path: Path) -> None:
    where = tmp_path / "elsewhere"
    where.mkdir()
    env = _env(where / "data")
    listing = _run(installed / "rebill", "--help", cwd=where, env=env)
    for job in (
        "init",
        "demo",
        "serve",
        "worker",
        "scheduler",
        "sandbox",
        "secrets",
        "config",
        "usage",
        "cycle",
        "invoices",
        "sync",
        "reconcile",
        "export",
        "connections",
    ):
        assert f" {job} " in listing, job
    assert "--workers" in _run(installed / "rebill", "serve", "--help", cwd=where, env=env)
    assert "--old-key-file" in _run(
        installed / "rebill", "secrets", "rotate", "--help", cwd=where, env=env
    )
    done = _run(installed / "rebill", "init", cwd=where, env=env)
    assert "database ready: sqlite:///" in done and "secret key generated" in done
    assert (where / "data" / "rebill.sqlite3").is_file()
    origin = _run(
        installed / "python",
        "-c",
        "import main, sandbox.loopback, migrations.runner, api.docs, demo.billing as d;"
        "print(main.__file__); print(sandbox.loopback.__file__);"
        "print((api.docs.ASSETS / 'swagger-ui-bundle.js').is_file(), d.DEMO_FILE.is_file())",
        cwd=where,
        env=env,
    ).split()
    venv = str(installed.parent)
    assert origin[0].startswith(venv) and origin[1].startswith(venv), origin
    assert origin[2:] == ["True", "True"]
    tables = _run(
        installed / "python",
        "-c",
        "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]);"
        "print(len(c.execute('select * from alembic_version').fetchall()))",
        where / "data" / "rebill.sqlite3",
        cwd=where,
        env=env,
    )
    assert int(tables) >= 2  # every migration branch applied from the installed package
