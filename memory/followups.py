"""Follow-up tasks the bot promised a caller ("call me back tomorrow at ten"), stored for the outbound dialer.

Detection and time parsing are deterministic, so a callback is booked with the smallest model.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from .database import Database, as_database
from .sqlite_db import sqlite_schema

SCHEMA = """
CREATE TABLE IF NOT EXISTS followups (
    id           INTEGER PRIMARY KEY,
    caller_user  TEXT NOT NULL,
    call_id      INTEGER,
    kind         TEXT NOT NULL DEFAULT 'callback',
    request      TEXT NOT NULL,
    due_at       REAL,
    status       TEXT NOT NULL DEFAULT 'pending',
    created_at   REAL NOT NULL
)
"""

_CALLBACK = re.compile(r"\b(call|ring|phone) me( back)?\b|\bgive me a (call|ring)\b|\bcall back\b", re.IGNORECASE)
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_HOUR_WORDS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve"
                                           .split())}
_TIME = re.compile(r"\b(?:at\s+)?(\d{1,2}|" + "|".join(_HOUR_WORDS) + r")(?::(\d{2}))?\s*"
                   r"(am|pm|a\.m\.|p\.m\.|o'clock|in the morning|in the afternoon|in the evening)?\b", re.IGNORECASE)


@dataclass(frozen=True)
class Followup:
    request: str
    due_at: float | None  # epoch seconds, None when no time was given


def parse_when(text: str, now: datetime) -> datetime | None:
    """'tomorrow at ten', 'on Friday at 3 pm', 'at 9:30' -> the next such moment after `now` (local time)."""
    lower = text.lower()
    day = now.date()
    if "tomorrow" in lower:
        day = day + timedelta(days=1)
    else:
        for i, name in enumerate(_WEEKDAYS):
            if re.search(rf"\b{name}\b", lower):
                day = day + timedelta(days=(i - now.weekday()) % 7 or 7)
                break
    hour_match = None
    for match in _TIME.finditer(lower):
        if match.group(3) or match.group(0).strip().startswith("at"):
            hour_match = match
            break
    if hour_match is None:
        return None if day == now.date() else datetime.combine(day, datetime.min.time()).replace(hour=10)
    raw = hour_match.group(1)
    hour = int(raw) if raw.isdigit() else _HOUR_WORDS[raw]
    minute = int(hour_match.group(2) or 0)
    suffix = (hour_match.group(3) or "").replace(".", "")
    if suffix in ("pm", "in the afternoon", "in the evening") and hour < 12:
        hour += 12
    elif not suffix and 1 <= hour <= 7:  # "at three": office hours make it the afternoon
        hour += 12
    if hour > 23 or minute > 59:
        return None
    when = datetime.combine(day, datetime.min.time()).replace(hour=hour, minute=minute)
    return when if when > now else when + timedelta(days=1)


_QUESTION = re.compile(r"^\s*(which|what|when|where|who|why|how)\b", re.IGNORECASE)


def detect_callback(text: str, now: datetime | None = None) -> Followup | None:
    """A request to be called back ('which number will you call me back on?' asks, it does not request)."""
    if not _CALLBACK.search(text) or _QUESTION.match(text):
        return None
    when = parse_when(text, now or datetime.now())
    return Followup(request=text.strip(), due_at=when.timestamp() if when else None)


def confirmation(followup: Followup) -> str:
    if followup.due_at is None:
        return "Sure, I'll make sure someone calls you back."
    when = datetime.fromtimestamp(followup.due_at)
    day = "tomorrow" if when.date() == (datetime.now() + timedelta(days=1)).date() else when.strftime("%A")
    if when.date() == datetime.now().date():
        day = "today"
    clock = when.strftime("%I:%M %p").lstrip("0").replace(":00", "")
    return f"Sure, I'll call you back {day} at {clock}."


class FollowupStore:
    """Follow-ups on the shared connection; writes hold the store's lock (`memory/database.py`)."""

    def __init__(self, db: Database | sqlite3.Connection, lock: threading.RLock | None = None):
        self._db = as_database(db, lock)
        self._lock = self._db.lock
        sqlite_schema(self._db, SCHEMA, single=True)

    def add(self, caller_user: str, call_id: int | None, followup: Followup, kind: str = "callback") -> int:
        return self._db.insert(
            "INSERT INTO followups (caller_user, call_id, kind, request, due_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (caller_user, call_id, kind, followup.request, followup.due_at, time.time()))

    def mark(self, followup_id: int, status: str) -> None:
        with self._lock:
            self._db.execute("UPDATE followups SET status = ? WHERE id = ?", (status, followup_id))

    def pending(self, kind: str = "callback") -> list[dict]:
        cur = self._db.execute("SELECT * FROM followups WHERE status = 'pending' AND kind = ?"
                               " ORDER BY due_at NULLS FIRST",
                               (kind,))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
