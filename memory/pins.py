"""Caller PINs: how a caller proves who they are on a call whose caller ID is only a claim.

Only a salted scrypt hash is stored, never the PIN. Three wrong PINs in a row lock the caller's PIN for fifteen
minutes; the count and the lock are in the table, so neither a restart nor a second process resets them. An
attempt is counted before its hash is computed, so parallel calls cannot try more than three PINs per lock period.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import sqlite3
import threading
import time

from .database import Database, as_database
from .sqlite_db import sqlite_schema

SCHEMA = """
CREATE TABLE IF NOT EXISTS caller_pins (
    caller_user   TEXT PRIMARY KEY,
    salt          BLOB NOT NULL,
    hash          BLOB NOT NULL,
    failures      INTEGER NOT NULL DEFAULT 0,
    locked_until  REAL,
    updated_at    REAL NOT NULL,
    used_at       REAL
)
"""

MAX_FAILURES = 3
LOCK_S = 15 * 60
_PIN = re.compile(r"\d{4,8}")
# scrypt at 2**14 x 8: 16 MiB and some 40 ms a hash; a leaked table still costs minutes per 4-digit PIN.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024, "dklen": 32}


def weak_pin(pin: str) -> bool:
    """One digit repeated (0000) or a run up or down (1234, 9876): the first guesses anyone tries."""
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:], strict=False)}
    return len(steps) == 1 and steps <= {-1, 0, 1}


def valid_pin(pin: str) -> bool:
    """4 to 8 digits (ASCII only)."""
    return _PIN.fullmatch(pin) is not None and pin.isascii()


def _hash(pin: str, salt: bytes) -> bytes:
    return hashlib.scrypt(pin.encode("ascii"), salt=salt, **_SCRYPT)


class PinStore:
    """PINs by caller. `verify` is slow on purpose (scrypt): call it from a worker thread, not the event loop."""

    def __init__(self, db: Database | sqlite3.Connection, lock: threading.RLock | None = None):
        self._db = as_database(db, lock)
        self._lock = self._db.lock
        sqlite_schema(self._db, SCHEMA, single=True)

    def set(self, caller_user: str, pin: str) -> None:
        """Set (or replace) the caller's PIN; clears any failures and lock. ValueError unless 4 to 8 digits."""
        if not caller_user:
            raise ValueError("an anonymous caller cannot have a PIN")
        if not valid_pin(pin):
            raise ValueError("a PIN is 4 to 8 digits")
        if weak_pin(pin):
            raise ValueError("that PIN is too easy to guess (one digit repeated, or digits in a row)")
        salt = os.urandom(16)
        digest = _hash(pin, salt)
        with self._lock:
            self._db.execute(
                "INSERT INTO caller_pins (caller_user, salt, hash, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (caller_user) DO UPDATE SET salt = excluded.salt, hash = excluded.hash, failures = 0,"
                " locked_until = NULL, updated_at = excluded.updated_at", (caller_user, salt, digest, time.time()))

    def has_pin(self, caller_user: str) -> bool:
        return self._db.execute("SELECT 1 FROM caller_pins WHERE caller_user = ?", (caller_user,)).fetchone() \
            is not None

    def is_locked(self, caller_user: str, now: float | None = None) -> bool:
        """True while the caller's PIN is locked after too many wrong attempts."""
        row = self._db.execute("SELECT locked_until FROM caller_pins WHERE caller_user = ?", (caller_user,)).fetchone()
        return row is not None and row[0] is not None and row[0] > (time.time() if now is None else now)

    def verify(self, caller_user: str, pin: str) -> bool:
        """Whether `pin` is the caller's PIN. False without looking while locked; the third attempt in a row
        locks it for `LOCK_S` unless it is right; a right one resets the count."""
        now = time.time()
        with self._lock:  # count the attempt, and lock on the third, before checking it: a crash mid-check counts
            reserved = self._db.execute(
                "UPDATE caller_pins SET"
                " failures = CASE WHEN locked_until IS NULL THEN failures + 1 ELSE 1 END,"
                " locked_until = CASE WHEN (CASE WHEN locked_until IS NULL THEN failures + 1 ELSE 1 END) >= ?"
                " THEN ? END"
                " WHERE caller_user = ? AND (locked_until IS NULL OR locked_until <= ?) RETURNING salt, hash",
                (MAX_FAILURES, now + LOCK_S, caller_user, now)).fetchall()  # to the end: commits
        if not reserved:
            _hash("0000", b"\0" * 16)  # the same time for no PIN and a locked one
            return False
        salt, expected = reserved[0]
        ok = hmac.compare_digest(_hash(pin, salt) if valid_pin(pin) else b"", expected)
        if ok:
            with self._lock:
                self._db.execute("UPDATE caller_pins SET failures = 0, locked_until = NULL, used_at = ?"
                                 " WHERE caller_user = ?", (time.time(), caller_user))
        return ok

    def clear(self, caller_user: str) -> bool:
        """Remove the caller's PIN; True if there was one."""
        with self._lock:
            return self._db.execute("DELETE FROM caller_pins WHERE caller_user = ?", (caller_user,)).rowcount == 1
