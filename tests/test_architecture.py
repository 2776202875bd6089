"""The unit-of-work and repository rules, checked on the source (docs/repositories.md):

- in `sync/`, only repository modules (`repository.py`, `*_repository.py`) query: nothing else
  calls a session's query methods or builds a SELECT, UPDATE, DELETE or INSERT;
- no shipped module builds a `Session` (or a `sessionmaker`) except `config/db.py`, whose
  scopes open and end every transaction;
- no `service.py` commits: the caller's scope (a command, a job, an endpoint) does.

A file another change is rewriting may be allowed by name below, with why; the lists only ever
shrink (none is allowed now).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = (
    "api",
    "billing",
    "config",
    "connectors",
    "demo",
    "ledger",
    "mappings",
    "migrations",
    "sandbox",
    "sync",
    "workqueue",
)

# Called on anything, these are queries (a session's or a connection's).
QUERY_METHODS = frozenset({"exec", "execute", "scalar", "scalars", "query", "merge", "add_all"})
# `get`, `add` and `delete` are also dict and set methods: queries when called on a session.
SESSION_METHODS = frozenset({"get", "add", "delete"})
STATEMENT_BUILDERS = frozenset({"select", "update", "delete", "insert"})
SQL_MODULES = frozenset({"sa", "sqlalchemy", "sqlmodel", "postgresql", "sqlite", "sql"})

QUERIES_ALLOWED: frozenset[str] = frozenset()
SESSIONS_ALLOWED = frozenset({"config/db.py"})


def _modules(*packages: str) -> Iterator[tuple[str, ast.Module]]:
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), str(path))


def _is_repository(name: str) -> bool:
    stem = name.rsplit("/", 1)[-1]
    return stem == "repository.py" or stem.endswith("_repository.py")


def _receiver(node: ast.expr) -> str:
    """The last name of what a method is called on: `session`, `self.session`, `sessions()`."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _is_session(name: str) -> bool:
    return name.lower().endswith(("session", "sessions")) or name in {"db", "conn"}


def query_calls(tree: ast.Module) -> list[str]:
    """`line: call` of every query a module makes or statement it builds."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            on = _receiver(func.value)
            if (
                func.attr in QUERY_METHODS
                or (func.attr in SESSION_METHODS and _is_session(on))
                or (func.attr in STATEMENT_BUILDERS and on in SQL_MODULES)
            ):
                found.append(f"{node.lineno}: {ast.unparse(func)}(...)")
        elif isinstance(func, ast.Name) and func.id in STATEMENT_BUILDERS:
            found.append(f"{node.lineno}: {func.id}(...)")
    return sorted(found, key=lambda text: int(text.split(":")[0]))


def session_constructions(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _receiver(node.func)
            if name in {"Session", "sessionmaker"}:
                found.append(f"{node.lineno}: {ast.unparse(node.func)}(...)")
    return found


def commits(tree: ast.Module) -> list[str]:
    return [
        f"{node.lineno}: {ast.unparse(node.func)}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


def test_only_repositories_query_in_sync() -> None:
    offenders = {
        name: calls
        for name, tree in _modules("sync")
        if not _is_repository(name) and name not in QUERIES_ALLOWED and (calls := query_calls(tree))
    }
    assert not offenders, (
        "queries outside a repository (move them into the package's repository.py as a "
        f"function named for what it fetches): {offenders}"
    )


def test_sessions_are_built_only_by_config_db() -> None:
    offenders = {
        name: found
        for name, tree in _modules(*SHIPPED)
        if name not in SESSIONS_ALLOWED and (found := session_constructions(tree))
    }
    main = ast.parse((ROOT / "main.py").read_text())
    if found := session_constructions(main):
        offenders["main.py"] = found
    assert not offenders, (
        "open a unit of work with config.db.read_scope / write_scope / session_scope "
        f"(or session_factory for a long-running loop) instead: {offenders}"
    )


def test_services_never_commit() -> None:
    offenders = {
        name: found
        for name, tree in _modules(*SHIPPED)
        if name.endswith("/service.py") and (found := commits(tree))
    }
    assert not offenders, f"a service commits; leave it to the caller's scope: {offenders}"


def test_allow_lists_name_files_that_exist() -> None:
    """A file moved or deleted leaves the allow-list: it must not silently allow a new one."""
    for name in QUERIES_ALLOWED | SESSIONS_ALLOWED:
        assert (ROOT / name).is_file(), f"{name} is allowed but no longer exists: drop it"


VIOLATIONS = {
    "session.exec(select(Invoice))": "query",
    "session.get(Invoice, 1)": "query",
    "self.session.add(row)": "query",
    "session.execute(text('SELECT 1'))": "query",
    "query = update(OutboxRow).values(status='done')": "query",
    "statement = sa.delete(Payment)": "query",
    "conn.execute(statement)": "query",
    "Session(engine)": "session",
    "sessionmaker(bind=engine)": "session",
    "session.commit()": "commit",
}


@pytest.mark.parametrize("source", sorted(VIOLATIONS))
def test_the_checks_see_a_violation(source: str) -> None:
    tree = ast.parse(f"def handler(session, engine, conn, self, row):\n    {source}\n")
    check = {"query": query_calls, "session": session_constructions, "commit": commits}
    assert check[VIOLATIONS[source]](tree), source


@pytest.mark.parametrize(
    "source",
    ["found.get('id')", "seen.add(1)", "by_id.get(k, 0)", "settings.delete('x')", "[].sort()"],
)
def test_dicts_and_sets_are_not_queries(source: str) -> None:
    assert not query_calls(ast.parse(source)), source
