"""Call records and transcript turns, committed as they happen, in SQLite (a file) or PostgreSQL (a URL).

One `TranscriptStore` per process, shared by the event loop and worker threads: every write holds the database's
lock (see `memory/database.py`), which the sub-stores (schedule, follow-ups, archive, PINs, caller memory) share.
Each write is its own transaction, so a crash loses at most the turn in flight, and the next start closes the
calls it cut off (`close_interrupted`). On SQLite, WAL mode keeps readers (the CLI, tests) off the writer's back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .archival import Archive
from .archival import install_schema as install_archival_schema
from .caller_memory import CallerMemory, install_schema
from .database import Database, connect
from .embeddings import Embedder
from .followups import FollowupStore
from .forms import FormStore
from .pins import PinStore
from .records import prune_records
from .schedule import ScheduleStore
from .sqlite_db import SqliteDatabase

log = logging.getLogger(__name__)

# Columns added after the first release: added to an existing database on open. `annotate_call` sets the first
# four; the identity columns are set by `start_call` and `set_call_identity` only.
_CALL_COLUMNS = {"transferred_from": "TEXT", "transferred_to": "TEXT", "purpose": "TEXT", "scheduled_id": "INTEGER"}
_IDENTITY_COLUMNS = {"claimed_user": "TEXT", "identity_verified": "INTEGER"}
_OWNER_COLUMNS = {"instance": "TEXT NOT NULL DEFAULT ''"}  # which bot took the call ('' : the only one)
_IDS_A_QUERY = 500  # call ids in one `IN (...)`: well below SQLite's limit of bound parameters (999 before 3.32)

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id            INTEGER PRIMARY KEY,
    sip_call_id   TEXT NOT NULL DEFAULT '',
    direction     TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound', 'chat')),
    remote_uri    TEXT NOT NULL DEFAULT '',
    caller_user   TEXT NOT NULL DEFAULT '',
    display_name  TEXT NOT NULL DEFAULT '',
    started_at    REAL NOT NULL,
    ended_at      REAL,
    end_reason    TEXT
);
CREATE TABLE IF NOT EXISTS turns (
    id                INTEGER PRIMARY KEY,
    call_id           INTEGER NOT NULL REFERENCES calls(id),
    role              TEXT NOT NULL CHECK (role IN ('caller', 'bot')),
    text              TEXT NOT NULL,
    interrupted       INTEGER NOT NULL DEFAULT 0,
    created_at        REAL NOT NULL,
    speech_end        REAL,
    transcript_ready  REAL,
    first_token       REAL,
    first_audio       REAL,
    first_frame       REAL
);
CREATE INDEX IF NOT EXISTS turns_by_call ON turns(call_id, id);
"""


@dataclass(frozen=True)
class TurnTiming:
    """Wall-clock times (seconds since the epoch) of one exchange; None where a stage did not happen."""

    speech_end: float | None = None
    transcript_ready: float | None = None
    first_token: float | None = None
    first_audio: float | None = None
    first_frame: float | None = None


@dataclass(frozen=True)
class Turn:
    call_id: int
    role: str
    text: str
    interrupted: bool
    created_at: float
    timing: TurnTiming


def _install_sqlite(db: SqliteDatabase) -> None:
    """The tables on SQLite, and the columns added since the first release (PostgreSQL installs its own)."""
    with db.lock:
        db.connection.executescript(SCHEMA)
        have = {row[1] for row in db.execute("PRAGMA table_info(calls)")}
        for column, kind in (_CALL_COLUMNS | _IDENTITY_COLUMNS | _OWNER_COLUMNS).items():
            if column not in have:
                db.execute(f"ALTER TABLE calls ADD COLUMN {column} {kind}")
        install_schema(db.connection)
        install_archival_schema(db.connection)  # caller notes are erased and pruned with or without an embedder


class TranscriptStore:
    def __init__(self, where: Path | str | Database, embedder: Embedder | None = None, password: str | None = None,
                 instance: str = ""):
        """`where`: a SQLite file, a `postgresql://` URL (`password` from the environment, if given), or an open
        `Database`. `instance` names this bot among several sharing the database: the calls it takes and the
        scheduled calls it claims are marked with it, so at its restart it closes and retries only its own."""
        self.instance = instance
        # Autocommit: each statement commits; the lock keeps another thread's statement out of a transaction.
        self._db: Database = connect(where, password) if isinstance(where, (str, Path)) else where
        self._lock: threading.RLock = self._db.lock
        self.path = self._db.path if isinstance(self._db, SqliteDatabase) else None
        if isinstance(self._db, SqliteDatabase):
            _install_sqlite(self._db)
        self.schedule = ScheduleStore(self._db, self._lock, instance)
        self._followups = FollowupStore(self._db, self._lock)
        self.forms = FormStore(self._db, self._lock)  # completed intake forms and the staff's task list
        self.pins = PinStore(self._db, self._lock)
        self.archive = Archive(self._db, embedder, self._lock) if embedder is not None else None

    def caller_memory(self, caller_user: str) -> CallerMemory:
        """Memory bound to one caller ('' for anonymous: remembers nothing)."""
        return CallerMemory(self._db, caller_user, self.archive, self._lock)

    @property
    def database(self) -> Database:
        return self._db

    def describe(self) -> str:
        """Which database this is, for people: its path, or its URL without the password."""
        return self._db.describe()

    def close(self) -> None:
        self._db.close()

    def start_call(self, direction: str, remote_uri: str, caller_user: str = "", display_name: str = "",
                   sip_call_id: str = "", claimed_user: str = "", verified: bool = False) -> int:
        """Open a call record. `caller_user` keys memory: '' unless the identity is trusted (then `verified`);
        `claimed_user` is who the caller ID says it is, kept as a claim whether or not it was believed."""
        return self._db.insert(
            "INSERT INTO calls (sip_call_id, direction, remote_uri, caller_user, display_name, started_at,"
            " claimed_user, identity_verified, instance) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (sip_call_id, direction, remote_uri, caller_user, display_name, time.time(), claimed_user,
             int(verified), self.instance),
        )

    def set_call_identity(self, call_id: int, caller_user: str, verified: bool = True) -> None:
        """The caller proved who they are mid-call (a PIN): the call, its turns so far in the recall index, and
        what they left during it before (messages to staff) become theirs."""
        with self._db.transaction():
            self._db.execute("UPDATE calls SET caller_user = ?, identity_verified = ? WHERE id = ?",
                             (caller_user, int(verified), call_id))
            self._db.reindex_call(call_id, caller_user)
            self._db.execute("UPDATE followups SET caller_user = ? WHERE call_id = ? AND caller_user = ''",
                             (caller_user, call_id))

    def annotate_call(self, call_id: int, **values: str | int | None) -> None:
        """Set the later columns of a call record (transferred_from, transferred_to, purpose, scheduled_id)."""
        for column in values:
            if column not in _CALL_COLUMNS:
                raise ValueError(f"not a call column: {column}")
        with self._db.transaction():
            for column, value in values.items():
                self._db.execute(f"UPDATE calls SET {column} = ? WHERE id = ?", (value, call_id))

    def followups(self) -> FollowupStore:
        return self._followups

    def call_record(self, call_id: int) -> dict | None:
        """One call's row as a dict (None when there is no such call)."""
        cur = self._db.execute("SELECT * FROM calls WHERE id = ?", (call_id,))
        row = cur.fetchone()
        return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None

    def anonymised_calls(self, call_ids: Iterable[int]) -> set[int]:
        """Which of `call_ids` have a record that no longer says who called (their caller was forgotten, here or
        by another bot sharing the database, or retention anonymised it): a query per `_IDS_A_QUERY` ids, not per
        call, for the sweep of recordings (`employai/runtime/recording.py`, `forget_erased`)."""
        ids = sorted(set(call_ids))
        found: set[int] = set()
        for start in range(0, len(ids), _IDS_A_QUERY):
            chunk = ids[start:start + _IDS_A_QUERY]
            rows = self._db.execute(
                f"SELECT id FROM calls WHERE id IN ({', '.join('?' * len(chunk))}) AND caller_user = ''"
                " AND COALESCE(claimed_user, '') = ''", chunk).fetchall()
            found.update(int(row[0]) for row in rows)
        return found

    def remote_uri(self, call_id: int) -> str:
        row = self._db.execute("SELECT remote_uri FROM calls WHERE id = ?", (call_id,)).fetchone()
        return row[0] if row else ""

    def end_call(self, call_id: int, reason: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE calls SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL",
                (time.time(), reason, call_id),
            )

    def close_interrupted(self) -> int:
        """At start: close the calls the last run left open (a crash, `kill -9`), ended at their last turn (else
        their start) with end reason 'interrupted'. Returns how many. Call it before this process starts calls.
        Only this instance's calls: another bot's open calls on a shared database are live."""
        with self._lock:
            return self._db.execute(
                "UPDATE calls SET end_reason = 'interrupted', ended_at = COALESCE("
                "(SELECT MAX(created_at) FROM turns WHERE turns.call_id = calls.id), started_at)"
                " WHERE ended_at IS NULL AND instance = ?", (self.instance,)).rowcount

    def add_turn(self, call_id: int, role: str, text: str, interrupted: bool = False,
                 timing: TurnTiming = TurnTiming()) -> int:
        return self._db.insert(
            "INSERT INTO turns (call_id, role, text, interrupted, created_at, speech_end, transcript_ready,"
            " first_token, first_audio, first_frame) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (call_id, role, text, int(interrupted), time.time(), timing.speech_end, timing.transcript_ready,
             timing.first_token, timing.first_audio, timing.first_frame),
        )

    def prune(self, retention_days: float) -> int:
        """Forget everything about callers older than the retention period (transcripts, core blocks, caller
        notes, follow-ups, finished scheduled calls and their attempts, unused PINs) and anonymise old call
        records; returns the turns removed."""
        pruned = prune_records(self._db, retention_days)
        if self.archive is not None and pruned.get("passages"):
            self.archive.forget_cached()
        if any(pruned.values()):
            log.info("records older than the retention period were pruned", extra=pruned)
        return pruned.get("turns", 0)

    def turns(self, call_id: int) -> list[Turn]:
        rows = self._db.execute(
            "SELECT call_id, role, text, interrupted, created_at, speech_end, transcript_ready, first_token,"
            " first_audio, first_frame FROM turns WHERE call_id = ? ORDER BY id",
            (call_id,),
        ).fetchall()
        return [Turn(r[0], r[1], r[2], bool(r[3]), r[4], TurnTiming(*r[5:])) for r in rows]

    def calls(self) -> list[dict]:
        cur = self._db.execute("SELECT * FROM calls ORDER BY id")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
