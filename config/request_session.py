"""FastAPI dependencies for the database: the app's engine and the request's unit of work.

They sit in `config`, beside the engine, because routers in every layer use them (billing's,
sync's and the api package's own) and the lower layers never import `api`. An app built with
`create_app(engine=...)` serves that engine (`app.state.engine`); otherwise the process engine
(`config.db.get_engine`), which is what the tests set.

`DbSession` is `session_scope` around the route function: it commits when the function returns
and rolls back when it raises, before the answer is sent (scope "function"), so a failed commit
is the answer, never a 200 for work that was not kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from config.db import get_engine, session_scope

__all__ = ["AppEngine", "DbSession", "app_engine", "request_session"]


async def app_engine(request: Request) -> Engine:
    """The engine of the app serving `request`. `async` because it never blocks: FastAPI runs a
    plain `def` dependency in a worker thread, a hand-off that costs every request."""
    engine = getattr(request.app.state, "engine", None)
    return engine if isinstance(engine, Engine) else get_engine()


AppEngine = Annotated[Engine, Depends(app_engine)]


def request_session(engine: AppEngine) -> Iterator[Session]:
    """One unit of work per request. A unique row lost to a concurrent request at commit is
    409, as when the route's own insert meets it."""
    try:
        with session_scope(engine) as session:
            yield session
    except IntegrityError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, "conflicts with an existing row") from exc


DbSession = Annotated[Session, Depends(request_session, scope="function")]
