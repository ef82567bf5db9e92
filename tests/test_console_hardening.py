"""The console's defences from the security review, without a bot: security headers and other sites' requests
refused, forms and uploads bounded and checked before they are read, secrets in URLs masked, idle connections
closed, a taken console address stopping the start, and callers normalised by the functions the CLI shares."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from employai.cli.memory import forget_caller, set_fact
from employai.console import guard, server
from employai.console.views import running_config
from memory.database import mask_url
from memory.transcripts import TranscriptStore
from sip_config import ConfigError, config_from_dict

from .peers import free_port
from .test_console_unit import _csrf, _get, _serve

pytestmark = pytest.mark.unit


@pytest.fixture
def console(tmp_path, monkeypatch):
    monkeypatch.setenv("EMPLOYAI_TEST_TOKEN", "tok")
    yield from _serve(tmp_path, "EMPLOYAI_TEST_TOKEN")


def _response(url: str, headers: dict | None = None, token: str | None = "tok", data: bytes | None = None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def _raw(base: str, head: str, body: bytes = b"", wait_s: float = 5) -> tuple[int, bytes]:
    """Send a request's head (and `body`, maybe less than it declares) on a socket; the status and the response.
    The server answering without the rest of the body shows it refused it unread."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=wait_s) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        response = b""
        while not _complete(response):
            chunk = sock.recv(65536)
            if not chunk:
                break
            response += chunk
    return int(response.split(b" ", 2)[1]), response


def _complete(response: bytes) -> bool:
    head, found, body = response.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    return bool(found) and len(body) >= length


def _head(base: str, method: str, path: str, *lines: str) -> str:
    host = base.removeprefix("http://")
    return "\n".join([f"{method} {path} HTTP/1.1", f"Host: {host}", "Authorization: Bearer tok", *lines, ""])


def test_every_response_forbids_framing_and_other_sites_requests_are_refused(console):
    base, _, _, _ = console
    for path, token, status in (("/calls", "tok", 200), ("/static/console.css", "tok", 200), ("/calls", None, 401),
                                ("/calls/999", "tok", 404), ("/recordings/1.wav", "tok", 404)):
        got, headers = _response(base + path, token=token)
        assert got == status, path
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    for site in ("cross-site", "same-site", "Cross-Site"):
        for path in ("/calls", "/recordings/1.wav", "/status"):
            got, headers = _response(base + path, headers={"Sec-Fetch-Site": site})
            assert got == 403 and headers["X-Frame-Options"] == "DENY", (site, path)
        assert _response(base + "/memory/mallory/forget", headers={"Sec-Fetch-Site": site}, data=b"csrf=x")[0] == 403
    for site in ("same-origin", "none"):
        assert _response(base + "/calls", headers={"Sec-Fetch-Site": site})[0] == 200
    page = _get(base + "/memory/mallory/forget")[1]
    refused = _get(base + "/memory/mallory/forget", data={"csrf": _csrf(page)}, headers={"Sec-Fetch-Site": "same-site"})
    assert refused[0] == 403 and "Refused" in refused[1]


def test_a_form_is_checked_for_origin_and_size_before_it_is_read(console):
    base, store, _, _ = console
    form = "Content-Type: application/x-www-form-urlencoded"
    # Headers only: each is answered without the body it declares, so the server never waited to read it.
    status, _ = _raw(base, _head(base, "POST", "/memory/mallory/forget", form, "Content-Length: 1000000"))
    assert status == 413
    evil = _head(base, "POST", "/memory/mallory/forget", form, "Origin: http://evil.example", "Content-Length: 1000000")
    assert _raw(base, evil)[0] == 403  # the origin first: no size is told to another site
    chunked = _head(base, "POST", "/memory/mallory/forget", form, "Content-Length: 10", "Transfer-Encoding: chunked")
    status, response = _raw(base, chunked, b"a\r\ncsrf=guess\r\n0\r\n\r\n")
    assert status == 400 and b"without a Transfer-Encoding" in response
    guess = _head(base, "POST", "/memory/mallory/forget", form, "Content-Length: 10")
    assert _raw(base, guess, b"csrf=guess")[0] == 403
    assert store.turns(1)  # nothing was forgotten
    page = _get(base + "/memory/mallory/forget")[1]
    status, page = _get(base + "/memory/mallory/forget", data={"csrf": _csrf(page), "pad": "x" * 1000})
    assert status == 200 and "The caller was forgotten." in page


def test_the_byte_counter_stops_a_body_past_its_bound():
    chunks = [{"type": "http.request", "body": b"a" * 40, "more_body": True} for _ in range(3)]

    async def receive():
        return chunks.pop(0)

    async def read(limit: int) -> int:
        counted, total = guard.bounded_receive(receive, limit), 0
        while chunks:
            total += len((await counted())["body"])
        return total

    with pytest.raises(guard.TooLarge):
        asyncio.run(read(100))
    chunks[:] = [{"type": "http.request", "body": b"a" * 40, "more_body": True} for _ in range(3)]
    assert asyncio.run(read(120)) == 120


def test_an_upload_is_refused_unread_without_its_token_or_with_a_transfer_encoding(console):
    base, _, _, _ = console
    csrf = _csrf(_get(base + "/knowledge")[1])
    multipart = "Content-Type: multipart/form-data; boundary=b"
    # The reported bypass: a small Content-Length beside a chunked body.
    smuggled = _head(base, "POST", f"/knowledge?csrf={csrf}", multipart, "Content-Length: 100",
                     "Transfer-Encoding: chunked")
    status, response = _raw(base, smuggled)
    assert status == 400 and b"without a Transfer-Encoding" in response  # refused by the console, not by h11
    # No token in the URL: refused before the (never sent) body, even with the token in the body.
    assert _raw(base, _head(base, "POST", "/knowledge", multipart, "Content-Length: 5000000"))[0] == 403
    assert _raw(base, _head(base, "POST", "/knowledge?csrf=guess", multipart, "Content-Length: 5000000"))[0] == 403
    assert _raw(base, _head(base, "POST", f"/knowledge?csrf={csrf}", multipart, "Content-Length: 30000000"))[0] == 413
    assert _raw(base, _head(base, "POST", f"/knowledge?csrf={csrf}", multipart))[0] == 411
    body = (f'--b\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n--b\r\nContent-Disposition: '
            'form-data; name="file"; filename="a.txt"\r\n\r\nhello\r\n--b--\r\n').encode()
    in_body_only = _head(base, "POST", "/knowledge", multipart, f"Content-Length: {len(body)}")
    assert _raw(base, in_body_only, body)[0] == 403
    with_header = _head(base, "POST", "/knowledge", multipart, f"Content-Length: {len(body)}", f"X-CSRF-Token: {csrf}")
    status, response = _raw(base, with_header, body)
    assert status == 303 and b"location: /knowledge\r\n" in response.lower(), response
    assert f'action="/knowledge?csrf={csrf}"' in _get(base + "/knowledge")[1]


def test_passwords_in_urls_are_masked_on_the_status_page():
    assert mask_url("postgresql://u@h/db?password=pw") == "postgresql://u@h/db?password=***"
    assert mask_url("postgresql://u:pw@h/db?sslmode=require&Password=pw&x=1") == \
        "postgresql://u:***@h/db?sslmode=require&Password=***&x=1"
    assert mask_url("postgresql://u@h/db?sslmode=require") == "postgresql://u@h/db?sslmode=require"
    for url in ("postgresql://bot:hunter2@db.example/employai", "postgresql://bot@db.example/employai?password=hunter2"):
        shown = dict(running_config(config_from_dict({"data": {"url": url}})))
        assert "hunter2" not in str(shown) and "db.example/employai" in shown["data.url"]


def test_a_connection_that_sends_nothing_is_closed_and_connections_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(server, "KEEP_ALIVE_S", 1)
    monkeypatch.setattr(server, "LIMIT_CONCURRENCY", 3)
    for base, _, _, _ in _serve(tmp_path, ""):
        host, port = base.removeprefix("http://").rsplit(":", 1)
        idle = [socket.create_connection((host, int(port)), timeout=5) for _ in range(3)]
        started = time.monotonic()
        assert idle[0].recv(1) == b"" and time.monotonic() - started < 4  # closed by the server, unasked
        for sock in idle:
            sock.close()
        assert _get(base + "/calls", token=None)[0] == 200
        held = [socket.create_connection((host, int(port)), timeout=5) for _ in range(3)]
        assert _get(base + "/calls", token=None)[0] == 503  # over the limit: refused, not queued
        for sock in held:
            sock.close()


def _taken_port() -> socket.socket:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    return taken


def test_a_taken_console_address_is_a_config_error_naming_console_listen(tmp_path):
    with _taken_port() as taken:
        port = taken.getsockname()[1]
        config = config_from_dict({"data": {"dir": str(tmp_path)}, "console": {"listen": f"127.0.0.1:{port}"}})
        with pytest.raises(ConfigError) as refused:
            server.claim_socket(config)
        assert refused.value.key == "console.listen"
    with server.claim_socket(config_from_dict({"console": {"listen": f"127.0.0.1:{free_port()}"}})) as claimed:
        with socket.socket() as other:  # listening already: another SO_REUSEADDR socket cannot bind it too
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            with pytest.raises(OSError):
                other.bind(claimed.getsockname())


def test_employai_run_exits_2_when_the_console_address_is_taken(tmp_path):
    with _taken_port() as taken:
        config = tmp_path / "bot.toml"
        config.write_text(f'[data]\ndir = "{tmp_path}"\n[console]\nlisten = "127.0.0.1:{taken.getsockname()[1]}"\n')
        run = subprocess.run([sys.executable, "-m", "employai", "-c", str(config), "run"], capture_output=True,
                             text=True, timeout=60)
    assert run.returncode == 2 and "console.listen" in run.stderr, run
    assert "Employai is answering" not in run.stdout


def test_the_caller_page_keys_the_caller_as_the_actions_do(console):
    base, store, _, _ = console
    store.caller_memory("+15550100100").set_fact("name", "Ada")
    status, page = _get(base + "/memory/" + urllib.parse.quote("+1 (555) 010-0100", safe=""))
    assert status == 200 and 'value="Ada"' in page
    assert _get(base + "/memory/anonymous")[0] == 404


def test_the_cli_and_console_functions_key_a_caller_as_calls_do(tmp_path):
    store = TranscriptStore(tmp_path / "employai.sqlite3")
    try:
        call = store.start_call("inbound", "sip:+15550100100@pbx", "+15550100100", verified=True)
        store.add_turn(call, "caller", "My name is Ada.")
        store.end_call(call, "caller_hangup")
        set_fact(store, "+1 (555) 010-0100", "name", "Ada", via="console")
        assert store.caller_memory("+15550100100").known("name") == "Ada"
        with pytest.raises(ValueError):
            set_fact(store, "anonymous", "name", "Eve", via="console")
        assert forget_caller(store, "Anonymous") == {}
        erased = forget_caller(store, "+1 (555) 010-0100")
        assert erased.get("turns") == 1 and store.turns(call) == []
        assert store.caller_memory("+15550100100").known("name") == ""
    finally:
        store.close()
