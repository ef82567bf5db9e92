"""Both storage backends, SQLite and PostgreSQL, behind the one `Database` Protocol: the scheduled-call lifecycle,
each due call claimed exactly once when two processes poll the same database at once, the SQL function that keys
callers, placeholders, and a PostgreSQL connection lost and opened again."""

from __future__ import annotations

import multiprocessing
import time

import psycopg
import pytest

from memory.database import uri_user
from memory.postgres_db import to_pyformat

from .test_records import ALICE, BOB

pytestmark = [pytest.mark.unit, pytest.mark.timeout(120)]


def test_a_scheduled_call_is_claimed_once_retried_and_finished(open_store):
    store = open_store()
    schedule = store.schedule
    now = time.time()
    first = schedule.add(f"sip:{ALICE}@pbx", "confirm the visit", now - 5, max_attempts=2)
    later = schedule.add(f"sip:{BOB}@pbx", "later", now + 3600, max_attempts=1)
    assert [c.id for c in schedule.due(now)] == [first]
    attempt_id, attempt = schedule.begin_attempt(first)
    assert attempt == 1 and schedule.begin_attempt(first) is None  # claimed: nobody places it twice
    assert schedule.due(now) == [] and schedule.is_calling(f"sip:{ALICE}@pbx")
    assert schedule.finish_attempt(attempt_id, "busy", 486, None, None, retry_in_s=60) == "pending"
    assert schedule.due(now) == [] and [c.id for c in schedule.due(now + 61)] == [first]
    attempt_id, attempt = schedule.begin_attempt(first)
    assert attempt == 2
    assert schedule.recover() == 1  # a restart while it was being placed: that attempt failed, retried
    assert [a["outcome"] for a in schedule.attempts(first)] == ["busy", "failed"]
    attempt_id, attempt = schedule.begin_attempt(first)
    assert attempt == 3
    assert schedule.finish_attempt(attempt_id, "answered", 200, None, True, 60) == "done"
    call = schedule.get(first)
    assert (call.status, call.attempts, call.last_outcome, call.task_done) == ("done", 3, "answered", True)
    assert schedule.cancel(later) and not schedule.cancel(later) and schedule.listing() == []
    assert [c.status for c in schedule.listing(include_finished=True)] == ["done", "cancelled"]


def test_callback_counts_and_follow_ups_read_the_same_on_both(open_store):
    from memory.followups import Followup

    store = open_store()
    followups = store.followups()
    undated = followups.add(ALICE, None, Followup("call me back", None))
    dated = followups.add(ALICE, None, Followup("call me back at ten", time.time() + 60))
    assert [f["id"] for f in followups.pending()] == [undated, dated]  # no time first, as SQLite sorts NULL
    store.schedule.add(f"sip:{ALICE}@pbx", "callback", time.time(), 3, followup_id=dated)
    assert store.schedule.pending_callbacks(f"sip:{ALICE}@pbx") == 1
    assert store.schedule.callbacks_since(f"sip:{ALICE}@pbx", time.time() - 60) == 1
    form = store.forms.save(ALICE, None, "book a visit", {"name": "Alice"})
    assert [t.id for t in store.forms.tasks()] == [undated, dated, form]
    assert [t.title for t in store.forms.of_caller(ALICE, limit=1)] == ["book a visit"]


def _claim_worker(url: str, reverse: bool, ready, claimed) -> None:
    """One bot's scheduler, reduced to its claim: read the due calls and try to claim every one of them (one bot
    from the first, the other from the last, so they meet); report what it got."""
    from memory.transcripts import TranscriptStore

    store = TranscriptStore(url)
    ready.wait(60)  # both processes start at the same moment
    due = store.schedule.due(time.time())
    mine = [c.id for c in (reversed(due) if reverse else due) if store.schedule.begin_attempt(c.id) is not None]
    store.close()
    claimed.put(mine)


def test_two_processes_claim_ten_due_calls_each_exactly_once(open_store, database_url):
    store = open_store()
    ids = [store.schedule.add(f"sip:+1555010{i}@pbx", f"call {i}", time.time() - 1, 3) for i in range(10)]
    ctx = multiprocessing.get_context("spawn")
    claimed: multiprocessing.Queue = ctx.Queue()
    ready = ctx.Barrier(2)  # passed once both have connected
    bots = [ctx.Process(target=_claim_worker, args=(database_url, reverse, ready, claimed))
            for reverse in (False, True)]
    for bot in bots:
        bot.start()
    got = [claimed.get(timeout=60) for _ in bots]
    for bot in bots:
        bot.join(30)
        assert bot.exitcode == 0
    assert sorted(got[0] + got[1]) == ids, got  # every call claimed, none by both
    assert all(len(store.schedule.attempts(i)) == 1 for i in ids)
    assert {c.status for c in store.schedule.listing(include_finished=True)} == {"calling"}


@pytest.mark.parametrize("uri", ["sip:+1 555-0101@pbx", "sip:+1(555)0101@pbx;user=phone", "tel:+15550101",
                                 "sip:Alice@Example.com", "sip:anonymous@anonymous.invalid", "sips:1001@pbx:5061",
                                 "+15550101", "sip:@pbx", "sip:Unknown@pbx", "sip:o'brien@pbx"])
def test_the_sql_uri_user_is_the_python_rule(open_store, uri):
    store = open_store()
    assert store.database.execute("SELECT uri_user(?)", (uri,)).fetchone()[0] == uri_user(uri)


def test_placeholders_are_translated_outside_quoted_strings():
    assert to_pyformat("SELECT ? WHERE a LIKE '%?%' AND b = ?") == "SELECT %s WHERE a LIKE '%%?%%' AND b = %s"
    assert to_pyformat("SELECT 'it''s ?', ?") == "SELECT 'it''s ?', %s"


def test_a_lost_postgresql_connection_is_opened_again(postgres):
    from memory.transcripts import TranscriptStore

    store = TranscriptStore(postgres.fresh_url())
    call = store.start_call("inbound", "sip:a@pbx", "a")
    pid = store.database.execute("SELECT pg_backend_pid()").fetchone()[0]
    with psycopg.connect(postgres.url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.OperationalError):
        store.add_turn(call, "caller", "the server went away")  # this statement is lost, and says so
    store.add_turn(call, "caller", "and came back")
    assert [t.text for t in store.turns(call)] == ["and came back"]
    assert store.describe().startswith("postgresql://test@127.0.0.1:")
    store.close()


def test_a_restarting_bot_closes_and_retries_only_its_own_calls(open_store, database_url):
    from memory.transcripts import TranscriptStore

    bot_a = TranscriptStore(database_url, instance="host-a:5060")
    bot_b = TranscriptStore(database_url, instance="host-b:5060")
    a_call, b_call = bot_a.start_call("inbound", "sip:x@pbx", "x"), bot_b.start_call("inbound", "sip:y@pbx", "y")
    due = [bot_a.schedule.add(f"sip:+1555020{i}@pbx", "survey", time.time() - 1, 3) for i in range(2)]
    assert bot_a.schedule.begin_attempt(due[0]) is not None and bot_b.schedule.begin_attempt(due[1]) is not None
    bot_a.close()  # killed, and back:
    bot_a = TranscriptStore(database_url, instance="host-a:5060")
    assert bot_a.close_interrupted() == 1 and bot_a.schedule.recover() == 1
    calls = {c["id"]: c for c in bot_a.calls()}
    assert calls[a_call]["end_reason"] == "interrupted" and calls[b_call]["ended_at"] is None  # B's is live
    assert bot_a.schedule.get(due[0]).status == "pending" and bot_a.schedule.get(due[1]).status == "calling"
    assert [a["outcome"] for a in bot_a.schedule.attempts(due[1])] == [None]  # B's attempt is still going
    bot_a.close()
    bot_b.close()


def test_status_names_the_database_it_uses_without_its_password(postgres, tmp_path, capsys, monkeypatch):
    from employai.cli.calls import run_status
    from employai.runtime.status import StatusFile
    from employai.runtime.storage import database_label, open_store
    from sip_config import config_from_dict

    url = postgres.fresh_url().replace("test@", "test:s3cret@")  # trust auth: the password is only shown, or not
    monkeypatch.setenv("EMPLOYAI_TEST_DB_PW", "also-s3cret")
    config = config_from_dict({"data": {"dir": str(tmp_path), "url": url, "password_env": "EMPLOYAI_TEST_DB_PW"}})
    store = open_store(config)
    store.schedule.add("sip:+15550101@pbx", "confirm the visit", time.time() + 3600, 3)
    store.close()
    status = StatusFile(tmp_path / "status.json", "sip:employai@127.0.0.1", "")
    status.describe(database=database_label(config))  # as the bot writes it at start
    status.stopped()
    assert run_status(config) == 1  # not running
    out = capsys.readouterr().out
    assert f"database:     {url.replace(':s3cret@', ':***@')}" in out and "s3cret" not in out
    assert "scheduled:    1 call(s)" in out  # read from that PostgreSQL database


def test_without_postgresql_the_tests_fail_and_say_how_to_install_it(monkeypatch):
    from . import postgres as helper

    monkeypatch.setattr(helper, "bindir", lambda: None)
    with pytest.raises(pytest.fail.Exception, match="make test-peers"):
        helper.start_server()


def test_two_bots_turning_one_callback_into_a_call_make_one_call(open_store, database_url):
    from memory.followups import Followup
    from memory.transcripts import TranscriptStore

    bot_a, bot_b = open_store(), TranscriptStore(database_url, instance="host-b:5060")
    followup = bot_a.followups().add(ALICE, None, Followup("call me back", None))
    first = bot_a.schedule.add(f"sip:{ALICE}@pbx", "callback", time.time(), 3, followup_id=followup)
    again = bot_b.schedule.add(f"sip:{ALICE}@pbx", "callback", time.time(), 3, followup_id=followup)
    assert again == first and len(bot_a.schedule.listing()) == 1
    other = bot_b.schedule.add(f"sip:{BOB}@pbx", "a survey", time.time(), 3)  # no follow-up: no such limit
    assert other != first and len(bot_a.schedule.listing()) == 2
    bot_b.close()


def test_passages_another_bot_adds_or_erases_are_seen(open_store, database_url, backend):
    from memory.transcripts import TranscriptStore

    from .test_records import WordEmbedder

    bot_a = open_store(WordEmbedder())
    bot_b = TranscriptStore(database_url, embedder=WordEmbedder(), instance="host-b:5060")
    bot_a.archive.insert(["We fix boilers on weekdays."], scope="org")
    assert [p.text for p in bot_b.archive.search("boilers", "")] == ["We fix boilers on weekdays."]
    bot_a.caller_memory(ALICE).archival_insert("Alice has a combi boiler.")
    assert bot_b.caller_memory(ALICE).archival_search("combi boiler")[0] == "Alice has a combi boiler."
    bot_a.caller_memory(ALICE).forget()
    assert bot_b.caller_memory(ALICE).archival_search("combi boiler") == ["We fix boilers on weekdays."]
    if backend == "postgresql":  # ids are handed out before commit: one bot's may commit after a higher one
        vector = WordEmbedder().embed(["radiators"])[0].tobytes()
        insert = "INSERT INTO passages (id, scope, text, embedding, created_at) VALUES (?, 'org', ?, ?, 0)"
        bot_a.database.execute(insert, (100, "We bleed radiators.", vector))
        assert bot_b.archive.search("bleed radiators", "", limit=1)[0].id == 100
        bot_a.database.execute(insert, (50, "Our trade.", vector))  # committed later, a lower id; found by meaning
        assert 50 in {p.id for p in bot_b.archive.search("radiators", "", limit=3)}
    bot_b.close()


def test_a_database_server_that_cannot_be_reached_is_named_without_its_password(tmp_path):
    import socket
    import subprocess
    import sys

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "bot.toml"
    config.write_text(f'[data]\ndir = "{tmp_path}"\nurl = "postgresql://bot:s3cret@127.0.0.1:{port}/employai"\n')
    result = subprocess.run([sys.executable, "-m", "employai", "-c", str(config), "tasks"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert f"cannot connect to postgresql://bot:***@127.0.0.1:{port}/employai" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout and "Traceback" not in result.stderr


def test_a_malformed_database_url_is_refused_without_quoting_its_password():
    from memory.database import DatabaseUnavailable
    from memory.postgres_db import PostgresDatabase

    with pytest.raises(DatabaseUnavailable) as refused:
        PostgresDatabase("postgresql://bot:s3cr%zzt@127.0.0.1:1/employai")  # a bad %-escape in the password
    assert "not valid" in str(refused.value) and "s3cr" not in str(refused.value)
