"""employai_database_size_bytes on both backends: the SQLite file with its write-ahead log, the PostgreSQL schema
the URL names (the tests' own schema, less than the whole database), growing as calls are kept."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from employai.runtime.metrics import Metrics
from memory.postgres_db import url_schema

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]


def _scraped_size(metrics: Metrics) -> float:
    families = {f.name: f for f in text_string_to_metric_families(metrics.exposition().decode())}
    return families["employai_database_size_bytes"].samples[0].value


def test_the_database_size_grows_with_what_is_kept(open_store, backend):
    store = open_store()
    db = store.database
    before = db.size_bytes()
    assert before > 0
    call = store.start_call("inbound", "sip:+15550101@example.org", "+15550101")
    for i in range(400):
        store.add_turn(call, "caller", f"turn {i}: " + "we would like a table for four on friday evening " * 10)
    after = db.size_bytes()
    assert after >= before + 100_000, (before, after)  # 400 turns of ~500 characters
    assert _scraped_size(Metrics(None, db.size_bytes)) == db.size_bytes()
    if backend == "postgresql":
        assert url_schema(db.url)  # the tests' URL names a schema of its own: only its tables are counted
        whole = db.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        assert after < whole


def test_a_database_that_cannot_be_read_leaves_the_other_metrics_served():
    def broken() -> int:
        raise OSError("gone")

    metrics = Metrics(None, broken)
    metrics.call_started("inbound")
    text = metrics.exposition().decode()
    assert "employai_database_size_bytes" not in text and "employai_active_calls 1.0" in text


def test_the_schema_is_read_from_the_urls_search_path():
    assert url_schema("postgresql://u@h/db?options=-csearch_path%3Dbots") == "bots"
    assert url_schema("postgresql://u@h/db?options=-c%20search_path%3Dbilling,public") == "billing"
    assert url_schema("postgresql://u@h/db") == ""
    assert url_schema("postgresql://u@h/db?options=-csearch_path%3D%22%24user%22,public") == ""
