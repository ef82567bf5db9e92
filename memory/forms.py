"""Completed intake forms, kept as tasks for the staff, and the staff's task list (`employai tasks`).

A form is a `followups` row of kind 'form': `request` holds the form's name and a JSON `details` column (added to an
existing database on open) holds every field. A follow-up, because a form is a task linked to the call and the
caller like a message left for a colleague: forgetting a caller, retention, and a caller proving who they are
mid-call (`TranscriptStore.set_call_identity`) already cover that table, so forms need no rules of their own.
Anonymous callers' forms are kept too (caller_user ''), for the business; they are nobody's memory.

Writes hold the store's lock (`memory/database.py`); reads are single statements.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .database import Database, as_database
from .followups import SCHEMA as FOLLOWUPS_SCHEMA
from .sqlite_db import SqliteDatabase

KIND = "form"
DERIVED = " iso"  # a value stored alongside a field ("preferred time iso"): not said back to the caller


@dataclass(frozen=True)
class Task:
    """One row of the staff's task list: a completed form, a message, a callback or a promised task."""

    id: int
    kind: str  # form | message | callback | task
    status: str  # pending until the staff (or the scheduler, for a callback) deal with it
    caller_user: str  # '' when the caller was not identified
    call_id: int | None
    created_at: float
    title: str  # a form's name; the request of any other kind ("Message for Sam: ...")
    values: dict[str, str] = field(default_factory=dict)  # a form's fields, in the form's order
    due_at: float | None = None
    caller_id: str = ""  # the caller ID the call claimed (not proved); the operator may still call it back

    def as_json(self) -> dict:
        return {"id": self.id, "kind": self.kind, "status": self.status, "caller": self.caller_user,
                "caller_id": self.caller_id, "call_id": self.call_id, "title": self.title, "values": self.values,
                "created_at": _iso(self.created_at), "due_at": _iso(self.due_at) if self.due_at else None}


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at).isoformat(timespec="seconds")


def install_schema(db: Database) -> None:
    """The follow-ups table with its `details` column (ALTER TABLE on a SQLite database made before forms existed;
    PostgreSQL installs its whole schema when it connects)."""
    if not isinstance(db, SqliteDatabase):
        return
    with db.lock:
        db.execute(FOLLOWUPS_SCHEMA)
        have = {row[1] for row in db.execute("PRAGMA table_info(followups)")}
        if "details" not in have:
            db.execute("ALTER TABLE followups ADD COLUMN details TEXT")


class FormStore:
    """Forms and the task list on the shared connection."""

    def __init__(self, db: Database | sqlite3.Connection, lock: threading.RLock | None = None):
        self._db = as_database(db, lock)
        self._lock = self._db.lock
        install_schema(self._db)

    def save(self, caller_user: str, call_id: int | None, form_name: str, values: Mapping[str, str]) -> int:
        """Store a completed form; its id."""
        details = json.dumps({"form": form_name, "values": {str(k): str(v) for k, v in values.items()}})
        return self._db.insert(
            "INSERT INTO followups (caller_user, call_id, kind, request, details, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)", (caller_user, call_id, KIND, form_name, details, time.time()))

    def mark(self, task_id: int, status: str) -> bool:
        with self._lock:
            return self._db.execute("UPDATE followups SET status = ? WHERE id = ?", (status, task_id)).rowcount > 0

    def get(self, task_id: int) -> Task | None:
        rows = self._select("f.id = ?", (task_id,))
        return rows[0] if rows else None

    def of_caller(self, caller_user: str, limit: int = 20) -> list[Task]:
        """A caller's own forms, newest first (none for an anonymous caller: their forms are nobody's memory)."""
        if not caller_user:
            return []
        return self._select("f.kind = ? AND f.caller_user = ?", (KIND, caller_user), newest_first=True,
                            limit=limit)

    def tasks(self, include_done: bool = False) -> list[Task]:
        """Every kind of follow-up, oldest first: pending ones, or all of them."""
        return self._select("1 = 1" if include_done else "f.status = 'pending'", ())

    def _select(self, where: str, args: tuple, newest_first: bool = False, limit: int = -1) -> list[Task]:
        order = "DESC" if newest_first else "ASC"
        rows = self._db.execute(
            "SELECT f.id, f.kind, f.status, f.caller_user, f.call_id, f.created_at, f.request, f.details, f.due_at,"
            " COALESCE(c.claimed_user, '') FROM followups f LEFT JOIN calls c ON c.id = f.call_id"
            f" WHERE {where} ORDER BY f.created_at {order}, f.id {order}" + (" LIMIT ?" if limit >= 0 else ""),
            (*args, limit) if limit >= 0 else args).fetchall()
        return [_task(row) for row in rows]


def _task(row: tuple) -> Task:
    task_id, kind, status, caller, call_id, created, request, details, due, claimed = row
    values: dict[str, str] = {}
    if details:
        try:
            values = dict(json.loads(details).get("values", {}))
        except (ValueError, AttributeError):  # a row written by hand: show it without its fields
            values = {}
    return Task(task_id, kind, status, caller, call_id, created, request, values, due, claimed)


def form_sentence(task: Task) -> str:
    """A form as the caller's memory says it: "On Wednesday 4 March you asked us to book a visit: name, Alice..."."""
    day = datetime.fromtimestamp(task.created_at)
    said = "; ".join(f"{key}, {value}" for key, value in task.values.items() if not key.endswith(DERIVED) and value)
    return f"On {day:%A} {day.day} {day:%B} you asked us to {task.title}: {said}."
