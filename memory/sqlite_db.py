"""The embedded backend: one SQLite file with owner-only permissions, WAL, a busy timeout, FTS5 full-text search.

One connection per process is shared by the event loop and worker threads (`check_same_thread=False`). SQLite
serialises single calls, but not a transaction: writes and transactions hold the `lock` (see `memory/database.py`).
Reads do not: WAL lets them run beside a writer. Two processes on one file (the CLI beside the bot, or two bots)
are serialised by SQLite itself: BEGIN IMMEDIATE takes the file's write lock, and the busy timeout waits for it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .database import uri_user

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 5.0  # another process (the CLI, a test) holding the database delays a write, never fails it
FILE_MODE = 0o600
DIR_MODE = 0o700


def _owner_only(path: Path, mode: int) -> None:
    try:
        if stat.S_IMODE(path.stat().st_mode) != mode:
            os.chmod(path, mode)
    except FileNotFoundError:
        pass
    except OSError as exc:  # a file of another user: say so, but the owner decides
        log.warning("could not restrict the permissions of a database file", extra={"path": str(path),
                                                                                    "error": str(exc)})


def restrict_files(path: Path) -> None:
    """The database and its WAL and shared-memory files: readable and writable by their owner only."""
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        _owner_only(name, FILE_MODE)


def open_database(path: Path) -> sqlite3.Connection:
    """Open (creating if need be) the database at `path`: autocommit, WAL, busy timeout, owner-only files.

    The data directory is made 0700 when this creates it (a directory that exists is the operator's choice)."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=DIR_MODE, exist_ok=True)
        _owner_only(path.parent, DIR_MODE)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE))  # created 0600 whatever the umask lets through
    _owner_only(path, FILE_MODE)  # SQLite gives the WAL and SHM files the database file's permissions
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S)
    db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA secure_delete=ON")  # erased rows are overwritten, not left in free pages
    db.create_function("uri_user", 1, uri_user, deterministic=True)
    restrict_files(path)
    return db


def sqlite_schema(db: object, script: str, single: bool = False) -> None:
    """Run a module's DDL if `db` is SQLite (PostgreSQL installs its whole schema when it connects). `single`: one
    statement, run with `execute` (`executescript` would COMMIT another thread's open transaction)."""
    if isinstance(db, SqliteDatabase):
        with db.lock:
            if single:
                db.connection.execute(script)
            else:
                db.connection.executescript(script)


class SqliteDatabase:
    """`Database` on a `sqlite3.Connection` in autocommit mode (`isolation_level=None`)."""

    dialect = "sqlite"
    row_lock = ""  # BEGIN IMMEDIATE already holds the whole file's write lock

    def __init__(self, connection: sqlite3.Connection, lock: threading.RLock | None = None,
                 path: Path | None = None):
        self.connection = connection
        self.lock = lock or threading.RLock()
        self.path = path

    @classmethod
    def open(cls, path: Path) -> SqliteDatabase:
        return cls(open_database(path), path=path)

    def execute(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.connection.execute(sql, args)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.connection.executemany(sql, rows)

    def insert(self, sql: str, args: Sequence[Any] = ()) -> int:
        with self.lock:
            cur = self.connection.execute(sql, args)
        if cur.lastrowid is None:  # None only on a cursor that inserted nothing
            raise sqlite3.InterfaceError("the statement inserted no row")
        return cur.lastrowid

    @property
    def in_transaction(self) -> bool:
        return self.connection.in_transaction

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock:
            if self.connection.in_transaction:
                yield
                return
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
            self.connection.execute("COMMIT")

    def recall_search(self, caller_user: str, words: Sequence[str], exclude_call: int | None, caller_only: bool,
                      limit: int) -> list[tuple[str, str]]:
        terms = " OR ".join(f'"{w}"' for w in words)
        caller = '"' + caller_user.replace('"', "") + '"'
        # The FTS caller column narrows the search to this caller's turns; the join on calls keeps it exact.
        rows = self.connection.execute(
            "SELECT t.role, t.text FROM recall_fts f JOIN turns t ON t.id = f.rowid JOIN calls c ON c.id = t.call_id"
            " WHERE recall_fts MATCH ? AND c.caller_user = ? AND t.call_id IS NOT ?"
            + (" AND t.role = 'caller'" if caller_only else "") +
            " ORDER BY bm25(recall_fts, 1.0, 0.0), t.id DESC LIMIT ?",
            (f"caller:{caller} AND text:({terms})", caller_user, exclude_call, limit)).fetchall()
        return [(role, text) for role, text in rows]

    def passage_hits(self, words: Sequence[str], caller_user: str, limit: int) -> list[int]:
        rows = self.connection.execute(
            "SELECT p.id FROM passages_fts f JOIN passages p ON p.id = f.rowid WHERE passages_fts MATCH ?"
            " AND (p.scope = 'org' OR (p.scope = 'caller' AND p.caller_user = ? AND ? != ''))"
            " ORDER BY bm25(passages_fts) LIMIT ?",
            (" OR ".join(f'"{w}"' for w in words), caller_user, caller_user, limit)).fetchall()
        return [r[0] for r in rows]

    def reindex_call(self, call_id: int, caller_user: str) -> None:
        self.connection.execute(
            "UPDATE recall_fts SET caller = ? WHERE rowid IN (SELECT id FROM turns WHERE call_id = ?)",
            (caller_user, call_id))

    def forget_recall(self, caller_user: str) -> None:
        self.connection.execute(
            "DELETE FROM recall_fts WHERE rowid IN (SELECT rowid FROM recall_fts WHERE caller = ?)", (caller_user,))

    def compact(self) -> None:
        """Merge the full-text indexes (a deleted row's terms otherwise linger in old segments) and checkpoint the
        WAL into the database (secure_delete has zeroed the freed pages)."""
        with self.lock:
            try:
                self.connection.execute("INSERT INTO recall_fts(recall_fts) VALUES ('optimize')")
                self.connection.execute("INSERT INTO passages_fts(passages_fts) VALUES ('optimize')")
                self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.OperationalError:  # another process is busy with the database: merged later
                pass

    def describe(self) -> str:
        return str(self.path) if self.path is not None else "sqlite"

    def size_bytes(self) -> int:
        if self.path is None:  # a connection handed in: its pages
            return int(self.execute("PRAGMA page_count").fetchone()[0]) * int(
                self.execute("PRAGMA page_size").fetchone()[0])
        files = (self.path, self.path.with_name(self.path.name + "-wal"))
        return sum(p.stat().st_size for p in files if p.exists())

    def close(self) -> None:
        self.connection.close()
