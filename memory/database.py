"""The storage Protocol every memory module runs its SQL on, and how a database is opened from a path or a URL.

Two implementations: `memory/sqlite_db.py` (the embedded default, one file) and `memory/postgres_db.py` (a shared
PostgreSQL server, for several bots). The modules write their SQL once, with `?` placeholders; the PostgreSQL side
translates them. Only what really differs between the engines is a method of the dialect: the schema, full-text
search (recall and passages), the row lock that claims a scheduled call, and compaction after an erasure.

Threads: one `Database` per process is shared by the event loop and worker threads. Every write, and every
transaction, holds its `lock` (a `threading.RLock`), so a statement another thread runs between our BEGIN and
COMMIT cannot land inside it.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

_ANONYMOUS = ("anonymous", "unknown", "restricted", "unavailable", "")


def uri_user(uri: str) -> str:
    """The user part of a SIP/tel URI as callers are keyed (the rule of `telephony.headers.normalise_user`).

    Kept here too because `memory/` does not import `telephony/` (its package loads PJSUA2); a unit test holds the
    two equal. The SQL function `uri_user(uri)` of both backends is this rule (SQLite registers this function on
    its connection; PostgreSQL gets the same rule in PL/pgSQL with the schema, and a test holds them equal)."""
    body = uri.split(":", 1)[1] if ":" in uri else uri
    user = body.split("@", 1)[0].split(";", 1)[0]
    if user.lower() in _ANONYMOUS:
        return ""
    compact = re.sub(r"[\s.\-()]", "", user)
    if re.fullmatch(r"\+?\d+", compact):
        return compact
    return user.lower()


class DatabaseUnavailable(Exception):
    """The database server could not be reached; the message names it (any password masked) and why."""


class Cursor(Protocol):
    """What a statement returns: the DB-API cursor of either engine."""

    @property
    def rowcount(self) -> int: ...

    @property
    def description(self) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Database(Protocol):
    """One connection shared by a process, with its write lock, and the few operations whose SQL differs."""

    dialect: str  # "sqlite" | "postgresql"
    lock: threading.RLock
    row_lock: str  # appended to a SELECT that claims rows: " FOR UPDATE SKIP LOCKED" on PostgreSQL

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Cursor:
        """Run one statement (`?` placeholders); autocommit unless inside `transaction()`."""
        ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def insert(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Run an INSERT of one row into a table with an `id` key; the new row's id."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """BEGIN .. COMMIT (ROLLBACK on any exception) holding the lock; re-entrant (an inner one joins)."""
        ...

    @property
    def in_transaction(self) -> bool: ...

    def recall_search(self, caller_user: str, words: Sequence[str], exclude_call: int | None, caller_only: bool,
                      limit: int) -> list[tuple[str, str]]:
        """(role, text) of the caller's own turns best matching any of `words`, best first."""
        ...

    def passage_hits(self, words: Sequence[str], caller_user: str, limit: int) -> list[int]:
        """Ids of the knowledge base's and the caller's own passages best matching any of `words`."""
        ...

    def reindex_call(self, call_id: int, caller_user: str) -> None:
        """A call's turns now belong to `caller_user` in the recall index (a PIN proved who called)."""
        ...

    def forget_recall(self, caller_user: str) -> None:
        """Drop the recall index rows filed under `caller_user` (their turns are deleted by the caller)."""
        ...

    def compact(self) -> None:
        """After an erasure: leave no trace of erased rows in indexes or logs the engine keeps. Best effort."""
        ...

    def describe(self) -> str:
        """Where the data is, for people: a path, or a URL without its password."""
        ...

    def size_bytes(self) -> int:
        """How much room the data takes: the SQLite file with its write-ahead log; on PostgreSQL the database, or
        the tables (with their indexes and TOAST) of the schema the URL names in its search_path."""
        ...

    def close(self) -> None: ...


@contextmanager
def transaction(db: Database, lock: threading.RLock | None = None) -> Iterator[None]:
    """`db.transaction()` (the lock argument is the database's own; kept for the callers written before)."""
    with db.transaction():
        yield


def mask_url(url: str) -> str:
    """A database URL fit for a log or a status page: any password replaced by *** (the user's in the address, and
    a `password` parameter of the query string, as libpq takes it)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username or ''}:***@{netloc.rsplit('@', 1)[-1]}"
    query = _QUERY_PASSWORD.sub(r"\1***", parts.query)
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


_QUERY_PASSWORD = re.compile(r"((?:^|[&;])password=)[^&;]*", re.IGNORECASE)


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def connect(where: str | Path, password: str | None = None) -> Database:
    """A `Database` for a SQLite file path, or a `postgresql://` URL (`password` overrides the URL's own)."""
    if isinstance(where, str) and is_postgres_url(where):
        from .postgres_db import PostgresDatabase

        return PostgresDatabase(where, password)
    from .sqlite_db import SqliteDatabase

    return SqliteDatabase.open(Path(where))


def as_database(db: Database | sqlite3.Connection, lock: threading.RLock | None = None) -> Database:
    """A `Database` for a bare `sqlite3.Connection` (a store built on its own, as some tests and harnesses do)."""
    if isinstance(db, sqlite3.Connection):
        from .sqlite_db import SqliteDatabase

        return SqliteDatabase(db, lock)
    return db
