"""The console without a bot: the [console] config rules, the login and CSRF rules, escaping, masking, the latency
chart, and /metrics, over real HTTP from an in-process server on a free loopback port."""

from __future__ import annotations

import asyncio
import base64
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from employai.console.app import authorised
from employai.console.chart import latency_chart
from employai.console.ports import LiveCall
from employai.console.views import running_config
from employai.runtime.cpu import CpuLanes
from employai.runtime.metrics import Metrics
from memory.transcripts import TranscriptStore, Turn, TurnTiming
from sip_config import ConfigError, config_from_dict
from telephony.account import RegistrationState

from .peers import free_port
from .test_records import WordEmbedder

pytestmark = pytest.mark.unit


def test_loopback_needs_no_token_and_other_addresses_are_refused_without_one(monkeypatch):
    assert config_from_dict({}).console.listen == "127.0.0.1:8080"
    assert config_from_dict({"console": {"listen": "[::1]:9000"}}).console.host_port == ("::1", 9000)
    with pytest.raises(ConfigError) as refused:
        config_from_dict({"console": {"listen": "0.0.0.0:8080"}})
    assert refused.value.key == "console.listen"
    with pytest.raises(ConfigError) as unset:
        config_from_dict({"console": {"listen": "0.0.0.0:8080", "token_env": "EMPLOYAI_TEST_CONSOLE_TOKEN"}})
    assert unset.value.key == "console.token_env"
    monkeypatch.setenv("EMPLOYAI_TEST_CONSOLE_TOKEN", "s3cret")
    config_from_dict({"console": {"listen": "0.0.0.0:8080", "token_env": "EMPLOYAI_TEST_CONSOLE_TOKEN"}})
    config_from_dict({"console": {"listen": "0.0.0.0:8080", "enabled": False}})  # off: nothing listens
    for bad in ({"listen": "localhost"}, {"listen": "example.com:80"}, {"listen": "127.0.0.1:0"}, {"bogus": 1},
                {"enabled": "yes"}):
        with pytest.raises(ConfigError) as error:
            config_from_dict({"console": bad})
        assert error.value.key.startswith("console.")


def test_the_token_is_a_bearer_or_the_basic_password():
    basic = base64.b64encode(b"operator:s3cret").decode()
    assert authorised("Bearer s3cret", "s3cret") and authorised(f"Basic {basic}", "s3cret")
    assert not authorised("Bearer wrong", "s3cret") and not authorised("", "s3cret")
    assert not authorised("Basic !!notbase64", "s3cret")


def test_secrets_are_masked_in_the_running_config():
    config = config_from_dict({"registration": {"registrar": "sip:pbx.example:5080", "password": "hunter2"}})
    shown = dict(running_config(config))
    assert shown["registration.password"] == "********" and "hunter2" not in str(shown)
    assert shown["registration.registrar"] == "'sip:pbx.example:5080'"
    assert shown["llm.api_key_env"] == "''"


def test_the_latency_chart_stacks_each_answered_turn_by_stage():
    timed = TurnTiming(10.0, 10.3, 10.5, 10.9, 11.0)
    turns = [Turn(1, "bot", "Hello", False, 9.0, TurnTiming(first_frame=9.1)),
             Turn(1, "caller", "Hi", False, 10.3, TurnTiming(10.0, 10.3)), Turn(1, "bot", "Yes", False, 11.0, timed)]
    chart = latency_chart(turns)
    assert chart is not None and len(chart.bars) == 1
    bar = chart.bars[0]
    assert bar.label == "turn 3" and bar.total_ms == 1000
    assert [s.stage for s in bar.segments] == ["stt", "first_token", "first_audio", "first_frame"]
    assert [round(s.seconds, 2) for s in bar.segments] == [0.3, 0.2, 0.4, 0.1]
    assert latency_chart(turns[:2]) is None


class _Bot:
    def __init__(self) -> None:
        self.transfers: list[tuple[int, str]] = []
        self.knowledge_changes = 0

    def live_calls(self) -> list[LiveCall]:
        return [LiveCall(1, "inbound", "<b>mallory</b>", "dialled in", time.time() - 5, False)]

    def registration_state(self) -> RegistrationState:
        return RegistrationState()

    def hang_up(self, call_id: int) -> bool:
        return False

    def transfer(self, call_id: int, entry: str) -> bool:
        self.transfers.append((call_id, entry))
        return entry == "Operator"  # as the conductor: a directory entry only

    def knowledge_changed(self) -> None:
        self.knowledge_changes += 1


class SlowEmbedder(WordEmbedder):
    """Takes its time, as MiniLM does on a long document, so the page can show the passages embedded so far."""

    def embed(self, texts):
        time.sleep(0.15)
        return super().embed(texts)


@pytest.fixture
def console(tmp_path, monkeypatch):
    monkeypatch.setenv("EMPLOYAI_TEST_TOKEN", "tok")
    yield from _serve(tmp_path, "EMPLOYAI_TEST_TOKEN")


@pytest.fixture
def open_console(tmp_path):
    yield from _serve(tmp_path, "")


def _serve(tmp_path, token_env: str):
    """A console on a free loopback port over a real database, on an event loop in a thread."""
    from employai.console.server import run_console

    port = free_port()
    config = config_from_dict({"data": {"dir": str(tmp_path)},
                               "console": {"listen": f"127.0.0.1:{port}", "token_env": token_env},
                               "transfer": {"directory": [{"name": "Operator", "uri": "sip:operator@127.0.0.1:5999"}]}})
    store = TranscriptStore(tmp_path / "employai.sqlite3", embedder=SlowEmbedder())
    call = store.start_call("inbound", "sip:mallory@x", "mallory", claimed_user="mallory", verified=True)
    store.add_turn(call, "caller", "<script>alert(1)</script> hello", timing=TurnTiming(1.0, 1.2))
    store.end_call(call, "caller_hangup")
    metrics = Metrics(CpuLanes(1), store.database.size_bytes)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    bot = _Bot()
    thread = threading.Thread(target=loop.run_until_complete,
                              args=(run_console(config, store, metrics, bot, stop),), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/metrics", timeout=1)
            break
        except urllib.error.HTTPError:
            break  # 401: it is up
        except OSError:
            time.sleep(0.05)
    yield base, store, metrics, bot
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    store.close()


def _get(url: str, token: str | None = "tok", data: dict | None = None, headers: dict | None = None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers or {})
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_every_request_needs_the_token_and_caller_text_is_escaped(console):
    base, _, _, _ = console
    assert _get(base + "/calls", token=None)[0] == 401
    assert _get(base + "/calls", token="wrong")[0] == 401
    status, page = _get(base + "/calls/1")
    assert status == 200 and "&lt;script&gt;alert(1)&lt;/script&gt; hello" in page and "<script>" not in page
    status, page = _get(base + "/live")
    assert status == 200 and "&lt;b&gt;mallory&lt;/b&gt;" in page
    for path in ("/calls", "/memory", "/memory/mallory", "/memory/mallory/forget", "/scheduled", "/tasks", "/status"):
        assert _get(base + path)[0] == 200, path


def test_an_action_without_the_forms_token_or_from_another_origin_is_refused(console):
    base, store, _, _ = console
    assert _get(base + "/memory/mallory/forget", data={})[0] == 403
    assert _get(base + "/memory/mallory/forget", data={"csrf": "guess"})[0] == 403
    page = _get(base + "/memory/mallory/forget")[1]
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    evil = {"Origin": "http://evil.example"}
    assert _get(base + "/memory/mallory/forget", data={"csrf": csrf}, headers=evil)[0] == 403
    assert store.caller_memory("mallory").forms() == [] and store.turns(1)  # still remembered
    status, page = _get(base + "/memory/mallory/forget", data={"csrf": csrf},
                        headers={"Origin": base})
    assert status == 200 and "The caller was forgotten." in page
    assert store.turns(1) == []


def test_metrics_are_prometheus_text_from_a_private_registry(console):
    base, _, metrics, _ = console
    metrics.call_started("inbound")
    metrics.call_ended("inbound", "caller_hangup")
    metrics.turns([TurnTiming(1.0, 1.25, 1.5, 1.75, 2.0)])
    status, text = _get(base + "/metrics")
    assert status == 200
    families = {f.name: f for f in text_string_to_metric_families(text)}
    calls = [s for s in families["employai_calls"].samples if s.name == "employai_calls_total"]
    assert [(s.labels, s.value) for s in calls] == [({"direction": "inbound", "end_reason": "caller_hangup"}, 1.0)]
    latency = {s.name: s.value for s in families["employai_turn_latency_seconds"].samples if not s.labels.get("le")}
    assert latency["employai_turn_latency_seconds_count"] == 1 and latency["employai_turn_latency_seconds_sum"] == 1.0
    assert families["employai_database_size_bytes"].samples[0].value > 0
    assert families["employai_engine_lanes"].samples[0].value == 1
    from prometheus_client import REGISTRY
    assert REGISTRY.get_sample_value("employai_calls_total", {"direction": "inbound",
                                                              "end_reason": "caller_hangup"}) is None


def test_on_loopback_no_login_is_asked_but_only_loopback_names_are_served(open_console):
    base, _, _, _ = open_console
    assert _get(base + "/calls", token=None)[0] == 200
    assert _get(base + "/calls", token=None, headers={"Host": f"localhost:{base.rsplit(':', 1)[1]}"})[0] == 200
    # A page whose own name was made to resolve to 127.0.0.1 (DNS rebinding) is not served the operator's data.
    assert _get(base + "/calls", token=None, headers={"Host": "evil.example:8080"})[0] == 400


def test_employai_run_refuses_a_console_off_loopback_without_a_token(tmp_path):
    import subprocess
    import sys

    config = tmp_path / "bot.toml"
    config.write_text(f'[data]\ndir = "{tmp_path}"\n[console]\nlisten = "0.0.0.0:8080"\n')
    run = subprocess.run([sys.executable, "-m", "employai", "-c", str(config), "run"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 2 and "console.listen" in run.stdout + run.stderr, run


def _csrf(page: str) -> str:
    """The page's CSRF token: a form's hidden field, or the upload form's URL."""
    return re.search(r'(?:name="csrf" value="|\?csrf=)([\w-]+)', page).group(1)  # type: ignore[union-attr]


def test_the_operator_transfers_a_live_call_to_a_directory_entry_only(console):
    base, _, _, bot = console
    status, page = _get(base + "/live")
    assert status == 200 and 'value="Operator"' in page and "/live/1/transfer" in page
    assert _get(base + "/live/1/transfer", data={"entry": "Operator"})[0] == 403  # no CSRF token
    assert _get(base + "/live/1/transfer", data={"entry": "Operator", "csrf": _csrf(page)},
                headers={"Origin": "http://evil.example"})[0] == 403
    assert bot.transfers == []
    status, page = _get(base + "/live/1/transfer", data={"entry": "Operator", "csrf": _csrf(page)})
    assert status == 200 and bot.transfers == [(1, "Operator")] and 'id="problem"' not in page
    status, page = _get(base + "/live/1/transfer", data={"entry": "sip:mallory@198.51.100.7", "csrf": _csrf(page)})
    assert status == 200 and "was not transferred" in page


def _upload(base: str, csrf: str, filename: str, content: bytes, headers: dict | None = None):
    boundary = "employai-test-boundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    # The token rides in the form's URL, as the page's form sends it: checked before the body is read.
    request = urllib.request.Request(f"{base}/knowledge?csrf={urllib.parse.quote(csrf)}", data=body, headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Authorization": "Bearer tok", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_documents_are_uploaded_with_progress_shown_and_removed(console, monkeypatch, caplog):
    import html
    import logging

    from employai.console import knowledge

    caplog.set_level(logging.DEBUG)
    base, store, _, bot = console
    status, page = _get(base + "/knowledge")
    assert status == 200 and "The knowledge base is empty." in page
    csrf = _csrf(page)
    menu = "\n\n".join(f"Dish {i}: a bowl of soup number {i} costs {i} dollars." for i in range(40)).encode()
    assert _upload(base, "guess", "menu.txt", menu)[0] == 403
    assert _upload(base, csrf, "menu.txt", menu, headers={"Origin": "http://evil.example"})[0] == 403
    refusals = {"notes.docx": (b"PK\x03\x04", "Only .txt, .md and .pdf files can be added, not .docx."),
                "fake.pdf": (b"just text", "That file is not a PDF."),
                "blob.txt": (b"abc\x00def", "must be text, not binary data"),
                "latin.md": ("caf\u00e9".encode("latin-1"), "must be UTF-8 text")}
    for name, (content, why) in refusals.items():
        status, page = _upload(base, csrf, name, content)
        assert status == 200 and why in html.unescape(page), name
    monkeypatch.setattr(knowledge, "MAX_UPLOAD_BYTES", 1000)
    assert _upload(base, csrf, "big.txt", b"a" * 80_000)[0] == 413  # refused unread, by its length
    assert "The file is too large: at most 0 MB." in _upload(base, csrf, "big.txt", b"a" * 2000)[1]
    monkeypatch.undo()
    assert store.archive is not None and knowledge.list_documents(store) == []
    assert bot.knowledge_changes == 0  # nothing refused told the bot anything

    status, page = _upload(base, csrf, "menu.txt", menu)
    assert status == 200
    pages = [page]
    deadline = time.monotonic() + 20
    while "added, 40 passages" not in pages[-1] and time.monotonic() < deadline:
        time.sleep(0.05)
        pages.append(_get(base + "/knowledge")[1])
    assert "added, 40 passages" in pages[-1]
    assert any(" of 40 passages embedded" in p and 'http-equiv="refresh"' in p for p in pages), pages[:3]
    assert 'http-equiv="refresh"' not in pages[-1]
    assert [(d.source, d.passages) for d in knowledge.list_documents(store)] == [("menu.txt", 40)]
    assert '<td class="source">menu.txt</td>' in pages[-1]
    assert bot.knowledge_changes == 1  # the bot's speech prompt follows (employai/runtime/business_prompt.py)

    status, page = _get(base + "/knowledge/remove", data={"csrf": csrf, "source": "profile"})
    assert status == 200 and "changed in the configuration" in page
    assert _get(base + "/knowledge/remove", data={"csrf": csrf, "source": "nothing.md"})[0] == 200
    assert bot.knowledge_changes == 1  # nothing removed: nothing to follow
    status, page = _get(base + "/knowledge/remove", data={"csrf": csrf, "source": "menu.txt"},
                        headers={"Origin": "http://evil.example"})
    assert status == 403 and knowledge.list_documents(store)
    status, page = _get(base + "/knowledge/remove", data={"csrf": csrf, "source": "menu.txt"})
    assert status == 200 and "The knowledge base is empty." in page
    assert knowledge.list_documents(store) == [] and store.archive.search("soup", "") == []
    assert bot.knowledge_changes == 2  # removed; the refused removals told it nothing
    actions = [r for r in caplog.records if r.getMessage() == "operator action"]
    assert [(r.action, r.passages) for r in actions] == [("add_document", 40), ("remove_document", 0),
                                                         ("remove_document", 40)]
    for record in caplog.records:  # neither the file's name nor its words in any log
        shown = f"{record.getMessage()} {record.__dict__}"
        assert "menu" not in shown and "soup" not in shown, shown


def test_the_operator_corrects_one_fact_of_a_caller(console):
    import html

    base, store, _, _ = console
    store.caller_memory("mallory").learn_from("My name is Mallory Jones, my order number is 4471.")
    status, page = _get(base + "/memory/mallory")
    assert status == 200 and 'value="Mallory Jones"' in page and '<td class="key">order number</td>' in page
    csrf = _csrf(page)
    assert _get(base + "/memory/mallory/fact", data={"key": "name", "value": "Eve"})[0] == 403
    assert store.caller_memory("mallory").known("name") == "Mallory Jones"
    status, page = _get(base + "/memory/mallory/fact", data={"csrf": csrf, "key": "name", "value": "<i>Mal</i> Jones"})
    assert status == 200 and "The fact was saved." in page and "&lt;i&gt;Mal&lt;/i&gt; Jones" in page
    assert "<i>" not in page
    _get(base + "/memory/mallory/fact", data={"csrf": csrf, "key": "order number", "value": ""})
    status, page = _get(base + "/memory/mallory/fact", data={"csrf": csrf, "key": "bad: key", "value": "x"})
    assert "a fact&#39;s name is a few words without a colon" in page or "without a colon" in html.unescape(page)
    memory = store.caller_memory("mallory")
    assert memory.known("name") == "<i>Mal</i> Jones" and memory.known("order number") == ""
