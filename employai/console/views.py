"""What the pages show, read from the database (worker threads: the store is shared and thread-safe)."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from typing import Any

from memory.database import mask_url
from memory.transcripts import TranscriptStore
from sip_config import Config

HISTORY_LIMIT = 200
SECRET = re.compile(r"(password|token|secret|api_key)$")
URL = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def history(store: TranscriptStore, caller: str = "", day: str = "") -> list[dict]:
    """Calls newest first, those whose caller (number, claimed ID, name or URI) contains `caller` and that began
    on `day` (YYYY-MM-DD, local time), at most HISTORY_LIMIT."""
    wanted = caller.strip().lower()
    out = []
    for call in reversed(store.calls()):
        who = " ".join(str(call.get(k) or "") for k in ("caller_user", "claimed_user", "display_name", "remote_uri"))
        if wanted and wanted not in who.lower():
            continue
        if day and datetime.fromtimestamp(call["started_at"]).strftime("%Y-%m-%d") != day:
            continue
        out.append(call)
        if len(out) >= HISTORY_LIMIT:
            break
    return out


def callers(store: TranscriptStore) -> list[dict]:
    """Callers the bot may remember (verified identities), with their number of calls and last call."""
    seen: dict[str, dict] = {}
    for call in store.calls():
        user = call["caller_user"]
        if user:
            entry = seen.setdefault(user, {"user": user, "calls": 0, "last": 0.0})
            entry["calls"] += 1
            entry["last"] = max(entry["last"], call["started_at"])
    return sorted(seen.values(), key=lambda e: -e["last"])


def caller_memory(store: TranscriptStore, user: str) -> dict:
    """What `employai memory show` shows: the core memory block, calls, last turns and forms."""
    memory = store.caller_memory(user)
    calls = [c for c in store.calls() if c["caller_user"] == user]
    turns = [t for c in calls for t in store.turns(c["id"])]
    facts = [line.partition(": ") for line in memory.human().value.splitlines() if ": " in line]
    return {"user": user, "human": memory.human().render(), "calls": calls, "turns": turns[-20:],
            "forms": memory.forms(), "facts": [(key, value) for key, _, value in facts]}


def scheduled(store: TranscriptStore) -> list[dict]:
    return [{"call": c, "attempts": store.schedule.attempts(c.id)}
            for c in store.schedule.listing(include_finished=True)]


def running_config(config: Config) -> list[tuple[str, str]]:
    """Every key and value, secrets masked (a value under a key named password, token, secret or api_key, and the
    password of any URL, as `data.url`'s)."""
    rows: list[tuple[str, str]] = []
    _flatten(dataclasses.asdict(config), "", rows)
    return rows


def _flatten(value: Any, prefix: str, rows: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), rows)
    elif isinstance(value, list | tuple) and value and isinstance(value[0], dict):
        for i, item in enumerate(value):
            _flatten(item, f"{prefix}[{i}]", rows)
    else:
        name = prefix.rsplit(".", 1)[-1]
        if isinstance(value, str) and URL.match(value):
            value = mask_url(value)  # data.url may carry a password (user:pw@ or ?password=)
        shown = "********" if SECRET.search(name) and value else repr(value)
        rows.append((prefix, shown))
