"""Scheduled outbound calls and every attempt at them, in the same database as the transcripts.

The `employai call` command writes a row; the `employai run` process places it when it is due, so a schedule
survives restarts. Each attempt and its outcome (answered, busy, no_answer, failed) is a row of its own.
`begin_attempt` claims a due call atomically: on SQLite under BEGIN IMMEDIATE (the file's write lock), on
PostgreSQL with a row lock taken `FOR UPDATE SKIP LOCKED`; so of several bots (processes) polling one database,
exactly one places each call.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass

from .database import Database, as_database
from .sqlite_db import sqlite_schema

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS scheduled_calls (
    id               INTEGER PRIMARY KEY,
    uri              TEXT NOT NULL,
    task             TEXT NOT NULL,
    due_at           REAL NOT NULL,
    next_attempt_at  REAL NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'calling', 'done', 'failed', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    last_outcome     TEXT,
    task_done        INTEGER,
    followup_id      INTEGER,
    created_at       REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS call_attempts (
    id            INTEGER PRIMARY KEY,
    scheduled_id  INTEGER NOT NULL REFERENCES scheduled_calls(id),
    attempt       INTEGER NOT NULL,
    started_at    REAL NOT NULL,
    ended_at      REAL,
    outcome       TEXT CHECK (outcome IN ('answered', 'busy', 'no_answer', 'failed')),
    sip_status    INTEGER,
    call_id       INTEGER,
    task_done     INTEGER
);
CREATE INDEX IF NOT EXISTS scheduled_by_due ON scheduled_calls(status, next_attempt_at);
"""

# One scheduled call per follow-up: two bots turning the same callback into a call make one (`add`).
FOLLOWUP_INDEX = ("CREATE UNIQUE INDEX IF NOT EXISTS scheduled_by_followup ON scheduled_calls(followup_id)"
                  " WHERE followup_id IS NOT NULL")

OUTCOMES = ("answered", "busy", "no_answer", "failed")


@dataclass(frozen=True)
class ScheduledCall:
    id: int
    uri: str
    task: str
    due_at: float
    next_attempt_at: float
    status: str
    attempts: int
    max_attempts: int
    last_outcome: str | None
    task_done: bool | None

    @classmethod
    def from_row(cls, row: tuple) -> ScheduledCall:
        """From the columns in field order (`task_done` stored as 0/1/NULL)."""
        id_, uri, task, due_at, next_attempt_at, status, attempts, max_attempts, last_outcome, task_done = row
        return cls(id_, uri, task, due_at, next_attempt_at, status, attempts, max_attempts, last_outcome,
                   None if task_done is None else bool(task_done))


def outcome_of(sip_status: int, answered: bool) -> str:
    """The outcome of an outbound attempt from its final SIP status."""
    if answered:
        return "answered"
    if sip_status in (486, 600):
        return "busy"
    if sip_status in (408, 480, 487, 603):  # no answer, unavailable, our CANCEL at the ring timeout, declined
        return "no_answer"
    return "failed"


class ScheduleStore:
    """Scheduled calls on the shared connection; writes hold the store's lock, multi-step ones in a transaction."""

    def __init__(self, db: Database | sqlite3.Connection, lock: threading.RLock | None = None, instance: str = ""):
        self._db = as_database(db, lock)
        self._lock = self._db.lock
        self._instance = instance  # the bot that claims (see TranscriptStore); recover() touches only its own
        sqlite_schema(self._db, SCHEMA)
        if self._db.dialect == "sqlite":  # a column added after the first release
            with self._lock:
                if "claimed_by" not in {row[1] for row in self._db.execute("PRAGMA table_info(scheduled_calls)")}:
                    self._db.execute("ALTER TABLE scheduled_calls ADD COLUMN claimed_by TEXT NOT NULL DEFAULT ''")
                try:
                    self._db.execute(FOLLOWUP_INDEX)
                except sqlite3.IntegrityError:  # a database that already has two calls for one follow-up
                    log.warning("scheduled calls share a follow-up: not indexed as one call per follow-up")

    def add(self, uri: str, task: str, due_at: float, max_attempts: int, followup_id: int | None = None) -> int:
        """Schedule a call; its id. For a follow-up, at most one call: another bot's call for it, if it made one
        first, is the one (its id is returned)."""
        insert = ("INSERT INTO scheduled_calls (uri, task, due_at, next_attempt_at, max_attempts, followup_id,"
                  " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        args = (uri, task, due_at, due_at, max_attempts, followup_id, time.time())
        if followup_id is None:
            return self._db.insert(insert, args)
        with self._db.transaction():
            self._db.execute(insert + " ON CONFLICT DO NOTHING", args)
            return int(self._db.execute("SELECT id FROM scheduled_calls WHERE followup_id = ? ORDER BY id LIMIT 1",
                                        (followup_id,)).fetchone()[0])

    def get(self, scheduled_id: int) -> ScheduledCall | None:
        rows = self._select("WHERE id = ?", (scheduled_id,))
        return rows[0] if rows else None

    def listing(self, include_finished: bool = False) -> list[ScheduledCall]:
        where = "" if include_finished else "WHERE status IN ('pending', 'calling')"
        return self._select(where + " ORDER BY next_attempt_at", ())

    def due(self, now: float) -> list[ScheduledCall]:
        return self._select("WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at", (now,))

    def postpone(self, scheduled_id: int, until: float) -> None:
        with self._lock:
            self._db.execute("UPDATE scheduled_calls SET next_attempt_at = ? WHERE id = ? AND status = 'pending'",
                             (until, scheduled_id))

    def cancel(self, scheduled_id: int) -> bool:
        with self._lock:
            cur = self._db.execute("UPDATE scheduled_calls SET status = 'cancelled' WHERE id = ?"
                                   " AND status IN ('pending', 'calling')", (scheduled_id,))
            return cur.rowcount == 1

    def recover(self) -> int:
        """After a crash or restart: attempts this instance left 'calling' count as failed and are retried (another
        bot's on a shared database are being placed now)."""
        now = time.time()
        mine = "SELECT id FROM scheduled_calls WHERE claimed_by = ?"
        with self._db.transaction():
            self._db.execute("UPDATE call_attempts SET outcome = 'failed', ended_at = ? WHERE outcome IS NULL"
                             f" AND scheduled_id IN ({mine})", (now, self._instance))
            cur = self._db.execute("UPDATE scheduled_calls SET status = 'pending', last_outcome = 'failed'"
                                   " WHERE status = 'calling' AND claimed_by = ?", (self._instance,))
            return cur.rowcount

    def begin_attempt(self, scheduled_id: int) -> tuple[int, int] | None:
        """Claim the call and mark it as being placed; returns (attempt row id, attempt number), None if it is no
        longer pending or another process is claiming it this moment (it is theirs)."""
        with self._db.transaction():
            claimed = self._db.execute("SELECT attempts FROM scheduled_calls WHERE id = ? AND status = 'pending'"
                                       + self._db.row_lock, (scheduled_id,)).fetchone()
            if claimed is None:
                return None
            attempt = claimed[0] + 1
            self._db.execute("UPDATE scheduled_calls SET status = 'calling', attempts = ?, claimed_by = ? WHERE id = ?",
                             (attempt, self._instance, scheduled_id))
            attempt_id = self._db.insert("INSERT INTO call_attempts (scheduled_id, attempt, started_at)"
                                         " VALUES (?, ?, ?)", (scheduled_id, attempt, time.time()))
            return attempt_id, attempt

    def finish_attempt(self, attempt_id: int, outcome: str, sip_status: int, call_id: int | None,
                       task_done: bool | None, retry_in_s: float) -> str:
        """Record an attempt's outcome; returns the scheduled call's new status (pending means: retry later)."""
        assert outcome in OUTCOMES
        with self._db.transaction():
            return self._finish_attempt(attempt_id, outcome, sip_status, call_id, task_done, retry_in_s)

    def _finish_attempt(self, attempt_id: int, outcome: str, sip_status: int, call_id: int | None,
                        task_done: bool | None, retry_in_s: float) -> str:
        now = time.time()
        self._db.execute("UPDATE call_attempts SET ended_at = ?, outcome = ?, sip_status = ?, call_id = ?,"
                         " task_done = ? WHERE id = ?",
                         (now, outcome, sip_status, call_id, None if task_done is None else int(task_done), attempt_id))
        row = self._db.execute("SELECT scheduled_id FROM call_attempts WHERE id = ?", (attempt_id,)).fetchone()
        if row is None:  # erased meanwhile: the callee asked to be forgotten
            return "cancelled"
        call = self.get(row[0])
        if call is None or call.status == "cancelled":
            return "cancelled"
        if outcome == "answered":
            status = "done"
        elif call.attempts < call.max_attempts:
            status = "pending"
        else:
            status = "failed"
        self._db.execute("UPDATE scheduled_calls SET status = ?, last_outcome = ?, task_done = ?,"
                         " next_attempt_at = ? WHERE id = ?",
                         (status, outcome, None if task_done is None else int(task_done), now + retry_in_s,
                          call.id))
        return status

    def attempts(self, scheduled_id: int) -> list[dict]:
        cur = self._db.execute("SELECT * FROM call_attempts WHERE scheduled_id = ? ORDER BY id", (scheduled_id,))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def _select(self, clause: str, args: tuple) -> list[ScheduledCall]:
        rows = self._db.execute(
            "SELECT id, uri, task, due_at, next_attempt_at, status, attempts, max_attempts, last_outcome, task_done"
            f" FROM scheduled_calls {clause}", args).fetchall()
        return [ScheduledCall.from_row(r) for r in rows]

    def is_calling(self, uri: str) -> bool:
        """Whether a scheduled call to exactly `uri` is being placed now (the dial policy's test)."""
        return self._db.execute("SELECT 1 FROM scheduled_calls WHERE uri = ? AND status = 'calling' LIMIT 1",
                                (uri,)).fetchone() is not None

    def pending_callbacks(self, uri: str) -> int:
        """Callbacks to `uri` not yet finished (pending or being placed)."""
        return self._db.execute("SELECT COUNT(*) FROM scheduled_calls WHERE uri = ? AND followup_id IS NOT NULL"
                                " AND status IN ('pending', 'calling')", (uri,)).fetchone()[0]

    def callbacks_since(self, uri: str, since: float) -> int:
        """Callbacks to `uri` scheduled since `since` (epoch seconds), whatever became of them."""
        return self._db.execute("SELECT COUNT(*) FROM scheduled_calls WHERE uri = ? AND followup_id IS NOT NULL"
                                " AND created_at >= ?", (uri, since)).fetchone()[0]
