"""What is kept about a caller, on a real SQLite file and a real PostgreSQL server: "forget me" erases all of it in
one transaction, retention prunes all of it, interrupted calls are closed at start, identity claims stay claims until
a PIN proves them."""

from __future__ import annotations

import hashlib
import importlib.util
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np
import psycopg
import pytest

from memory.database import uri_user
from memory.embeddings import DIMENSIONS
from memory.followups import Followup
from memory.transcripts import TranscriptStore

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

ALICE, BOB = "+15550101", "+15550102"
DAY = 86400


class WordEmbedder:
    """Deterministic vectors from the words of a text (no model): enough to store and search passages."""

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int(hashlib.sha1(word.encode()).hexdigest(), 16) % DIMENSIONS] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def _count(store: TranscriptStore, sql: str, *args) -> int:
    return store._db.execute(sql, args).fetchone()[0]


def _remember(store: TranscriptStore, user: str, word: str) -> int:
    """A caller with something of every kind: a verified call with turns, a core block, a note, a callback, a task,
    a message, a scheduled call to their number with an attempt, one made from their callback, a PIN, and an
    unverified call that claimed their number. `word` is unique to the caller."""
    call = store.start_call("inbound", f"sip:{user}@pbx", user, "Caller", "cid", claimed_user=user, verified=True)
    store.add_turn(call, "caller", f"my {word} order number is 4471")
    store.add_turn(call, "bot", f"noted your {word} order")
    memory = store.caller_memory(user)
    memory.learn_from(f"this is {word.title()} Smith, my order number is 4471")
    memory.archival_insert(f"The {word} boiler is a Worcester Bosch.")
    memory.book_callback("call me back tomorrow at ten", call)
    memory.add_task(f"send the {word} invoice", call)
    memory.take_message("Sam", f"{word} wants a quote", call)
    followup = store.followups().pending()[-1]["id"]
    store.schedule.add(f"sip:{user}@pbx", f"callback for {word}", time.time() + DAY, 3, followup_id=followup)
    spaced = user[:2] + " " + user[2:5] + "-" + user[5:]  # the same number as an operator may type it
    direct = store.schedule.add(f"sip:{spaced}@pbx;user=phone", f"survey {word}", time.time() - 10, 1)
    attempt, _ = store.schedule.begin_attempt(direct)
    store.schedule.finish_attempt(attempt, "busy", 486, None, None, 60)
    store.pins.set(user, "4731")
    claimed = store.start_call("inbound", f"sip:{user}@elsewhere", "", "", "cid2", claimed_user=user)
    store.add_turn(claimed, "caller", f"claimed {word} call")
    store.end_call(call, "caller_hangup")
    store.end_call(claimed, "caller_hangup")
    return call


# What the recall index holds of a caller: FTS5's own rows on SQLite; on PostgreSQL the index is on the turns.
_RECALL = {"sqlite": "SELECT COUNT(*) FROM recall_fts WHERE caller = ? OR text LIKE ?",
           "postgresql": "SELECT COUNT(*) FROM turns t JOIN calls c ON c.id = t.call_id"
                         " WHERE c.caller_user = ? OR t.text LIKE ?"}


def _about(store: TranscriptStore, user: str, word: str) -> dict[str, int]:
    like = f"%{word}%"
    return {
        "calls": _count(store, "SELECT COUNT(*) FROM calls WHERE caller_user = ? OR claimed_user = ?"
                               " OR remote_uri LIKE ?", user, user, f"%{user}%"),
        "core_blocks": _count(store, "SELECT COUNT(*) FROM core_blocks WHERE caller_user = ?", user),
        "passages": _count(store, "SELECT COUNT(*) FROM passages WHERE caller_user = ? OR text LIKE ?", user, like),
        "turns": _count(store, "SELECT COUNT(*) FROM turns WHERE text LIKE ?", like),
        "recall": _count(store, _RECALL[store.database.dialect], user, like),
        "followups": _count(store, "SELECT COUNT(*) FROM followups WHERE caller_user = ? OR request LIKE ?",
                            user, like),
        "scheduled": _count(store, "SELECT COUNT(*) FROM scheduled_calls WHERE uri_user(uri) = ? OR task LIKE ?",
                            user, like),
        "pins": int(store.pins.has_pin(user)),
    }


def test_forget_erases_everything_about_the_caller_and_nobody_else(open_store, backend, tmp_path):
    store = open_store(WordEmbedder())
    _remember(store, ALICE, "zanzibar")
    _remember(store, BOB, "kilimanjaro")
    assert all(_about(store, ALICE, "zanzibar").values())
    bob_before = _about(store, BOB, "kilimanjaro")
    calls_before = len(store.calls())

    erased = store.caller_memory(ALICE).forget()

    assert _about(store, ALICE, "zanzibar") == dict.fromkeys(bob_before, 0)
    assert _about(store, BOB, "kilimanjaro") == bob_before  # nobody else's
    assert erased["calls_anonymised"] == 2 and erased["scheduled_calls"] == 2 and erased["pins"] == 1
    assert len(store.calls()) == calls_before  # the records stay, anonymised
    assert _count(store, "SELECT COUNT(*) FROM call_attempts a LEFT JOIN scheduled_calls s ON s.id = a.scheduled_id"
                         " WHERE s.id IS NULL") == 0  # no attempt of an erased scheduled call is left
    assert store.caller_memory(ALICE).conversation_search("zanzibar order") == []
    assert store.archive.search("zanzibar boiler", ALICE) == []
    if backend != "sqlite":
        return  # a server's files are the server's: its rows are gone, autovacuum reclaims them
    # Not even in the file: freed pages are zeroed, the indexes merged and the WAL checkpointed.
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("db.sqlite3*"))
    assert b"zanzibar" not in raw.lower() and b"kilimanjaro" in raw.lower()


_FAIL_PINS = {
    "sqlite": ["CREATE TRIGGER fail_pins BEFORE DELETE ON caller_pins BEGIN SELECT RAISE(ABORT, 'x'); END"],
    "postgresql": ["CREATE FUNCTION fail_pins() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE 'x'; END $$",
                   "CREATE TRIGGER fail_pins BEFORE DELETE ON caller_pins FOR EACH ROW EXECUTE FUNCTION fail_pins()"],
}


def test_forget_is_one_transaction(open_store, backend):
    store = open_store(WordEmbedder())
    _remember(store, ALICE, "zanzibar")
    before = _about(store, ALICE, "zanzibar")
    # The last step fails: nothing of the earlier steps may stay done.
    for statement in _FAIL_PINS[backend]:
        store._db.execute(statement)
    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.RaiseException)):
        store.caller_memory(ALICE).forget()
    assert _about(store, ALICE, "zanzibar") == before and not store._db.in_transaction


def test_an_anonymous_memory_forgets_nothing(open_store):
    store = open_store(WordEmbedder())
    _remember(store, ALICE, "zanzibar")
    assert store.caller_memory("").forget() == {}
    assert all(_about(store, ALICE, "zanzibar").values())


def _age(store: TranscriptStore, days: float) -> None:
    """Make every row `days` older."""
    shift = days * DAY
    for table, columns in {"calls": ["started_at", "ended_at"], "turns": ["created_at"],
                           "core_blocks": ["updated_at"], "passages": ["created_at"],
                           "followups": ["created_at", "due_at"], "scheduled_calls": ["created_at", "due_at"],
                           "caller_pins": ["updated_at"]}.items():
        store._db.execute(f"UPDATE {table} SET " + ", ".join(f"{c} = {c} - {shift}" for c in columns))


def test_retention_prunes_every_kind_and_keeps_what_is_still_to_do(open_store):
    store = open_store(WordEmbedder())
    _remember(store, ALICE, "zanzibar")
    assert store.prune(30) == 0 and store.prune(0) == 0  # nothing old yet; 0 keeps everything
    _age(store, 40)
    # Still to do although asked for long ago: a pending scheduled call, and a callback due in the future.
    pending = store.schedule.add(f"sip:{ALICE}@pbx", "call later", time.time() + DAY, 3)
    store._db.execute("UPDATE scheduled_calls SET created_at = created_at - 40 * 86400 WHERE id = ?", (pending,))
    store.followups().add(ALICE, None, Followup("call me back next week", time.time() + 7 * DAY))
    store._db.execute("UPDATE followups SET created_at = created_at - 40 * 86400")
    _remember(store, BOB, "kilimanjaro")  # recent: kept

    assert store.prune(30) == 3  # Alice's three turns
    alice = _about(store, ALICE, "zanzibar")
    assert alice == {"calls": 0, "core_blocks": 0, "passages": 0, "turns": 0, "recall": 0, "followups": 1,
                     "scheduled": 2, "pins": 0}
    left = store.schedule.listing(include_finished=True)
    assert {s.task for s in left if uri_user(s.uri) == ALICE} == {"callback for zanzibar", "call later"}
    assert _count(store, "SELECT COUNT(*) FROM call_attempts") == 1  # Bob's; the finished survey's went with it
    assert all(_about(store, BOB, "kilimanjaro").values())
    assert len(store.calls()) == 4 and store.prune(30) == 0


def test_interrupted_calls_are_closed_at_their_last_turn(open_store):
    store = open_store()
    talked = store.start_call("inbound", "sip:a@pbx", "a")
    store.add_turn(talked, "bot", "Hello, how can I help?")
    store._db.execute("UPDATE turns SET created_at = created_at + 5")
    silent = store.start_call("inbound", "sip:b@pbx", "b")
    done = store.start_call("inbound", "sip:c@pbx", "c")
    store.end_call(done, "caller_hangup")
    store._db.close()  # as kill -9 leaves it: nothing closed

    store = open_store()
    assert store.close_interrupted() == 2 and store.close_interrupted() == 0
    calls = {c["id"]: c for c in store.calls()}
    assert calls[talked]["end_reason"] == "interrupted"
    assert calls[talked]["ended_at"] == store.turns(talked)[-1].created_at
    assert calls[silent]["end_reason"] == "interrupted" and calls[silent]["ended_at"] == calls[silent]["started_at"]
    assert calls[done]["end_reason"] == "caller_hangup"
    assert [t.text for t in store.turns(talked)] == ["Hello, how can I help?"]


def test_a_claimed_identity_is_kept_but_not_keyed_until_proved(open_store):
    store = open_store()
    earlier = store.start_call("inbound", f"sip:{ALICE}@pbx", ALICE, verified=True)
    store.add_turn(earlier, "caller", "my boiler is leaking")
    call = store.start_call("inbound", f"sip:{ALICE}@spoof", "", "Alice", "cid", claimed_user=ALICE)
    store.add_turn(call, "caller", "the boiler again, the radiator too")
    row = store.calls()[-1]
    assert (row["caller_user"], row["claimed_user"], row["identity_verified"]) == ("", ALICE, 0)
    store.caller_memory("").take_message("Sam", "radiator quote please", call)
    alice = store.caller_memory(ALICE)
    assert alice.conversation_search("radiator") == []  # the claim reads nobody's memory, adds to nobody's

    store.set_call_identity(call, ALICE)  # the PIN was right
    row = store.calls()[-1]
    assert (row["caller_user"], row["identity_verified"]) == (ALICE, 1)
    assert alice.conversation_search("radiator") == ["caller: the boiler again, the radiator too"]
    store.add_turn(call, "caller", "and the thermostat")
    assert alice.conversation_search("thermostat") == ["caller: and the thermostat"]
    assert store.followups().pending("message")[0]["caller_user"] == ALICE


def test_an_old_database_gets_the_identity_columns(tmp_path):
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(str(path))
    old.execute("CREATE TABLE calls (id INTEGER PRIMARY KEY, sip_call_id TEXT NOT NULL DEFAULT '',"
                " direction TEXT NOT NULL, remote_uri TEXT NOT NULL DEFAULT '', caller_user TEXT NOT NULL DEFAULT '',"
                " display_name TEXT NOT NULL DEFAULT '', started_at REAL NOT NULL, ended_at REAL, end_reason TEXT)")
    old.execute("INSERT INTO calls (direction, caller_user, started_at) VALUES ('inbound', 'x', 1)")
    old.commit()
    old.close()
    store = TranscriptStore(path)
    assert store.calls()[0]["claimed_user"] is None and store.calls()[0]["caller_user"] == "x"
    call = store.start_call("inbound", "sip:y@pbx", "y", claimed_user="y", verified=True)
    assert store.calls()[-1]["id"] == call and store.calls()[-1]["identity_verified"] == 1


def _headers_module():
    """telephony/headers.py alone (the telephony package imports PJSUA2)."""
    path = Path(__file__).resolve().parents[1] / "telephony" / "headers.py"
    spec = importlib.util.spec_from_file_location("headers_alone", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("uri", ["sip:+1 555-0101@pbx", "sip:+1(555)0101@pbx;user=phone", "tel:+15550101",
                                 "sip:Alice@Example.com", "sip:anonymous@anonymous.invalid", "sips:1001@pbx:5061",
                                 "+15550101", "sip:@pbx", "sip:Unknown@pbx"])
def test_uri_user_is_the_rule_that_keys_callers(uri):
    assert uri_user(uri) == _headers_module().normalise_user(uri)
