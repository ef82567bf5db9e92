"""The database file itself: owner-only permissions, a busy timeout for other processes (SQLite); and, on SQLite and
PostgreSQL alike, one write lock that keeps a worker thread's statement out of another thread's transaction."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time

import pytest

from memory.database import transaction
from memory.transcripts import TranscriptStore

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_is_readable_by_its_owner_only(tmp_path):
    old = os.umask(0o022)  # the usual umask would leave the files world-readable
    try:
        data = tmp_path / "new" / "data"
        store = TranscriptStore(data / "employai.sqlite3")
        store.add_turn(store.start_call("inbound", "sip:a@pbx", "a"), "caller", "hello")
    finally:
        os.umask(old)
    files = sorted(p.name for p in data.iterdir())
    assert files == ["employai.sqlite3", "employai.sqlite3-shm", "employai.sqlite3-wal"]
    assert {name: _mode(data / name) for name in files} == dict.fromkeys(files, 0o600)
    assert _mode(data) == 0o700
    store.close()
    # A file an older version left readable is tightened when opened; an existing directory is left as it is.
    os.chmod(data / "employai.sqlite3", 0o644)
    os.chmod(data, 0o755)
    TranscriptStore(data / "employai.sqlite3").close()
    assert _mode(data / "employai.sqlite3") == 0o600 and _mode(data) == 0o755


def test_a_write_waits_for_another_process_holding_the_database(tmp_path):
    path = tmp_path / "db.sqlite3"
    store = TranscriptStore(path)
    assert store._db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    call = store.start_call("inbound", "sip:a@pbx", "a")
    other = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)  # the CLI, say
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO turns (call_id, role, text, created_at) VALUES (?, 'bot', 'from the CLI', 0)", (call,))
    releaser = threading.Timer(1.0, lambda: other.execute("COMMIT"))
    releaser.start()
    started = time.monotonic()
    store.add_turn(call, "caller", "waited for the lock")  # would raise 'database is locked' without the timeout
    waited = time.monotonic() - started
    releaser.join()
    assert 0.8 < waited < 5 and [t.text for t in store.turns(call)] == ["from the CLI", "waited for the lock"]


def test_a_worker_threads_write_does_not_land_in_another_threads_transaction(open_store):
    store = open_store()
    call = store.start_call("inbound", "sip:a@pbx", "a")
    inside, release = threading.Event(), threading.Event()

    def failing_transaction():
        with pytest.raises(RuntimeError), transaction(store._db, store._lock):
            store._db.execute("INSERT INTO core_blocks VALUES ('a', 'human', 'half-done', 100, 0)")
            inside.set()
            release.wait(10)
            raise RuntimeError("rolled back")

    first = threading.Thread(target=failing_transaction)
    first.start()
    assert inside.wait(10)
    second = threading.Thread(target=lambda: store.add_turn(call, "caller", "a turn from a worker thread"))
    second.start()
    second.join(0.3)
    assert second.is_alive()  # it waits for the transaction to end
    release.set()
    first.join(10)
    second.join(10)
    assert [t.text for t in store.turns(call)] == ["a turn from a worker thread"]  # not rolled back with the other
    assert store._db.execute("SELECT COUNT(*) FROM core_blocks").fetchone()[0] == 0


def test_facts_learnt_from_two_threads_at_once_are_all_kept(open_store):
    store = open_store()
    memory = store.caller_memory("+15550101")
    sayings = ["my order number is 4471", "my email is alice@example.com", "this is Alice Martin",
               "my account number is 9921"] * 5
    threads = [threading.Thread(target=memory.learn_from, args=(s,)) for s in sayings]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert {memory.known(k) for k in ("order number", "email", "name", "account number")} == \
        {"4471", "alice@example.com", "Alice Martin", "9921"}


def test_archive_searches_from_many_threads_see_each_passage_once(open_store):
    from .test_records import WordEmbedder

    store = open_store(WordEmbedder())
    store.archive.insert([f"passage number {i} about boilers" for i in range(50)], scope="org")
    results: list[list[int]] = []

    def search() -> None:
        for _ in range(20):
            results.append([p.id for p in store.archive.search("boilers passage", "", limit=5)])
            store.archive.forget_cached()  # as a forget or prune in another call does

    threads = [threading.Thread(target=search) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    matrix = store.archive._refresh()
    assert len(results) == 120 and all(len(set(r)) == len(r) == 5 for r in results)
    assert sorted(matrix.ids.tolist()) == list(range(1, 51))  # each passage loaded once
