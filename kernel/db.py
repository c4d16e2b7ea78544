"""Engine and sessions: SQLite (WAL) by default, PostgreSQL by URL.

SQLite gets ``BEGIN IMMEDIATE`` so that concurrent writers queue on the write lock at
the start of a transaction (with a busy timeout) instead of failing when a reader
upgrades to a writer; this is what makes the atomic stock updates safe there.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from sqlalchemy import Engine, event
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10, pg_options: str = "") -> Engine:
    """Create the engine for ``url`` with the pragmas/pool the kernel relies on."""
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            raise ValueError("in-memory SQLite cannot be shared between connections; use a file")
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size, max_overflow=20,
        )
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    # pool_recycle instead of pool_pre_ping: a ping is one more round trip on every
    # checkout of a connection, several per order; recycling old connections suffices.
    connect_args = {"options": pg_options} if pg_options else {}
    return create_engine(url, echo=echo, pool_size=pool_size, max_overflow=20, pool_recycle=1800,
                         connect_args=connect_args)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoint; safe with WAL
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Readers opt out of the write lock with read_only(); everything else queues.
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, class_=Session, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session:
        with session.begin():
            yield session


@contextmanager
def read_only(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reads: on SQLite a deferred transaction that never takes the write lock."""
    with factory() as session:
        session.connection(execution_options={"sqlite_begin": "DEFERRED"})
        try:
            yield session
        finally:
            session.rollback()


@contextmanager
def write_conn(engine: Engine) -> Iterator[Any]:
    """A Core connection in a transaction (hot paths skip the ORM session's overhead)."""
    with engine.begin() as conn:
        yield conn


@contextmanager
def read_conn(engine: Engine, *, snapshot: bool = False) -> Iterator[Any]:
    """A Core connection for reads; on SQLite its transaction never takes the write lock.

    Elsewhere, without ``snapshot`` the reads run in autocommit: no BEGIN and ROLLBACK
    round trips (two of the three round trips of a one-query read). Ask for a
    ``snapshot`` when several reads must see one consistent state (exports).
    """
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execution_options(sqlite_begin="DEFERRED")
        elif not snapshot:
            conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


def dispose(engine: Engine) -> None:
    engine.dispose()


__all__ = ["make_engine", "session_factory", "transaction", "read_only", "write_conn", "read_conn", "dispose", "NullPool"]
