from __future__ import annotations

import sqlite3

import psycopg
import pytest

from memory.transcripts import TurnTiming

pytestmark = pytest.mark.unit


def test_turns_are_committed_as_they_happen(open_store, database_url):
    store = open_store()
    call = store.start_call("inbound", "sip:+15550101@pbx", "+15550101", "Alice", "cid-1")
    store.add_turn(call, "caller", "hello", timing=TurnTiming(speech_end=1.0, transcript_ready=1.2))
    # Another connection (another process, after a crash) sees it at once: nothing waits for a close.
    other = psycopg.connect(database_url, autocommit=True) if database_url.startswith("postgresql://") \
        else sqlite3.connect(database_url)
    assert other.execute("SELECT role, text, speech_end FROM turns").fetchall() == [("caller", "hello", 1.0)]
    store.add_turn(call, "bot", "hi", interrupted=True)
    store.end_call(call, "caller_hangup")
    store.end_call(call, "later reason is ignored")
    assert other.execute("SELECT end_reason FROM calls").fetchall() == [("caller_hangup",)]
    turns = store.turns(call)
    assert [(t.role, t.interrupted) for t in turns] == [("caller", False), ("bot", True)]
    store.close()
    assert open_store().calls()[0]["caller_user"] == "+15550101"  # reopens with data intact
    other.close()
