"""Opening the SQLite database: owner-only files, a busy timeout, and the write lock of a shared connection.

One connection per process is shared by the event loop and worker threads (`check_same_thread=False`). SQLite
serialises single calls, but not a transaction: a statement another thread runs between our BEGIN and COMMIT would
land inside it. So every write, and every transaction, holds the store's `threading.RLock`.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 5.0  # another process (the CLI, a test) holding the database delays a write, never fails it
FILE_MODE = 0o600
DIR_MODE = 0o700
_ANONYMOUS = ("anonymous", "unknown", "restricted", "unavailable", "")


def uri_user(uri: str) -> str:
    """The user part of a SIP/tel URI as callers are keyed (the rule of `telephony.headers.normalise_user`).

    Kept here too because `memory/` does not import `telephony/` (its package loads PJSUA2); a unit test holds the
    two equal. Registered as the SQL function `uri_user(uri)` on every connection this module opens."""
    body = uri.split(":", 1)[1] if ":" in uri else uri
    user = body.split("@", 1)[0].split(";", 1)[0]
    if user.lower() in _ANONYMOUS:
        return ""
    compact = re.sub(r"[\s.\-()]", "", user)
    if re.fullmatch(r"\+?\d+", compact):
        return compact
    return user.lower()


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


def inserted_id(cur: sqlite3.Cursor) -> int:
    """The rowid the INSERT just run on `cur` created (`lastrowid` is None only on a cursor that inserted nothing)."""
    if cur.lastrowid is None:
        raise sqlite3.InterfaceError("the statement inserted no row")
    return cur.lastrowid


@contextmanager
def transaction(db: sqlite3.Connection, lock: threading.RLock) -> Iterator[None]:
    """BEGIN IMMEDIATE .. COMMIT (ROLLBACK on any exception) while holding the connection's write lock.

    Re-entrant: inside a transaction this thread already holds, it simply joins it."""
    with lock:
        if db.in_transaction:
            yield
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
