"""Call records and transcript turns in SQLite, committed as they happen.

One `TranscriptStore` per process, used from the event-loop thread. WAL mode keeps readers (the CLI, tests)
off the writer's back; each write is its own transaction, so a crash loses at most the turn in flight.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .archival import Archive
from .caller_memory import CallerMemory, install_schema
from .embeddings import Embedder
from .followups import FollowupStore
from .schedule import ScheduleStore

# Columns added after the first release: added to an existing database on open.
_CALL_COLUMNS = {"transferred_from": "TEXT", "transferred_to": "TEXT", "purpose": "TEXT", "scheduled_id": "INTEGER"}

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


class TranscriptStore:
    def __init__(self, path: Path, embedder: Embedder | None = None):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Autocommit: each statement commits. Searches may run in worker threads (SQLite is serialised).
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)
        have = {row[1] for row in self._db.execute("PRAGMA table_info(calls)")}
        for column, kind in _CALL_COLUMNS.items():
            if column not in have:
                self._db.execute(f"ALTER TABLE calls ADD COLUMN {column} {kind}")
        install_schema(self._db)
        self.schedule = ScheduleStore(self._db)
        self._followups = FollowupStore(self._db)
        self.archive = Archive(self._db, embedder) if embedder is not None else None

    def caller_memory(self, caller_user: str) -> CallerMemory:
        """Memory bound to one caller ('' for anonymous: remembers nothing)."""
        return CallerMemory(self._db, caller_user, self.archive)

    def close(self) -> None:
        self._db.close()

    def start_call(self, direction: str, remote_uri: str, caller_user: str = "", display_name: str = "",
                   sip_call_id: str = "") -> int:
        cur = self._db.execute(
            "INSERT INTO calls (sip_call_id, direction, remote_uri, caller_user, display_name, started_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (sip_call_id, direction, remote_uri, caller_user, display_name, time.time()),
        )
        return int(cur.lastrowid)

    def annotate_call(self, call_id: int, **values: str | int | None) -> None:
        """Set the later columns of a call record (transferred_from, transferred_to, purpose, scheduled_id)."""
        for column, value in values.items():
            if column not in _CALL_COLUMNS:
                raise ValueError(f"not a call column: {column}")
            self._db.execute(f"UPDATE calls SET {column} = ? WHERE id = ?", (value, call_id))

    def followups(self) -> FollowupStore:
        return self._followups

    def remote_uri(self, call_id: int) -> str:
        row = self._db.execute("SELECT remote_uri FROM calls WHERE id = ?", (call_id,)).fetchone()
        return row[0] if row else ""

    def end_call(self, call_id: int, reason: str) -> None:
        self._db.execute(
            "UPDATE calls SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL",
            (time.time(), reason, call_id),
        )

    def add_turn(self, call_id: int, role: str, text: str, interrupted: bool = False,
                 timing: TurnTiming = TurnTiming()) -> int:
        cur = self._db.execute(
            "INSERT INTO turns (call_id, role, text, interrupted, created_at, speech_end, transcript_ready,"
            " first_token, first_audio, first_frame) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (call_id, role, text, int(interrupted), time.time(), timing.speech_end, timing.transcript_ready,
             timing.first_token, timing.first_audio, timing.first_frame),
        )
        return int(cur.lastrowid)

    def prune(self, retention_days: int) -> int:
        """Forget transcripts and caller notes older than the retention period; returns the turns removed."""
        if retention_days <= 0:
            return 0
        cutoff = time.time() - retention_days * 86400
        removed = self._db.execute("DELETE FROM turns WHERE created_at < ?", (cutoff,)).rowcount
        self._db.execute("DELETE FROM core_blocks WHERE updated_at < ?", (cutoff,))
        self._db.execute("UPDATE calls SET caller_user = '', remote_uri = '', display_name = ''"
                         " WHERE started_at < ?", (cutoff,))
        self._db.execute("DELETE FROM followups WHERE created_at < ? AND status != 'pending'", (cutoff,))
        return removed

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
