"""Rebill's command line: every job a user runs. `python main.py --help` lists them."""

from __future__ import annotations

import typer

from config.db import get_engine
from config.settings import get_settings
from ledger.cli import ledger_app
from migrations.runner import upgrade_to_head

app = typer.Typer(help="Rebill: usage-based rebilling and accounting sync.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")


@app.command()
def init() -> None:
    """Create the database, or upgrade it to the newest schema."""
    upgrade_to_head(get_engine())
    typer.echo(f"database ready: {get_settings().resolved_database_url}")


@app.command()
def demo() -> None:
    """Run the main job on the embedded defaults (SQLite under ./var) and show what it did."""
    from ledger.demo import run_demo

    upgrade_to_head(get_engine())
    run_demo(get_engine())


if __name__ == "__main__":
    app()
